"""The teacher's week as a time grid (issue 20, "The week view"), in Chromium with the
school of :mod:`tests.integration.homework_kit`: hours down, days across, each lesson
placed by its times with its class and subject and the markers of its content and of
the homework given in it; on a phone the same week is a list that does not scroll
sideways. Both widths pass the axe check; screenshots are kept as the accessibility
test keeps them.

The school's calendar holds zone C's holidays (:func:`web.textbook.timetable
.zone_holidays`, as the demo's): a week in them names them in its heading and in each
holiday day's, for the teacher, the student and the head alike, and a lesson kept on
a holiday (ann's Monday 31 August, in « Vacances d'été ») still shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.homework_kit import SCHOOL, build_school, signed_in, uid
from tests.integration.test_web_accessibility import (
    axe_problems,
    browser,  # noqa: F401
    shots,
    sideways,
    signed_in_page,
)
from web import textbook
from web.textbook.timetable import zone_holidays

pytestmark = [pytest.mark.clock("2026-09-08T10:00 Europe/Paris"), pytest.mark.one_database,
              pytest.mark.clients]
IDS: dict[str, int] = {}
WEEK = "/textbook/?week=2026-09-07"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("week-grid")) as server:
        IDS.update(build_school(server))
        with server.transaction() as s:
            school = acl.find_school(s, SCHOOL)
            textbook.replace_holidays(s, school, zone_holidays(date(2026, 8, 24),
                                                               date(2027, 7, 4), "C"))
            IDS["ann"] = uid(s, "ann")
            # rose, of another school (without holidays), is one of ben's parents
            other = acl.ensure_school(s, "Lycée Victor Hugo")
            rose = acl.create_user(s, "rose", PASSWORD, "parent", school_id=other)
            acl.link_parent(s, rose.id, uid(s, "ben"))
            server.users["rose"] = PASSWORD
        yield server


def test_lessons_are_placed_by_day_and_hour(srv: Server, browser: Browser,  # noqa: F811
                                            tmp_path: Path) -> None:
    page = signed_in_page(srv, browser, "ann", "desktop")
    page.goto(WEEK)
    box = {name: page.locator(f".lesson[data-lesson='{IDS[name]}']").bounding_box()
           for name in ("M1", "C1", "C2", "M2", "M3")}
    assert all(b is not None for b in box.values())
    m1, c1, c2, m2, m3 = (box[n] for n in ("M1", "C1", "C2", "M2", "M3"))
    assert m1 and c1 and c2 and m2 and m3
    # Monday 08:00 and 10:00 in one column, two hours apart; Tuesday to the right.
    assert abs(m1["x"] - c1["x"]) < 1
    hour = (c1["y"] - m1["y"]) / 2
    assert 50 < hour < 100, hour  # one hour: four rows of 15 minutes
    assert m1["height"] == pytest.approx(hour, abs=hour * 0.1)  # 08:00–09:00
    assert c2["x"] > c1["x"] and c2["y"] == pytest.approx(c1["y"], abs=1)  # Tue 10:00
    assert m2["x"] > c2["x"] and m3["x"] > m2["x"] and m3["y"] == pytest.approx(m1["y"],
                                                                              abs=1)
    monday = page.locator(f".lesson[data-lesson='{IDS['M1']}']")
    expect(monday).to_contain_text("08:00–09:00")
    expect(monday).to_contain_text("MATHS · 4B")
    expect(monday.locator(".content-marker")).to_be_visible()
    expect(monday.locator(".homework-marker")).to_have_text("travaux donnés")
    expect(page.locator(f".lesson[data-lesson='{IDS['C2']}'] .homework-marker")) \
        .to_have_count(0)
    expect(page.locator(f".day[data-day='2026-09-09'] .homework-due"
                        f"[data-activity='{IDS['H1']}']")).to_contain_text("Exercices 1 p. 10")
    expect(page.locator(".holiday-label, .holiday-name, .day.holiday")).to_have_count(0)
    assert axe_problems(page) == []
    page.screenshot(path=str(shots(tmp_path) / "desktop-week-grid.png"), full_page=True)
    page.context.close()


def test_a_week_in_the_holidays_names_them(srv: Server, browser: Browser,  # noqa: F811
                                           tmp_path: Path) -> None:
    """The Christmas week: « Vacances de Noël » in the week's heading and in each of
    its six days' headings (their accessible names, what a screen reader announces);
    the week that starts them names the one day it holds; the first week of the year
    names « Vacances d'été » on Monday only, and the lesson kept that day shows."""
    page = signed_in_page(srv, browser, "ann", "desktop")
    page.goto("/textbook/?week=2026-12-21")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vacances de Noël")
    expect(page.locator(".day.holiday")).to_have_count(6)
    for day in ("lundi 21/12", "samedi 26/12"):
        expect(page.get_by_role("heading", level=3,
                                name=f"{day} Vacances de Noël")).to_be_visible()
    assert axe_problems(page) == []
    page.screenshot(path=str(shots(tmp_path) / "desktop-week-holidays.png"), full_page=True)
    # « Vacances de la Toussaint », the longest name, wraps in the day's heading at
    # 1366 px: every heading grows to show it whole, and the hours stay aligned.
    page.goto("/textbook/?week=2026-10-19")
    expect(page.locator(".day.holiday")).to_have_count(6)
    clipped = page.locator(".time-grid .day-head").evaluate_all(
        "hs => hs.filter(h => h.scrollHeight > h.clientHeight).map(h => h.textContent)")
    assert clipped == []
    tops = page.locator(".time-grid .slots").evaluate_all(
        "ss => ss.map(s => s.getBoundingClientRect().top)")
    assert len(tops) == 7 and max(tops) - min(tops) < 1, tops
    page.goto("/textbook/?week=2026-12-14")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Vacances de Noël le samedi 19/12")
    expect(page.locator(".day.holiday")).to_have_count(1)
    page.goto("/textbook/?week=2026-08-31")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Vacances d'été le lundi 31/08")
    monday = page.locator(".day[data-day='2026-08-31']")
    expect(monday).to_have_class(re.compile(r"\bholiday\b"))
    expect(monday.locator(f".lesson[data-lesson='{IDS['P0']}']")).to_be_visible()
    expect(page.locator(".day[data-day='2026-09-01']")).not_to_have_class(
        re.compile(r"\bholiday\b"))
    page.context.close()
    # The student's calendar, the list view and the head's reading of ann's week.
    student = signed_in(srv, "ben").get("/textbook/?week=2026-12-21").text
    assert student.count('class="holiday-name"') == 6 and "holiday-label" in student
    # A parent whose own school is another reads the child's school's holidays.
    parent = signed_in(srv, "rose").get("/textbook/?week=2026-12-21").text
    assert parent.count('class="holiday-name"') == 6 and "holiday-label" in parent
    listed = signed_in(srv, "ann").get("/textbook/?week=2026-08-31&vue=liste").text
    assert "<h3>lundi 31/08 <span class=\"holiday-name\">Vacances d&#39;été</span></h3>" \
        in listed
    head = signed_in(srv, "hugo").get(
        f"/textbook/controle/enseignants/{IDS['ann']}/?week=2026-12-21").text
    assert head.count('class="holiday-name"') == 6


def test_a_phone_gets_a_list(srv: Server, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    page = signed_in_page(srv, browser, "ann", "phone")
    page.goto(WEEK)
    m1 = page.locator(f".lesson[data-lesson='{IDS['M1']}']").bounding_box()
    c2 = page.locator(f".lesson[data-lesson='{IDS['C2']}']").bounding_box()
    assert m1 and c2
    assert c2["y"] > m1["y"] + m1["height"] and abs(c2["x"] - m1["x"]) < 2  # one column
    expect(page.locator(".time-grid .hours")).to_be_hidden()
    assert sideways(page) == 0
    assert axe_problems(page) == []
    page.screenshot(path=str(shots(tmp_path) / "phone-week-grid.png"), full_page=True)
    page.context.close()
