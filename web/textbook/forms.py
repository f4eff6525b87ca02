"""Forms and French labels of the textbook pages (issue 5, "Teacher's textbook").

Two forms, each with its own field prefix so both live on the lesson page without
mixing: ``content-…`` (contenu de séance) and ``homework-…`` (travail à faire).
Flask-WTF gives each its CSRF token.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

import acl
from web import textbook
from web.auth import current_principal, web_context
from web.forms import RichTextAreaField
from web.textbook import activities

DAY_NAMES = [_l("lundi"), _l("mardi"), _l("mercredi"), _l("jeudi"), _l("vendredi"),
             _l("samedi"), _l("dimanche")]
# Rows of the text areas ``static/editor.js`` turns into the rich-text editor (issue
# 20), for the plain text area the page keeps without JavaScript or in the plain input
# mode (:class:`web.forms.RichTextAreaField`).
RICH_TEXT = {"rows": 10}
KIND_LABELS = {textbook.ActivityKind.content: _l("Contenu de séance"),
               textbook.ActivityKind.homework: _l("Travail à faire")}


def preferred_minutes() -> int | None:
    """The signed-in teacher's default estimated time of homework, in minutes (« Mes
    préférences », :mod:`acl.preferences`), or None: a new homework form starts with
    it."""
    principal = current_principal()
    if principal is None:
        return None
    with web_context().db.transaction(write=False) as s:
        return acl.preferences_of(s, principal.id).homework_minutes


def day_label(when: datetime) -> str:
    """« mardi 08/09 » for a wall-clock datetime."""
    return f"{DAY_NAMES[when.weekday()]} {when:%d/%m}"


def moment_label(when: datetime) -> str:
    """« mardi 08/09 10:00 » for a wall-clock datetime."""
    return f"{day_label(when)} {when:%H:%M}"


class ContentForm(FlaskForm):
    """Contenu de séance: title, rich-text body (sanitized when saved), private note."""

    title = StringField(_l("Titre"), validators=[
        DataRequired(_l("Donnez un titre.")), Length(max=activities.MAX_TITLE)])
    body = RichTextAreaField(_l("Texte"), validators=[Length(max=activities.MAX_BODY)],
                             render_kw=RICH_TEXT)
    private_note = TextAreaField(_l("Note privée (vous seul la voyez)"),
                                 validators=[Length(max=activities.MAX_BODY)])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(prefix=kwargs.pop("prefix", "content"), **kwargs)


class HomeworkForm(ContentForm):
    """Travail à faire: the content fields, plus type, estimated minutes, due
    lesson (``choices`` set by the view), target students and the hand-in flag."""

    homework_type = SelectField(_l("Type"))
    minutes = IntegerField(_l("Durée estimée (minutes)"), default=preferred_minutes,
                           validators=[Optional(),
                                       NumberRange(min=0, max=activities.MAX_MINUTES)])
    due_lesson = SelectField(_l("À faire pour la séance du"), coerce=int)
    targets = SelectMultipleField(_l("Élèves concernés (aucun choisi : toute la classe)"),
                                  coerce=int, validators=[Optional()])
    online_submission = BooleanField(_l("Remise en ligne"))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(prefix=kwargs.pop("prefix", "homework"), **kwargs)


class BinderItemForm(FlaskForm):
    """A new item of the classeur pédagogique: an activity kept for later (kind,
    title, body; for homework its type and estimated minutes)."""

    kind = RadioField(_l("Nature"), default="content",
                      choices=[("content", _l("Contenu de séance")),
                               ("homework", _l("Travail à faire"))])
    title = StringField(_l("Titre"), validators=[
        DataRequired(_l("Donnez un titre.")), Length(max=activities.MAX_TITLE)])
    body = RichTextAreaField(_l("Texte"), validators=[Length(max=activities.MAX_BODY)],
                             render_kw=RICH_TEXT)
    homework_type = SelectField(_l("Type (travail à faire)"))
    minutes = IntegerField(_l("Durée estimée (minutes, travail à faire)"), validators=[
        Optional(), NumberRange(min=0, max=activities.MAX_MINUTES)])


def set_choices(form: HomeworkForm, due: Sequence[tuple[int, str]],
                students: Sequence[tuple[int, str]], types: Sequence[str]) -> None:
    """The due-lesson and target choices of a homework form (ids, labels), and its
    type choices (the school's homework types, :func:`web.textbook.homework_types`)."""
    form.due_lesson.choices = list(due)
    form.targets.choices = list(students)
    form.homework_type.choices = [(t, t) for t in types]


def to_input(form: ContentForm) -> textbook.ActivityInput:
    """The :class:`ActivityInput` of a validated form."""
    title, body = form.title.data or "", form.body.data or ""
    note = form.private_note.data or ""
    if not isinstance(form, HomeworkForm):
        return textbook.ActivityInput(textbook.ActivityKind.content, title, body, note)
    return textbook.ActivityInput(
        textbook.ActivityKind.homework, title, body, note,
        homework_type=form.homework_type.data, minutes=form.minutes.data,
        due_lesson_id=form.due_lesson.data or None,
        online_submission=bool(form.online_submission.data),
        target_ids=tuple(form.targets.data or ()))
