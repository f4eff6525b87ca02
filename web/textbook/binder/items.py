"""Activities as items of the classeur pédagogique (issue 5, "Classeur pédagogique":
"items that are activities stored as HTML files with their kind, title and
estimated minutes as dead properties").

An item is a whole HTML document (it opens in any browser or editor, from the
drive as from the file manager)::

    <!doctype html><html lang="fr"><head><meta charset="utf-8"><title>TITLE</title>
    <meta name="ent-kind" content="homework"> … </head>
    <body><h1>TITLE</h1><div class="ent-activity">BODY</div></body></html>

and carries the same facts as WebDAV dead properties in the :data:`NS` namespace
(``kind``, ``title``, ``minutes``, ``homework-type``), which PROPFIND shows and
clients keep on COPY and MOVE. Reading an item back trusts nothing: the
properties first, then the ``<meta>`` tags, then the ``<title>`` or the file name;
the body is sanitized again as any body typed in (``sanitize_html``). Any other
HTML file the teacher drops in is read as a content whose title is its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html
from markupsafe import escape

from davserver.errors import BadRequest
from web.forms import parse_number

from ..activities import sanitize_html
from ..models import Activity, ActivityKind

NS = "urn:ent-davserver:classeur"
KIND, TITLE, MINUTES, HOMEWORK_TYPE = (f"{{{NS}}}{n}" for n in
                                       ("kind", "title", "minutes", "homework-type"))
MAX_ITEM_BYTES = 2 * 2**20
"""Largest item imported into a lesson (bodies are at most 200,000 characters)."""
SUFFIX = ".html"


@dataclass(frozen=True)
class BinderItem:
    """What an item holds: the fields of an activity, as read back."""

    kind: ActivityKind
    title: str
    body: str
    minutes: int | None = None
    homework_type: str | None = None


WINDOWS_RESERVED = '/\\:*?"<>|'
"""Characters Windows Explorer refuses in a file name (teachers map the drive)."""


def item_name(activity: Activity) -> str:
    """A file name for the activity: its title with control characters and those
    Windows refuses (:data:`WINDOWS_RESERVED`) turned into ``-``, at most 120
    characters, then ``.html``."""
    clean = "".join(c if c.isprintable() and c not in WINDOWS_RESERVED else "-"
                    for c in activity.title)
    return (clean.strip(" .")[:120] or "activite") + SUFFIX


def item_html(activity: Activity) -> bytes:
    """The activity as an item's HTML document, UTF-8."""
    metas = [("ent-kind", activity.kind.value)]
    if activity.minutes is not None:
        metas.append(("ent-minutes", str(activity.minutes)))
    if activity.homework_type:
        metas.append(("ent-homework-type", activity.homework_type))
    head = "".join(f'<meta name="{n}" content="{escape(v)}">' for n, v in metas)
    title = escape(activity.title)
    return (f'<!doctype html>\n<html lang="fr"><head><meta charset="utf-8">'
            f"<title>{title}</title>{head}</head>\n<body><h1>{title}</h1>\n"
            f'<div class="ent-activity">{sanitize_html(activity.body)}</div>\n'
            f"</body></html>\n").encode()


def _prop(name: str, value: str) -> str:
    element = etree.Element(name, nsmap={"c": NS})
    element.text = value
    return etree.tostring(element, encoding="unicode")


def item_props(activity: Activity) -> dict[str, str | None]:
    """The dead properties of the activity's item (Clark name → XML of the element,
    as ``Store.patch_dead_props`` takes them; None removes)."""
    return {KIND: _prop(KIND, activity.kind.value), TITLE: _prop(TITLE, activity.title),
            MINUTES: None if activity.minutes is None else _prop(MINUTES, str(activity.minutes)),
            HOMEWORK_TYPE: _prop(HOMEWORK_TYPE, activity.homework_type)
            if activity.homework_type else None}


def _prop_text(props: Mapping[str, str], name: str) -> str | None:
    raw = props.get(name)
    if not raw:
        return None
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        return (etree.fromstring(raw.encode(), parser).text or "").strip() or None
    except etree.XMLSyntaxError:
        return None


def read_item(name: str, data: bytes, props: Mapping[str, str]) -> BinderItem:
    """An item read back from its file ``name``, bytes and dead properties. Raises
    ``BadRequest`` (French, naming the file) for a file that is not HTML text."""
    if len(data) > MAX_ITEM_BYTES:
        raise BadRequest(f"« {name} » est trop gros pour une activité "
                         f"({MAX_ITEM_BYTES // 2**20} Mio au plus).")
    try:
        doc = lxml_html.document_fromstring(data.decode("utf-8") or "<p></p>")
    except (UnicodeDecodeError, etree.ParserError) as exc:
        raise BadRequest(f"« {name} » n'est pas une page HTML en UTF-8.") from exc
    meta = {m.get("name"): (m.get("content") or "").strip()
            for m in doc.iter("meta") if m.get("name", "").startswith("ent-")}
    kind_text = _prop_text(props, KIND) or meta.get("ent-kind") or "content"
    kind = ActivityKind.homework if kind_text == "homework" else ActivityKind.content
    heading = doc.find(".//h1")
    stem = name[:-len(SUFFIX)] if name.lower().endswith(SUFFIX) else name
    title = (_prop_text(props, TITLE) or (doc.findtext(".//title") or "").strip()
             or (heading.text_content().strip() if heading is not None else "") or stem)
    holder = doc.find_class("ent-activity")
    if holder:
        box = holder[0]
    else:
        box = doc.find("body")
        if heading is not None:
            heading.drop_tree()
    inner = "" if box is None else str(escape(box.text or "")) + "".join(
        lxml_html.tostring(child, encoding="unicode") for child in box)
    minutes_text = _prop_text(props, MINUTES) or meta.get("ent-minutes")
    minutes = parse_number(minutes_text)
    homework_type = _prop_text(props, HOMEWORK_TYPE) or meta.get("ent-homework-type")
    return BinderItem(kind, title[:200], sanitize_html(inner), minutes, homework_type)
