"""Lessons of a teaching service (``web.textbook``) on a real database: laid out from
a weekly course of the timetable for a known year with holidays (weeks A/B, public
holidays, DST, idempotence), and lessons made by hand.

Year 2025-2026 of zone C: 1 Sept 2025 to 4 July 2026, four holiday periods of two
weeks each (Toussaint, Noël, hiver, printemps). Mondays from 1 Sept to 29 June: 44,
of which 8 in holidays; Easter Monday (6 April) and Whit Monday (25 May) are public
holidays: 34 Monday lessons.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import acl
from davserver.db import Database
from davserver.errors import BadRequest
from web import textbook
from web.textbook import Lesson, Period, Week
from web.textbook.timetable import (
    Course,
    SchoolCalendar,
    Slot,
    TeacherRef,
    Timetable,
    Where,
    apply_timetable,
)

PARIS = ZoneInfo("Europe/Paris")
HOLIDAYS = [textbook.Period(*p) for p in textbook.read_holidays(
    (Path(__file__).resolve().parent.parent / "data" / "holidays.ics").read_bytes())]
HOUR = timedelta(hours=1)
MONDAY_8 = Slot(0, time(8), HOUR)


@pytest.fixture
def session(db: Database) -> Session:
    with db.transaction() as s:
        yield s  # type: ignore[misc]


def setup(s: Session) -> tuple[textbook.SchoolYear, textbook.TeachingService]:
    school = acl.ensure_school(s, "Collège Test")
    teacher = acl.create_user(s, "m.dupont", "secret-password-1", "teacher")
    service = textbook.ensure_service(s, school, acl.ensure_group(s, school, "4B"),
                                      acl.ensure_subject(s, school, "MATHS"), [teacher.id])
    year = textbook.set_school_year(s, school, date(2025, 9, 1), date(2026, 7, 4))
    return year, service


def lessons(s: Session, service: textbook.TeachingService) -> list[Lesson]:
    return list(s.scalars(select(Lesson).where(Lesson.service_id == service.id)
                          .order_by(Lesson.start)))


def lay(s: Session, year: textbook.SchoolYear, slots: list[tuple[Slot, str]],
        holidays: list[Period], anchor: date | None = None) -> textbook.TimetableReport:
    """Apply weekly courses of 4B MATHS (m.dupont) at ``slots`` (slot, room)."""
    courses = [Course(Where("t.csv", n), "MATHS", (TeacherRef.of_login("m.dupont"),), ("4B",),
                      room, slot=slot) for n, (slot, room) in enumerate(slots, 2)]
    calendar = SchoolCalendar.build(year.start, year.end, holidays, None, anchor)
    report = apply_timetable(s, Timetable("csv", "t.csv", courses), year.school_id, year,
                             calendar, date(2025, 8, 25))
    assert report.applied, report.rejected
    return report


def test_holidays_read_from_ics_end_on_the_last_day_off() -> None:
    assert HOLIDAYS[0] == Period("Vacances de la Toussaint", date(2025, 10, 18),
                                 date(2025, 11, 2))
    assert len(HOLIDAYS) == 4


def test_a_weekly_course_gives_every_monday_outside_holidays(session: Session) -> None:
    year, service = setup(session)
    report = lay(session, year, [(MONDAY_8, "B12")], HOLIDAYS)
    found = lessons(session, service)
    assert report.lessons_created == len(found) == 34
    days = [lesson.start.astimezone(PARIS).date() for lesson in found]
    assert all(d.weekday() == 0 and not textbook.in_holidays(d, HOLIDAYS) for d in days)
    assert days[0] == date(2025, 9, 1) and days[-1] == date(2026, 6, 29)
    assert date(2025, 10, 20) not in days and date(2025, 11, 3) in days
    assert date(2026, 4, 6) not in days and date(2026, 5, 25) not in days  # jours fériés
    assert {(lesson.room, lesson.source, lesson.status, lesson.week) for lesson in found} == {
        ("B12", textbook.LessonSource.timetable, textbook.LessonStatus.scheduled, None)}


def test_eight_o_clock_stays_eight_across_the_dst_change(session: Session) -> None:
    year, service = setup(session)
    lay(session, year, [(MONDAY_8, "B12")], [])
    session.expire_all()
    by_day = {lesson.start.astimezone(PARIS).date(): lesson for lesson in
              lessons(session, service)}
    october, november = by_day[date(2025, 10, 20)], by_day[date(2025, 10, 27)]
    assert october.start == datetime(2025, 10, 20, 6, tzinfo=UTC)  # CEST, UTC+2
    assert november.start == datetime(2025, 10, 27, 7, tzinfo=UTC)  # CET, UTC+1
    assert {lesson.start.astimezone(PARIS).time() for lesson in by_day.values()} == {time(8)}
    assert {lesson.end - lesson.start for lesson in by_day.values()} == {HOUR}


def test_weeks_a_and_b_alternate_over_school_weeks(session: Session) -> None:
    """Week A is the year's first week of classes; holiday weeks are neither A nor B,
    so the alternation resumes after them where it stopped."""
    year, service = setup(session)
    slot_a = Slot(1, time(10), HOUR, Week.A)
    slot_b = Slot(1, time(10), HOUR, Week.B)
    lay(session, year, [(slot_a, "Labo 1"), (slot_b, "Labo 2")], HOLIDAYS)
    found = lessons(session, service)
    assert len(found) == 35  # every school Tuesday, once; 11 November is a public holiday
    days = {lesson.start.astimezone(PARIS).date(): lesson for lesson in found}
    for lesson in found:
        assert lesson.room == ("Labo 1" if lesson.week is Week.A else "Labo 2")
    assert sum(lesson.week is Week.A for lesson in found) == 17  # 18 A weeks, less 11 Nov
    # The week before the Toussaint (14 Oct, the 7th school week) is A, the one after (4
    # Nov, the 8th) is B: the two holiday weeks do not count.
    assert days[date(2025, 10, 14)].week is Week.A
    assert days[date(2025, 11, 4)].week is Week.B
    assert days[date(2025, 11, 18)].week is Week.B and date(2025, 11, 11) not in days
    assert min(days) == date(2025, 9, 2) and days[date(2025, 9, 2)].week is Week.A


def test_week_a_anchored_on_a_named_day(session: Session) -> None:
    year, service = setup(session)
    lay(session, year, [(Slot(1, time(10), HOUR, Week.A), "Labo 1")], HOLIDAYS,
        anchor=date(2025, 9, 10))
    days = [lesson.start.astimezone(PARIS).date() for lesson in lessons(session, service)]
    assert days[:3] == [date(2025, 9, 9), date(2025, 9, 23), date(2025, 10, 7)]
    with pytest.raises(BadRequest, match="week without classes"):
        SchoolCalendar.build(year.start, year.end, HOLIDAYS, None, date(2025, 10, 22))


def test_laying_again_creates_nothing(session: Session) -> None:
    year, service = setup(session)
    first = lay(session, year, [(MONDAY_8, "B12")], HOLIDAYS)
    again = lay(session, year, [(MONDAY_8, "B12")], HOLIDAYS)
    assert (first.lessons_created, again.lessons_created, again.lessons_unchanged) == (
        34, 0, 34)
    assert session.scalar(select(func.count()).select_from(Lesson)) == 34


def test_a_manual_lesson_is_checked(session: Session) -> None:
    year, service = setup(session)
    start = datetime(2025, 11, 5, 13, tzinfo=PARIS)
    lesson = textbook.create_lesson(session, service, start, start.replace(hour=14), year,
                                    room="CDI", created_by=service.teachers[0].id)
    assert (lesson.source, lesson.start) == (textbook.LessonSource.manual,
                                             datetime(2025, 11, 5, 12, tzinfo=UTC))
    with pytest.raises(BadRequest, match="already has a lesson"):
        textbook.create_lesson(session, service, start, start.replace(hour=15), year)
    with pytest.raises(BadRequest, match="before or when it starts"):
        textbook.create_lesson(session, service, start.replace(hour=16),
                               start.replace(hour=15), year)
    with pytest.raises(BadRequest, match="outside the school year 2025-2026"):
        late = datetime(2026, 7, 6, 8, tzinfo=PARIS)
        textbook.create_lesson(session, service, late, late.replace(hour=9), year)
    with pytest.raises(BadRequest, match="time zone"):
        textbook.create_lesson(session, service, datetime(2025, 11, 6, 8),
                               datetime(2025, 11, 6, 9), year)


def test_a_school_year_must_end_after_it_starts(session: Session) -> None:
    school = acl.ensure_school(session, "Collège Test")
    with pytest.raises(BadRequest, match="before it starts"):
        textbook.set_school_year(session, school, date(2026, 7, 4), date(2025, 9, 1))
    with pytest.raises(BadRequest, match="unknown time zone"):
        textbook.set_school_year(session, school, date(2025, 9, 1), date(2026, 7, 4),
                                 "Europe/Nowhere")
