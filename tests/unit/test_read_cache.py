"""The cache of path resolutions (issue 22; ``Database.read_rows(..., cached=KEY)``):
a repeated read makes no query until a commit begins on the database, in this process
or in another one, and none is cached while one is in progress; the counts that
decide it live in a file beside the database that every process maps.

SQLite only: PostgreSQL deployments run on several hosts, which share no file, and
their reads are never cached (``read_rows`` ignores ``cached`` there)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text

from davserver import db as db_module
from davserver.db import Database, WriteCounter
from providers import LocalBlobStore, Store
from tests.unit.conftest import count_queries

pytestmark = pytest.mark.one_database  # the cache exists on SQLite only

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    database = Database(f"sqlite:///{tmp_path / 'davserver.db'}")
    database.create_schema()
    store = Store(database, LocalBlobStore(tmp_path / "blobs"))
    space = store.ensure_space("rubric", rubric_id=1)
    store.make_collection(space.id, "/cours")
    store.write_bytes(space.id, "/cours/a.txt", b"first")
    return store


def _resolve(store: Store, path: str = "/cours/a.txt") -> tuple[int, list[str]]:
    """How many statements resolving ``path`` ran (without emptying the cache), and
    the SHA-1 of what it found last."""
    space = store.ensure_space("rubric", rubric_id=1)
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(store.db.engine, "before_cursor_execute", seen)
    try:
        chain = store.resolve_chain(space.id, path)
    finally:
        event.remove(store.db.engine, "before_cursor_execute", seen)
    return len(statements), [node.sha1 for node in chain[-1:]]


def test_a_repeated_resolution_makes_no_query_until_a_commit(store: Store) -> None:
    first = _resolve(store)
    assert first[0] == 1
    assert _resolve(store) == (0, first[1])  # from memory
    space = store.ensure_space("rubric", rubric_id=1)
    store.write_bytes(space.id, "/cours/a.txt", b"second")  # a commit in this process
    again = _resolve(store)
    assert again[0] == 1 and again[1] != first[1]
    assert _resolve(store) == (0, again[1])
    with store.db.transaction() as s:  # a write transaction that changed nothing
        s.execute(text("SELECT 1"))
    assert _resolve(store)[0] == 1  # counts too: one miss more, never a stale answer
    with count_queries(store.db) as counted:  # the statement-count tests start cold
        store.resolve_chain(space.id, "/cours/a.txt")
    assert counted.count == 1


def test_a_commit_in_another_process_is_seen_at_once(store: Store, tmp_path: Path) -> None:
    """Another process (a ``davserver`` command, a second server on the same data)
    commits through its own ``Database``: the next read here misses, with no delay."""
    before = _resolve(store)
    assert _resolve(store) == (0, before[1])
    url = store.db.url
    script = textwrap.dedent(f"""
        from pathlib import Path
        from davserver.db import Database
        from providers import LocalBlobStore, Store
        store = Store(Database({url!r}), LocalBlobStore(Path({str(tmp_path / 'blobs')!r})))
        space = store.ensure_space("rubric", rubric_id=1)
        store.write_bytes(space.id, "/cours/a.txt", b"written elsewhere")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    after = _resolve(store)
    assert after == (1, [hashlib.sha1(b"written elsewhere").hexdigest()])
    assert after[1] != before[1]


def test_a_write_outside_transactions_is_seen_within_the_bound(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that bypasses ``Database.transaction`` (only the schema's migrations do,
    before serving) counts no commit: the cache answers it for at most
    ``READ_CACHE_SECONDS`` (made short here)."""
    monkeypatch.setattr(db_module, "READ_CACHE_SECONDS", 0.3)
    _resolve(store)
    assert _resolve(store)[0] == 0
    database = store.db.url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as raw:
        raw.execute("UPDATE nodes SET sha1 = 'changed' WHERE path = '/cours/a.txt'")
    assert _resolve(store)[1] != ["changed"]  # within the bound: still the cached row
    time.sleep(0.4)
    assert _resolve(store) == (1, ["changed"])


def test_nothing_is_cached_while_a_commit_is_in_progress(store: Store) -> None:
    """From just before a commit to just after it (in another thread or process),
    reads go to the database and are not kept: a chain read then could name a blob
    the commit is about to free."""
    _resolve(store)
    assert _resolve(store)[0] == 0
    other = WriteCounter(Path(store.db.url.removeprefix("sqlite:///") + "-commits"))
    other.begin()  # another process's COMMIT, in progress
    assert _resolve(store)[0] == 1
    assert _resolve(store)[0] == 1  # and not kept
    other.end()
    assert _resolve(store)[0] == 1  # the first read after it fills the cache again
    assert _resolve(store)[0] == 0


def test_the_commit_is_counted_before_the_after_commit_work(store: Store) -> None:
    """A transaction's after-commit hooks (blob files removed) run once its commit is
    counted as ended: a cache entry made before the commit is invalid by then, and a
    read during the hooks is kept (it sees the committed rows)."""
    counter = WriteCounter(Path(store.db.url.removeprefix("sqlite:///") + "-commits"))
    before = counter.stable()
    seen: list[int | None] = []
    with store.db.transaction() as s:
        event.listen(s, "after_commit", lambda _session: seen.append(counter.stable()))
        assert counter.stable() == before  # no commit yet: reads are still cached
    assert before is not None and seen == [before + 1]
    with pytest.raises(RuntimeError), store.db.transaction():
        raise RuntimeError("rolled back")
    assert counter.stable() == before + 1  # a rollback commits nothing: not counted


def test_counts_left_unequal_by_a_dead_process_are_evened(store: Store) -> None:
    """A process killed during its COMMIT leaves a begun count never ended: after a
    second, a process that sees it while that process is gone evens the counts, and
    caching comes back."""
    path = store.db.url.removeprefix("sqlite:///") + "-commits"
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from davserver.db import WriteCounter
        WriteCounter(Path({path!r})).begin()
        os._exit(0)  # killed before the COMMIT's end is counted
    """)
    assert subprocess.run([sys.executable, "-c", script], cwd=REPO, timeout=60).returncode == 0
    counter = WriteCounter(Path(path))
    assert counter.stable() is None
    assert _resolve(store)[0] == 1 and _resolve(store)[0] == 1  # nothing cached
    time.sleep(1.1)  # the counter's patience: a commit takes milliseconds
    assert counter.stable() is None  # sees it gone and evens the counts
    assert counter.stable() is not None
    _resolve(store)
    assert _resolve(store)[0] == 0


def test_long_paths_are_always_read(store: Store) -> None:
    """A path longer than ``READ_CACHE_KEY_CHARS`` is not cached (its rows, up to the
    deepest chain, would make the cache's memory easy to blow up on purpose)."""
    long_path = "/cours/" + "x" * db_module.READ_CACHE_KEY_CHARS
    assert _resolve(store, long_path)[0] == 1
    assert _resolve(store, long_path)[0] == 1
    assert _resolve(store, "/cours/a.txt")[0] == 1
    assert _resolve(store, "/cours/a.txt")[0] == 0


def test_the_counts_only_grow_across_processes(tmp_path: Path) -> None:
    """Four processes count 200 write transactions each, racing: none is lost (a lost
    one could make the count come back to a value a stale entry holds)."""
    path = tmp_path / "x.db-commits"
    script = textwrap.dedent(f"""
        from pathlib import Path
        from davserver.db import WriteCounter
        counter = WriteCounter(Path({str(path)!r}))
        for _ in range(200):
            counter.begin()
            counter.end()
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=REPO) for _ in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    assert WriteCounter(path).stable() == 800
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o644)  # no database file there


def test_the_file_takes_the_database_s_permissions_whatever_the_umask(tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    database.write_bytes(b"")
    database.chmod(0o660)  # shared with a group of administrators
    old = os.umask(0o077)
    try:
        counter = WriteCounter(tmp_path / "x.db-commits")
        assert counter.stable() == 0
    finally:
        os.umask(old)
    assert oct(os.stat(tmp_path / "x.db-commits").st_mode & 0o777) == oct(0o660)


def test_a_counter_that_cannot_be_opened_turns_the_cache_off(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    counter = WriteCounter(tmp_path / "missing-folder" / "x.db-commits")
    counter.begin()  # never raises: the write goes on
    counter.end()
    assert counter.stable() is None and counter.broken
    assert "read cache off" in caplog.text


def test_an_in_memory_database_counts_in_its_process() -> None:
    counter = WriteCounter(None)
    assert counter.stable() == 0
    counter.begin()
    assert counter.stable() is None
    counter.end()
    assert counter.stable() == 1
