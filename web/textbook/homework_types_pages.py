"""``/textbook/types-de-travail``: the school's homework types (issue 5: defaults
« Exercices », « Devoir maison », « Autre », editable per school), a small page for
its head and admins to add, rename and remove them (anyone else: 403, for the page
and every POST). Homework already given keeps its type's text
(:mod:`web.textbook.homework_types`).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from davserver.errors import BadRequest, DomainError
from web import textbook
from web.auth import chosen_school, login_required, signed_in, web_context
from web.forms import ActionForm

bp = Blueprint("homework_types", __name__, url_prefix="/textbook/types-de-travail")


class TypeForm(FlaskForm):
    """A type's new name; ``old`` names the type renamed (empty: a new type)."""

    old = HiddenField()
    name = StringField(_l("Nom"), validators=[
        DataRequired(_l("Donnez un nom au type de travail.")),
        Length(max=textbook.MAX_TYPE)])


def _page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    try:
        with web_context().db.transaction(write=False) as s:
            school = textbook.type_editor_school(s, signed_in().id, chosen_school())
            types = textbook.homework_types(s, school)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    return render_template("textbook/homework_types.html", types=types, error=error,
                           form=TypeForm(formdata=None), action_form=ActionForm(),
                           rename=lambda name: TypeForm(formdata=None, old=name,
                                                        name=name)), status


def _require_editor() -> None:
    """403 before any input check for anyone but the school's head and admins."""
    with web_context().db.transaction(write=False) as s:
        try:
            textbook.type_editor_school(s, signed_in().id, chosen_school())
        except DomainError as exc:
            abort(exc.status, description=exc.message)


@bp.get("/")
@login_required
def index() -> tuple[str, int]:
    """The school's homework types, each with Renommer and Supprimer, and the form
    adding one."""
    return _page()


def _change(action: str, change: object) -> Response | tuple[str, int]:
    try:
        with web_context().db.transaction() as s:
            change(s, signed_in().id)  # type: ignore[operator]
    except BadRequest as exc:
        return _page(exc.message, 400)
    except DomainError as exc:
        if exc.status == 404:
            return _page(exc.message, 404)
        abort(exc.status, description=exc.message)
    flash(action, "notice")
    return redirect(url_for(".index"), code=303)


@bp.post("/<any(ajouter, renommer):what>")
@login_required
def save(what: str) -> Response | tuple[str, int]:
    """Add a type (``ajouter``: ``name``) or rename one (``renommer``: ``old``,
    ``name``); bad input shows the page again (400), nothing saved."""
    _require_editor()
    form = TypeForm()
    if not form.validate_on_submit():
        return _page(_("Le formulaire contient des erreurs : rien n'a été enregistré."),
                     400)
    name, old = form.name.data or "", form.old.data or ""
    if what == "ajouter":
        return _change(_("Type de travail ajouté."),
                       lambda s, uid: textbook.add_type(s, uid, name, chosen_school()))
    return _change(_("Type de travail renommé."),
                   lambda s, uid: textbook.rename_type(s, uid, old, name,
                                                      chosen_school()))


@bp.post("/supprimer")
@login_required
def remove() -> Response | tuple[str, int]:
    """Remove the type ``old``; homework already given keeps it as its text."""
    _require_editor()  # the CSRF token was checked before (CSRFProtect)
    old = request.form.get("old", "")
    return _change(_("Type de travail supprimé."),
                   lambda s, uid: textbook.remove_type(s, uid, old, chosen_school()))
