"""Making, moving and cancelling a séance by hand (issue 5), and the signals other parts listen to.

A booking made for a lesson follows it (issue 6): :mod:`web.booking` connects to
:data:`lesson_rescheduled` and :data:`lesson_cancelled` (blinker signals, as Flask's
own), so the textbook does not import booking (booking already reads the textbook's
school year), and answers :data:`lesson_move_noted` with what became of them.
Receivers run inside the caller's transaction (``session`` keyword): a receiver's
failure rolls the change back with it.
"""

from __future__ import annotations

from datetime import datetime

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from davserver import clock
from davserver.errors import BadRequest, Conflict, Forbidden, NotFound

from .activities import get_lesson, is_teacher, require_teacher
from .models import Lesson, LessonStatus, TeachingService
from .services import create_lesson, current_school_year, zone

_signals = Namespace()
# sender: the Lesson (already at its new times); keywords: session, old_start, old_end,
# by (the user who moved it).
lesson_rescheduled = _signals.signal("lesson-rescheduled")
# sender: the Lesson (already cancelled); keywords: session, by (who cancelled it).
lesson_cancelled = _signals.signal("lesson-cancelled")
# sender: the id of a lesson just moved; keyword: session. Each receiver returns a
# sentence (or "") that the page adds to the teacher's message: what followed the
# lesson (its bookings, issue 6).
lesson_move_noted = _signals.signal("lesson-move-noted")
# sender: the id of a lesson shown on its page; keyword: session. Each receiver returns
# a list of lines naming what is reserved for the lesson (its bookings, issue 20 "The
# lesson page"): the textbook cannot import the booking feature, which builds on it.
lesson_resources_asked = _signals.signal("lesson-resources-asked")

MAX_LESSON_HOURS = 12


def _check_times(session: Session, service: TeachingService, start: datetime,
                 end: datetime, now: datetime, lesson_id: int | None = None) -> None:
    """The rules of issue 5 for a lesson's new times (a move or a new lesson); raises
    with the reason (see :func:`reschedule_lesson`). ``lesson_id``: the lesson moved,
    which does not clash with itself."""
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest(_("Donnez l'heure avec son fuseau horaire."))
    if not start < end or (end - start).total_seconds() > MAX_LESSON_HOURS * 3600:
        raise BadRequest(_("La fin de la séance doit suivre son début, dans la même "
                           "journée."))
    if start <= now:
        raise BadRequest(_("Une séance ne peut être placée que dans l'avenir."))
    year = current_school_year(session, service.school_id)
    tz = zone(year.time_zone) if year else zone("Europe/Paris")
    if year is None:
        raise Conflict(_("Aucune année scolaire n'est définie pour l'établissement."))
    if not year.start <= start.astimezone(tz).date() <= year.end:
        raise BadRequest(_("Le %(day)s est en dehors de l'année scolaire (%(first)s – "
                           "%(last)s).", day=f"{start.astimezone(tz):%d/%m/%Y}",
                           first=f"{year.start:%d/%m/%Y}", last=f"{year.end:%d/%m/%Y}"))
    taken = session.scalar(select(Lesson).join(
        TeachingService, TeachingService.id == Lesson.service_id).where(
        TeachingService.group_id == service.group_id, Lesson.id != (lesson_id or 0),
        Lesson.status == LessonStatus.scheduled, Lesson.start < end, Lesson.end > start)
        .limit(1))
    if taken is not None:
        raise Conflict(_("La classe a déjà une séance de %(start)s à %(end)s ce jour-là.",
                         start=f"{taken.start.astimezone(tz):%H:%M}",
                         end=f"{taken.end.astimezone(tz):%H:%M}"))


def new_lesson(session: Session, user_id: int, service_id: int, start: datetime,
               end: datetime, room: str = "", now: datetime | None = None) -> Lesson:
    """A lesson made by hand ("Nouvelle séance") in one of the user's services: the
    rules of :func:`_check_times`; ``Forbidden`` for a service the user does not
    teach, ``NotFound`` for no such service."""
    service = session.get(TeachingService, service_id)
    if service is None:
        raise NotFound(_("Aucun service d'enseignement n°%(id)d.", id=service_id))
    if not is_teacher(session, user_id, service.id):
        raise Forbidden(_("Vous n'enseignez pas dans ce service."))
    _check_times(session, service, start, end, now or clock.now())
    year = current_school_year(session, service.school_id)
    assert year is not None  # checked above
    return create_lesson(session, service, start, end, year, room=room.strip()[:100],
                         created_by=user_id)


def reschedule_lesson(session: Session, user_id: int, lesson_id: int, start: datetime,
                      end: datetime, now: datetime | None = None) -> Lesson:
    """Move a future scheduled lesson of one of the user's services to
    ``start``–``end`` (aware). Raises ``Forbidden`` for someone else's lesson;
    ``BadRequest`` for naive times, an end not after the start, a lesson over 12 hours,
    a time in the past or a day outside the school year; ``Conflict`` for a cancelled
    lesson, one that has started (issue 5: a past lesson is part of the record), or a
    time when the same class already has a lesson, whatever the subject."""
    lesson = get_lesson(session, lesson_id)
    require_teacher(session, user_id, lesson)
    service = session.get_one(TeachingService, lesson.service_id)
    now = now or clock.now()
    if lesson.status is not LessonStatus.scheduled:
        raise Conflict(_("Cette séance est annulée : elle ne peut pas être déplacée."))
    if lesson.start <= now:
        raise Conflict(_("Cette séance a déjà commencé : seule une séance à venir peut "
                         "être déplacée."))
    _check_times(session, service, start, end, now, lesson.id)
    move_lesson(session, lesson, start, end, by=user_id)
    return lesson


def move_lesson(session: Session, lesson: Lesson, start: datetime, end: datetime, *,
                by: int | None) -> None:
    """Give ``lesson`` its new times and tell the listeners (its bookings follow:
    :data:`lesson_rescheduled`), checking nothing: for :func:`reschedule_lesson`, which
    checked the teacher's rules, and the timetable import (``by`` None), whose file
    is the rule. A cancelled lesson moves without telling anyone."""
    old_start, old_end = lesson.start, lesson.end
    lesson.start, lesson.end = start, end
    session.flush()
    if lesson.status is LessonStatus.scheduled and (old_start, old_end) != (start, end):
        lesson_rescheduled.send(lesson, session=session, old_start=old_start,
                                old_end=old_end, by=by)


def cancel_lesson(session: Session, user_id: int, lesson_id: int) -> Lesson:
    """Cancel a scheduled lesson of one of the user's services (it stays in the
    textbook, marked cancelled, hidden from students). ``Forbidden`` for someone
    else's lesson, ``Conflict`` if it is already cancelled."""
    lesson = get_lesson(session, lesson_id)
    require_teacher(session, user_id, lesson)
    if lesson.status is not LessonStatus.scheduled:
        raise Conflict(_("Cette séance est déjà annulée."))
    mark_cancelled(session, lesson, by=user_id)
    return lesson


def mark_cancelled(session: Session, lesson: Lesson, *, by: int | None) -> None:
    """Cancel a scheduled ``lesson`` and tell the listeners (its bookings are
    cancelled: :data:`lesson_cancelled`): for :func:`cancel_lesson` and the timetable
    import (``by`` None)."""
    lesson.status = LessonStatus.cancelled
    session.flush()
    lesson_cancelled.send(lesson, session=session, by=by)


def uncancel_lesson(session: Session, user_id: int, lesson_id: int) -> Lesson:
    """Reinstate a cancelled lesson of one of the user's services (issue 20: a
    cancellation made by mistake is undone). Its bookings were cancelled with it and
    are not made again: the resource may be someone else's now. ``Forbidden`` for
    someone else's lesson, ``Conflict`` if it is not cancelled, or if the class has
    another lesson at that time now (the import's replacement, a lesson made by
    hand)."""
    lesson = get_lesson(session, lesson_id)
    require_teacher(session, user_id, lesson)
    if lesson.status is not LessonStatus.cancelled:
        raise Conflict(_("Cette séance n'est pas annulée."))
    service = session.get_one(TeachingService, lesson.service_id)
    taken = session.scalar(select(Lesson).join(
        TeachingService, TeachingService.id == Lesson.service_id).where(
        TeachingService.group_id == service.group_id, Lesson.id != lesson.id,
        Lesson.status == LessonStatus.scheduled, Lesson.start < lesson.end,
        Lesson.end > lesson.start).limit(1))
    if taken is not None:
        year = current_school_year(session, service.school_id)
        tz = zone(year.time_zone) if year else zone("Europe/Paris")
        raise Conflict(_("La classe a désormais une autre séance de %(start)s à %(end)s ce "
                         "jour-là : déplacez ou annulez-la d'abord.",
                         start=f"{taken.start.astimezone(tz):%H:%M}",
                         end=f"{taken.end.astimezone(tz):%H:%M}"))
    lesson.status = LessonStatus.scheduled
    session.flush()
    return lesson
