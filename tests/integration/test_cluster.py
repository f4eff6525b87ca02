"""Several server processes behind nginx, on one PostgreSQL and one S3 bucket
(SeaweedFS): the local cluster of ``deploy/local-cluster`` (issue 21).

What a region's deployment must survive, each bounded in time: PostgreSQL restarted
under load, the object store stopped, a process killed with ``kill -9`` during
uploads and LOCKs, a rolling restart under load; and what it must keep: a file
uploaded through one process is listed at once through another, locks are shared,
schema migrations run once when processes start together.

The cluster starts once for the file (about 15 s: PostgreSQL, SeaweedFS, two servers
and nginx on a 2-core machine).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

import acl
from davserver import migrations
from deploy import local_cluster as lc
from tests.conftest import PASSWORD, wait_until
from tests.integration import lock_kit
from tests.integration.cluster_kit import Load, Running, cluster

# One database is enough: the cluster runs its own PostgreSQL whatever the run's
# (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clients, pytest.mark.one_database]

SCHOOL = "Collège du cluster"


CACHE_TTL = 2  # auth.cache_ttl of this cluster: the bound of the credential cache


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with cluster(tmp_path_factory.mktemp("cluster") / "c",
                 extra_config={"auth": {"cache_ttl": CACHE_TTL}}) as up:
        engine = create_engine(up.state.database_url.replace("postgresql://",
                                                             "postgresql+psycopg://"))
        from sqlalchemy.orm import Session

        with Session(engine) as s, s.begin():
            school = acl.ensure_school(s, SCHOOL)
            for login, profile in (("alice", "teacher"), ("bob", "teacher"),
                                   ("carla", "student"), ("dora", "teacher")):
                acl.create_user(s, login, PASSWORD, profile, school_id=school)
                up.users[login] = PASSWORD
            # What `davserver rubric add` and `grant` do, without a process each.
            acl.add_rubric(s, "labo", "Laboratoire", school_id=school)
            acl.grant(s, "labo", "writer", user="alice")
            acl.grant(s, "labo", "manager", user="bob")
        engine.dispose()
        yield up


def _url(up: Running, path: str, base: str | None = None) -> str:
    return f"{base or up.url}/dav/porte-documents/{path}"


def test_each_process_is_listed_ready_and_nginx_answers(running: Running) -> None:
    lines = lc.status_lines(running.state)
    servers = [line for line in lines if line.startswith("davserver-")]
    assert len(servers) == 2 and all(" ready " in line and " pid " in line
                                     for line in servers), lines
    for index in (1, 2):
        assert requests.get(running.direct(index) + "/healthz", timeout=5).text == "ok\n"
        ready = requests.get(running.direct(index) + "/readyz", timeout=5)
        assert (ready.status_code, ready.text) == (200, "ready\n")
        assert ready.headers["Cache-Control"] == "no-store"
    assert requests.get(running.url + "/healthz", timeout=5).status_code == 200


def test_the_command_lists_the_parts_and_runs_davserver_against_the_cluster(
        running: Running) -> None:
    """``deploy/local-cluster status`` and ``exec davserver ...``, as docs/deployment.md
    shows them."""
    command = [str(lc.REPO / "deploy" / "local-cluster"), "--dir", running.state.dir]
    status = subprocess.run([*command, "status"], capture_output=True, text=True,
                            timeout=60, check=True).stdout
    assert status.startswith(f"cluster {running.state.dir}: {running.url}/")
    for part in ("nginx", "davserver-1", "davserver-2", "seaweedfs", "postgresql"):
        pid = running.state.parts[part].pid
        assert any(line.startswith(part) and f" pid {pid} " in line
                   for line in status.splitlines()), (part, status)
    users = subprocess.run([*command, "exec", "davserver", "user", "list"],
                           capture_output=True, text=True, timeout=120, check=True).stdout
    assert "alice" in users and "dora" in users


def test_a_rubric_upload_through_one_process_is_listed_at_once_through_the_other(
        running: Running) -> None:
    folder = "/dav/rubriques/labo/"
    name = f"tp-{uuid.uuid4().hex[:6]}.txt"
    put = running.session("alice").put(running.direct(1) + folder + name, data=b"TP 1\n")
    assert put.status_code == 201, put.text
    listing = running.session("bob").request(
        "PROPFIND", running.direct(2) + folder, headers={"Depth": "1"})
    assert listing.status_code == 207 and name in listing.text
    got = running.session("bob").get(running.direct(2) + folder + name)
    assert (got.status_code, got.content) == (200, b"TP 1\n")


def test_a_disabled_user_is_refused_by_every_process_within_the_cache_bound(
        running: Running) -> None:
    """Both processes remember dora's sign-in; once disabled (by a command, a third
    process), each refuses her within ``auth.cache_ttl`` (docs/architecture.md,
    "Several processes": 1 s with the credential generation)."""
    dora = running.session("dora")
    for index in (1, 2):
        assert dora.get(_url(running, "", running.direct(index))).status_code in (200, 403)
        assert dora.request("PROPFIND", _url(running, "", running.direct(index)),
                            headers={"Depth": "0"}).status_code == 207
    running.cli("user", "disable", "dora")
    disabled = time.monotonic()
    for index in (1, 2):
        assert wait_until(lambda i=index: dora.request(
            "PROPFIND", _url(running, "", running.direct(i)),
            headers={"Depth": "0"}).status_code == 401, timeout=CACHE_TTL + 3)
    assert time.monotonic() - disabled < CACHE_TTL + 3


def test_a_lock_taken_through_one_process_binds_the_other(running: Running) -> None:
    url1, url2 = _url(running, "verrou.odt", running.direct(1)), _url(
        running, "verrou.odt", running.direct(2))
    alice = running.session("alice")
    assert alice.put(url1, data=b"v1").status_code in (201, 204)
    taken = lock_kit.lock(alice, url1)
    assert taken.status == 200, taken.text
    assert alice.put(url2, data=b"v2").status_code == 423
    assert alice.put(url2, data=b"v2", headers={"If": f"(<{taken.token}>)"}).status_code == 204
    assert lock_kit.unlock(alice, url2, taken.token) == 204


def test_processes_started_together_on_a_fresh_database_migrate_it_once(
        running: Running, tmp_path: Path) -> None:
    """Two ``davserver serve`` processes start at the same moment on an empty
    PostgreSQL database: one migrates under the advisory lock while the other waits for
    it, then finds the schema current; both serve."""
    name = "fresh_" + uuid.uuid4().hex[:8]
    admin = create_engine(running.state.database_url.replace(
        "postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = running.state.database_url.rsplit("/", 1)[0] + "/" + name
    env = running.state.env() | {"DAVSERVER_DATABASE_URL": url,
                                 "DAVSERVER_DATA_DIR": str(tmp_path)}
    ports = [lc.free_port() for _ in range(2)]
    procs = [subprocess.Popen([*lc.davserver_command(), "serve", "--port", str(port)],
                              env=env, cwd=lc.REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for port in ports]
    try:
        for port in ports:
            assert wait_until(lambda p=port: _ready(p), timeout=60), port
        fresh = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with fresh.connect() as c:
            versions = c.execute(text("SELECT version_num FROM alembic_version")).all()
        fresh.dispose()
        assert versions == [(migrations.HEAD,)]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_postgresql_restarted_under_load(running: Running) -> None:
    """GETs and PUTs through nginx while PostgreSQL stops for 3 s and starts again:
    during the outage they get 503 with ``Retry-After`` (never a 500, never a hang:
    each answer within 15 s); afterwards every process answers again without a
    restart. About 25 s: the outage, the recovery, and PostgreSQL's own start."""
    alice = running.session("alice")
    assert alice.put(_url(running, "pg.txt"), data=b"avant").status_code in (201, 204)
    retry_after: set[str] = set()

    def send(session: requests.Session, n: int) -> int:
        if n % 2:
            reply = session.get(_url(running, "pg.txt"), timeout=30)
        else:
            reply = session.put(_url(running, f"pg-{n % 7}.txt"), data=b"x" * 100,
                                timeout=30)
        if reply.status_code == 503:
            retry_after.add(reply.headers.get("Retry-After", ""))
        return reply.status_code

    load = Load(send, lambda: running.session("alice"), threads=4).start()
    time.sleep(2)
    lc.restart_postgres(running.state, down_for=3)
    time.sleep(3)
    outcomes = load.stop()
    assert set(outcomes) <= {"200", "201", "204", "503"}, outcomes
    assert outcomes["503"] > 0, outcomes
    assert retry_after == {"5"}, retry_after
    assert load.slowest < 15, load.slowest
    for index in (1, 2):
        assert wait_until(lambda i=index: _ready(running.state.parts[f"davserver-{i}"].port),
                          timeout=15)
        got = alice.get(_url(running, "pg.txt", running.direct(index)))
        assert (got.status_code, got.content) == (200, b"avant")
    for index in (1, 2):
        assert alice.put(_url(running, f"pg-{index}.txt", running.direct(index)),
                         data=b"apres").status_code == 204
    assert "Traceback" not in running.log(1) + running.log(2)


def test_the_object_store_stopped_then_back(running: Running) -> None:
    """SeaweedFS stopped: a PUT gets 503 and commits nothing, a GET 503; once it is
    back the old content is whole and ``fsck`` is clean. About 15 s (SeaweedFS's
    restart)."""
    alice = running.session("alice")
    assert alice.put(_url(running, "s3.txt"), data=b"garde-moi").status_code in (201, 204)
    lc.stop_seaweedfs(running.state)
    try:
        put = alice.put(_url(running, "s3-nouveau.txt"), data=b"perdu?" * 1000, timeout=60)
        assert put.status_code == 503, put.text
        assert put.headers.get("Retry-After") == "5"
        got = alice.get(_url(running, "s3.txt"), timeout=60)
        assert got.status_code == 503 and got.headers.get("Retry-After") == "5"
        for index in (1, 2):
            assert wait_until(lambda i=index: requests.get(
                running.direct(i) + "/readyz", timeout=5).status_code == 503, timeout=5)
    finally:
        lc.restart_seaweedfs(running.state)
    assert alice.get(_url(running, "s3-nouveau.txt")).status_code == 404
    got = alice.get(_url(running, "s3.txt"))
    assert (got.status_code, got.content) == (200, b"garde-moi")
    fsck = running.cli("fsck", check=False)
    assert fsck.returncode == 0 and "fsck: clean" in fsck.stdout, fsck.stdout + fsck.stderr


def test_a_process_killed_during_uploads_and_locks(running: Running) -> None:
    """``kill -9`` of process 1 while uploads stream through nginx: nginx sends the next
    requests to process 2; the cut uploads leave no file; a lock taken through process 1
    stays valid and is refreshed through process 2. About 20 s (the uploads, the
    restart of the killed process)."""
    alice = running.session("alice")
    token = lock_kit.lock(alice, _url(running, "kill-lock.txt", running.direct(1)))
    assert token.status in (200, 201), token.text
    started = threading.Event()

    def slow_body() -> Iterator[bytes]:
        for _ in range(200):
            started.set()
            yield b"y" * 65536
            time.sleep(0.02)

    results: list[int | str] = []

    def upload(name: str) -> None:
        try:
            results.append(alice.put(_url(running, name, running.direct(1)),
                                     data=slow_body(), timeout=60).status_code)
        except requests.RequestException as exc:
            results.append(type(exc).__name__)

    uploads = [threading.Thread(target=upload, args=(f"coupe-{i}.bin",)) for i in range(2)]
    for t in uploads:
        t.start()
    assert started.wait(10)
    time.sleep(0.5)
    lc.kill_davserver(running.state, 1)
    for t in uploads:
        t.join(60)
    assert all(isinstance(r, str) for r in results), results
    for i in range(6):  # nginx passes over the dead process
        reply = alice.put(_url(running, f"apres-{i}.txt"), data=b"ok")
        assert reply.status_code in (201, 204), reply.text
    for i in range(2):
        assert alice.get(_url(running, f"coupe-{i}.bin")).status_code == 404
    refreshed = lock_kit.refresh(alice, _url(running, "kill-lock.txt", running.direct(2)),
                                 token.token)
    assert refreshed.status == 200, refreshed.text
    assert alice.put(_url(running, "kill-lock.txt", running.direct(2)),
                     data=b"z").status_code == 423
    lc.restart_davserver(running.state, 1)
    assert lock_kit.unlock(alice, _url(running, "kill-lock.txt", running.direct(1)),
                           token.token) == 204


QUOTA_PROPFIND = (b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop>'
                  b'<quota-available-bytes/></prop></propfind>')


def test_the_reservations_of_a_killed_process_come_back(running: Running) -> None:
    """``kill -9`` of process 2 during a large upload that announced its size: the
    reservation it held (a lease of that process, ``quotas.leases``) is given back when
    the process starts again (its sweep finds the holder dead on this host), so the
    space's free room is what it was. About 10 s (the restart)."""
    alice = running.session("alice")

    def free() -> int:
        reply = alice.request("PROPFIND", running.url + "/dav/porte-documents/",
                              headers={"Depth": "0"}, data=QUOTA_PROPFIND)
        return int(reply.text.split("quota-available-bytes>")[1].split("<")[0])

    before = free()
    started = threading.Event()

    def body() -> Iterator[bytes]:
        started.set()
        for _ in range(1000):
            yield b"r" * 65536
            time.sleep(0.05)

    def upload() -> None:
        with contextlib.suppress(requests.RequestException):  # cut by the kill
            alice.put(_url(running, "reserve.bin", running.direct(2)), data=body(),
                      headers={"Content-Length": str(1000 * 65536)}, timeout=60)

    worker = threading.Thread(target=upload)
    worker.start()
    assert started.wait(10)
    assert wait_until(lambda: free() <= before - 1000 * 65536, timeout=10)
    lc.kill_davserver(running.state, 2)
    worker.join(60)
    lc.restart_davserver(running.state, 2)
    assert wait_until(lambda: free() == before, timeout=60)
    assert alice.get(_url(running, "reserve.bin")).status_code == 404


def test_a_rolling_restart_under_load_loses_no_request(running: Running) -> None:
    """Every process in turn gets SIGTERM and is started again, while GETs, PUTs,
    PROPFINDs and LOCK/UNLOCK pairs go through nginx: each request gets its real answer
    (no 502, no connection error), since a draining process announces itself and
    closes its connections before its listener. During its drain delay (3 s here) a
    process's ``/readyz`` says ``draining`` while it still serves, with
    ``Connection: close``; then its listener closes. About 30 s (each process drains
    3 s, starts, and is given nginx's fail_timeout before the next one goes)."""
    alice = running.session("alice")
    assert alice.put(_url(running, "roll.txt"), data=b"roule").status_code in (201, 204)

    def send(session: requests.Session, n: int) -> int:
        kind = n % 4
        if kind == 0:
            return session.get(_url(running, "roll.txt"), timeout=30).status_code
        if kind == 1:
            return session.put(_url(running, f"roll-{n % 5}.txt"), data=b"r" * 500,
                               timeout=30).status_code
        if kind == 2:
            return session.request("PROPFIND", running.url + "/dav/porte-documents/",
                                   headers={"Depth": "1"}, timeout=30).status_code
        url = _url(running, f"roll-lock-{n}.txt")
        taken = lock_kit.lock(session, url)
        if taken.status not in (200, 201):
            return taken.status
        return lock_kit.unlock(session, url, taken.token)

    load = Load(send, lambda: running.session("alice"), threads=4).start()
    time.sleep(1)
    for index in (1, 2):
        part = running.state.parts[f"davserver-{index}"]
        lc.kill_davserver(running.state, index, signal.SIGTERM)
        ready = requests.get(running.direct(index) + "/readyz", timeout=5)
        assert (ready.status_code, ready.text) == (503, "draining\n")
        served = alice.get(_url(running, "roll.txt", running.direct(index)))
        assert served.status_code == 200 and served.headers["Connection"] == "close"
        assert wait_until(lambda p=part: not p.alive(), timeout=60)
        with pytest.raises(requests.ConnectionError):
            requests.get(running.direct(index) + "/healthz", timeout=5)
        lc.restart_davserver(running.state, index)
        # nginx passes over a process that refused a connection for its fail_timeout
        # (2 s): the next one drains only once this one takes requests again.
        time.sleep(3)
    outcomes = load.stop()
    assert set(outcomes) <= {"200", "201", "204", "207"}, outcomes
    assert sum(outcomes.values()) > 40, outcomes
