"""Names users cannot be trusted with (issue 18, finding 7).

* Zip downloads: entry names are safe to extract whatever the stored names are,
  names no client could give through WebDAV included (written here straight into
  the database): no ``..``, no absolute path, no backslash, no drive letter, no
  control or bidirectional character, no two names one case-insensitive disk merges.
* A writer's pending file in a rubric (waiting for a publisher): another writer's
  PUT, MKCOL, COPY, MOVE or LOCK onto its name answers 409 while GET answers 404. The
  name leaks, by design (``docs/architecture.md``, "Known trade-offs"); its content,
  properties and size never do, and it stays as it was.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from urllib.parse import quote

import pytest

import acl
from davserver import clock
from providers.models import Node
from tests.conftest import Server, running_server
from tests.integration.rubric_kit import Person, add_people
from tests.web_documents import Documents

SLUG = "club"
SECRET = b"answers to Friday's test"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("names")) as srv:
        school = add_people(srv, [Person("alice", "teacher"), Person("wri", "student"),
                                  Person("other", "student"), Person("mod", "teacher")])
        with srv.transaction() as s:
            acl.add_rubric(s, SLUG, "Club", school_id=school)
            acl.grant(s, SLUG, "writer", user="wri")
            acl.grant(s, SLUG, "writer", user="other")
            acl.grant(s, SLUG, "moderator", user="mod")
        yield srv


BAD_NAMES = {
    "..": None,                          # a folder named ".."
    "../../etc/passwd": b"traversal",
    "/etc/shadow": b"absolute",
    "C:\\Windows\\evil.bat": b"drive and backslashes",
    "bell\x07and\x1bescape.txt": b"controls",
    "invoice\u202etxt.exe": b"right-to-left override",
    "Notes.TXT": b"upper",
    "notes.txt": b"lower",
}


def test_zip_entry_names_are_safe_whatever_is_stored(server: Server) -> None:
    alice = Documents(server, "alice")
    alice.act("porte-documents", "mkdir", name="Bad")
    space = alice_space(server)
    with server.app() as app:
        folder = app.store.resolve(space, "/Bad")
        assert folder is not None
        writer = app.store.new_writer()
        writer.write(b"x")
        blob = app.store.commit_write(space, "/Bad/real.txt", writer.finish())
        with app.db.transaction() as s:
            now = clock.time()
            for name, data in BAD_NAMES.items():
                s.add(Node(space_id=space, parent_id=folder.id, name=name,
                           path=f"/Bad/{name}", written_name=name,
                           written_path=f"/Bad/{name}", is_collection=data is None,
                           size=0, created=now, modified=now, dead_props={},
                           blob_id=None, etag=None if data is None else "e",
                           author_id=blob.author_id))
    answer = alice.act("porte-documents/Bad", "zip")
    assert answer.status_code == 200, answer.text[:500]
    names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    for name in names:
        segments = name.rstrip("/").split("/")
        assert not name.startswith("/") and "\\" not in name and ":" not in name, name
        assert ".." not in segments and "." not in segments and "" not in segments, name
        assert all(ch >= " " and ch != "\x7f" and ch not in "\u202e" for ch in name), name
    assert len({n.casefold() for n in names}) == len(names), names
    assert "real.txt" in names
    assert "_/_/etc/passwd" in names and "etc/shadow" in names
    assert "C__Windows_evil.bat" in names
    assert {"Notes.TXT", "notes~2.txt"} <= set(names) or \
        {"notes.txt", "Notes~2.TXT"} <= set(names), names


def alice_space(server: Server) -> int:
    with server.app() as app:
        with app.db.transaction(write=False) as s:
            user = acl.find_user(s, "alice")
        assert user is not None
        return app.store.ensure_space("documents", user.id).id


def _url(server: Server, name: str) -> str:
    return f"{server.dav_url}/rubriques/{SLUG}/{quote(name)}"


def test_a_pending_name_leaks_but_its_content_never_does(server: Server) -> None:
    """``wri`` adds a file (pending until a publisher publishes it). For ``other``,
    another writer: GET, HEAD, PROPFIND and PROPPATCH answer 404, the listing and
    the file manager's page and zip leave it out; PUT, MKCOL, COPY, MOVE and LOCK
    onto the name answer 409 (the name is taken) and change nothing: the moderator
    still reads the writer's bytes."""
    wri, other = server.session("wri"), server.session("other")
    secret = _url(server, "sujet.txt")
    assert wri.put(secret, data=SECRET).status_code == 201
    assert other.put(_url(server, "mine.txt"), data=b"mine").status_code == 201

    assert other.get(secret).status_code == 404
    assert other.head(secret).status_code == 404
    assert other.request("PROPFIND", secret, headers={"Depth": "0"}).status_code == 404
    patch = ('<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:n xmlns:x="urn:x">1'
             "</x:n></D:prop></D:set></D:propertyupdate>")
    assert other.request("PROPPATCH", secret, data=patch).status_code == 404
    listing = other.request("PROPFIND", _url(server, "") , headers={"Depth": "1"})
    assert listing.status_code == 207 and "sujet" not in listing.text
    assert "mine.txt" in listing.text

    assert other.put(secret, data=b"overwrite").status_code == 409
    assert other.request("MKCOL", secret).status_code == 409
    for method in ("COPY", "MOVE"):
        moved = other.request(method, _url(server, "mine.txt"),
                              headers={"Destination": secret, "Overwrite": "T"})
        assert moved.status_code == 409, (method, moved.status_code)
    lock = ('<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
            "<D:locktype><D:write/></D:locktype></D:lockinfo>")
    assert other.request("LOCK", secret, data=lock).status_code == 409

    browser = Documents(server, "other")
    page = browser.page(f"rubriques/{SLUG}")
    assert page.status_code == 200 and "sujet" not in page.text
    zipped = browser.act(f"rubriques/{SLUG}", "zip")
    assert zipped.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    assert "sujet.txt" not in archive.namelist()
    assert all(SECRET not in archive.read(n) for n in archive.namelist())

    moderator = server.session("mod")
    assert moderator.get(secret).content == SECRET
    assert other.get(_url(server, "mine.txt")).content == b"mine"
