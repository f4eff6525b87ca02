"""Making a séance by hand, moving and cancelling one (issue 5), for the service's
teachers.

* ``GET/POST /textbook/seances/nouvelle``: "Nouvelle séance" in one of their services;
* ``POST /textbook/seances/<id>/deplacer``: new day, start and end (school time);
* ``POST /textbook/seances/<id>/annuler``: the lesson stays, marked cancelled;
* ``POST /textbook/seances/<id>/retablir``: a cancelled lesson is scheduled again
  (issue 20); its cancelled bookings are not made again.

Both answer with a redirect to the lesson page and a message; the resources booked for
the lesson follow it (:mod:`web.booking.lessons`), and the message says what became of
them. Refusals (someone else's lesson: 403; bad times: 400; a cancelled lesson or a
clash: 409) show their reason on the lesson page.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import DateField, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, Length

from davserver.errors import DomainError, Forbidden
from web import textbook
from web.auth import login_required, signed_in, web_context

from .pages import zone_of

bp = Blueprint("lesson_changes", __name__, url_prefix="/textbook/seances")


class MoveForm(FlaskForm):
    """A lesson's new day and times, wall-clock in the school's time zone."""

    day = DateField(_l("Nouvelle date"), validators=[DataRequired(_l("Indiquez la date."))])
    start = TimeField(_l("Début"), validators=[DataRequired(_l("Indiquez l'heure de "
                                                               "début."))])
    end = TimeField(_l("Fin"), validators=[DataRequired(_l("Indiquez l'heure de fin."))])


class NewLessonForm(FlaskForm):
    """A lesson made by hand: service, day and times (school time), room."""

    service = SelectField(_l("Service (classe et matière)"), coerce=int)
    day = DateField(_l("Date"), validators=[DataRequired(_l("Indiquez la date."))])
    start = TimeField(_l("Début"), validators=[DataRequired(_l("Indiquez l'heure de "
                                                               "début."))])
    end = TimeField(_l("Fin"), validators=[DataRequired(_l("Indiquez l'heure de fin."))])
    room = StringField(_l("Salle"), validators=[Length(max=100)])


def _service_choices(user_id: int) -> list[tuple[int, str]]:
    with web_context().db.transaction(write=False) as s:
        services = [s.get_one(textbook.TeachingService, i)
                    for i in textbook.teacher_service_ids(s, user_id)]
        titles = textbook.service_titles(s, services)
    return sorted(titles.items(), key=lambda pair: pair[1])


@bp.route("/nouvelle", methods=["GET", "POST"])
@login_required
def new() -> Response | tuple[str, int]:
    """The "Nouvelle séance" form; a refusal shows it again with the reason."""
    principal = signed_in()
    form = NewLessonForm()
    form.service.choices = _service_choices(principal.id)  # type: ignore[assignment]
    if not form.service.choices:
        abort(403, description=_("Vous n'avez aucun service d'enseignement."))
    error, status = None, 200
    if form.validate_on_submit():
        try:
            with web_context().db.transaction() as s:
                service = s.get(textbook.TeachingService, form.service.data)
                tz = textbook.school_zone(s, service.school_id if service else None)
                start = datetime.combine(form.day.data, form.start.data, tz)  # type: ignore[arg-type]
                end = datetime.combine(form.day.data, form.end.data, tz)  # type: ignore[arg-type]
                lesson = textbook.new_lesson(s, principal.id, form.service.data, start, end,
                                             form.room.data or "")
                lesson_id = lesson.id
        except Forbidden as exc:
            abort(403, description=exc.message)
        except DomainError as exc:
            error, status = exc.message, exc.status
        else:
            flash(_("Séance créée."), "notice")
            return _back(lesson_id)
    elif form.is_submitted():
        error, status = _("Le formulaire contient des erreurs : rien n'a été enregistré."), 400
    return render_template("textbook/new_lesson.html", form=form, error=error), status


def _back(lesson_id: int) -> Response:
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id), code=303)


def _followers_note(s: Session, lesson_id: int) -> str:
    """What followed the moved lesson, as its followers tell it (booking builds on the
    textbook: the textbook asks through :data:`web.textbook.lesson_move_noted`)."""
    return "".join(note for _receiver, note in
                   textbook.lesson_move_noted.send(lesson_id, session=s))


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
            note = _followers_note(s, lesson_id)
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


@bp.post("/<int:lesson_id>/retablir")
@login_required
def uncancel(lesson_id: int) -> Response:
    """Reinstate a cancelled lesson (refused, with the reason, when the class has
    another lesson at that time now)."""
    principal = signed_in()
    try:
        with web_context().db.transaction() as s:
            textbook.uncancel_lesson(s, principal.id, lesson_id)
    except Forbidden as exc:
        abort(403, description=exc.message)
    except DomainError as exc:
        flash(exc.message, "error")
        return _back(lesson_id)
    flash(_("Séance rétablie. Les réservations annulées avec elle ne sont pas refaites : "
            "réservez à nouveau si besoin."), "notice")
    return _back(lesson_id)
