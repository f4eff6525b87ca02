"""WebDAV lock storage in the database (RFC 4918 §6, §9.10), for WsgiDAV's ``LockManager``.

Implements the storage interface of ``wsgidav.lock_man.lock_storage.LockStorageDict``
over SQLAlchemy, so that locks survive a restart and every server process sees the
same locks (case BUG-02: a token must be honoured by every worker). Lock roots are
the resources' ref-URLs (see ``providers.dav.EntProvider.ref_url``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from wsgidav.lock_man.lock_manager import (
    generate_lock_token,
    normalize_lock_root,
    validate_lock,
)

from davserver.db import Database

from .models import DavLock

LOCK_TIME_OUT_DEFAULT = 604800  # seconds: one week, as WsgiDAV
LOCK_TIME_OUT_MAX = 4 * 604800  # seconds


_LOCKS = DavLock.__table__.c
# Built once: the locks on a root, its ancestors and below it (PUT, PROPFIND, DELETE…
# run it once per request, so it must not be compiled again each time).
_SNAPSHOT = select(DavLock.__table__).where(
    (_LOCKS.root == bindparam("root"))
    | _LOCKS.root.in_(bindparam("ancestors", expanding=True))
    | (func.substr(_LOCKS.root, 1, bindparam("prefix_len")) == bindparam("prefix")))


def _as_dict(row: Any) -> dict[str, Any]:
    return {
        "token": row.token, "root": row.root, "type": row.type, "scope": row.scope,
        "depth": row.depth, "owner": row.owner.encode("utf-8"), "principal": row.principal,
        "timeout": row.timeout, "expire": row.expire,
    }


def _clamp(timeout: float | None, maximum: float) -> float:
    if timeout is None:
        return min(LOCK_TIME_OUT_DEFAULT, maximum)
    if timeout < 0 or timeout > maximum:
        return maximum
    return timeout


class SqlLockStorage:
    """Lock storage over one :class:`Database`. ``max_timeout`` caps lock lifetimes
    (seconds; ``Timeout: Infinite`` gets the cap)."""

    def __init__(self, db: Database, max_timeout: float = LOCK_TIME_OUT_MAX) -> None:
        self.db = db
        self.max_timeout = max_timeout
        self._local = threading.local()

    @contextmanager
    def snapshot(self, root: str) -> Iterator[None]:
        """Within the block, this thread answers lock look-ups on ``root``, its
        ancestors and everything below it from one query made on entry.

        For read-only requests such as PROPFIND, where WsgiDAV asks for the locks of
        every listed member one by one (``lockdiscovery``)."""
        root = normalize_lock_root(root)
        ancestors = []
        parent = root
        while parent not in ("", "/"):
            parent = parent.rsplit("/", 1)[0] or "/"
            ancestors.append(parent)
        prefix = root.rstrip("/") + "/"
        with self.db.reading() as c:
            rows = c.execute(_SNAPSHOT, {"root": root, "ancestors": ancestors,
                                         "prefix": prefix, "prefix_len": len(prefix)})
            locks = [_as_dict(r) for r in rows]
        self._local.snapshot = (root, prefix, set(ancestors), locks)
        try:
            yield
        finally:
            self._local.snapshot = None

    def snapshot_locks(self) -> list[dict[str, Any]] | None:
        """The locks of this thread's current :meth:`snapshot` (expired ones included),
        or None outside a snapshot."""
        snap = getattr(self._local, "snapshot", None)
        return None if snap is None else list(snap[3])

    def _from_snapshot(self, root: str, include_root: bool,
                       include_children: bool) -> list[dict[str, Any]] | None:
        snap = getattr(self._local, "snapshot", None)
        if snap is None:
            return None
        snap_root, snap_prefix, ancestors, locks = snap
        covered = root == snap_root or root.startswith(snap_prefix) or (
            root in ancestors and not include_children)
        if not covered:
            return None
        now = time.time()
        prefix = root.rstrip("/") + "/"
        return [lock for lock in locks if lock["expire"] >= now and (
            (include_root and lock["root"] == root)
            or (include_children and lock["root"].startswith(prefix)))]

    def __repr__(self) -> str:
        return "SqlLockStorage"

    def open(self) -> None:
        """Nothing to open: the table is created with the schema."""

    def close(self) -> None:
        """Nothing to close: sessions are per call."""

    def cleanup(self) -> None:
        """Purge expired locks."""
        with self.db.transaction() as s:
            s.execute(delete(DavLock).where(DavLock.expire < time.time()))

    def clear(self) -> None:
        with self.db.transaction() as s:
            s.execute(delete(DavLock))

    def get(self, token: str) -> dict[str, Any] | None:
        """The lock of ``token``, or None if unknown or expired."""
        with self.db.transaction(write=False) as s:
            row = s.get(DavLock, token)
            if row is None or row.expire < time.time():
                return None
            return _as_dict(row)

    def create(self, path: str, lock: dict[str, Any]) -> dict[str, Any]:
        """Store a new direct lock on ``path``; fills ``root``, ``timeout``,
        ``expire`` and ``token`` in ``lock`` and returns it."""
        assert lock.get("token") is None and lock.get("expire") is None
        lock["root"] = normalize_lock_root(path)
        lock["timeout"] = _clamp(float(lock["timeout"]) if lock.get("timeout") is not None
                                 else None, self.max_timeout)
        lock["expire"] = time.time() + lock["timeout"]
        validate_lock(lock)
        lock["token"] = generate_lock_token()
        with self.db.transaction() as s:
            s.add(DavLock(
                token=lock["token"], root=lock["root"], type=lock["type"],
                scope=lock["scope"], depth=lock["depth"],
                owner=bytes(lock["owner"]).decode("utf-8"), principal=lock["principal"],
                timeout=lock["timeout"], expire=lock["expire"],
            ))
        return lock

    def refresh(self, token: str, *, timeout: float) -> dict[str, Any]:
        """Give a lock a new lifetime. Raises ``ValueError`` for an unknown token."""
        timeout = _clamp(timeout, self.max_timeout)
        with self.db.transaction() as s:
            s.execute(update(DavLock).where(DavLock.token == token)
                      .values(timeout=timeout, expire=time.time() + timeout))
            row = s.get(DavLock, token)
            if row is None:
                raise ValueError(f"no lock {token}")
            return _as_dict(row)

    def delete(self, token: str) -> bool:
        """Remove a lock; False if it did not exist."""
        with self.db.transaction() as s:
            result = s.execute(delete(DavLock).where(DavLock.token == token))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def get_lock_list(self, path: str, *, include_root: bool, include_children: bool,
                      token_only: bool) -> list[Any]:
        """Unexpired direct locks on ``path`` (``include_root``) and/or below it
        (``include_children``). One query."""
        root = normalize_lock_root(path)
        cached = self._from_snapshot(root, include_root, include_children)
        if cached is not None:
            return [lock["token"] for lock in cached] if token_only else cached
        prefix = root.rstrip("/") + "/"
        conditions = []
        if include_root:
            conditions.append(DavLock.root == root)
        if include_children:
            conditions.append(func.substr(DavLock.root, 1, len(prefix)) == prefix)
        if not conditions:
            return []
        where = conditions[0] if len(conditions) == 1 else (conditions[0] | conditions[1])
        with self.db.transaction(write=False) as s:
            rows = s.scalars(select(DavLock).where(where, DavLock.expire >= time.time()))
            if token_only:
                return [r.token for r in rows]
            return [_as_dict(r) for r in rows]
