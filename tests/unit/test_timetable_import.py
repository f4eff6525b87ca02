"""Timetable import (``web.textbook.read_timetable`` + ``import_timetable``) on a real
database, with the samples ``tests/data/timetable.csv`` and ``timetable.ics``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import acl
from davserver.db import Database
from davserver.errors import BadRequest
from web import textbook
from web.textbook import Lesson, Week

DATA = Path(__file__).resolve().parent.parent / "data"
PARIS = ZoneInfo("Europe/Paris")
HOLIDAYS = [textbook.Period(*p) for p in textbook.read_holidays(
    (DATA / "holidays.ics").read_bytes())]


@pytest.fixture
def session(db: Database) -> Session:
    with db.transaction() as s:
        yield s  # type: ignore[misc]


def school(s: Session) -> tuple[int, textbook.SchoolYear]:
    """A school with 4B, teachers m.dupont and c.bernard, student lea, year 2025-2026."""
    school_id = acl.ensure_school(s, "Collège Test")
    acl.ensure_group(s, school_id, "4B")
    for login, profile in (("m.dupont", "teacher"), ("c.bernard", "teacher"),
                           ("lea", "student")):
        acl.create_user(s, login, "secret-password-1", profile)
    return school_id, textbook.set_school_year(s, school_id, date(2025, 9, 1),
                                               date(2026, 7, 4))


def run(s: Session, name: str, strict: bool = False) -> textbook.TimetableReport:
    school_id, year = school(s)
    timetable = textbook.read_timetable((DATA / name).read_bytes(), name)
    return textbook.import_timetable(s, timetable, school_id, year, HOLIDAYS, year.start,
                                     strict=strict)


def count(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(Lesson)) or 0


def test_csv_good_rows_imported_bad_rows_reported_by_line(session: Session) -> None:
    report = run(session, "timetable.csv")
    assert [(r.line, r.reason) for r in report.rejected] == [
        (5, "unknown class or group '4Z' (import people first)"),
        (6, "unknown teacher 'inconnu'"),
        (7, "weekday 'jour férié' is not a day name (lundi, Monday) or 1 to 7"),
        (8, "ends at 09:00, not after its start 10:00"),
    ]
    assert len(report.services) == 2  # 4B MATHS, 4B PHYS (A and B rows share it)
    assert report.lessons == count(session) == 36 + 36
    phys = session.scalars(select(textbook.TeachingService).join(acl.Subject).where(
        acl.Subject.code == "PHYS")).one()
    assert [t.login for t in phys.teachers] == ["c.bernard", "m.dupont"]


def test_csv_again_creates_nothing(session: Session) -> None:
    run(session, "timetable.csv")
    school_id = acl.ensure_school(session, "Collège Test")
    year = textbook.current_school_year(session, school_id)
    assert year is not None
    timetable = textbook.read_timetable((DATA / "timetable.csv").read_bytes(), "t.csv")
    again = textbook.import_timetable(session, timetable, school_id, year, HOLIDAYS,
                                      year.start)
    assert (again.lessons, count(session)) == (0, 72)


def test_strict_imports_nothing_when_a_row_is_bad(session: Session) -> None:
    report = run(session, "timetable.csv", strict=True)
    assert not report.applied and len(report.rejected) == 4
    assert count(session) == 0
    assert session.scalar(select(func.count()).select_from(textbook.TeachingService)) == 0


def test_ics_events_taken_as_given(session: Session) -> None:
    report = run(session, "timetable.ics")
    assert [(r.line, r.reason) for r in report.rejected] == [
        (23, "no 'Classe: …' line in DESCRIPTION"), (30, "RRULE is not FREQ=WEEKLY")]
    lessons = session.scalars(select(Lesson).order_by(Lesson.start)).all()
    maths = [x for x in lessons if x.room == "B12"]
    phys = [x for x in lessons if x.room == "Labo 1"]
    assert len(maths) == 16  # Mondays of Sept–Dec 2025, less two EXDATEs
    assert {x.start.astimezone(PARIS).hour for x in maths} == {8}
    assert [x.start.astimezone(PARIS).date() for x in phys] == [
        date(2025, 9, 9), date(2025, 9, 23), date(2025, 10, 7), date(2025, 10, 21)]
    assert {x.week for x in phys} == {Week.B}  # 9 Sept is in the year's second week


def test_a_file_without_required_columns_is_refused() -> None:
    with pytest.raises(BadRequest, match="missing column.*jour"):
        textbook.read_timetable(b"classe;matiere;professeur;debut;fin\n", "t.csv")
    with pytest.raises(BadRequest, match="not an iCalendar file"):
        textbook.read_timetable(b"BEGIN:VCALENDAR\r\nnonsense", "t.ics")


def test_a_student_is_not_a_teacher(session: Session) -> None:
    school_id, year = school(session)
    data = "classe;matiere;professeur;jour;debut;fin\n4B;MATHS;lea;1;8:00;9:00\n"
    report = textbook.import_timetable(session, textbook.read_timetable(data.encode(), "t"),
                                       school_id, year, [], year.start)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "'lea' is not a teacher (student)")]
