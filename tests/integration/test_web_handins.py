"""Online submission (issue 7, "remise en ligne" and "Bad input") against a real
server: who may hand in, read, correct and close (a table walked cell by cell);
late marking; refusals that store nothing (closed, not targeted, over quota, bad
name, flag off); the teacher's zip; notifications; ``davserver fsck`` clean after
hand-ins, corrections and a taken-back file.

People, lessons and homework: :mod:`tests.integration.handin_kit`.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
from lxml import html
from sqlalchemy import func, select

from tests.conftest import IN_TERM, Server
from tests.integration.handin_kit import api, correct, hand_in, handin_server
from tests.integration.oversight_kit import signed_in
from tests.web import csrf_token
from web import notifications, textbook

pytestmark = pytest.mark.clock(IN_TERM)

IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with handin_server(tmp_path_factory.mktemp("handins"), IDS) as server:
        yield server


def file_count(server: Server) -> int:
    with server.transaction() as s:
        return int(s.scalar(select(func.count(textbook.HandinFile.id))) or 0)


def ledger_and_blobs(server: Server, login: str) -> tuple[int, int, set[str], int]:
    """(used, reserved) of the user's porte-documents, the blob keys, unfinished uploads."""
    with server.app() as app:
        space = app.store.ensure_space("documents", owner_id=IDS[login], profile="student")
        figures = app.store.usage(space.id)
        assert figures is not None
        return (figures.used, figures.reserved, set(app.store.blobs.keys()),
                app.store.blobs.count_incomplete())


def first_file(server: Server, activity: int, login: str) -> int:
    with server.transaction() as s:
        row = textbook.Handin
        return int(s.scalar(select(textbook.HandinFile.id).join(
            row, row.id == textbook.HandinFile.handin_id).where(
            row.activity_id == activity, row.student_id == IDS[login])))


# --- who may do what ----------------------------------------------------------------

HAND_IN = {"ben": 201, "max": 403, "zoe": 404, "pam": 403, "ann": 403, "carl": 403,
           "hugo": 403}
READ = {"ben": 200, "ann": 200, "max": 404, "zoe": 404, "pam": 403, "carl": 403,
        "hugo": 403}
CORRECT = {"ann": 201, "carl": 403, "hugo": 403, "ben": 403, "max": 403}
CLOSE = {"ann": 200, "carl": 403, "hugo": 403, "ben": 403}
TEACHER_PAGE = {"ann": 200, "carl": 403, "hugo": 403, "ben": 403, "pam": 403}


@pytest.mark.parametrize(("login", "status"), HAND_IN.items())
def test_who_may_hand_in(srv: Server, login: str, status: int) -> None:
    before = file_count(srv)
    answer = hand_in(signed_in(srv, login), IDS["HW_BEN"], f"{login}.txt", b"mon travail")
    assert answer.status_code == status, answer.text
    assert file_count(srv) == before + (1 if status == 201 else 0)
    if status != 201:
        assert answer.json()["error"]  # a French reason


@pytest.mark.parametrize(("login", "status"), READ.items())
def test_who_may_read_a_handed_in_file(srv: Server, login: str, status: int) -> None:
    hand_in(signed_in(srv, "ben"), IDS["HW_BEN"], "lisible.txt", b"contenu lisible")
    file_id = first_file(srv, IDS["HW_BEN"], "ben")
    answer = signed_in(srv, login).get(f"/textbook/remises/remise/{file_id}")
    assert answer.status_code == status
    if status == 200:
        assert answer.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(("login", "status"), CORRECT.items())
def test_who_may_return_a_correction(srv: Server, login: str, status: int) -> None:
    answer = correct(signed_in(srv, login), IDS["HW_BEN"], IDS["ben"], f"corr-{login}.txt",
                     b"corrige")
    assert answer.status_code == status, answer.text


@pytest.mark.parametrize(("login", "status"), CLOSE.items())
def test_who_may_close(srv: Server, login: str, status: int) -> None:
    client = signed_in(srv, login)
    assert api(client, "POST", f"/api/textbook/activities/{IDS['HW_BEN']}/close"
               ).status_code == status
    assert api(client, "POST", f"/api/textbook/activities/{IDS['HW_BEN']}/reopen"
               ).status_code == status


@pytest.mark.parametrize(("login", "status"), TEACHER_PAGE.items())
def test_who_sees_the_teacher_page(srv: Server, login: str, status: int) -> None:
    answer = signed_in(srv, login).get(f"/textbook/activites/{IDS['HW_BEN']}/remises")
    assert answer.status_code == status


# --- rules and refusals -------------------------------------------------------------

def test_late_and_on_time(srv: Server) -> None:
    ben = signed_in(srv, "ben")
    late = hand_in(ben, IDS["HW_LATE"], "retard.txt", b"en retard")
    on_time = hand_in(ben, IDS["HW_OPEN"], "alheure.txt", b"a l'heure")
    assert late.status_code == 201 and late.json()["late"] is True
    assert on_time.status_code == 201 and on_time.json()["late"] is False
    page = signed_in(srv, "ann").get(f"/textbook/activites/{IDS['HW_LATE']}/remises")
    row = html.fromstring(page.text).xpath('//tr[@data-student="ben"]')[0]
    assert "en retard" in row.text_content()
    lesson = ben.get(f"/textbook/seances/{IDS['L0']}").text
    assert "à l'heure" in lesson and "alheure.txt" in lesson


def test_closed_hand_in_is_refused_then_reopened(srv: Server) -> None:
    ann, ben = signed_in(srv, "ann"), signed_in(srv, "ben")
    shut = f"/api/textbook/activities/{IDS['HW_SHUT']}"
    assert api(ann, "POST", shut + "/close").status_code == 200
    before, state = file_count(srv), ledger_and_blobs(srv, "ben")
    refused = hand_in(ben, IDS["HW_SHUT"], "trop-tard.txt", b"x" * 100)
    assert refused.status_code == 409 and "clos la remise" in refused.json()["error"]
    assert file_count(srv) == before and ledger_and_blobs(srv, "ben") == state
    assert "La remise est close" in ben.get(f"/textbook/seances/{IDS['L0']}").text
    assert api(ann, "POST", shut + "/reopen").status_code == 200
    assert hand_in(ben, IDS["HW_SHUT"], "rouvert.txt", b"ok").status_code == 201


def test_over_quota_is_507_and_leaves_nothing(srv: Server) -> None:
    used, _reserved, _keys, _tmp = ledger_and_blobs(srv, "lea")
    with srv.app() as app:
        space = app.store.ensure_space("documents", owner_id=IDS["lea"], profile="student")
        app.store.set_limit(space.id, used + 10)
    before, state = file_count(srv), ledger_and_blobs(srv, "lea")
    answer = hand_in(signed_in(srv, "lea"), IDS["HW_OPEN"], "gros.bin", b"z" * 5000)
    assert answer.status_code == 507
    assert "Espace insuffisant" in answer.json()["error"]
    assert file_count(srv) == before and ledger_and_blobs(srv, "lea") == state
    with srv.app() as app:
        app.store.set_limit(space.id, None)


@pytest.mark.parametrize(("name", "activity", "status", "reason"), [
    ("a\\b.txt", "HW_OPEN", 400, "ne peut pas contenir"),
    ("tab%09name.txt", "HW_OPEN", 400, "caractère de contrôle"),  # issue 17
    ("c1%C2%85name.txt", "HW_OPEN", 400, "caractère de contrôle"),
    ("é" * 200 + ".txt", "HW_OPEN", 400, "Ce nom est trop long"),
    ("papier.txt", "HW_OFF", 409, "ne se remet pas en ligne"),
])
def test_bad_input_stores_nothing(srv: Server, name: str, activity: str, status: int,
                                  reason: str) -> None:
    before, state = file_count(srv), ledger_and_blobs(srv, "ben")
    answer = hand_in(signed_in(srv, "ben"), IDS[activity], name, b"contenu")
    assert answer.status_code == status and reason in answer.json()["error"]
    assert file_count(srv) == before and ledger_and_blobs(srv, "ben") == state


def test_another_class_learns_nothing_of_a_homework(srv: Server) -> None:
    zoe = signed_in(srv, "zoe")
    for activity in ("HW_OFF", "HW_OPEN"):  # flag off or on: the same 404
        assert hand_in(zoe, IDS[activity], "z.txt", b"z").status_code == 404
        assert api(zoe, "GET", f"/api/textbook/activities/{IDS[activity]}/handins"
                   ).status_code == 404


def test_same_name_twice_is_409(srv: Server) -> None:
    ben = signed_in(srv, "ben")
    assert hand_in(ben, IDS["HW_OPEN"], "double.txt", b"1").status_code == 201
    again = hand_in(ben, IDS["HW_OPEN"], "double.txt", b"2")
    assert again.status_code == 409 and "déjà remis" in again.json()["error"]
    # NFC and NFD spell one name (issue 17): no twin either.
    assert hand_in(ben, IDS["HW_OPEN"], "r%C3%A9sum%C3%A9.txt", b"nfc").status_code == 201
    twin = hand_in(ben, IDS["HW_OPEN"], "re%CC%81sume%CC%81.txt", b"nfd")
    assert twin.status_code == 409 and "déjà remis" in twin.json()["error"]


# --- the teacher's side -------------------------------------------------------------

def test_zip_holds_every_file_one_folder_per_student(srv: Server) -> None:
    hand_in(signed_in(srv, "ben"), IDS["HW_OPEN"], "zip-ben.txt", b"de ben")
    hand_in(signed_in(srv, "max"), IDS["HW_OPEN"], "zip-max.txt", b"de max")
    with srv.transaction() as s:
        _hw, rows = textbook.student_rows(s, IDS["ann"], IDS["HW_OPEN"])
        expected = {(r.student.login, f.name) for r in rows for f in r.files}
    answer = signed_in(srv, "ann").get(f"/textbook/activites/{IDS['HW_OPEN']}/remises.zip")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    found = {(n.split("/")[0].rsplit("(", 1)[1].rstrip(")"), n.split("/")[1])
             for n in archive.namelist() if not n.endswith("/")}
    assert found == expected and ("max", "zip-max.txt") in found
    ben_file = next(n for n in archive.namelist() if n.endswith("/zip-ben.txt"))
    assert archive.read(ben_file) == b"de ben"
    assert signed_in(srv, "carl").get(
        f"/textbook/activites/{IDS['HW_OPEN']}/remises.zip").status_code == 403


def test_notifications_and_correction_seen_by_the_student(srv: Server) -> None:
    with srv.transaction() as s:
        ann_before = notifications.unread_count(s, IDS["ann"])
        ben_before = notifications.unread_count(s, IDS["ben"])
    ben = signed_in(srv, "ben")
    assert hand_in(ben, IDS["HW_OPEN"], "notif.txt", b"pour la notification").status_code == 201
    back = correct(signed_in(srv, "ann"), IDS["HW_OPEN"], IDS["ben"], "corrigé.txt",
                   b"tres bien")
    assert back.status_code == 201
    with srv.transaction() as s:
        assert notifications.unread_count(s, IDS["ann"]) == ann_before + 1
        assert notifications.unread_count(s, IDS["ben"]) == ben_before + 1
    lesson = ben.get(f"/textbook/seances/{IDS['L0']}").text
    assert "Correction de l'enseignant" in lesson and "corrigé.txt" in lesson
    assert ben.get(back.json()["url"]).content == b"tres bien"
    assert signed_in(srv, "lea").get(back.json()["url"]).status_code == 404


def test_take_back_frees_the_bytes(srv: Server) -> None:
    ben = signed_in(srv, "ben")
    used_before = ledger_and_blobs(srv, "ben")[0]
    added = hand_in(ben, IDS["HW_OPEN"], "reprise.txt", b"r" * 321)
    assert added.status_code == 201
    assert ledger_and_blobs(srv, "ben")[0] == used_before + 321
    assert api(signed_in(srv, "max"), "DELETE",
               f"/api/textbook/handin-files/{added.json()['id']}").status_code == 404
    gone = api(ben, "DELETE", f"/api/textbook/handin-files/{added.json()['id']}")
    assert gone.status_code == 200
    assert ledger_and_blobs(srv, "ben")[0] == used_before


def test_lesson_page_links_the_hand_ins_for_teachers(srv: Server) -> None:
    page = signed_in(srv, "ann").get(f"/textbook/seances/{IDS['L0']}").text
    assert f"/textbook/activites/{IDS['HW_OPEN']}/remises" in page
    assert f"/textbook/activites/{IDS['HW_OFF']}/remises" not in page


def test_fsck_is_clean_after_hand_ins_and_corrections(srv: Server) -> None:
    ben = signed_in(srv, "ben")
    assert hand_in(ben, IDS["HW_OPEN"], "fsck.txt", b"f" * 77).status_code == 201
    assert correct(signed_in(srv, "ann"), IDS["HW_OPEN"], IDS["ben"], "fsck-corr.txt",
                   b"c" * 55).status_code == 201
    done = srv.cli("fsck", check=False)
    assert done.returncode == 0 and "fsck: clean" in done.stdout, done.stdout + done.stderr


def test_homework_with_hand_ins_cannot_be_deleted(srv: Server) -> None:
    ben, ann = signed_in(srv, "ben"), signed_in(srv, "ann")
    assert hand_in(ben, IDS["HW_OPEN"], "garde.txt", b"garde").status_code == 201
    refused = ann.post(f"/textbook/activites/{IDS['HW_OPEN']}/supprimer",
                       {"csrf_token": csrf_token(ann.get("/").text)})
    assert refused.status_code == 409 and "ne peut plus" in refused.text
    with srv.transaction() as s:
        assert s.get(textbook.Activity, IDS["HW_OPEN"]) is not None
