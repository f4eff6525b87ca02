"""Resource booking (issue 6) against a real server process: the JSON API under
``/api/booking/`` and the pages under ``/booking/``, on SQLite, or PostgreSQL with
``bash .ci/with-postgres``.

The quantity guarantee is raced for real: twenty clients (their own connections, the
session cookies of two teachers) book the same hour of a room at the same moment, over
several rounds; exactly one gets 201, the others 409 with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from lxml import html

import acl
from tests.conftest import PASSWORD, Server, running_server, school_today
from tests.integration.test_web_auth import assert_french
from tests.web import WebClient, csrf_token
from web import booking

pytestmark = pytest.mark.time_sensitive  # dates relative to the clock

USERS = {"ann": "teacher", "bea": "teacher", "ben": "student", "gest": "staff"}
PARIS = ZoneInfo("Europe/Paris")
MONDAY = school_today() + timedelta(days=14 - school_today().weekday())  # in 2 weeks


def when(day: int, hour: int, minute: int = 0, weeks: int = 0) -> str:
    """Wall-clock ISO time on weekday ``day`` (0 = Monday) of the test week."""
    moment = datetime.combine(MONDAY + timedelta(days=day, weeks=weeks), time(hour, minute))
    return moment.isoformat()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A school with domain "Salles" open to teachers, managed by ``gest`` (staff)."""
    with running_server(tmp_path_factory.mktemp("booking"), users=USERS) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            domain = booking.ResourceDomain(school_id=school, name="Salles", opens=time(8),
                                            closes=time(18), weekdays="01234",
                                            slot_minutes=60)
            domain.profiles.append(booking.DomainProfile(profile=acl.Profile.teacher))
            gest = acl.find_user(s, "gest")
            assert gest is not None
            domain.managers.append(s.get_one(acl.User, gest.id))
            s.add(domain)
        yield server


def add_resource(server: Server, **kw: Any) -> int:
    values: dict[str, Any] = {"kind": booking.ResourceKind.place, "name": "Salle info",
                              "quantity": 1}
    values.update(kw)
    with server.transaction() as s:
        domain = s.query(booking.ResourceDomain).one()
        resource = booking.Resource(domain_id=domain.id, **values)
        s.add(resource)
        s.flush()
        return resource.id


class Api:
    """A signed-in JSON client: session cookie, and the CSRF header on POSTs."""

    def __init__(self, server: Server, login: str | None = None,
                 cookies: Any = None, token: str = "") -> None:
        self.base = server.base_url + "/api/booking"
        self.http = requests.Session()
        self.token = token
        if cookies is not None:
            self.http.cookies.update(cookies)
        elif login is not None:
            client = WebClient(server)
            assert client.login(login, PASSWORD).status_code == 302
            self.http = client.http
            answer = self.get("/session")
            assert answer.status_code == 200, answer.text
            self.token = answer.json()["csrf_token"]

    def clone(self, server: Server) -> Api:
        """Another connection with the same session (a second browser tab), opened now:
        a race then starts on open connections rather than on the listen backlog."""
        other = Api(server, cookies=self.http.cookies, token=self.token)
        assert other.get("/session").status_code == 200
        return other

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, timeout=60)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.http.post(self.base + path, json=body, timeout=60,
                              headers={"X-CSRFToken": self.token})

    def patch(self, path: str, body: Any = None) -> requests.Response:
        return self.http.patch(self.base + path, json=body, timeout=60,
                               headers={"X-CSRFToken": self.token})


@pytest.fixture(scope="module")
def ann(srv: Server) -> Api:
    return Api(srv, "ann")


@pytest.fixture(scope="module")
def bea(srv: Server) -> Api:
    return Api(srv, "bea")


@pytest.fixture(scope="module")
def gest(srv: Server) -> Api:
    return Api(srv, "gest")


def new(resource: int, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"resource_id": resource, "start": start, "end": end, "purpose": "cours",
            **extra}


def race(clients: list[Api], body: dict[str, Any]) -> list[requests.Response]:
    answers: list[requests.Response] = []
    barrier = threading.Barrier(len(clients))

    def attempt(client: Api) -> None:
        barrier.wait()
        answers.append(client.post("/bookings", body))

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_twenty_clients_racing_for_a_room_get_one_success(srv: Server, ann: Api,
                                                          bea: Api) -> None:
    room = add_resource(srv, name="Salle course")
    clients = [(ann if i % 2 else bea).clone(srv) for i in range(20)]
    for hour in range(8, 14):
        answers = race(clients, new(room, when(1, hour), when(1, hour + 1)))
        codes = sorted(a.status_code for a in answers)
        assert codes == [201] + [409] * 19, [a.text for a in answers]
        assert {a.json()["error"] for a in answers if a.status_code == 409} == {
            f"« Salle course » est déjà réservé(e) sur ce créneau (mardi "
            f"{MONDAY + timedelta(days=1):%d/%m/%Y} {hour:02d}:00)."}
    with srv.transaction() as s:
        rows = s.query(booking.Booking).filter_by(resource_id=room).all()
        assert len(rows) == 6 and {b.status for b in rows} == {"confirmed"}


def test_tablets_raced_five_at_a_time_never_overbook(srv: Server, ann: Api,
                                                     bea: Api) -> None:
    tablets = add_resource(srv, kind=booking.ResourceKind.equipment, name="Tablettes",
                           quantity=15)
    clients = [(ann if i % 2 else bea).clone(srv) for i in range(10)]
    answers = race(clients, new(tablets, when(2, 9), when(2, 10), quantity=5))
    assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 7
    assert "Il ne reste que 0 « Tablettes » sur 15" in next(
        a.json()["error"] for a in answers if a.status_code == 409)


@pytest.mark.parametrize("limits,start,end,status,reason", [
    ({"active": False}, when(0, 10), when(0, 11), 422, "est désactivée"),
    ({}, when(0, 7), when(0, 9), 422, "En dehors des heures d'ouverture"),
    ({"max_duration": 60}, when(0, 9), when(0, 11), 422, "Réservation trop longue"),
    ({"max_notice": 3}, when(0, 9), when(0, 10), 422, "Trop tôt pour réserver"),
    ({}, when(0, 11), when(0, 10), 400, "après son début"),
    ({}, "12/05/2026 10h", when(0, 10), 400, "invalides pour start"),
    ({}, "9999-12-31T10:00", "9999-12-31T11:00", 400, "hors des dates prises en charge"),
])
def test_api_refusals_name_the_rule(srv: Server, ann: Api, limits: dict[str, Any],
                                    start: str, end: str, status: int, reason: str) -> None:
    resource = add_resource(srv, **limits)
    answer = ann.post("/bookings", new(resource, start, end))
    assert answer.status_code == status, answer.text
    assert reason in answer.json()["error"]
    with srv.transaction() as s:
        assert s.query(booking.Booking).filter_by(resource_id=resource).count() == 0


def test_per_user_limit_and_manager_over_the_rules(srv: Server, ann: Api,
                                                   gest: Api) -> None:
    resource = add_resource(srv, max_bookings=1)
    assert ann.post("/bookings", new(resource, when(3, 8), when(3, 9))).status_code == 201
    refused = ann.post("/bookings", new(resource, when(3, 10), when(3, 11)))
    assert refused.status_code == 422 and "c'est le maximum" in refused.json()["error"]
    late = gest.post("/bookings", new(resource, when(3, 17), when(3, 20)))  # after closing
    assert late.status_code == 201 and late.json()["status"] == "confirmed"
    over = gest.post("/bookings", new(resource, when(3, 8, 30), when(3, 9, 30)))
    assert over.status_code == 409


def test_anonymous_student_and_missing_csrf_token(srv: Server, ann: Api) -> None:
    resource = add_resource(srv)
    anonymous = requests.get(srv.base_url + "/api/booking/domains", timeout=30)
    assert anonymous.status_code == 401 and "Connectez-vous" in anonymous.json()["error"]
    anonymous = requests.post(srv.base_url + "/api/booking/bookings", timeout=30,
                              json=new(resource, when(4, 8), when(4, 9)))
    assert anonymous.status_code == 403  # no session, so no CSRF token either
    ben = Api(srv, "ben")
    assert ben.get("/domains").json() == []
    refused = ben.post("/bookings", new(resource, when(4, 8), when(4, 9)))
    assert refused.status_code == 403
    assert "Votre profil ne permet pas" in refused.json()["error"]
    page = WebClient(srv)
    page.http = ben.http
    assert page.get(f"/booking/ressources/{resource}").status_code == 403
    no_token = ann.http.post(srv.base_url + "/api/booking/bookings", timeout=30,
                             json=new(resource, when(4, 8), when(4, 9)))
    assert no_token.status_code == 403 and "X-CSRFToken" in no_token.json()["error"]
    with srv.transaction() as s:
        assert s.query(booking.Booking).filter_by(resource_id=resource).count() == 0


def test_series_conflicts_reported_then_skipped_then_cancelled(srv: Server, ann: Api,
                                                                bea: Api) -> None:
    resource = add_resource(srv)
    taken = bea.post("/bookings", new(resource, when(1, 10, weeks=2), when(1, 11, weeks=2)))
    assert taken.status_code == 201
    body = new(resource, when(1, 10), when(1, 11),
               repeat={"every_weeks": 1, "until": (MONDAY + timedelta(weeks=3)).isoformat()})
    refused = ann.post("/bookings", body)
    assert refused.status_code == 409, refused.text
    conflicts = refused.json()["conflicts"]
    assert len(conflicts) == 1 and "déjà réservé" in conflicts[0]["reason"]
    assert datetime.fromisoformat(conflicts[0]["start"]).astimezone(PARIS).date() == \
        MONDAY + timedelta(days=1, weeks=2)
    assert [b for b in ann.get("/bookings/mine").json() if b["resource_id"] == resource] == []
    body["repeat"]["on_conflict"] = "skip"
    done = ann.post("/bookings", body)
    assert done.status_code == 201, done.text
    assert len(done.json()["bookings"]) == 2 and len(done.json()["skipped"]) == 1
    series_id = done.json()["series_id"]
    assert bea.post(f"/series/{series_id}/cancel").status_code == 404
    cancelled = ann.post(f"/series/{series_id}/cancel")
    assert cancelled.status_code == 200 and len(cancelled.json()["cancelled"]) == 2


def test_validation_queue_and_competitors(srv: Server, ann: Api, bea: Api,
                                          gest: Api) -> None:
    projectors = add_resource(srv, kind=booking.ResourceKind.equipment,
                              name="Vidéoprojecteur", quantity=2, needs_validation=True)
    first = ann.post("/bookings", new(projectors, when(2, 10), when(2, 12))).json()
    second = bea.post("/bookings", new(projectors, when(2, 11), when(2, 13))).json()
    assert first["status"] == second["status"] == "pending"
    assert ann.post(f"/bookings/{first['id']}/validate").status_code == 403
    with srv.transaction() as s:  # one projector broke
        s.get_one(booking.Resource, projectors).quantity = 1
    queue = {b["id"] for b in gest.get("/pending").json()}
    assert {first["id"], second["id"]} <= queue
    outcome = gest.post("/validate", {"ids": [first["id"], second["id"]]})
    assert outcome.status_code == 200, outcome.text
    assert outcome.json()["confirmed"] == [first["id"]]
    assert outcome.json()["refused"][0]["id"] == second["id"]
    mine = {b["id"]: b for b in bea.get("/bookings/mine").json()}
    assert mine[second["id"]]["status"] == "refused"
    assert "attribué à une autre demande" in mine[second["id"]]["refusal_reason"]
    third = bea.post("/bookings", new(projectors, when(2, 14), when(2, 15))).json()
    assert gest.post(f"/bookings/{third['id']}/refuse", {"reason": ""}).status_code == 400
    refused = gest.post(f"/bookings/{third['id']}/refuse", {"reason": "Réservé aux examens"})
    assert refused.json()["status"] == "refused"
    assert refused.json()["refusal_reason"] == "Réservé aux examens"


def test_pages_book_refuse_cancel_and_validate(srv: Server) -> None:
    room = add_resource(srv, name="CDI", needs_validation=False, max_duration=120)
    client = WebClient(srv)
    assert client.login("ann", PASSWORD).status_code == 302
    index = client.get("/booking/")
    assert index.status_code == 200 and "CDI" in index.text
    assert_french(index.text)
    week = client.get(f"/booking/ressources/{room}?semaine={MONDAY.isoformat()}")
    assert week.status_code == 200 and "libre" in week.text
    assert client.get(f"/booking/ressources/{room}?jour=demain").status_code == 400
    assert client.get(f"/booking/ressources/{room}?semaine=2026-13-45").status_code == 400
    assert client.get(f"/booking/ressources/{room}?semaine=9999-12-31").status_code == 400
    form = {"csrf_token": csrf_token(week.text), "day": MONDAY.isoformat(), "start": "10:00",
            "end": "11:00", "quantity": "1", "purpose": "Recherche documentaire",
            "repeat": "0", "on_conflict": "report"}
    done = client.post(f"/booking/ressources/{room}", form)
    assert done.status_code == 303
    after = client.get(done.headers["Location"])
    assert "Réservation confirmée." in after.text and "réservé" in after.text
    too_long = client.post(f"/booking/ressources/{room}", {**form, "start": "12:00",
                                                            "end": "15:00"})
    assert too_long.status_code == 422
    assert "Réservation trop longue : 3 h demandées, 2 h au plus" in html.fromstring(
        too_long.text).xpath('string(//p[@class="error"])')
    taken = client.post(f"/booking/ressources/{room}", form)
    assert taken.status_code == 409 and "déjà réservé" in taken.text
    weekly = {**form, "repeat": "1", "until": (MONDAY + timedelta(weeks=2)).isoformat(),
              "start": "10:30", "end": "11:30"}
    conflicts = client.post(f"/booking/ressources/{room}", weekly)
    assert conflicts.status_code == 409
    listed = html.fromstring(conflicts.text).xpath('//ul[@class="conflicts"]/li')
    assert len(listed) == 1 and "déjà réservé" in listed[0].text_content()
    skipped = client.post(f"/booking/ressources/{room}", {**weekly, "on_conflict": "skip"})
    assert skipped.status_code == 303
    assert "2 réservation(s) enregistrée(s) dans la série ; 1 date(s) ignorée(s)." in \
        client.get(skipped.headers["Location"]).text
    mine = client.get("/booking/mes-reservations")
    row = html.fromstring(mine.text).xpath('//tr[@data-booking]')[0]
    action = row.xpath('.//form/@action')[0]
    cancelled = client.post(action, {"csrf_token": csrf_token(mine.text)})
    assert cancelled.status_code == 303
    assert "Annulée" in client.get("/booking/mes-reservations").text


def test_manager_validates_on_the_page(srv: Server, ann: Api) -> None:
    room = add_resource(srv, name="Salle de réunion", needs_validation=True)
    request = ann.post("/bookings", new(room, when(4, 14), when(4, 15))).json()
    client = WebClient(srv)
    assert client.login("gest", PASSWORD).status_code == 302
    queue = client.get("/booking/validation")
    assert queue.status_code == 200 and f'data-booking="{request["id"]}"' in queue.text
    who = html.fromstring(queue.text).xpath(
        f'string(//tr[@data-booking="{request["id"]}"]/td[@class="who"])')
    assert who == "ann"
    done = client.post("/booking/validation", {"csrf_token": csrf_token(queue.text),
                                               "ids": str(request["id"])})
    assert done.status_code == 303
    mine = {b["id"]: b for b in ann.get("/bookings/mine").json()}
    assert mine[request["id"]]["status"] == "confirmed"
    assert WebClient(srv).get("/booking/validation").status_code == 302  # to /login
    assert ann.http.get(srv.base_url + "/booking/validation", timeout=30,
                        allow_redirects=False).status_code == 403


def rows_of(server: Server, resource: int) -> list[tuple[int, str, str, int, str]]:
    """(id, local start, local end, quantity, status) of the resource's bookings."""
    with server.transaction() as s:
        return [(b.id, b.start.astimezone(PARIS).replace(tzinfo=None).isoformat(),
                 b.end.astimezone(PARIS).replace(tzinfo=None).isoformat(), b.quantity,
                 b.status.value)
                for b in s.query(booking.Booking).filter_by(resource_id=resource)
                .order_by(booking.Booking.id)]


@pytest.mark.parametrize("actor,status", [("ann", 200), ("bea", 404), ("ben", 404),
                                          ("gest", 200)])
def test_api_who_may_edit_a_booking(srv: Server, ann: Api, actor: str,
                                    status: int) -> None:
    """The booker (ann) and the domain's manager (gest) edit; another teacher and a
    student get 404 and nothing changes. ann is told of the manager's change."""
    tablets = add_resource(srv, kind=booking.ResourceKind.equipment, name="Tablettes B",
                           quantity=15)
    made = ann.post("/bookings", new(tablets, when(0, 10), when(0, 11), quantity=5)).json()
    editor = ann if actor == "ann" else Api(srv, actor)
    answer = editor.patch(f"/bookings/{made['id']}", {
        "start": when(0, 14), "end": when(0, 16), "quantity": 6, "purpose": "sortie"})
    assert answer.status_code == status, answer.text
    expected = (when(0, 14), when(0, 16), 6) if status == 200 else (when(0, 10),
                                                                    when(0, 11), 5)
    assert rows_of(srv, tablets) == [(made["id"], *expected, "confirmed")]
    if status == 200:
        view, = answer.json()["bookings"]
        assert (view["id"], view["quantity"], view["purpose"]) == (made["id"], 6, "sortie")
    if actor == "gest":
        with srv.transaction() as s:
            from web.notifications import Notification
            ann_id = acl.find_user(s, "ann").id  # type: ignore[union-attr]
            told = [(n.subject, n.body) for n in
                    s.query(Notification).filter_by(user_id=ann_id)]
        assert any(subject == "Réservation modifiée : Tablettes B"
                   and body.startswith("gest a modifié votre réservation")
                   for subject, body in told), told


def test_api_edit_refusals_change_nothing(srv: Server, ann: Api, bea: Api) -> None:
    room = add_resource(srv, name="Salle edit", max_duration=120)
    made = ann.post("/bookings", new(room, when(1, 8), when(1, 9))).json()
    assert bea.post("/bookings", new(room, when(1, 14), when(1, 15))).status_code == 201
    before = rows_of(srv, room)
    cases = [
        ({"start": when(1, 14, 30), "end": when(1, 15, 30)}, 409, "déjà réservé"),
        ({"start": when(1, 8), "end": when(1, 12)}, 422, "Réservation trop longue"),
        ({"start": when(1, 9), "end": when(1, 8)}, 400, "après son début"),
        ({"start": "mardi 9h"}, 400, "invalides pour start"),
        ({"quantity": 0}, 400, "quantity"),
        ({"scope": "all"}, 400, "scope"),
    ]
    for body, status, reason in cases:
        answer = ann.patch(f"/bookings/{made['id']}", body)
        assert answer.status_code == status, (body, answer.text)
        assert reason in answer.json()["error"], (body, answer.text)
    assert rows_of(srv, room) == before
    # An edit overlapping the booking's own period is no conflict with itself.
    moved = ann.patch(f"/bookings/{made['id']}", {"start": when(1, 8, 30),
                                                  "end": when(1, 9, 30)})
    assert moved.status_code == 200, moved.text
    no_token = ann.http.patch(f"{ann.base}/bookings/{made['id']}", timeout=30,
                              json={"purpose": "x"})
    assert no_token.status_code == 403


def test_api_series_edit_keeps_rows_and_ids(srv: Server, ann: Api, bea: Api) -> None:
    """A weekly series moved one hour later: a conflicting date is reported (409)
    with nothing saved; skipped, it stays as it was; the same rows, never more."""
    room = add_resource(srv, name="Salle série")
    made = ann.post("/bookings", new(room, when(3, 10), when(3, 11), repeat={
        "every_weeks": 1, "until": (MONDAY + timedelta(weeks=2, days=3)).isoformat()}))
    assert made.status_code == 201, made.text
    ids = [b["id"] for b in made.json()["bookings"]]
    assert len(ids) == 3
    assert bea.post("/bookings", new(room, when(3, 11, weeks=1),
                                     when(3, 12, weeks=1))).status_code == 201
    before = rows_of(srv, room)
    body = {"start": when(3, 11), "end": when(3, 12), "scope": "series"}
    refused = ann.patch(f"/bookings/{ids[0]}", body)
    assert refused.status_code == 409, refused.text
    conflict, = refused.json()["conflicts"]
    assert "déjà réservé" in conflict["reason"]
    assert rows_of(srv, room) == before
    done = ann.patch(f"/bookings/{ids[0]}", {**body, "on_conflict": "skip"})
    assert done.status_code == 200, done.text
    assert [b["id"] for b in done.json()["bookings"]] == [ids[0], ids[2]]
    assert len(done.json()["skipped"]) == 1
    after = rows_of(srv, room)
    assert [r[0] for r in after] == [r[0] for r in before]
    assert [r[1] for r in after[:3]] == [when(3, 11), when(3, 10, weeks=1),
                                         when(3, 11, weeks=2)]
    assert bea.patch(f"/bookings/{ids[0]}", body).status_code == 404


def test_edit_page_refuses_a_conflict_then_saves(srv: Server, bea: Api) -> None:
    room = add_resource(srv, name="Salle page", needs_validation=True)
    client = WebClient(srv)
    assert client.login("ann", PASSWORD).status_code == 302
    api = Api(srv, "ann")
    made = api.post("/bookings", new(room, when(4, 8), when(4, 9))).json()
    gest = Api(srv, "gest")
    assert gest.post(f"/bookings/{made['id']}/validate").status_code == 200
    assert bea.post("/bookings", new(room, when(4, 10), when(4, 11))).status_code == 201
    mine = client.get("/booking/mes-reservations")
    link = html.fromstring(mine.text).xpath(
        f'//tr[@data-booking="{made["id"]}"]//a[text()="Modifier"]/@href')[0]
    page = client.get(link)
    assert page.status_code == 200
    tree = html.fromstring(page.text)
    assert tree.xpath('string(//input[@name="start"]/@value)') == "08:00"
    form = {"csrf_token": csrf_token(page.text),
            "day": (MONDAY + timedelta(days=4)).isoformat(), "start": "10:30",
            "end": "11:30", "quantity": "1", "purpose": "conseil de classe", "scope": "one",
            "on_conflict": "report"}
    taken = client.post(link, form)
    assert taken.status_code == 409
    assert "déjà réservé" in html.fromstring(taken.text).xpath('string(//p[@class="error"])')
    assert rows_of(srv, room)[0][1:] == (when(4, 8), when(4, 9), 1, "confirmed")
    done = client.post(link, {**form, "start": "14:00", "end": "15:00"})
    assert done.status_code == 303
    assert "attendent la validation" in client.get(done.headers["Location"]).text
    assert rows_of(srv, room)[0] == (made["id"], when(4, 14), when(4, 15), 1, "pending")
    other = WebClient(srv)
    assert other.login("bea", PASSWORD).status_code == 302
    assert other.get(link).status_code == 404
