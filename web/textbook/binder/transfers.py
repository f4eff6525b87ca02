"""Activities from one lesson to another (issue 5, "Teacher's textbook": "move an
activity to another lesson (its due lesson recomputed, the teacher told); "Valider
et copier vers …": copy … to the next lesson of another service").

The teacher must teach both lessons' services (``Forbidden`` otherwise). A homework
that lands in another lesson is due at the next lesson after it (the default of a
new homework) and the caller gets that lesson to tell the teacher; a homework
aimed at chosen students keeps them only within the same service (they are not in
another class). A copy is a new activity, visible by the same rules as one typed
in (quiet hours included); a move keeps the activity, its id and its hand-ins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from davserver import clock
from davserver.config import TextbookConfig
from davserver.errors import BadRequest, Conflict

from ..activities import (
    ActivityInput,
    add_activity,
    default_due_lesson,
    editable_activity,
    get_lesson,
    require_teacher,
)
from ..attachments.services import share_attachments
from ..calendar import school_zone
from ..homework_types import homework_types
from ..models import Activity, ActivityKind, Lesson, LessonStatus, TeachingService, service_teachers
from ..oversight.models import not_trashed
from ..oversight.visas import require_not_visaed

NO_NEXT_LESSON = ("La séance {when} est la dernière de son service : un travail à faire "
                  "n'y aurait pas d'échéance.")


@dataclass(frozen=True)
class Transfer:
    """What a move or a copy did: the activity in its new lesson, and for a
    homework the lesson it is now due at (to tell the teacher)."""

    activity: Activity
    due: Lesson | None


def _due_after(session: Session, activity: Activity, target: Lesson) -> Lesson | None:
    if activity.kind is not ActivityKind.homework:
        return None
    due = default_due_lesson(session, target)
    if due is None:
        service = session.get_one(TeachingService, target.service_id)
        local = target.start.astimezone(school_zone(session, service.school_id))
        raise Conflict(NO_NEXT_LESSON.format(when=f"{local:%d/%m/%Y}"))
    return due


def _target(session: Session, user_id: int, activity: Activity, lesson_id: int) -> Lesson:
    target = get_lesson(session, lesson_id)
    require_teacher(session, user_id, target)
    if target.status is LessonStatus.cancelled:
        raise BadRequest("Cette séance est annulée : choisissez-en une autre.")
    if target.id == activity.lesson_id:
        raise BadRequest("L'activité est déjà dans cette séance.")
    return target


def move_to_lesson(session: Session, user_id: int, activity_id: int,
                   lesson_id: int) -> Transfer:
    """Move an activity to the end of another lesson. Raises ``NotFound``,
    ``Forbidden`` (not a teacher of either service), ``BadRequest`` (the same or a
    cancelled lesson), ``Conflict`` (a homework moved to a service's last lesson, or
    an activity a visa covers: copy it instead); nothing changed then."""
    activity = editable_activity(session, user_id, activity_id)
    target = _target(session, user_id, activity, lesson_id)
    require_not_visaed(session, activity, "déplacée")
    due = _due_after(session, activity, target)
    source_service = get_lesson(session, activity.lesson_id).service_id
    last = session.scalar(select(func.max(Activity.position))
                          .where(Activity.lesson_id == target.id))
    activity.lesson_id = target.id
    activity.position = 0 if last is None else last + 1
    activity.updated = clock.now()
    if due is not None:
        activity.due_lesson_id = due.id
        if target.service_id != source_service:
            activity.targets = []
    session.flush()
    return Transfer(activity, due)


def copy_to_lesson(session: Session, user_id: int, activity_id: int, lesson_id: int,
                   settings: TextbookConfig | None = None) -> Transfer:
    """Copy an activity to the end of another lesson (raises as
    :func:`move_to_lesson`). A homework type the school removed since becomes the
    school's first type. The copy shares the attachments' blobs, with no new charge
    (:func:`..attachments.services.share_attachments`)."""
    activity = editable_activity(session, user_id, activity_id)
    target = _target(session, user_id, activity, lesson_id)
    due = _due_after(session, activity, target)
    same_service = target.service_id == get_lesson(session, activity.lesson_id).service_id
    homework_type = activity.homework_type
    if activity.kind is ActivityKind.homework:
        school = session.get_one(TeachingService, target.service_id).school_id
        allowed = homework_types(session, school)
        if homework_type not in allowed:
            homework_type = allowed[0]
    copy = add_activity(session, user_id, target.id, ActivityInput(
        activity.kind, activity.title, body=activity.body,
        private_note=activity.private_note, homework_type=homework_type,
        minutes=activity.minutes, due_lesson_id=due.id if due else None,
        online_submission=activity.online_submission,
        target_ids=[t.id for t in activity.targets] if same_service else ()), settings)
    share_attachments(session, user_id, activity.id, copy.id)
    return Transfer(copy, due)


def next_lessons_elsewhere(session: Session, user_id: int, lesson: Lesson,
                           now: datetime | None = None) -> list[tuple[TeachingService, Lesson]]:
    """For each other service the teacher teaches in the lesson's school, its next
    scheduled lesson from ``now`` (UTC; default: now) — the "copy to the next lesson
    of another service" choices. Services without a coming lesson are left out."""
    now = now or clock.now()
    school = session.get_one(TeachingService, lesson.service_id).school_id
    services = list(session.scalars(
        select(TeachingService).join(service_teachers,
                                     service_teachers.c.service_id == TeachingService.id)
        .where(service_teachers.c.user_id == user_id, TeachingService.school_id == school,
               TeachingService.id != lesson.service_id).order_by(TeachingService.id)))
    found: list[tuple[TeachingService, Lesson]] = []
    for service in services:
        following = session.scalar(
            select(Lesson).where(Lesson.service_id == service.id, Lesson.start >= now,
                                 Lesson.status == LessonStatus.scheduled, not_trashed())
            .order_by(Lesson.start).limit(1))
        if following is not None:
            found.append((service, following))
    return found

