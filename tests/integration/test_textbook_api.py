"""The cahier de textes' JSON API (issue 5, ``/api/textbook/``) against a real server:
the same who-sees-what as the pages (private notes only for teachers, another class's
lesson 404, another teacher's 403, a parent reads their child's), and the changes a
teacher makes through it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

import acl
from davserver import clock
from tests.conftest import PASSWORD, Server, instant, pinned, running_server, school_today
from tests.integration.test_web_booking import Api
from tests.web import WebClient, csrf_token
from web import textbook

pytestmark = pytest.mark.time_sensitive  # dates relative to the clock

USERS = {"ann": "teacher", "bea": "teacher", "ben": "student", "eve": "student",
         "paul": "parent"}
PARIS = ZoneInfo("Europe/Paris")
MONDAY = school_today() + timedelta(days=14 - school_today().weekday())
IDS: dict[str, int] = {}


def at(day: int, hour: int) -> datetime:
    return datetime.combine(MONDAY + timedelta(days=day), time(hour), PARIS)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """ann teaches maths in 4B (lessons Monday and Tuesday 9:00); ben is in 4B, eve in
    4C; paul is ben's parent."""
    with running_server(tmp_path_factory.mktemp("textbook-api"), users=USERS) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            year = textbook.set_school_year(s, school, school_today() - timedelta(days=60),
                                            school_today() + timedelta(days=200))
            uid = {login: acl.find_user(s, login).id for login in USERS}  # type: ignore[union-attr]
            for login, group in (("ben", "4B"), ("eve", "4C")):
                acl.add_member(s, acl.ensure_group(s, school, group), uid[login])
            acl.link_parent(s, uid["paul"], uid["ben"])
            service = textbook.ensure_service(s, school, acl.ensure_group(s, school, "4B"),
                                              acl.ensure_subject(s, school, "MATHS"),
                                              [uid["ann"]])
            IDS["service"] = service.id
            for day, name in ((0, "L1"), (1, "L2")):
                IDS[name] = textbook.create_lesson(s, service, at(day, 9), at(day, 10),
                                                   year).id
        yield server


class TextbookApi(Api):
    def __init__(self, server: Server, login: str) -> None:
        super().__init__(server, login)
        self.base = server.base_url + "/api/textbook"


def week_of(client: TextbookApi) -> dict[str, Any]:
    answer = client.get(f"/week?week={MONDAY.isoformat()}")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_who_reads_what_through_the_api(srv: Server) -> None:
    ann = TextbookApi(srv, "ann")
    made = ann.post(f"/lessons/{IDS['L1']}/activities", {
        "kind": "homework", "title": "Exercices 3 et 4 p. 52", "minutes": 20,
        "body": "<p>Faire <b>les</b> exercices<script>alert(1)</script></p>",
        "private_note": "Vérifier la calculatrice"})
    assert made.status_code == 201, made.text
    homework = made.json()
    assert homework["due_lesson_id"] == IDS["L2"] and "<script>" not in homework["body"]

    teacher_week = week_of(ann)
    monday = teacher_week["weeks"][0]["days"][0]
    assert [lesson["id"] for lesson in monday["lessons"]] == [IDS["L1"]]
    assert monday["lessons"][0]["activities"][0]["private_note"] == "Vérifier la calculatrice"
    assert monday["lessons"][0]["local_start"].startswith(f"{MONDAY.isoformat()}T09:00")

    ben = TextbookApi(srv, "ben")
    tuesday = week_of(ben)["weeks"][0]["days"][1]
    assert [row["activity"]["title"] for row in tuesday["due"]] == ["Exercices 3 et 4 p. 52"]
    assert "private_note" not in tuesday["due"][0]["activity"]
    lesson = ben.get(f"/lessons/{IDS['L1']}")
    assert lesson.status_code == 200 and "private_note" not in lesson.json()["activities"][0]

    paul_weeks = week_of(TextbookApi(srv, "paul"))["weeks"]
    assert [w["child"] for w in paul_weeks] == ["ben"]
    assert TextbookApi(srv, "eve").get(f"/lessons/{IDS['L1']}").status_code == 404
    other = TextbookApi(srv, "bea").get(f"/lessons/{IDS['L1']}")
    assert other.status_code == 403 and "service" in other.json()["error"]


def test_teacher_changes_and_refusals(srv: Server) -> None:
    ann = TextbookApi(srv, "ann")
    made = ann.post("/lessons", {"service_id": IDS["service"], "room": "B12",
                                 "start": at(3, 14).isoformat(), "end": at(3, 15).isoformat()})
    assert made.status_code == 201, made.text
    new_id = made.json()["id"]
    clash = ann.post(f"/lessons/{new_id}/move", {"start": at(0, 9).replace(tzinfo=None)
                                                 .isoformat(), "end": at(0, 10).replace(
                                                     tzinfo=None).isoformat()})
    assert clash.status_code == 409 and "déjà une séance" in clash.json()["error"]
    moved = ann.post(f"/lessons/{new_id}/move", {"start": at(4, 8).isoformat(),
                                                 "end": at(4, 9).isoformat()})
    assert moved.status_code == 200 and moved.json()["local_start"] == at(4, 8).isoformat()
    assert ann.post(f"/lessons/{new_id}/cancel").status_code == 200
    assert TextbookApi(srv, "ben").get(f"/lessons/{new_id}").status_code == 404
    back = ann.post(f"/lessons/{new_id}/uncancel")
    assert back.status_code == 200 and back.json()["status"] == "scheduled", back.text
    assert TextbookApi(srv, "ben").get(f"/lessons/{new_id}").status_code == 200
    again = ann.post(f"/lessons/{new_id}/uncancel")
    assert again.status_code == 409 and "n'est pas annulée" in again.json()["error"]
    assert ann.post(f"/lessons/{new_id}/cancel").status_code == 200

    bad = ann.post(f"/lessons/{IDS['L1']}/activities", {"kind": "poem", "title": ""})
    assert bad.status_code == 400 and "kind" in bad.json()["error"]
    student = TextbookApi(srv, "ben").post(f"/lessons/{IDS['L1']}/activities",
                                           {"kind": "content", "title": "x"})
    assert student.status_code == 403
    no_token = ann.http.post(ann.base + f"/lessons/{IDS['L1']}/cancel", timeout=30)
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["error"]
    anonymous = requests.get(ann.base + "/week", timeout=30)
    assert anonymous.status_code == 401


def test_content_shows_after_the_lesson_unless_published_early(srv: Server) -> None:
    """A future lesson's content is the teacher's until the lesson ends; "Publier
    maintenant" shows it at once. Homework (no quiet hours here) shows at once."""
    ann = TextbookApi(srv, "ann")
    content = ann.post(f"/lessons/{IDS['L2']}/activities",
                       {"kind": "content", "title": "Théorème de Pythagore"})
    assert content.status_code == 201 and content.json()["visible_from"] is None
    ben = TextbookApi(srv, "ben")

    def ben_titles() -> list[str]:
        lesson = ben.get(f"/lessons/{IDS['L2']}")
        assert lesson.status_code == 200
        return [a["title"] for a in lesson.json()["activities"]]

    assert "Théorème de Pythagore" not in ben_titles()
    tuesday = week_of(ben)["weeks"][0]["days"][1]["lessons"][0]
    assert "Théorème de Pythagore" not in [a["title"] for a in tuesday["activities"]]
    assert "Théorème de Pythagore" in [a["title"] for a in week_of(ann)["weeks"][0][
        "days"][1]["lessons"][0]["activities"]]

    web = WebClient(srv)
    assert web.login("ann", PASSWORD).status_code == 302
    page = web.get(f"/textbook/seances/{IDS['L2']}")
    published = web.post(f"/textbook/activites/{content.json()['id']}/publier",
                         {"csrf_token": csrf_token(page.text)})
    assert published.status_code == 303
    assert "Théorème de Pythagore" in ben_titles()


@pytest.mark.parametrize(("given_at", "shows_at"), [
    ("2026-12-08T21:30 Europe/Paris", "2026-12-09T07:00 Europe/Paris"),  # a Tuesday night
    ("2026-12-12T10:00 Europe/Paris", "2026-12-14T07:00 Europe/Paris"),  # Saturday: Monday
    ("2027-03-27T23:30 Europe/Paris", "2027-03-29T07:00 Europe/Paris"),  # over summer time
    ("2026-12-08T10:00 Europe/Paris", None),  # a school day: at once
], ids=["weeknight", "weekend", "summer-time", "school-hours"])
def test_homework_given_in_quiet_hours_waits_for_their_end(
        tmp_path_factory: pytest.TempPathFactory, given_at: str, shows_at: str | None) -> None:
    """Quiet hours as shipped (20:00–07:00 and weekends): homework given in them shows
    to the student at their end (the teacher sees it at once); the server, restarted
    with its clock just past that end, shows it. Given in school hours: at once."""
    with pinned(given_at) as given_time:
        given_day = given_time.date()
        with running_server(tmp_path_factory.mktemp("quiet"),
                            {"DAVSERVER_TEXTBOOK__QUIET_HOURS": "true"},
                            users={"tea": "teacher", "stu": "student"}) as server:
            with server.transaction() as s:
                school = acl.ensure_school(s, "Collège")
                year = textbook.set_school_year(s, school, given_day - timedelta(days=60),
                                                given_day + timedelta(days=200))
                tea, stu = (acl.find_user(s, x).id for x in ("tea", "stu"))  # type: ignore[union-attr]
                group = acl.ensure_group(s, school, "5A")
                acl.add_member(s, group, stu)
                service = textbook.ensure_service(s, school, group,
                                                  acl.ensure_subject(s, school, "SVT"), [tea])
                monday = given_day - timedelta(days=given_day.weekday())
                lesson = textbook.create_lesson(s, service, *_hour(monday, 9), year).id
                textbook.create_lesson(s, service, *_hour(monday + timedelta(days=10), 9),
                                       year)
            week = f"/week?week={monday + timedelta(days=7)}"
            given = TextbookApi(server, "tea").post(
                f"/lessons/{lesson}/activities", {"kind": "homework", "title": "Fiche 12"})
            assert given.status_code == 201, given.text
            shows = datetime.fromisoformat(given.json()["visible_from"])
            assert _due_titles(TextbookApi(server, "tea"), week) == ["Fiche 12"]
            if shows_at is None:
                assert abs(shows - given_time) < timedelta(minutes=5)
                assert _due_titles(TextbookApi(server, "stu"), week) == ["Fiche 12"]
                return
            assert shows == instant(shows_at)
            assert _due_titles(TextbookApi(server, "stu"), week) == []
            with pinned(shows + timedelta(minutes=1)):
                server.env.update(clock.environment())
                server.restart()
                assert _due_titles(TextbookApi(server, "stu"), week) == ["Fiche 12"]


def _hour(day: date, hour: int) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(hour), PARIS)
    return start, start + timedelta(hours=1)


def _due_titles(client: TextbookApi, week: str) -> list[str]:
    answer = client.get(week)
    assert answer.status_code == 200, answer.text
    return [row["activity"]["title"] for day in answer.json()["weeks"][0]["days"]
            for row in day["due"]]
