"""Activities of a lesson (contenu de séance, travail à faire): add, edit, reorder,
with the rules of issue 5 (deleting to the corbeille and restoring: :mod:`.trash`).

Only a teacher of the lesson's teaching service changes its activities
(:func:`require_teacher`, ``Forbidden``, HTTP 403). Bodies are rich text sanitized
with nh3 before they are stored (:mod:`web.rich_text`'s allow-list):
scripts, iframes, styles and every ``on*`` attribute are dropped (issue 5, "Bad
input"), so no user HTML runs on our origin.
Error messages are French: the web pages show them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

import acl
from davserver import clock
from davserver.config import TextbookConfig
from davserver.errors import BadRequest, Forbidden, NotFound
from web.rich_text import sanitize_html

from .calendar import school_zone
from .homework_types import homework_types
from .models import (
    Activity,
    ActivityKind,
    Lesson,
    LessonStatus,
    TeachingService,
    service_teachers,
)
from .oversight.models import (
    TrashedActivity,
    TrashedLesson,
    activity_not_trashed,
    not_trashed,
)
from .visibility import release_time

MAX_TITLE = 200
MAX_MINUTES = 600  # ten hours of homework for one due date is surely a typo
MAX_BODY = 200_000  # characters of HTML
NEXT_LESSONS = 12  # how many next lessons the due-lesson select offers

NOT_TEACHER = "Seuls les enseignants de ce service peuvent modifier son cahier de textes."


@dataclass(frozen=True)
class ActivityInput:
    """What a teacher types for an activity. ``minutes`` is the estimated time in
    minutes; ``due_lesson_id`` None means the next lesson of the service;
    ``target_ids`` empty means the whole class or group. Homework fields are
    ignored for content."""

    kind: ActivityKind
    title: str
    body: str = ""
    private_note: str = ""
    homework_type: str | None = None
    minutes: int | None = None
    due_lesson_id: int | None = None
    online_submission: bool = False
    target_ids: Sequence[int] = field(default_factory=tuple)


def is_teacher(session: Session, user_id: int, service_id: int) -> bool:
    """Whether ``user_id`` is one of the teachers of the service (one query)."""
    return session.scalar(select(exists().where(
        service_teachers.c.service_id == service_id,
        service_teachers.c.user_id == user_id))) or False


def get_lesson(session: Session, lesson_id: int) -> Lesson:
    """The lesson; raises ``NotFound``."""
    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound("Cette séance n'existe pas.")
    return lesson


def require_teacher(session: Session, user_id: int, lesson: Lesson) -> None:
    """Raises ``Forbidden`` unless ``user_id`` teaches the lesson's service."""
    if not is_teacher(session, user_id, lesson.service_id):
        raise Forbidden(NOT_TEACHER)


def next_lessons(session: Session, lesson: Lesson, limit: int = NEXT_LESSONS) -> list[Lesson]:
    """The service's scheduled lessons starting after ``lesson`` starts, soonest
    first (cancelled and deleted ones left out: no homework is due at a lesson that
    will not happen)."""
    return list(session.scalars(
        select(Lesson).where(Lesson.service_id == lesson.service_id,
                             Lesson.start > lesson.start,
                             Lesson.status == LessonStatus.scheduled, not_trashed())
        .order_by(Lesson.start).limit(limit)))


def default_due_lesson(session: Session, lesson: Lesson) -> Lesson | None:
    """The next lesson of the service after ``lesson`` (issue 5: the default due
    lesson of a homework), or None at the end of the timetable."""
    found = next_lessons(session, lesson, limit=1)
    return found[0] if found else None


def _check_text(data: ActivityInput) -> None:
    if not data.title.strip():
        raise BadRequest("Donnez un titre à l'activité.")
    if len(data.title) > MAX_TITLE:
        raise BadRequest(f"Le titre dépasse {MAX_TITLE} caractères.")
    if len(data.body) > MAX_BODY or len(data.private_note) > MAX_BODY:
        raise BadRequest(f"Le texte dépasse {MAX_BODY} caractères.")


def _due_lesson(session: Session, lesson: Lesson, due_lesson_id: int | None) -> Lesson:
    if due_lesson_id is None:
        due = default_due_lesson(session, lesson)
        if due is None:
            raise BadRequest("Ce service n'a pas de séance après celle-ci : choisissez la "
                             "séance pour laquelle le travail est à faire.")
        return due
    due = session.get(Lesson, due_lesson_id)
    if due is None or due.service_id != lesson.service_id or due.start <= lesson.start:
        raise BadRequest("Le travail doit être à faire pour une séance suivante du même "
                         "service.")
    if due.status != LessonStatus.scheduled \
            or session.get(TrashedLesson, due.id) is not None:
        raise BadRequest("La séance choisie pour l'échéance est annulée ou supprimée.")
    return due


def _targets(session: Session, service: TeachingService,
             target_ids: Sequence[int]) -> list[acl.User]:
    if not target_ids:
        return []
    members = {p.id for p in acl.members_of(session, service.group_id, acl.Profile.student)}
    strangers = set(target_ids) - members
    if strangers:
        raise BadRequest("Les élèves choisis doivent appartenir à la classe ou au groupe "
                         "du service.")
    return [session.get_one(acl.User, uid) for uid in sorted(set(target_ids))]


def _fill(session: Session, activity: Activity, lesson: Lesson, data: ActivityInput) -> None:
    """Check ``data`` and copy it onto ``activity`` (raises ``BadRequest``)."""
    _check_text(data)
    activity.kind = data.kind
    activity.title = data.title.strip()
    activity.body = sanitize_html(data.body)
    activity.private_note = data.private_note
    activity.updated = clock.now()
    if data.kind is ActivityKind.content:
        activity.homework_type = activity.minutes = activity.due_lesson_id = None
        activity.online_submission = False
        activity.targets = []
        return
    service = session.get_one(TeachingService, lesson.service_id)
    # The school's types; an edit may keep a type the school removed since.
    allowed = homework_types(session, service.school_id)
    if data.homework_type is None or (data.homework_type not in allowed
                                      and data.homework_type != activity.homework_type):
        raise BadRequest(f"Type de travail inconnu ; choisissez parmi : "
                         f"{', '.join(allowed)}.")
    if data.minutes is not None and not 0 <= data.minutes <= MAX_MINUTES:
        raise BadRequest(f"La durée estimée doit être comprise entre 0 et {MAX_MINUTES} "
                         "minutes.")
    activity.homework_type, activity.minutes = data.homework_type, data.minutes
    activity.due_lesson_id = _due_lesson(session, lesson, data.due_lesson_id).id
    activity.online_submission = data.online_submission
    activity.targets = _targets(session, service, data.target_ids)


def add_activity(session: Session, user_id: int, lesson_id: int,
                 data: ActivityInput, settings: TextbookConfig | None = None) -> Activity:
    """Add an activity at the end of the lesson. Homework shows to students at once,
    or, with ``settings`` whose quiet hours it falls in, at their end
    (:func:`.visibility.release_time`). Raises ``NotFound`` (no lesson),
    ``Forbidden`` (not a teacher of its service), ``BadRequest`` (bad input, nothing
    saved)."""
    lesson = get_lesson(session, lesson_id)
    require_teacher(session, user_id, lesson)
    last = session.scalar(select(func.max(Activity.position))
                          .where(Activity.lesson_id == lesson.id))
    activity = Activity(lesson_id=lesson.id, created_by=user_id,
                        position=0 if last is None else last + 1)
    _fill(session, activity, lesson, data)
    if activity.kind is ActivityKind.homework and settings is not None:
        service = session.get_one(TeachingService, lesson.service_id)
        activity.visible_from = release_time(clock.now(), settings,
                                             school_zone(session, service.school_id))
    session.add(activity)
    session.flush()
    return activity


def publish_now(session: Session, user_id: int, activity_id: int) -> Activity:
    """Show an activity to students now: a content before its lesson ends (issue 5:
    the teacher may publish early), a homework given in quiet hours before they end
    (issue 20, « Publier maintenant »). ``Forbidden`` for someone else's activity."""
    activity = editable_activity(session, user_id, activity_id)
    now = clock.now()
    if activity.visible_from is None or activity.visible_from > now:
        activity.visible_from = now
    return activity


def get_activity(session: Session, activity_id: int) -> Activity:
    """The activity; raises ``NotFound``, also for one in the corbeille (only
    :mod:`.trash` reaches those, to restore them or delete them for good)."""
    activity = session.get(Activity, activity_id)
    if activity is None or session.get(TrashedActivity, activity_id) is not None:
        raise NotFound("Cette activité n'existe pas.")
    return activity


def editable_activity(session: Session, user_id: int, activity_id: int) -> Activity:
    """The activity, if ``user_id`` teaches its lesson's service; raises ``NotFound``
    or ``Forbidden``."""
    activity = get_activity(session, activity_id)
    require_teacher(session, user_id, get_lesson(session, activity.lesson_id))
    return activity


def edit_activity(session: Session, user_id: int, activity_id: int,
                  data: ActivityInput) -> Activity:
    """Replace an activity's fields (its lesson and position stay). Raises as
    :func:`add_activity`."""
    activity = editable_activity(session, user_id, activity_id)
    _fill(session, activity, get_lesson(session, activity.lesson_id), data)
    session.flush()
    return activity


def lesson_activities(session: Session, lesson_id: int) -> list[Activity]:
    """A lesson's activities in their order, those in the corbeille left out."""
    return list(session.scalars(select(Activity).where(Activity.lesson_id == lesson_id,
                                                       activity_not_trashed())
                                .order_by(Activity.position, Activity.id)))


def reorder_activities(session: Session, user_id: int, lesson_id: int,
                       ordered_ids: Sequence[int]) -> None:
    """Put the lesson's activities in the order ``ordered_ids`` (every activity of
    the lesson, once). Raises ``Forbidden``, ``NotFound``, or ``BadRequest`` when the
    ids are not exactly the lesson's activities."""
    lesson = get_lesson(session, lesson_id)
    require_teacher(session, user_id, lesson)
    activities = {a.id: a for a in lesson_activities(session, lesson.id)}
    if sorted(ordered_ids) != sorted(activities):
        raise BadRequest("L'ordre demandé ne correspond pas aux activités de la séance.")
    for position, activity_id in enumerate(ordered_ids):
        activities[activity_id].position = position
    session.flush()


def move_activity(session: Session, user_id: int, activity_id: int, offset: int) -> int:
    """Move an activity ``offset`` places within its lesson (-1: up one), clamped
    to the ends; returns the lesson id. Raises as :func:`reorder_activities`."""
    activity = get_activity(session, activity_id)
    ids = [a.id for a in lesson_activities(session, activity.lesson_id)]
    here = ids.index(activity.id)
    there = max(0, min(len(ids) - 1, here + offset))
    ids.insert(there, ids.pop(here))
    reorder_activities(session, user_id, activity.lesson_id, ids)
    return activity.lesson_id
