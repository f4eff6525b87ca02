"""Teaching services, the school year and lessons: the rules of the textbook's calendar.

Lessons come from a weekly timetable (:func:`generate_lessons`) or are made one by
one by hand (:func:`create_lesson`, "Nouvelle séance"). Wall-clock times are in the
school's time zone (:attr:`SchoolYear.time_zone`); stored times are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver.errors import BadRequest

from .models import Holiday, Lesson, LessonSource, SchoolYear, TeachingService, Week


@dataclass(frozen=True)
class WeeklySlot:
    """One line of a weekly timetable: ``weekday`` 0 (Monday) to 6, wall-clock
    ``start`` and ``end`` in the school's time zone, ``room``, and ``week`` A or B for
    a fortnightly lesson (None: every week)."""

    weekday: int
    start: time
    end: time
    room: str = ""
    week: Week | None = None


@dataclass(frozen=True)
class Period:
    """A holiday period, ``start`` and ``end`` dates both included."""

    name: str
    start: date
    end: date


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Paris``). Raises ``BadRequest`` if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRequest(f"unknown time zone {name!r}") from exc


def set_school_year(session: Session, school_id: int, start: date, end: date,
                    time_zone: str = "Europe/Paris") -> SchoolYear:
    """Create or update the school year labelled ``"{start.year}-{end.year}"``.

    Raises ``BadRequest`` when ``end`` is not after ``start``, the year is longer than
    a year, or the time zone is unknown."""
    if end <= start:
        raise BadRequest(f"school year ends ({end}) before it starts ({start})")
    if end - start > timedelta(days=366):
        raise BadRequest(f"school year from {start} to {end} is longer than a year")
    zone(time_zone)
    label = f"{start.year}-{end.year}"
    year = session.scalar(select(SchoolYear).where(SchoolYear.school_id == school_id,
                                                   SchoolYear.label == label))
    if year is None:
        year = SchoolYear(school_id=school_id, label=label)
        session.add(year)
    year.start, year.end, year.time_zone = start, end, time_zone
    session.flush()
    return year


def current_school_year(session: Session, school_id: int) -> SchoolYear | None:
    """The school's latest school year (by start date), or None."""
    return session.scalar(select(SchoolYear).where(SchoolYear.school_id == school_id)
                          .order_by(SchoolYear.start.desc()).limit(1))


def replace_holidays(session: Session, school_id: int, periods: Iterable[Period]) -> None:
    """Make ``periods`` the school's holidays (the earlier list is dropped).
    Raises ``BadRequest`` for a period that ends before it starts."""
    rows = []
    for p in periods:
        if p.end < p.start:
            raise BadRequest(f"holiday {p.name!r} ends ({p.end}) before it starts ({p.start})")
        rows.append(Holiday(school_id=school_id, name=p.name, start=p.start, end=p.end))
    for old in session.scalars(select(Holiday).where(Holiday.school_id == school_id)):
        session.delete(old)
    session.add_all(rows)
    session.flush()


def holidays_of(session: Session, school_id: int) -> list[Period]:
    """The school's holiday periods, by start date."""
    return [Period(h.name, h.start, h.end) for h in session.scalars(
        select(Holiday).where(Holiday.school_id == school_id).order_by(Holiday.start))]


def ensure_service(session: Session, school_id: int, group_id: int, subject_id: int,
                   teacher_ids: Iterable[int], label: str = "") -> TeachingService:
    """The teaching service of a group × subject (created if absent), with
    ``teacher_ids`` added to its teachers (never removed: co-teaching accumulates)."""
    service = session.scalar(select(TeachingService).where(
        TeachingService.group_id == group_id, TeachingService.subject_id == subject_id))
    if service is None:
        service = TeachingService(school_id=school_id, group_id=group_id,
                                  subject_id=subject_id, label=label)
        session.add(service)
    elif label:
        service.label = label
    known = {t.id for t in service.teachers}
    for user_id in teacher_ids:
        if user_id not in known:
            service.teachers.append(session.get_one(acl.User, user_id))
            known.add(user_id)
    session.flush()
    return service


def week_of(day: date, week_a_start: date) -> Week:
    """Week A or B of ``day``: weeks alternate from the week holding ``week_a_start``
    (week A), counting every calendar week, holidays included."""
    monday = week_a_start - timedelta(days=week_a_start.weekday())
    return Week.A if ((day - monday).days // 7) % 2 == 0 else Week.B


def in_holidays(day: date, holidays: Sequence[Period]) -> bool:
    return any(p.start <= day <= p.end for p in holidays)


def _slot_times(slot: WeeklySlot, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return (datetime.combine(day, slot.start, tz).astimezone(UTC),
            datetime.combine(day, slot.end, tz).astimezone(UTC))


def check_slot(slot: WeeklySlot) -> None:
    """Raises ``BadRequest`` for a weekday outside 0..6 or an end not after the start."""
    if not 0 <= slot.weekday <= 6:
        raise BadRequest(f"weekday {slot.weekday} is not 0 (Monday) to 6 (Sunday)")
    if slot.end <= slot.start:
        raise BadRequest(f"ends at {slot.end:%H:%M}, not after its start {slot.start:%H:%M}")


def generate_lessons(session: Session, service: TeachingService,
                     weekly_slots: Sequence[WeeklySlot], year: SchoolYear,
                     holidays: Sequence[Period], week_a_start: date) -> int:
    """Create the lessons of ``weekly_slots`` on every day of ``year`` (start and end
    included) outside ``holidays``, a slot of week A or B only in those weeks
    (:func:`week_of`). Times are wall-clock in ``year.time_zone``, stored in UTC, so a
    lesson at 08:00 is at 08:00 local on both sides of a DST change.

    Idempotent: a lesson of the service already starting at that time is kept as it
    is (moved or cancelled ones too). Returns the number of lessons created. Raises
    ``BadRequest`` for a bad slot (:func:`check_slot`)."""
    for slot in weekly_slots:
        check_slot(slot)
    tz = zone(year.time_zone)
    wanted: list[tuple[datetime, datetime, WeeklySlot]] = []
    day = year.start
    while day <= year.end:
        if not in_holidays(day, holidays):
            for slot in weekly_slots:
                if slot.weekday == day.weekday() and slot.week in (None,
                                                                   week_of(day, week_a_start)):
                    wanted.append((*_slot_times(slot, day, tz), slot))
        day += timedelta(days=1)
    return add_lessons(session, service, [(s, e, slot.room, slot.week) for s, e, slot in wanted])


def add_lessons(session: Session, service: TeachingService,
                lessons: Iterable[tuple[datetime, datetime, str, Week | None]],
                source: LessonSource = LessonSource.timetable) -> int:
    """Insert timetable lessons ``(start, end, room, week)`` (aware datetimes) that the
    service does not have yet at that start; returns how many were created."""
    existing = set(session.scalars(select(Lesson.start).where(
        Lesson.service_id == service.id)))
    created = 0
    for start, end, room, week in lessons:
        start = start.astimezone(UTC)
        if start in existing:
            continue
        existing.add(start)
        session.add(Lesson(service_id=service.id, start=start, end=end.astimezone(UTC),
                           room=room, week=week, source=source))
        created += 1
    session.flush()
    return created


def create_lesson(session: Session, service: TeachingService, start: datetime,
                  end: datetime, year: SchoolYear, *, room: str = "",
                  created_by: int | None = None) -> Lesson:
    """A single lesson made by hand ("Nouvelle séance"), ``start`` and ``end`` aware.

    Raises ``BadRequest`` for a naive time, an end not after the start, a lesson not
    inside ``year`` (its dates in the school's time zone), or a lesson of the service
    already starting then."""
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest("lesson times need a time zone")
    if end <= start:
        raise BadRequest(f"the lesson ends ({end:%Y-%m-%d %H:%M}) before or when it starts "
                         f"({start:%Y-%m-%d %H:%M})")
    tz = zone(year.time_zone)
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    if first < year.start or last > year.end:
        raise BadRequest(f"the lesson ({first}) is outside the school year {year.label} "
                         f"({year.start} to {year.end})")
    taken = session.scalar(select(Lesson.id).where(Lesson.service_id == service.id,
                                                   Lesson.start == start.astimezone(UTC)))
    if taken is not None:
        when = start.astimezone(tz)
        raise BadRequest(f"this service already has a lesson at {when:%Y-%m-%d %H:%M}")
    lesson = Lesson(service_id=service.id, start=start.astimezone(UTC),
                    end=end.astimezone(UTC), room=room, created_by=created_by,
                    source=LessonSource.manual)
    session.add(lesson)
    session.flush()
    return lesson
