"""Moving and cancelling a séance from its page (issue 5), for the service's teachers.

* ``POST /textbook/seances/<id>/deplacer``: new day, start and end (school time);
* ``POST /textbook/seances/<id>/annuler``: the lesson stays, marked cancelled.

Both answer with a redirect to the lesson page and a message; the resources booked for
the lesson follow it (:mod:`web.booking.lessons`), and the message says what became of
them. Refusals (someone else's lesson: 403; bad times: 400; a cancelled lesson or a
clash: 409) show their reason on the lesson page.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField, TimeField
from wtforms.validators import DataRequired

from davserver.errors import DomainError, Forbidden

from . import textbook
from .auth import login_required, web_context
from .rubrics import signed_in
from .textbook_views import zone_of

bp = Blueprint("textbook_lessons", __name__, url_prefix="/textbook/seances")


class MoveForm(FlaskForm):
    """A lesson's new day and times, wall-clock in the school's time zone."""

    day = DateField(_l("Nouvelle date"), validators=[DataRequired(_l("Indiquez la date."))])
    start = TimeField(_l("Début"), validators=[DataRequired(_l("Indiquez l'heure de "
                                                               "début."))])
    end = TimeField(_l("Fin"), validators=[DataRequired(_l("Indiquez l'heure de fin."))])


def _back(lesson_id: int) -> Response:
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id), code=303)


def _bookings_note(s: object, lesson_id: int) -> str:
    from web.booking.lessons import lesson_bookings  # booking builds on the textbook

    kept = len(lesson_bookings(s, lesson_id))  # type: ignore[arg-type]
    return _(" %(n)d réservation(s) de ressources suivent la séance.", n=kept) if kept else ""


@bp.post("/<int:lesson_id>/deplacer")
@login_required
def move(lesson_id: int) -> Response:
    """Move the lesson; its bookings follow when their resources are free."""
    form = MoveForm()
    if not form.validate_on_submit():
        flash(_("Indiquez la nouvelle date, le début et la fin de la séance."), "error")
        return _back(lesson_id)
    principal = signed_in()
    try:
        with web_context().db.transaction() as s:
            tz = zone_of(s, textbook.get_lesson(s, lesson_id))
            start = datetime.combine(form.day.data, form.start.data, tz)  # type: ignore[arg-type]
            end = datetime.combine(form.day.data, form.end.data, tz)  # type: ignore[arg-type]
            textbook.reschedule_lesson(s, principal.id, lesson_id, start, end)
            note = _bookings_note(s, lesson_id)
    except Forbidden as exc:
        abort(403, description=exc.message)
    except DomainError as exc:
        flash(exc.message, "error")
        return _back(lesson_id)
    flash(_("Séance déplacée.") + note, "notice")
    return _back(lesson_id)


@bp.post("/<int:lesson_id>/annuler")
@login_required
def cancel(lesson_id: int) -> Response:
    """Cancel the lesson and the resources booked for it."""
    FlaskForm().validate_on_submit()  # CSRF is checked for every POST (CSRFProtect)
    principal = signed_in()
    try:
        with web_context().db.transaction() as s:
            textbook.cancel_lesson(s, principal.id, lesson_id)
    except Forbidden as exc:
        abort(403, description=exc.message)
    except DomainError as exc:
        flash(exc.message, "error")
        return _back(lesson_id)
    flash(_("Séance annulée ; les ressources réservées pour elle sont libérées."), "notice")
    return _back(lesson_id)
