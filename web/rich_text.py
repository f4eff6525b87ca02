"""Rich text of the cahier de textes and of the rubrics' encadrés: what the editor
(Quill, ``static/editor.js``) or a plain text area sends, made into the safe HTML that
is stored and shown (issue 20, "Writing lesson content like a blog article"; shared by
the web features, hence here rather than in :mod:`web.textbook`).

* HTML is cleaned by nh3 against an explicit allow-list (:data:`TAGS`,
  :data:`ATTRIBUTES`): headings, bold, italic, underline, strike, lists, links,
  quotes, code, tables, and the embedded media ``img``, ``audio``, ``video``. Every
  other tag is dropped (``script``, ``style``, ``iframe``, ``object``, ``form``,
  ``svg``… with their content for the first ones), and with them every ``on*`` and
  ``style`` attribute. An image without ``alt`` gets an empty one. URLs keep the
  schemes ``http``, ``https`` and ``mailto`` (``javascript:`` and ``data:`` are
  dropped) or are relative: the page's Content-Security-Policy only loads media from
  our origin anyway.
  Tables are Quill's (``table``, ``tbody``, ``tr``, ``td``) or pasted (``thead``,
  ``th``, ``caption``); of their attributes only ``colspan`` and ``rowspan`` (digits,
  within HTML's limits) and ``th``'s ``scope`` (its four keywords) stay. Quill's
  ``data-row`` on ``td`` is dropped: the editor rebuilds its rows from the ``tr``
  when a text is reopened. ``width``/``height`` of media are digits too.
* Text typed without the editor (no JavaScript, the JSON API, an import, the plain
  input mode of « Mes préférences ») has no tag: its blank lines become paragraphs
  and its line breaks ``<br>`` rather than being lost (the issue's "loses typed
  line breaks"). :func:`html_to_plain_text` is the way back, for a text that holds
  nothing but paragraphs and line breaks.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

TAGS = frozenset({
    "p", "br", "h2", "h3", "h4", "strong", "b", "em", "i", "u", "s", "sub", "sup",
    "ul", "ol", "li", "blockquote", "pre", "code", "a", "hr",
    "table", "thead", "tbody", "tr", "th", "td", "caption",
    "img", "audio", "video", "source", "figure", "figcaption",
})
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "audio": {"src", "title"},
    "video": {"src", "title", "width", "height"},
    "source": {"src", "type"},
    "ol": {"start"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
# Media always get their player's controls and never start on their own: a page that
# plays a sound unasked fails WCAG 1.4.2.
SET_ATTRIBUTES = {"audio": {"controls": "", "preload": "metadata"},
                  "video": {"controls": "", "preload": "metadata"}}
DROP_WITH_CONTENT = frozenset({"script", "style", "template", "textarea", "select"})
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Attributes whose value must be a number (HTML's limits: colspan 1-1000, rowspan
# 0-65534) or a keyword; any other value drops the attribute.
NUMBER_ATTRIBUTES = {"colspan": 1000, "rowspan": 65534, "width": 10000, "height": 10000,
                     "start": 1_000_000}
SCOPES = frozenset({"row", "col", "rowgroup", "colgroup"})
_DIGITS = re.compile(r"[0-9]{1,7}")

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
# An image nh3 let through without a text alternative (pasted, sent to the API): it gets
# an empty one, which marks it decorative (WCAG 1.1.1) rather than leaving screen
# readers to spell its address. nh3's output quotes every attribute value.
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)")


def looks_like_html(text: str) -> bool:
    """Whether ``text`` holds at least one tag (``<p>``, ``</b>``, ``<br/>``); a lone
    ``<`` as in « 3 < 4 » is text."""
    return _TAG.search(text) is not None


def plain_text_to_html(text: str) -> str:
    """Typed text as HTML: escaped, each block between blank lines a paragraph, each
    single line break a ``<br>`` (CRLF and CR count as LF). Empty text stays empty."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ""
    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", text) if b.strip()]
    return "".join("<p>" + html.escape(b, quote=False).replace("\n", "<br>") + "</p>"
                   for b in blocks)


def _checked_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3's ``attribute_filter``: the value of an allowed attribute, or None to drop
    it when it is not what the attribute means (a number, ``scope``'s keywords)."""
    if attribute in NUMBER_ATTRIBUTES:
        value = value.strip()
        if _DIGITS.fullmatch(value) is None or int(value) > NUMBER_ATTRIBUTES[attribute]:
            return None
        return str(int(value))
    if attribute == "scope":
        value = value.strip().lower()
        return value if value in SCOPES else None
    return value


class _PlainText(HTMLParser):
    """Reads HTML made of paragraphs and line breaks into typed text; ``formatted``
    turns true at the first other tag (or any attribute)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.formatted = False

    def _close(self) -> None:
        text = "".join(self.current).strip("\n")
        if text.strip():
            self.blocks.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if attrs or tag not in ("p", "br"):
            self.formatted = True
        elif tag == "br":
            self.current.append("\n")
        else:
            self._close()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._close()
        elif tag != "br":
            self.formatted = True

    def handle_data(self, data: str) -> None:
        # Line breaks in HTML source are spaces; only <br> and paragraphs break lines.
        self.current.append(re.sub(r"\s*\n\s*", " ", data))


def html_to_plain_text(body: str) -> str | None:
    """Stored HTML as the text a plain text area shows: paragraphs apart by a blank
    line, ``<br>`` a line break, entities decoded; the inverse of
    :func:`plain_text_to_html` up to blank lines and spaces. None when the text holds
    any other formatting (bold, a list, a link, a table, an image…) or an attribute:
    shown as text it would be lost at the next save."""
    if not looks_like_html(body):
        return body
    reader = _PlainText()
    reader.feed(body)
    reader.close()
    if reader.formatted:
        return None
    reader._close()
    return "\n\n".join(reader.blocks)


def sanitize_html(body: str) -> str:
    """``body`` as safe HTML under the module's allow-list; links get
    ``rel="noopener noreferrer"``. Text without any tag is first made into
    paragraphs (:func:`plain_text_to_html`). Stored HTML is cleaned again when
    shown (the pages' ``rich_text`` filter): texts saved under an older, wider
    allow-list lose what this one refuses."""
    import nh3  # when needed: 1.6 MiB at start-up

    if not looks_like_html(body):
        body = plain_text_to_html(body)
    cleaned = nh3.clean(
        body, tags=set(TAGS), clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        set_tag_attribute_values={k: dict(v) for k, v in SET_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES), strip_comments=True, link_rel="noopener noreferrer",
        attribute_filter=_checked_attribute)
    return _IMG_WITHOUT_ALT.sub('<img alt=""', cleaned)
