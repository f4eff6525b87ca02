"""Booking from a séance (issue 6): "Réserver une ressource" books for the lesson's
time, all or nothing, linked to the lesson; when the lesson moves its bookings move if
the resource is free then, else they are cancelled with the reason; when it is
cancelled they are cancelled. Against a real server, on its database; the first step
also in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from lxml import html
from playwright.sync_api import Browser, expect
from sqlalchemy import select

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.test_web_booking import Api, new
from tests.integration.test_web_browser import browser, sign_in  # noqa: F401
from tests.web import WebClient, csrf_token
from web import booking, textbook

USERS = {"ann": "teacher", "bea": "teacher", "gest": "staff"}
PARIS = ZoneInfo("Europe/Paris")
MONDAY = date.today() + timedelta(days=14 - date.today().weekday())  # in 2 weeks
LESSONS: dict[str, int] = {}
ROOM, TABLETS = 1, 2


def at(day: int, hour: int) -> datetime:
    return datetime.combine(MONDAY + timedelta(days=day), time(hour), PARIS)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """ann teaches maths in 4B: lessons A (Monday 10:00), B (Tuesday 10:00), C
    (Wednesday 10:00), D (Thursday 10:00); domain "Salles": a room and 15 tablets."""
    with running_server(tmp_path_factory.mktemp("lessonbook"), users=USERS) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            year = textbook.set_school_year(s, school, date.today() - timedelta(days=60),
                                            date.today() + timedelta(days=200))
            ann = acl.find_user(s, "ann")
            assert ann is not None
            service = textbook.ensure_service(s, school, acl.ensure_group(s, school, "4B"),
                                              acl.ensure_subject(s, school, "MATHS"),
                                              [ann.id])
            for day, name in enumerate("ABCD"):
                LESSONS[name] = textbook.create_lesson(s, service, at(day, 10),
                                                       at(day, 11), year).id
        server.cli("booking", "domain", "add", "Salles", "--profile", "teacher",
                   "--manager", "gest")
        server.cli("booking", "resource", "add", "Salles", "Salle informatique", "--kind",
                   "place")
        server.cli("booking", "resource", "add", "Salles", "Tablettes", "--kind",
                   "equipment", "--quantity", "15")
        yield server


def linked(server: Server, lesson: str) -> list[tuple[int, str, datetime, str]]:
    """(resource, status, start, reason) of the bookings made for a lesson."""
    with server.transaction() as s:
        rows = s.scalars(select(booking.Booking).where(
            booking.Booking.lesson_id == LESSONS[lesson]).order_by(booking.Booking.id))
        return [(b.resource_id, b.status.value, b.start, b.refusal_reason) for b in rows]


def book_for(client: WebClient, lesson: str, **quantities: int) -> object:
    page = client.get(f"/booking/seances/{LESSONS[lesson]}")
    assert page.status_code == 200, page.text
    form = {"csrf_token": csrf_token(page.text), "purpose": "Séance de maths"}
    form.update({k: str(v) for k, v in quantities.items()})
    return client.post(f"/booking/seances/{LESSONS[lesson]}", form)


def signed(server: Server, login: str) -> WebClient:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def test_book_for_a_lesson_all_or_nothing_and_only_its_teachers(srv: Server) -> None:
    ann = signed(srv, "ann")
    page = html.fromstring(ann.get(f"/booking/seances/{LESSONS['A']}").text)
    free = [td.text_content().strip() for td in page.xpath("//td[@class='free-units']")]
    assert free == ["1 / 1", "15 / 15"]
    done = book_for(ann, "A", r1=1, r2=5)
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert [(r, st) for r, st, *_ in linked(srv, "A")] == [(ROOM, "confirmed"),
                                                          (TABLETS, "confirmed")]
    # Lesson B: bea holds 12 tablets then; asking for the room and 5 tablets books
    # nothing at all, and says which resource failed.
    bea = Api(srv, "bea")
    assert bea.post("/bookings", new(TABLETS, at(1, 10).isoformat(), at(1, 11).isoformat(),
                                     quantity=12)).status_code == 201
    refused = book_for(ann, "B", r1=1, r2=5)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "Tablettes" in refused.text  # type: ignore[attr-defined]
    assert linked(srv, "B") == []
    assert book_for(ann, "B").status_code == 400  # type: ignore[attr-defined]
    # Not bea's lesson.
    assert signed(srv, "bea").get(f"/booking/seances/{LESSONS['A']}").status_code == 403
    other = signed(srv, "bea")
    page_a = other.get("/booking/")
    assert other.post(f"/booking/seances/{LESSONS['A']}",
                      {"csrf_token": csrf_token(page_a.text), "r1": "1"}).status_code == 403


def move(client: WebClient, lesson: str, day: date, start: str, end: str) -> object:
    page = client.get(f"/textbook/seances/{LESSONS[lesson]}")
    assert page.status_code == 200, page.text
    return client.post(f"/textbook/seances/{LESSONS[lesson]}/deplacer",
                       {"csrf_token": csrf_token(page.text), "day": day.isoformat(),
                        "start": start, "end": end})


def test_bookings_follow_their_lesson(srv: Server) -> None:
    ann = signed(srv, "ann")
    assert book_for(ann, "C", r1=1).status_code == 303  # type: ignore[attr-defined]
    # Moved to a free hour: the booking moves with it.
    wednesday = MONDAY + timedelta(days=2)
    assert move(ann, "C", wednesday, "14:00", "15:00").status_code == 303  # type: ignore[attr-defined]
    (resource, status, start, _reason), = linked(srv, "C")
    assert (resource, status, start) == (ROOM, "confirmed", at(2, 14))
    page = ann.get(f"/textbook/seances/{LESSONS['C']}")
    assert "Séance déplacée" in page.text and "1 réservation(s)" in page.text

    # Moved onto an hour when bea holds the room: the lesson moves, the booking is
    # cancelled with the reason, and the room stays bea's.
    bea = Api(srv, "bea")
    assert bea.post("/bookings", new(ROOM, at(2, 16).isoformat(),
                                     at(2, 17).isoformat())).status_code == 201
    assert move(ann, "C", wednesday, "16:00", "17:00").status_code == 303  # type: ignore[attr-defined]
    (_r, status, _start, reason), = linked(srv, "C")
    assert status == "cancelled" and "Séance déplacée" in reason and "déjà" in reason

    # A cancelled lesson cancels its bookings; moving it afterwards is refused.
    assert book_for(ann, "D", r2=3).status_code == 303  # type: ignore[attr-defined]
    page = ann.get(f"/textbook/seances/{LESSONS['D']}")
    cancelled = ann.post(f"/textbook/seances/{LESSONS['D']}/annuler",
                         {"csrf_token": csrf_token(page.text)})
    assert cancelled.status_code == 303
    assert [(r, st, why) for r, st, _s, why in linked(srv, "D")] == [
        (TABLETS, "cancelled", "Séance annulée.")]
    thursday = MONDAY + timedelta(days=3)
    assert move(ann, "D", thursday, "14:00", "15:00").status_code == 303  # type: ignore[attr-defined]
    assert "annulée" in ann.get(f"/textbook/seances/{LESSONS['D']}").text
    with srv.transaction() as s:
        assert s.get_one(textbook.Lesson, LESSONS["D"]).start == at(3, 10)

    # Someone else's lesson: 403, nothing moves.
    bea_web = signed(srv, "bea")
    page = bea_web.get("/booking/")
    assert bea_web.post(f"/textbook/seances/{LESSONS['A']}/annuler",
                        {"csrf_token": csrf_token(page.text)}).status_code == 403
    with srv.transaction() as s:
        assert s.get_one(textbook.Lesson, LESSONS["A"]).status.value == "scheduled"


@pytest.mark.clients
def test_teacher_books_the_room_from_the_lesson_page_in_a_browser(
        srv: Server, browser: Browser) -> None:  # noqa: F811
    with srv.transaction() as s:
        service_id = s.get_one(textbook.Lesson, LESSONS["A"]).service_id
        service = s.get_one(textbook.TeachingService, service_id)
        year = textbook.current_school_year(s, service.school_id)
        LESSONS["E"] = textbook.create_lesson(s, service, at(4, 8), at(4, 9), year).id
    page = browser.new_context(base_url=srv.base_url).new_page()
    page.goto("/login")
    sign_in(page, "ann", PASSWORD)
    page.goto(f"/textbook/seances/{LESSONS['E']}")
    page.get_by_text("Réserver, déplacer ou annuler la séance").click()
    page.get_by_role("link", name="Réserver une ressource").click()
    page.get_by_label("Quantité de Salle informatique").fill("1")
    page.get_by_role("button", name="Réserver pour la séance").click()
    expect(page.get_by_text("1 ressource(s) réservée(s) pour la séance.")).to_be_visible()

    other = browser.new_context(base_url=srv.base_url).new_page()
    other.goto("/login")
    sign_in(other, "bea", PASSWORD)
    other.goto(f"/booking/ressources/{ROOM}?jour={at(4, 8).date().isoformat()}&heure=08:00")
    other.get_by_role("button", name="Réserver").click()
    expect(other.get_by_role("alert")).to_contain_text("déjà réservé")


def test_moving_a_lesson_is_refused_with_the_reason(srv: Server) -> None:
    """Issue 5's bad input: onto a time the class already has, into the past, outside
    the school year, or a lesson that already happened: refused, nothing moves."""
    with srv.transaction() as s:
        lesson = s.get_one(textbook.Lesson, LESSONS["A"])
        service = s.get_one(textbook.TeachingService, lesson.service_id)
        year = textbook.current_school_year(s, service.school_id)
        past = datetime.combine(date.today() - timedelta(days=7), time(9), PARIS)
        LESSONS["P"] = textbook.create_lesson(s, service, past, past + timedelta(hours=1),
                                              year).id
    ann = signed(srv, "ann")
    tuesday = MONDAY + timedelta(days=1)
    cases = [
        ("A", tuesday, "10:30", "11:30", "La classe a déjà une séance de 10:00 à 11:00"),
        ("A", date.today() - timedelta(days=1), "10:00", "11:00", "dans l'avenir"),
        ("A", date.today() + timedelta(days=300), "10:00", "11:00",
         "en dehors de l'année scolaire"),
        ("A", tuesday, "12:00", "11:00", "doit suivre son début"),
        ("P", tuesday, "14:00", "15:00", "déjà commencé"),
    ]
    for name, day, start, end, reason in cases:
        answer = move(ann, name, day, start, end)
        assert answer.status_code == 303  # type: ignore[attr-defined]
        page = ann.get(f"/textbook/seances/{LESSONS[name]}")
        assert reason in html.fromstring(page.text).text_content(), (name, day, reason)
    with srv.transaction() as s:
        assert s.get_one(textbook.Lesson, LESSONS["A"]).start == at(0, 10)
        assert s.get_one(textbook.Lesson, LESSONS["P"]).start == past


def test_new_lesson_by_hand(srv: Server) -> None:
    """"Nouvelle séance": in one of the teacher's services, in the future, inside the
    school year, not over another lesson of the class; then it is on the lesson page
    and can be booked for."""
    ann = signed(srv, "ann")
    form_page = ann.get("/textbook/seances/nouvelle")
    assert form_page.status_code == 200
    options = html.fromstring(form_page.text).xpath("//select[@name='service']/option")
    assert [o.text_content() for o in options] == ["4B — MATHS"]
    service = options[0].get("value")
    friday = MONDAY + timedelta(days=4)

    def create(day: date, start: str, end: str) -> object:
        return ann.post("/textbook/seances/nouvelle", {
            "csrf_token": csrf_token(form_page.text), "service": service,
            "day": day.isoformat(), "start": start, "end": end, "room": "B12"})

    clash = create(MONDAY, "10:30", "11:30")
    assert clash.status_code == 409  # type: ignore[attr-defined]
    assert "La classe a déjà une séance" in html.fromstring(clash.text).text_content()  # type: ignore[attr-defined]
    assert create(date.today() - timedelta(days=2), "10:00", "11:00").status_code == 400  # type: ignore[attr-defined]
    assert create(friday, "15:00", "14:00").status_code == 400  # type: ignore[attr-defined]
    made = create(friday, "15:00", "16:00")
    assert made.status_code == 303  # type: ignore[attr-defined]
    page = ann.get(made.headers["Location"])  # type: ignore[attr-defined]
    assert "Séance créée." in page.text and "salle B12" in page.text
    # bea teaches no service here: the page is refused.
    assert signed(srv, "bea").get("/textbook/seances/nouvelle").status_code == 403
