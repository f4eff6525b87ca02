"""The web pages that list things cost the same number of SQL statements for 10 and
for 200 items (issue 22, "Costs that must stay linear"): the file manager's folder,
the trash, a teacher's week and a student's « Travail à faire ».

The whole application runs in-process (WSGI, no socket) on SQLite, signed in through
the real sign-in form; statements are counted with SQLAlchemy's
``before_cursor_execute`` event (:func:`tests.unit.conftest.count_queries`), as
``test_dav_queries`` does for PROPFIND. Each page is asked twice and the second
answer counted, so that what a process does once (a school's settings, a space's
row) does not blur the comparison.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select
from werkzeug.test import Client

import acl
from davserver import auth
from davserver.app import Application, create_app
from davserver.config import Config
from tests.unit.conftest import count_queries
from web import textbook

# One database is enough: the app runs in-process on SQLite whatever the run (Config()
# defaults); a difference between 10 and 200 is a loop of statements on any database
# (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.one_database, pytest.mark.clock("2026-09-02T10:00 Europe/Paris")]

PASSWORD = "password-of-the-test-42"
PARIS = ZoneInfo("Europe/Paris")
WEEK = date(2026, 9, 7)  # the Monday of the week the pages show
SIZES = (10, 200)
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Application:
    # The credential generation is read again once a second: on a loaded machine one
    # request of a measured pair would pay that statement. Read once, at the start.
    monkeypatch.setattr(auth, "GENERATION_EVERY", 3600.0)
    return create_app(Config(data_dir=tmp_path / "data"))


def _signed_in(app: Application, login: str) -> Client:
    """A browser-like client signed in through the form (cookies kept)."""
    client = Client(app.wsgi)
    form = client.get("/login")
    assert form.status_code == 200
    token = _CSRF.search(form.get_data(as_text=True))
    assert token, "no csrf_token in the sign-in form"
    answer = client.post("/login", data={"csrf_token": token.group(1), "login": login,
                                         "password": PASSWORD, "next": ""})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return client


def _statements(app: Application, client: Client, url: str) -> int:
    """SQL statements of the second GET of ``url`` (200 expected, both times)."""
    assert client.get(url).status_code == 200, url
    with count_queries(app.db) as counter:
        answer = client.get(url)
    assert answer.status_code == 200, url
    return len(counter.statements)


def _each_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               measure: Callable[[Path, int], int],
               sizes: tuple[int, ...] = SIZES) -> dict[int, int]:
    counts = {}
    for size in sizes:
        where = tmp_path / str(size)
        where.mkdir()
        counts[size] = measure(where, size)
    return counts


def _user(app: Application, login: str, profile: str) -> int:
    with app.db.transaction() as s:
        return acl.create_user(s, login, PASSWORD, profile).id


def test_a_folder_page_costs_the_same_for_10_and_200_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def measure(where: Path, size: int) -> int:
        app = _app(where, monkeypatch)
        user_id = _user(app, "ann", "teacher")
        space = app.store.ensure_space("documents", owner_id=user_id)
        app.store.make_collection(space.id, "/cours")
        for i in range(size):
            app.store.commit_write(space.id, f"/cours/fiche-{i:03d}.txt", None)
        app.store.make_collection(space.id, "/cours/archives")
        client = _signed_in(app, "ann")
        page = client.get("/documents/porte-documents/cours/")
        assert page.status_code == 200
        assert page.get_data(as_text=True).count("fiche-") >= size
        return _statements(app, client, "/documents/porte-documents/cours/")

    counts = _each_size(tmp_path, monkeypatch, measure)
    assert counts[10] == counts[200], counts


def test_the_trash_page_costs_the_same_for_10_and_200_deleted_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    basic = {"Authorization": "Basic " + base64.b64encode(
        f"ann:{PASSWORD}".encode()).decode()}

    def measure(where: Path, size: int) -> int:
        app = _app(where, monkeypatch)
        user_id = _user(app, "ann", "teacher")
        space = app.store.ensure_space("documents", owner_id=user_id)
        dav = Client(app.wsgi)
        for i in range(size):
            app.store.commit_write(space.id, f"/brouillon-{i:03d}.txt", None)
            answer = dav.delete(f"/dav/porte-documents/brouillon-{i:03d}.txt", headers=basic)
            assert answer.status_code == 204
        client = _signed_in(app, "ann")
        page = client.get("/corbeille/")
        assert page.status_code == 200
        assert page.get_data(as_text=True).count("brouillon-") >= size
        return _statements(app, client, "/corbeille/")

    counts = _each_size(tmp_path, monkeypatch, measure)
    assert counts[10] == counts[200], counts


def _school(app: Application, size: int) -> None:
    """A school where ann teaches MATHS to 4B (ben): ``size`` lessons in the week of
    :data:`WEEK`, and as many the week before, each giving one homework due in its
    counterpart of the week (ten lessons a day, five days, from 8:00)."""
    with app.db.transaction() as s:
        school = acl.ensure_school(s, "Collège Jean Moulin")
        ann = acl.create_user(s, "ann", PASSWORD, "teacher", school_id=school).id
        ben = acl.create_user(s, "ben", PASSWORD, "student", school_id=school).id
        group = acl.ensure_group(s, school, "4B")
        acl.add_member(s, group, ben)
        year = textbook.set_school_year(s, school, date(2026, 8, 24), date(2027, 7, 4))
        service = textbook.ensure_service(s, school, group,
                                          acl.ensure_subject(s, school, "MATHS"), [ann])

        def lesson(monday: date, i: int) -> int:
            day = monday + timedelta(days=i % 5)
            start = datetime(day.year, day.month, day.day, 8, tzinfo=PARIS) + timedelta(
                minutes=5 * (i // 5))
            return textbook.create_lesson(s, service, start, start + timedelta(minutes=5),
                                          year).id

        for i in range(size):
            due = lesson(WEEK, i)
            given = lesson(WEEK - timedelta(days=7), i)
            textbook.add_activity(s, ann, given, textbook.ActivityInput(
                textbook.ActivityKind.homework, f"Exercice {i}", body="<p>Consignes</p>",
                homework_type="Exercices", minutes=20, due_lesson_id=due))
            textbook.add_activity(s, ann, due, textbook.ActivityInput(
                textbook.ActivityKind.content, f"Cours {i}"))


def test_a_teachers_week_costs_the_same_for_10_and_200_lessons(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def measure(where: Path, size: int) -> int:
        app = _app(where, monkeypatch)
        _school(app, size)
        client = _signed_in(app, "ann")
        url = f"/textbook/?week={WEEK.isoformat()}"
        page = client.get(url).get_data(as_text=True)
        assert page.count("data-lesson=") == size and page.count("Exercice ") == size
        return _statements(app, client, url)

    counts = _each_size(tmp_path, monkeypatch, measure)
    assert counts[10] == counts[200], counts


def test_a_students_homework_list_costs_the_same_for_10_and_200_homework(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def measure(where: Path, size: int) -> int:
        app = _app(where, monkeypatch)
        _school(app, size)
        client = _signed_in(app, "ben")
        url = f"/textbook/travail/?week={WEEK.isoformat()}"
        assert client.get(url).get_data(as_text=True).count("Exercice ") >= size
        return _statements(app, client, url)

    counts = _each_size(tmp_path, monkeypatch, measure)
    assert counts[10] == counts[200], counts


def _csrf(client: Client, url: str) -> str:
    token = _CSRF.search(client.get(url).get_data(as_text=True))
    assert token, f"no csrf_token in {url}"
    return token.group(1)


def test_asking_which_names_are_taken_costs_the_same_for_2_and_50_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file manager asks which names of a drop are taken before sending a byte: the
    folder's members at those names are read together, not one query a name."""
    def measure(where: Path, size: int) -> int:
        app = _app(where, monkeypatch)
        user_id = _user(app, "ann", "teacher")
        space = app.store.ensure_space("documents", owner_id=user_id)
        app.store.make_collection(space.id, "/cours")
        names = [f"fiche-{i:03d}.txt" for i in range(size)]
        for name in names[::2]:  # half of them taken
            app.store.commit_write(space.id, f"/cours/{name}", None)
        client = _signed_in(app, "ann")
        headers = {"X-CSRFToken": _csrf(client, "/documents/porte-documents/cours/")}
        url = "/documents/api/noms-pris/porte-documents/cours"
        with count_queries(app.db) as counter:
            answer = client.post(url, json={"names": names}, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert [t["asked"] for t in answer.get_json()["taken"]] == names[::2]
        assert all(t["replaceable"] for t in answer.get_json()["taken"])
        return len(counter.statements)

    counts = _each_size(tmp_path, monkeypatch, measure, (2, 50))
    assert counts[2] == counts[50], counts


def test_keep_both_costs_the_same_for_20_and_300_numbered_copies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """"Garder les deux" names the upload after the copies already there
    (``cours (2).pdf``…): the candidate names are looked up together, not one query
    a candidate."""
    def measure(where: Path, size: int) -> int:
        app = _app(where, monkeypatch)
        user_id = _user(app, "ann", "teacher")
        space = app.store.ensure_space("documents", owner_id=user_id)
        app.store.make_collection(space.id, "/cours")
        app.store.commit_write(space.id, "/cours/cours.pdf", None)
        for n in range(2, size + 2):
            app.store.commit_write(space.id, f"/cours/cours ({n}).pdf", None)
        client = _signed_in(app, "ann")
        headers = {"X-CSRFToken": _csrf(client, "/documents/porte-documents/cours/")}
        url = "/documents/api/fichiers/porte-documents/cours/cours.pdf?garder=1"
        with count_queries(app.db) as counter:
            answer = client.put(url, data=b"v2", headers=headers)
        assert answer.status_code == 201, answer.get_data(as_text=True)
        assert answer.get_json()["name"] == f"cours ({size + 2}).pdf"
        return len(counter.statements)

    counts = _each_size(tmp_path, monkeypatch, measure, (20, 300))
    assert counts[20] == counts[300], counts


def _due_lesson(app: Application, size: int) -> int:
    """ann's MATHS lesson of Monday :data:`WEEK` 8:00 for 4B (ben, and cid), with
    ``size`` homework due at it, each given in a lesson of its own the week before
    (every other one aimed at ben alone, the others at cid alone); its id."""
    with app.db.transaction() as s:
        school = acl.ensure_school(s, "Collège Jean Moulin")
        ann = acl.create_user(s, "ann", PASSWORD, "teacher", school_id=school).id
        group = acl.ensure_group(s, school, "4B")
        pupils = [acl.create_user(s, login, PASSWORD, "student", school_id=school).id
                  for login in ("ben", "cid")]
        for pupil in pupils:
            acl.add_member(s, group, pupil)
        year = textbook.set_school_year(s, school, date(2026, 8, 24), date(2027, 7, 4))
        service = textbook.ensure_service(s, school, group,
                                          acl.ensure_subject(s, school, "MATHS"), [ann])
        start = datetime(WEEK.year, WEEK.month, WEEK.day, 8, tzinfo=PARIS)
        due = textbook.create_lesson(s, service, start, start + timedelta(hours=1), year).id
        for i in range(size):
            given = start - timedelta(days=7 - i % 5, minutes=-5 * (i // 5))
            lesson = textbook.create_lesson(s, service, given, given + timedelta(minutes=5),
                                            year).id
            textbook.add_activity(s, ann, lesson, textbook.ActivityInput(
                textbook.ActivityKind.homework, f"Exercice {i}", homework_type="Exercices",
                minutes=20, due_lesson_id=due, target_ids=[pupils[i % 2]]))
        return due


@pytest.mark.parametrize("login", ["ann", "ben"], ids=["teacher", "student"])
def test_a_lessons_homework_due_costs_the_same_for_2_and_20_homework(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, login: str) -> None:
    """The lesson page lists the homework due at it (« Travail à faire pour cette
    séance »), each with the lesson it was given in: read together, whatever their
    number, for its teacher (all of them) and for a student (those aimed at them)."""
    def measure(where: Path, size: int) -> int:
        app = _app(where, monkeypatch)
        due = _due_lesson(app, size)
        client = _signed_in(app, login)
        url = f"/textbook/seances/{due}"
        page = client.get(url).get_data(as_text=True)
        shown = {i for i in range(size) if f"Exercice {i}<" in page}
        assert shown == {i for i in range(size) if login == "ann" or i % 2 == 0}, shown
        return _statements(app, client, url)

    counts = _each_size(tmp_path, monkeypatch, measure, (2, 20))
    assert counts[2] == counts[20], counts


def _home_world(app: Application, size: int) -> None:
    """:func:`_school` with each homework taken online and handed in by ben (a file
    each), ``size`` files in ann's porte-documents, a rubric everyone reads with
    ``size`` files published by ben this week, and a room teachers book."""
    from providers import Stamp
    from providers.models import Blob
    from web.booking import admin as booking_admin

    _school(app, size)
    with app.db.transaction() as s:
        school = acl.find_school(s, "Collège Jean Moulin")
        ann, ben = (acl.find_user(s, login) for login in ("ann", "ben"))
        assert ann is not None and ben is not None
        acl.add_rubric(s, "infos", "Infos", school_id=school)
        acl.grant(s, "infos", "visitor", pop=acl.Population())
        acl.grant(s, "infos", "publisher", user="ben")
        rubric = acl.get_rubric(s, "infos").id
        rooms = booking_admin.add_domain(s, school, "Salles", booking_admin.Hours(),
                                         profiles=["teacher"])
        booking_admin.add_resource(s, rooms, "Salle B12", "place")  # ann may book
    space = app.store.ensure_space("documents", owner_id=ann.id, profile="teacher")
    shared = app.store.ensure_space("rubric", rubric_id=rubric)
    app.store.make_collection(shared.id, "/Affiches", stamp=Stamp(ben.id, True))
    for i in range(size):
        app.store.commit_write(space.id, f"/fiche-{i:03d}.txt", None)
        app.store.commit_write(shared.id, f"/Affiches/affiche-{i:03d}.txt", None,
                               stamp=Stamp(ben.id, True))
    theirs = app.store.ensure_space("documents", owner_id=ben.id, profile="student")
    with app.db.transaction() as s:
        blob = Blob(key="copie", size=1, sha1="0" * 40, md5="0" * 32, created=0.0)
        s.add(blob)
        s.flush()
        for activity in s.scalars(select(textbook.Activity).where(
                textbook.Activity.kind == textbook.ActivityKind.homework)):
            activity.online_submission = True
            handin = textbook.Handin(activity_id=activity.id, student_id=ben.id)
            s.add(handin)
            s.flush()
            s.add(textbook.HandinFile(handin_id=handin.id, name="copie.pdf", size=1,
                                      content_type="application/pdf", blob_id=blob.id,
                                      space_id=theirs.id))


def test_a_teachers_home_page_costs_the_same_for_10_and_200_items(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every block shown (issue 20): lessons, copies to correct (one homework a
    hand-in), recent files (porte-documents and a rubric), rubrics with news, the
    bookings and the account; each reads its items together, whatever their number."""
    def measure(where: Path, size: int) -> int:
        app = _app(where, monkeypatch)
        _home_world(app, size)
        client = _signed_in(app, "ann")
        page = client.get("/").get_data(as_text=True)
        assert page.count("1 copie à corriger") == 8  # a block shows 8 lines at most
        assert "fiche-" in page and "affiche-" in page
        assert f"{size} nouveaux fichiers" in page
        assert "Aucune réservation à venir" in page  # ann may book: the block is there
        return _statements(app, client, "/")

    counts = _each_size(tmp_path, monkeypatch, measure)
    assert counts[10] == counts[200], counts


def test_a_rubric_access_tab_reads_its_folders_not_its_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Accès utilisateur tab names the folders of its grants and offers the
    rubric's folders in a list: one statement on ``nodes`` that answers the folders
    only, for 10 files in the space as for 200 (it once read every node of the
    space twice, files included). The statement is run again by the test to count
    the rows it answers."""
    def measure(where: Path, size: int) -> int:
        app = _app(where, monkeypatch)
        with app.db.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            for login in ("gil", "rita"):
                acl.create_user(s, login, PASSWORD, "teacher", school_id=school)
            rubric = acl.add_rubric(s, "journal", "Journal du collège", school_id=school)
            acl.grant(s, "journal", "manager", user="gil")
        space = app.store.ensure_space("rubric", rubric_id=rubric.id)
        for folder in ("/Affiches", "/Coulisses", "/Coulisses/Budget"):
            app.store.make_collection(space.id, folder)
        for i in range(size):
            app.store.commit_write(space.id, f"/Affiches/affiche-{i:03d}.txt", None)
        posters = app.store.resolve(space.id, "/Affiches")
        assert posters is not None
        with app.db.transaction() as s:
            acl.grant(s, "journal", "visitor", user="rita", folder_node_id=posters.id)
        client = _signed_in(app, "gil")
        url = "/rubriques/journal/gestion/acces-utilisateur"
        assert client.get(url).status_code == 200
        seen: list[tuple[str, Any]] = []

        def _before(_conn: Any, _cursor: Any, statement: str, parameters: Any,
                    *_args: Any) -> None:
            if re.search(r"\bFROM nodes\b", statement):
                seen.append((statement, parameters))

        event.listen(app.db.engine, "before_cursor_execute", _before)
        try:
            with count_queries(app.db) as counter:
                page = client.get(url)
        finally:
            event.remove(app.db.engine, "before_cursor_execute", _before)
        assert page.status_code == 200
        shown = page.get_data(as_text=True)
        offered = re.findall(r'<option value="(/[^"]*)"', shown)
        assert offered == ["/Affiches", "/Coulisses", "/Coulisses/Budget"], offered
        assert "<code>/Affiches</code>" in shown  # rita's grant names its folder
        assert len(seen) == 1, [statement for statement, _ in seen]
        statement, parameters = seen[0]
        with app.db.engine.connect() as connection:
            rows = connection.exec_driver_sql(statement, parameters).all()
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                              parameters).all()
        assert len(rows) == 3, rows  # the three folders, no file
        # Found through the index that holds folders only: no file row is visited.
        assert any("ix_nodes_space_folders" in str(step) for step in plan), plan
        return len(counter.statements)

    counts = _each_size(tmp_path, monkeypatch, measure)
    assert counts[10] == counts[200], counts


def test_the_media_picker_reads_one_page_of_a_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The editor's porte-documents picker (``…/attachments/choices``, 100 members a
    page) reads only the page it answers (``Store.children_page``: a count and the page,
    in SQL), never the whole folder: 250 members it offers (249 images and a
    sub-folder; 20 text files beside them it does not offer) answer pages of 100, 100
    and 50, with the total; a page costs the same statements for 30 members as for
    250."""
    from providers import Stamp
    from tests.integration.test_web_rich_text_browser import png

    image = png(2, 2)

    def measure(where: Path, size: int) -> int:
        app = _app(where, monkeypatch)
        _school(app, 1)
        with app.db.transaction() as s:
            ann = acl.find_user(s, "ann")
            assert ann is not None
            activity = s.scalars(select(textbook.Activity.id)).first()
        space = app.store.ensure_space("documents", owner_id=ann.id, profile="teacher")
        app.store.make_collection(space.id, "/Images", stamp=Stamp(ann.id, True))
        app.store.make_collection(space.id, "/Images/zz-classe", stamp=Stamp(ann.id, True))
        for i in range(size - 1):
            app.store.write_bytes(space.id, f"/Images/photo-{i:03d}.png", image,
                                  Stamp(ann.id, True))
        for i in range(20):
            app.store.write_bytes(space.id, f"/Images/note-{i:02d}.txt", b"texte",
                                  Stamp(ann.id, True))
        client = _signed_in(app, "ann")
        url = f"/api/textbook/activities/{activity}/attachments/choices?dossier=/Images"
        pages, start = [], 0
        while start is not None:
            answer = client.get(f"{url}&depart={start}").get_json()
            assert answer["total"] == size, answer["total"]
            pages.append([m["name"] for m in answer["members"]])
            start = answer["next"]
        shown = [name for page in pages for name in page]
        assert shown == [f"photo-{i:03d}.png" for i in range(size - 1)] + ["zz-classe"]
        if size == 250:
            assert [len(page) for page in pages] == [100, 100, 50]
        return _statements(app, client, f"{url}&depart=100" if size > 100 else url)

    counts = _each_size(tmp_path, monkeypatch, measure, (30, 250))
    assert counts[30] == counts[250], counts


def test_the_heads_home_page_costs_the_same_for_3_and_30_services(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """« Cahiers à viser »: ``size`` services of as many teachers, each with lessons
    last week and this week (before now), every other teacher visaed up to last
    Friday: the head's home page costs the same statements for 3 services as for 30
    (the block reads the school year's start, lessons grouped by service, visas grouped
    by teacher, and the services' names: four statements)."""
    def measure(where: Path, size: int) -> int:
        app = _app(where, monkeypatch)
        with app.db.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            hugo = acl.create_user(s, "hugo", PASSWORD, "head", school_id=school).id
            year = textbook.set_school_year(s, school, date(2026, 8, 24), date(2027, 7, 4))
            maths = acl.ensure_subject(s, school, "MATHS")
            for i in range(size):
                teacher = acl.create_user(s, f"prof{i:02d}", PASSWORD, "teacher",
                                          school_id=school).id
                service = textbook.ensure_service(
                    s, school, acl.ensure_group(s, school, f"6e{i:02d}"), maths, [teacher])
                for day in (date(2026, 8, 25), date(2026, 8, 31), date(2026, 9, 1)):
                    start = datetime(day.year, day.month, day.day, 8, tzinfo=PARIS)
                    textbook.create_lesson(s, service, start, start + timedelta(hours=1),
                                           year)
                if i % 2:
                    textbook.put_visa(s, hugo, teacher, date(2026, 8, 28))
        client = _signed_in(app, "hugo")
        page = client.get("/").get_data(as_text=True)
        assert 'class="home-block visas"' in page
        assert page.count("jamais visé") == min(8, (size + 1) // 2), size
        if size > 8:  # a block shows 8 lines, then the number of the others
            assert f"et {size - 8} autres services à viser" in page
        return _statements(app, client, "/")

    counts = _each_size(tmp_path, monkeypatch, measure, (3, 30))
    assert counts[3] == counts[30], counts
