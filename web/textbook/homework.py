"""The student and parent view of the textbook (issue 5, "Student and parent view"):
homework by due date, ticked as done by the student, the ticks read by their parents
and counted for the teacher.

Who sees which homework is never decided here: the list is the week of
:func:`.reading.weeks_of` (homework due that week, aimed at the student, visible
under :mod:`.visibility`), and a tick is accepted only for a homework that
:func:`.reading.reader_of` and :func:`.reading.readable_activities` show to the
student. Times are UTC in the database, wall-clock in the school's zone here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import acl
from davserver import clock
from davserver.config import TextbookConfig
from davserver.errors import Forbidden, NotFound

from .calendar import next_due_day, student_service_ids
from .homework_models import HomeworkDone
from .models import Activity, ActivityKind, Lesson, TeachingService
from .reading import (
    NO_TEXTBOOK,
    Weeks,
    asked_monday,
    readable_activities,
    reader_of,
    weeks_of,
)
from .trash import is_trashed

ONLY_STUDENTS = "Seul l'élève coche son travail comme fait."
NOT_YOUR_CHILD = "Cet élève n'est pas l'un de vos enfants."
NO_HOMEWORK = "Ce travail à faire n'existe pas."


@dataclass(frozen=True)
class HomeworkItem:
    """One homework of the list: ``due`` the due lesson's start (school's zone),
    ``done_at`` when the student ticked it (UTC) or None."""

    activity: Activity
    due: datetime
    subject: str
    done_at: datetime | None


@dataclass
class HomeworkWeek:
    """What a student or a parent reads for one week: its Monday and zone, whose view
    it is (``student_id``; for a parent, ``children`` as (id, login) and the chosen
    one), the homework due that week by due date, and the week's days of that
    student for the calendar (:data:`.reading.Weeks`, one entry)."""

    monday: date
    tz: ZoneInfo
    student_id: int | None
    children: list[tuple[int, str]] = field(default_factory=list)
    items: list[HomeworkItem] = field(default_factory=list)
    weeks: Weeks = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    """For a parent: each child's name (:func:`acl.names_of`) by login; pages show
    names, the login stays the key of ``?enfant=``."""
    next_due: date | None = None
    """With ``open_on_next``: the day of the next homework due that the week was opened
    on (None: nothing due from today, the current week is shown)."""
    school_id: int | None = None
    """The school the week is read in (:func:`.reading.week_school`: the children's,
    whose zone and holidays apply), not the one chosen in the frame."""

    @property
    def done_ids(self) -> set[int]:
        """Ids of the homework of :attr:`items` the student ticked."""
        return {i.activity.id for i in self.items if i.done_at is not None}


def chosen_child(session: Session, parent_id: int, asked: str | None) -> \
        tuple[int | None, list[tuple[int, str]]]:
    """The parent's child whose view is shown: the one of login ``asked``, else the
    first; and all their children as (id, login), by login. ``Forbidden`` (403) for
    a login that is not one of their children, whoever it is."""
    ids = acl.children_of(session, parent_id)
    names = acl.logins_of(session, set(ids))
    children = sorted(((i, names.get(i, "")) for i in ids), key=lambda c: c[1])
    if asked is None or asked == "":
        return (children[0][0] if children else None), children
    for child_id, login in children:
        if login == asked:
            return child_id, children
    raise Forbidden(NOT_YOUR_CHILD)


def done_times(session: Session, student_id: int,
               activity_ids: Sequence[int]) -> dict[int, datetime]:
    """When ``student_id`` ticked each of ``activity_ids`` (UTC), ticked ones only;
    one query."""
    if not activity_ids:
        return {}
    rows = session.execute(select(HomeworkDone.activity_id, HomeworkDone.done_at)
                           .where(HomeworkDone.student_id == student_id,
                                  HomeworkDone.activity_id.in_(activity_ids)))
    return {a: t for a, t in rows}


def homework_week(session: Session, principal: acl.Principal, asked: str | None,
                  settings: TextbookConfig | None, child: str | None = None, *,
                  open_on_next: bool = False) -> HomeworkWeek:
    """The homework a student (or a parent, for the child of login ``child``, else the
    first) reads in the week holding ``asked`` (``AAAA-MM-JJ``, today when None), by
    due date, with the student's ticks. ``open_on_next`` and no ``asked``: the week
    of the next homework due from today on (:func:`.calendar.next_due_day`; issue 20,
    « Travail à faire » on a Sunday shows Monday's work), else this week. Raises
    ``Forbidden`` for a profile other than student and parent or another family's
    child, ``BadRequest`` for a bad date."""
    student_id: int | None
    children: list[tuple[int, str]] = []
    if principal.profile is acl.Profile.student:
        student_id = principal.id
    elif principal.profile is acl.Profile.parent:
        student_id, children = chosen_child(session, principal.id, child)
    else:
        raise Forbidden(str(NO_TEXTBOOK))
    next_due = None
    if open_on_next and not asked and student_id is not None:
        service_ids = student_service_ids(session, student_id)
        _, zone = asked_monday(session, service_ids, None)
        next_due = next_due_day(session, service_ids, student_id, clock.today(zone), zone,
                                settings)
        asked = next_due.isoformat() if next_due else None
    monday, tz, weeks, school_id = weeks_of(session, principal, asked, settings)
    if children:
        login = dict(children).get(student_id or 0)
        weeks = [w for w in weeks if w[0] == login]
    rows = [row for _, days in weeks for day in days for row in day.due]
    done = done_times(session, student_id, [r.activity.id for r in rows]) \
        if student_id is not None else {}
    names = acl.names_of(session, {i for i, _ in children})
    return HomeworkWeek(monday, tz, student_id, children,
                        [HomeworkItem(r.activity, r.due, r.subject, done.get(r.activity.id))
                         for r in rows], weeks,
                        {login: names.get(i, login) for i, login in children}, next_due,
                        school_id)


def _readable_homework(session: Session, principal: acl.Principal, activity_id: int,
                       settings: TextbookConfig | None) -> Activity:
    """The homework if the student ``principal`` reads it (rules of :mod:`.reading`),
    else ``NotFound``: a homework they cannot read does not exist for them (STYLE.md
    habit 12), whether another class's or aimed at other students."""
    activity = session.get(Activity, activity_id)
    if activity is None or activity.kind is not ActivityKind.homework:
        raise NotFound(NO_HOMEWORK)
    lesson = session.get_one(Lesson, activity.lesson_id)
    if is_trashed(session, lesson.id):
        raise NotFound(NO_HOMEWORK)
    try:
        reader = reader_of(session, principal, lesson)
    except NotFound:
        raise NotFound(NO_HOMEWORK) from None
    if activity not in readable_activities(session, lesson, reader, settings):
        raise NotFound(NO_HOMEWORK)
    return activity


def set_done(session: Session, principal: acl.Principal, activity_id: int, done: bool,
             settings: TextbookConfig | None = None) -> datetime | None:
    """Tick (``done``) or untick a homework for the signed-in student; idempotent.
    Returns the tick's time (UTC) or None. Raises ``Forbidden`` (403) for anyone but a
    student (a parent reads the ticks, never sets them), ``NotFound`` (404) for a
    homework the student does not read (unknown, another class's, aimed at others,
    not visible yet); nothing saved then."""
    if principal.profile is not acl.Profile.student:
        raise Forbidden(ONLY_STUDENTS)
    activity = _readable_homework(session, principal, activity_id, settings)
    row = session.get(HomeworkDone, (activity.id, principal.id))
    if not done:
        if row is not None:
            session.delete(row)
            session.flush()
        return None
    if row is None:
        row = HomeworkDone(activity_id=activity.id, student_id=principal.id,
                           done_at=clock.now())
        try:
            with session.begin_nested():  # a tick from another tab may land first
                session.add(row)
        except IntegrityError:
            row = session.get_one(HomeworkDone, (activity.id, principal.id))
    return row.done_at


def done_counts(session: Session, activities: Sequence[Activity]) -> dict[int, tuple[int, int]]:
    """For each homework of ``activities`` (one lesson's, or any): (how many of the
    students it is aimed at ticked it, how many it is aimed at): its chosen students,
    else the students of the service's class or group today. Content is left out."""
    counts: dict[int, tuple[int, int]] = {}
    members: dict[int, set[int]] = {}
    for activity in activities:
        if activity.kind is not ActivityKind.homework:
            continue
        aimed = {t.id for t in activity.targets}
        if not aimed:
            service_id = session.get_one(Lesson, activity.lesson_id).service_id
            if service_id not in members:
                group = session.get_one(TeachingService, service_id).group_id
                members[service_id] = {p.id for p in acl.members_of(
                    session, group, acl.Profile.student)}
            aimed = members[service_id]
        ticked = set(session.scalars(select(HomeworkDone.student_id)
                                     .where(HomeworkDone.activity_id == activity.id)))
        counts[activity.id] = (len(ticked & aimed), len(aimed))
    return counts
