"""Deleting a lesson to the corbeille, and restoring it (issue 5, "Lessons").

A deleted lesson keeps its row and activities; a :class:`TrashedLesson` row hides it
from every week, from the due-lesson choices and from the workload, until its
teacher restores it. A lesson covered by a visa cannot be deleted (issue 7:
``Conflict``, 409, naming the visa). Messages are French.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from davserver.errors import Conflict

from .activities import get_lesson, require_teacher
from .calendar import teacher_service_ids
from .models import Lesson
from .oversight.models import TrashedLesson, not_trashed
from .oversight.visas import covered_message, covering_visa, signer_names

__all__ = ["TrashRow", "delete_lesson", "is_trashed", "not_trashed", "restore_lesson",
           "trashed_lessons"]


def is_trashed(session: Session, lesson_id: int) -> bool:
    return session.get(TrashedLesson, lesson_id) is not None


def delete_lesson(session: Session, user_id: int, lesson_id: int) -> Lesson:
    """Put the lesson in the corbeille. Raises ``NotFound``, ``Forbidden`` (not a
    teacher of its service), ``Conflict`` (covered by a visa, or already deleted)."""
    lesson = get_lesson(session, lesson_id)
    require_teacher(session, user_id, lesson)
    if is_trashed(session, lesson.id):
        raise Conflict("Cette séance est déjà dans la corbeille.")
    visa = covering_visa(session, lesson)
    if visa is not None:
        signer = signer_names(session, {visa.by_id}).get(visa.by_id, "")
        raise Conflict(covered_message(visa, signer))
    session.add(TrashedLesson(lesson_id=lesson.id, deleted_by=user_id))
    session.flush()
    return lesson


def restore_lesson(session: Session, user_id: int, lesson_id: int) -> Lesson:
    """Take the lesson out of the corbeille. Raises ``NotFound``, ``Forbidden``,
    ``Conflict`` (not in the corbeille)."""
    lesson = get_lesson(session, lesson_id)
    require_teacher(session, user_id, lesson)
    row = session.get(TrashedLesson, lesson.id)
    if row is None:
        raise Conflict("Cette séance n'est pas dans la corbeille.")
    session.delete(row)
    session.flush()
    return lesson


@dataclass(frozen=True)
class TrashRow:
    lesson: Lesson
    deleted: datetime


def trashed_lessons(session: Session, user_id: int) -> list[TrashRow]:
    """The deleted lessons of the services the teacher teaches, latest deleted first."""
    found = session.execute(
        select(Lesson, TrashedLesson.deleted).join(TrashedLesson)
        .where(Lesson.service_id.in_(teacher_service_ids(session, user_id)))
        .order_by(TrashedLesson.deleted.desc())).tuples().all()
    return [TrashRow(lesson, deleted) for lesson, deleted in found]
