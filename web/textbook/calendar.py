"""The textbook's week (Monday–Saturday) and a class's homework workload.

Lessons are stored in UTC; a "day" or a "week" here is a wall-clock one in the
school's time zone (:attr:`SchoolYear.time_zone`), turned into a UTC range before
querying. Each figure is one query whatever the number of lessons or activities.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased

import acl
from davserver import clock
from davserver.config import TextbookConfig

from .models import (
    Activity,
    ActivityKind,
    Holiday,
    Lesson,
    LessonStatus,
    TeachingService,
    service_teachers,
)
from .oversight.models import activity_not_trashed, live_activity, not_trashed
from .services import current_school_year, zone
from .visibility import homework_visible, visible_condition

DEFAULT_ZONE = "Europe/Paris"
SCHOOL_DAYS = 6  # Monday to Saturday


@dataclass(frozen=True)
class WeekHolidays:
    """The school holidays in a week of the textbook: ``days``, each shown day that
    falls in a holiday period with the period's name (« Vacances de Noël »); and
    ``periods``, each period that shares a shown day with the week, as (name, its first
    and last shown days, whether it covers the week's Monday to Friday), by start."""

    days: dict[date, str] = field(default_factory=dict)
    periods: list[tuple[str, date, date, bool]] = field(default_factory=list)


def week_holidays(session: Session, school_id: int | None, monday: date) -> WeekHolidays:
    """The school's holiday periods (its calendar: ``davserver import holidays``, or
    the zone's computed by :func:`web.textbook.timetable.zone_holidays` for the demo)
    that share a day with the week of ``monday`` (Monday to Saturday,
    :data:`SCHOOL_DAYS`). Nothing for no school. One query. Lessons are not touched:
    a lesson kept in the holidays (a trip, a catch-up lesson) still shows."""
    if school_id is None:
        return WeekHolidays()
    last = monday + timedelta(days=SCHOOL_DAYS - 1)
    found = WeekHolidays()
    for name, start, end in session.execute(
            select(Holiday.name, Holiday.start, Holiday.end)
            .where(Holiday.school_id == school_id, Holiday.start <= last,
                   Holiday.end >= monday).order_by(Holiday.start, Holiday.id)):
        first_day, last_day = max(start, monday), min(end, last)
        for n in range((last_day - first_day).days + 1):
            found.days.setdefault(first_day + timedelta(days=n), name)
        whole = start <= monday and end >= monday + timedelta(days=4)
        found.periods.append((name, first_day, last_day, whole))
    return found


@dataclass(frozen=True)
class Workload:
    """Homework due: how many, and their estimated minutes (unknown counts 0)."""

    count: int
    minutes: int


def school_zone(session: Session, school_id: int | None) -> ZoneInfo:
    """The time zone of the school's current year, else Europe/Paris."""
    year = current_school_year(session, school_id) if school_id is not None else None
    return zone(year.time_zone if year is not None else DEFAULT_ZONE)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def utc_range(first: date, days: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC bounds of ``days`` wall-clock days from ``first`` (end excluded)."""
    return (datetime.combine(first, time(), tz).astimezone(UTC),
            datetime.combine(first + timedelta(days=days), time(), tz).astimezone(UTC))


def workload(session: Session, group_id: int, start: datetime, end: datetime) -> Workload:
    """Homework due at lessons of any subject of the group starting in
    [``start``, ``end``) (aware datetimes): one query."""
    row = session.execute(
        select(func.count(Activity.id), func.coalesce(func.sum(Activity.minutes), 0))
        .join(Lesson, Lesson.id == Activity.due_lesson_id)
        .join(TeachingService, TeachingService.id == Lesson.service_id)
        .where(TeachingService.group_id == group_id, Activity.kind == ActivityKind.homework,
               Lesson.start >= start, Lesson.start < end, live_activity())).one()
    return Workload(int(row[0] or 0), int(row[1] or 0))


def workload_day(session: Session, group_id: int, day: date, tz: ZoneInfo) -> Workload:
    """The group's homework due on ``day`` (wall-clock, school time zone)."""
    return workload(session, group_id, *utc_range(day, 1, tz))


def workload_week(session: Session, group_id: int, day: date, tz: ZoneInfo) -> Workload:
    """The group's homework due in the week (Monday to Sunday) holding ``day``."""
    return workload(session, group_id, *utc_range(monday_of(day), 7, tz))


@dataclass
class LessonRow:
    """A lesson in a week view, its times in the school's zone."""

    lesson: Lesson
    start: datetime
    end: datetime
    subject: str
    group: str
    activities: list[Activity] = field(default_factory=list)

    @property
    def has_content(self) -> bool:
        return any(a.kind is ActivityKind.content for a in self.activities)


@dataclass
class DueRow:
    """A homework in a week view, shown on the day of its due lesson."""

    activity: Activity
    due: datetime
    subject: str


@dataclass
class DayPlan:
    day: date
    lessons: list[LessonRow] = field(default_factory=list)
    due: list[DueRow] = field(default_factory=list)


def service_titles(session: Session,
                   services: Sequence[TeachingService]) -> dict[int, str]:
    """What pages call each service, by id: « Mathématiques · 4B », its subject and its
    class or group (issue 20: a lesson says which class and subject; a copy target is
    never « #2 »), whatever label an import gave it. Two queries."""
    subjects = acl.subject_names(session, {s.subject_id for s in services})
    groups = acl.group_names(session, {s.group_id for s in services})
    return {s.id: " · ".join(part for part in (subjects.get(s.subject_id, ""),
                                                groups.get(s.group_id, "")) if part)
            or s.label or f"#{s.id}" for s in services}


def teacher_service_ids(session: Session, user_id: int) -> list[int]:
    """Ids of the services ``user_id`` teaches."""
    return list(session.scalars(select(service_teachers.c.service_id)
                                .where(service_teachers.c.user_id == user_id)))


def student_service_ids(session: Session, student_id: int) -> list[int]:
    """Ids of the services of every class and group the student belongs to."""
    groups = acl.groups_of(session, student_id)
    if not groups:
        return []
    return list(session.scalars(select(TeachingService.id)
                                .where(TeachingService.group_id.in_(groups))))


def _aimed_at(student_id: int) -> ColumnElement[bool]:
    """Homework for the whole class, or whose targets include the student."""
    return or_(~Activity.targets.any(), Activity.targets.any(acl.User.id == student_id))


def week_plan(session: Session, service_ids: Sequence[int], monday: date, tz: ZoneInfo,
              *, student_id: int | None = None,
              settings: TextbookConfig | None = None) -> list[DayPlan]:
    """Monday–Saturday of the week from ``monday``: each day's lessons of
    ``service_ids`` with their activities, and the homework due that day.

    ``student_id`` given: the view of that student (or of their parent):
    cancelled lessons hidden, homework aimed at other students left out, and, with
    ``settings``, what does not show yet (:mod:`.visibility`) left out. Lessons in
    the corbeille are left out for everyone, and the homework given in them; homework
    due at one still shows on its day. Three queries, plus one for names."""
    days = [DayPlan(monday + timedelta(days=n)) for n in range(SCHOOL_DAYS)]
    start, end = utc_range(monday, SCHOOL_DAYS, tz)
    in_week = [Lesson.service_id.in_(service_ids), Lesson.start >= start, Lesson.start < end,
               not_trashed()]
    lesson_query = select(Lesson, TeachingService).join(TeachingService).where(*in_week)
    if student_id is not None:
        lesson_query = lesson_query.where(Lesson.status == LessonStatus.scheduled)
    found = session.execute(lesson_query.order_by(Lesson.start)).tuples().all()
    services = {s.id: s for _, s in found}
    due_lesson = aliased(Lesson)
    due_query = (select(Activity, due_lesson)
                 .join(due_lesson, due_lesson.id == Activity.due_lesson_id)
                 .where(due_lesson.service_id.in_(service_ids), due_lesson.start >= start,
                        due_lesson.start < end, Activity.kind == ActivityKind.homework,
                        live_activity()))
    if student_id is not None:
        due_query = due_query.where(_aimed_at(student_id))
        if settings is not None:
            due_query = due_query.where(homework_visible(clock.now()))
    due = session.execute(due_query.order_by(due_lesson.start, Activity.position)).tuples().all()
    for _, lesson in due:
        services.setdefault(lesson.service_id, session.get_one(TeachingService,
                                                               lesson.service_id))
    subjects = acl.subject_names(session, {s.subject_id for s in services.values()})
    groups = acl.group_names(session, {s.group_id for s in services.values()})
    rows = {}
    for lesson, service in found:
        local = lesson.start.astimezone(tz)
        rows[lesson.id] = LessonRow(lesson, local, lesson.end.astimezone(tz),
                                    subjects.get(service.subject_id, ""),
                                    groups.get(service.group_id, ""))
        days[local.weekday()].lessons.append(rows[lesson.id])
    _attach_activities(session, rows, student_id, settings)
    for activity, lesson in due:
        local = lesson.start.astimezone(tz)
        subject = subjects.get(services[lesson.service_id].subject_id, "")
        days[local.weekday()].due.append(DueRow(activity, local, subject))
    return days


def next_due_day(session: Session, service_ids: Sequence[int], student_id: int,
                 since: date, tz: ZoneInfo,
                 settings: TextbookConfig | None = None) -> date | None:
    """The first day from ``since`` (wall-clock, school's zone ``tz``) on which a
    homework the student reads is due, or None: what « Travail à faire » opens on
    (issue 20: on a Sunday, Monday's homework, not an empty week). The same homework
    as :func:`week_plan` shows the student (aimed at them, given in a lesson outside
    the corbeille, and, with ``settings``, showing already). One query."""
    if not service_ids:
        return None
    first, _ = utc_range(since, 1, tz)
    due_lesson = aliased(Lesson)
    query = (select(due_lesson.start)
             .select_from(Activity)
             .join(due_lesson, due_lesson.id == Activity.due_lesson_id)
             .where(due_lesson.service_id.in_(service_ids), due_lesson.start >= first,
                    Activity.kind == ActivityKind.homework, live_activity(),
                    _aimed_at(student_id)))
    if settings is not None:
        query = query.where(homework_visible(clock.now()))
    found = session.scalar(query.order_by(due_lesson.start).limit(1))
    return None if found is None else found.astimezone(tz).date()


def _attach_activities(session: Session, rows: dict[int, LessonRow],
                       student_id: int | None, settings: TextbookConfig | None) -> None:
    if not rows:
        return
    query = select(Activity).where(Activity.lesson_id.in_(rows), activity_not_trashed())
    if student_id is not None:
        query = query.where(or_(Activity.kind == ActivityKind.content,
                                _aimed_at(student_id)))
        if settings is not None:
            query = query.join(Lesson, Lesson.id == Activity.lesson_id).where(
                visible_condition(clock.now(), settings))
    by_lesson: dict[int, list[Activity]] = defaultdict(list)
    for activity in session.scalars(query.order_by(Activity.position, Activity.id)):
        by_lesson[activity.lesson_id].append(activity)
    for lesson_id, activities in by_lesson.items():
        rows[lesson_id].activities = activities
