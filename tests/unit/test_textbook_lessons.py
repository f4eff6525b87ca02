"""Lessons of a teaching service (``web.textbook``) on a real database: generation from
a weekly timetable for a known year with holidays, weeks A/B, DST, idempotence, and
lessons made by hand.

Year 2025-2026 of zone C: 1 Sept 2025 to 4 July 2026, four holiday periods of two
weeks each (Toussaint, Noël, hiver, printemps). Mondays from 1 Sept to 29 June: 44,
of which 8 in holidays: 36 Monday lessons.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import acl
from davserver.db import Database
from davserver.errors import BadRequest
from web import textbook
from web.textbook import Lesson, Period, Week, WeeklySlot

PARIS = ZoneInfo("Europe/Paris")
HOLIDAYS = [textbook.Period(*p) for p in textbook.read_holidays(
    (Path(__file__).resolve().parent.parent / "data" / "holidays.ics").read_bytes())]
MONDAY_8 = WeeklySlot(0, time(8), time(9), "B12")


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


def test_holidays_read_from_ics_end_on_the_last_day_off() -> None:
    assert HOLIDAYS[0] == Period("Vacances de la Toussaint", date(2025, 10, 18),
                                 date(2025, 11, 2))
    assert len(HOLIDAYS) == 4


def test_a_weekly_slot_gives_every_monday_outside_holidays(session: Session) -> None:
    year, service = setup(session)
    created = textbook.generate_lessons(session, service, [MONDAY_8], year, HOLIDAYS,
                                        year.start)
    found = lessons(session, service)
    assert created == len(found) == 36
    days = [lesson.start.astimezone(PARIS).date() for lesson in found]
    assert all(d.weekday() == 0 and not textbook.in_holidays(d, HOLIDAYS) for d in days)
    assert days[0] == date(2025, 9, 1) and days[-1] == date(2026, 6, 29)
    assert date(2025, 10, 20) not in days and date(2025, 11, 3) in days
    assert {(lesson.room, lesson.source, lesson.status, lesson.week) for lesson in found} == {
        ("B12", textbook.LessonSource.timetable, textbook.LessonStatus.scheduled, None)}


def test_eight_o_clock_stays_eight_across_the_dst_change(session: Session) -> None:
    year, service = setup(session)
    textbook.generate_lessons(session, service, [MONDAY_8], year, [], year.start)
    session.expire_all()
    by_day = {lesson.start.astimezone(PARIS).date(): lesson for lesson in
              lessons(session, service)}
    october, november = by_day[date(2025, 10, 20)], by_day[date(2025, 10, 27)]
    assert october.start == datetime(2025, 10, 20, 6, tzinfo=UTC)  # CEST, UTC+2
    assert november.start == datetime(2025, 10, 27, 7, tzinfo=UTC)  # CET, UTC+1
    assert {lesson.start.astimezone(PARIS).time() for lesson in by_day.values()} == {time(8)}
    assert {lesson.end - lesson.start for lesson in by_day.values()} == {
        datetime(1, 1, 1, 9) - datetime(1, 1, 1, 8)}


def test_weeks_a_and_b_alternate_and_share_the_tuesdays(session: Session) -> None:
    year, service = setup(session)
    slot_a = WeeklySlot(1, time(10), time(11), "Labo 1", Week.A)
    slot_b = WeeklySlot(1, time(10), time(11), "Labo 2", Week.B)
    created = textbook.generate_lessons(session, service, [slot_a, slot_b], year, HOLIDAYS,
                                        date(2025, 9, 3))
    found = lessons(session, service)
    assert created == len(found) == 36  # every Tuesday outside holidays, once
    for lesson in found:
        day = lesson.start.astimezone(PARIS).date()
        expected = Week.A if ((day - date(2025, 9, 1)).days // 7) % 2 == 0 else Week.B
        assert lesson.week is expected
        assert lesson.room == ("Labo 1" if expected is Week.A else "Labo 2")
    assert sum(lesson.week is Week.A for lesson in found) == 18


def test_generating_again_creates_nothing(session: Session) -> None:
    year, service = setup(session)
    first = textbook.generate_lessons(session, service, [MONDAY_8], year, HOLIDAYS, year.start)
    again = textbook.generate_lessons(session, service, [MONDAY_8], year, HOLIDAYS, year.start)
    assert (first, again) == (36, 0)
    assert session.scalar(select(func.count()).select_from(Lesson)) == 36


def test_a_bad_slot_is_refused_and_creates_nothing(session: Session) -> None:
    year, service = setup(session)
    with pytest.raises(BadRequest, match="not after its start"):
        textbook.generate_lessons(session, service, [MONDAY_8, WeeklySlot(
            2, time(9), time(8))], year, HOLIDAYS, year.start)
    assert lessons(session, service) == []


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
