"""``davserver demo`` fills the cahier de textes around the day it first runs (issue 20,
"The demo shows all of it"), at pinned clocks: a Tuesday in term, a Sunday evening and
the summer holidays. The demo runs as the README says (``davserver demo``, a real
server process); what it made is then read from its database and through its pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import acl
from davserver import clock
from davserver.config import load_config
from davserver.demo import create_demo, demo_password, demo_weeks, demo_year
from providers.models import Node
from tests.conftest import Server, drop_database, make_server
from tests.integration.test_demo import demo
from tests.web import WebClient
from web import textbook
from web.booking.models import Booking
from web.textbook.timetable import SchoolCalendar, public_holidays, zone_holidays


@contextmanager
def demo_site(tmp: Path) -> Iterator[tuple[Server, str]]:
    """The demo served (``davserver demo --port 0``); yields the server's database and
    files with the demo's base URL."""
    srv, dbname = make_server(tmp)
    try:
        with demo(srv) as (base, banner):
            assert "Cahier de textes (/textbook/)" in banner
            srv.port = int(base.rsplit(":", 1)[1])
            yield srv, base
    finally:
        drop_database(dbname)


def signed_in(srv: Server, login: str) -> WebClient:
    client = WebClient(srv)
    assert client.login(login, demo_password(login)).status_code == 302
    return client


def counts(srv: Server) -> tuple[int, ...]:
    with srv.transaction() as s:
        return tuple(s.scalar(select(func.count()).select_from(table)) or 0 for table in (
            textbook.Lesson, textbook.Activity, textbook.Visa, Booking, Node))


def lesson_days(srv: Server) -> list[date]:
    with srv.transaction() as s:
        return sorted({lesson.start.astimezone(textbook.zone("Europe/Paris")).date()
                       for lesson in s.scalars(select(textbook.Lesson))})


def test_the_year_follows_the_french_calendar() -> None:
    assert demo_year(date(2026, 12, 8)) == (date(2026, 9, 1), date(2027, 7, 4))
    assert demo_year(date(2027, 7, 4)) == (date(2026, 9, 1), date(2027, 7, 4))
    assert demo_year(date(2027, 7, 5)) == (date(2027, 9, 1), date(2028, 7, 4))
    assert demo_year(date(2026, 8, 31)) == (date(2026, 9, 1), date(2027, 7, 4))


def zone_c_calendar(start: date, end: date) -> SchoolCalendar:
    return SchoolCalendar.build(start, end, zone_holidays(start, end, "C"), "0999999F")


def test_school_weeks_skip_the_holidays_of_zone_c() -> None:
    """The demo's weeks are school weeks: around the Christmas holidays of zone C
    (19 December 2026 to 3 January 2027), the week before them and the rentrée's; in
    the summer, the first weeks of the coming year."""
    calendar = zone_c_calendar(date(2026, 9, 1), date(2027, 7, 4))
    noel = next(p for p in zone_holidays(date(2026, 9, 1), date(2027, 7, 4), "C")
                if p.name == "Vacances de Noël")
    assert (noel.start, noel.end) == (date(2026, 12, 19), date(2027, 1, 3))
    assert demo_weeks(date(2026, 12, 13), date(2026, 9, 1), calendar) == [
        date(2026, 11, 30), date(2026, 12, 7), date(2026, 12, 14), date(2027, 1, 4)]
    assert demo_weeks(date(2026, 12, 24), date(2026, 9, 1), calendar) == [
        date(2026, 12, 14), date(2027, 1, 4), date(2027, 1, 11)]
    assert demo_weeks(date(2026, 7, 20), date(2026, 9, 1), calendar) == [
        date(2026, 8, 31), date(2026, 9, 7), date(2026, 9, 14)]


def days_off(days: list[date]) -> list[date]:
    """The days of ``days`` that are public holidays or school holidays of zone C."""
    periods = zone_holidays(date(2026, 9, 1), date(2027, 7, 4), "C")
    public = public_holidays(date(2026, 9, 1), date(2027, 7, 4))
    return [d for d in days if d in public or any(p.start <= d <= p.end for p in periods)]


@pytest.mark.clock("2026-12-08T10:00 Europe/Paris")
def test_a_tuesday_in_term_shows_a_filled_week(tmp_path: Path) -> None:
    """Tuesday 8 December: lessons from 30/11 to 18/12 and in the week of 4/01 (the
    Christmas holidays between have none), contents and homework in those
    held, a homework handed in online, the next lessons booked, a visa up to Friday 4,
    two files of the club théâtre waiting; the teacher's week page and the student's
    homework show them. A second run makes nothing twice. About 30 s on a loaded 2-core
    machine: two demo runs, each making a school year, a timetable and weeks of lessons."""
    with demo_site(tmp_path) as (srv, _base):
        days = lesson_days(srv)
        # The week of 21 December is in the holidays: the fourth week is the rentrée's.
        assert days[0] == date(2026, 11, 30) and days[-1] == date(2027, 1, 8)
        assert days_off(days) == [] and date(2026, 12, 18) in days
        with srv.transaction() as s:
            year = textbook.current_school_year(s, acl.find_school(s, "0999999F"))
            assert year is not None and (year.start, year.end) == (date(2026, 9, 1),
                                                                   date(2027, 7, 4))
            acts = list(s.scalars(select(textbook.Activity)))
            homework = [a for a in acts if a.kind is textbook.ActivityKind.homework]
            contents = [a for a in acts if a.kind is textbook.ActivityKind.content]
            assert len(homework) == 3 and len(contents) == 5
            assert [a.title for a in homework if a.online_submission] == [
                "Rédaction : le portrait d'un personnage"]
            assert all(s.get_one(textbook.Lesson, a.lesson_id).start <= clock.now()
                       for a in acts)  # written in lessons already held
            assert "<strong>fraction</strong>" in next(
                a.body for a in contents if a.title == "Les fractions")
            visas = list(s.scalars(select(textbook.Visa)))
            assert [(v.until, acl.logins_of(s, {v.teacher_id})[v.teacher_id])
                    for v in visas] == [(date(2026, 12, 4), "m.dupont")]
            bookings = list(s.scalars(select(Booking)))
            assert len(bookings) == 2 and all(b.lesson_id for b in bookings)
            booked_lesson = next(b.lesson_id for b in bookings
                                 if b.resource.name == "Salle informatique 1")
            maths = next(a for a in homework if a.title == "Exercices 12 à 15 p. 48")
            due_lesson = maths.due_lesson_id
            pending = s.scalar(select(func.count(Node.id)).where(
                Node.published.is_(False)))
            assert pending == 2

        teacher = signed_in(srv, "m.dupont")
        # The lesson page says what is booked for it and what is due at it.
        page = teacher.get(f"/textbook/seances/{booked_lesson}").text
        assert "Réservé pour la séance" in page and "Salle informatique 1" in page
        page = teacher.get(f"/textbook/seances/{due_lesson}").text
        assert "Travail à faire pour cette séance" in page
        assert "Exercices 12 à 15 p. 48" in page
        week = teacher.get("/textbook/?week=2026-12-07")
        assert week.status_code == 200
        assert "4B" in week.text and "3A" in week.text and "Mathématiques" in week.text
        assert "salle B12" in week.text and "Salle informatique 1" in week.text  # booked
        assert "travaux donnés" in week.text and "contenu" in week.text  # the markers
        student = signed_in(srv, "lucas.petit")
        todo = student.get("/textbook/travail/")
        assert todo.status_code == 200
        assert "Exercices 12 à 15 p. 48" in todo.text
        assert "Rédaction : le portrait d" in todo.text

        before = counts(srv)
        create_demo(load_config(environ=srv.env))  # a second run makes nothing twice
        assert counts(srv) == before


@pytest.mark.clock("2026-12-13T18:00 Europe/Paris")
def test_a_sunday_evening_has_homework_due_on_monday(tmp_path: Path) -> None:
    """Sunday 13 December: the week of the 7th is all held, and the student's next
    homework is due at Monday's mathematics lesson, which « Travail à faire » opens on."""
    with demo_site(tmp_path) as (srv, _base):
        with srv.transaction() as s:
            maths = next(a for a in s.scalars(select(textbook.Activity))
                         if a.title == "Exercices 12 à 15 p. 48")
            due = s.get_one(textbook.Lesson, maths.due_lesson_id)
            given = s.get_one(textbook.Lesson, maths.lesson_id)
            paris = textbook.zone("Europe/Paris")
            assert given.start.astimezone(paris).date() == date(2026, 12, 10)  # Thursday
            assert due.start.astimezone(paris).date() == date(2026, 12, 14)  # Monday
        todo = signed_in(srv, "lucas.petit").get("/textbook/travail/")
        assert todo.status_code == 200 and "Exercices 12 à 15 p. 48" in todo.text


@pytest.mark.clock("2026-07-20T10:00 Europe/Paris")
def test_the_summer_holidays_prepare_the_rentree(tmp_path: Path) -> None:
    """20 July: the coming year (2026-2027); its lessons start at the rentrée, Tuesday
    1 September, nothing before it; the first lessons carry their prepared content and
    homework; no visa (nothing was held yet)."""
    with demo_site(tmp_path) as (srv, _base):
        days = lesson_days(srv)
        assert days[0] == date(2026, 9, 1)
        assert days[-1] == date(2026, 9, 18)
        with srv.transaction() as s:
            year = textbook.current_school_year(s, acl.find_school(s, "0999999F"))
            assert year is not None and year.label == "2026-2027"
            assert s.scalar(select(func.count(textbook.Visa.id))) == 0
            assert s.scalar(select(func.count(textbook.Activity.id))) == 6
        week = signed_in(srv, "c.bernard").get("/textbook/?week=2026-08-31")
        assert week.status_code == 200 and "4B" in week.text


@pytest.mark.clock("2026-12-24T10:00 Europe/Paris")
def test_in_the_christmas_holidays_the_rentree_week_is_filled(tmp_path: Path) -> None:
    """Thursday 24 December, in the Christmas holidays of zone C: no lesson in them;
    the week before them is held (contents, homework), and the week of Monday 4
    January, the next school week, is filled, with the homework due at its lessons.
    About 15 s: one demo run."""
    with demo_site(tmp_path) as (srv, _base):
        days = lesson_days(srv)
        assert days_off(days) == []
        assert not [d for d in days if date(2026, 12, 19) <= d <= date(2027, 1, 3)]
        assert {date(2026, 12, 14), date(2026, 12, 18)} <= set(days)
        assert {date(2027, 1, 4) + timedelta(days=n) for n in range(5)} <= set(days)
        with srv.transaction() as s:
            school = acl.find_school(s, "0999999F")
            names = {p.name for p in textbook.holidays_of(s, school)}
            assert {"Vacances de Noël", "Vacances d'hiver"} <= names
        week = signed_in(srv, "m.dupont").get("/textbook/?week=2027-01-04")
        assert week.status_code == 200 and "4B" in week.text and "3A" in week.text
        todo = signed_in(srv, "lucas.petit").get("/textbook/travail/")
        assert todo.status_code == 200 and "Exercices 12 à 15 p. 48" in todo.text


@pytest.mark.clock("2026-11-10T10:00 Europe/Paris")
def test_a_week_with_a_public_holiday_leaves_it_free(tmp_path: Path) -> None:
    """Tuesday 10 November: Wednesday 11 (Armistice) has no lesson; the other days of
    the week have theirs, and the week before (after the Toussaint) is filled. About
    15 s: one demo run."""
    with demo_site(tmp_path) as (srv, _base):
        days = lesson_days(srv)
        assert date(2026, 11, 11) not in days and days_off(days) == []
        assert {date(2026, 11, 9), date(2026, 11, 10), date(2026, 11, 12),
                date(2026, 11, 13)} <= set(days)
        assert days[0] == date(2026, 11, 2)  # the Monday after the Toussaint holidays
        week = signed_in(srv, "c.bernard").get("/textbook/?week=2026-11-09")
        assert week.status_code == 200 and "4B" in week.text
