"""``/textbook/activites/<id>/…``: edit, delete to the corbeille, restore, delete for
good, and reorder one activity (issue 5; issue 20, "Undo instead of loss").

Only a teacher of the activity's service comes here: anyone else gets 403 (a
student calling a teacher endpoint too, as issue 5 "Bad input" asks), for the
edit form's GET and for every POST; the service checks again inside the write
transaction (:func:`web.textbook.editable_activity`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from davserver.errors import BadRequest, Conflict, DomainError
from web import textbook
from web.auth import login_required, signed_in, web_context
from web.forms import parse_number

from .binder.pages import run_transfer, transfer_choices
from .forms import KIND_LABELS, ContentForm, HomeworkForm, moment_label, to_input
from .lesson_pages import trash_page
from .pages import lesson_heading, lesson_page, prepare_homework, zone_of

bp = Blueprint("textbook_activity", __name__, url_prefix="/textbook/activites")


def _form_data(activity: textbook.Activity) -> dict[str, Any]:
    return {"title": activity.title, "body": activity.body,
            "private_note": activity.private_note,
            "homework_type": activity.homework_type, "minutes": activity.minutes,
            "due_lesson": activity.due_lesson_id,
            "targets": [t.id for t in activity.targets],
            "online_submission": activity.online_submission}


def _editable(s: Session, activity_id: int) -> textbook.Activity:
    """The activity if the signed-in user teaches its service; aborts 403 or 404."""
    try:
        return textbook.editable_activity(s, signed_in().id, activity_id)
    except DomainError as exc:
        abort(exc.status, description=exc.message)


def _form_for(s: Session, activity: textbook.Activity, **kwargs: Any) -> ContentForm:
    """The activity's form (homework or content), its choices set."""
    if activity.kind is not textbook.ActivityKind.homework:
        return ContentForm(**kwargs)
    form = HomeworkForm(**kwargs)
    lesson = textbook.get_lesson(s, activity.lesson_id)
    prepare_homework(s, lesson, form, zone_of(s, lesson), keep=activity.homework_type)
    return form


def _edit_page(activity_id: int, submitted: bool = False, error: str | None = None,
               status: int = 200) -> tuple[str, int]:
    with web_context().db.transaction(write=False) as s:
        activity = _editable(s, activity_id)
        lesson = textbook.get_lesson(s, activity.lesson_id)
        form = _form_for(s, activity) if submitted else \
            _form_for(s, activity, formdata=None, data=_form_data(activity))
        return render_template(
            "textbook/activity_edit.html", activity=activity, lesson=lesson, form=form,
            error=error, kind_label=KIND_LABELS[activity.kind],
            **transfer_choices(s, signed_in().id, lesson),
            when=moment_label(lesson.start.astimezone(zone_of(s, lesson))),
            heading=lesson_heading(s, lesson, zone_of(s, lesson)),
            local=lambda t: moment_label(t.astimezone(zone_of(s, lesson)))), status


@bp.get("/<int:activity_id>/modifier")
@login_required
def edit_form(activity_id: int) -> tuple[str, int]:
    """The activity's edit form, filled in (403 to anyone but its teachers)."""
    return _edit_page(activity_id)


@bp.post("/<int:activity_id>/modifier")
@login_required
def edit(activity_id: int) -> Response | tuple[str, int]:
    """Save the edit form; bad input shows it again (400), nothing saved."""
    with web_context().db.transaction(write=False) as s:
        form = _form_for(s, _editable(s, activity_id))  # 403/404 before input checks
    if not form.validate_on_submit():
        return _edit_page(activity_id, True, _("Le formulaire contient des erreurs : rien "
                                               "n'a été enregistré."), 400)
    try:
        with web_context().db.transaction() as s:
            lesson_id = textbook.edit_activity(s, signed_in().id, activity_id,
                                               to_input(form)).lesson_id
    except BadRequest as exc:
        return _edit_page(activity_id, True, exc.message, 400)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(_("Activité modifiée."), "notice")
    if request.form.get("then") == "copy":  # « Valider et copier vers … »
        try:
            run_transfer(activity_id, request.form.get("copy_to", ""))
        except DomainError as exc:  # saved; only the copy was refused
            flash(_("Copie impossible : %(reason)s", reason=exc.message), "error")
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id), code=303)


def _change(activity_id: int, action: Any, notice: str) -> Response:
    try:
        with web_context().db.transaction() as s:
            lesson_id = action(s, signed_in().id, activity_id)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(notice, "notice")
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id), code=303)


@bp.post("/<int:activity_id>/supprimer")
@login_required
def delete(activity_id: int) -> Response | tuple[str, int]:
    """Put the activity in the corbeille, attachments and their charges kept (the
    lesson page asked for confirmation first). A refusal the teacher can act on (a
    visa holds it, students handed work in: 409) comes back as the lesson page with
    its reason, not as an error page (issue 20)."""
    try:
        with web_context().db.transaction() as s:
            lesson_id = textbook.delete_activity(s, signed_in().id, activity_id)
    except Conflict as exc:
        with web_context().db.transaction(write=False) as s:
            lesson_id = s.get_one(textbook.Activity, activity_id).lesson_id
        return lesson_page(lesson_id, error=exc.message, status=409)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(_("Activité mise à la corbeille : vous pouvez la restaurer depuis la "
            "corbeille du cahier de textes."), "notice")
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id), code=303)


@bp.post("/<int:activity_id>/restaurer")
@login_required
def restore(activity_id: int) -> Response | tuple[str, int]:
    """Take the activity out of the corbeille, back at its place in its lesson (last
    if that place was taken), or into the lesson ``seance`` of its service. A visa
    signed since its deletion that covers its lesson refuses the return there (409):
    the corbeille comes back with the reason (who signed, when) and the lessons it
    may go to instead. 409 too when it is not in the corbeille."""
    into = request.form.get("seance", "").strip()
    into_id = parse_number(into)
    if into and into_id is None:
        abort(400, description=_("Choisissez une séance dans la liste."))
    try:
        with web_context().db.transaction() as s:
            lesson_id = textbook.restore_activity(s, signed_in().id, activity_id,
                                                  into=into_id)
    except Conflict as exc:
        return trash_page(error=exc.message, refused=activity_id, status=409)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(_("Activité restaurée."), "notice")
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id,
                            _anchor=f"activite-{activity_id}"), code=303)


@bp.post("/<int:activity_id>/supprimer-definitivement")
@login_required
def purge(activity_id: int) -> Response:
    """Delete an activity of the corbeille for good (the corbeille page asked for
    confirmation); what its attachments charged is freed. 409 when it is not in the
    corbeille."""
    try:  # its own transaction: the blob files go after the commit
        textbook.purge_activity_and_attachments(web_context().store, signed_in().id,
                                                activity_id)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(_("Activité supprimée définitivement."), "notice")
    return redirect(url_for("textbook_lessons.trash"), code=303)


@bp.post("/<int:activity_id>/publier")
@login_required
def publish(activity_id: int) -> Response:
    """Show an activity to students now: a content before its lesson ends, a homework
    given in quiet hours before they end (issue 20)."""
    with web_context().db.transaction(write=False) as s:
        kind = _editable(s, activity_id).kind
    return _change(activity_id,
                   lambda s, uid, aid: textbook.publish_now(s, uid, aid).lesson_id,
                   _("Travail visible par les élèves dès maintenant.")
                   if kind is textbook.ActivityKind.homework
                   else _("Contenu visible par les élèves dès maintenant."))


@bp.post("/<int:activity_id>/<any(monter, descendre):direction>")
@login_required
def move(activity_id: int, direction: str) -> Response:
    """Move the activity one place up or down in its lesson."""
    offset = -1 if direction == "monter" else 1
    return _change(activity_id,
                   lambda s, uid, aid: textbook.move_activity(s, uid, aid, offset),
                   _("Ordre des activités modifié."))
