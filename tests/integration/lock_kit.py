"""What the lock tests share: LOCK, UNLOCK and lockdiscovery with ``requests``, and a
rubric with one member of each role (``rubric_kit``'s people, through ``acl``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests
from lxml import etree

import acl
from providers import NodeInfo, Stamp
from tests.conftest import Server
from tests.integration.rubric_kit import Person, add_people, rubric_url

DAV = "{DAV:}"
ROLES = ("visitor", "writer", "publisher", "moderator", "manager")
LOCKDISCOVERY = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:">'
                 "<D:prop><D:lockdiscovery/></D:prop></D:propfind>")


def lockinfo(scope: str = "exclusive", owner: str = "tests") -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
            f"<D:lockscope><D:{scope}/></D:lockscope><D:locktype><D:write/></D:locktype>"
            f"<D:owner><D:href>{owner}</D:href></D:owner></D:lockinfo>")


@dataclass(frozen=True)
class Locked:
    """A LOCK's answer: status, token (empty when refused), granted timeout text."""

    status: int
    token: str
    timeout: str | None
    text: str

    @property
    def seconds(self) -> int:
        """The lifetime left in ``timeout`` (``Second-N``): WsgiDAV writes what is left
        when it answers, so a second may have passed since the grant."""
        assert self.timeout and self.timeout.startswith("Second-"), self.text
        return int(self.timeout[len("Second-"):])


def lock(session: requests.Session, url: str, *, scope: str = "exclusive",
         depth: str = "0", timeout: str | None = "Second-600") -> Locked:
    headers = {"Depth": depth, "Content-Type": "application/xml"}
    if timeout is not None:
        headers["Timeout"] = timeout
    reply = session.request("LOCK", url, data=lockinfo(scope), headers=headers)
    token = reply.headers.get("Lock-Token", "").strip().strip("<>")
    found = re.search(r"<[A-Za-z]*:?timeout>([^<]*)<", reply.text)
    return Locked(reply.status_code, token, found.group(1) if found else None, reply.text)


def refresh(session: requests.Session, url: str, token: str,
            timeout: str | None = None) -> Locked:
    headers = {"If": f"(<{token}>)"}
    if timeout is not None:
        headers["Timeout"] = timeout
    reply = session.request("LOCK", url, headers=headers)
    found = re.search(r"<[A-Za-z]*:?timeout>([^<]*)<", reply.text)
    return Locked(reply.status_code, token, found.group(1) if found else None, reply.text)


def unlock(session: requests.Session, url: str, token: str) -> int:
    return session.request("UNLOCK", url, headers={"Lock-Token": f"<{token}>"}).status_code


def put(session: requests.Session, url: str, data: bytes = b"x",
        token: str | None = None) -> int:
    headers = {"If": f"(<{token}>)"} if token else {}
    return session.put(url, data=data, headers=headers).status_code


def discovered(session: requests.Session, url: str) -> list[dict[str, str]]:
    """The active locks ``lockdiscovery`` lists on ``url``: scope, depth, token."""
    reply = session.request("PROPFIND", url, data=LOCKDISCOVERY,
                            headers={"Depth": "0", "Content-Type": "application/xml"})
    assert reply.status_code == 207, (url, reply.status_code, reply.text)
    found = []
    for active in etree.fromstring(reply.content).iter(DAV + "activelock"):
        scope = active.find(f"{DAV}lockscope")
        href = active.find(f"{DAV}locktoken/{DAV}href")
        found.append({"scope": etree.QName(scope[0]).localname if scope is not None else "",
                      "depth": active.findtext(f"{DAV}depth") or "",
                      "token": (href.text or "").strip() if href is not None else ""})
    return found


@dataclass
class Club:
    """A rubric ``slug`` with one member per role (login = role), a second writer
    ``writer2``, and its space id."""

    server: Server
    slug: str
    space_id: int
    ids: dict[str, int]

    def url(self, path: str = "") -> str:
        return rubric_url(self.server, self.slug, path)

    def put_file(self, path: str, author: str, published: bool = True,
                 data: bytes = b"contenu\n") -> NodeInfo:
        """A file written through the store, by ``author``."""
        with self.server.app() as app:
            writer = app.store.new_writer()
            writer.write(data)
            return app.store.commit_write(self.space_id, path, writer.finish(),
                                          stamp=Stamp(self.ids[author], published))

    def mkdir(self, path: str, author: str, published: bool = True) -> NodeInfo:
        with self.server.app() as app:
            return app.store.make_collection(self.space_id, path,
                                             stamp=Stamp(self.ids[author], published))

    def node(self, path: str) -> NodeInfo | None:
        with self.server.app() as app:
            return app.store.resolve(self.space_id, path)


def make_club(server: Server, slug: str) -> Club:
    """The rubric and its members (students, except the moderator and the manager)."""
    people = [Person(role, "teacher" if role in ("moderator", "manager") else "student")
              for role in (*ROLES, "writer2")]
    add_people(server, [p for p in people if p.login not in server.users])
    with server.transaction() as s:
        school = acl.find_school(s, "Collège des tests")
        rubric = acl.add_rubric(s, slug, slug.capitalize(), school_id=school)
        for role in ROLES:
            acl.grant(s, slug, role, user=role)
        acl.grant(s, slug, "writer", user="writer2")
        ids = {p.login: acl.find_user(s, p.login).id for p in people}  # type: ignore[union-attr]
    with server.app() as app:
        space = app.store.ensure_space("rubric", rubric_id=rubric.id)
    return Club(server, slug, space.id, ids)
