"""Moving and copying activities: to another lesson, to the binder (classeur
pédagogique), and from the binder into a lesson (issue 5, "Teacher's textbook" and
"Classeur pédagogique"). Pages and JSON API share the functions below.

* ``POST /textbook/activites/<id>/transferer`` (``destination``):
  ``deplacer:<lesson id>`` moves it to another lesson of its service,
  ``copier:<lesson id>`` copies it (to the next lesson of another service),
  ``classeur:<folder>`` saves it as an item in that binder folder;
* ``POST /textbook/seances/<id>/vers-classeur`` (``activities``, ``folder``): several
  activities of the lesson into one binder folder;
* ``POST /textbook/seances/<id>/depuis-classeur`` (``items``): binder items into the
  lesson, all or none; a homework is due at the next lesson, to be changed after.

Binder files go through the file manager's own code (``web.documents``: the same
rights, quota — 507 with a readable message —, locks and names as a WebDAV PUT);
items are described in :mod:`web.textbook.binder.items`.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

import acl
from davserver.errors import BadRequest, Conflict, DomainError
from providers import BINDER, NodeInfo
from web import textbook
from web.auth import chosen_school, login_required, signed_in, web_context
from web.documents.actions import copy_name
from web.documents.places import Place, locate, store
from web.documents.uploads import upload
from web.forms import parse_number

from ..forms import BinderItemForm
from . import items as binder_items
from . import transfers

bp = Blueprint("textbook_binder", __name__, url_prefix="/textbook")


# --- shared by the pages and the API ---------------------------------------------------


def binder_folder(path: str) -> Place:
    """The signed-in teacher's binder folder at ``path`` (``/`` is the binder's root).
    Raises ``Refusal`` 404 for anything else (another user has no binder of theirs)."""
    place = locate(BINDER + "/" + path.strip("/"))
    if not place.node.is_collection:
        raise BadRequest(_("« %(path)s » n'est pas un dossier du classeur.", path=path))
    return place


def save_to_binder(s: Session, user_id: int, activity_id: int, folder: Place) -> str:
    """Write the activity as an item into ``folder``; returns the item's name (the
    title, or ``… (copie).html`` when taken). Raises ``Forbidden``/``NotFound`` (not
    the teacher's activity) and the file manager's ``Refusal`` (403, 423, 507…)."""
    return write_item(folder, textbook.editable_activity(s, user_id, activity_id))


def write_item(folder: Place, activity: textbook.Activity) -> str:
    """Write ``activity`` (saved or a draft) as an item into the binder ``folder``;
    returns its name (``… (copie).html`` when the title's is taken). Raises the file
    manager's ``Refusal`` (403, 423, 507 with the free space named)."""
    name = binder_items.item_name(activity)
    if store().resolve(folder.space.id, folder.node.path + "/" + name) is not None:
        name = copy_name(folder, name)
    data = binder_items.item_html(activity)
    node = upload(folder, name, io.BytesIO(data), len(data))
    store().patch_dead_props(node, binder_items.item_props(activity))
    return name


def binder_tree() -> tuple[list[str], list[NodeInfo]]:
    """The teacher's binder folders (paths, ``/`` first) and its HTML items, by path
    (one query)."""
    root = locate(BINDER)
    below = store().descendants(root.node)
    folders = ["/"] + [n.written_path for n in below if n.is_collection]
    items = [n for n in below if not n.is_collection
             and n.name.lower().endswith(binder_items.SUFFIX)]
    return folders, items


def read_items(paths: list[str]) -> list[binder_items.BinderItem]:
    """The signed-in teacher's binder items at ``paths``, read back (no database
    transaction of the caller may be open for writing: the binder space may be
    made on first use). Raises ``Refusal`` 404 (no such item), ``BadRequest`` (a
    folder, not HTML, too big)."""
    if not paths:
        raise BadRequest(_("Choisissez au moins un élément du classeur."))
    found = []
    for path in paths:
        place = locate(BINDER + "/" + path.strip("/"))
        if place.node.is_collection:
            raise BadRequest(_("« %(path)s » est un dossier, pas une activité.", path=path))
        with store().open(place.node) as stream:
            data = stream.read(binder_items.MAX_ITEM_BYTES + 1)
        found.append(binder_items.read_item(place.node.name, data, place.node.dead_props))
    return found


def add_items(s: Session, user_id: int, lesson_id: int,
              items: list[binder_items.BinderItem]) -> list[textbook.Activity]:
    """Add binder items to the lesson, in order, in the caller's transaction (all or
    none); a homework is due at the next lesson, of the school's first type when
    its own is not one of the school's. Raises as ``textbook.add_activity``."""
    lesson = textbook.get_lesson(s, lesson_id)
    types = textbook.homework_types(
        s, s.get_one(textbook.TeachingService, lesson.service_id).school_id)
    return [textbook.add_activity(s, user_id, lesson_id, textbook.ActivityInput(
        item.kind, item.title, body=item.body, minutes=item.minutes,
        homework_type=item.homework_type if item.homework_type in types else types[0]),
        web_context().textbook) for item in items]


def transfer_choices(s: Session, user_id: int, lesson: textbook.Lesson) -> dict[str, Any]:
    """What the lesson page offers a teacher: the binder's folders and items, the
    service's next lessons (move), the next lesson of each other service (copy)."""
    folders, items = binder_tree() if acl.has_binder(signed_in().profile) else ([], [])
    copies = transfers.next_lessons_elsewhere(s, user_id, lesson)
    return {"binder_folders": folders, "binder_items": items,
            "move_choices": textbook.next_lessons(s, lesson), "copy_choices": copies,
            "service_titles": textbook.service_titles(s, [sv for sv, _ in copies])}


# --- pages -----------------------------------------------------------------------------


def _back(lesson_id: int) -> Response:
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id))


def _told(s: Session, done: transfers.Transfer, verb: str) -> None:
    message = verb
    if done.due is not None:
        tz = textbook.school_zone(s, s.get_one(textbook.TeachingService,
                                               done.due.service_id).school_id)
        message += " " + _("Le travail est désormais à faire pour le %(when)s.",
                           when=done.due.start.astimezone(tz).strftime("%d/%m/%Y %H:%M"))
    flash(message)


def run_transfer(activity_id: int, destination: str) -> int:
    """Carry out a ``destination`` of the module docstring for the signed-in teacher,
    flashing what was done (for a homework, its new due lesson); returns the lesson
    the activity was in. Raises ``DomainError`` (403, 404, 409, 507…), or
    ``BadRequest`` for a ``destination`` that is none of the three forms."""
    user = signed_in()
    action, _sep, value = destination.partition(":")
    # Saving to the binder writes through the store in its own transactions.
    with web_context().db.transaction(write=action != "classeur") as s:
        source = textbook.editable_activity(s, user.id, activity_id).lesson_id
        if action == "classeur":
            name = save_to_binder(s, user.id, activity_id, binder_folder(value))
            flash(_("Copié dans le classeur : %(name)s.", name=name))
        elif action == "deplacer" and (lesson := parse_number(value)) is not None:
            _told(s, transfers.move_to_lesson(s, user.id, activity_id, lesson),
                  _("Activité déplacée."))
        elif action == "copier" and (lesson := parse_number(value)) is not None:
            _told(s, transfers.copy_to_lesson(s, user.id, activity_id, lesson,
                                              web_context().textbook), _("Activité copiée."))
        else:
            raise BadRequest(_("Choisissez où copier ou déplacer l'activité."))
    return source


@bp.post("/activites/<int:activity_id>/transferer")
@login_required
def transfer(activity_id: int) -> Response | tuple[str, int]:
    """Move or copy one activity (see the module docstring for ``destination``). A
    refusal the teacher can act on (a visa holds the activity: 409) comes back as the
    lesson page with its reason, not as an error page (issue 20)."""
    try:
        source = run_transfer(activity_id, request.form.get("destination", ""))
    except Conflict as exc:
        from ..pages import lesson_page  # the lesson pages build on this module

        with web_context().db.transaction(write=False) as s:
            lesson_id = s.get_one(textbook.Activity, activity_id).lesson_id
        return lesson_page(lesson_id, error=exc.message, status=409)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    return _back(source)


@bp.post("/seances/<int:lesson_id>/vers-classeur")
@login_required
def to_binder(lesson_id: int) -> Response:
    """Save several activities of the lesson into one binder folder."""
    user = signed_in()
    ids = [i for i in map(parse_number, request.form.getlist("activities")) if i is not None]
    try:
        # Read-only here: the files are written by the store in its own transactions.
        with web_context().db.transaction(write=False) as s:
            if not ids:
                abort(400, description=_("Cochez au moins une activité."))
            folder = binder_folder(request.form.get("folder", "/"))
            names = [save_to_binder(s, user.id, i, folder) for i in ids
                     if textbook.editable_activity(s, user.id, i).lesson_id == lesson_id]
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(_("Copié dans le classeur : %(names)s.", names=", ".join(names)))
    return _back(lesson_id)


@bp.post("/seances/<int:lesson_id>/depuis-classeur")
@login_required
def from_binder(lesson_id: int) -> Response:
    """Import binder items into the lesson (all or none)."""
    user = signed_in()
    try:
        items = read_items(request.form.getlist("items"))
        with web_context().db.transaction() as s:
            added = add_items(s, user.id, lesson_id, items)
            flash(_("Importé du classeur : %(titles)s. Vérifiez l'échéance des travaux.",
                    titles=", ".join(a.title for a in added)))
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    return _back(lesson_id)


@bp.route("/classeur/nouvel-element", methods=["GET", "POST"])
@login_required
def new_item() -> Response | tuple[str, int]:
    """« Nouvel élément » of the binder: an activity written straight into the binder
    folder ``?dossier=/path`` (its root by default), then back to that folder in the
    file manager. Teachers only (404 for the others: they have no binder)."""
    user = signed_in()
    where = request.args.get("dossier", "/")
    try:
        folder = binder_folder(where)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    with web_context().db.transaction(write=False) as s:
        types = textbook.homework_types(s, acl.user_context(s, user.id,
                                                               chosen_school()).school_id)
    form = BinderItemForm()
    form.homework_type.choices = [(t, t) for t in types]
    if form.validate_on_submit():
        kind = textbook.ActivityKind(form.kind.data)
        draft = textbook.Activity(
            kind=kind, title=(form.title.data or "").strip(), body=form.body.data or "",
            minutes=form.minutes.data if kind is textbook.ActivityKind.homework else None,
            homework_type=form.homework_type.data
            if kind is textbook.ActivityKind.homework else None)
        try:
            name = write_item(folder, draft)
        except DomainError as exc:
            return render_template("textbook/binder_item.html", form=form, folder=folder,
                                   error=exc.message), exc.status
        flash(_("Élément ajouté au classeur : %(name)s.", name=name))
        return redirect(url_for("documents.place", where=folder.where + "/"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("textbook/binder_item.html", form=form, folder=folder,
                           error=None), status
