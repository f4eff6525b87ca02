"""Booking from a séance (issue 6): "Réserver une ressource" books for the lesson's
time, all or nothing, linked to the lesson; when the lesson moves its bookings move if
the resource is free then, else they are cancelled with the reason; when it is
cancelled they are cancelled. Against a real server, on its database; the first step
also in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import html
from playwright.sync_api import Browser, expect
from sqlalchemy import select

import acl
from tests.conftest import PASSWORD, Server, running_server, school_today
from tests.integration.test_web_accessibility import shots
from tests.integration.test_web_booking import Api, new
from tests.integration.test_web_browser import browser, sign_in  # noqa: F401
from tests.web import WebClient, csrf_token
from web import booking, textbook

pytestmark = pytest.mark.time_sensitive  # dates relative to the clock

USERS = {"ann": "teacher", "bea": "teacher", "gest": "staff"}
PARIS = ZoneInfo("Europe/Paris")
MONDAY = school_today() + timedelta(days=14 - school_today().weekday())  # in 2 weeks
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
            year = textbook.set_school_year(s, school, school_today() - timedelta(days=60),
                                            school_today() + timedelta(days=200))
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
    """Post the picker of the lesson's page: ``r<id>=quantity`` picks resource ``id``
    (field ``pick``), with its quantity ``q<id>``."""
    page = client.get(f"/booking/seances/{LESSONS[lesson]}")
    assert page.status_code == 200, page.text
    form: list[tuple[str, str]] = [("csrf_token", csrf_token(page.text)),
                                   ("purpose", "Séance de maths")]
    for key, quantity in quantities.items():
        form += [("pick", key[1:]), (f"q{key[1:]}", str(quantity))]
    return client.post(f"/booking/seances/{LESSONS[lesson]}", form)


def signed(server: Server, login: str) -> WebClient:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def test_book_for_a_lesson_all_or_nothing_and_only_its_teachers(srv: Server) -> None:
    ann = signed(srv, "ann")
    page = html.fromstring(ann.get(f"/booking/seances/{LESSONS['A']}").text)
    free = [(o.get("value"), o.get("data-free")) for o in
            page.xpath("//select[@id='available']//option")]
    assert free == [("1", "1"), ("2", "15")]
    assert page.xpath("//select[@id='chosen']") and page.xpath("//input[@name='q2']")
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
    listed = [li.text_content() for li in html.fromstring(
        refused.text).xpath("//ul[@class='conflicts']/li")]  # type: ignore[attr-defined]
    assert listed == ["Tablettes : Il ne reste que 3 « Tablettes » sur 15 de libre(s) sur "
                      "ce créneau ; 5 demandé(s)."]
    assert linked(srv, "B") == []
    # The page shown again keeps the choice: both resources still picked.
    again = html.fromstring(refused.text)  # type: ignore[attr-defined]
    assert again.xpath("//option[@selected]/@value") == ["1", "2"]
    assert book_for(ann, "B").status_code == 400  # type: ignore[attr-defined]
    # Not bea's lesson.
    assert signed(srv, "bea").get(f"/booking/seances/{LESSONS['A']}").status_code == 403
    other = signed(srv, "bea")
    page_a = other.get("/booking/")
    assert other.post(f"/booking/seances/{LESSONS['A']}",
                      {"csrf_token": csrf_token(page_a.text), "r1": "1"}).status_code == 403


def new_lesson(server: Server, name: str, start: datetime, end: datetime,
               room: str = "") -> None:
    """Another lesson of ann's service, as ``LESSONS[name]``."""
    with server.transaction() as s:
        service_id = s.get_one(textbook.Lesson, LESSONS["A"]).service_id
        service = s.get_one(textbook.TeachingService, service_id)
        year = textbook.current_school_year(s, service.school_id)
        assert year is not None
        LESSONS[name] = textbook.create_lesson(s, service, start, end, year, room=room).id


def test_one_step_booking_reports_every_refusal_and_saves_nothing(srv: Server) -> None:
    """The room, 5 tablets and a projector for lesson F: bea holds the room and 12
    tablets then, so two of the three are refused, each named with its reason, and
    the free projector is not booked either. The lesson's room ("Salle informatique")
    starts in the chosen list."""
    srv.cli("booking", "resource", "add", "Salles", "Vidéoprojecteur", "--kind",
            "equipment")
    new_lesson(srv, "F", at(3, 14), at(3, 15), room="Salle informatique")
    bea = Api(srv, "bea")
    for resource, quantity in ((ROOM, 1), (TABLETS, 12)):
        assert bea.post("/bookings", new(resource, at(3, 14).isoformat(),
                                         at(3, 15).isoformat(),
                                         quantity=quantity)).status_code == 201
    new_lesson(srv, "G", at(3, 16), at(3, 17), room="salle informatique")
    ann = signed(srv, "ann")
    page = html.fromstring(ann.get(f"/booking/seances/{LESSONS['G']}").text)
    assert page.xpath("//select[@id='available']//option[@selected]/@value") == [str(ROOM)]
    refused = book_for(ann, "F", r1=1, r2=5, r3=1)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    tree = html.fromstring(refused.text)  # type: ignore[attr-defined]
    assert "2 ressource(s) ne peuvent pas être réservées" in tree.xpath(
        "string(//p[@class='error'])")
    listed = [li.text_content() for li in tree.xpath("//ul[@class='conflicts']/li")]
    assert [item.split(" : ")[0] for item in listed] == ["Salle informatique", "Tablettes"]
    assert "déjà réservé" in listed[0] and "Il ne reste que 3" in listed[1]
    assert linked(srv, "F") == []
    with srv.transaction() as s:
        assert s.query(booking.Booking).filter_by(resource_id=3).count() == 0
    # Without the refused ones, the rest is booked in one step.
    assert book_for(ann, "F", r2=3, r3=1).status_code == 303  # type: ignore[attr-defined]
    assert [(r, st) for r, st, *_ in linked(srv, "F")] == [(TABLETS, "confirmed"),
                                                          (3, "confirmed")]
    bad = ann.post(f"/booking/seances/{LESSONS['F']}", [
        ("csrf_token", csrf_token(ann.get("/booking/").text)), ("pick", "2"),
        ("q2", "beaucoup")])
    assert bad.status_code == 400 and "Quantité « beaucoup » invalide" in bad.text


def test_one_step_booking_in_the_json_api(srv: Server) -> None:
    """The same step in the API: every refusal listed (409), nothing booked; then the
    place and the equipment in one call (201); bea, not the lesson's teacher: 403."""
    new_lesson(srv, "H", at(0, 14), at(0, 15))
    bea = Api(srv, "bea")
    assert bea.post("/bookings", new(TABLETS, at(0, 14).isoformat(), at(0, 15).isoformat(),
                                     quantity=14)).status_code == 201
    ann = Api(srv, "ann")
    path = f"/lessons/{LESSONS['H']}/bookings"
    picks: list[dict[str, int]] = [{"resource_id": ROOM},
                                   {"resource_id": TABLETS, "quantity": 2}]
    body = {"resources": picks, "purpose": "TP"}
    refused = ann.post(path, body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["conflicts"] == [{
        "resource": "Tablettes", "reason": "Il ne reste que 1 « Tablettes » sur 15 de "
                                           "libre(s) sur ce créneau ; 2 demandé(s)."}]
    assert linked(srv, "H") == []
    assert ann.post(path, {"resources": []}).status_code == 400
    assert bea.post(path, {"resources": [{"resource_id": ROOM}]}).status_code == 403
    picks[1]["quantity"] = 1
    done = ann.post(path, body)
    assert done.status_code == 201, done.text
    assert [(b["resource_id"], b["quantity"]) for b in done.json()["bookings"]] == [
        (ROOM, 1), (TABLETS, 1)]
    assert [(r, st) for r, st, *_ in linked(srv, "H")] == [(ROOM, "confirmed"),
                                                          (TABLETS, "confirmed")]
    # Edited: a new purpose keeps the link to the lesson; another time leaves it.
    room_booking = done.json()["bookings"][0]["id"]
    assert ann.patch(f"/bookings/{room_booking}", {"purpose": "TP info"}).status_code == 200
    assert [r for r, *_ in linked(srv, "H")] == [ROOM, TABLETS]
    assert ann.patch(f"/bookings/{room_booking}", {
        "start": at(0, 16).isoformat(), "end": at(0, 17).isoformat()}).status_code == 200
    assert [r for r, *_ in linked(srv, "H")] == [TABLETS]


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


@pytest.mark.one_database  # a browser walk, checked over HTTP on both
@pytest.mark.clients
def test_teacher_books_the_room_from_the_lesson_page_in_a_browser(
        srv: Server, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    new_lesson(srv, "E", at(4, 8), at(4, 9))
    page = browser.new_context(base_url=srv.base_url).new_page()
    page.goto("/login")
    sign_in(page, "ann", PASSWORD)
    page.goto(f"/textbook/seances/{LESSONS['E']}")
    page.get_by_text("Réserver, déplacer ou annuler la séance").click()
    page.get_by_role("link", name="Réserver une ressource").click()
    # The two-list picker: pick the room and the tablets on the left, move them to
    # the right, take one back and add it again; only chosen sets ask a quantity.
    available, chosen = page.get_by_label("Ressources disponibles"), \
        page.get_by_label("Ressources choisies")
    expect(page.get_by_label("Quantité de Tablettes")).to_be_hidden()
    available.select_option([str(ROOM), str(TABLETS)])
    page.get_by_role("button", name="Ajouter →").click()
    expect(chosen.locator("option")).to_have_count(2)
    chosen.select_option(str(TABLETS))
    page.get_by_role("button", name="← Retirer").click()
    expect(chosen.locator("option")).to_have_count(1)
    available.select_option(str(TABLETS))
    page.get_by_role("button", name="Ajouter →").click()
    page.get_by_label("Quantité de Tablettes").fill("4")
    shot = shots(tmp_path) / "booking-lesson-picker.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 5000
    page.get_by_role("button", name="Réserver pour la séance").click()
    expect(page.get_by_text("2 ressource(s) réservée(s) pour la séance.")).to_be_visible()
    assert [(r, st) for r, st, *_ in linked(srv, "E")] == [(ROOM, "confirmed"),
                                                          (TABLETS, "confirmed")]

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
        assert year is not None
        past = datetime.combine(school_today() - timedelta(days=7), time(9), PARIS)
        LESSONS["P"] = textbook.create_lesson(s, service, past, past + timedelta(hours=1),
                                              year).id
    ann = signed(srv, "ann")
    tuesday = MONDAY + timedelta(days=1)
    cases = [
        ("A", tuesday, "10:30", "11:30", "La classe a déjà une séance de 10:00 à 11:00"),
        ("A", school_today() - timedelta(days=1), "10:00", "11:00", "dans l'avenir"),
        ("A", school_today() + timedelta(days=300), "10:00", "11:00",
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
    assert [o.text_content() for o in options] == ["MATHS · 4B"]
    service = options[0].get("value")
    friday = MONDAY + timedelta(days=4)

    def create(day: date, start: str, end: str) -> object:
        return ann.post("/textbook/seances/nouvelle", {
            "csrf_token": csrf_token(form_page.text), "service": service,
            "day": day.isoformat(), "start": start, "end": end, "room": "B12"})

    clash = create(MONDAY, "10:30", "11:30")
    assert clash.status_code == 409  # type: ignore[attr-defined]
    assert "La classe a déjà une séance" in html.fromstring(clash.text).text_content()  # type: ignore[attr-defined]
    assert create(school_today() - timedelta(days=2), "10:00", "11:00").status_code == 400  # type: ignore[attr-defined]
    assert create(friday, "15:00", "14:00").status_code == 400  # type: ignore[attr-defined]
    made = create(friday, "15:00", "16:00")
    assert made.status_code == 303  # type: ignore[attr-defined]
    page = ann.get(made.headers["Location"])  # type: ignore[attr-defined]
    assert "Séance créée." in page.text and "salle B12" in page.text
    # bea teaches no service here: the page is refused.
    assert signed(srv, "bea").get("/textbook/seances/nouvelle").status_code == 403


def test_bookers_are_told_when_their_booking_follows_a_lesson(srv: Server) -> None:
    """bea, a second teacher of the service, moves a lesson ann booked the room for:
    ann is notified; a manager's unavailability period tells the booker too."""
    from web.notifications import Notification

    with srv.transaction() as s:
        lesson = s.get_one(textbook.Lesson, LESSONS["B"])
        service = s.get_one(textbook.TeachingService, lesson.service_id)
        bea = acl.find_user(s, "bea")
        assert bea is not None
        service.teachers.append(s.get_one(acl.User, bea.id))
    ann = signed(srv, "ann")
    assert book_for(ann, "B", r1=1).status_code == 303  # type: ignore[attr-defined]
    tuesday = MONDAY + timedelta(days=1)
    assert move(signed(srv, "bea"), "B", tuesday, "15:00", "16:00").status_code == 303  # type: ignore[attr-defined]
    srv.cli("booking", "unavailable", str(ROOM), "--from",
            f"{tuesday.isoformat()} 15:30", "--until", f"{tuesday.isoformat()} 17:00",
            "--reason", "Travaux", "--by", "gest")
    with srv.transaction() as s:
        ann_id = acl.find_user(s, "ann").id  # type: ignore[union-attr]
        told = [(n.kind.value, n.subject) for n in s.scalars(
            select(Notification).where(Notification.user_id == ann_id)
            .order_by(Notification.id))]
    assert told == [
        ("booking_changed", "Réservation de « Salle informatique » : déplacée avec la "
                            "séance."),
        ("booking_changed", "Réservation suspendue : Salle informatique")]
