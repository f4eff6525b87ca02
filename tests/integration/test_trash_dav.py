"""The trash over WebDAV against the real server (issue 8): DELETE keeps, the path is
404 afterwards, ``/dav/corbeille/…`` lists what the user may see, writes inside are
403, restoring is a MOVE out of it with the usual 412/507 answers and nothing lost.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

import acl
from providers import trash
from providers.models import DavLock
from tests.conftest import Server, running_server
from tests.integration.rubric_kit import (
    cli_ok,
    members,
    mkcol,
    names,
    put,
    rubric_url,
    space_id,
    transfer,
    trash_bytes,
    used_bytes,
)

ENT = "{urn:ent-davserver:ns}"
TRASH_PROPS = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
               'xmlns:E="urn:ent-davserver:ns"><D:prop><E:original-path/><E:deleted-by/>'
               "<E:deleted-at/></D:prop></D:propfind>")
SLUG = "club"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    users = {"alice": "teacher", "writer1": "student", "writer2": "student",
             "moder": "teacher"}
    with running_server(tmp_path_factory.mktemp("trash"), users=users) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège test")
            acl.add_rubric(s, SLUG, "Club", school_id=school)
            for login in ("writer1", "writer2", "alice"):
                acl.grant(s, SLUG, "writer", user=login)
            acl.grant(s, SLUG, "moderator", user="moder")
        yield server


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def trash_url(server: Server, space: str = "porte-documents", name: str = "") -> str:
    return f"{server.dav_url}/corbeille/{space}/" + quote(name)


def trash_props(session: requests.Session, url: str) -> dict[str, str | None]:
    response = session.request("PROPFIND", url, data=TRASH_PROPS,
                               headers={"Depth": "0", "Content-Type": "application/xml"})
    assert response.status_code == 207, (url, response.status_code, response.text)
    return {child.tag[len(ENT):]: child.text
            for prop in ET.fromstring(response.content).iter("{DAV:}prop")
            for child in prop if child.tag.startswith(ENT)}


def test_delete_keeps_it_in_the_trash_and_move_restores_it(srv: Server) -> None:
    alice = srv.session("alice")
    folder = f"{srv.documents_url}/cours-{_tag()}"
    assert mkcol(alice, folder) == 201
    content = b"Le cours de mardi\n" * 100
    assert put(alice, folder + "/notes.txt", content) == 201
    used, in_trash = used_bytes(srv, "alice"), trash_bytes(srv, "alice")
    name = folder.rsplit("/", 1)[1]

    assert alice.delete(folder).status_code == 204
    assert alice.request("PROPFIND", folder, headers={"Depth": "0"}).status_code == 404
    assert alice.get(folder + "/notes.txt").status_code == 404
    assert name in names(alice, trash_url(srv))
    assert names(alice, trash_url(srv, name=name)) == {"notes.txt"}
    assert alice.get(trash_url(srv, name=name) + "/notes.txt").content == content
    found = trash_props(alice, trash_url(srv, name=name))
    assert found["original-path"] == "/" + name
    assert found["deleted-by"] == "alice"
    assert (found["deleted-at"] or "").endswith("Z")
    # Issue 17: a delete frees its bytes at once; the trash holds them apart.
    assert used_bytes(srv, "alice") == used - len(content)
    assert trash_bytes(srv, "alice") == in_trash + len(content)

    moved = transfer(alice, "MOVE", trash_url(srv, name=name), folder)
    assert moved.status_code == 201, moved.text
    assert alice.get(folder + "/notes.txt").content == content
    assert name not in names(alice, trash_url(srv))
    assert (used_bytes(srv, "alice"), trash_bytes(srv, "alice")) == (used, in_trash)


def test_the_same_name_deleted_twice_is_kept_twice(srv: Server) -> None:
    alice = srv.session("alice")
    tag = _tag()
    url = f"{srv.documents_url}/rapport-{tag}.txt"
    for version in (b"first", b"second"):
        assert put(alice, url, version) == 201
        assert alice.delete(url).status_code == 204
    listed = names(alice, trash_url(srv))
    assert {f"rapport-{tag}.txt", f"rapport-{tag} (2).txt"} <= listed
    assert alice.get(trash_url(srv, name=f"rapport-{tag}.txt")).content == b"first"
    assert alice.get(trash_url(srv, name=f"rapport-{tag} (2).txt")).content == b"second"


def test_writes_inside_the_trash_are_refused(srv: Server) -> None:
    alice = srv.session("alice")
    url = f"{srv.documents_url}/ro-{_tag()}.txt"
    assert put(alice, url, b"keep me") == 201
    assert alice.delete(url).status_code == 204
    inside = trash_url(srv, name=url.rsplit("/", 1)[1])
    checks = {
        "PUT new": alice.put(trash_url(srv, name="new.txt"), data=b"x"),
        "PUT over": alice.put(inside, data=b"x"),
        "MKCOL": alice.request("MKCOL", trash_url(srv, name="dir") + "/"),
        "PROPPATCH": alice.request("PROPPATCH", inside, data=(
            '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z">'
            "<D:set><D:prop><Z:a>1</Z:a></D:prop></D:set></D:propertyupdate>")),
        "DELETE": alice.delete(inside),
        "DELETE space trash": alice.delete(trash_url(srv)),
        "LOCK": alice.request("LOCK", inside, data=(
            '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
            "</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>")),
        "COPY out": transfer(alice, "COPY", inside, f"{srv.documents_url}/c-{_tag()}"),
    }
    assert put(alice, f"{srv.documents_url}/in-{_tag()}.txt", b"x") == 201
    statuses = {k: r.status_code for k, r in checks.items()}
    assert statuses == dict.fromkeys(checks, 403), statuses
    assert "read-only" in checks["PUT new"].text
    live = f"{srv.documents_url}/live-{_tag()}.txt"
    assert put(alice, live, b"live") == 201
    into = transfer(alice, "MOVE", live, trash_url(srv, name="x.txt"))
    assert into.status_code == 403
    assert alice.get(live).content == b"live"  # nothing lost
    assert alice.get(inside).content == b"keep me"


def test_restore_onto_an_existing_name(srv: Server) -> None:
    alice = srv.session("alice")
    name = f"doc-{_tag()}.txt"
    url = f"{srv.documents_url}/{name}"
    assert put(alice, url, b"old") == 201
    assert alice.delete(url).status_code == 204
    assert put(alice, url, b"new") == 201

    refused = transfer(alice, "MOVE", trash_url(srv, name=name), url, overwrite=False)
    assert refused.status_code == 412
    assert alice.get(url).content == b"new"
    assert alice.get(trash_url(srv, name=name)).content == b"old"

    replaced = transfer(alice, "MOVE", trash_url(srv, name=name), url, overwrite=True)
    assert replaced.status_code == 204
    assert alice.get(url).content == b"old"
    # What the restore replaced is a version of the file (issue 23): nothing lost.
    assert alice.get(trash_url(srv, name=name)).status_code == 404
    versions = f"{srv.dav_url}/versions/porte-documents/{name}/"
    found = alice.request("PROPFIND", versions, headers={"Depth": "1"})
    assert found.status_code == 207
    [href] = [h.text for h in ET.fromstring(found.content).iter("{DAV:}href")
              if h.text and not h.text.endswith("/")]
    assert alice.get(srv.base_url + href).content == b"new"


def test_restore_elsewhere_that_does_not_fit_is_507(srv: Server) -> None:
    alice = srv.session("alice")
    name = f"gros-{_tag()}.bin"
    url = f"{srv.documents_url}/{name}"
    assert put(alice, url, b"z" * 5000) == 201
    assert alice.delete(url).status_code == 204
    cli_ok(srv, "quota", "set", f"rubric:{SLUG}", str(used_bytes(srv, f"rubric:{SLUG}") + 100))
    try:
        before = (used_bytes(srv, "alice"), used_bytes(srv, f"rubric:{SLUG}"),
                  trash_bytes(srv, "alice"))
        refused = transfer(alice, "MOVE", trash_url(srv, name=name), rubric_url(srv, SLUG, name))
        assert refused.status_code == 507, refused.text
        assert "quota" in refused.text
        assert (used_bytes(srv, "alice"), used_bytes(srv, f"rubric:{SLUG}"),
                trash_bytes(srv, "alice")) == before
        assert alice.get(trash_url(srv, name=name)).status_code == 200
    finally:
        cli_ok(srv, "quota", "set", f"rubric:{SLUG}", "default")
    moved = transfer(alice, "MOVE", trash_url(srv, name=name), rubric_url(srv, SLUG, name))
    assert moved.status_code == 201, moved.text
    assert used_bytes(srv, "alice") == before[0]  # the bytes left alice's trash
    assert trash_bytes(srv, "alice") == before[2] - 5000
    assert used_bytes(srv, f"rubric:{SLUG}") == before[1] + 5000


def test_rubric_trash_writer_sees_own_moderator_sees_all(srv: Server) -> None:
    w1, w2, moder = srv.session("writer1"), srv.session("writer2"), srv.session("moder")
    name = f"brouillon-{_tag()}.txt"
    url = rubric_url(srv, SLUG, name)
    assert put(w1, url, b"writer1's") == 201
    assert w1.delete(url).status_code == 204
    rubric_trash = trash_url(srv, f"rubriques/{SLUG}")
    assert SLUG in names(w2, f"{srv.dav_url}/corbeille/rubriques/")
    assert name in names(w1, rubric_trash)
    assert name not in names(w2, rubric_trash)
    assert w2.get(rubric_trash + quote(name)).status_code == 404
    restore = transfer(w2, "MOVE", rubric_trash + quote(name), url)
    assert restore.status_code == 404
    assert name in names(moder, rubric_trash)
    restore = transfer(moder, "MOVE", rubric_trash + quote(name), url)
    assert restore.status_code == 201, restore.text
    assert moder.get(url).content == b"writer1's"


def test_the_binder_has_its_trash_for_teachers_only(srv: Server) -> None:
    alice = srv.session("alice")
    url = f"{srv.dav_url}/classeur/seance-{_tag()}.txt"
    assert put(alice, url, b"progression") == 201
    assert alice.delete(url).status_code == 204
    assert names(alice, f"{srv.dav_url}/corbeille/") == {"porte-documents", "rubriques",
                                                         "classeur"}
    name = url.rsplit("/", 1)[1]
    assert alice.get(trash_url(srv, "classeur", name)).content == b"progression"
    assert transfer(alice, "MOVE", trash_url(srv, "classeur", name), url).status_code == 201
    assert alice.get(url).content == b"progression"
    student = srv.session("writer1")
    assert names(student, f"{srv.dav_url}/corbeille/") == {"porte-documents", "rubriques"}
    assert members(student, trash_url(srv, "classeur")) == 404


def test_a_visitor_has_no_rubric_trash(srv: Server) -> None:
    alice = srv.session("alice")
    # alice is a writer in the club: listed; bob-like outsiders see nothing at all.
    assert members(alice, f"{srv.dav_url}/corbeille/rubriques/") == {SLUG}
    assert members(alice, trash_url(srv, "rubriques/nowhere")) == 404


def test_deleting_a_locked_file_drops_its_lock(srv: Server) -> None:
    alice = srv.session("alice")
    url = f"{srv.documents_url}/verrou-{_tag()}.txt"
    assert put(alice, url, b"locked") == 201
    lock = alice.request("LOCK", url, headers={"Timeout": "Second-600"}, data=(
        '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
        "</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"))
    assert lock.status_code == 200
    token = lock.headers["Lock-Token"]
    assert alice.delete(url).status_code == 423
    gone = alice.delete(url, headers={"If": f"({token})"})
    assert gone.status_code == 204
    with srv.app() as app, app.db.transaction(write=False) as s:
        assert s.query(DavLock).filter(DavLock.token == token.strip("<>")).count() == 0
    assert put(alice, url, b"again") == 201  # no lock left on the name


def test_emptying_the_trash_frees_the_quota_at_once(srv: Server) -> None:
    alice = srv.session("alice")
    url = f"{srv.documents_url}/vider-{_tag()}.bin"
    assert put(alice, url, b"y" * 3000) == 201
    before = used_bytes(srv, "alice")
    assert alice.delete(url).status_code == 204
    assert used_bytes(srv, "alice") == before - 3000  # freed by the delete (issue 17)
    sid = space_id(srv, "alice")
    with srv.app() as app:
        freed = trash.empty(app.store, sid)
    assert freed >= 3000
    assert used_bytes(srv, "alice") == before - 3000
    assert trash_bytes(srv, "alice") == 0
    assert names(alice, trash_url(srv)) == set()


def test_fsck_is_clean_with_a_full_trash(srv: Server, tmp_path: Path) -> None:
    alice = srv.session("alice")
    url = f"{srv.documents_url}/fsck-{_tag()}"
    assert mkcol(alice, url) == 201
    assert put(alice, url + "/a.txt", b"aaa") == 201
    assert alice.delete(url).status_code == 204
    done = srv.cli("fsck", check=False)
    assert done.returncode == 0 and "fsck: clean" in done.stdout, done.stdout + done.stderr
