"""Locks against the real server (issues 17 and 18): bounded lifetimes, shared locks in
a rubric (RFC 4918 §6.2, §9.10), the per-user limit, and lock-null files, the empty
files a LOCK on a new name creates (davfs2), removed when their lock ends or their
first PUT fails, while a real 0-byte PUT's file (Windows, case BUG-01) stays.

Two tests wait for a lock to expire: they ask for a 1-second lock and sleep 1.5 s
(the server's clock is not controlled yet; nothing depends on the date or hour).
"""

from __future__ import annotations

import base64
import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

import acl
from tests.conftest import Server, running_server
from tests.integration.lock_kit import (
    Club,
    discovered,
    lock,
    make_club,
    put,
    refresh,
    unlock,
)

LIMIT = 5  # dav.max_locks_per_user of this module's server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("locks"),
                        extra_env={"DAVSERVER_DAV__MAX_LOCKS_PER_USER": str(LIMIT)},
                        users={"alice": "teacher", "capped": "student"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def club(server: Server) -> Club:
    return make_club(server, "atelier")


@pytest.fixture
def folder(server: Server) -> str:
    url = f"{server.documents_url}/t-{uuid.uuid4().hex[:8]}"
    assert server.session("alice").request("MKCOL", url + "/").status_code == 201
    return url


def exists(session: requests.Session, url: str) -> bool:
    status = session.request("PROPFIND", url, headers={"Depth": "0"}).status_code
    assert status in (207, 404), status
    return status == 207


# --- lifetimes ---------------------------------------------------------------------------


@pytest.mark.parametrize(("asked", "low", "high"), [
    ("Infinite", 3590, 3600), (None, 3590, 3600), ("Second-999999", 3590, 3600),
    ("Second-604800", 3590, 3600), ("Infinite, Second-4100000000", 3590, 3600),
    ("Second-600", 590, 600)])
def test_lifetimes_are_bounded(server: Server, folder: str, asked: str | None, low: int,
                               high: int) -> None:
    alice = server.session("alice")
    url = f"{folder}/f.txt"
    assert put(alice, url) == 201
    got = lock(alice, url, timeout=asked)
    assert got.status == 200, got.text
    assert low <= got.seconds <= high, got.timeout
    assert unlock(alice, url, got.token) == 204


def test_a_refresh_extends_a_lock_by_the_maximum_at_most(server: Server, folder: str) -> None:
    alice = server.session("alice")
    url = f"{folder}/f.txt"
    assert put(alice, url) == 201
    got = lock(alice, url, timeout="Second-60")
    assert 50 <= got.seconds <= 60
    for asked in ("Infinite", None, "Second-999999"):
        again = refresh(alice, url, got.token, asked)
        assert again.status == 200, again.text
        assert 3590 <= again.seconds <= 3600, (asked, again.timeout)
    assert 110 <= refresh(alice, url, got.token, "Second-120").seconds <= 120
    assert unlock(alice, url, got.token) == 204


def test_the_maximum_is_configurable(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(tmp_path_factory.mktemp("short-locks"),
                        extra_env={"DAVSERVER_DAV__LOCK_MAX_TIMEOUT": "120"},
                        users={"alice": "teacher"}) as srv:
        alice = srv.session("alice")
        url = srv.documents_url + "/f.txt"
        assert put(alice, url) == 201
        got = lock(alice, url, timeout="Infinite")
        assert 110 <= got.seconds <= 120, got.timeout


# --- shared locks in a rubric -------------------------------------------------------------


def test_shared_locks_of_two_members_who_may_write(club: Club) -> None:
    """The file's author (a writer) and a moderator may both change it: each holds a
    shared lock and writes with their own token; lockdiscovery lists both; exclusive
    requests conflict with them, and a shared request with an exclusive lock."""
    path = f"/{uuid.uuid4().hex[:8]}.odt"
    club.put_file(path, "writer")
    url = club.url(path)
    writer, moderator, manager = (club.server.session(r) for r in
                                  ("writer", "moderator", "manager"))
    first = lock(writer, url, scope="shared")
    second = lock(moderator, url, scope="shared")
    assert (first.status, second.status) == (200, 200), second.text
    assert put(writer, url, "version du rédacteur".encode(), first.token) == 204
    assert put(moderator, url, "version du modérateur".encode(), second.token) == 204
    assert put(manager, url, b"sans jeton") == 423
    # Another holder's token is no use (WsgiDAV finds its If header false: 412).
    assert put(moderator, url, b"jeton d'un autre", first.token) in (412, 423)
    found = discovered(manager, url)
    assert sorted(x["token"] for x in found) == sorted([first.token, second.token])
    assert {x["scope"] for x in found} == {"shared"}
    assert lock(manager, url).status == 423  # exclusive vs shared
    assert lock(manager, url, scope="shared").status == 200  # a third shared one
    assert unlock(writer, url, first.token) == 204
    assert put(moderator, url, b"encore", second.token) == 204
    assert unlock(moderator, url, second.token) == 204
    for held in discovered(manager, url):
        assert unlock(manager, url, held["token"]) == 204
    exclusive = lock(writer, url)
    assert exclusive.status == 200
    assert lock(moderator, url, scope="shared").status == 423  # shared vs exclusive
    assert unlock(writer, url, exclusive.token) == 204
    assert club.server.session("moderator").get(url).content == b"encore"


def test_a_shared_lock_on_a_folder_and_on_a_member(club: Club) -> None:
    folder = f"/{uuid.uuid4().hex[:8]}"
    club.mkdir(folder, "moderator")
    club.put_file(folder + "/a.txt", "moderator")
    moderator, manager = club.server.session("moderator"), club.server.session("manager")
    whole = lock(moderator, club.url(folder) + "/", scope="shared", depth="infinity")
    member = lock(manager, club.url(folder + "/a.txt"), scope="shared")
    assert (whole.status, member.status) == (200, 200), member.text
    assert put(manager, club.url(folder + "/a.txt"), b"m", member.token) == 204
    assert lock(manager, club.url(folder + "/a.txt")).status == 423
    assert unlock(moderator, club.url(folder) + "/", whole.token) == 204
    assert unlock(manager, club.url(folder + "/a.txt"), member.token) == 204


# --- the per-user limit --------------------------------------------------------------------


def test_the_limit_of_locks_per_user(server: Server) -> None:
    """Beyond the limit a LOCK on a new name is refused before it creates anything
    (once, 500 LOCKs made 500 empty files); releasing one makes room again."""
    capped = server.session("capped")
    base = server.documents_url
    tokens = []
    for i in range(LIMIT):
        got = lock(capped, f"{base}/n{i}.txt")
        assert got.status == 201, got.text
        tokens.append(got.token)
    refused = lock(capped, f"{base}/n{LIMIT}.txt")
    assert refused.status == 507, refused.text
    assert f"the most one user may hold ({LIMIT})" in refused.text
    assert not exists(capped, f"{base}/n{LIMIT}.txt")
    assert put(capped, f"{base}/existant.txt") == 201
    assert lock(capped, f"{base}/existant.txt").status == 507
    assert unlock(capped, f"{base}/n0.txt", tokens[0]) == 204
    assert not exists(capped, f"{base}/n0.txt")  # a lock-null file, never written
    again = lock(capped, f"{base}/existant.txt")
    assert again.status == 200
    for i, token in enumerate([*tokens[1:], again.token], start=1):
        name = f"n{i}.txt" if i < LIMIT else "existant.txt"
        assert unlock(capped, f"{base}/{name}", token) == 204


# --- lock-null files -----------------------------------------------------------------------


def test_davfs2_saves_a_new_file(server: Server, folder: str) -> None:
    """LOCK a new name (201, an empty file), PUT its content with the token, UNLOCK:
    the file stays; so does one saved empty (``touch``: a PUT of 0 bytes)."""
    alice = server.session("alice")
    for name, body in (("rapport.txt", b"contenu"), ("vide.txt", b"")):
        got = lock(alice, f"{folder}/{name}")
        assert got.status == 201
        assert put(alice, f"{folder}/{name}", body, got.token) == 204
        assert unlock(alice, f"{folder}/{name}", got.token) == 204
        assert alice.get(f"{folder}/{name}").content == body


def test_a_lock_null_file_goes_when_its_lock_is_released(server: Server,
                                                         folder: str) -> None:
    alice = server.session("alice")
    got = lock(alice, f"{folder}/jamais-ecrit.txt")
    assert got.status == 201
    assert exists(alice, f"{folder}/jamais-ecrit.txt")  # davfs2 reads its ETag now
    assert unlock(alice, f"{folder}/jamais-ecrit.txt", got.token) == 204
    assert not exists(alice, f"{folder}/jamais-ecrit.txt")


def test_a_lock_null_file_goes_when_its_lock_expires(server: Server, folder: str) -> None:
    alice = server.session("alice")
    assert lock(alice, f"{folder}/expire.txt", timeout="Second-1").status == 201
    assert put(alice, f"{folder}/garde.txt", b"") == 201  # a real 0-byte file
    assert lock(alice, f"{folder}/garde.txt", timeout="Second-1").status == 200
    time.sleep(1.5)
    listing = alice.request("PROPFIND", folder + "/", headers={"Depth": "1"})
    assert "expire.txt" not in listing.text and "garde.txt" in listing.text
    assert not exists(alice, f"{folder}/expire.txt")


def test_a_lock_null_file_goes_when_its_first_put_is_over_quota(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(tmp_path_factory.mktemp("lock-null-quota"),
                        users={"tom": "student"}) as srv:
        with srv.app() as app, app.db.transaction(write=False) as s:
            tom = acl.find_user(s, "tom")
            assert tom is not None
            space = app.store.ensure_space("documents", owner_id=tom.id, profile="student")
            app.store.set_limit(space.id, 1000)
        session = srv.session("tom")
        url = srv.documents_url + "/trop-gros.bin"
        got = lock(session, url)
        assert got.status == 201
        assert put(session, url, b"x" * 5000, got.token) == 507
        assert not exists(session, url)
        assert lock(session, url).status == 201  # the name is free, no stale lock on it
        # Windows' way: a real 0-byte PUT, then LOCK: that file is not lock-null.
        windows = srv.documents_url + "/Nouveau document.txt"
        assert put(session, windows, b"") == 201
        held = lock(session, windows)
        assert put(session, windows, b"y" * 5000, held.token) == 507
        assert unlock(session, windows, held.token) == 204
        assert exists(session, windows)


def test_a_lock_null_file_goes_when_its_first_put_is_refused(club: Club) -> None:
    """403: a publisher LOCKs a new name, then loses the right to write before the PUT."""
    with club.server.transaction() as s:
        acl.grant(s, club.slug, "publisher", user="writer2")
    session = club.server.session("writer2")
    url = club.url(f"/{uuid.uuid4().hex[:8]}.txt")
    got = lock(session, url)
    assert got.status == 201
    with club.server.transaction() as s:
        acl.revoke(s, club.slug, "publisher", user="writer2")
        acl.revoke(s, club.slug, "writer", user="writer2")
        acl.grant(s, club.slug, "visitor", user="writer2")
    try:
        assert put(session, url, b"texte", got.token) == 403
        assert not exists(club.server.session("moderator"), url)
    finally:
        with club.server.transaction() as s:
            acl.revoke(s, club.slug, "visitor", user="writer2")
            acl.grant(s, club.slug, "writer", user="writer2")


def _broken_put(server: Server, path: str, token: str) -> None:
    """A PUT announcing 100 000 bytes whose client goes away after 10."""
    parts = urlsplit(server.documents_url + path)
    auth = base64.b64encode(f"alice:{server.users['alice']}".encode()).decode()
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall((f"PUT {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      f"Authorization: Basic {auth}\r\nIf: (<{token}>)\r\n"
                      "Content-Length: 100000\r\n\r\n").encode() + b"0123456789")
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(30)
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass


def test_a_lock_null_file_goes_when_its_first_put_breaks(server: Server, folder: str) -> None:
    alice = server.session("alice")
    path = urlsplit(folder).path[len(urlsplit(server.documents_url).path):] + "/coupe.txt"
    got = lock(alice, f"{folder}/coupe.txt")
    assert got.status == 201
    _broken_put(server, path, got.token)
    assert not exists(alice, f"{folder}/coupe.txt")
    # A file with content keeps it when a later PUT breaks.
    assert put(alice, f"{folder}/garde.txt", b"ancien") == 201
    held = lock(alice, f"{folder}/garde.txt")
    _broken_put(server, path.replace("coupe", "garde"), held.token)
    assert alice.get(f"{folder}/garde.txt").content == b"ancien"
    assert unlock(alice, f"{folder}/garde.txt", held.token) == 204


def test_a_refused_lock_on_a_new_name_leaves_nothing(server: Server, folder: str) -> None:
    """A new member changes its folder: a folder locked by another client (no token
    sent) refuses it (423) before any file is made."""
    alice = server.session("alice")
    held = lock(alice, folder + "/", depth="0")
    assert held.status == 200
    assert lock(alice, f"{folder}/nouveau.txt").status == 423
    assert unlock(alice, folder + "/", held.token) == 204
    assert not exists(alice, f"{folder}/nouveau.txt")


def test_windows_explorer_creates_a_file(server: Server, folder: str) -> None:
    """BUG-01's sequence: PUT 0 bytes, LOCK, UNLOCK before any content: the file made
    by the real PUT stays."""
    alice = server.session("alice")
    url = f"{folder}/Nouveau document texte.txt"
    assert put(alice, url, b"") == 201
    held = lock(alice, url)
    assert held.status == 200
    assert unlock(alice, url, held.token) == 204
    assert exists(alice, url)
