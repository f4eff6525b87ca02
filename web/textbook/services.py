"""Teaching services, the school year and lessons: the rules of the textbook's calendar.

Lessons come from the timetable import (:mod:`web.textbook.timetable`) or are made
one by one by hand (:func:`create_lesson`, "Nouvelle séance"). Wall-clock times are in the
school's time zone (:attr:`SchoolYear.time_zone`); stored times are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver.errors import BadRequest

from .models import Holiday, Lesson, LessonSource, SchoolYear, TeachingService


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


def in_holidays(day: date, holidays: Sequence[Period]) -> bool:
    return any(p.start <= day <= p.end for p in holidays)


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
