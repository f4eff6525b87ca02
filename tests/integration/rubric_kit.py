"""What the rubric integration tests share: people set up through ``acl`` on the
server's own database, the CLI run as IT staff run it, and the few WebDAV requests
the tests make (PROPFIND Depth 1 names, PUT, MKCOL, COPY, MOVE) with ``requests``.

Users are created in one transaction (not one ``davserver user add`` process each)
so that a module's server is ready in a second or two.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from unittest import mock
from urllib.parse import quote, unquote, urlsplit

import requests

import acl
from davserver.cli import main
from providers import NodeInfo
from tests.conftest import PASSWORD, Server

DAV = "{DAV:}"
ENT = "{urn:ent-davserver:ns}"
SCHOOL = "Collège des tests"
STATE_PROPFIND = ('<?xml version="1.0" encoding="utf-8"?>'
                  '<D:propfind xmlns:D="DAV:" xmlns:E="urn:ent-davserver:ns"><D:prop>'
                  "<D:resourcetype/><E:publication-state/><E:author/></D:prop></D:propfind>")


@dataclass(frozen=True)
class Person:
    login: str
    profile: str
    groups: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()


def add_people(server: Server, people: list[Person]) -> int:
    """Create the school, its groups and subjects, and ``people`` in one transaction;
    returns the school id. Every user gets :data:`PASSWORD`."""
    with server.transaction() as s:
        school = acl.ensure_school(s, SCHOOL)
        for person in people:
            user = acl.create_user(s, person.login, PASSWORD, person.profile,
                                   school_id=school)
            for group in person.groups:
                acl.add_member(s, acl.ensure_group(s, school, group), user.id)
            for code in person.subjects:
                acl.add_teacher_subject(s, user.id, acl.ensure_subject(s, school, code))
            server.users[person.login] = PASSWORD
    return school


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """``davserver ARGS`` run in this process with the server's environment: the same
    ``davserver.cli.main`` as the command, without a Python start-up per call (a
    second or two each on a loaded machine). ``Server.cli`` runs the real process."""
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, server.env, clear=True), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(["davserver", *args], code, out.getvalue(),
                                       err.getvalue())


def cli_ok(server: Server, *args: str) -> str:
    """A ``davserver`` command that must succeed; returns its stdout."""
    done = cli(server, *args)
    assert done.returncode == 0, (args, done.returncode, done.stdout, done.stderr)
    return done.stdout


def cli_refused(server: Server, *args: str) -> str:
    """A command that must fail cleanly: exit status 1, a message on stderr, no
    traceback; returns the message."""
    done = cli(server, *args)
    assert done.returncode == 1, (args, done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip(), f"{args}: no message on stderr"
    return done.stderr


def rubric_url(server: Server, slug: str, path: str = "") -> str:
    """URL of ``path`` (``/a/b``, unencoded) in a rubric's space."""
    return f"{server.dav_url}/rubriques/{slug}/" + quote(path.strip("/"))


def propfind(session: requests.Session, url: str, depth: str = "1") -> requests.Response:
    return session.request("PROPFIND", url, data=STATE_PROPFIND,
                           headers={"Depth": depth, "Content-Type": "application/xml"})


def members(session: requests.Session, url: str) -> set[str] | int:
    """Names listed by PROPFIND Depth 1 on a folder (the folder itself left out), or
    the status code when it is not 207."""
    response = propfind(session, url)
    if response.status_code != 207:
        return response.status_code
    own = unquote(urlsplit(url).path).rstrip("/")
    names = set()
    for href in ET.fromstring(response.content).iter(DAV + "href"):
        path = unquote(urlsplit(href.text or "").path).rstrip("/")
        if path != own:
            names.add(path.rsplit("/", 1)[-1])
    return names


def props(session: requests.Session, url: str) -> dict[str, str | None]:
    """publication-state and author of one resource (PROPFIND Depth 0)."""
    response = propfind(session, url, depth="0")
    assert response.status_code == 207, (url, response.status_code, response.text)
    found: dict[str, str | None] = {}
    for prop in ET.fromstring(response.content).iter(DAV + "prop"):
        for child in prop:
            if child.tag.startswith(ENT):
                found[child.tag[len(ENT):]] = child.text
    return found


def names(session: requests.Session, url: str) -> set[str]:
    """:func:`members` of a folder that must be listable."""
    found = members(session, url)
    assert not isinstance(found, int), (url, found)
    return found


def visible_rubrics(session: requests.Session, server: Server) -> set[str]:
    """Slugs listed in the user's ``/dav/rubriques/``."""
    return names(session, server.dav_url + "/rubriques/")


def put(session: requests.Session, url: str, data: bytes = b"contenu\n") -> int:
    return session.put(url, data=data).status_code


def mkcol(session: requests.Session, url: str) -> int:
    return session.request("MKCOL", url.rstrip("/") + "/").status_code


def transfer(session: requests.Session, method: str, src: str, dest: str, *,
             overwrite: bool = True) -> requests.Response:
    """COPY or MOVE ``src`` to ``dest`` (absolute URLs), Depth infinity."""
    return session.request(method, src, headers={
        "Destination": dest, "Overwrite": "T" if overwrite else "F",
        "Depth": "infinity"})


def space_id(server: Server, target: str) -> int:
    """Space id of ``rubric:SLUG`` or of LOGIN's porte-documents (as ``quota`` names
    them)."""
    with server.app() as app:
        with app.db.transaction(write=False) as s:
            if target.startswith("rubric:"):
                rubric = acl.get_rubric(s, target[len("rubric:"):])
                key: dict[str, int | None] = {"rubric_id": rubric.id}
                kind, profile = "rubric", None
            else:
                user = acl.find_user(s, target)
                assert user is not None, target
                key = {"owner_id": user.id}
                kind, profile = "documents", user.profile.value
        return app.store.ensure_space(kind, profile=profile, **key).id


def node(server: Server, target: str, path: str) -> NodeInfo | None:
    """The store's node at ``path`` (``/a/b``) of a space named as in :func:`space_id`,
    whoever may see it."""
    sid = space_id(server, target)
    with server.app() as app:
        return app.store.resolve(sid, path)


def used_bytes(server: Server, target: str) -> int:
    """Bytes charged to a space, from the ledger."""
    sid = space_id(server, target)
    with server.app() as app:
        figures = app.store.usage(sid)
    assert figures is not None
    return figures.used


def trash_bytes(server: Server, target: str) -> int:
    """Bytes a space's trash holds, from the ledger (not in its used bytes, issue 17)."""
    sid = space_id(server, target)
    with server.app() as app:
        figures = app.store.usage(sid)
    assert figures is not None
    return figures.trash


def quota_show(server: Server, target: str) -> str:
    """What ``davserver quota show TARGET`` prints (used / limit)."""
    return cli_ok(server, "quota", "show", target)
