"""The home page « en partie modifiable » and its three later blocks (issue 20,
"Finding your way"), over HTTP against a real server with the school of
:mod:`tests.integration.homework_kit`, on Tuesday 8 September 2026 at 10:00, on
SQLite and PostgreSQL (the arrangement is a JSON column; the blocks' queries group
and filter with ``EXISTS``).

* The arrangement: hide, show, move up and down, save without JavaScript; kept across
  sign-out and sign-in; a name that is no block is 400 with the reason and changes
  nothing; names stored by an older version are ignored and a block the stored
  order does not name comes at its default place.
* « Copies à corriger »: each teacher sees their own homework with the number of
  hand-ins waiting; a returned correction takes a copy off; students have no block.
* « Fichiers récents »: one's porte-documents and the rubrics one reads, never
  someone else's porte-documents or a rubric one cannot read.
* « Rubriques avec du nouveau »: files published in the last week by others, in the
  rubrics one reads, with their number; older or pending files are not news.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import update

import acl
from davserver import clock
from providers import Stamp
from providers.models import Node
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.handin_kit import correct, hand_in
from tests.integration.homework_kit import PARIS, SCHOOL, build_school, rooms_for_teachers, uid
from tests.web import WebClient, csrf_token
from web import textbook

pytestmark = [pytest.mark.clock("2026-09-08T10:00 Europe/Paris")]
IDS: dict[str, int] = {}
DEFAULT = ["lessons", "handins", "bookings", "files", "rubrics", "account"]  # a teacher's
DAY = 86400.0


def _files(server: Server) -> None:
    """Porte-documents files of ann and ben; rubric « infos » (everyone reads, carl
    publishes) with a new file, an old one and a pending one; rubric « profs »
    (teachers only) with a new file."""
    with server.transaction() as s:
        school = acl.find_school(s, SCHOOL)
        acl.add_rubric(s, "infos", "Infos du collège", school_id=school)
        acl.grant(s, "infos", "visitor", pop=acl.Population())
        acl.grant(s, "infos", "publisher", user="carl")
        acl.add_rubric(s, "profs", "Salle des profs", school_id=school)
        acl.grant(s, "profs", "writer", pop=acl.population(s, school, profile="teacher"))
        ids = {login: uid(s, login) for login in ("ann", "ben", "carl")}
        infos, profs = acl.get_rubric(s, "infos").id, acl.get_rubric(s, "profs").id
    with server.app() as app:
        store = app.store
        mine = store.ensure_space("documents", owner_id=ids["ann"], profile="teacher")
        store.make_collection(mine.id, "/Cours", stamp=Stamp(ids["ann"], True))
        store.write_bytes(mine.id, "/Cours/fractions.txt", b"1/2\n", Stamp(ids["ann"], True))
        theirs = store.ensure_space("documents", owner_id=ids["ben"], profile="student")
        store.write_bytes(theirs.id, "/devoir-de-ben.txt", b"ben\n", Stamp(ids["ben"], True))
        news = store.ensure_space("rubric", rubric_id=infos)
        store.make_collection(news.id, "/Affiches", stamp=Stamp(ids["carl"], True))
        store.write_bytes(news.id, "/Affiches/rentrée.txt", b"r\n", Stamp(ids["carl"], True))
        store.write_bytes(news.id, "/Affiches/ancienne.txt", b"o\n", Stamp(ids["carl"], True))
        store.write_bytes(news.id, "/brouillon.txt", b"b\n", Stamp(ids["carl"], False))
        staff = store.ensure_space("rubric", rubric_id=profs)
        store.write_bytes(staff.id, "/conseil-de-classe.txt", b"c\n", Stamp(ids["carl"], True))
        with app.db.transaction() as s:  # a month old: no news any more
            s.execute(update(Node).where(Node.space_id == news.id,
                                         Node.name == "ancienne.txt")
                      .values(modified=clock.time() - 30 * DAY))


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("home-arrange")) as server:
        IDS.update(build_school(server))
        # Teachers book rooms and ada manages them: they have « Mes réservations ».
        rooms_for_teachers(server, managers=("ada",))
        with server.transaction() as s:  # H1 (ann, 4B) and H2 (carl, 4B) taken online
            for name in ("H1", "H2"):
                s.get_one(textbook.Activity, IDS[name]).online_submission = True
        _files(server)
        for login in ("ben", "dora"):
            assert hand_in(signed_in(server, login), IDS["H1"], "copie.pdf",
                           b"%PDF-1.4 copie\n").status_code == 201
        assert hand_in(signed_in(server, "ben"), IDS["H2"], "redaction.txt",
                       b"Il etait une fois\n").status_code == 201
        yield server


def signed_in(srv: Server, login: str) -> WebClient:
    client = WebClient(srv)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def shown(page: str) -> list[str]:
    """The names of the blocks of a home page, in order."""
    return re.findall(r'<section class="home-block ([a-z]+)"', page)


def block(page: str, name: str) -> str:
    """The text of block ``name`` of a home page ('' when absent), tags removed."""
    found = re.search(rf'<section class="home-block {name}".*?</section>', page, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0))) if found else ""


def arrange(client: WebClient, order: list[str], shown_names: list[str],
            **extra: str) -> WebClient:
    """POST the « Organiser » form as a browser sends it."""
    token = csrf_token(client.get("/accueil/organiser").text)
    fields = [("csrf_token", token), *(("order", n) for n in order),
              *(("shown", n) for n in shown_names), *extra.items()]
    answer = client.post("/accueil/organiser", fields)
    assert answer.status_code == 303, answer.text[:300]
    return client


def layout(srv: Server, login: str) -> acl.HomeLayout:
    with srv.transaction() as s:
        return acl.home_layout_of(s, uid(s, login))


def test_hide_reorder_and_keep_across_sign_in(srv: Server) -> None:
    client = signed_in(srv, "carl")
    assert shown(client.get("/").text) == DEFAULT
    form = client.get("/accueil/organiser")
    assert form.status_code == 200 and "Monter" in form.text and "Descendre" in form.text
    order = ["account", "files", "lessons", "handins", "rubrics", "bookings"]
    arrange(client, order, [n for n in order if n != "bookings"], save="1")
    page = client.get("/").text
    assert shown(page) == ["account", "files", "lessons", "handins", "rubrics"]
    assert "Blocs masqués" in page and "Afficher le bloc « Mes réservations à venir »" in page
    assert client.logout().status_code in (302, 303)
    again = signed_in(srv, "carl").get("/").text  # a new session, the same page
    assert shown(again) == ["account", "files", "lessons", "handins", "rubrics"]
    assert layout(srv, "carl") == acl.HomeLayout(tuple(order), frozenset({"bookings"}))
    assert shown(signed_in(srv, "ann").get("/").text) == DEFAULT  # per user


def test_move_buttons_hide_and_show_buttons(srv: Server) -> None:
    client = signed_in(srv, "ann")
    arrange(client, DEFAULT, DEFAULT, move="up:files")  # « Monter » on « Fichiers récents »
    assert shown(client.get("/").text) == ["lessons", "handins", "files", "bookings",
                                           "rubrics", "account"]
    arrange(client, shown(client.get("/").text), DEFAULT, move="down:lessons")
    assert shown(client.get("/").text)[:2] == ["handins", "lessons"]
    token = csrf_token(client.get("/").text)
    hidden = client.post("/accueil/organiser", {"csrf_token": token, "hide": "rubrics"})
    assert hidden.status_code == 303
    page = client.get("/").text
    assert "rubrics" not in shown(page) and "Bloc « Rubriques avec du nouveau » masqué" in page
    again = client.post("/accueil/organiser", {"csrf_token": csrf_token(page),
                                               "show": "rubrics"})
    assert again.status_code == 303
    assert "rubrics" in shown(client.get("/").text)
    reset = client.post("/accueil/organiser", {"csrf_token": csrf_token(page), "reset": "1"})
    assert reset.status_code == 303 and shown(client.get("/").text) == DEFAULT


def test_a_bad_block_name_is_400_and_changes_nothing(srv: Server) -> None:
    client = signed_in(srv, "hugo")
    before = layout(srv, "hugo")
    token = csrf_token(client.get("/accueil/organiser").text)
    for fields in ([("csrf_token", token), ("order", "account"), ("order", "météo"),
                    ("shown", "account")],
                   [("csrf_token", token), ("hide", "<script>")],
                   [("csrf_token", token), ("order", "account"), ("order", "account")],
                   [("csrf_token", token), ("order", "account"), ("move", "up:files")]):
        answer = client.post("/accueil/organiser", fields)
        assert answer.status_code == 400, fields
        assert 'class="field-error"' in answer.text
    assert "&lt;script&gt;" in client.post(  # the name is shown, escaped
        "/accueil/organiser", [("csrf_token", token), ("hide", "<script>")]).text
    assert "« météo » n&#39;est pas un bloc" in client.post(
        "/accueil/organiser", [("csrf_token", token), ("order", "météo")]).text
    assert layout(srv, "hugo") == before


def test_stored_names_of_an_older_version_are_ignored(srv: Server) -> None:
    """A block since removed is ignored; a block the stored order does not name (new
    since) comes right after the block that precedes it by default."""
    with srv.transaction() as s:
        acl.save_home_layout(s, uid(s, "ada"), ["account"], [], {"account"})
        row = s.get_one(acl.UserPreference, uid(s, "ada"))
        row.home_layout = {"order": ["meteo", "account", "bookings"], "hidden": ["meteo"]}
    page = signed_in(srv, "ada").get("/")
    assert page.status_code == 200
    assert shown(page.text) == ["account", "bookings", "files", "rubrics"]
    with srv.transaction() as s:
        s.get_one(acl.UserPreference, uid(s, "ada")).home_layout = {"order": "x"}
    assert shown(signed_in(srv, "ada").get("/").text) == ["bookings", "files", "rubrics",
                                                          "account"]


def test_copies_to_correct_per_teacher(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    text = block(ann.get("/").text, "handins")
    assert "Exercices 1 p. 10" in text and "2 copies à corriger" in text
    assert "Rédaction" not in text  # carl's homework
    assert f"/textbook/activites/{IDS['H1']}/remises" in ann.get("/").text
    carl = block(signed_in(srv, "carl").get("/").text, "handins")
    assert "Rédaction" in carl and "1 copie à corriger" in carl and "Exercices 1" not in carl
    with srv.transaction() as s:
        dora = uid(s, "dora")
    assert correct(ann, IDS["H1"], dora, "corrige.pdf", b"%PDF-1.4 ok\n").status_code == 201
    assert "1 copie à corriger" in block(ann.get("/").text, "handins")
    assert block(signed_in(srv, "ben").get("/").text, "handins") == ""  # students: none
    assert block(signed_in(srv, "paul").get("/").text, "handins") == ""


def test_recent_files_are_ones_own_and_the_rubrics_one_reads(srv: Server) -> None:
    ann = signed_in(srv, "ann").get("/").text
    files = block(ann, "files")
    assert "fractions.txt" in files and "Porte-documents" in files
    assert "rentrée.txt" in files and "conseil-de-classe.txt" in files
    assert "devoir-de-ben.txt" not in files  # ben's porte-documents
    assert "brouillon.txt" not in files  # pending: the readers do not see it
    assert 'href="/documents/porte-documents/Cours/"' in ann
    assert '/documents/rubriques/infos/Affiches/' in ann
    ben = block(signed_in(srv, "ben").get("/").text, "files")
    assert "devoir-de-ben.txt" in ben and "rentrée.txt" in ben
    assert "fractions.txt" not in ben and "conseil-de-classe.txt" not in ben  # teachers'


def test_rubrics_with_news_count_what_others_published_this_week(srv: Server) -> None:
    ann = block(signed_in(srv, "ann").get("/").text, "rubrics")
    assert "Infos du collège" in ann and "1 nouveau fichier" in ann  # the old one is not
    assert "Salle des profs" in ann
    ben = block(signed_in(srv, "ben").get("/").text, "rubrics")
    assert "Infos du collège" in ben and "Salle des profs" not in ben
    carl = block(signed_in(srv, "carl").get("/").text, "rubrics")
    assert "Infos du collège" not in carl  # his own files are no news to him
    assert "Rien de nouveau" in carl


def test_the_heads_blocks_on_either_database(srv: Server) -> None:
    """The head's page (its « Cahiers à viser » groups lessons and visas in SQL, run
    here on SQLite and PostgreSQL; test_web_home.py follows a visa's effect): the
    kit's three services, never visaed; no bookings block, « Salles » being for
    teachers, and none offered on the arranging page either."""
    client = signed_in(srv, "hugo")
    page = client.get("/").text
    assert shown(page) == ["visas", "files", "rubrics", "account"]
    visas = block(page, "visas")
    assert visas.count("jamais visé") == 3 and "4C · MATHS — ann" in visas
    assert "organiser-bookings" not in client.get("/accueil/organiser").text


def test_a_block_not_offered_today_keeps_its_place_and_hidden_state(srv: Server) -> None:
    """hugo (head) may have « Mes réservations à venir » but « Salles » is not offered
    to him: saving his page, by the form or by a block's « Masquer », keeps the stored
    place and hidden state of that block for the day booking is offered to him."""
    with srv.transaction() as s:
        acl.save_home_layout(s, uid(s, "hugo"),
                             ["account", "bookings", "visas", "files", "rubrics"],
                             ["bookings"], {"account", "bookings", "visas", "files",
                                            "rubrics"})
    client = signed_in(srv, "hugo")
    assert shown(client.get("/").text) == ["account", "visas", "files", "rubrics"]
    arrange(client, ["files", "account", "visas", "rubrics"],
            ["files", "account", "visas", "rubrics"])
    assert layout(srv, "hugo") == acl.HomeLayout(
        ("files", "account", "bookings", "visas", "rubrics"), frozenset({"bookings"}))
    token = csrf_token(client.get("/").text)
    assert client.post("/accueil/organiser", {"csrf_token": token,
                                              "hide": "rubrics"}).status_code == 303
    assert layout(srv, "hugo") == acl.HomeLayout(
        ("files", "account", "bookings", "visas", "rubrics"),
        frozenset({"bookings", "rubrics"}))
    assert client.post("/accueil/organiser", {"csrf_token": token,
                                              "reset": "1"}).status_code == 303
    assert layout(srv, "hugo") == acl.HomeLayout()


def test_cahiers_a_viser_are_this_school_years(srv: Server) -> None:
    """A service whose lessons were all last school year (2025-2026), never visaed, is
    not « à viser » this year: the block counts this year's lessons only."""
    with srv.transaction() as s:
        school = acl.find_school(s, SCHOOL)
        last_year = textbook.set_school_year(s, school, date(2025, 9, 1), date(2026, 7, 4))
        old = acl.create_user(s, "olga", PASSWORD, "teacher", school_id=school)
        service = textbook.ensure_service(
            s, school, acl.ensure_group(s, school, "3A"),
            acl.ensure_subject(s, school, "HISTOIRE"), [old.id])
        start = datetime(2026, 3, 2, 9, tzinfo=PARIS)
        textbook.create_lesson(s, service, start, start + timedelta(hours=1), last_year)
    visas = block(signed_in(srv, "hugo").get("/").text, "visas")
    assert visas.count("jamais visé") == 3 and "3A" not in visas and "olga" not in visas
