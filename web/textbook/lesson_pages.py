"""``/textbook/seances/<id>/supprimer``, ``…/restaurer`` and ``/textbook/corbeille``:
a teacher deletes a lesson to the corbeille and restores it (issue 5, "Lessons"); the
corbeille lists the deleted activities too (issue 20; their routes are in
:mod:`.activity_pages`).

Only a teacher of the lesson's service comes here (403 to anyone else, checked
again by the service in the write transaction). A lesson covered by the head's
visa cannot be deleted: the lesson page comes back with the reason and status 409
(issue 7, "Visa"), nothing changed.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import acl
from davserver.errors import Conflict, DomainError
from web import textbook
from web.auth import login_required, profile_required, signed_in, web_context
from web.forms import ActionForm

from .forms import KIND_LABELS, moment_label
from .pages import NOT_TEACHER, lesson_heading, lesson_page, zone_of

bp = Blueprint("textbook_lessons", __name__, url_prefix="/textbook")


def _change(lesson_id: int, action: str) -> Response | tuple[str, int]:
    change = textbook.delete_lesson if action == "delete" else textbook.restore_lesson
    try:
        with web_context().db.transaction() as s:
            change(s, signed_in().id, lesson_id)
    except Conflict as exc:
        return lesson_page(lesson_id, error=exc.message, status=409)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(_("Séance mise à la corbeille.") if action == "delete"
          else _("Séance restaurée."), "notice")
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id), code=303)


@bp.post("/seances/<int:lesson_id>/supprimer")
@login_required
def delete(lesson_id: int) -> Response | tuple[str, int]:
    """Put the lesson in the corbeille (409 with the reason when a visa covers it)."""
    return _change(lesson_id, "delete")


@bp.post("/seances/<int:lesson_id>/restaurer")
@login_required
def restore(lesson_id: int) -> Response | tuple[str, int]:
    """Take the lesson out of the corbeille."""
    return _change(lesson_id, "restore")


@bp.get("/corbeille")
@profile_required(acl.Profile.teacher, reason=NOT_TEACHER)
def trash() -> str:
    """The teacher's deleted lessons and activities, each with a restore button (and,
    for an activity, a confirmed « Supprimer définitivement »)."""
    return trash_page()[0]


def trash_page(error: str | None = None, refused: int | None = None,
               status: int = 200) -> tuple[str, int]:
    """The corbeille page; ``error`` is shown at the top and, for the activity
    ``refused`` (its return to its lesson refused by a visa), the lessons of its
    service it may be restored into instead (``textbook.restore_choices``)."""
    with web_context().db.transaction(write=False) as s:
        rows = [(r.lesson, lesson_heading(s, r.lesson, zone_of(s, r.lesson)),
                 moment_label(r.deleted.astimezone(zone_of(s, r.lesson))))
                for r in textbook.trashed_lessons(s, signed_in().id)]
        activities = [(r, lesson_heading(s, r.lesson, zone_of(s, r.lesson)),
                       moment_label(r.deleted.astimezone(zone_of(s, r.lesson))))
                      for r in textbook.trashed_activities(s, signed_in().id)]
        elsewhere = []
        if refused is not None:
            held = next((r.activity for r, _h, _d in activities
                         if r.activity.id == refused), None)
            elsewhere = [(lesson.id, lesson_heading(s, lesson, zone_of(s, lesson)))
                         for lesson in (textbook.restore_choices(s, held) if held else [])]
        return render_template("textbook/trash.html", rows=rows, activities=activities,
                               kind_labels=KIND_LABELS, action_form=ActionForm(),
                               error=error, refused=refused, elsewhere=elsewhere), status
