"""Activities moved and copied between lessons and the binder (issue 5: "move an
activity to another lesson (its due lesson recomputed, the teacher told)", "copy
to the binder or to the next lesson of another service", "import one or many
activities of a lesson into a binder folder; import one or many binder items into
a lesson"), against a real server; binder items checked over WebDAV too.

ann teaches MATHS to 4B and 4C, carl FR to 4B (Europe/Paris, January 2027):

====  ===============  ======================
A1    Mon 11 08:00     MATHS 4B (ann)
K1    Mon 11 10:00     FR 4B (carl)
B1    Tue 12 09:00     MATHS 4C (ann)
A2    Wed 13 10:00     MATHS 4B (ann)
B2    Thu 14 09:00     MATHS 4C (ann)
A3    Fri 15 08:00     MATHS 4B (ann), the last of its service
====  ===============  ======================
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select

import acl
from tests.conftest import IN_TERM, PASSWORD, Server, running_server
from tests.integration.test_web_booking import Api
from tests.web import WebClient, csrf_token
from web import textbook

pytestmark = pytest.mark.clock(IN_TERM)

PARIS = ZoneInfo("Europe/Paris")
USERS = {"ann": "teacher", "carl": "teacher", "ben": "student"}
LESSONS = {"A1": ("ann", "4B", "MATHS", 11, 8), "K1": ("carl", "4B", "FR", 11, 10),
           "B1": ("ann", "4C", "MATHS", 12, 9), "A2": ("ann", "4B", "MATHS", 13, 10),
           "B2": ("ann", "4C", "MATHS", 14, 9), "A3": ("ann", "4B", "MATHS", 15, 8)}
IDS: dict[str, int] = {}
NS = "urn:ent-davserver:classeur"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("transfers"), users=USERS) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            ids = {login: acl.find_user(s, login).id for login in USERS}  # type: ignore[union-attr]
            acl.add_member(s, acl.ensure_group(s, school, "4B"), ids["ben"])
            year = textbook.set_school_year(s, school, date(2026, 9, 1), date(2027, 7, 4))
            for name, (teacher, group, subject, day, hour) in LESSONS.items():
                service = textbook.ensure_service(
                    s, school, acl.ensure_group(s, school, group),
                    acl.ensure_subject(s, school, subject), [ids[teacher]])
                start = datetime(2027, 1, day, hour, tzinfo=PARIS)
                IDS[name] = textbook.create_lesson(s, service, start,
                                                   start.replace(hour=hour + 1), year).id
        yield server


def client(server: Server, login: str) -> WebClient:
    web = WebClient(server)
    assert web.login(login, PASSWORD).status_code == 302
    return web


def add(server: Server, lesson: str, kind: textbook.ActivityKind, title: str,
        **extra: object) -> int:
    with server.transaction() as s:
        ann = acl.find_user(s, "ann").id  # type: ignore[union-attr]
        return textbook.add_activity(s, ann, IDS[lesson], textbook.ActivityInput(
            kind, title, homework_type="Exercices" if kind.value == "homework" else None,
            **extra)).id  # type: ignore[arg-type]


def post(web: WebClient, path: str, fields: dict[str, object]) -> requests.Response:
    token = csrf_token(web.get(f"/textbook/seances/{IDS['A1']}").text)
    return web.http.post(web.url(path), data={"csrf_token": token, **fields},
                         allow_redirects=False, timeout=30)


def where(server: Server, activity_id: int) -> tuple[int, int | None]:
    with server.transaction() as s:
        a = s.get_one(textbook.Activity, activity_id)
        return a.lesson_id, a.due_lesson_id


def count(server: Server) -> int:
    with server.transaction() as s:
        return int(s.scalar(select(func.count(textbook.Activity.id))) or 0)


def test_moving_a_homework_recomputes_its_due_lesson_and_says_so(srv: Server) -> None:
    hw = add(srv, "A1", textbook.ActivityKind.homework, "Exercices 1 à 4", minutes=20)
    assert where(srv, hw) == (IDS["A1"], IDS["A2"])
    ann = client(srv, "ann")
    page = ann.get(f"/textbook/seances/{IDS['A1']}")
    assert f'value="deplacer:{IDS["A2"]}"' in page.text  # the service's next lessons
    assert f'value="copier:{IDS["B1"]}"' in page.text  # the next lesson of 4C
    moved = post(ann, f"/textbook/activites/{hw}/transferer",
                 {"destination": f"deplacer:{IDS['A2']}"})
    assert moved.status_code == 302
    assert where(srv, hw) == (IDS["A2"], IDS["A3"])  # same activity, due one lesson later
    told = ann.get(moved.headers["Location"]).text
    assert "Activité déplacée." in told and "à faire pour le 15/01/2027 08:00" in told
    # A homework cannot go to the service's last lesson: no due date is possible there.
    last = post(ann, f"/textbook/activites/{hw}/transferer",
                {"destination": f"deplacer:{IDS['A3']}"})
    assert last.status_code == 409 and "dernière de son service" in last.text
    assert where(srv, hw) == (IDS["A2"], IDS["A3"])


def test_copying_to_another_services_next_lesson_makes_a_new_activity(srv: Server) -> None:
    hw = add(srv, "A1", textbook.ActivityKind.homework, "Problème du jardin", minutes=30)
    before = count(srv)
    ann = client(srv, "ann")
    copied = post(ann, f"/textbook/activites/{hw}/transferer",
                  {"destination": f"copier:{IDS['B1']}"})
    assert copied.status_code == 302
    assert count(srv) == before + 1 and where(srv, hw) == (IDS["A1"], IDS["A2"])
    with srv.transaction() as s:
        copy = s.scalars(select(textbook.Activity).where(
            textbook.Activity.lesson_id == IDS["B1"])).one()
        assert (copy.title, copy.minutes, copy.due_lesson_id) == \
            ("Problème du jardin", 30, IDS["B2"])


def test_only_the_teacher_of_both_lessons_transfers(srv: Server) -> None:
    content = add(srv, "A1", textbook.ActivityKind.content, "Théorème de Pythagore")
    carl, ben, ann = client(srv, "carl"), client(srv, "ben"), client(srv, "ann")
    for web, destination in ((carl, f"deplacer:{IDS['K1']}"),   # not his activity
                             (ann, f"deplacer:{IDS['K1']}"),    # not her lesson
                             (ben, f"deplacer:{IDS['A2']}")):   # a student
        refused = post(web, f"/textbook/activites/{content}/transferer",
                       {"destination": destination})
        assert refused.status_code == 403, (destination, refused.status_code)
    assert post(ann, f"/textbook/activites/{content}/transferer",
                {"destination": "ailleurs:1"}).status_code == 400
    assert where(srv, content) == (IDS["A1"], None)


def test_binder_items_round_trip_with_their_dead_properties(srv: Server) -> None:
    dav = srv.session("ann")
    base = srv.dav_url + "/classeur/"
    assert dav.request("MKCOL", base + "Niveau 4e/", timeout=30).status_code == 201
    hw = add(srv, "A1", textbook.ActivityKind.homework, "Fiche 12 / géométrie",
             body="<p>Figures <b>1</b> à 3</p>", minutes=25)
    content = add(srv, "A1", textbook.ActivityKind.content, "Cours : les aires")
    ann = client(srv, "ann")
    saved = post(ann, f"/textbook/seances/{IDS['A1']}/vers-classeur",
                 {"activities": [str(hw), str(content)], "folder": "/Niveau 4e"})
    assert saved.status_code == 302, saved.text
    item = dav.get(base + "Niveau 4e/Fiche 12 - géométrie.html", timeout=30)
    assert item.status_code == 200 and "<b>1</b>" in item.text
    props = dav.request("PROPFIND", base + "Niveau 4e/Fiche 12 - géométrie.html",
                        headers={"Depth": "0"}, timeout=30, data=(
                            f'<propfind xmlns="DAV:"><prop><kind xmlns="{NS}"/>'
                            f'<minutes xmlns="{NS}"/></prop></propfind>'))
    assert props.status_code == 207
    assert re.search(r">homework<", props.text) and re.search(r">25<", props.text)
    # Saved again: a copy beside it, never overwritten.
    post(ann, f"/textbook/activites/{hw}/transferer", {"destination": "classeur:/Niveau 4e"})
    assert dav.get(base + "Niveau 4e/Fiche 12 - géométrie (copie).html",
                   timeout=30).status_code == 200
    # A page the teacher dropped in by hand imports as a content named by its heading.
    note = "<html><body><h1>Rappel</h1><p>Apporter le compas</p><script>x()</script>" \
        "</body></html>"
    assert dav.put(base + "Niveau 4e/notes.html", data=note.encode(),
                   timeout=30).status_code == 201
    before = count(srv)
    imported = post(ann, f"/textbook/seances/{IDS['A2']}/depuis-classeur", {"items": [
        "/Niveau 4e/Fiche 12 - géométrie.html", "/Niveau 4e/notes.html"]})
    assert imported.status_code == 302, imported.text
    with srv.transaction() as s:
        new = list(s.scalars(select(textbook.Activity).where(
            textbook.Activity.lesson_id == IDS["A2"],
            textbook.Activity.title.in_(["Fiche 12 / géométrie", "Rappel"]))
            .order_by(textbook.Activity.id)))
        assert [(a.kind.value, a.title, a.minutes, a.due_lesson_id) for a in new] == [
            ("homework", "Fiche 12 / géométrie", 25, IDS["A3"]),
            ("content", "Rappel", None, None)]
        assert "compas" in new[1].body and "script" not in new[1].body
    assert count(srv) == before + 2


def test_a_bad_item_imports_nothing(srv: Server) -> None:
    dav = srv.session("ann")
    base = srv.dav_url + "/classeur/"
    assert dav.put(base + "bon.html", data=b"<h1>Bon</h1>", timeout=30).status_code == 201
    assert dav.put(base + "latin1.html", data="<p>é</p>".encode("latin-1"),
                   timeout=30).status_code == 201
    ann = client(srv, "ann")
    before = count(srv)
    refused = post(ann, f"/textbook/seances/{IDS['A2']}/depuis-classeur",
                   {"items": ["/bon.html", "/latin1.html"]})
    assert refused.status_code == 400 and "latin1.html" in refused.text
    missing = post(ann, f"/textbook/seances/{IDS['A2']}/depuis-classeur",
                   {"items": ["/absent.html"]})
    assert missing.status_code == 404
    assert count(srv) == before  # all or none
    carl = client(srv, "carl")  # another teacher's binder is not reachable
    assert post(carl, f"/textbook/seances/{IDS['K1']}/depuis-classeur",
                {"items": ["/bon.html"]}).status_code == 404


class TextbookApi(Api):
    def __init__(self, server: Server, login: str) -> None:
        super().__init__(server, login)
        self.base = server.base_url + "/api/textbook"


def test_the_json_api_moves_copies_exports_and_imports(srv: Server) -> None:
    api = TextbookApi(srv, "ann")
    hw = add(srv, "A1", textbook.ActivityKind.homework, "Exercices API", minutes=15)
    moved = api.post(f"/activities/{hw}/move", {"lesson_id": IDS["A2"]})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["lesson_id"], moved.json()["due_lesson_id"]) == (IDS["A2"], IDS["A3"])
    copied = api.post(f"/activities/{hw}/copy", {"lesson_id": IDS["B1"]})
    assert copied.status_code == 201 and copied.json()["due_lesson_id"] == IDS["B2"]
    both = api.post(f"/activities/{hw}/copy", {"lesson_id": IDS["B1"], "binder_folder": "/"})
    assert both.status_code == 400
    exported = api.post(f"/lessons/{IDS['A2']}/binder-export",
                        {"activity_ids": [hw], "folder": "/"})
    assert exported.status_code == 201 and exported.json() == {"items": ["Exercices API.html"]}
    tree = api.get("/binder").json()
    assert "/Exercices API.html" in [i["path"] for i in tree["items"]]
    last = api.post(f"/lessons/{IDS['B2']}/binder-import", {"items": ["/Exercices API.html"]})
    assert last.status_code == 400 and "pas de séance après" in last.json()["error"]
    imported = api.post(f"/lessons/{IDS['B1']}/binder-import",
                        {"items": ["/Exercices API.html"]})
    assert imported.status_code == 201, imported.text
    [made] = imported.json()["activities"]
    assert (made["kind"], made["title"], made["minutes"], made["due_lesson_id"]) == \
        ("homework", "Exercices API", 15, IDS["B2"])
    item = api.post("/binder/items", {"folder": "/", "kind": "content", "title": "C9 API",
                                      "body": "<p>ok</p><script>x()</script>"})
    assert item.status_code == 201 and item.json() == {"item": "C9 API.html"}
    assert api.post("/binder/items", {"folder": "/absent", "kind": "content",
                                      "title": "x"}).status_code == 404
    refused = TextbookApi(srv, "carl").post(f"/activities/{hw}/move", {"lesson_id": IDS["K1"]})
    assert refused.status_code == 403 and "error" in refused.json()
    assert TextbookApi(srv, "ben").get("/binder").status_code == 404


def test_a_new_binder_item_written_in_the_browser_imports_into_a_lesson(srv: Server) -> None:
    dav = srv.session("ann")
    assert dav.request("MKCOL", srv.dav_url + "/classeur/Niveau 3e/",
                       timeout=30).status_code == 201
    ann = client(srv, "ann")
    folder_page = ann.get("/documents/classeur/Niveau%203e/")
    assert folder_page.status_code == 200 and "Nouvel élément (activité)" in folder_page.text
    form = ann.get("/textbook/classeur/nouvel-element?dossier=/Niveau 3e")
    assert form.status_code == 200
    fields = {"csrf_token": csrf_token(form.text), "kind": "homework", "title": "T2 : fiche",
              "body": "<p>Fiche <em>2</em><img src=x onerror=alert(1)></p>",
              "homework_type": "Devoir maison", "minutes": "40"}
    empty = ann.post("/textbook/classeur/nouvel-element?dossier=/Niveau 3e",
                     {**fields, "title": ""})
    assert empty.status_code == 400 and "Donnez un titre." in empty.text
    made = ann.post("/textbook/classeur/nouvel-element?dossier=/Niveau 3e", fields)
    assert made.status_code == 303, made.text
    assert made.headers["Location"].endswith("/documents/classeur/Niveau%203e/")
    item = dav.get(srv.dav_url + "/classeur/Niveau 3e/T2 - fiche.html", timeout=30)
    assert item.status_code == 200 and "onerror" not in item.text and "<em>2</em>" in item.text
    imported = post(ann, f"/textbook/seances/{IDS['A1']}/depuis-classeur",
                    {"items": ["/Niveau 3e/T2 - fiche.html"]})
    assert imported.status_code == 302
    with srv.transaction() as s:
        made_hw = s.scalars(select(textbook.Activity).where(
            textbook.Activity.title == "T2 : fiche")).one()
        assert (made_hw.kind.value, made_hw.homework_type, made_hw.minutes,
                made_hw.due_lesson_id) == ("homework", "Devoir maison", 40, IDS["A2"])
    # No binder for a student: the page is not theirs.
    assert client(srv, "ben").get("/textbook/classeur/nouvel-element").status_code == 404


def test_valider_et_copier_saves_the_edit_then_copies(srv: Server) -> None:
    """« Valider et copier vers … » on the edit page: the edit is saved, then the
    activity is copied to the chosen place (here the next lesson of 4C)."""
    content = add(srv, "A1", textbook.ActivityKind.content, "Cours brouillon")
    ann = client(srv, "ann")
    form = ann.get(f"/textbook/activites/{content}/modifier")
    assert form.status_code == 200 and "Valider et copier vers" in form.text
    assert f'value="copier:{IDS["B1"]}"' in form.text and 'value="classeur:/"' in form.text
    done = ann.post(f"/textbook/activites/{content}/modifier", {
        "csrf_token": csrf_token(form.text), "content-title": "Cours définitif",
        "content-body": "<p>Propriétés</p>", "content-private_note": "",
        "then": "copy", "copy_to": f"copier:{IDS['B1']}"})
    assert done.status_code == 303, done.text
    with srv.transaction() as s:
        rows = s.scalars(select(textbook.Activity).where(
            textbook.Activity.title == "Cours définitif").order_by(textbook.Activity.id)).all()
        assert [(a.id == content, a.lesson_id) for a in rows] == [
            (True, IDS["A1"]), (False, IDS["B1"])]
