"""Quotas seen by real clients: curl (cases BUG-14 and BUG-15 of
``../shared/cases/client-interop.md``), raw sockets for framing curl will not send,
``rclone about`` and ``rclone copy`` (vendor=other), and litmus on a space with a quota.

One server for the module, with users whose porte-documents have small limits:

* ``alice`` (teacher): 200 000 bytes, set with ``davserver quota set`` before start;
* ``bob`` (student): the default, 500 MiB = 524 288 000 bytes (no profile override);
* ``rita``: 250 000 bytes, set after start (the CLI shares the server's database);
* ``lea``: 5 MB, for litmus.

Every test starts and ends with alice's porte-documents empty (``empty_alice``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import struct
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests

from tests.conftest import Server, drop_database, make_server, wait_until
from tests.curl import raw_http
from tests.integration.test_litmus import (
    LITMUS,
    PROBLEM,
    SUITES,
    _normalise,
    _require_litmus,
)
from tests.integration.test_litmus import TIMEOUT as LITMUS_TIMEOUT
from tests.integration.test_rclone import Rclone, _require_rclone

pytestmark = pytest.mark.clients

DAV = "{DAV:}"
LIMIT = 200_000                 # alice's porte-documents
RITA_LIMIT = 250_000            # rita's: ~250 KB of room for the rclone copy
LEA_LIMIT = "5MB"               # lea's: litmus
DEFAULT_LIMIT = 500 * 2**20     # config.yaml `quotas.documents: 500MiB` ("500 Mo")
STATUS_507 = "HTTP/1.1 507 Insufficient Storage"
FINDER = "WebDAVFS/3.0.0 (03008000) Darwin/22.1.0 (x86_64)"
QUOTA_PROPFIND = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
                  "<D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>")
QUOTA_PROPS = ("quota-available-bytes", "quota-used-bytes")


# --- the server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv, dbname = make_server(tmp_path_factory.mktemp("quota-srv"))
    try:
        srv.add_user("alice")
        srv.add_user("bob", profile="student")
        srv.add_user("rita")
        srv.add_user("lea")
        srv.cli("quota", "set", "alice", str(LIMIT))      # before start ...
        srv.start()
        srv.cli("quota", "set", "rita", str(RITA_LIMIT))  # ... and while it runs
        srv.cli("quota", "set", "lea", LEA_LIMIT)
        yield srv
    finally:
        if srv.proc is not None:
            srv.stop()
        drop_database(dbname)


def members(session: requests.Session, url: str) -> dict[str, int | None]:
    """Members of the collection ``url`` (trailing slash): href → size (None: folder)."""
    response = session.request("PROPFIND", url, headers={"Depth": "1"})
    assert response.status_code == 207, (url, response.status_code, response.text[:300])
    path = urlsplit(url).path
    found: dict[str, int | None] = {}
    for resp in ET.fromstring(response.content).iter(f"{DAV}response"):
        href = resp.findtext(f"{DAV}href") or ""
        if href.rstrip("/") == path.rstrip("/"):
            continue
        length = resp.findtext(f".//{DAV}getcontentlength")
        is_coll = resp.find(f".//{DAV}resourcetype/{DAV}collection") is not None
        found[href] = None if is_coll else int(length or 0)
    return found


def empty_space(server: Server, user: str) -> None:
    session = server.session(user)
    origin = server.base_url
    for href in members(session, server.documents_url + "/"):
        response = session.delete(origin + href)
        assert response.status_code in (200, 204), (href, response.status_code)
    server.empty_trash()  # a clean trash too: what a test finds there is its own


@pytest.fixture(autouse=True)
def empty_alice(server: Server) -> Iterator[None]:
    """alice's porte-documents is empty, with her 200 000-byte limit, before and after."""
    empty_space(server, "alice")
    assert quota(server, "alice") == (LIMIT, 0), "alice's usage did not return to 0"
    yield
    empty_space(server, "alice")


# --- clients ------------------------------------------------------------------------------


@dataclass
class Reply:
    """One curl exchange: final status line and status, headers (lower-case), body."""

    status: int
    status_line: str
    headers: dict[str, str]
    body: bytes
    exit_code: int
    stderr: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Curl:
    """``curl -s -g -u USER:PASS -o BODY -D HEADERS -w '%{http_code}' ARGS...``."""

    def __init__(self, server: Server, scratch: Path) -> None:
        self.server = server
        self.scratch = scratch

    def __call__(self, *args: str, user: str = "alice") -> Reply:
        tag = uuid.uuid4().hex
        body, head = self.scratch / f"{tag}.body", self.scratch / f"{tag}.head"
        proc = subprocess.run(
            ["curl", "-s", "-g", "-u", f"{user}:{self.server.users[user]}",
             "-o", str(body), "-D", str(head), "-w", "%{http_code}", *args],
            capture_output=True, text=True, timeout=120, check=False,
        )
        raw = head.read_text("latin-1") if head.exists() else ""
        blocks = [b for b in re.split(r"\r?\n\r?\n", raw) if b.strip()]
        lines = blocks[-1].splitlines() if blocks else [""]
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        reply = Reply(int(proc.stdout.strip()[-3:] or 0), lines[0].strip(), headers,
                      body.read_bytes() if body.exists() else b"", proc.returncode,
                      proc.stderr)
        body.unlink(missing_ok=True)
        head.unlink(missing_ok=True)
        return reply

    def code(self, *args: str, user: str = "alice") -> int:
        return self(*args, user=user).status


@pytest.fixture
def curl(server: Server, tmp_path: Path) -> Curl:
    return Curl(server, tmp_path)


def quota_xml(server: Server, user: str, url: str | None = None) -> ET.Element:
    response = server.session(user).request(
        "PROPFIND", url or server.documents_url + "/", data=QUOTA_PROPFIND,
        headers={"Depth": "0", "Content-Type": "application/xml"})
    assert response.status_code == 207, (response.status_code, response.text[:300])
    return ET.fromstring(response.content)


def quota(server: Server, user: str, url: str | None = None) -> tuple[int, int]:
    """(quota-used-bytes + quota-available-bytes, quota-used-bytes) of ``url``."""
    root = quota_xml(server, user, url)
    values = {}
    for propstat in root.iter(f"{DAV}propstat"):
        if "200" not in (propstat.findtext(f"{DAV}status") or ""):
            continue
        for name in QUOTA_PROPS:
            text = propstat.findtext(f"{DAV}prop/{DAV}{name}")
            if text is not None:
                assert re.fullmatch(r"\d+", text.strip()), (name, text)  # never negative
                values[name] = int(text)
    assert set(values) == set(QUOTA_PROPS), ET.tostring(root, encoding="unicode")
    return (values["quota-used-bytes"] + values["quota-available-bytes"],
            values["quota-used-bytes"])


def available(server: Server, user: str = "alice") -> int:
    total, used = quota(server, user)
    return total - used


def used(server: Server, user: str = "alice") -> int:
    return quota(server, user)[1]


def absent(curl: Curl, url: str, user: str = "alice") -> bool:
    return curl.code("-X", "PROPFIND", "-H", "Depth: 0", url, user=user) == 404


def assert_507(reply: Reply) -> None:
    """RFC 4918 §11.5 and RFC 4331 §6: 507 with ``<D:error><D:quota-not-exceeded/>``."""
    assert reply.status == 507, (reply.status, reply.text[:500])
    assert reply.status_line == STATUS_507, reply.status_line
    root = ET.fromstring(reply.body)
    assert root.tag == f"{DAV}error", reply.text
    assert root.find(f"{DAV}quota-not-exceeded") is not None, reply.text


def zeros(path: Path, size: int) -> Path:
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


def put_bytes(server: Server, url: str, data: bytes, user: str = "alice") -> None:
    response = server.session(user).put(url, data=data)
    assert response.status_code in (201, 204), (url, response.status_code, response.text)


def auth_header(server: Server, user: str = "alice") -> str:
    token = base64.b64encode(f"{user}:{server.users[user]}".encode()).decode()
    return f"Authorization: Basic {token}\r\n"


def rclone_remote(rclone: Rclone, server: Server, user: str) -> str:
    obscured = rclone.run("obscure", server.users[user]).stdout.strip()
    return (f":webdav,url='{server.documents_url}',user={user},pass={obscured},"
            "vendor=other:")


# --- BUG-14: over-quota uploads -----------------------------------------------------------


def test_bug14_put_over_quota_is_507_and_leaves_nothing(server: Server, curl: Curl,
                                                        tmp_path: Path) -> None:
    url = server.documents_url
    put_bytes(server, f"{url}/already-there.bin", b"a" * 50_000)
    a = available(server)
    assert a == LIMIT - 50_000
    over = zeros(tmp_path / "over.bin", a + 1)
    reply = curl("-T", str(over), f"{url}/bug14-over.bin")
    assert_507(reply)
    assert absent(curl, f"{url}/bug14-over.bin")          # no stub
    assert curl.code(f"{url}/bug14-over.bin") == 404
    assert available(server) == a                         # usage unchanged
    assert used(server) == 50_000


def test_bug14_finder_chunked_with_expected_length_is_507(server: Server, curl: Curl,
                                                          tmp_path: Path) -> None:
    url = server.documents_url
    a = available(server)
    over = zeros(tmp_path / "over.bin", a + 1)
    reply = curl("-T", str(over), "-H", "Transfer-Encoding: chunked",
                 "-H", f"X-Expected-Entity-Length: {a + 1}", "-A", FINDER,
                 f"{url}/bug14-finder.bin")
    assert_507(reply)
    assert absent(curl, f"{url}/bug14-finder.bin")
    assert available(server) == a


def test_bug14_finder_hint_refused_before_the_body(server: Server, curl: Curl) -> None:
    """Finder's exact framing (BUG-03): with ``X-Expected-Entity-Length`` over the room
    the final answer is 507, sent without waiting for a single chunk."""
    path = urlsplit(server.documents_url).path + "/bug14-finder-raw.bin"
    head = (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            + auth_header(server) + f"User-Agent: {FINDER}\r\n"
            "Transfer-Encoding: chunked\r\n"
            f"X-Expected-Entity-Length: {LIMIT + 1}\r\nExpect: 100-continue\r\n\r\n")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head.encode())
        answer = b""
        while True:  # skip any interim "100 Continue"
            final = re.sub(rb"^(HTTP/1\.1 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+", b"", answer)
            if b"\r\n\r\n" in final:
                break
            chunk = s.recv(65536)
            assert chunk, f"closed without a final answer: {answer!r}"
            answer += chunk
    assert final.split(b"\r\n", 1)[0].decode() == STATUS_507, answer[:300]
    assert absent(curl, server.documents_url + "/bug14-finder-raw.bin")
    assert used(server) == 0


FRAMINGS = {  # name → (curl arguments, bytes over the room)
    "chunked": (("-H", "Transfer-Encoding: chunked"), 1),
    "finder": (("-H", "Transfer-Encoding: chunked", "-A", FINDER), 1),
    "content-length": ((), 1),
    "content-length-20MB": ((), 20_000_000),
}


@pytest.mark.parametrize("framing", list(FRAMINGS))
def test_bug14_refused_upload_then_next_request_works(server: Server, tmp_path: Path,
                                                      framing: str) -> None:
    """BUG-14 "chunked without a size hint, then a second request on the SAME
    connection": 507, then a real 207 (the connection reused or closed cleanly,
    never a garbage second response)."""
    url = server.documents_url
    a = available(server)
    args, extra = FRAMINGS[framing]
    over = zeros(tmp_path / "over.bin", a + extra)
    if framing == "finder":
        args = (*args, "-H", f"X-Expected-Entity-Length: {a + extra}")
    pw = server.users["alice"]
    proc = subprocess.run(
        ["curl", "-s", "-u", f"alice:{pw}", "-T", str(over), *args,
         "-D", str(tmp_path / "h1"), "-o", str(tmp_path / "b1"), "-w", "%{http_code}\n",
         f"{url}/bug14-next.bin",
         "--next", "-s", "-u", f"alice:{pw}", "-o", str(tmp_path / "b2"),
         "-w", "%{http_code}\n", "-X", "PROPFIND", "-H", "Depth: 0", f"{url}/"],
        capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert proc.stdout.split() == ["507", "207"], proc.stdout
    blocks = [b for b in re.split(r"\r?\n\r?\n", (tmp_path / "h1").read_text("latin-1"))
              if b.strip()]
    assert blocks[-1].splitlines()[0].strip() == STATUS_507, blocks
    assert ET.fromstring((tmp_path / "b1").read_bytes()).find(
        f"{DAV}quota-not-exceeded") is not None
    # The second answer is a real multistatus, not leftovers of the first body.
    assert ET.fromstring((tmp_path / "b2").read_bytes()).tag == f"{DAV}multistatus"
    curl = Curl(server, tmp_path)
    assert absent(curl, f"{url}/bug14-next.bin")
    assert available(server) == a


def read_responses(data: bytes) -> list[str]:
    """Status lines of the HTTP/1.1 responses in ``data`` (framed by Content-Length;
    interim 1xx skipped); a trailing fragment counts as ``"garbage: ..."``."""
    found = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep or not head.startswith(b"HTTP/1.1 "):
            found.append(f"garbage: {data[:80]!r}")
            break
        status = head.split(b"\r\n", 1)[0].decode()
        length = re.search(rb"(?im)^content-length: *(\d+)", head)
        if status.split()[1].startswith("1"):
            data = rest
            continue
        body_len = int(length.group(1)) if length else 0
        found.append(status)
        data = rest[body_len:]
    return found


@pytest.mark.parametrize("hint", [False, True], ids=["no-hint", "finder-hint"])
def test_bug14_chunked_refusal_then_pipelined_request_raw(server: Server, curl: Curl,
                                                          hint: bool) -> None:
    """The same on a raw socket, the second request pipelined right behind a chunked
    body over the limit: 507, then a 207 or a clean close, never a 400 made of the
    unread body (stock cheroot: ``400 Malformed Request-Line``)."""
    path = urlsplit(server.documents_url).path
    a = available(server)
    data = b"z" * (a + 1)
    body = b"".join(b"%x\r\n" % len(data[i:i + 32768]) + data[i:i + 32768] + b"\r\n"
                    for i in range(0, len(data), 32768)) + b"0\r\n\r\n"
    first = (f"PUT {path}/raw-chunked.bin HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
             + auth_header(server) + "Transfer-Encoding: chunked\r\n"
             + (f"User-Agent: {FINDER}\r\nX-Expected-Entity-Length: {a + 1}\r\n" if hint else "")
             + "\r\n").encode() + body
    second = (f"PROPFIND {path}/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
              + auth_header(server) + "Depth: 0\r\nContent-Length: 0\r\n\r\n").encode()
    statuses = read_responses(raw_http(server, first + second))
    assert statuses in (["HTTP/1.1 507 Insufficient Storage"],
                        ["HTTP/1.1 507 Insufficient Storage", "HTTP/1.1 207 Multi-Status"]), \
        statuses
    assert absent(curl, f"{server.documents_url}/raw-chunked.bin")
    assert available(server) == a


@pytest.mark.parametrize("ending", ["eof", "reset"])
def test_upload_cut_short_releases_its_reservation(server: Server, curl: Curl,
                                                   ending: str) -> None:
    """A PUT announcing 150 000 bytes reserves them; when the client goes away after
    50 000, nothing is stored and the reservation is given back."""
    path = urlsplit(server.documents_url).path + "/cut.bin"
    head = (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            + auth_header(server) + "Content-Length: 150000\r\n\r\n").encode()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    s.sendall(head + b"c" * 50_000)
    assert wait_until(lambda: available(server) == LIMIT - 150_000, 5), available(server)
    if ending == "eof":
        s.shutdown(socket.SHUT_WR)
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass
        s.close()
    else:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST
    assert wait_until(lambda: quota(server, "alice") == (LIMIT, 0), 20), \
        quota(server, "alice")
    assert absent(curl, f"{server.documents_url}/cut.bin")


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_bug14_overwrite_over_quota_keeps_old_bytes(server: Server, curl: Curl,
                                                    tmp_path: Path, framing: str) -> None:
    url = server.documents_url
    assert curl.code("-X", "PUT", "--data-binary", "keep-me", f"{url}/bug14-keep.txt") == 201
    a = available(server)
    grow = zeros(tmp_path / "grow.bin", a + 100)
    extra = ["-H", "Transfer-Encoding: chunked"] if framing == "chunked" else []
    assert_507(curl("-T", str(grow), *extra, f"{url}/bug14-keep.txt"))
    got = curl(f"{url}/bug14-keep.txt")
    assert (got.status, got.body) == (200, b"keep-me")
    assert available(server) == a
    assert used(server) == len(b"keep-me")


def test_bug14_exact_fit_succeeds_then_copy_is_507(server: Server, curl: Curl,
                                                   tmp_path: Path) -> None:
    url = server.documents_url
    put_bytes(server, f"{url}/small.txt", b"s" * 1234)
    a = available(server)
    fit = zeros(tmp_path / "fit.bin", a)
    assert curl.code("-T", str(fit), f"{url}/bug14-fit.bin") == 201
    assert quota(server, "alice") == (LIMIT, LIMIT)     # full: 0 available
    assert available(server) == 0
    reply = curl("-X", "COPY", "-H", f"Destination: {url}/bug14-fit-copy.bin",
                 f"{url}/bug14-fit.bin")
    assert_507(reply)
    assert absent(curl, f"{url}/bug14-fit-copy.bin")
    # Even the smallest copy does not fit in a full space.
    assert_507(curl("-X", "COPY", "-H", f"Destination: {url}/small-copy.txt",
                    f"{url}/small.txt"))
    assert absent(curl, f"{url}/small-copy.txt")
    assert used(server) == LIMIT
    assert curl.code("-X", "DELETE", f"{url}/bug14-fit.bin") == 204
    assert used(server) == 1234  # a delete frees its bytes at once (issue 17)


def test_copy_of_a_folder_over_quota_copies_nothing(server: Server, curl: Curl) -> None:
    url = server.documents_url
    assert curl.code("-X", "MKCOL", f"{url}/dossier/") == 201
    assert curl.code("-X", "MKCOL", f"{url}/dossier/sous/") == 201
    put_bytes(server, f"{url}/dossier/a.bin", b"a" * 60_000)
    put_bytes(server, f"{url}/dossier/sous/b.bin", b"b" * 60_000)
    before = members(server.session("alice"), url + "/")
    assert_507(curl("-X", "COPY", "-H", "Depth: infinity",
                    "-H", f"Destination: {url}/copie/", f"{url}/dossier/"))
    assert absent(curl, f"{url}/copie/")
    assert members(server.session("alice"), url + "/") == before
    assert used(server) == 120_000


def test_move_and_copy_overwrite_in_a_full_space(server: Server, curl: Curl) -> None:
    """No growth, no refusal: a rename in a full space works, and so does a COPY
    replacing a file of the same size (the destination space is charged the
    difference)."""
    url = server.documents_url
    put_bytes(server, f"{url}/un.bin", b"1" * 100_000)
    put_bytes(server, f"{url}/deux.bin", b"2" * 100_000)
    assert available(server) == 0
    assert curl.code("-X", "MOVE", "-H", f"Destination: {url}/renamed.bin",
                     f"{url}/un.bin") == 201
    assert absent(curl, f"{url}/un.bin")
    assert used(server) == LIMIT
    assert curl.code("-X", "COPY", "-H", f"Destination: {url}/deux.bin",
                     f"{url}/renamed.bin") == 204
    assert curl(f"{url}/deux.bin").body == b"1" * 100_000
    assert used(server) == LIMIT


# --- BUG-15: the RFC 4331 properties ------------------------------------------------------


def test_bug15_properties_per_user_and_consistent(server: Server, curl: Curl) -> None:
    assert quota(server, "alice") == (LIMIT, 0)
    assert quota(server, "bob")[0] == DEFAULT_LIMIT
    assert quota(server, "rita")[0] == RITA_LIMIT
    # Every collection of the space reports the space's figures.
    url = server.documents_url
    assert curl.code("-X", "MKCOL", f"{url}/classe/") == 201
    assert curl.code("-X", "MKCOL", f"{url}/classe/3e%20B/") == 201
    put_bytes(server, f"{url}/classe/devoir.txt", b"d" * 4321)
    for folder in (f"{url}/", f"{url}/classe/", f"{url}/classe/3e%20B/"):
        assert quota(server, "alice", folder) == (LIMIT, 4321), folder
    # On a file they are not defined (RFC 4331 §3): not found, never a value.
    root = quota_xml(server, "alice", f"{url}/classe/devoir.txt")
    for propstat in root.iter(f"{DAV}propstat"):
        if propstat.find(f"{DAV}prop/{DAV}quota-used-bytes") is not None:
            assert "404" in (propstat.findtext(f"{DAV}status") or "")


def test_bug15_values_update_immediately_after_put_and_delete(server: Server,
                                                              curl: Curl,
                                                              tmp_path: Path) -> None:
    for user, size in (("alice", 100_000), ("bob", 1_048_576)):
        url = server.documents_url
        total0, used0 = quota(server, user)
        data = zeros(tmp_path / f"{user}.bin", size)
        assert curl.code("-T", str(data), f"{url}/bug15.bin", user=user) == 201
        assert quota(server, user) == (total0, used0 + size)
        # An overwrite counts the difference.
        assert curl.code("-X", "PUT", "--data-binary", "tiny", f"{url}/bug15.bin",
                         user=user) == 204
        assert quota(server, user) == (total0, used0 + 4)
        assert curl.code("-X", "DELETE", f"{url}/bug15.bin", user=user) == 204
        assert quota(server, user) == (total0, used0)  # freed at once (issue 17)


@pytest.mark.parametrize("body", ["", '<?xml version="1.0" encoding="utf-8"?>'
                                  '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'],
                         ids=["no-body", "allprop"])
@pytest.mark.parametrize("depth", ["0", "1"])
def test_bug15_properties_absent_from_allprop(server: Server, curl: Curl, body: str,
                                              depth: str) -> None:
    url = server.documents_url
    assert curl.code("-X", "MKCOL", f"{url}/sub/") == 201
    args = ["-X", "PROPFIND", "-H", f"Depth: {depth}"]
    if body:
        args += ["-H", "Content-Type: application/xml", "--data-binary", body]
    reply = curl(*args, f"{url}/")
    assert reply.status == 207, reply.text[:300]
    assert "quota-" not in reply.text, reply.text
    # ... but there when asked by name.
    assert quota(server, "alice") == (LIMIT, 0)


def proppatch_quota(curl: Curl, url: str, prop: str, action: str) -> Reply:
    value = "1" if action == "set" else ""
    body = ('<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:">'
            f"<D:{action}><D:prop><D:{prop}>{value}</D:{prop}></D:prop></D:{action}>"
            "</D:propertyupdate>")
    return curl("-X", "PROPPATCH", "-H", "Content-Type: application/xml",
                "--data-binary", body, url)


@pytest.mark.parametrize("action", ["set", "remove"])
@pytest.mark.parametrize("prop", QUOTA_PROPS)
def test_bug15_properties_are_protected(server: Server, curl: Curl, prop: str,
                                        action: str) -> None:
    """PROPPATCH of a quota property: 207 with a 403 propstat, nothing changes."""
    put_bytes(server, f"{server.documents_url}/something.bin", b"x" * 777)
    reply = proppatch_quota(curl, server.documents_url + "/", prop, action)
    assert reply.status == 207, reply.text
    root = ET.fromstring(reply.body)
    statuses = [p.findtext(f"{DAV}status") or "" for p in root.iter(f"{DAV}propstat")]
    assert statuses and all("HTTP/1.1 403" in s for s in statuses), reply.text
    assert quota(server, "alice") == (LIMIT, 777)


@pytest.mark.parametrize("prop", QUOTA_PROPS)
def test_bug15_protected_refusal_names_the_precondition(server: Server, curl: Curl,
                                                        prop: str) -> None:
    """RFC 4918 §14.22 and §16: the 403 propstat carries
    ``<D:error><D:cannot-modify-protected-property/></D:error>`` (case BUG-15), and
    the multistatus shows no Python object dump."""
    reply = proppatch_quota(curl, server.documents_url + "/", prop, "set")
    assert reply.status == 207, reply.text
    assert "object at 0x" not in reply.text, reply.text
    root = ET.fromstring(reply.body)
    found = root.find(f".//{DAV}propstat/{DAV}error/{DAV}cannot-modify-protected-property")
    assert found is not None, reply.text


@pytest.mark.one_database  # a real client (rclone)
def test_bug15_rclone_about_matches_the_properties(server: Server, curl: Curl,
                                                   tmp_path: Path) -> None:
    _require_rclone()
    rclone = Rclone(tmp_path / "rclone")   # RCLONE_CONFIG: a temp empty file
    assert rclone.config.read_text() == ""

    def about(user: str = "alice") -> dict[str, int]:
        out = json.loads(rclone.run("about", rclone_remote(rclone, server, user),
                                    "--json").stdout)
        assert all(v >= 0 for v in out.values()), out
        return out

    assert about() == {"total": LIMIT, "used": 0, "free": LIMIT}
    put_bytes(server, f"{server.documents_url}/part.bin", b"p" * 50_000)
    total, u = quota(server, "alice")
    assert about() == {"total": total, "used": u, "free": total - u} == {
        "total": LIMIT, "used": 50_000, "free": LIMIT - 50_000}
    # Full: 0 free, not negative, not the host's disk.
    put_bytes(server, f"{server.documents_url}/rest.bin", b"r" * (LIMIT - 50_000))
    assert about() == {"total": LIMIT, "used": LIMIT, "free": 0}
    # Over the limit (lowered by IT staff): still 0 free, never negative.
    server.cli("quota", "set", "alice", "10")
    try:
        assert about() == {"total": LIMIT, "used": LIMIT, "free": 0}
        assert quota(server, "alice") == (LIMIT, LIMIT)  # available 0, used unchanged
    finally:
        server.cli("quota", "set", "alice", str(LIMIT))
    bob_total, bob_used = quota(server, "bob")
    assert about("bob") == {"total": DEFAULT_LIMIT, "used": bob_used,
                            "free": DEFAULT_LIMIT - bob_used}
    assert bob_total == DEFAULT_LIMIT


# --- curl: chunked over quota, lowered limit, default -------------------------------------


def test_chunked_over_quota_leaves_usage_unchanged(server: Server, curl: Curl,
                                                   tmp_path: Path) -> None:
    url = server.documents_url
    put_bytes(server, f"{url}/base.bin", b"b" * 30_000)
    before = quota(server, "alice")
    assert before == (LIMIT, 30_000)
    # Several chunks, the limit crossed in the middle of one.
    data = tmp_path / "big.bin"
    data.write_bytes(os.urandom(LIMIT))
    reply = curl("-T", str(data), "-H", "Transfer-Encoding: chunked", f"{url}/chunked.bin")
    assert_507(reply)
    assert absent(curl, f"{url}/chunked.bin")
    assert quota(server, "alice") == before
    # Just below the limit fits, chunked too: the running total counts exactly.
    fit = tmp_path / "fit.bin"
    fit.write_bytes(data.read_bytes()[: LIMIT - 30_000])
    assert curl.code("-T", str(fit), "-H", "Transfer-Encoding: chunked",
                     f"{url}/chunked.bin") == 201
    assert curl(f"{url}/chunked.bin").body == fit.read_bytes()
    assert quota(server, "alice") == (LIMIT, LIMIT)


def test_lowered_limit_blocks_growth_and_deletes_nothing(server: Server, curl: Curl) -> None:
    url = server.documents_url
    files = {f"f{i}.txt": bytes([65 + i]) * 1000 for i in range(3)}
    for name, data in files.items():
        put_bytes(server, f"{url}/{name}", data)
    server.cli("quota", "set", "alice", "10")
    try:
        assert quota(server, "alice") == (3000, 3000)   # 0 available, nothing deleted
        assert_507(curl("-X", "PUT", "--data-binary", "x", f"{url}/new.txt"))
        assert absent(curl, f"{url}/new.txt")
        assert_507(curl("-X", "PUT", "--data-binary", "A" * 1001, f"{url}/f0.txt"))
        assert_507(curl("-X", "COPY", "-H", f"Destination: {url}/copy.txt",
                        f"{url}/f1.txt"))
        for name, data in files.items():                # still readable
            got = curl(f"{url}/{name}")
            assert (got.status, got.body) == (200, data), name
        # Shrinking is not growth: allowed, and frees room.
        assert curl.code("-X", "PUT", "--data-binary", "short", f"{url}/f0.txt") == 204
        assert used(server) == 2005
        assert curl.code("-X", "DELETE", f"{url}/f1.txt") == 204
        assert curl.code("-X", "DELETE", f"{url}/f2.txt") == 204
        assert quota(server, "alice") == (10, 5)          # freed at once: under the limit
        assert curl.code("-X", "PUT", "--data-binary", "12345", f"{url}/new.txt") == 201
        assert_507(curl("-X", "PUT", "--data-binary", "1", f"{url}/one-more.txt"))
    finally:
        server.cli("quota", "set", "alice", str(LIMIT))
    assert quota(server, "alice") == (LIMIT, 10)


def test_quota_set_default_restores_500_mib(server: Server) -> None:
    put_bytes(server, f"{server.documents_url}/x.bin", b"x" * 100)
    try:
        shown = server.cli("quota", "set", "alice", "default")
        assert "(set)" not in shown.stdout, shown.stdout
        assert quota(server, "alice") == (DEFAULT_LIMIT, 100)
        assert DEFAULT_LIMIT == 524_288_000
    finally:
        server.cli("quota", "set", "alice", str(LIMIT))
    assert quota(server, "alice") == (LIMIT, 100)


# --- bad input ----------------------------------------------------------------------------

BAD_LENGTHS = {
    "negative": ("Content-Length: -5\r\n", b"hello"),
    "non-numeric": ("Content-Length: five\r\n", b"hello"),
    "number-and-junk": ("Content-Length: 5x\r\n", b"hello"),
    "duplicated-same": ("Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"),
    "duplicated-different": ("Content-Length: 5\r\nContent-Length: 7\r\n", b"hello!!"),
}


@pytest.mark.parametrize("target", ["new", "existing"])
@pytest.mark.parametrize("case", list(BAD_LENGTHS))
def test_bad_content_length_is_400_and_nothing_written(server: Server, curl: Curl,
                                                       case: str, target: str) -> None:
    """RFC 7230 §3.3.2-3.3.3: an invalid or duplicated Content-Length makes the framing
    unknowable: 400, and the connection closes."""
    url = server.documents_url
    if target == "existing":
        put_bytes(server, f"{url}/target.txt", b"original")
    before = quota(server, "alice")
    headers, body = BAD_LENGTHS[case]
    path = urlsplit(url).path + "/target.txt"
    answer = raw_http(server, (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                               + auth_header(server) + headers + "\r\n").encode() + body)
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    got = curl(f"{url}/target.txt")
    if target == "existing":
        assert (got.status, got.body) == (200, b"original"), status_line
    else:
        assert got.status == 404, (status_line, got.status, got.body[:50])
    assert quota(server, "alice") == before
    assert re.match(r"HTTP/1\.[01] 400 ", status_line), answer[:300]


@pytest.mark.parametrize("target", ["new", "existing"])
def test_lying_expected_entity_length_is_cut_at_the_limit(server: Server, curl: Curl,
                                                          tmp_path: Path,
                                                          target: str) -> None:
    """Finder-style chunked PUT announcing 1 000 bytes, sending more than the space
    holds: 507 when the limit is crossed, nothing stored."""
    url = server.documents_url
    if target == "existing":
        put_bytes(server, f"{url}/lie.bin", b"old bytes")
    before = quota(server, "alice")
    data = tmp_path / "lie.bin"
    data.write_bytes(os.urandom(LIMIT + 5000))
    reply = curl("-T", str(data), "-H", "Transfer-Encoding: chunked",
                 "-H", "X-Expected-Entity-Length: 1000", "-A", FINDER, f"{url}/lie.bin")
    assert_507(reply)
    got = curl(f"{url}/lie.bin")
    if target == "existing":
        assert (got.status, got.body) == (200, b"old bytes")
    else:
        assert got.status == 404
    assert quota(server, "alice") == before


def test_lying_expected_entity_length_within_room_stores_the_real_bytes(
        server: Server, curl: Curl, tmp_path: Path) -> None:
    """The hint is only a hint: a longer body that still fits is stored whole, and
    charged for its real size."""
    url = server.documents_url
    data = tmp_path / "more.bin"
    data.write_bytes(os.urandom(50_000))
    assert curl.code("-T", str(data), "-H", "Transfer-Encoding: chunked",
                     "-H", "X-Expected-Entity-Length: 10", "-A", FINDER,
                     f"{url}/more.bin") == 201
    assert curl(f"{url}/more.bin").body == data.read_bytes()
    assert quota(server, "alice") == (LIMIT, 50_000)


@pytest.mark.parametrize("key,value,named", [
    ("documents", "500 parsecs", "quotas.documents"),
    ("documents", "-5MiB", "quotas.documents"),
    ("documents", "-5", "quotas.documents"),
    ("documents", "lots", "quotas.documents"),
    ("binder", "2 furlongs", "quotas.binder"),
    ("rubric", "2 GiBs", "quotas.rubric"),
    ("profiles", "{student: 200 furlongs}", "quotas.profiles"),
])
def test_bad_quota_unit_in_config_refuses_start(server: Server, tmp_path: Path, key: str,
                                                value: str, named: str) -> None:
    config = Path(server.env["DAVSERVER_CONFIG"]).read_text()
    pattern = rf"(?m)^(  {key}:)\s*\S+"
    assert re.search(pattern, config), key
    bad = tmp_path / "bad-config.yaml"
    bad.write_text(re.sub(pattern, lambda m: f"{m.group(1)} {value}", config, count=1))
    env = {k: v for k, v in server.env.items()
           if k not in ("DAVSERVER_CONFIG", "DAVSERVER_DATABASE_URL")}
    env["DAVSERVER_DATA_DIR"] = str(tmp_path / "data")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "davserver.cli", "serve", "--config", str(bad),
             "--host", "127.0.0.1", "--port", "0"],
            env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the server started with quotas.{key}: {value}: {exc.stdout!r}")
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert named in proc.stderr, proc.stderr
    assert "bad-config.yaml" in proc.stderr, proc.stderr
    assert "serving" not in proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr


# --- rclone copy into a nearly full space -------------------------------------------------

FILE_SIZE = 20 * 1024
FILE_COUNT = 20


@pytest.mark.one_database  # a real client (rclone)
def test_rclone_copy_stops_at_the_limit_and_keeps_what_fits(server: Server,
                                                            tmp_path: Path) -> None:
    _require_rclone()
    empty_space(server, "rita")
    assert quota(server, "rita") == (RITA_LIMIT, 0)
    source = tmp_path / "devoirs"
    source.mkdir()
    local = {}
    for i in range(FILE_COUNT):
        data = os.urandom(FILE_SIZE)
        (source / f"copie-{i:02d}.bin").write_bytes(data)
        local[f"copie-{i:02d}.bin"] = data

    rclone = Rclone(tmp_path / "rclone")
    remote = rclone_remote(rclone, server, "rita") + "devoirs"
    proc = rclone.run("copy", str(source), remote, "--transfers", "4", "--checkers", "8",
                      "--retries", "1", "--low-level-retries", "1", "--contimeout", "10s",
                      "--timeout", "60s", "--stats", "0", "-v", check=False)
    assert proc.returncode != 0, proc.stderr
    assert re.search(r"507|Insufficient Storage", proc.stderr), proc.stderr

    session = server.session("rita")
    listing = members(session, server.documents_url + "/devoirs/")
    stored = {unquote(href.rsplit("/", 1)[1]): size for href, size in listing.items()}
    assert set(stored) <= set(local), stored               # no stray or partial names
    fits = RITA_LIMIT // FILE_SIZE                           # reservations are exact
    assert len(stored) == fits, (sorted(stored), proc.stderr)
    for name, size in stored.items():
        assert size == FILE_SIZE, (name, size)              # no partial file
        got = session.get(f"{server.documents_url}/devoirs/{name}")
        assert got.status_code == 200 and got.content == local[name], name
    assert quota(server, "rita") == (RITA_LIMIT, fits * FILE_SIZE)
    empty_space(server, "rita")
    assert quota(server, "rita") == (RITA_LIMIT, 0)


# --- litmus on a space with a quota -------------------------------------------------------


@pytest.mark.one_database  # a real client (litmus)
def test_litmus_passes_on_a_space_with_a_quota(server: Server, tmp_path: Path) -> None:
    _require_litmus()
    empty_space(server, "lea")
    assert quota(server, "lea") == (5_000_000, 0)
    workdir = tmp_path / "litmus"
    workdir.mkdir()
    env = dict(os.environ, TESTS=" ".join(SUITES))
    try:
        proc = subprocess.run([LITMUS, "--keep-going", server.documents_url + "/", "lea",
                               server.users["lea"]],
                              cwd=workdir, env=env, capture_output=True, timeout=LITMUS_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"litmus did not finish within {LITMUS_TIMEOUT} s:\n"
                    + "\n".join(_normalise((exc.stdout or b"").decode(errors="replace"))))
    lines = _normalise(proc.stdout.decode(errors="replace") + "\n"
                       + proc.stderr.decode(errors="replace"))
    summaries = [line for line in lines if "<- summary for" in line]
    problems = [line for line in lines
                if "<- summary for" not in line and PROBLEM.search(line)]
    seen = {m.group(1) for line in summaries
            if (m := re.search(r"summary for [`'](\w+)'", line))}
    bad = [line for line in summaries
           if not re.search(r" 0 failed\.", line) or re.search(r"warning|skipped", line)]
    report = "\n".join(lines)
    assert proc.returncode == 0 and not problems and set(SUITES) <= seen and not bad, (
        f"litmus exit {proc.returncode}; problems: {problems + bad}; suites: {seen}\n"
        f"{report}\n\nserver log: {server.log_path}")
    # litmus cleans up after itself, into the trash: the ledger must agree with the
    # live files and the dead properties litmus left on them (they count, issue 18),
    # not the trash (issue 17), before and after the trash is emptied; the trash bytes
    # are what /dav/corbeille/ shows with its properties.
    total, u = quota(server, "lea")
    listing = members(server.session("lea"), server.documents_url + "/")
    live_props, trashed_props = _property_bytes(server, "lea")
    trashed = sum(_tree_sizes(server, "lea", server.dav_url + "/corbeille/porte-documents/"))
    assert total == 5_000_000
    assert trashed_props > 0  # litmus's props suite leaves some in the trash
    assert u == sum(_tree_sizes(server, "lea", server.documents_url + "/")) + live_props, \
        listing
    assert _trash_bytes(server, "lea") == trashed + trashed_props
    server.empty_trash()
    assert quota(server, "lea")[1] == u


def _property_bytes(server: Server, user: str) -> tuple[int, int]:
    """Bytes of the dead properties in ``user``'s porte-documents, measured again from
    what is stored (not from the nodes' running totals): (live, in the trash)."""
    from sqlalchemy import Text, select, type_coerce

    import acl
    from providers.models import Node
    from providers.properties import total_bytes

    live = trashed = 0
    with server.app() as app:
        with app.db.transaction(write=False) as s:
            account = acl.find_user(s, user)
        assert account is not None
        space = app.store.ensure_space("documents", account.id).id
        with app.db.transaction(write=False) as s:
            rows = s.execute(select(Node.path, type_coerce(Node.dead_props, Text))
                             .where(Node.space_id == space)).all()
    for path, stored in rows:
        size = total_bytes(json.loads(stored or "{}"))
        if path.startswith("#trash"):
            trashed += size
        else:
            live += size
    return live, trashed


def _trash_bytes(server: Server, user: str) -> int:
    """The ledger's trash bytes of ``user``'s porte-documents."""
    import acl

    with server.app() as app:
        with app.db.transaction(write=False) as s:
            account = acl.find_user(s, user)
        assert account is not None
        space = app.store.ensure_space("documents", account.id).id
        figures = app.store.usage(space)
    assert figures is not None
    return figures.trash


def _tree_sizes(server: Server, user: str, url: str) -> list[int]:
    session = server.session(user)
    sizes: list[int] = []
    for href, size in members(session, url).items():
        if size is None:
            sizes += _tree_sizes(server, user, server.base_url + href)
        else:
            sizes.append(size)
    return sizes
