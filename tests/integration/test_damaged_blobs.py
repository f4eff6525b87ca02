"""Damaged blob storage on a real server (:mod:`providers.damage`): a blob file cut
short or deleted on disk is answered with an error that says so, or a connection
closed where the bytes end; never a body that stops short of its ``Content-Length``
while the connection stays open (the client would wait for the rest, here up to the
server's 300 s socket timeout). ``davserver fsck`` reports such files, and
``--repair`` leaves them for a human to restore.

Each test restores the files it damaged, so the module's server stays clean.
"""

from __future__ import annotations

import base64
import re
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Server

from .rubric_kit import node

# One database is enough: blob files damaged on disk; the lookups and fsck's SQL are
# tested on both by test_store (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

CLIENT_TIMEOUT = 5.0  # seconds: far below the server's own (config.yaml: 300)
BIG = bytes(range(256)) * 4096 * 2  # 2 MiB: eight blocks of 256 KiB


@dataclass
class Answer:
    status: int
    length: int  # the Content-Length announced
    body: bytes
    ended: str  # "complete", "closed" (by the server) or "timeout" (still waiting)
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def raw_get(server: Server, path: str, headers: dict[str, str]) -> Answer:
    """One GET on its own connection, read until the announced length arrived, the
    server closed the connection, or nothing came for :data:`CLIENT_TIMEOUT`."""
    token = base64.b64encode(f"alice:{server.users['alice']}".encode()).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}",
             f"Authorization: Basic {token}", *(f"{k}: {v}" for k, v in headers.items())]
    started = time.monotonic()
    data, ended = b"", "timeout"
    with socket.create_connection(("127.0.0.1", server.port), timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            while True:
                head, sep, body = data.partition(b"\r\n\r\n")
                found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if sep and found and len(body) >= int(found.group(1)):
                    ended = "complete"
                    break
                chunk = sock.recv(65536)
                if not chunk:
                    ended = "closed"
                    break
                data += chunk
        except TimeoutError:
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    status = re.match(rb"HTTP/1\.1 (\d{3})", head)
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    assert status and length, data[:500]
    return Answer(int(status.group(1)), int(length.group(1)), body, ended,
                  time.monotonic() - started)


def blob_path(server: Server, path: str) -> tuple[str, Path]:
    """Blob key and blob file of alice's file at ``path`` (``/a/b``)."""
    found = node(server, "alice", path)
    assert found is not None and found.blob_key is not None, path
    with server.app() as app:
        return found.blob_key, app.store.blobs.path_of(found.blob_key)  # type: ignore[attr-defined]


@contextmanager
def damaged(server: Server, content: bytes, *, cut: int | None) -> Iterator[tuple[str, str]]:
    """A new file of alice holding ``content`` whose blob file is cut to ``cut`` bytes
    (None: deleted); yields its DAV path and blob key, and puts the bytes back after."""
    name = f"/damaged-{uuid.uuid4().hex[:8]}.bin"
    session = server.session("alice")
    assert session.put(server.documents_url + name, data=content).status_code == 201
    key, blob = blob_path(server, name)
    if cut is None:
        blob.unlink()
    else:
        with blob.open("r+b") as f:
            f.truncate(cut)
    try:
        yield "/dav/porte-documents" + name, key
    finally:
        blob.write_bytes(content)


@pytest.fixture(scope="module", autouse=True)
def _credentials_known(server: Server) -> None:
    """A first request verifies alice's password: later plain GETs take the short way."""
    assert server.session("alice").request("PROPFIND", server.documents_url + "/",
                                           headers={"Depth": "0"}).status_code == 207


@pytest.mark.parametrize(("size", "cut", "headers"), [
    (1000, 100, {"Range": "bytes=0-999"}),
    (1000, 100, {"If": "(Not <DAV:no-lock>)"}),
    (len(BIG), 300 * 1024, {"Range": "bytes=400000-500000"}),  # starts past the cut
], ids=["small-range", "small-if-header", "big-range-past-the-cut"])
def test_wsgidavs_way_answers_500_when_the_cut_is_met_first(
        server: Server, size: int, cut: int, headers: dict[str, str]) -> None:
    content = BIG[:size]
    with damaged(server, content, cut=cut) as (path, _key):
        answer = raw_get(server, path, headers)
    assert answer.ended == "complete" and answer.seconds < CLIENT_TIMEOUT
    assert answer.status == 500
    assert f"damaged on the server ({cut} of {size} bytes)" in answer.text


@pytest.mark.parametrize("headers", [{"Range": "bytes=0-"}, {"If": "(Not <DAV:no-lock>)"},
                                     {"If-None-Match": '"other"'}, {}],
                         ids=["range", "if-header", "if-none-match", "plain"])
def test_a_big_cut_blob_ends_its_connection_where_the_bytes_end(
        server: Server, headers: dict[str, str]) -> None:
    """A big file streams block by block: its answer started before the cut is met, so
    the server closes the connection there (the client sees a short body and an end,
    at once), on WsgiDAV's way as on the short one."""
    with damaged(server, BIG, cut=300 * 1024) as (path, _key):
        answer = raw_get(server, path, headers)
    assert answer.ended == "closed" and answer.seconds < CLIENT_TIMEOUT
    assert answer.status in (200, 206) and answer.length == len(BIG)
    assert len(answer.body) <= 300 * 1024
    assert answer.body == BIG[:len(answer.body)]


@pytest.mark.parametrize("headers", [{}, {"Range": "bytes=0-9"}], ids=["plain", "range"])
def test_a_missing_blob_is_a_500_saying_the_content_is_missing(
        server: Server, headers: dict[str, str]) -> None:
    assert server.log_path is not None
    with damaged(server, b"lost" * 100, cut=None) as (path, key):
        answer = raw_get(server, path, headers)
    assert answer.ended == "complete" and answer.status == 500
    assert "content of this file is missing on the server" in answer.text
    assert "Tell the administrator" in answer.text
    log = server.log_path.read_text()
    assert re.search(rf"ERROR providers\.damage: {re.escape(path[4:])} \(space \d+\): "
                     rf"blob file {key} missing \(400 bytes recorded\)", log), log[-2000:]


def test_fsck_reports_a_blob_of_the_wrong_size_and_repair_leaves_it(server: Server) -> None:
    with damaged(server, b"0123456789" * 10, cut=40) as (path, key):
        found = server.cli("fsck", check=False)
        assert found.returncode == 1, found.stdout + found.stderr
        assert (f"blob of the wrong size (content damaged): {key}: 40 bytes on disk, "
                "100 recorded") in found.stdout
        assert "restore the missing or damaged blob files from a backup" in found.stdout
        repaired = server.cli("fsck", "--repair", check=False)
        assert repaired.returncode == 1, repaired.stdout + repaired.stderr  # still damaged
        assert f"{key}: 40 bytes on disk" in repaired.stdout
        assert blob_path(server, path[len("/dav/porte-documents"):])[1].stat().st_size == 40
    again = server.cli("fsck", check=False)  # the file restored from a "backup"
    assert again.returncode == 0 and "fsck: clean" in again.stdout, again.stdout
