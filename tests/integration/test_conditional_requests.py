"""Conditional requests (RFC 7232; ``If-Range``: RFC 7233 §3.2) on every method and
every kind of resource, against a live ``davserver serve``, as one table.

:data:`TABLE` has a line per resource state and condition and a column per method;
each cell is the status expected, ``-`` where the request is not sent (``If-Range``
concerns GET and HEAD only). States: ``file`` and ``folder`` of the porte-documents,
``missing`` (a free name in an existing folder), and the virtual collections
``root`` (``/dav/``), ``rubrics`` (``/dav/rubriques/``) and ``trash``
(``/dav/corbeille/``). Each line runs in a new folder, on a target of its own per
method (COPY and MOVE to a new name: RFC 7232 applies to the request target, the
source). Reading a line: the normal checks come first (RFC 7232 §5: 404 for a
missing target, 405 for MKCOL on a mapped URL or PUT on a folder, 403 for a GET of a
folder and for writes on the virtual collections that are refused before
WsgiDAV looks), then the preconditions in §6's order.

Beyond the status, every 304 and 412 answer has no body and gives the target's
``ETag`` (and ``Last-Modified``); a request refused on a precondition changed
nothing (content, properties, locks, and no COPY or MOVE destination appeared).
GET and HEAD lines run on two servers: one where the plain GET short way
(``providers.plain_get``) answers them, one where it never does (``auth.cache_ttl:
0``); the server's log says which way answered, and both ways must agree.
"""

from __future__ import annotations

import email.utils
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.conftest import Server, running_server

pytestmark = pytest.mark.clients

METHODS = ("GET", "HEAD", "PUT", "DELETE", "MKCOL", "PROPFIND", "PROPPATCH", "COPY", "MOVE",
           "LOCK")
DAY = 24 * 3600
OLD_DATE = "Mon, 01 Jan 2001 00:00:00 GMT"
CONTENT = b"content that must survive a failed precondition"
PROPPATCH = ('<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" '
             'xmlns:Z="urn:ent:test"><D:set><D:prop><Z:color>blue</Z:color></D:prop>'
             "</D:set></D:propertyupdate>")
LOCKINFO = ('<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
            "<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
            "<D:owner><D:href>tester</D:href></D:owner></D:lockinfo>")
STATE_PROPFIND = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
                  'xmlns:Z="urn:ent:test"><D:prop><D:getetag/><D:getlastmodified/>'
                  "<D:lockdiscovery/><Z:color/></D:prop></D:propfind>")

# Placeholders of the condition column: {etag} the target's ETag as sent, {weak} it as
# a weak tag, {bare} it without quotes, {lm} its Last-Modified, {past}/{future} a day
# before/after, {lm850}/{lmasc} Last-Modified in the obsolete RFC 850 and asctime forms.
# Headers of one line are separated by "; ".
#
# state | condition                                  |GET HEA PUT DEL MKC PFI PPA COP MOV LOC
TABLE = """
file    | -                                          |200 200 204 204 405 207 207 201 201 200
file    | If-Match: {etag}                           |200 200 204 204 405 207 207 201 201 200
file    | If-Match: "stale"                          |412 412 412 412 405 412 412 412 412 412
file    | If-Match: *                                |200 200 204 204 405 207 207 201 201 200
file    | If-Match: {weak}                           |412 412 412 412 405 412 412 412 412 412
file    | If-Match: "stale", {etag}                  |200 200 204 204 405 207 207 201 201 200
file    | If-Match: {bare}                           |200 200 204 204 405 207 207 201 201 200
file    | If-Match: not a tag                        |412 412 412 412 405 412 412 412 412 412
file    | If-Unmodified-Since: {lm}                  |200 200 204 204 405 207 207 201 201 200
file    | If-Unmodified-Since: {past}                |412 412 412 412 405 412 412 412 412 412
file    | If-Unmodified-Since: {future}              |200 200 204 204 405 207 207 201 201 200
file    | If-Unmodified-Since: yesterday             |200 200 204 204 405 207 207 201 201 200
file    | If-Match: {etag}; If-Unmodified-Since: {past}|200 200 204 204 405 207 207 201 201 200
file    | If-None-Match: *                           |304 304 412 412 405 412 412 412 412 412
file    | If-None-Match: {etag}                      |304 304 412 412 405 412 412 412 412 412
file    | If-None-Match: {weak}                      |304 304 412 412 405 412 412 412 412 412
file    | If-None-Match: "stale"                     |200 200 204 204 405 207 207 201 201 200
file    | If-None-Match: "stale", {etag}             |304 304 412 412 405 412 412 412 412 412
file    | If-None-Match: garbage text, not a tag     |200 200 204 204 405 207 207 201 201 200
file    | If-Modified-Since: {lm}                    |304 304 204 204 405 207 207 201 201 200
file    | If-Modified-Since: {lm850}                 |304 304 204 204 405 207 207 201 201 200
file    | If-Modified-Since: {lmasc}                 |304 304 204 204 405 207 207 201 201 200
file    | If-Modified-Since: {past}                  |200 200 204 204 405 207 207 201 201 200
file    | If-Modified-Since: {future}                |304 304 204 204 405 207 207 201 201 200
file    | If-Modified-Since: not a date              |200 200 204 204 405 207 207 201 201 200
file    | If-None-Match: "stale"; If-Modified-Since: {lm}|200 200 204 204 405 207 207 201 201 200
file    | If-None-Match: {etag}; If-Modified-Since: {past}|304 304 412 412 405 412 412 412 412 412
file    | If-Match: "stale"; If-None-Match: "stale"  |412 412 412 412 405 412 412 412 412 412
file    | If-Unmodified-Since: {past}; If-None-Match: {etag}|412 412 412 412 405 412 412 412 412 412
file    | If-Match: {etag}; If: (Not <DAV:no-lock>)  |200 200 204 204 405 207 207 201 201 200
file    | If-Match: {etag}; If: (<urn:uuid:nolock>)  |412 412 412 412 405 412 412 412 412 412
file    | If-Match: "stale"; If: (Not <DAV:no-lock>) |412 412 412 412 405 412 412 412 412 412
file    | Range: bytes=0-3                           |206 206  -   -   -   -   -   -   -   -
file    | Range: bytes=0-3; If-Range: {etag}         |206 206  -   -   -   -   -   -   -   -
file    | Range: bytes=0-3; If-Range: "stale"        |200 200  -   -   -   -   -   -   -   -
file    | Range: bytes=0-3; If-Range: {weak}         |200 200  -   -   -   -   -   -   -   -
file    | Range: bytes=0-3; If-Range: {lm}           |206 206  -   -   -   -   -   -   -   -
file    | Range: bytes=0-3; If-Range: {past}         |200 200  -   -   -   -   -   -   -   -
file    | If-Range: "stale"                          |200 200  -   -   -   -   -   -   -   -
file    | Range: bytes=0-3; If-Range: {etag}; If-None-Match: {etag}|304 304 - - - - - - - -
folder  | -                                          |403 403 405 204 405 207 207 201 201 200
folder  | If-Match: *                                |403 403 405 204 405 207 207 201 201 200
folder  | If-Match: "stale"                          |403 403 405 412 405 412 412 412 412 412
folder  | If-None-Match: *                           |403 403 405 412 405 412 412 412 412 412
folder  | If-None-Match: "stale"                     |403 403 405 204 405 207 207 201 201 200
folder  | If-Unmodified-Since: {past}                |403 403 405 412 405 412 412 412 412 412
folder  | If-Unmodified-Since: {lm}                  |403 403 405 204 405 207 207 201 201 200
folder  | If-Modified-Since: {future}                |403 403 405 204 405 207 207 201 201 200
missing | -                                          |404 404 201 404 201 404 404 404 404 201
missing | If-Match: *                                |404 404 412 404 412 404 404 404 404 412
missing | If-Match: "stale"                          |404 404 412 404 412 404 404 404 404 412
missing | If-None-Match: *                           |404 404 201 404 201 404 404 404 404 201
missing | If-None-Match: "stale"                     |404 404 201 404 201 404 404 404 404 201
missing | If-Unmodified-Since: {old}                 |404 404 201 404 201 404 404 404 404 201
root    | -                                          |403 403 405 403 405 207 207 403 403 403
root    | If-Match: *                                |403 403 405 403 405 207 207 403 403 403
root    | If-Match: "stale"                          |403 403 405 412 405 412 412 412 412 403
root    | If-None-Match: *                           |403 403 405 412 405 412 412 412 412 403
root    | If-Unmodified-Since: {old}                 |403 403 405 412 405 412 412 412 412 403
rubrics | -                                          |403 403 405 403 405 207 207 403 403 403
rubrics | If-Match: *                                |403 403 405 403 405 207 207 403 403 403
rubrics | If-Match: "stale"                          |403 403 405 412 405 412 412 412 412 403
rubrics | If-None-Match: *                           |403 403 405 412 405 412 412 412 412 403
trash   | -                                          |403 403 403 403 403 207 403 403 403 403
trash   | If-Match: *                                |403 403 403 403 403 207 403 403 403 403
trash   | If-Match: "stale"                          |403 403 403 403 403 412 403 412 412 403
trash   | If-None-Match: *                           |403 403 403 403 403 412 403 412 412 403
"""

VIRTUAL = {"root": "/dav/", "rubrics": "/dav/rubriques/", "trash": "/dav/corbeille/"}


@dataclass(frozen=True)
class Line:
    """One line of :data:`TABLE`."""

    state: str
    condition: str
    expected: dict[str, int | None]  # method → status, None: not sent

    @property
    def id(self) -> str:
        return f"{self.state}:{self.condition}"

    @property
    def uses_if_header(self) -> bool:
        return "If: " in self.condition


def parse_table(text: str) -> list[Line]:
    lines = []
    for raw in text.strip().splitlines():
        state, condition, cells = (part.strip() for part in raw.split("|"))
        statuses = cells.split()
        assert len(statuses) == len(METHODS), raw
        lines.append(Line(state, condition, {
            m: None if s == "-" else int(s) for m, s in zip(METHODS, statuses, strict=True)}))
    return lines


LINES = parse_table(TABLE)
SAFE_LINES = [line for line in LINES if line.state == "file"]


# --- the targets and their state ----------------------------------------------------------


@dataclass
class Target:
    """A request target: its URL and validators (ETag as sent, Last-Modified epoch)."""

    url: str
    etag: str | None = None
    modified: int | None = None


def http_date(seconds: float, form: str = "imf") -> str:
    if form == "850":
        return time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime(seconds))
    if form == "asc":
        t = time.gmtime(seconds)
        return f"{time.strftime('%a %b', t)} {t.tm_mday:2d} {time.strftime('%H:%M:%S %Y', t)}"
    return email.utils.formatdate(seconds, usegmt=True)


def headers_for(condition: str, target: Target) -> dict[str, str]:
    """The request headers of a condition, placeholders filled for ``target``."""
    if condition == "-":
        return {}
    tag = target.etag or '"no-etag"'
    modified = target.modified if target.modified is not None else 978307200
    values = {"etag": tag, "weak": "W/" + tag, "bare": tag.strip('"'),
              "lm": http_date(modified), "past": http_date(modified - DAY),
              "future": http_date(modified + DAY), "lm850": http_date(modified, "850"),
              "lmasc": http_date(modified, "asc"), "old": OLD_DATE}
    headers = {}
    for part in condition.split("; "):
        name, _, value = part.partition(": ")
        headers[name] = value.format(**values)
    return headers


def state_of(session: requests.Session, folder: str) -> dict[str, tuple[str, ...]]:
    """Each member of ``folder`` → (ETag, Last-Modified, lock owner, dead property)."""
    reply = session.request("PROPFIND", folder + "/", data=STATE_PROPFIND,
                            headers={"Depth": "1", "Content-Type": "application/xml"})
    assert reply.status_code == 207, reply.text[:500]
    found = {}
    for response in ET.fromstring(reply.content).iter("{DAV:}response"):
        href = response.findtext("{DAV:}href") or ""
        values = []
        for name in ("{DAV:}getetag", "{DAV:}getlastmodified", "{DAV:}lockdiscovery",
                     "{urn:ent:test}color"):
            element = response.find(f".//{name}")
            values.append("" if element is None else ET.tostring(element, "unicode"))
        found[href.rstrip("/").rsplit("/", 1)[-1]] = tuple(values)
    return found


def validators_of(session: requests.Session, url: str) -> Target:
    """A virtual collection as a target, with the validators its PROPFIND gives: the
    drive's root and ``rubriques/`` have an ETag that changes with their members (the
    sync apps poll it) and a fixed date; the trash has neither."""
    reply = session.request("PROPFIND", url, data=STATE_PROPFIND,
                            headers={"Depth": "0", "Content-Type": "application/xml"})
    assert reply.status_code == 207, reply.text[:500]
    etag = ET.fromstring(reply.content).findtext(".//{DAV:}getetag")
    date = ET.fromstring(reply.content).findtext(".//{DAV:}getlastmodified")
    return Target(url, etag or None,
                  int(email.utils.parsedate_to_datetime(date).timestamp()) if date else None)


def prepare(session: requests.Session, base: str, line: Line) -> tuple[str, dict[str, Target]]:
    """A new folder holding one target per method in ``line.state``; returns the
    folder and method → target."""
    folder = f"{base}/cond-{uuid.uuid4().hex[:10]}"
    assert session.request("MKCOL", folder + "/").status_code == 201
    if line.state in VIRTUAL:
        url = base.split("/dav/", 1)[0] + VIRTUAL[line.state]
        return folder, {m: validators_of(session, url) for m in METHODS}
    targets = {}
    for method in METHODS:
        url = f"{folder}/{method.lower()}"
        if line.state == "file":
            assert session.put(url, data=CONTENT).status_code == 201
        elif line.state == "folder":
            url += "/"
            assert session.request("MKCOL", url).status_code == 201
        targets[method] = Target(url)
    if line.state != "missing":
        state = state_of(session, folder)
        for method, target in targets.items():
            etag, modified = state[method.lower()][:2]
            text = ET.fromstring(etag).text if etag else None
            target.etag = text or None
            date = ET.fromstring(modified).text if modified else None
            target.modified = int(email.utils.parsedate_to_datetime(date).timestamp()) \
                if date else None
    return folder, targets


def send(session: requests.Session, method: str, target: Target, folder: str,
         headers: dict[str, str]) -> requests.Response:
    """The request of one cell."""
    if method in ("COPY", "MOVE"):
        slash = "/" if target.url.endswith("/") else ""
        headers = {**headers, "Destination": f"{folder}/dest-{method.lower()}{slash}"}
    body: str | bytes | None = {"PUT": b"new content", "PROPPATCH": PROPPATCH,
                                "LOCK": LOCKINFO}.get(method)
    if method == "PROPFIND":
        headers = {**headers, "Depth": "0"}
    if method == "LOCK":
        headers = {**headers, "Depth": "0", "Timeout": "Second-60"}
    url = target.url
    if method == "MKCOL" and not url.endswith("/"):
        url += "/"
    return session.request(method, url, data=body, headers=headers)


def last_way(server: Server, offset: int) -> tuple[str, int]:
    """Which way answered the last request, read from the server log written since
    ``offset`` bytes: ``short`` (``providers.plain_get`` writes on ``wsgidav``) or
    ``wsgidav``; and the new offset."""
    assert server.log_path is not None
    data = server.log_path.read_bytes()
    lines = [line for line in data[offset:].decode().splitlines()
             if " INFO wsgidav" in line and '"' in line]
    assert lines, data[offset:][-2000:]
    return ("short" if " INFO wsgidav: " in lines[-1] else "wsgidav"), len(data)


def log_offset(server: Server) -> int:
    assert server.log_path is not None
    return server.log_path.stat().st_size


def expect_way(line: Line) -> str:
    """The way a GET or HEAD of a file takes on a server where the short way is
    eligible: WsgiDAV's for the ``If`` header and ranges only."""
    headers = headers_for(line.condition, Target(""))
    return "wsgidav" if "If" in headers or "Range" in headers else "short"


# --- servers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """alice's credentials stay remembered all along (``auth.cache_ttl``): every plain
    GET and HEAD may take the short way. Request lines are logged (INFO)."""
    with running_server(tmp_path_factory.mktemp("cond"),
                        extra_env={"DAVSERVER_AUTH__CACHE_TTL": "3600",
                                   "DAVSERVER_LOGGING__LEVEL": "INFO"},
                        users={"alice": "teacher"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No remembered credentials (``auth.cache_ttl: 0``): the short way never answers,
    every request checks the password (argon2, some tens of milliseconds)."""
    with running_server(tmp_path_factory.mktemp("cond-slow"),
                        extra_env={"DAVSERVER_AUTH__CACHE_TTL": "0",
                                   "DAVSERVER_LOGGING__LEVEL": "INFO"},
                        users={"alice": "teacher"}) as srv:
        yield srv


# --- the table ----------------------------------------------------------------------------


def check_failed_answer(reply: requests.Response, target: Target, line: Line) -> list[str]:
    """A 304 or 412 of RFC 7232 has no body and the target's validators (§4.1); the
    ``If`` header's 412 (RFC 4918 §10.4, lock tokens) is WsgiDAV's, with its page."""
    problems = []
    if reply.status_code == 304 or not line.uses_if_header:
        if reply.content:
            problems.append(f"body of {len(reply.content)} bytes")
        if reply.headers.get("ETag") != target.etag:
            problems.append(f"ETag {reply.headers.get('ETag')!r}, not {target.etag!r}")
        if target.modified is not None and reply.headers.get("Last-Modified") != \
                http_date(target.modified):
            problems.append(f"Last-Modified {reply.headers.get('Last-Modified')!r}")
    return problems


def run_cell(server: Server, session: requests.Session, line: Line, method: str,
             target: Target, folder: str) -> list[str]:
    """Send one cell's request; what is wrong with its answer."""
    expected = line.expected[method]
    offset = log_offset(server)
    reply = send(session, method, target, folder, headers_for(line.condition, target))
    if reply.status_code != expected:
        return [f"{method}: {reply.status_code}, expected {expected}"]
    problems = []
    if expected in (304, 412):
        problems.extend(check_failed_answer(reply, target, line))
    if line.state == "file" and method in ("GET", "HEAD"):
        way, _ = last_way(server, offset)
        if way != expect_way(line):
            problems.append(f"answered by {way}, expected {expect_way(line)}")
    if method == "GET" and expected in (200, 206) and line.state == "file":
        wanted = CONTENT if expected == 200 else CONTENT[:4]
        if reply.content != wanted:
            problems.append(f"body {reply.content[:40]!r}")
    return [f"{method}: {p}" for p in problems]


@pytest.mark.parametrize("line", LINES, ids=[line.id for line in LINES])
def test_table(server: Server, line: Line) -> None:
    """Every cell of one line (all mismatches reported together); then nothing that a
    304 or 412 refused has changed."""
    session = server.session("alice")
    folder, targets = prepare(session, server.documents_url, line)
    before = state_of(session, folder)
    mismatches = []
    for method in METHODS:
        if line.expected[method] is not None:
            mismatches.extend(run_cell(server, session, line, method, targets[method],
                                       folder))
    assert not mismatches, f"{line.id}: " + "; ".join(mismatches)
    after = state_of(session, folder)
    refused = [m for m in METHODS if line.expected[m] in (304, 412)]
    for method in refused:
        name = targets[method].url.rstrip("/").rsplit("/", 1)[-1]
        if line.state not in VIRTUAL:
            assert after.get(name) == before.get(name), (method, name)
        assert f"dest-{method.lower()}" not in after, method
        if line.state == "file":
            assert session.get(targets[method].url).content == CONTENT, method


@pytest.fixture(scope="module")
def both_ways(server: Server, slow_server: Server) -> dict[str, tuple[Server, Target]]:
    """A file on each server (GET and HEAD change nothing: every line reads it)."""
    files = {}
    for name, srv in (("fast", server), ("slow", slow_server)):
        session = srv.session("alice")
        folder = f"{srv.documents_url}/ways-{uuid.uuid4().hex[:10]}"
        assert session.request("MKCOL", folder + "/").status_code == 201
        url = f"{folder}/file.txt"
        assert session.put(url, data=CONTENT).status_code == 201
        reply = session.head(url)
        modified = email.utils.parsedate_to_datetime(reply.headers["Last-Modified"])
        files[name] = (srv, Target(url, reply.headers["ETag"], int(modified.timestamp())))
    return files


@pytest.mark.parametrize("line", SAFE_LINES, ids=[line.id for line in SAFE_LINES])
def test_both_ways_answer_alike(both_ways: dict[str, tuple[Server, Target]],
                                line: Line) -> None:
    """GET and HEAD of a file, once where the short way answers and once where it
    never does: the same status, header names and body (but the date in the page of
    the ``If`` header's 412)."""
    skip = {"date", "server", "connection", "keep-alive"}
    answers = {}
    for name, (srv, target) in both_ways.items():
        session = srv.session("alice")
        for method in ("GET", "HEAD"):
            offset = log_offset(srv)
            reply = session.request(method, target.url,
                                    headers=headers_for(line.condition, target))
            way, _ = last_way(srv, offset)
            assert way == (expect_way(line) if name == "fast" else "wsgidav"), (name, method)
            assert reply.status_code == line.expected[method], (name, method)
            body = len(reply.content) if line.uses_if_header else reply.content
            answers[name, method] = (reply.status_code, body, sorted(
                h.lower() for h in reply.headers if h.lower() not in skip))
    for method in ("GET", "HEAD"):
        assert answers["fast", method] == answers["slow", method], method


@pytest.mark.one_database  # the table itself
def test_the_table_covers_every_method_and_state() -> None:
    """No line lacks a cell, and every state meets every precondition header."""
    states = {line.state for line in LINES}
    assert states == {"file", "folder", "missing", *VIRTUAL}
    for header in ("If-Match", "If-None-Match", "If-Unmodified-Since", "If-Modified-Since",
                   "If-Range"):
        assert any(header + ":" in line.condition for line in LINES), header
    for state in ("file", "folder", "missing"):
        conditions = " ".join(line.condition for line in LINES if line.state == state)
        for header in ("If-Match: *", "If-Match: \"stale\"", "If-None-Match: *"):
            assert header in conditions, (state, header)


@pytest.mark.one_database  # the table itself
def test_dates_in_every_form() -> None:
    """The RFC 850 and asctime forms the table sends are what RFC 7231 §7.1.1.1 lists."""
    assert http_date(784111777, "850") == "Sunday, 06-Nov-94 08:49:37 GMT"
    assert http_date(784111777, "asc") == "Sun Nov  6 08:49:37 1994"
    assert http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"
