"""The home page's blocks (issue 20, "Finding your way"), over HTTP against a real
server with the school of :mod:`tests.integration.homework_kit`, on Tuesday 8
September 2026 at 10:00: each profile sees its own blocks; the mounting help has its
own page. The axe check of ``/`` at both widths is in test_web_accessibility.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest

from tests.conftest import PASSWORD, Server, running_server
from tests.integration.homework_kit import build_school, rooms_for_teachers, uid
from tests.web import WebClient
from web import textbook

pytestmark = [pytest.mark.clock("2026-09-08T10:00 Europe/Paris"), pytest.mark.one_database]
IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("home")) as server:
        IDS.update(build_school(server))
        rooms_for_teachers(server)
        yield server


def block(srv: Server, login: str, name: str) -> str:
    """The text of ``login``'s home block ``name`` ('' when absent), tags removed."""
    client = WebClient(srv)
    client.login(login, PASSWORD)
    page = client.get("/")
    assert page.status_code == 200
    found = re.search(rf'<section class="home-block {name}".*?</section>', page.text, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0))) if found else ""


def test_a_teacher_sees_today_and_tomorrow(srv: Server) -> None:
    lessons = block(srv, "ann", "lessons")
    assert "10:00–11:00 MATHS · 4C" in lessons and "Aujourd&#39;hui" in lessons
    assert "10:00–11:00 MATHS · 4B" in lessons and "Demain" in lessons
    assert "08:00" not in lessons  # Monday's and Friday's lessons are not today's
    assert "Aucune réservation à venir" in block(srv, "ann", "bookings")  # « Salles »
    assert block(srv, "ann", "homework") == ""


def test_a_student_sees_lessons_and_homework_due(srv: Server) -> None:
    lessons = block(srv, "ben", "lessons")
    assert "09:00–10:00 FR · 4B" in lessons and "10:00–11:00 MATHS · 4B" in lessons
    assert "4C" not in lessons
    homework = block(srv, "ben", "homework")
    assert "Exercices 1 p. 10" in homework and "Rédaction" in homework
    assert "Pas encore visible" not in homework  # hidden until 2099
    assert "Fiche Dora" not in homework  # aimed at Dora only
    assert "Révisions" not in homework  # due last week
    assert block(srv, "ben", "bookings") == ""


def test_a_parent_gets_each_child(srv: Server) -> None:
    children = block(srv, "paul", "children")
    assert "enfant=ben" not in children  # tags removed: the names show
    client = WebClient(srv)
    client.login("paul", PASSWORD)
    page = client.get("/").text
    assert "/textbook/travail/?enfant=ben" in page and "/textbook/travail/?enfant=zoe" in page


def test_everyone_has_notifications_quota_and_the_mounting_help(srv: Server) -> None:
    account = block(srv, "ada", "account")
    assert "Aucune notification non lue" in account
    assert "Porte-documents : 0 octets utilisés sur 500 Mo (0 %)" in account
    assert "Connecter mon porte-documents" in account
    anonymous = WebClient(srv).get("/")
    assert anonymous.status_code == 200 and "Connecter le lecteur" in anonymous.text
    help_page = WebClient(srv).get("/connecter")
    assert help_page.status_code == 200 and "rclone config create" in help_page.text


def test_no_block_leaks_to_another_profile(srv: Server) -> None:
    assert block(srv, "paul", "lessons") == "" and block(srv, "paul", "homework") == ""
    assert block(srv, "ada", "lessons") == ""


def test_no_bookings_block_for_who_may_book_nothing(srv: Server) -> None:
    """« Salles » is open to teachers only: the head and the admin, whose profiles
    may book, have no resource they may book and no domain they manage, so neither
    the services bar, the home page nor « Organiser ma page d'accueil » offers them
    bookings (a block one cannot have is not offered to show)."""
    for login in ("hugo", "ada"):
        client = WebClient(srv)
        client.login(login, PASSWORD)
        home = client.get("/").text
        assert 'class="home-block bookings"' not in home and "/booking/" not in home
        assert 'class="home-block account"' in home
        arranging = client.get("/accueil/organiser").text
        assert "organiser-account" in arranging and "organiser-bookings" not in arranging
        assert "Mes réservations à venir" not in arranging
    teacher = WebClient(srv)
    teacher.login("ann", PASSWORD)
    assert "organiser-bookings" in teacher.get("/accueil/organiser").text


def test_the_head_sees_the_cahiers_to_visa(srv: Server) -> None:
    """« Cahiers à viser » (issue 7's visa): by 10:00 on Tuesday 8 September each
    service has lessons and none was visaed; a visa on ann up to Monday covers MATHS
    4B (last lesson Monday) but not MATHS 4C (a lesson this morning); a visa on carl
    up to today takes FR 4B off. Each line opens its teacher's visa page; teachers
    have no such block."""
    visas = block(srv, "hugo", "visas")
    for line in ("4B · MATHS — ann", "4C · MATHS — ann", "4B · FR — carl"):
        assert line in visas, visas
    assert visas.count("jamais visé") == 3 and "dernière séance le mardi 08/09" in visas
    assert block(srv, "ann", "visas") == "" and block(srv, "ada", "visas") == ""
    client = WebClient(srv)
    client.login("hugo", PASSWORD)
    page = client.get("/").text
    with srv.transaction() as s:
        ids = {login: uid(s, login) for login in ("ann", "carl", "hugo")}
    assert f'href="/textbook/controle/enseignants/{ids["carl"]}/"' in page
    assert client.get(f"/textbook/controle/enseignants/{ids['carl']}/").status_code == 200
    with srv.transaction() as s:
        textbook.put_visa(s, ids["hugo"], ids["ann"], date(2026, 9, 7))
        textbook.put_visa(s, ids["hugo"], ids["carl"], date(2026, 9, 8))
    visas = block(srv, "hugo", "visas")
    assert "4C · MATHS — ann" in visas and "visé jusqu&#39;au 07/09/2026" in visas
    assert "4B · MATHS" not in visas and "FR" not in visas
