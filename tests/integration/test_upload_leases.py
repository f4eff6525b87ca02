"""Upload reservations are leases (issue 18, finding 6; ``quotas/leases.py``): a crash
mid-upload holds no quota after a restart, without ``fsck``; a dead process's
reservation is reclaimed by the next process that needs the room; another host's by
expiry; and start-up removes only the temporary files of this host's dead processes.

On SQLite, and on PostgreSQL under ``.ci/with-postgres``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

import acl
import quotas
from providers import LocalBlobStore
from quotas import UploadLease
from quotas.ledger import SpaceUsage
from tests.conftest import Server, running_server, wait_until

LIMIT = 10 * 2**20  # alice's porte-documents: 10 MiB
UPLOAD = 4 * 2**20  # each of the uploads cut by the crash


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("leases"),
                        {"DAVSERVER_SERVER__BODY_IDLE_TIMEOUT": "5"},
                        users={"alice": "teacher"}) as started:
        started.cli("quota", "set", "alice", str(LIMIT))
        yield started


@pytest.fixture
def srv(server: Server) -> Iterator[Server]:
    """The module's server, alice's porte-documents emptied after each test."""
    yield server
    with server.app() as app:
        root = app.store.resolve(_space_id(server), "")
        assert root is not None
        for node in app.store.children(root):
            app.store.delete(node)
        with app.db.transaction() as s:
            s.execute(delete(UploadLease))
            s.execute(update(SpaceUsage).values(reserved_bytes=0))
    server.empty_trash()
    for name in _tmp_files(server):
        (server.data_dir / "blobs" / "tmp" / name).unlink()


def _space_id(server: Server) -> int:
    with server.app() as app:
        with app.db.transaction(write=False) as s:
            user = acl.find_user(s, "alice")
        assert user is not None
        return app.store.ensure_space("documents", user.id).id


def _figures(server: Server) -> tuple[int, int]:
    """(used, reserved) bytes of alice's porte-documents."""
    with server.app() as app:
        figures = app.store.usage(_space_id(server))
        assert figures is not None
        return figures.used, figures.reserved


def _leases(server: Server) -> list[tuple[int, int, float]]:
    """(pid, bytes, expiry) of every lease."""
    with server.app() as app, app.db.transaction(write=False) as s:
        return [(r.pid, r.nbytes, r.expires) for r in s.execute(
            select(UploadLease.pid, UploadLease.nbytes, UploadLease.expires))]


def _tmp_files(server: Server) -> list[str]:
    return sorted(p.name for p in (server.data_dir / "blobs" / "tmp").iterdir())


def _slow_upload(server: Server, source: Path, name: str) -> subprocess.Popen[bytes]:
    """curl uploading ``source`` at 256 KB/s (a real client, streaming)."""
    return subprocess.Popen(
        ["curl", "-s", "-o", "/dev/null", "-u", f"alice:{server.users['alice']}",
         "--limit-rate", "256k", "-T", str(source), f"{server.documents_url}/{name}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _put(server: Server, name: str, size: int) -> int:
    response = server.session("alice").put(f"{server.documents_url}/{name}",
                                           data=b"z" * size, timeout=60)
    return response.status_code


def test_a_crash_mid_upload_holds_no_quota_after_a_restart(srv: Server,
                                                           tmp_path: Path) -> None:
    """Two 4 MiB uploads stream slowly (curl, 256 KB/s); their leases are renewed
    while bytes flow; the server is killed (SIGKILL) in the middle. After a restart,
    at once and without ``fsck``: nothing reserved, no lease, ``blobs/tmp`` empty, and
    a PUT of the whole 10 MiB quota is accepted.

    Takes about 30 s: the uploads must run past one lease renewal (every 10 s), and
    the server starts again."""
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(UPLOAD))
    clients = [_slow_upload(srv, source, f"cut-{i}.bin") for i in range(2)]
    try:
        assert wait_until(lambda: len(_leases(srv)) == 2, 10), _leases(srv)
        assert _figures(srv) == (0, 2 * UPLOAD)
        first = {pid: expires for pid, _n, expires in _leases(srv)}
        time.sleep(11.5)
        renewed = _leases(srv)
        assert all(expires > max(first.values()) for _p, _n, expires in renewed), \
            (first, renewed)
        assert len(_tmp_files(srv)) == 2
        assert srv.proc is not None
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        srv.proc = None
    finally:
        for client in clients:
            client.wait(timeout=30)
    assert _figures(srv) == (0, 2 * UPLOAD)  # what the crash left, before the restart
    srv.start()
    assert _tmp_files(srv) == []
    assert _leases(srv) == []
    assert _figures(srv) == (0, 0)
    assert _put(srv, "whole-quota.bin", LIMIT) == 201
    assert _figures(srv) == (LIMIT, 0)
    done = srv.cli("fsck", check=False)
    assert "fsck: clean" in done.stdout, done.stdout


_HOLDER = """
import sys, time
from davserver.app import create_app
from davserver.config import load_config
app = create_app(load_config())
held = app.store.reserve(int(sys.argv[1]), int(sys.argv[2]))
print(held.lease_id, flush=True)
time.sleep(600)
"""


def test_a_dead_process_reservation_goes_to_the_next_upload(srv: Server) -> None:
    """Another process of this host reserves 8 MiB, then dies (SIGKILL) before
    uploading. The running server, asked for 6 MiB, finds the space full, sees that
    the holder is gone, reclaims its lease and accepts: no restart, no ``fsck``."""
    space = _space_id(srv)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(space), str(8 * 2**20)],
                              env=srv.env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip().isdigit()
        assert _figures(srv) == (0, 8 * 2**20)
        pid = holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert [p for p, _n, _e in _leases(srv)] == [pid]
    assert _put(srv, "after-death.bin", 6 * 2**20) == 201
    assert _leases(srv) == []
    assert _figures(srv) == (6 * 2**20, 0)


def test_another_hosts_lease_ends_by_expiry_only(srv: Server) -> None:
    """A lease of another host cannot be checked for its process: while it lasts, its
    bytes stay held (507 for an upload that needs them); once expired, the next
    upload that needs the room reclaims it."""
    space = _space_id(srv)
    with srv.app() as app, app.db.transaction() as s:
        s.add(UploadLease(space_id=space, nbytes=8 * 2**20, host="other-host.example",
                          pid=os.getpid(), token="x", expires=quotas.leases.now() + 300))
        s.execute(update(SpaceUsage).where(SpaceUsage.space_id == space)
                  .values(reserved_bytes=8 * 2**20))
    assert _put(srv, "too-big.bin", 6 * 2**20) == 507
    with srv.app() as app, app.db.transaction() as s:
        s.execute(update(UploadLease).values(expires=quotas.leases.now() - 1))
    assert _put(srv, "after-expiry.bin", 6 * 2**20) == 201
    assert _leases(srv) == []
    assert _figures(srv) == (6 * 2**20, 0)


def test_start_up_removes_only_dead_processes_temporary_files(srv: Server) -> None:
    """At start-up the server removes the temporary files of this host's ended
    processes, and leaves those of a live one (here, this test's process, writing
    into the same blob directory) and recent ones of another host."""
    tmp = srv.data_dir / "blobs" / "tmp"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_tag = quotas.Holder(quotas.this_process().host, int(dead.stdout), "gone").tag
    (tmp / f"{uuid.uuid4().hex}~{dead_tag}.part").write_bytes(b"left by a crash")
    elsewhere = quotas.Holder("other-host.example", 42, "t").tag
    (tmp / f"{uuid.uuid4().hex}~{elsewhere}.part").write_bytes(b"another host's")
    live = LocalBlobStore(srv.data_dir / "blobs", owner=quotas.this_process().tag)
    writer = live.writer()
    writer.write(b"an upload in progress in a live process")
    try:
        srv.restart()
        names = _tmp_files(srv)
        assert len(names) == 2, names
        assert any(quotas.this_process().tag in n for n in names)
        assert any(elsewhere in n for n in names)
    finally:
        writer.abort()
