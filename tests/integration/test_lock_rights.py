"""Who may lock, and who may break a lock (issue 18 §2, "A student can lock a whole
rubric"), against the real server.

A LOCK needs RFC 3744 ``DAV:write`` on what it covers: on a folder with depth
infinity, on everything below it. Breaking someone else's lock (UNLOCK with their
token) needs ``DAV:unlock``: the rubric's moderators and managers. The expected
tables are written out from the issue, not derived from ``acl``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from tests.conftest import running_server
from tests.integration.lock_kit import ROLES, Club, discovered, lock, make_club, put, unlock
from web.notifications import NotificationKind, notifications_of

# target → depth → role → LOCK status. "own" is authored by the role's user, "other's"
# by writer2; "own folder, other's inside" holds one file of writer2's.
TARGETS = ("root", "own folder", "own folder, other's inside", "other's folder",
           "own file", "other's file")
ALL_403 = {t: {"0": 403, "infinity": 403} for t in TARGETS}
MEMBER = {
    "root": {"0": 403, "infinity": 403},
    "own folder": {"0": 200, "infinity": 200},
    "own folder, other's inside": {"0": 200, "infinity": 403},
    "other's folder": {"0": 403, "infinity": 403},
    "own file": {"0": 200, "infinity": 200},
    "other's file": {"0": 403, "infinity": 403},
}
ALL_200 = {t: {"0": 200, "infinity": 200} for t in TARGETS}
EXPECTED = {"visitor": ALL_403, "writer": MEMBER, "publisher": MEMBER,
            "moderator": ALL_200, "manager": ALL_200}
CELLS = [(role, target, depth) for role in ROLES for target in TARGETS
         for depth in ("0", "infinity")]


@pytest.fixture(scope="module")
def club(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Club]:
    with running_server(tmp_path_factory.mktemp("lock-rights")) as srv:
        yield make_club(srv, "club")


def _target(club: Club, role: str, target: str) -> str:
    """A fresh resource of ``target``'s kind for ``role``; its space-relative path."""
    tag = uuid.uuid4().hex[:8]
    author = "writer2" if "other's" in target.split(",")[0] else role
    if target == "root":
        return ""
    if target.endswith("file"):
        club.put_file(f"/{tag}.txt", author)
        return f"/{tag}.txt"
    club.mkdir(f"/{tag}", author)
    club.put_file(f"/{tag}/a.txt", author)
    if "inside" in target:
        club.put_file(f"/{tag}/b.txt", "writer2")
    return f"/{tag}"


@pytest.mark.parametrize(("role", "target", "depth"), CELLS)
def test_lock_rights_table(club: Club, role: str, target: str, depth: str) -> None:
    path = _target(club, role, target)
    session = club.server.session(role)
    url = club.url(path) + ("/" if target != "root" and "file" not in target else "")
    got = lock(session, url, depth=depth, timeout="Infinite")
    assert got.status == EXPECTED[role][target][depth], got.text
    if got.status == 200:
        assert unlock(session, url, got.token) == 204
    else:
        assert "may not lock it" in got.text, got.text
        assert "b.txt" not in got.text  # another's file inside is not named


def test_the_owner_locks_the_root_of_their_porte_documents(club: Club) -> None:
    session = club.server.session("writer")
    url = club.server.documents_url + "/"
    got = lock(session, url, depth="infinity")
    assert got.status == 200, got.text
    assert unlock(session, url, got.token) == 204


def _privileges(session: requests.Session, url: str) -> set[str]:
    body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
            "<D:current-user-privilege-set/></D:prop></D:propfind>")
    reply = session.request("PROPFIND", url, data=body, headers={"Depth": "0"})
    assert reply.status_code == 207, reply.text
    return {etree.QName(p[0]).localname for p in etree.fromstring(reply.content).iter(
        "{DAV:}privilege")}


@pytest.mark.parametrize(("role", "expected"), [
    ("visitor", 403), ("writer2", 403), ("publisher", 403),
    ("moderator", 204), ("manager", 204), ("writer", 204)])
def test_who_may_break_a_writers_lock(club: Club, role: str, expected: int) -> None:
    """UNLOCK with the writer's token, sent by each member: the holder releases it,
    moderators and managers break it (RFC 3744 DAV:unlock), the others get 403 and
    the lock stays."""
    path = f"/{uuid.uuid4().hex[:8]}.txt"
    club.put_file(path, "writer")
    holder = club.server.session("writer")
    held = lock(holder, club.url(path))
    assert held.status == 200
    session = club.server.session(role)
    privileges = _privileges(session, club.url(path))
    assert ("unlock" in privileges) is (role in ("moderator", "manager")), privileges
    reply = session.request("UNLOCK", club.url(path),
                            headers={"Lock-Token": f"<{held.token}>"})
    assert reply.status_code == expected, reply.text
    left = [x["token"] for x in discovered(holder, club.url(path))]
    if expected == 403:
        assert "writer" in reply.text and "moderators" in reply.text, reply.text
        assert left == [held.token]
        assert unlock(holder, club.url(path), held.token) == 204
    else:
        assert left == []


def test_the_incident_of_issue_18(club: Club) -> None:
    """A writer (student) tries to lock the rubric's root for ever: refused. They lock
    their own folder instead; the moderator's writes there wait (423) until the
    moderator breaks the lock with UNLOCK; then they go through, and the student is
    told who removed their lock."""
    student, moderator = club.server.session("writer"), club.server.session("moderator")
    assert lock(student, club.url() + "/", depth="infinity", timeout="Infinite").status == 403
    folder = f"/{uuid.uuid4().hex[:8]}"
    club.mkdir(folder, "writer")
    held = lock(student, club.url(folder) + "/", depth="infinity", timeout="Infinite")
    assert held.status == 200 and 3590 <= held.seconds <= 3600, held.text
    assert put(moderator, club.url(folder + "/compte-rendu.txt")) == 423
    assert moderator.request("MKCOL", club.url(folder + "/sous-dossier/")).status_code == 423
    found = discovered(moderator, club.url(folder) + "/")
    assert [x["token"] for x in found] == [held.token]
    assert unlock(moderator, club.url(folder) + "/", held.token) == 204
    assert put(moderator, club.url(folder + "/compte-rendu.txt")) == 201
    with club.server.app() as app, app.db.transaction(write=False) as s:
        notes = notifications_of(s, club.ids["writer"])
        broken = [n for n in notes if n.kind == NotificationKind.lock_broken]
    assert broken, [n.subject for n in notes]
    assert "moderator" in broken[0].body and folder[1:] in broken[0].subject
    assert broken[0].link == "/documents/rubriques/club/"


def test_a_holder_releasing_their_own_lock_is_not_notified(club: Club) -> None:
    path = f"/{uuid.uuid4().hex[:8]}.txt"
    club.put_file(path, "publisher")
    session = club.server.session("publisher")
    held = lock(session, club.url(path))
    assert unlock(session, club.url(path), held.token) == 204
    with club.server.app() as app, app.db.transaction(write=False) as s:
        assert not [n for n in notifications_of(s, club.ids["publisher"])
                    if n.kind == NotificationKind.lock_broken]


def test_another_users_porte_documents_lock_cannot_be_broken_from_outside(
        club: Club) -> None:
    """A token of a lock in someone's porte-documents is no use in another's: each
    URL is the user's own space (409: the token does not cover that resource)."""
    owner, other = club.server.session("manager"), club.server.session("moderator")
    url = club.server.documents_url + "/prive.txt"
    assert put(owner, url) == 201
    held = lock(owner, url)
    assert put(other, url) == 201  # the moderator's own file of that name
    assert unlock(other, url, held.token) == 409
    assert [x["token"] for x in discovered(owner, url)] == [held.token]
    assert unlock(owner, url, held.token) == 204
