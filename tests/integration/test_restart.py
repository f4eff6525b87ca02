"""What a restart must keep, and what SIGTERM must not break (DESIGN.md, "Storage
model": locks and dead properties live in the database; a write is either the old
or the new content, never half a file).

Each test drives a real ``davserver serve`` process and restarts it with SIGTERM.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from lxml import etree

from tests.conftest import Server, running_server

NS = {"D": "DAV:", "Z": "http://example.com/ns"}
COLOR = "{http://example.com/ns}color"
BIG = 20 * 1024 * 1024

PROPPATCH_COLOR = b"""<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/ns">
  <D:set><D:prop><Z:color>bleu marine</Z:color></D:prop></D:set>
</D:propertyupdate>"""

PROPFIND_PROPS = b"""<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:Z="http://example.com/ns">
  <D:prop><Z:color/><D:lockdiscovery/><D:getetag/></D:prop>
</D:propfind>"""

LOCKINFO = b"""<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:">
  <D:lockscope><D:exclusive/></D:lockscope>
  <D:locktype><D:write/></D:locktype>
  <D:owner><D:href>mailto:alice@example.com</D:href></D:owner>
</D:lockinfo>"""


def propfind(session: requests.Session, url: str) -> etree._Element:
    response = session.request("PROPFIND", url, data=PROPFIND_PROPS,
                               headers={"Depth": "0",
                                        "Content-Type": "application/xml; charset=utf-8"})
    assert response.status_code == 207, response.text
    return etree.fromstring(response.content)


def ok_prop(tree: etree._Element, name: str) -> etree._Element | None:
    """The element of property ``name`` (Clark notation) in a 200 propstat, or None."""
    for propstat in tree.iterfind(".//D:propstat", NS):
        status = propstat.findtext("D:status", default="", namespaces=NS)
        prop = propstat.find("D:prop", NS)
        if " 200 " in status and prop is not None and prop.find(name) is not None:
            return prop.find(name)
    return None


def restart(server: Server) -> int:
    """Stop (SIGTERM) and start again on the same port; returns the exit code."""
    code = server.stop()
    server.start()
    return code


def lock_tokens(tree: etree._Element) -> list[str]:
    return [h.text.strip() for h in tree.iterfind(
        ".//D:lockdiscovery/D:activelock/D:locktoken/D:href", NS) if h.text]


# --- state across a restart ------------------------------------------------------


def test_files_properties_and_locks_survive_a_restart(server: Server, folder: str) -> None:
    s = server.session("alice")
    files = {
        "notes.txt": "Cahier de textes — séance du lundi\n".encode() * 100,
        "photo.bin": os.urandom(300_000),
        "vide.txt": b"",
    }
    for name, data in files.items():
        assert s.put(f"{folder}/{name}", data=data).status_code == 201
    etags = {}
    for name, data in files.items():
        got = s.get(f"{folder}/{name}")
        assert got.status_code == 200 and got.content == data
        etags[name] = got.headers["ETag"]

    response = s.request("PROPPATCH", f"{folder}/notes.txt", data=PROPPATCH_COLOR,
                         headers={"Content-Type": "application/xml; charset=utf-8"})
    assert response.status_code == 207, response.text
    assert "200" in response.text
    assert ok_prop(propfind(s, f"{folder}/notes.txt"), COLOR) is not None

    response = s.request("LOCK", f"{folder}/photo.bin", data=LOCKINFO,
                         headers={"Timeout": "Second-3600", "Depth": "0",
                                  "Content-Type": "application/xml; charset=utf-8"})
    assert response.status_code == 200, response.text
    token = response.headers["Lock-Token"].strip("<>")
    assert token.startswith("opaquelocktoken:")
    assert lock_tokens(propfind(s, f"{folder}/photo.bin")) == [token]

    assert restart(server) == 0

    s = server.session("alice")
    for name, data in files.items():
        got = s.get(f"{folder}/{name}")
        assert got.status_code == 200, name
        assert got.content == data, name
        assert got.headers["ETag"] == etags[name], name

    color = ok_prop(propfind(s, f"{folder}/notes.txt"), COLOR)
    assert color is not None, "dead property lost in the restart"
    assert color.text == "bleu marine"

    tree = propfind(s, f"{folder}/photo.bin")
    assert lock_tokens(tree) == [token], "lock lost in the restart"
    active = tree.find(".//D:lockdiscovery/D:activelock", NS)
    assert active is not None
    assert active.find("D:lockscope/D:exclusive", NS) is not None
    timeout = active.findtext("D:timeout", namespaces=NS)
    assert timeout is not None and timeout.startswith("Second-")
    assert 3000 < int(timeout.split("-", 1)[1]) <= 3600
    assert "mailto:alice@example.com" in etree.tostring(active).decode()

    refused = s.put(f"{folder}/photo.bin", data=b"no token")
    assert refused.status_code == 423
    assert s.put(f"{folder}/photo.bin", data=b"with token",
                 headers={"If": f"(<{token}>)"}).status_code == 204
    assert s.get(f"{folder}/photo.bin").content == b"with token"

    unlock = s.request("UNLOCK", f"{folder}/photo.bin", headers={"Lock-Token": f"<{token}>"})
    assert unlock.status_code == 204, unlock.text
    assert lock_tokens(propfind(s, f"{folder}/photo.bin")) == []
    assert s.put(f"{folder}/photo.bin", data=b"after unlock").status_code == 204


def test_sigterm_exits_with_zero(server: Server) -> None:
    s = server.session("alice")
    assert s.request("PROPFIND", server.documents_url + "/",
                     headers={"Depth": "0"}).status_code == 207
    assert restart(server) == 0
    assert s.request(
        "PROPFIND", server.documents_url + "/", headers={"Depth": "0"}).status_code == 207


# --- uploads cut by a stop --------------------------------------------------------


class SlowUpload(threading.Thread):
    """A PUT over a raw socket with a known Content-Length, sent in paced chunks.

    ``stall_after``: stop sending after that many bytes (a client that hangs); the
    socket stays open until :meth:`close`. ``chunked``: no Content-Length, the body
    in ``Transfer-Encoding: chunked`` (what streaming clients send).
    """

    def __init__(self, url: str, auth: tuple[str, str], body: bytes, *,
                 chunk: int = 256 * 1024, pause: float = 0.03,
                 stall_after: int | None = None, chunked: bool = False) -> None:
        super().__init__(daemon=True)
        self.url = urlsplit(url)
        self.auth = auth
        self.body = body
        self.chunk = chunk
        self.pause = pause
        self.stall_after = stall_after
        self.chunked = chunked
        self.sent = 0
        self.response = b""
        self.error: BaseException | None = None
        self.finished_sending = threading.Event()
        self._closing = threading.Event()
        self.sock: socket.socket | None = None

    def run(self) -> None:
        try:
            self.sock = socket.create_connection((self.url.hostname, self.url.port),
                                                 timeout=60)
            creds = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            framing = ("Transfer-Encoding: chunked" if self.chunked
                       else f"Content-Length: {len(self.body)}")
            head = (f"PUT {self.url.path} HTTP/1.1\r\nHost: {self.url.netloc}\r\n"
                    f"Authorization: Basic {creds}\r\n{framing}\r\n"
                    "Content-Type: application/octet-stream\r\n\r\n")
            self.sock.sendall(head.encode())
            limit = len(self.body) if self.stall_after is None else self.stall_after
            while self.sent < limit and not self._closing.is_set():
                piece = self.body[self.sent:min(self.sent + self.chunk, limit)]
                if self.chunked:
                    self.sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                else:
                    self.sock.sendall(piece)
                self.sent += len(piece)
                time.sleep(self.pause)
            if self.chunked and self.sent == len(self.body):
                self.sock.sendall(b"0\r\n\r\n")
            self.finished_sending.set()
            if self.stall_after is not None:
                self._closing.wait(60)
                return
            self.sock.settimeout(30)
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.response += data
                if b"\r\n\r\n" in self.response:
                    break
        except OSError as exc:
            self.error = exc
        finally:
            self.finished_sending.set()

    def wait_sent(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.sent < count and time.monotonic() < deadline and self.is_alive():
            time.sleep(0.01)
        assert self.sent >= count, f"upload stuck at {self.sent} bytes: {self.error}"

    def close(self) -> None:
        self._closing.set()
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.join(30)


def fsck(server: Server) -> str:
    done = server.cli("fsck", check=False)
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


def assert_old_or_complete(session: requests.Session, url: str, old: bytes | None,
                           new: bytes) -> str:
    got = session.get(url)
    if got.status_code == 404:
        assert old is None, "the old content disappeared"
        return "absent"
    assert got.status_code == 200
    content = got.content
    if old is not None and content == old:
        return "old"
    assert len(content) == len(new) and hashlib.sha1(content).digest() == hashlib.sha1(
        new).digest(), (
        f"half a file: {len(content)} bytes stored of {len(new)} (old content was "
        f"{'absent' if old is None else f'{len(old)} bytes'})")
    return "new"


def test_put_in_flight_at_sigterm_is_complete_or_old(server: Server, folder: str) -> None:
    """A 20 MB upload that is still streaming when SIGTERM arrives (and finishes
    within the shutdown grace period) is either fully stored or not at all."""
    s = server.session("alice")
    url = f"{folder}/video.mp4"
    old = b"old version"
    assert s.put(url, data=old).status_code == 201
    new = os.urandom(BIG)
    upload = SlowUpload(url, ("alice", server.users["alice"]), new)
    upload.start()
    try:
        upload.wait_sent(BIG // 4)
        code = server.stop()  # SIGTERM while the body is still arriving
        upload.finished_sending.wait(60)
    finally:
        upload.close()
    assert code == 0
    report = fsck(server)
    server.start()
    outcome = assert_old_or_complete(server.session("alice"), url, old, new)
    if upload.response.startswith(b"HTTP/1.1 204"):
        assert outcome == "new", "the server said 204 but kept the old content"
    assert "fsck: clean" in report, report
    # the server still works after the restart
    assert s.put(f"{folder}/after.txt", data=b"after").status_code == 201
    assert s.get(f"{folder}/after.txt").content == b"after"


@pytest.fixture
def quick_stop_server(tmp_path: Path) -> Iterator[Server]:
    """A server with a 1 s shutdown grace period, so a stalled upload gets cut."""
    with running_server(tmp_path, {"DAVSERVER_SERVER__SHUTDOWN_TIMEOUT": "1"},
                        {"alice": "teacher"}) as srv:
        yield srv


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("existing", [True, False], ids=["overwrite", "new-file"])
def test_put_cut_by_the_shutdown_leaves_no_partial_file(quick_stop_server: Server,
                                                        existing: bool, chunked: bool) -> None:
    """The client stops sending mid-body; SIGTERM; after the grace period the server
    cuts the connection. What is stored must be the old content (or nothing), never
    the bytes received so far."""
    srv = quick_stop_server
    s = srv.session("alice")
    url = f"{srv.documents_url}/cut-{uuid.uuid4().hex[:8]}.bin"
    old = b"old version" if existing else None
    if old is not None:
        assert s.put(url, data=old).status_code == 201
    new = os.urandom(BIG)
    upload = SlowUpload(url, ("alice", "correct-horse-42"), new, pause=0,
                        stall_after=BIG // 4, chunked=chunked)
    upload.start()
    try:
        upload.wait_sent(BIG // 4)
        time.sleep(0.5)  # let the server read what was sent
        code = srv.stop()
    finally:
        upload.close()
    assert code == 0
    report = fsck(srv)
    srv.start()
    outcome = assert_old_or_complete(srv.session("alice"), url, old, new)
    assert outcome == ("old" if existing else "absent")
    assert "fsck: clean" in report, report


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_put_abandoned_by_the_client_leaves_no_partial_file(server: Server, folder: str,
                                                            chunked: bool) -> None:
    """A client that drops the connection mid-body (Wi-Fi lost, laptop closed) must
    not leave the bytes received so far as the file's content."""
    s = server.session("alice")
    url = f"{folder}/abandoned.bin"
    old = b"old version"
    assert s.put(url, data=old).status_code == 201
    new = os.urandom(4 * 1024 * 1024)
    upload = SlowUpload(url, ("alice", server.users["alice"]), new, pause=0,
                        stall_after=1024 * 1024, chunked=chunked)
    upload.start()
    upload.wait_sent(1024 * 1024)
    time.sleep(0.5)
    upload.close()  # the client goes away
    time.sleep(1.0)  # let the server notice
    assert assert_old_or_complete(s, url, old, new) == "old"
    report = fsck(server)  # no orphan blob, no unfinished upload left behind
    assert "fsck: clean" in report, report
