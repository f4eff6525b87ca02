"""Moving and cancelling a séance (issue 5), and the signals other parts listen to.

A booking made for a lesson follows it (issue 6): :mod:`web.booking` connects to
:data:`lesson_rescheduled` and :data:`lesson_cancelled` (blinker signals, as Flask's
own), so the textbook does not import booking (booking already reads the textbook's
school year). Receivers run inside the caller's transaction (``session`` keyword): a
receiver's failure rolls the change back with it.
"""

from __future__ import annotations

from datetime import datetime

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from davserver.errors import BadRequest, Conflict

from .activities import get_lesson, require_teacher
from .models import Lesson, LessonStatus

_signals = Namespace()
# sender: the Lesson (already at its new times); keywords: session, old_start, old_end.
lesson_rescheduled = _signals.signal("lesson-rescheduled")
# sender: the Lesson (already cancelled); keyword: session.
lesson_cancelled = _signals.signal("lesson-cancelled")

MAX_LESSON_HOURS = 12


def reschedule_lesson(session: Session, user_id: int, lesson_id: int, start: datetime,
                      end: datetime) -> Lesson:
    """Move a scheduled lesson of one of the user's services to ``start``–``end``
    (aware). ``Forbidden`` for someone else's lesson, ``BadRequest`` for naive times,
    an end not after the start or a lesson over 12 hours, ``Conflict`` for a cancelled
    lesson or one of the service's lessons already starting then."""
    lesson = get_lesson(session, lesson_id)
    require_teacher(session, user_id, lesson)
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest(_("Donnez l'heure avec son fuseau horaire."))
    if not start < end or (end - start).total_seconds() > MAX_LESSON_HOURS * 3600:
        raise BadRequest(_("La fin de la séance doit suivre son début, dans la même "
                           "journée."))
    if lesson.status is not LessonStatus.scheduled:
        raise Conflict(_("Cette séance est annulée : elle ne peut pas être déplacée."))
    if session.scalar(select(exists().where(Lesson.service_id == lesson.service_id,
                                            Lesson.start == start, Lesson.id != lesson.id))):
        raise Conflict(_("Une autre séance de ce service commence déjà à cette heure."))
    old_start, old_end = lesson.start, lesson.end
    lesson.start, lesson.end = start, end
    session.flush()
    lesson_rescheduled.send(lesson, session=session, old_start=old_start, old_end=old_end)
    return lesson


def cancel_lesson(session: Session, user_id: int, lesson_id: int) -> Lesson:
    """Cancel a scheduled lesson of one of the user's services (it stays in the
    textbook, marked cancelled, hidden from students). ``Forbidden`` for someone
    else's lesson, ``Conflict`` if it is already cancelled."""
    lesson = get_lesson(session, lesson_id)
    require_teacher(session, user_id, lesson)
    if lesson.status is not LessonStatus.scheduled:
        raise Conflict(_("Cette séance est déjà annulée."))
    lesson.status = LessonStatus.cancelled
    session.flush()
    lesson_cancelled.send(lesson, session=session)
    return lesson
