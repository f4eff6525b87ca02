"""Forms every feature's pages share."""

from __future__ import annotations

from typing import Any, cast

from flask import g
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import Field, TextAreaField
from wtforms.utils import unset_value
from wtforms.widgets import TextArea, html_params

import acl

from .auth import current_principal, web_context
from .rich_text import html_to_plain_text, plain_text_to_html
from .security import MAX_NUMBER


def parse_number(text: str | None, maximum: int = MAX_NUMBER) -> int | None:
    """The whole number a form field or query parameter holds: ASCII digits only (``str.
    isdecimal`` also accepts other scripts' digits, which ``int`` reads), at most
    ``maximum`` (default :data:`MAX_NUMBER`, a row id's bound). None for anything
    else: empty, signs, spaces, « ² », or too large, which ``int`` and the databases
    refuse with an error (``int`` past 4,300 digits; SQLite past 2**63, PostgreSQL
    past 2**31): the caller answers 400 or 404 instead of a 500."""
    if not text or len(text) > len(str(maximum)) or not (text.isascii() and text.isdecimal()):
        return None
    value = int(text)
    return value if value <= maximum else None


class ActionForm(FlaskForm):
    """A button that changes something: nothing but the CSRF token (revoke, accept,
    decline)."""


# The hidden field a plain text area sends beside itself: its text is typed text, to be
# made into paragraphs, even where it holds a « < » (issue 20, the input mode).
PLAIN_MARK = "-saisie"
PLAIN_VALUE = "texte"
# What editor.js reads on a text area it must open in the rich editor although the
# teacher prefers plain text (the text holds formatting plain text would lose).
KEPT_RICH = "data-plain-refused"


def input_mode() -> acl.InputMode:
    """The signed-in user's input mode (« Mes préférences », cahier de textes:
    ``rich`` or ``plain``), read once per request; ``rich`` when nobody is signed in."""
    if "input_mode" not in g:
        principal = current_principal()
        mode = acl.InputMode.rich
        if principal is not None:
            with web_context().db.transaction(write=False) as s:
                mode = acl.preferences_of(s, principal.id).input_mode
        g.input_mode = mode
    return cast(acl.InputMode, g.input_mode)


class RichTextArea(TextArea):
    """The text area of a rich text (activity texts, binder items, rubric encadrés).

    In the ``rich`` input mode it carries ``data-rich-text``: ``static/editor.js``
    puts the editor over it. In the ``plain`` mode it shows the stored HTML as typed
    text (:func:`web.rich_text.html_to_plain_text`) with the hidden mark
    (:data:`PLAIN_MARK`) that has it read back as text; a text whose formatting
    plain text would lose opens in the rich editor anyway, with a note saying why
    (:data:`KEPT_RICH`), rather than losing it silently at the next save."""

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        kwargs.setdefault("rows", 10)
        if input_mode() is acl.InputMode.plain:
            text = html_to_plain_text(field._value())
            if text is not None:
                for key in [k for k in kwargs if k.startswith("data-")]:
                    del kwargs[key]
                kwargs.setdefault("id", field.id)
                area = Markup("<textarea %s>\r\n%s</textarea>") % (
                    html_params(name=field.name, **kwargs), text)
                mark = Markup('<input type="hidden" name="%s" value="%s">') % (
                    field.name + PLAIN_MARK, PLAIN_VALUE)
                return area + mark
            kwargs[KEPT_RICH] = ""
            kwargs["data-rich-text"] = ""
            note = Markup('<span class="hint plain-refused">%s</span>') % _(
                "Ce texte a une mise en forme (titres, gras, listes, liens, tableaux, "
                "images…) que la saisie en texte simple de vos préférences perdrait : il "
                "s'ouvre dans l'éditeur enrichi. « Effacer la mise en forme » le ramène "
                "à du texte.")
            return super().__call__(field, **kwargs) + note
        kwargs["data-rich-text"] = ""
        return super().__call__(field, **kwargs)


class RichTextAreaField(TextAreaField):
    """A rich text's field (:class:`RichTextArea`): its data is HTML, still to be
    cleaned (:func:`web.rich_text.sanitize_html`); text sent by a plain text area
    (with its mark) is made into paragraphs and line breaks first, a typed « < »
    staying a character."""

    widget = RichTextArea()

    def process(self, formdata: Any, data: Any = unset_value,
                extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        if formdata is not None and formdata.get(self.name + PLAIN_MARK) == PLAIN_VALUE:
            typed = cast(str | None, getattr(self, "data", None))
            self.data = plain_text_to_html(typed or "")
