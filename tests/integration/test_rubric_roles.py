"""Every role × operation × file state on a rubric's shared folders, against the real
server (issue 4, "Tests"): the status code, and that nothing changed when refused.

Each cell gets fresh files, written through the server's own store: one authored by
the user playing the role ("own") and one by another writer ("other's"), in the
state of the cell. The expected table is written out from the issue's rights.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from lxml import etree

import acl
from providers import NodeInfo, Stamp
from tests.conftest import Server, running_server

ENT = "urn:ent-davserver:ns"
ROLES = ("visitor", "writer", "publisher", "moderator", "manager")
SLUG = "club"

# op → role → (expected with the target pending, with the target published)
TABLE: dict[str, dict[str, tuple[object, object]]] = {
    "list": {  # is the other's file listed?
        "visitor": (False, True), "writer": (False, True), "publisher": (False, True),
        "moderator": (True, True), "manager": (True, True)},
    "read": {
        "visitor": (404, 200), "writer": (404, 200), "publisher": (404, 200),
        "moderator": (200, 200), "manager": (200, 200)},
    "create": {  # state column: unused, the new file's state is checked instead
        "visitor": (403, 403), "writer": (201, 201), "publisher": (201, 201),
        "moderator": (201, 201), "manager": (201, 201)},
    "overwrite-own": {
        "visitor": (403, 403), "writer": (204, 204), "publisher": (204, 204),
        "moderator": (204, 204), "manager": (204, 204)},
    "overwrite-other": {  # a hidden name is taken, never overwritten unseen: 409
        "visitor": (403, 403), "writer": (409, 403), "publisher": (409, 403),
        "moderator": (204, 204), "manager": (204, 204)},
    "delete-own": {
        "visitor": (404, 403), "writer": (204, 204), "publisher": (204, 204),
        "moderator": (204, 204), "manager": (204, 204)},
    "delete-other": {
        "visitor": (404, 403), "writer": (404, 403), "publisher": (404, 403),
        "moderator": (204, 204), "manager": (204, 204)},
    "publish": {  # PROPPATCH publication-state: the propstat status, or the 404
        "visitor": (404, 403), "writer": (404, 403), "publisher": (404, 403),
        "moderator": (200, 200), "manager": (200, 200)},
    "manage-grants": {  # ent:manage in DAV:current-user-privilege-set
        "visitor": (False, False), "writer": (False, False), "publisher": (False, False),
        "moderator": (False, False), "manager": (True, True)},
}
# What a new file's state is after a successful create or overwrite, by role.
PUBLISHED_AT_ONCE = {"writer": False, "publisher": True, "moderator": True,
                     "manager": True}


@dataclass
class Club:
    server: Server
    space_id: int
    ids: dict[str, int]

    def url(self, name: str) -> str:
        return f"{self.server.dav_url}/rubriques/{SLUG}/{quote(name)}"

    def put_file(self, name: str, author: str, published: bool) -> NodeInfo:
        with self.server.app() as app:
            writer = app.store.new_writer()
            writer.write(f"by {author}\n".encode())
            return app.store.commit_write(self.space_id, "/" + name, writer.finish(),
                                          stamp=Stamp(self.ids[author], published))

    def node(self, name: str) -> NodeInfo | None:
        with self.server.app() as app:
            return app.store.resolve(self.space_id, "/" + name)


@pytest.fixture(scope="module")
def club(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Club]:
    users = {role: "teacher" for role in ROLES} | {"other": "student"}
    with running_server(tmp_path_factory.mktemp("roles"), users=users) as srv:
        with srv.transaction() as s:
            school = acl.ensure_school(s, "Collège test")
            rubric = acl.add_rubric(s, SLUG, "Club", school_id=school)
            for role in ROLES:
                acl.grant(s, SLUG, role, user=role)
            acl.grant(s, SLUG, "writer", user="other")
            ids = {login: acl.find_user(s, login).id for login in srv.users}  # type: ignore[union-attr]
        with srv.app() as app:
            space = app.store.ensure_space("rubric", rubric_id=rubric.id)
        yield Club(srv, space.id, ids)


def _hrefs(response: requests.Response) -> list[str]:
    tree = etree.fromstring(response.content)
    return [h.text or "" for h in tree.iter("{DAV:}href")]


def _propstat_status(response: requests.Response) -> int:
    tree = etree.fromstring(response.content)
    status = tree.find(".//{DAV:}propstat/{DAV:}status")
    assert status is not None and status.text is not None
    return int(status.text.split()[1])


def _publish_body(published: bool) -> str:
    state = "pending" if published else "published"  # the other state
    return (f'<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:E="{ENT}">'
            f"<D:set><D:prop><E:publication-state>{state}</E:publication-state></D:prop>"
            "</D:set></D:propertyupdate>")


PRIVILEGES_BODY = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
                   "<D:current-user-privilege-set/></D:prop></D:propfind>")


def _run(club: Club, role: str, op: str, published: bool,
         web: requests.Session) -> tuple[object, str | None]:
    """Do one cell's operation; returns (observed, name of the file it targets)."""
    tag = uuid.uuid4().hex[:8]
    own = club.put_file(f"own-{tag}.txt", role, published).name
    other = club.put_file(f"other-{tag}.txt", "other", published).name
    if op == "list":
        listing = web.request("PROPFIND", club.url(""), headers={"Depth": "1"})
        assert listing.status_code == 207
        return any(h.endswith("/" + other) for h in _hrefs(listing)), None
    if op == "read":
        return web.get(club.url(other)).status_code, other
    if op == "create":
        return web.put(club.url(f"new-{tag}.txt"), data=b"new").status_code, f"new-{tag}.txt"
    if op.startswith("overwrite"):
        target = own if op.endswith("own") else other
        return web.put(club.url(target), data=b"changed").status_code, target
    if op.startswith("delete"):
        target = own if op.endswith("own") else other
        return web.delete(club.url(target)).status_code, target
    if op == "publish":
        reply = web.request("PROPPATCH", club.url(other), data=_publish_body(published),
                            headers={"Content-Type": "application/xml"})
        return (_propstat_status(reply) if reply.status_code == 207
                else reply.status_code), other
    reply = web.request("PROPFIND", club.url(""), data=PRIVILEGES_BODY,
                        headers={"Depth": "0", "Content-Type": "application/xml"})
    return reply.status_code == 207 and f"{{{ENT}}}manage".encode() in etree.tostring(
        etree.fromstring(reply.content)) or b"manage" in reply.content, None


@pytest.mark.parametrize("state", ["pending", "published"])
@pytest.mark.parametrize("op", list(TABLE))
@pytest.mark.parametrize("role", ROLES)
def test_role_operation_state(club: Club, role: str, op: str, state: str) -> None:
    published = state == "published"
    web = club.server.session(role)
    expected = TABLE[op][role][1 if published else 0]
    before: dict[str, NodeInfo | None] = {}
    # Snapshot every file of the space, to prove a refusal changed nothing.
    with club.server.app() as app:
        root = app.store.resolve(club.space_id, "")
        assert root is not None
        before = {n.name: n for n in app.store.children(root)}
    observed, target = _run(club, role, op, published, web)
    assert observed == expected, f"{role} {op} on a {state} file"
    if target is None:
        return
    node = club.node(target)
    succeeded = observed in (200, 201, 204)
    if op == "read" or op.startswith("delete") and not succeeded:
        assert node is not None and node.etag is not None
    if op.startswith("delete") and succeeded:
        assert node is None
    if op == "create":
        assert (node is not None) is succeeded
        if node is not None:
            assert node.published is PUBLISHED_AT_ONCE[role]
            assert node.author_id == club.ids[role]
    if op.startswith("overwrite"):
        assert node is not None
        changed = club.server.session("manager").get(club.url(target)).content
        assert (changed == b"changed") is succeeded
        if succeeded:
            assert node.published is PUBLISHED_AT_ONCE[role]
    if op == "publish":
        assert node is not None
        assert node.published is (not published if succeeded else published)
    with club.server.app() as app:
        root = app.store.resolve(club.space_id, "")
        assert root is not None
        after = {n.name: n for n in app.store.children(root)}
    untouched = set(before) - {target}
    assert {k: after.get(k) for k in untouched} == {k: before[k] for k in untouched}


def test_a_writer_upload_is_seen_by_visitors_once_a_moderator_publishes_it(
        club: Club, tmp_path: Path) -> None:
    """Two real client sessions at once: what a writer uploads, a visitor does not see
    (list, read, or guess) until a moderator publishes it with PROPPATCH."""
    writer, visitor = club.server.session("writer"), club.server.session("visitor")
    moderator = club.server.session("moderator")
    name = f"compte-rendu-{uuid.uuid4().hex[:6]}.txt"
    assert writer.put(club.url(name), data=b"brouillon").status_code == 201

    def visitor_sees() -> tuple[bool, int]:
        listing = visitor.request("PROPFIND", club.url(""), headers={"Depth": "1"})
        return (any(h.endswith("/" + name) for h in _hrefs(listing)),
                visitor.get(club.url(name)).status_code)

    assert visitor_sees() == (False, 404)
    assert writer.get(club.url(name)).content == b"brouillon"  # the author sees it
    assert moderator.get(club.url(name)).content == b"brouillon"
    reply = moderator.request("PROPPATCH", club.url(name), data=_publish_body(False),
                              headers={"Content-Type": "application/xml"})
    assert reply.status_code == 207 and _propstat_status(reply) == 200
    assert visitor_sees() == (True, 200)
    assert visitor.get(club.url(name)).content == b"brouillon"
    # The writer changes it: back to pending until published again.
    assert writer.put(club.url(name), data=b"version 2").status_code == 204
    assert visitor_sees() == (False, 404)


def test_rubrics_the_user_holds_no_role_in_do_not_exist_for_them(club: Club) -> None:
    with club.server.transaction() as s:
        acl.add_rubric(s, "secret", "Secret")
    manager = club.server.session("manager")
    listing = manager.request("PROPFIND", f"{club.server.dav_url}/rubriques/",
                              headers={"Depth": "1"})
    assert any(h.endswith(f"/rubriques/{SLUG}/") for h in _hrefs(listing))
    assert not any("/secret" in h for h in _hrefs(listing))
    assert manager.get(f"{club.server.dav_url}/rubriques/secret/x").status_code == 404
    assert manager.request("PROPFIND", f"{club.server.dav_url}/rubriques/secret/",
                           headers={"Depth": "0"}).status_code == 404


LOCK_BODY = ('<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
             "</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>")


@pytest.mark.parametrize(("role", "own", "status"), [
    ("visitor", False, 403), ("visitor", True, 403), ("writer", False, 403),
    ("writer", True, 200), ("moderator", False, 200)])
def test_only_who_may_change_a_file_may_lock_it(club: Club, role: str, own: bool,
                                                status: int) -> None:
    name = club.put_file(f"lock-{uuid.uuid4().hex[:8]}.txt", role if own else "other",
                         True).name
    reply = club.server.session(role).request(
        "LOCK", club.url(name), data=LOCK_BODY,
        headers={"Content-Type": "application/xml", "Timeout": "Second-60"})
    assert reply.status_code == status, reply.text
    if status == 403:
        assert "may not lock it" in reply.text
        assert club.server.session("manager").put(club.url(name), data=b"x").status_code == 204
