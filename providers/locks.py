"""WebDAV lock storage in the database (RFC 4918 §6, §9.10), for WsgiDAV's lock manager.

Implements the storage interface of ``wsgidav.lock_man.lock_storage.LockStorageDict``
over SQLAlchemy, so that locks survive a restart and every server process sees the
same locks (case BUG-02: a token must be honoured by every worker). Lock roots are
the resources' ref-URLs (``/<space id>/<provider path>``, see
``providers.dav.EntProvider.ref_url``); the conflict rules are in :mod:`.lock_rules`.

Beyond WsgiDAV's interface:

* :meth:`SqlLockStorage.acquire` checks conflicts and the holder's limit and stores
  the lock in one transaction that other processes' LOCKs on the same space wait for
  (PostgreSQL: transaction-level advisory locks; SQLite: its one writer, taken at
  ``BEGIN IMMEDIATE``), so two processes never grant conflicting locks (issue 21);
* lifetimes are capped (``dav.lock_max_timeout``; issue 17);
* an empty file created by a LOCK on an unmapped URL (davfs2) is a *lock-null*
  file until it receives content: it is removed when its lock ends (UNLOCK, expiry,
  a break) or its first PUT fails (issue 17). A file made by a real PUT, even of 0
  bytes (Windows, case BUG-01), never is;
* :meth:`SqlLockStorage.break_lock` removes someone's lock and sends
  :data:`lock_broken` in its transaction, for the web layer to tell the holder.

Every read of the clock goes through :func:`now`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from blinker import Namespace
from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session
from wsgidav.dav_error import DAVError
from wsgidav.lock_man.lock_manager import (
    generate_lock_token,
    normalize_lock_root,
    validate_lock,
)

from davserver.db import Database

from .lock_null import LockNullFiles
from .lock_rules import conflict_error, lock_conflicts
from .models import DavLock
from .names import normalize_name

LOCK_TIME_OUT_DEFAULT = 3600  # seconds: dav.lock_max_timeout's default
MAX_LOCKS_PER_USER = 1000  # dav.max_locks_per_user's default
# Keys of the PostgreSQL advisory locks (two-integer form): the first integer names
# what is serialised ("DAVL", "DAVU", "DAVP"), the second which space or holder.
_SPACE_CLASS, _HOLDER_CLASS, _PURGE_CLASS = 0x4441564C, 0x44415655, 0x44415650

_LOCKS = DavLock.__table__.c
# Built once: the locks on a root, its ancestors and below it (PUT, PROPFIND, DELETE…
# run it once per request, so it must not be compiled again each time).
_SNAPSHOT = select(DavLock.__table__).where(
    (_LOCKS.root == bindparam("root"))
    | _LOCKS.root.in_(bindparam("ancestors", expanding=True))
    | (func.substr(_LOCKS.root, 1, bindparam("prefix_len")) == bindparam("prefix")))

#: Sent when someone's lock is broken (not released by its holder), inside the
#: transaction that removes it: sender the storage; keywords ``session``, ``lock``
#: (the lock's dict, with ``space_id``) and ``broken_by`` (the breaker's user id, or
#: None for IT staff at the command line). The web layer notifies the holder.
lock_broken = Namespace().signal("lock-broken")


def now() -> float:
    """The current time, UTC epoch seconds: the one clock every lifetime is read on."""
    return time.time()


def _as_dict(row: Any) -> dict[str, Any]:
    return {
        "token": row.token, "root": row.root, "type": row.type, "scope": row.scope,
        "depth": row.depth, "owner": row.owner.encode("utf-8"), "principal": row.principal,
        "timeout": row.timeout, "expire": row.expire, "created": row.created,
        "space_id": row.space_id, "lock_null_node": row.lock_null_node,
    }


def clamp_timeout(timeout: float | None, maximum: float) -> float:
    """A lock's lifetime in seconds: what the client asked (``None``: no Timeout
    header; negative: ``Infinite``), but never more than ``maximum``. Missing,
    infinite and too long all get ``maximum`` (issue 17)."""
    if timeout is None or timeout < 0 or timeout > maximum:
        return maximum
    return timeout


def space_of_root(root: str) -> int | None:
    """The space id at the front of a lock root (``/12/porte-documents/a`` → 12)."""
    first = unquote(root).split("/", 2)[1] if root.startswith("/") else ""
    return int(first) if first.isdecimal() else None


def _ancestors(root: str) -> list[str]:
    found = []
    parent = root
    while parent not in ("", "/"):
        parent = parent.rsplit("/", 1)[0] or "/"
        found.append(parent)
    return found


def too_many_locks(held: int, limit: int) -> DAVError:
    """The refusal of a LOCK beyond the holder's limit (``dav.max_locks_per_user``).

    507 Insufficient Storage with a message: RFC 4918 has no status for it, and 507
    (§11.5: the server cannot store what the request needs) is the one clients treat
    as a lasting condition of the server, not of the resource. 423 would make
    davfs2, Office and Explorer report the file as locked by someone else (and some
    retry); 403 would read as "you may not lock this file", which is not the reason.
    davfs2 reports 507 as "no space left", Explorer as an error on that file: both
    stop trying. No ``DAV:quota-not-exceeded`` element: no quota is involved."""
    return DAVError(507, f"You hold {held} WebDAV locks, the most one user may hold "
                    f"({limit}): close files or unmap drives to release some.")


class SqlLockStorage(LockNullFiles):
    """Lock storage over one :class:`Database`.

    ``max_timeout``: longest lock lifetime in seconds (``Timeout: Infinite``, none or
    more get it); ``max_per_user``: most active locks one principal may hold."""

    def __init__(self, db: Database, max_timeout: float = LOCK_TIME_OUT_DEFAULT,
                 max_per_user: int = MAX_LOCKS_PER_USER) -> None:
        self.db = db
        self.max_timeout = max_timeout
        self.max_per_user = max_per_user
        self._postgres = db.engine.dialect.name == "postgresql"
        self._local = threading.local()

    def __repr__(self) -> str:
        return "SqlLockStorage"

    @staticmethod
    def _now() -> float:
        return now()

    # --- snapshots of one request ------------------------------------------------

    @contextmanager
    def snapshot(self, root: str) -> Iterator[None]:
        """Within the block, this thread answers lock look-ups on ``root``, its
        ancestors and everything below it from one query made on entry.

        For requests such as PROPFIND, where WsgiDAV asks for the locks of every
        listed member one by one (``lockdiscovery``). An expired lock seen there is
        purged first, with the lock-null file it leaves (a listing never shows it)."""
        root = normalize_lock_root(root)
        ancestors = _ancestors(root)
        prefix = root.rstrip("/") + "/"
        params = {"root": root, "ancestors": ancestors, "prefix": prefix,
                  "prefix_len": len(prefix)}
        with self.db.reading() as c:
            locks = [_as_dict(r) for r in c.execute(_SNAPSHOT, params)]
        if any(lock["expire"] < now() for lock in locks):
            self.purge_expired()
            with self.db.reading() as c:
                locks = [_as_dict(r) for r in c.execute(_SNAPSHOT, params)]
        self._local.snapshot = (root, prefix, set(ancestors), locks)
        try:
            yield
        finally:
            self._local.snapshot = None

    @contextmanager
    def known_free(self, root: str) -> Iterator[None]:
        """:meth:`snapshot` of ``root`` without its query, for a caller that has just
        read that no lock row names the space of ``root``, nor any row no space (a
        PUT's path query, :meth:`providers.store.Store.resolve_for_write`): every
        look-up it covers answers "no lock". A lock taken after that read is as
        unseen as one taken after a snapshot's own query."""
        root = normalize_lock_root(root)
        self._local.snapshot = (root, root.rstrip("/") + "/", set(_ancestors(root)), [])
        try:
            yield
        finally:
            self._local.snapshot = None

    def around(self, root: str) -> list[dict[str, Any]]:
        """Unexpired locks on ``root``, on its ancestors and below it: one query (two
        when expired ones were purged first, with the lock-null files they left)."""
        with self.snapshot(root):
            found = self.snapshot_locks() or []
        moment = now()
        return [lock for lock in found if lock["expire"] >= moment]

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
        moment = now()
        prefix = root.rstrip("/") + "/"
        return [lock for lock in locks if lock["expire"] >= moment and (
            (include_root and lock["root"] == root)
            or (include_children and lock["root"].startswith(prefix)))]

    # --- WsgiDAV's storage interface -----------------------------------------------

    def open(self) -> None:
        """Nothing to open: the table is created with the schema."""

    def close(self) -> None:
        """Nothing to close: sessions are per call."""

    def cleanup(self) -> None:
        """Purge expired locks (see :meth:`purge_expired`)."""
        self.purge_expired()

    def clear(self) -> None:
        with self.db.transaction() as s:
            s.execute(delete(DavLock))

    def get(self, token: str) -> dict[str, Any] | None:
        """The lock of ``token``, or None if unknown or expired."""
        with self.db.transaction(write=False) as s:
            row = s.get(DavLock, token)
            if row is None or row.expire < now():
                return None
            return _as_dict(row)

    def _fill(self, path: str, lock: dict[str, Any]) -> dict[str, Any]:
        """Complete a new lock dict: root, capped timeout, times, token, space."""
        assert lock.get("token") is None and lock.get("expire") is None
        lock["root"] = normalize_lock_root(path)
        lock["timeout"] = clamp_timeout(
            float(lock["timeout"]) if lock.get("timeout") is not None else None,
            self.max_timeout)
        lock["created"] = now()
        lock["expire"] = lock["created"] + lock["timeout"]
        validate_lock(lock)
        lock["token"] = generate_lock_token()
        lock["space_id"] = space_of_root(lock["root"])
        lock.setdefault("lock_null_node", None)
        return lock

    @staticmethod
    def _insert(s: Session, lock: dict[str, Any]) -> None:
        s.add(DavLock(
            token=lock["token"], root=lock["root"], type=lock["type"], scope=lock["scope"],
            depth=lock["depth"], owner=bytes(lock["owner"]).decode("utf-8"),
            principal=lock["principal"], timeout=lock["timeout"], expire=lock["expire"],
            created=lock["created"], space_id=lock["space_id"],
            lock_null_node=lock["lock_null_node"]))

    def create(self, path: str, lock: dict[str, Any]) -> dict[str, Any]:
        """Store a new direct lock on ``path`` without any check (WsgiDAV's interface;
        LOCK requests go through :meth:`acquire`); fills ``root``, ``timeout``,
        ``expire`` and ``token`` in ``lock`` and returns it."""
        self._fill(path, lock)
        with self.db.transaction() as s:
            self._insert(s, lock)
        return lock

    def refresh(self, token: str, *, timeout: float | None) -> dict[str, Any]:
        """Give a lock a new lifetime from now, capped like a new one's (a refresh
        extends a lock by at most ``max_timeout``). Raises ``ValueError`` for an
        unknown token."""
        timeout = clamp_timeout(timeout, self.max_timeout)
        with self.db.transaction() as s:
            s.execute(update(DavLock).where(DavLock.token == token)
                      .values(timeout=timeout, expire=now() + timeout))
            row = s.get(DavLock, token)
            if row is None:
                raise ValueError(f"no lock {token}")
            return _as_dict(row)

    def delete(self, token: str) -> bool:
        """Remove a lock and nothing else (its resource was deleted, moved or
        replaced); False if it did not exist."""
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
            rows = s.scalars(select(DavLock).where(where, DavLock.expire >= now()))
            if token_only:
                return [r.token for r in rows]
            return [_as_dict(r) for r in rows]

    # --- granting ------------------------------------------------------------------

    def acquire(self, path: str, lock: dict[str, Any]) -> dict[str, Any]:
        """Grant a new lock on ``path`` unless it conflicts (:func:`.lock_rules
        .lock_conflicts`: ``DAVError`` 423 naming the conflicting roots) or its
        principal already holds ``max_per_user`` locks (:func:`too_many_locks`).

        The check and the insert are one transaction, serialised with every other
        :meth:`acquire` on the same space and by the same holder, in every process.
        A lock-null file noted by :meth:`note_created` for this root is recorded."""
        self.purge_expired()
        self._fill(path, lock)
        created = self._take_created(lock["root"])
        lock["lock_null_node"] = created
        refusal: DAVError | None = None
        with self.db.transaction() as s:
            self._serialise(s, lock["space_id"], lock["principal"])
            moment = now()
            ancestors = _ancestors(lock["root"])
            prefix = lock["root"].rstrip("/") + "/"
            existing = [_as_dict(r) for r in s.execute(_SNAPSHOT, {
                "root": lock["root"], "ancestors": ancestors, "prefix": prefix,
                "prefix_len": len(prefix)})]
            conflicts = lock_conflicts([x for x in existing if x["expire"] >= moment],
                                       lock["root"], lock["scope"], lock["depth"])
            held = self._held(s, lock["principal"], moment)
            if conflicts:
                refusal = conflict_error(conflicts)
            elif held >= self.max_per_user:
                refusal = too_many_locks(held, self.max_per_user)
            else:
                self._insert(s, lock)
        if refusal is not None:
            if created is not None:  # let the request's clean-up remove the file
                self.note_created(created, lock["root"])
            raise refusal
        return lock

    def _serialise(self, s: Session, space_id: int | None, principal: str) -> None:
        """Make this transaction wait for other processes' :meth:`acquire` on the
        same space, then by the same holder (always in that order: no deadlock).
        SQLite needs nothing: a write transaction holds its only writer lock."""
        if not self._postgres:
            return
        s.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"),
                  {"c": _SPACE_CLASS, "k": space_id or 0})
        s.execute(text("SELECT pg_advisory_xact_lock(:c, hashtext(:p))"),
                  {"c": _HOLDER_CLASS, "p": principal})

    @staticmethod
    def _held(s: Session, principal: str, moment: float) -> int:
        return int(s.scalar(select(func.count()).select_from(DavLock).where(
            DavLock.principal == principal, DavLock.expire >= moment)) or 0)

    def held_by(self, principal: str) -> int:
        """How many unexpired locks ``principal`` holds."""
        with self.db.transaction(write=False) as s:
            return self._held(s, principal, now())

    def check_room(self, principal: str) -> None:
        """Raise :func:`too_many_locks` when ``principal`` may take no more lock: the
        early check of a LOCK on an unmapped URL, before it creates a file."""
        held = self.held_by(principal)
        if held >= self.max_per_user:
            raise too_many_locks(held, self.max_per_user)

    # --- ending locks --------------------------------------------------------------

    def release(self, token: str) -> bool:
        """The holder ends a lock (UNLOCK); a lock-null file it created goes with it.
        False if there was no such lock."""
        with self.db.transaction() as s:
            return self._end(s, token) is not None

    def _end(self, s: Session, token: str) -> Any:
        row = s.scalar(select(DavLock).where(DavLock.token == token))
        if row is None:
            return None
        s.execute(delete(DavLock).where(DavLock.token == token))
        self._end_lock_null(s, [row])
        return row

    def break_lock(self, token: str, *, broken_by: int | None) -> dict[str, Any] | None:
        """Remove someone's lock (``broken_by``: the user id who breaks it, None for IT
        staff at the command line) and send :data:`lock_broken` in the same
        transaction. Returns the lock's dict, or None if it was unknown or expired.
        Who may break a lock is decided by the caller (``acl``'s ``unlock``)."""
        with self.db.transaction() as s:
            row = s.scalar(select(DavLock).where(DavLock.token == token))
            if row is None or row.expire < now():
                return None
            lock = _as_dict(row)
            self._end(s, token)
            lock_broken.send(self, session=s, lock=lock, broken_by=broken_by)
        return lock

    def purge_expired(self) -> int:
        """Remove expired locks with the lock-null files they leave; returns how many.
        One cheap read when there is none; on PostgreSQL one process purges at a time
        (the others skip: the work is being done)."""
        moment = now()
        with self.db.reading() as c:
            if c.execute(select(_LOCKS.token).where(_LOCKS.expire < moment).limit(1)
                         ).first() is None:
                return 0
        with self.db.transaction() as s:
            if self._postgres and not s.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:c, 0)"), {"c": _PURGE_CLASS}):
                return 0
            rows = list(s.scalars(select(DavLock).where(DavLock.expire < moment)))
            if rows:
                s.execute(delete(DavLock).where(DavLock.token.in_([r.token for r in rows])))
                self._end_lock_null(s, rows)
            return len(rows)

    # --- listing -------------------------------------------------------------------

    def active(self, space_id: int | None = None) -> list[dict[str, Any]]:
        """Unexpired locks, oldest first: of one space, or all (expired ones are
        purged first)."""
        self.purge_expired()
        query = select(DavLock).where(DavLock.expire >= now())
        if space_id is not None:
            query = query.where(DavLock.space_id == space_id)
        with self.db.transaction(write=False) as s:
            rows = s.scalars(query.order_by(DavLock.created, DavLock.token))
            return [_as_dict(r) for r in rows]


def relative_path(root: str, kind: str) -> str:
    """The space-relative NFC path (``""`` for the root, ``/a/b``) of a lock root in a
    space of ``kind``: the root is ``/<space id>`` and the provider path, whose first
    segments name the space (``/porte-documents``; ``/rubriques/<slug>``)."""
    skip = 2 if kind == "rubric" else 1
    segments = unquote(root).split("/")[2 + skip:]
    # Lock roots keep the client's spelling (macOS sends NFD); paths are NFC.
    return "".join("/" + normalize_name(s) for s in segments if s)
