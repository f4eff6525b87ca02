"""Online submission ("remise en ligne", issue 7): who may hand in, read, correct and
close the hand-ins of a homework, and what the pages show.

Rules (issue 7, "Online submission" and "Bad input"):

* only a homework whose ``online_submission`` flag is on takes hand-ins (else 409);
* only a targeted student hands in: one of its target rows, or, without any, a
  student of the service's class or group (the textbook's own rule,
  :mod:`..reading`); a student the homework is not aimed at gets 403, a student of
  another class 404 (they do not see the lesson at all, STYLE.md habit 12);
* before the due lesson's start a file is on time; after it, it is accepted and the
  hand-in marked late, unless a teacher of the service closed it: 409, nothing
  stored. Teachers of the service close and reopen;
* hand-ins and corrections are read by their student and by the service's teachers,
  nobody else (another student: 404; anyone else: 403).

Bytes are stored by :mod:`.files`; this module only decides and reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

import acl
from davserver import clock
from davserver.errors import Conflict, Forbidden, NotFound

from ..activities import is_teacher
from ..calendar import service_titles
from ..models import (
    Activity,
    ActivityKind,
    Lesson,
    LessonStatus,
    TeachingService,
    service_teachers,
)
from ..oversight.models import TrashedActivity, TrashedLesson, live_activity
from .models import Handin, HandinClosure, HandinCorrection, HandinFile

NOT_ONLINE = _l("Ce travail ne se remet pas en ligne (remise en ligne non activée).")
NOT_TARGETED = _l("Ce travail n'est pas demandé à cet élève : remise refusée.")
CLOSED = _l("L'enseignant a clos la remise de ce travail : plus aucun dépôt n'est accepté.")
ONLY_STUDENTS = _l("Seul un élève à qui ce travail est demandé peut le remettre.")
NOT_SERVICE_TEACHER = _l("Seuls les enseignants de ce service voient ces remises.")
NO_HOMEWORK = _l("Ce travail à faire n'existe pas.")


@dataclass(frozen=True)
class Homework:
    """A homework taking hand-ins, with its lesson, service and due time (UTC start of
    the due lesson; None without one: never late)."""

    activity: Activity
    lesson: Lesson
    service: TeachingService
    due: datetime | None

    @property
    def teacher_ids(self) -> list[int]:
        return [t.id for t in self.service.teachers]


@dataclass(frozen=True)
class StudentRow:
    """What a teacher sees of one targeted student: the hand-in (None: nothing handed
    in), its files and the corrections returned."""

    student: acl.Principal
    handin: Handin | None
    files: list[HandinFile]
    corrections: list[HandinCorrection]


def _load(s: Session, activity_id: int) -> Homework:
    activity = s.get(Activity, activity_id)
    if activity is None or activity.kind is not ActivityKind.homework \
            or s.get(TrashedActivity, activity_id) is not None:
        raise NotFound(str(NO_HOMEWORK))
    lesson = s.get_one(Lesson, activity.lesson_id)
    due_lesson = s.get(Lesson, activity.due_lesson_id) if activity.due_lesson_id else None
    return Homework(activity, lesson, s.get_one(TeachingService, lesson.service_id),
                    due_lesson.start if due_lesson else None)


def handin_homework(s: Session, activity_id: int) -> Homework:
    """The homework ``activity_id`` with online submission on. Raises ``NotFound``
    (no such homework) and ``Conflict`` (flag off)."""
    found = _load(s, activity_id)
    if not found.activity.online_submission:
        raise Conflict(str(NOT_ONLINE))
    return found


def student_homework(s: Session, principal: acl.Principal, activity_id: int) -> Homework:
    """:func:`homework` for a student who may hand it in (:func:`require_targeted`),
    checked in that order: a student who does not have the lesson gets 404 whether
    or not the flag is on (they learn nothing of it)."""
    found = _load(s, activity_id)
    require_targeted(s, principal, found)
    if not found.activity.online_submission:
        raise Conflict(str(NOT_ONLINE))
    return found


def targeted_students(s: Session, hw: Homework) -> list[acl.Principal]:
    """The students asked for this homework: its targets, else the whole class or
    group, by login."""
    if hw.activity.targets:
        return [acl.Principal(u.id, u.login, u.display_name, u.profile)
                for u in hw.activity.targets]
    return acl.members_of(s, hw.service.group_id, acl.Profile.student)


def require_service_teacher(s: Session, user_id: int, hw: Homework) -> None:
    """``Forbidden`` unless ``user_id`` teaches the homework's service."""
    if not is_teacher(s, user_id, hw.service.id):
        raise Forbidden(str(NOT_SERVICE_TEACHER))


def require_targeted(s: Session, principal: acl.Principal, hw: Homework) -> None:
    """The hand-in rule for ``principal`` (a student). Raises ``Forbidden`` for
    another profile or a student of the class not targeted, ``NotFound`` for a
    student who does not have the lesson (another class, a cancelled lesson or one in
    the corbeille: students do not see those)."""
    if principal.profile is not acl.Profile.student:
        raise Forbidden(str(ONLY_STUDENTS))
    in_class = hw.service.group_id in acl.groups_of(s, principal.id)
    if not in_class or hw.lesson.status is not LessonStatus.scheduled \
            or s.get(TrashedLesson, hw.lesson.id) is not None:
        raise NotFound(str(NO_HOMEWORK))
    if hw.activity.targets and principal.id not in {t.id for t in hw.activity.targets}:
        raise Forbidden(str(NOT_TARGETED))


def is_closed(s: Session, activity_id: int) -> bool:
    """Whether a teacher closed the homework's hand-in."""
    return s.get(HandinClosure, activity_id) is not None


def lateness(s: Session, hw: Homework, now: datetime | None = None) -> bool:
    """Whether a file handed in ``now`` (UTC, default: now) is late. Raises
    ``Conflict`` when the hand-in is closed (nothing is accepted then)."""
    if is_closed(s, hw.activity.id):
        raise Conflict(str(CLOSED))
    now = now or clock.now()
    return hw.due is not None and now >= hw.due


def set_closed(s: Session, user_id: int, activity_id: int, closed: bool) -> Homework:
    """Close (``closed``) or reopen the hand-in, by a teacher of the service
    (``Forbidden`` otherwise). Idempotent."""
    hw = handin_homework(s, activity_id)
    require_service_teacher(s, user_id, hw)
    row = s.get(HandinClosure, activity_id)
    if closed and row is None:
        s.add(HandinClosure(activity_id=activity_id, closed_by=user_id))
    elif not closed and row is not None:
        s.delete(row)
    s.flush()
    return hw


def handin_of(s: Session, activity_id: int, student_id: int) -> Handin | None:
    """The student's hand-in of the homework, if any."""
    return s.scalar(select(Handin).where(Handin.activity_id == activity_id,
                                         Handin.student_id == student_id))


def files_of(s: Session, handin: Handin | None) -> list[HandinFile]:
    """The files of a hand-in, by name."""
    if handin is None:
        return []
    return list(s.scalars(select(HandinFile).where(HandinFile.handin_id == handin.id)
                          .order_by(HandinFile.name)))


def corrections_of(s: Session, activity_id: int, student_id: int) -> list[HandinCorrection]:
    """The corrected files returned to the student, oldest first."""
    return list(s.scalars(select(HandinCorrection).where(
        HandinCorrection.activity_id == activity_id,
        HandinCorrection.student_id == student_id).order_by(HandinCorrection.id)))


def student_rows(s: Session, user_id: int, activity_id: int) -> tuple[Homework, list[StudentRow]]:
    """The teacher's view: every targeted student, handed in or not. ``Forbidden``
    for anyone but the service's teachers."""
    hw = handin_homework(s, activity_id)
    require_service_teacher(s, user_id, hw)
    rows = []
    for student in targeted_students(s, hw):
        found = handin_of(s, activity_id, student.id)
        rows.append(StudentRow(student, found, files_of(s, found),
                               corrections_of(s, activity_id, student.id)))
    return hw, rows


def readable_file(s: Session, principal: acl.Principal, kind: str,
                  file_id: int) -> HandinFile | HandinCorrection:
    """A hand-in file (``kind`` "remise") or a correction ("correction") that
    ``principal`` may download: its student or a teacher of the service. Raises
    ``NotFound`` (no such file, or a student who is not its owner: they may not know it
    exists) or ``Forbidden`` (anyone else)."""
    found: HandinFile | HandinCorrection | None
    if kind == "remise":
        found = s.get(HandinFile, file_id)
        owner_row = s.get(Handin, found.handin_id) if found else None
        owner, activity_id = ((owner_row.student_id, owner_row.activity_id)
                              if owner_row else (None, None))
    else:
        found = s.get(HandinCorrection, file_id)
        owner, activity_id = ((found.student_id, found.activity_id)
                              if found else (None, None))
    if found is None or activity_id is None:
        raise NotFound(str(_l("Ce fichier n'existe pas.")))
    if principal.id == owner:
        return found
    if principal.profile is acl.Profile.student:
        raise NotFound(str(_l("Ce fichier n'existe pas.")))
    activity = s.get_one(Activity, activity_id)
    lesson = s.get_one(Lesson, activity.lesson_id)
    if not is_teacher(s, principal.id, lesson.service_id):
        raise Forbidden(str(NOT_SERVICE_TEACHER))
    return found


@dataclass(frozen=True)
class StudentHandin:
    """What a student sees of their hand-in of one homework: the hand-in (None:
    nothing yet), its files, the corrections returned, whether it is closed, the due
    time (UTC) and whether they may still add (``open``) or take back files
    (``changeable``: open and before the due time)."""

    handin: Handin | None
    files: list[HandinFile]
    corrections: list[HandinCorrection]
    closed: bool
    due: datetime | None
    changeable: bool


def student_handins(s: Session, student_id: int,
                    activities: list[Activity]) -> dict[int, StudentHandin]:
    """By activity id, the student's hand-in of each homework of ``activities`` that
    takes hand-ins (for the lesson page; the caller already checked that the student
    reads them)."""
    now = clock.now()
    found = {}
    for activity in activities:
        if activity.kind is not ActivityKind.homework or not activity.online_submission:
            continue
        hw = handin_homework(s, activity.id)
        row = handin_of(s, activity.id, student_id)
        closed = is_closed(s, activity.id)
        found[activity.id] = StudentHandin(
            row, files_of(s, row), corrections_of(s, activity.id, student_id), closed,
            hw.due, not closed and (hw.due is None or now < hw.due))
    return found


@dataclass(frozen=True)
class WaitingCopies:
    """A homework with copies to correct (« Copies à corriger »): its activity id and
    title, its service's title (« Mathématiques · 4B »), the due lesson's start (UTC;
    None without one), how many hand-ins wait and when the oldest of them last
    changed (UTC)."""

    activity_id: int
    title: str
    service: str
    due: datetime | None
    count: int
    oldest: datetime


def waiting_copies(s: Session, teacher_id: int, *, limit: int) -> list[WaitingCopies]:
    """The homework of the services ``teacher_id`` teaches whose hand-ins wait for a
    correction, the longest-waiting first, at most ``limit``. A hand-in waits when it
    holds a file and no corrected file was returned to its student since it last
    changed (a student who hands in again after a correction waits again); homework
    in the corbeille, or given in a lesson there, is left out. Four queries whatever
    the number of homework and hand-ins."""
    due_lesson = aliased(Lesson)
    has_file = exists().where(HandinFile.handin_id == Handin.id)
    corrected = exists().where(HandinCorrection.activity_id == Handin.activity_id,
                               HandinCorrection.student_id == Handin.student_id,
                               HandinCorrection.returned_at >= Handin.updated)
    oldest = func.min(Handin.updated)
    rows = s.execute(
        select(Activity.id, Activity.title, Lesson.service_id, due_lesson.start,
               func.count(Handin.id), oldest)
        .select_from(Handin)
        .join(Activity, Activity.id == Handin.activity_id)
        .join(Lesson, Lesson.id == Activity.lesson_id)
        .join(service_teachers, service_teachers.c.service_id == Lesson.service_id)
        .outerjoin(due_lesson, due_lesson.id == Activity.due_lesson_id)
        .where(service_teachers.c.user_id == teacher_id,
               Activity.kind == ActivityKind.homework, Activity.online_submission.is_(True),
               live_activity(), has_file, ~corrected)
        .group_by(Activity.id, Activity.title, Lesson.service_id, due_lesson.start)
        .order_by(oldest, Activity.id).limit(limit)).all()
    services = list(s.scalars(select(TeachingService).where(
        TeachingService.id.in_({row[2] for row in rows})))) if rows else []
    titles = service_titles(s, services)
    return [WaitingCopies(activity_id, title, titles.get(service_id, ""), due, count,
                          first)
            for activity_id, title, service_id, due, count, first in rows]
