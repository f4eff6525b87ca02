"""Attachments of textbook activities (issue 5: "attachments (uploaded, or picked from
the teacher's porte-documents: the blob is shared, not copied, and counts once
against the teacher's quota)", "an attachment over quota") against a real server:
who reads them (a table walked cell by cell), the download's headers, an upload over
quota that saves nothing, a pick that shares the blob and outlives the file's
deletion and purge, removal and activity deletion that free the charge, a copy to
another lesson that shares the attachments, the plain-form fallbacks, and ``davserver
fsck`` clean after all of it.

People, lessons and homework: :mod:`tests.integration.handin_kit` (ann teaches MATHS
4B; ``HW_OPEN`` in ``L0`` for the whole class; ``LF`` a week ahead).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import func, select

from tests.conftest import IN_TERM, PASSWORD, Server
from tests.integration.handin_kit import api, handin_server
from tests.integration.oversight_kit import signed_in
from tests.web import WebClient, csrf_token
from web import textbook

pytestmark = pytest.mark.clock(IN_TERM)

IDS: dict[str, int] = {}
CONTENT = "application/octet-stream"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with handin_server(tmp_path_factory.mktemp("attachments"), IDS) as server:
        yield server


def attach(client: WebClient, activity: int, name: str, data: bytes) -> requests.Response:
    return api(client, "PUT", f"/api/textbook/activities/{activity}/attachments/{name}", data)


def pick(client: WebClient, activity: int, path: str) -> requests.Response:
    return api(client, "POST", f"/api/textbook/activities/{activity}/attachments/pick",
               json={"path": path})


def ann_state(server: Server) -> tuple[int, int, set[str]]:
    """(used, reserved) of ann's porte-documents and every blob key of the store."""
    with server.app() as app:
        space = app.store.ensure_space("documents", owner_id=IDS["ann"], profile="teacher")
        figures = app.store.usage(space.id)
        assert figures is not None
        return figures.used, figures.reserved, set(app.store.blobs.keys())


def attachment_count(server: Server) -> int:
    with server.transaction() as s:
        return int(s.scalar(select(func.count(textbook.Attachment.id))) or 0)


def new_activity(server: Server, title: str, lesson: str = "L0") -> int:
    with server.transaction() as s:
        return textbook.add_activity(s, IDS["ann"], IDS[lesson], textbook.ActivityInput(
            textbook.ActivityKind.content, title)).id


def dav_put(server: Server, path: str, data: bytes) -> None:
    answer = requests.put(f"{server.dav_url}/porte-documents/{path}", data=data,
                          auth=("ann", PASSWORD), timeout=30)
    assert answer.status_code in (201, 204), answer.text


def assert_fsck_clean(server: Server) -> None:
    done = server.cli("fsck", check=False)
    assert done.returncode == 0 and "fsck: clean" in done.stdout, done.stdout + done.stderr


# --- who reads ----------------------------------------------------------------------

READ = {"ann": 200, "ben": 200, "lea": 200, "pam": 200, "hugo": 200, "zoe": 404,
        "carl": 403, "hector": 403}


@pytest.fixture(scope="module")
def sheet(srv: Server) -> dict[str, object]:
    """A file ann attached to HW_OPEN."""
    answer = attach(signed_in(srv, "ann"), IDS["HW_OPEN"], "Fiche d'exercices é.pdf",
                    b"%PDF-1.4 fiche")
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("login", "status"), READ.items())
def test_who_reads_an_attachment(srv: Server, sheet: dict[str, object], login: str,
                                 status: int) -> None:
    client = signed_in(srv, login)
    got = client.get(str(sheet["url"]))
    assert got.status_code == status
    listing = client.get(f"/api/textbook/activities/{IDS['HW_OPEN']}/attachments")
    assert listing.status_code == status
    from_api = client.get(f"/api/textbook/attachments/{sheet['id']}")
    assert from_api.status_code == status
    if status == 200:
        assert got.content == from_api.content == b"%PDF-1.4 fiche"
        assert got.headers["Content-Disposition"].startswith("attachment;")
        assert "filename*=UTF-8''Fiche%20d%27exercices%20%C3%A9.pdf" in \
            got.headers["Content-Disposition"]
        assert got.headers["Content-Security-Policy"] == "sandbox"
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert [a["name"] for a in listing.json()["attachments"]] == ["Fiche d'exercices é.pdf"]


@pytest.mark.parametrize("login", ["ben", "carl", "hugo", "pam"])
def test_only_the_teachers_attach_and_remove(srv: Server, sheet: dict[str, object],
                                             login: str) -> None:
    before, state = attachment_count(srv), ann_state(srv)
    client = signed_in(srv, login)
    assert attach(client, IDS["HW_OPEN"], "intrus.txt", b"x").status_code == 403
    assert api(client, "DELETE", f"/api/textbook/attachments/{sheet['id']}").status_code == 403
    assert attachment_count(srv) == before and ann_state(srv) == state


def test_lesson_page_and_homework_list_link_it(srv: Server, sheet: dict[str, object]) -> None:
    ben = signed_in(srv, "ben")
    assert str(sheet["url"]) in ben.get(f"/textbook/seances/{IDS['L0']}").text
    week = ben.get("/textbook/travail/", params={"week": _day(srv, "LF")})
    assert week.status_code == 200 and str(sheet["url"]) in week.text
    teacher_page = signed_in(srv, "ann").get(f"/textbook/seances/{IDS['L0']}").text
    assert "Joindre un fichier" in teacher_page and "Depuis mon porte-documents" in teacher_page
    assert "Joindre un fichier" not in ben.get(f"/textbook/seances/{IDS['L0']}").text


def test_content_not_shown_yet_hides_its_attachments(srv: Server) -> None:
    """A content shows to students once its lesson is over: its attachment too."""
    future = new_activity(srv, "Cours à venir", lesson="LF")
    added = attach(signed_in(srv, "ann"), future, "plan.txt", b"plan")
    assert added.status_code == 201
    assert signed_in(srv, "ann").get(added.json()["url"]).status_code == 200
    ben = signed_in(srv, "ben")
    assert ben.get(added.json()["url"]).status_code == 404
    assert ben.get(f"/api/textbook/activities/{future}/attachments").status_code == 404


def _day(server: Server, lesson: str) -> str:
    with server.transaction() as s:
        return s.get_one(textbook.Lesson, IDS[lesson]).start.date().isoformat()


# --- charges ------------------------------------------------------------------------

def test_upload_is_charged_and_removal_frees_it(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    used, _reserved, keys = ann_state(srv)
    added = attach(ann, IDS["HW_OPEN"], "corrigé.txt", b"c" * 321)
    assert added.status_code == 201 and added.json()["shared"] is False
    assert ann_state(srv)[0] == used + 321
    assert attach(ann, IDS["HW_OPEN"], "corrigé.txt", b"encore").status_code == 409
    gone = api(ann, "DELETE", f"/api/textbook/attachments/{added.json()['id']}")
    assert gone.status_code == 200
    assert ann_state(srv) == (used, 0, keys)  # charge freed, blob file removed
    assert ann.get(added.json()["url"]).status_code == 404


def test_over_quota_is_507_and_saves_nothing(srv: Server) -> None:
    used, _reserved, _keys = ann_state(srv)
    with srv.app() as app:
        space = app.store.ensure_space("documents", owner_id=IDS["ann"], profile="teacher")
        app.store.set_limit(space.id, used + 10)
    before, state = attachment_count(srv), ann_state(srv)
    try:
        answer = attach(signed_in(srv, "ann"), IDS["HW_OPEN"], "énorme.bin", b"z" * 5000)
        assert answer.status_code == 507
        reason = answer.json()["error"]
        assert "Espace insuffisant" in reason and "énorme.bin" in reason and "10 octets" in reason
        assert attachment_count(srv) == before and ann_state(srv) == state
    finally:
        with srv.app() as app:
            app.store.set_limit(space.id, None)


def test_deleting_the_activity_for_good_frees_its_attachments(srv: Server) -> None:
    """Put in the corbeille, the activity keeps its attachments' charge (issue 20);
    deleted for good from there, it frees it."""
    ann = signed_in(srv, "ann")
    used, _reserved, keys = ann_state(srv)
    activity = new_activity(srv, "Éphémère")
    assert attach(ann, activity, "a.txt", b"a" * 100).status_code == 201
    assert attach(ann, activity, "b.txt", b"b" * 50).status_code == 201
    assert ann_state(srv)[0] == used + 150
    for action in ("supprimer", "supprimer-definitivement"):
        done = ann.post(f"/textbook/activites/{activity}/{action}",
                        {"csrf_token": csrf_token(ann.get("/").text)})
        assert done.status_code == 303
        if action == "supprimer":
            assert ann_state(srv)[0] == used + 150
    with srv.transaction() as s:
        assert s.get(textbook.Activity, activity) is None
    assert ann_state(srv) == (used, 0, keys)
    assert_fsck_clean(srv)


def test_a_picked_file_is_shared_and_outlives_its_deletion(srv: Server) -> None:
    ann, ben = signed_in(srv, "ann"), signed_in(srv, "ben")
    dav_put(srv, "cours-partage.txt", b"cours du jour")
    used, _reserved, keys = ann_state(srv)
    with srv.app() as app:
        space = app.store.ensure_space("documents", owner_id=IDS["ann"], profile="teacher")
        node = app.store.resolve(space.id, "/cours-partage.txt")
        assert node is not None
    assert pick(ann, IDS["HW_OPEN"], "/Nulle/part.txt").status_code == 404
    picked = pick(ann, IDS["HW_OPEN"], "cours-partage.txt")
    assert picked.status_code == 201 and picked.json()["shared"] is True
    assert ann_state(srv) == (used, 0, keys)  # no charge, no new blob: counted once
    with srv.transaction() as s:
        row = s.get_one(textbook.Attachment, picked.json()["id"])
        shared_key = s.execute(select(_blob_key(row.blob_id))).scalar()
    assert shared_key == node.blob_key

    gone = requests.delete(f"{srv.dav_url}/porte-documents/cours-partage.txt",
                           auth=("ann", PASSWORD), timeout=30)
    assert gone.status_code == 204
    purged = srv.cli("trash", "purge", "--all", check=False)
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert ann_state(srv)[0] == used - len(b"cours du jour")  # the file stopped counting
    got = ben.get(picked.json()["url"])
    assert got.status_code == 200 and got.content == b"cours du jour"
    assert shared_key in ann_state(srv)[2]
    assert_fsck_clean(srv)

    assert api(ann, "DELETE", f"/api/textbook/attachments/{picked.json()['id']}").status_code == 200
    assert shared_key not in ann_state(srv)[2]  # nothing points at it any more
    assert_fsck_clean(srv)


def _blob_key(blob_id: int) -> object:
    from providers.models import Blob  # the test reads the store's table to compare keys

    return select(Blob.key).where(Blob.id == blob_id).scalar_subquery()


def test_a_copy_shares_the_attachments_without_a_new_charge(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    source = new_activity(srv, "À copier")
    original = attach(ann, source, "plan.txt", b"p" * 200)
    assert original.status_code == 201
    used, _reserved, keys = ann_state(srv)
    copied = api(ann, "POST", f"/api/textbook/activities/{source}/copy",
                 json={"lesson_id": IDS["LF"]})
    assert copied.status_code == 201, copied.text
    copy_id = copied.json()["activity"]["id"]
    listing = ann.get(f"/api/textbook/activities/{copy_id}/attachments").json()["attachments"]
    assert [(a["name"], a["shared"]) for a in listing] == [("plan.txt", True)]
    assert ann_state(srv) == (used, 0, keys)
    assert ann.get(listing[0]["url"]).content == b"p" * 200

    # The original goes: the copy takes the charge over, the bytes count once still.
    gone = api(ann, "DELETE", f"/api/textbook/attachments/{original.json()['id']}")
    assert gone.status_code == 200
    assert ann_state(srv) == (used, 0, keys)
    assert_fsck_clean(srv)
    assert api(ann, "DELETE", f"/api/textbook/attachments/{listing[0]['id']}").status_code == 200
    assert ann_state(srv)[0] == used - 200 and len(ann_state(srv)[2]) == len(keys) - 1


def test_plain_forms_upload_and_pick(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    activity = new_activity(srv, "Sans JavaScript")
    dav_put(srv, "sans-js.txt", b"choisi")
    token = csrf_token(ann.get(f"/textbook/seances/{IDS['L0']}").text)
    sent = ann.post(f"/textbook/activites/{activity}/pieces-jointes", {"csrf_token": token},
                    files={"fichier": ("envoi.txt", b"envoye", "text/plain")})
    assert sent.status_code == 303, sent.text
    chosen = ann.post(f"/textbook/activites/{activity}/pieces-jointes/choisir",
                      {"csrf_token": token, "chemin": "/sans-js.txt"})
    assert chosen.status_code == 303, chosen.text
    no_token = ann.post(f"/textbook/activites/{activity}/pieces-jointes/choisir",
                        {"chemin": "/sans-js.txt"})
    assert no_token.status_code == 403
    page = ann.get(f"/textbook/seances/{IDS['L0']}").text
    assert "envoi.txt" in page and "sans-js.txt" in page
    rows = ann.get(f"/api/textbook/activities/{activity}/attachments").json()["attachments"]
    assert sorted(a["name"] for a in rows) == ["envoi.txt", "sans-js.txt"]
    first = next(a for a in rows if a["name"] == "envoi.txt")
    removed = ann.post(f"/textbook/pieces-jointes/{first['id']}/retirer", {"csrf_token": token})
    assert removed.status_code == 303
    assert len(ann.get(f"/api/textbook/activities/{activity}/attachments")
               .json()["attachments"]) == 1
    assert_fsck_clean(srv)
