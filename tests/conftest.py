"""Shared fixtures: a real ``davserver serve`` process on a free loopback port.

The database is SQLite in a temporary data directory, or, when
``DAVSERVER_DATABASE_URL`` points at a PostgreSQL server, a fresh database created
on that server for each server fixture (dropped afterwards).

The blobs are in the data directory, or, with ``DAVSERVER_TEST_BLOBS=s3``, in an S3
bucket: one SeaweedFS per test process (``deploy/local_cluster.py``, started at the
first server, stopped at exit), each server under a prefix of its own, e.g.
``DAVSERVER_TEST_BLOBS=s3 python -m pytest -n 0 tests/integration/test_litmus.py``.

The clock (:mod:`davserver.clock`): every server and command a test starts reads the
test process's clock (``DAVSERVER_CLOCK_SHIFT`` is passed on), so that the dates a test
computes with ``clock.now()`` or ``clock.today(zone)`` are the server's. Markers:

* ``@pytest.mark.time_sensitive``: the test's outcome depends on the date or the
  hour (CI runs these once more with the clock on a Saturday night);
* ``@pytest.mark.clock("2026-12-08T10:00 Europe/Paris")``: the clock reads that
  instant when the test starts (time flows on from there). On a module
  (``pytestmark``), when the module starts: its module-scoped servers read it too;
  module-level code runs at collection, before any pin, so compute dates in
  fixtures and tests. Implies ``time_sensitive``;
* ``pytest --clock=INSTANT``: the whole run's clock reads INSTANT at start-up
  (pinned tests keep their own instant).
"""

from __future__ import annotations

import atexit
import contextvars
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy.orm import Session

import acl
from davserver import clock, journal
from davserver.app import Application, create_app
from davserver.config import load_config
from davserver.db import open_database
from tests import forked

PG_URL = os.environ.get("DAVSERVER_DATABASE_URL", "")
SCHOOL_ZONE = ZoneInfo("Europe/Paris")  # the test schools' zone (the default)
IN_TERM = "2026-12-08T10:00 Europe/Paris"
"""A Tuesday at 10:00 in term time of the tests' school year 2026-2027, outside its
holidays: the clock of modules whose data has fixed dates (``pytest.mark.clock``)."""

TEST_BLOBS = os.environ.get("DAVSERVER_TEST_BLOBS", "local")
_s3_server: list[Any] = []  # the SeaweedFS of this test process, once started


def s3_blob_env() -> dict[str, str]:
    """Configuration of a server whose blobs are in this test process's SeaweedFS,
    under a new prefix (the server sees only its own objects)."""
    from deploy import local_cluster as lc

    if not _s3_server:
        directory = Path(tempfile.mkdtemp(prefix="davtest-s3-"))
        state = lc.Cluster(str(directory))
        lc.start_seaweedfs(state)
        _s3_server.append(state)

        def _stop() -> None:
            lc.stop_seaweedfs(state)
            shutil.rmtree(directory, ignore_errors=True)

        atexit.register(_stop)
    state = _s3_server[0]
    key, secret = lc.s3_keys(state)
    return {"DAVSERVER_BLOBS__KIND": "s3",
            "DAVSERVER_BLOBS__S3__ENDPOINT_URL": state.s3_endpoint,
            "DAVSERVER_BLOBS__S3__BUCKET": lc.BUCKET,
            "DAVSERVER_BLOBS__S3__PREFIX": f"t{uuid.uuid4().hex[:12]}/",
            "DAVSERVER_BLOBS__S3__ACCESS_KEY_ID": key,
            "DAVSERVER_BLOBS__S3__SECRET_ACCESS_KEY": secret}


def school_today() -> date:
    """Today in the test schools' zone, on the clock the servers read."""
    return clock.today(SCHOOL_ZONE)


def instant(text: str) -> datetime:
    """An aware instant from ISO 8601 with its offset (``2026-12-12T23:30+01:00``) or
    followed by a zone name (``2027-03-28T03:30 Europe/Paris``: the offset in force
    then, summer time included). Raises ``ValueError`` for anything else."""
    stamp, _, zone = text.strip().partition(" ")
    moment = datetime.fromisoformat(stamp)
    if zone:
        if moment.tzinfo is not None:
            raise ValueError(f"{text!r}: give an offset or a zone, not both")
        moment = moment.replace(tzinfo=ZoneInfo(zone.strip()))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r}: give its offset (+01:00) or its zone (Europe/Paris)")
    return moment


@contextmanager
def pinned(when: datetime | str) -> Iterator[datetime]:
    """Within the block, this process's clock, and that of every process started from
    it (``DAVSERVER_CLOCK_SHIFT`` in ``os.environ``), reads ``when`` at the block's
    start and flows on; both are restored afterwards. Yields ``when`` (aware)."""
    moment = instant(when) if isinstance(when, str) else when
    saved_shift, saved_env = clock.shift(), os.environ.get(clock.SHIFT_VARIABLE)
    clock.set_shift(clock.offset_to(moment))
    os.environ[clock.SHIFT_VARIABLE] = clock.format_shift(clock.shift())
    try:
        yield moment
    finally:
        clock.set_shift(saved_shift)
        if saved_env is None:
            os.environ.pop(clock.SHIFT_VARIABLE, None)
        else:
            os.environ[clock.SHIFT_VARIABLE] = saved_env


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock", metavar="INSTANT", default=None,
        help="run with the clock reading INSTANT at start-up, ISO 8601 with an offset "
             "or a zone name: '2026-12-12T23:30+01:00', '2027-03-28T03:30 Europe/Paris' "
             "(tests with a clock marker keep their own)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "time_sensitive: the outcome depends on the date "
                            "or the hour (CI runs these again with a shifted clock)")
    config.addinivalue_line("markers", "clock(instant): the clock reads INSTANT (ISO 8601, "
                            "with an offset or a zone name) when the test or module "
                            "starts; implies time_sensitive")
    wanted = config.getoption("clock")
    # xdist workers inherit the shift through the environment: computing it again in
    # each of them would give each a different clock.
    if wanted and not hasattr(config, "workerinput"):
        try:
            offset = clock.offset_to(instant(wanted))
        except ValueError as exc:
            raise pytest.UsageError(f"--clock: {exc}") from None
        clock.set_shift(offset)
        os.environ[clock.SHIFT_VARIABLE] = clock.format_shift(clock.shift())


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("clock") is not None:
            item.add_marker(pytest.mark.time_sensitive)


def _pin_of(node: pytest.Item | pytest.Collector,
            own: type | tuple[type, ...]) -> str | None:
    """The instant of the ``clock`` marker closest to ``node``, if that marker was set
    on a node of type ``own`` (a module's pin is applied once, for the module)."""
    for where, mark in node.iter_markers_with_node("clock"):
        return str(mark.args[0]) if isinstance(where, own) else None
    return None


@pytest.fixture(scope="module", autouse=True)
def _module_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    when = _pin_of(request.node, pytest.Module)
    if when is None:
        yield
        return
    with pinned(when):
        yield


@pytest.fixture(autouse=True)
def _test_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    when = _pin_of(request.node, (pytest.Function, pytest.Class))
    if when is None:
        yield
        return
    with pinned(when):
        yield

#: The databases of the store-level tests' ``db`` fixtures in this run: SQLite, or in
#: the PostgreSQL run PostgreSQL alone (the SQLite run has run them on SQLite).
BACKENDS = ["postgresql"] if PG_URL else ["sqlite"]
# Which tests run on which database, and a CI run's refusal of skips.
pytest_plugins = ["tests.runs"]


class PortTaken(RuntimeError):
    """The server could not listen: another process holds the port."""
PASSWORD = "correct-horse-42"


def _pg_admin(url: str, statement: str) -> None:
    import psycopg

    conninfo = re.sub(r"^postgresql\+psycopg://", "postgresql://", url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(statement)


#: Per test process: a database at the schema's head (SQLite: its data folder;
#: PostgreSQL: a template database), copied for each new server. Creating the schema
#: takes a process and about 1.2 s; a copy takes milliseconds, and a server's first
#: start and its first command then find the schema that ``davserver db upgrade``
#: makes, which is what they would have made.
_SCHEMA_TEMPLATE: list[str] = []


def _schema_template() -> str:
    """The SQLite template folder or the PostgreSQL template database's name (made at
    first use, PostgreSQL's dropped at exit)."""
    if _SCHEMA_TEMPLATE:
        return _SCHEMA_TEMPLATE[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAVSERVER_")}
    env["DAVSERVER_CONFIG"] = str(Path(__file__).resolve().parent.parent / "config.yaml")
    folder = Path(tempfile.mkdtemp(prefix="davserver-schema-"))
    env["DAVSERVER_DATA_DIR"] = str(folder)
    template = str(folder)
    atexit.register(shutil.rmtree, folder, True)
    if PG_URL:
        template = "davtpl_" + uuid.uuid4().hex[:12]
        _pg_admin(PG_URL, f'CREATE DATABASE "{template}"')
        env["DAVSERVER_DATABASE_URL"] = PG_URL.rpartition("/")[0] + "/" + template
    subprocess.run([sys.executable, "-m", "davserver.cli", "db", "upgrade"], env=env,
                   check=True, capture_output=True, timeout=120)
    if PG_URL:
        # No connection may be open on a template while it is copied; refusing them
        # keeps autovacuum out too (it then visits only against wraparound).
        _pg_admin(PG_URL, f'ALTER DATABASE "{template}" WITH IS_TEMPLATE true '
                          "ALLOW_CONNECTIONS false")
        atexit.register(_drop_template, template)
    _SCHEMA_TEMPLATE.append(template)
    return template


def _drop_template(name: str) -> None:
    try:
        _pg_admin(PG_URL, f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false')
        _pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}"')
    except Exception:  # noqa: BLE001 - the server may be gone at exit (with-postgres)
        pass


def fresh_database_url(tmp: Path, schema: bool = True) -> tuple[str | None, str | None]:
    """(database URL, PostgreSQL database name to drop) for one server's data; the
    schema is there already (a copy of :func:`_schema_template`) unless ``schema`` is
    false (an empty database, for the migrations' tests). SQLite: the database file is
    copied into ``tmp / "data"`` unless one is there."""
    if not schema:
        if not PG_URL:
            return None, None
        name = "davtest_" + uuid.uuid4().hex[:12]
        _pg_admin(PG_URL, f'CREATE DATABASE "{name}"')
        return f"{PG_URL.rpartition('/')[0]}/{name}", name
    template = _schema_template()
    if not PG_URL:
        target = tmp / "data" / "davserver.sqlite3"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(template) / "davserver.sqlite3", target)
        return None, None
    name = "davtest_" + uuid.uuid4().hex[:12]
    _pg_admin(PG_URL, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}", name


def drop_database(name: str | None) -> None:
    """Drop a test database, even with connections left in it. An autovacuum worker
    may only be ended by a member of pg_signal_backend: without it, wait for the worker
    to finish (a few tries)."""
    if not name:
        return
    import psycopg

    for attempt in range(20):
        try:
            _pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == 19:
                raise
            time.sleep(0.5)


@dataclass
class Server:
    """A running ``davserver serve`` and what a test needs to talk to it."""

    data_dir: Path
    env: dict[str, str]
    users: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[str] | forked.ForkedProcess | None = None
    port: int = 0
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dav_url(self) -> str:
        return self.base_url + "/dav"

    @property
    def documents_url(self) -> str:
        return self.dav_url + "/porte-documents"

    def cli(self, *args: str, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """``davserver ARGS`` on this server's data, as ``subprocess.run`` returns it
        (text, both streams captured); a process of its own, forked ready-imported
        (:mod:`tests.forked`)."""
        return forked.run(args, self.env, stdin=stdin, check=check, timeout=120)

    def add_user(self, login: str, profile: str = "teacher", password: str = PASSWORD) -> str:
        """What ``davserver user add LOGIN --profile PROFILE`` does (the account and its
        journal entry, as from the command line), done in this process: a command's
        own process costs about 0.6 s, and tests add hundreds of users.
        ``tests/integration/test_cli.py`` runs the command itself."""
        contextvars.copy_context().run(self._add_user, login, profile, password)
        self.users[login] = password
        return password

    def _add_user(self, login: str, profile: str, password: str) -> None:
        journal.bind(via="cli", who="cli:tests")
        db = open_database(load_config(environ=self.env))
        try:
            with db.transaction() as s:
                added = acl.create_user(s, login, password, profile)
                journal.record(s, journal.Kind.user_changed, target=login,
                               school_id=acl.school_of_user(s, added.id),
                               details={"action": "add"})
        finally:
            db.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction on this server's own database (SQLite or PostgreSQL),
        for setting up people, rubrics and grants through ``acl`` directly."""
        with self.app() as app, app.db.transaction() as session:
            yield session

    @contextmanager
    def app(self) -> Iterator[Application]:
        """This server's database and store, opened in the test process (the same
        files and database as the running server)."""
        app = create_app(load_config(environ=self.env))
        try:
            yield app
        finally:
            app.close()

    def empty_trash(self) -> int:
        """Purge every space's trash, as "empty the trash" does; returns the items
        purged. A DELETE already frees its bytes in the quota (issue 17): this only
        leaves a test a trash of its own."""
        from providers import trash

        with self.app() as app:
            return len(trash.purge_older(app.store, clock.time() + 1))

    def start(self) -> None:
        """Start the server; on a port of its own choosing, a port another test process
        took between the probe and the server's bind (the suite runs in parallel
        workers) is replaced by a new one, twice at most."""
        chosen = not self.port
        for attempt in range(3):
            if chosen:
                # A fixed port from the start: cheroot sets SO_REUSEADDR only for a
                # fixed port, and restart() must bind the same one again.
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", 0))
                    self.port = probe.getsockname()[1]
            try:
                self._start_once()
                return
            except PortTaken:
                self.proc = None
                if not chosen or attempt == 2:
                    raise

    def _start_once(self) -> None:
        self.log_path = self.data_dir / "server.log"
        logged = self.log_path.stat().st_size if self.log_path.exists() else 0  # bytes
        log = open(self.log_path, "a")  # noqa: SIM115
        argv = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with log:  # the process has its own copy of the descriptor
            if forked.ENABLED:  # a process of its own, forked ready-imported (tests.forked)
                self.proc = forked.start(argv, self.env, stderr=log)
            else:
                self.proc = subprocess.Popen([sys.executable, "-m", "davserver.cli", *argv],
                                             env=self.env, stdout=subprocess.PIPE,
                                             stderr=log, text=True)
        proc = self.proc
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not match:
            proc.kill()
            proc.wait()
            added = self.log_path.read_bytes()[logged:].decode(errors="replace")
            if "cannot listen on" in added:
                raise PortTaken(f"port {self.port}: {added}")
            raise RuntimeError(f"server did not start: {line!r}\n{added}")
        self.port = int(match.group(1))

    def stop(self) -> int:
        """SIGTERM, wait; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def restart(self) -> None:
        """Stop and start again on the same port and data."""
        self.stop()
        self.start()

    def session(self, login: str | None = None) -> requests.Session:
        s = requests.Session()
        login = login or next(iter(self.users))
        s.auth = (login, self.users[login])
        return s


def make_server(tmp: Path, extra_env: dict[str, str] | None = None) -> tuple[Server, str | None]:
    data_dir = tmp / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAVSERVER_")}
    env.update({
        "DAVSERVER_DATA_DIR": str(data_dir),
        "DAVSERVER_CONFIG": str(Path(__file__).resolve().parent.parent / "config.yaml"),
        "DAVSERVER_LOGGING__LEVEL": "WARNING",
        # Quiet hours hide homework given in the evening: what a test sees would depend
        # on the hour the suite runs. Tests of quiet hours set their own window.
        "DAVSERVER_TEXTBOOK__QUIET_HOURS": "false",
        **clock.environment(),
    })
    url, dbname = fresh_database_url(tmp)
    if url:
        env["DAVSERVER_DATABASE_URL"] = url
    if TEST_BLOBS == "s3":
        env.update(s3_blob_env())
    env.update(extra_env or {})
    return Server(data_dir=data_dir, env=env), dbname


@contextmanager
def running_server(tmp: Path, extra_env: dict[str, str] | None = None,
                   users: dict[str, str] | None = None) -> Iterator[Server]:
    """A started server with ``users`` (login → profile), stopped and its PostgreSQL
    database dropped afterwards."""
    srv, dbname = make_server(tmp, extra_env)
    for login, profile in (users or {}).items():
        srv.add_user(login, profile=profile)
    srv.start()
    try:
        yield srv
    finally:
        if srv.proc is not None:
            srv.stop()
        drop_database(dbname)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A started server with users ``alice`` (teacher) and ``bob`` (student), per module."""
    with running_server(tmp_path_factory.mktemp("srv"),
                        users={"alice": "teacher", "bob": "student"}) as srv:
        yield srv


@pytest.fixture
def folder(server: Server) -> str:
    """URL (no trailing slash) of a new, empty folder in alice's porte-documents."""
    url = f"{server.documents_url}/t-{uuid.uuid4().hex[:10]}"
    response = server.session("alice").request("MKCOL", url + "/")
    assert response.status_code == 201, response.text
    return url


def wait_until(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
