"""The local cluster (``deploy/local-cluster``) as a test fixture, and load to run
against it.

:func:`cluster` starts PostgreSQL, SeaweedFS, server processes and nginx in a
temporary directory (about 15 s on a 2-core machine) and stops them afterwards;
:class:`Load` sends requests from threads and records each outcome.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from deploy import local_cluster as lc
from tests.conftest import PASSWORD


def require_tools() -> None:
    """Skip unless nginx, PostgreSQL's binaries and SeaweedFS are here (CI installs
    them: ``.ci/install-test-deps`` and the test extras; with ``CI_REQUIRE_ALL=1`` a
    skip fails). The cluster runs its own PostgreSQL whatever the suite's database, so
    its tests are ``one_database``."""
    if not Path(lc.NGINX).is_file():
        pytest.skip("nginx is not installed (bash .ci/install-test-deps)")
    try:
        lc._pg_bin()
        lc._weed()
    except lc.ClusterError as exc:
        pytest.skip(str(exc))
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("runuser is needed to run PostgreSQL as root")


@dataclass
class Running:
    """A started cluster and what tests use of it."""

    state: lc.Cluster
    users: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.state.url

    def direct(self, index: int) -> str:
        """The address of server process ``index``, bypassing nginx."""
        return f"http://127.0.0.1:{self.state.parts[f'davserver-{index}'].port}"

    def cli(self, *args: str, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*lc.davserver_command(), *args], input=stdin, text=True,
                              capture_output=True, env=self.state.env(), check=check,
                              timeout=120, cwd=lc.REPO)

    def add_user(self, login: str, profile: str = "teacher") -> None:
        self.cli("user", "add", login, "--profile", profile, "--password-stdin",
                 stdin=PASSWORD + "\n")
        self.users[login] = PASSWORD

    def session(self, login: str) -> requests.Session:
        s = requests.Session()
        s.auth = (login, self.users[login])
        return s

    def log(self, index: int) -> str:
        return Path(self.state.parts[f"davserver-{index}"].log).read_text(errors="replace")


@contextmanager
def cluster(directory: Path, *, processes: int = 2, blobs: str = "s3",
            extra_config: dict[str, Any] | None = None) -> Iterator[Running]:
    require_tools()
    state = lc.up(directory, processes=processes, blobs=blobs, extra_config=extra_config)
    try:
        yield Running(state)
    finally:
        # The logs stay in pytest's temporary directory; PostgreSQL's data (in /tmp)
        # goes.
        lc.down(directory, drain=False)
        shutil.rmtree(state.pg_dir, ignore_errors=True)


@dataclass
class Load:
    """``threads`` threads calling ``send(session, n)`` (returns a status code, or
    raises) until :meth:`stop`; outcomes counted by status (``error: ...`` for an
    exception)."""

    send: Callable[[requests.Session, int], int]
    make_session: Callable[[], requests.Session]
    threads: int = 4
    outcomes: Counter[str] = field(default_factory=Counter)
    slowest: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Load:
        for i in range(self.threads):
            worker = threading.Thread(target=self._run, args=(i,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def _run(self, index: int) -> None:
        session = self.make_session()
        n = 0
        while not self._stop.is_set():
            n += 1
            started = time.monotonic()
            try:
                outcome = str(self.send(session, index * 1_000_000 + n))
            except requests.RequestException as exc:
                outcome = f"error: {type(exc).__name__}"
            took = time.monotonic() - started
            with self._lock:
                self.outcomes[outcome] += 1
                self.slowest = max(self.slowest, took)

    def stop(self) -> Counter[str]:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)
        return self.outcomes
