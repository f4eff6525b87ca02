"""Applying a read timetable to a school (``davserver import timetable``).

Each entry names a class or group and teachers that must exist (``davserver import
people`` first) and a subject code (created if absent). Good entries get their
teaching service (created if absent, teachers added) and their lessons for the
school year; re-importing the same file creates nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver.errors import BadRequest

from ..models import SchoolYear, Week
from ..services import Period, add_lessons, ensure_service, generate_lessons, week_of, zone
from .entries import Entry, Rejected, TimetableFile


@dataclass
class TimetableReport:
    """What an import did: ``lessons`` created, ``services`` touched, ``rejected`` rows
    (the file's and those naming unknown people or groups), ``applied`` false when
    ``strict`` refused everything."""

    services: set[int] = field(default_factory=set)
    lessons: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    applied: bool = True


@dataclass(frozen=True)
class _Resolved:
    entry: Entry
    group_id: int
    teacher_ids: tuple[int, ...]


def _resolve(session: Session, school_id: int, entry: Entry) -> _Resolved:
    group_id = session.scalar(select(acl.Group.id).where(acl.Group.school_id == school_id,
                                                         acl.Group.name == entry.group))
    if group_id is None:
        raise BadRequest(f"unknown class or group {entry.group!r} (import people first)")
    ids = []
    for login in entry.teachers:
        teacher = acl.find_user(session, login)
        if teacher is None:
            raise BadRequest(f"unknown teacher {login!r}")
        if teacher.profile is not acl.Profile.teacher:
            raise BadRequest(f"{login!r} is not a teacher ({teacher.profile.value})")
        ids.append(teacher.id)
    return _Resolved(entry, group_id, tuple(ids))


def _lessons(session: Session, school_id: int, item: _Resolved, year: SchoolYear,
             holidays: Sequence[Period], week_a_start: date) -> tuple[int, int]:
    """(service id, lessons created) for one resolved entry."""
    entry = item.entry
    subject_id = acl.ensure_subject(session, school_id, entry.subject)
    service = ensure_service(session, school_id, item.group_id, subject_id, item.teacher_ids)
    if entry.slot is not None:
        return service.id, generate_lessons(session, service, [entry.slot], year, holidays,
                                            week_a_start)
    assert entry.times is not None
    found = entry.times.occurrences(year.start, year.end, zone(year.time_zone))
    week: Week | None = None
    if entry.times.fortnightly and found:
        week = week_of(found[0][0].astimezone(zone(year.time_zone)).date(), week_a_start)
    return service.id, add_lessons(session, service,
                                   [(s, e, entry.room, week) for s, e in found])


def import_timetable(session: Session, timetable: TimetableFile, school_id: int,
                     year: SchoolYear, holidays: Sequence[Period], week_a_start: date,
                     *, strict: bool = False) -> TimetableReport:
    """Import ``timetable`` into the school: CSV slots generate the year's lessons
    outside ``holidays`` (weeks A/B counted from ``week_a_start``); iCalendar events
    give their occurrences within the year as they are. With ``strict``, any rejected
    row means nothing is written (``applied`` false)."""
    report = TimetableReport(rejected=list(timetable.rejected))
    resolved = []
    for entry in timetable.entries:
        try:
            resolved.append(_resolve(session, school_id, entry))
        except BadRequest as exc:
            report.rejected.append(Rejected(entry.line, exc.message))
    report.rejected.sort(key=lambda r: r.line)
    if strict and report.rejected:
        report.applied = False
        return report
    for item in resolved:
        service_id, created = _lessons(session, school_id, item, year, holidays, week_a_start)
        report.services.add(service_id)
        report.lessons += created
    return report
