"""Parallel uploads against a quota (issue 3, "Enforcement"): reservations before the
body make ten simultaneous 100 MiB uploads end with exactly as many successes as fit,
and usage is never above the limit, on whatever database the fixture uses (SQLite,
or PostgreSQL when ``DAVSERVER_DATABASE_URL`` is set).

The uploads are ten ``curl -T`` processes streaming one sparse 100 MiB file from the
temporary directory; a thread polls ``quota-used-bytes`` meanwhile. Everything
uploaded is deleted at the end.
"""

from __future__ import annotations

import re
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests

from tests.conftest import Server, running_server

pytestmark = pytest.mark.clients

DAV = "{DAV:}"
MIB = 2**20
SIZE = 100 * MIB
UPLOADS = 10
DEFAULT_LIMIT = 500 * MIB       # config.yaml `quotas.documents: 500MiB`
TIMEOUT = 600
QUOTA_PROPFIND = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
                  "<D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("quota-parallel"),
                        users={"alice": "teacher"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """100 MiB of zeros on disk (sparse: costs no space, reads as zeros)."""
    path = tmp_path_factory.mktemp("payload") / "zeros-100MiB.bin"
    with path.open("wb") as fh:
        fh.truncate(SIZE)
    yield path
    path.unlink(missing_ok=True)


def quota(session: requests.Session, url: str) -> tuple[int, int]:
    """(quota-used-bytes + quota-available-bytes, quota-used-bytes)."""
    response = session.request("PROPFIND", url, data=QUOTA_PROPFIND,
                               headers={"Depth": "0", "Content-Type": "application/xml"})
    assert response.status_code == 207, response.text[:300]
    root = ET.fromstring(response.content)
    avail = root.findtext(f".//{DAV}quota-available-bytes")
    used = root.findtext(f".//{DAV}quota-used-bytes")
    assert avail is not None and re.fullmatch(r"\d+", avail), response.text
    assert used is not None and re.fullmatch(r"\d+", used), response.text
    return int(used) + int(avail), int(used)


def stored_files(session: requests.Session, url: str) -> dict[str, int]:
    """Files directly in the collection ``url`` (trailing slash): name → size."""
    response = session.request("PROPFIND", url, headers={"Depth": "1"})
    assert response.status_code == 207, response.text[:300]
    found = {}
    for resp in ET.fromstring(response.content).iter(f"{DAV}response"):
        href = resp.findtext(f"{DAV}href") or ""
        if href.rstrip("/") == urlsplit(url).path.rstrip("/"):
            continue
        assert resp.find(f".//{DAV}resourcetype/{DAV}collection") is None, href
        found[unquote(href.rsplit("/", 1)[1])] = int(
            resp.findtext(f".//{DAV}getcontentlength") or -1)
    return found


class UsagePoller(threading.Thread):
    """Reads the space's quota-used-bytes as fast as it can until stopped."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.stop_event = threading.Event()
        self.samples: list[tuple[int, int]] = []
        self.errors: list[str] = []

    def run(self) -> None:
        session = self.server.session("alice")
        url = self.server.documents_url + "/"
        while not self.stop_event.is_set():
            try:
                self.samples.append(quota(session, url))
            except (AssertionError, requests.RequestException) as exc:
                self.errors.append(repr(exc))
            self.stop_event.wait(0.05)

    def finish(self) -> list[tuple[int, int]]:
        self.stop_event.set()
        self.join(timeout=30)
        return self.samples


def parallel_uploads(server: Server, payload: Path, prefix: str,
                     extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Start ``UPLOADS`` curl PUTs of ``payload`` at once; name → final status code
    (``000`` if curl got no answer), with curl's stderr on failure."""
    pw = server.users["alice"]
    procs = {}
    for i in range(UPLOADS):
        name = f"{prefix}-{i:02d}.bin"
        procs[name] = subprocess.Popen(
            ["curl", "-s", "-S", "-u", f"alice:{pw}", "-T", str(payload), *extra,
             "-o", "/dev/null", "-w", "%{http_code}",
             f"{server.documents_url}/{name}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = {}
    for name, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            for p in procs.values():
                p.kill()
            pytest.fail(f"upload {name} did not finish within {TIMEOUT} s")
        results[name] = out.strip() + (f" (curl exit {proc.returncode}: {err.strip()})"
                                       if proc.returncode else "")
    return results


def assert_fsck_clean(server: Server, files: int) -> None:
    """``davserver fsck`` with the server idle: no stray blob, no stale reservation,
    no usage drift; in the embedded blob store, one blob per stored file and no
    upload left half-written."""
    report = server.cli("fsck", check=False)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "fsck: clean" in report.stdout, report.stdout
    blobs = server.data_dir / "blobs"
    if (blobs / "objects").is_dir():
        on_disk = [p for p in (blobs / "objects").rglob("*") if p.is_file()]
        assert len(on_disk) == files, on_disk
        partial = [p for p in (blobs / "tmp").rglob("*") if p.is_file()]
        assert not partial, partial


def delete_all(server: Server, names: list[str]) -> None:
    session = server.session("alice")
    for name in names:
        response = session.delete(f"{server.documents_url}/{name}")
        assert response.status_code in (204, 404), (name, response.status_code)
    server.empty_trash()  # their bytes were freed by the DELETE; their blobs go now


def check_one_file(server: Server, name: str) -> None:
    """Stream one stored file back: 100 MiB of zeros."""
    with server.session("alice").get(f"{server.documents_url}/{name}", stream=True) as got:
        assert got.status_code == 200
        total = 0
        for chunk in got.iter_content(1024 * 1024):
            assert not chunk.strip(b"\0"), f"{name}: non-zero bytes at {total}"
            total += len(chunk)
    assert total == SIZE, (name, total)


def test_ten_parallel_uploads_with_length_into_500_mib(server: Server,
                                                       payload: Path) -> None:
    session = server.session("alice")
    root = server.documents_url + "/"
    assert quota(session, root) == (DEFAULT_LIMIT, 0)
    poller = UsagePoller(server)
    poller.start()
    names: list[str] = []
    try:
        results = parallel_uploads(server, payload, "known")
        names = list(results)
        samples = poller.finish()
        print(f"{len(samples)} usage samples, distinct (total, used): {sorted(set(samples))}")
        statuses = sorted(results.values())
        ok = sorted(n for n, s in results.items() if s == "201")
        assert statuses == ["201"] * 5 + ["507"] * 5, results
        assert stored_files(session, root) == dict.fromkeys(ok, SIZE)
        assert quota(session, root) == (DEFAULT_LIMIT, 5 * SIZE)  # no reservation left
        assert samples, poller.errors
        assert max(u for _, u in samples) <= DEFAULT_LIMIT, max(samples)
        # In flight, reserved bytes are not available: used + available <= limit.
        assert all(total <= DEFAULT_LIMIT for total, _ in samples), max(samples)
        check_one_file(server, ok[0])
        assert_fsck_clean(server, 5)
    finally:
        poller.finish()
        delete_all(server, names)
    assert quota(session, root) == (DEFAULT_LIMIT, 0)


def test_ten_parallel_chunked_uploads_into_250_mib(server: Server, payload: Path) -> None:
    session = server.session("alice")
    root = server.documents_url + "/"
    limit = 250 * MIB
    server.cli("quota", "set", "alice", "250MiB")
    names: list[str] = []
    poller = UsagePoller(server)
    try:
        assert quota(session, root) == (limit, 0)
        poller.start()
        results = parallel_uploads(server, payload, "chunked",
                                   ("-H", "Transfer-Encoding: chunked"))
        names = list(results)
        samples = poller.finish()
        print(f"{len(samples)} usage samples, distinct (total, used): {sorted(set(samples))}")
        ok = sorted(n for n, s in results.items() if s == "201")
        refused = [n for n, s in results.items() if s == "507"]
        assert len(ok) + len(refused) == UPLOADS, results
        assert 1 <= len(ok) <= 2, results
        stored = stored_files(session, root)
        assert stored == dict.fromkeys(ok, SIZE), (stored, results)
        total, used = quota(session, root)
        assert used == sum(stored.values()) <= limit
        assert total == limit, "bytes still reserved after every upload ended"
        assert samples, poller.errors
        assert max(u for _, u in samples) <= limit, max(samples)
        assert all(t <= limit for t, _ in samples), max(samples)
        check_one_file(server, ok[0])
        assert_fsck_clean(server, len(ok))
    finally:
        poller.finish()
        delete_all(server, names)
        server.cli("quota", "set", "alice", "default")
    assert quota(session, root) == (DEFAULT_LIMIT, 0)
