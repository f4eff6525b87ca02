"""The day grid of a booking domain (issue 6): resources as columns, hours down the
side, free slots linking to a pre-filled form; and, in headless Chromium, a teacher
booking the computer room from it, a second teacher refused with the reason, a
manager validating a pending request (screenshots of the busy day and week grids)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from lxml import html
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD, Server, running_server, school_today
from tests.integration.test_web_accessibility import shots
from tests.integration.test_web_booking import Api, new
from tests.integration.test_web_browser import browser, sign_in  # noqa: F401
from tests.web import WebClient

pytestmark = pytest.mark.time_sensitive  # dates relative to the clock

USERS = {"ann": "teacher", "bea": "teacher", "ben": "student", "gest": "staff"}
MONDAY = school_today() + timedelta(days=14 - school_today().weekday())  # in 2 weeks


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Domain "Salles" (teachers book, gest manages): a computer room, 15 tablets on
    validation."""
    with running_server(tmp_path_factory.mktemp("grid"), users=USERS) as server:
        server.cli("booking", "domain", "add", "Salles", "--profile", "teacher",
                   "--manager", "gest", "--opens", "08:00", "--closes", "12:00")
        server.cli("booking", "resource", "add", "Salles", "Salle informatique",
                   "--kind", "place")
        server.cli("booking", "resource", "add", "Salles", "Tablettes", "--kind",
                   "equipment", "--quantity", "15", "--validation")
        yield server


def grid_of(client: WebClient, day: date) -> html.HtmlElement:
    page = client.get(f"/booking/domaines/1?jour={day.isoformat()}")
    assert page.status_code == 200, page.text
    return html.fromstring(page.text)


def cell(tree: html.HtmlElement, hour: str, column: int) -> html.HtmlElement:
    row = tree.xpath(f"//table[contains(@class, 'domain-grid')]//tr[th='{hour}']")[0]
    return row.xpath("td")[column]


def test_day_grid_shows_each_resource_and_links_free_slots(srv: Server) -> None:
    ann = Api(srv, "ann")
    at = lambda h: datetime.combine(MONDAY, time(h)).isoformat()  # noqa: E731
    assert ann.post("/bookings", new(1, at(9), at(10))).status_code == 201
    assert ann.post("/bookings", new(2, at(9), at(10), quantity=5)).status_code == 201

    client = WebClient(srv)
    assert client.login("bea", PASSWORD).status_code == 302
    tree = grid_of(client, MONDAY)
    headers = [h.text_content().strip() for h in tree.xpath("//thead//th")][1:]
    assert headers == ["Salle informatique", "Tablettes (15)"]
    assert [th.text for th in tree.xpath("//tbody//th")] == ["08:00", "09:00", "10:00",
                                                           "11:00"]
    room, tablets = cell(tree, "09:00", 0), cell(tree, "09:00", 1)
    assert "busy" in room.get("class") and "réservé" in room.text_content()
    assert "partly" in tablets.get("class") and "10 libre(s)" in tablets.text_content()
    free = cell(tree, "10:00", 0)
    assert "free" in free.get("class")
    assert free.xpath("a/@href")[0] == (f"/booking/ressources/1?jour={MONDAY.isoformat()}"
                                        "&heure=10:00")
    # The next open day after Friday is Monday.
    friday = MONDAY + timedelta(days=4)
    following = grid_of(client, friday).xpath("//nav[@class='week-nav']/a/@href")[1]
    assert following.endswith(f"jour={(friday + timedelta(days=3)).isoformat()}")


def test_day_grid_refusals(srv: Server) -> None:
    student = WebClient(srv)
    assert student.login("ben", PASSWORD).status_code == 302
    assert student.get("/booking/domaines/1").status_code == 403
    teacher = WebClient(srv)
    assert teacher.login("bea", PASSWORD).status_code == 302
    assert teacher.get("/booking/domaines/99").status_code == 404
    bad = teacher.get("/booking/domaines/1?jour=31/12/2026")
    assert bad.status_code == 400 and "AAAA-MM-JJ" in bad.text
    assert WebClient(srv).get("/booking/domaines/1").status_code == 302  # sign in first


def _signed_in(browser: Browser, srv: Server, login: str) -> Page:  # noqa: F811
    page = browser.new_context(base_url=srv.base_url).new_page()
    page.goto("/login")
    sign_in(page, login, PASSWORD)
    return page


@pytest.mark.one_database  # a browser walk, checked over HTTP on both
@pytest.mark.clients
def test_book_from_the_grid_refused_then_validated_in_a_browser(
        srv: Server, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    day = MONDAY + timedelta(days=1)
    ann = _signed_in(browser, srv, "ann")
    ann.goto(f"/booking/domaines/1?jour={day.isoformat()}")
    ann.locator("table.domain-grid tr", has_text="11:00").locator("td").first \
        .get_by_role("link", name="libre").click()
    expect(ann.get_by_label("Date", exact=True)).to_have_value(day.isoformat())
    expect(ann.get_by_label("Début")).to_have_value("11:00")
    expect(ann.get_by_label("Fin")).to_have_value("12:00")  # the slot clicked
    ann.get_by_label("Motif").fill("Recherche documentaire 4B")
    ann.get_by_role("button", name="Réserver").click()
    expect(ann.get_by_text("Réservation confirmée.")).to_be_visible()

    bea = _signed_in(browser, srv, "bea")
    bea.goto(f"/booking/ressources/1?jour={day.isoformat()}&heure=11:00")
    bea.get_by_role("button", name="Réserver").click()
    expect(bea.get_by_role("alert")).to_contain_text("déjà")

    bea.goto(f"/booking/ressources/2?jour={day.isoformat()}&heure=11:00")
    bea.get_by_label("Quantité").fill("15")
    bea.get_by_role("button", name="Réserver").click()
    expect(bea.get_by_text("attend la validation")).to_be_visible()

    gest = _signed_in(browser, srv, "gest")
    gest.goto("/booking/validation")
    gest.get_by_role("checkbox").first.check()
    gest.get_by_role("button", name="Valider les demandes cochées").click()
    expect(gest.get_by_text("Demande(s) validée(s)")).to_be_visible()

    bea.goto(f"/booking/domaines/1?jour={day.isoformat()}")
    row = bea.locator("table.domain-grid tr", has_text="11:00")
    expect(row.locator("td.busy")).to_have_count(2)
    shot = shots(tmp_path) / "booking-domain-grid.png"
    bea.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 5000
    # The busy week of the computer room: the booked slots read "réservé".
    bea.goto(f"/booking/ressources/1?semaine={day.isoformat()}")
    expect(bea.locator("table.booking-grid td.busy")).not_to_have_count(0)
    week_shot = shots(tmp_path) / "booking-week-grid.png"
    bea.screenshot(path=str(week_shot), full_page=True)
    print(f"screenshot: {week_shot}")
