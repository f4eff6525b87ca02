"""Fixtures for store-level tests: a REAL database and a REAL blob directory.

Every test gets a fresh SQLite file in its tmp dir; when ``DAVSERVER_DATABASE_URL``
points at PostgreSQL (the PostgreSQL run), a fresh PostgreSQL database created on that
server instead (and dropped afterwards), with the helpers of ``tests/conftest.py``:
each run tests its own database once (``BACKENDS``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import acl  # noqa: F401  (registers the people tables: spaces.owner_id → users.id)
import quotas
from davserver.db import Database
from providers import LocalBlobStore, SpaceInfo, Store
from tests.conftest import BACKENDS, drop_database, fresh_database_url

_COUNTED = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)


@dataclass
class QueryCounter:
    """Data statements (SELECT/INSERT/UPDATE/DELETE) seen on an engine; BEGIN, COMMIT,
    PRAGMA and the like are transaction plumbing, not queries."""

    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries(db: Database) -> Iterator[QueryCounter]:
    """The statements ``db`` runs inside the block, from a cold cache of reads
    (:meth:`Database.forget_reads`): what a request costs the first time."""
    counter = QueryCounter()
    db.forget_reads()

    def _before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if _COUNTED.match(statement):
            counter.statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _before)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", _before)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh database with the whole schema: SQLite, or PostgreSQL when configured."""
    if request.param == "sqlite":
        url, dbname = f"sqlite:///{tmp_path / 'store.sqlite3'}", None
    else:
        url_or_none, dbname = fresh_database_url(tmp_path)
        assert url_or_none is not None
        url = url_or_none
    database = Database(url)
    database.create_schema()
    try:
        yield database
    finally:
        database.dispose()
        drop_database(dbname)


@pytest.fixture
def blob_root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def store(db: Database, blob_root: Path) -> Store:
    return Store(db, LocalBlobStore(blob_root))


@pytest.fixture
def owner_id(db: Database) -> int:
    """A real user (spaces reference users). Costs an argon2 hash: ask only if needed."""
    with db.transaction() as s:
        return acl.create_user(s, "u" + uuid.uuid4().hex[:8], "secret-password-1",
                               "teacher").id


@pytest.fixture
def space(store: Store) -> SpaceInfo:
    """A rubric space (no owner) with no limit."""
    return store.ensure_space("rubric", rubric_id=1)


def blob_files(root: Path) -> set[str]:
    """Every file under the blob directory (finished and unfinished), relative paths."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def write(store: Store, space_id: int, path: str, data: bytes, **kw: Any) -> Any:
    """Stream ``data`` into a blob and commit it at ``path`` (what a PUT does)."""
    writer = store.new_writer()
    for i in range(0, len(data), 65536):
        writer.write(data[i:i + 65536])
    return store.commit_write(space_id, path, writer.finish(), **kw)


def read(store: Store, space_id: int, path: str) -> bytes:
    node = store.resolve(space_id, path)
    assert node is not None, f"{path} not found"
    with store.open(node) as f:
        return f.read()


def used(db: Database, space_id: int) -> int:
    with db.transaction(write=False) as s:
        figures = quotas.usage(s, space_id, quotas.QuotaPolicy())
        assert figures is not None, f"space {space_id} has no ledger row"
        return figures.used


def trashed(db: Database, space_id: int) -> int:
    """The bytes a space's trash holds (not in its used bytes, issue 17)."""
    with db.transaction(write=False) as s:
        figures = quotas.usage(s, space_id, quotas.QuotaPolicy())
        assert figures is not None, f"space {space_id} has no ledger row"
        return figures.trash


def set_limit(db: Database, space_id: int, limit: int | None) -> None:
    with db.transaction() as s:
        quotas.set_limit(s, space_id, limit)


def destroy(store: Store, node: Any) -> None:
    """Delete ``node`` for good: into the trash (what DELETE does), then purge that
    trash item (what emptying the trash does)."""
    from providers import trash

    trash.purge(store, [store.delete(node).id])
