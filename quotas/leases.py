"""Upload reservations are leases (issue 18, finding 6).

A reservation (:func:`quotas.reserve`) holds bytes of a space for one upload before
its body is read. It used to be a bare counter, so a process killed mid-upload left
its bytes held for good (414 MB after two uploads, until ``fsck --repair``). Each
reservation is now one row of ``upload_leases``: its bytes, its holder (host name,
process id and a start token that tells this process from a later one with the same
id) and an expiry (UTC epoch seconds), renewed while the upload's bytes keep coming
(at most every :data:`RENEW_SECONDS`, so an upload costs one small write every few
seconds, not one per block). ``space_usage.reserved_bytes`` stays the sum of a
space's leases, kept in the same transactions, so the quota check is still one
conditional UPDATE.

A lease is *gone* when it has expired, or, on this host, when its process has ended
(checked at once, no need to wait for the expiry). Gone leases are reclaimed
(:func:`reclaim`): by whichever process next finds a space full, at the start of a
server, by a periodic sweep, and by ``davserver fsck --repair``.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    bindparam,
    case,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from davserver.db import Base, run_rows, table_of

from .ledger import QuotaPolicy, SpaceUsage, Usage, reserve

RENEW_SECONDS = 10.0
"""A moving upload renews its lease at most this often."""
LEASE_MARGIN = 60.0
"""Seconds a lease outlives the longest silence an upload may have (the server's
``body_idle_timeout``): a renewal comes with the first block after a silence, and
that block may come :data:`RENEW_SECONDS` after the last renewal."""


def now() -> float:
    """UTC epoch seconds: the clock of lease expiries (one place to change). The wall
    clock, not ``davserver.clock``: an expiry is a timeout that processes on several
    hosts compare, like a WebDAV lock's lifetime."""
    return time.time()  # wall clock: a timeout shared by processes, as lock lifetimes are


class UploadLease(Base):
    """One upload's reservation: ``nbytes`` held in ``space_id`` by a process
    (``host``, ``pid``, ``token``) until ``expires`` (UTC epoch seconds)."""

    __tablename__ = "upload_leases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(Integer, index=True)
    nbytes: Mapped[int] = mapped_column(BigInteger)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    token: Mapped[str] = mapped_column(String(64))
    expires: Mapped[float] = mapped_column(Float, index=True)


@dataclass(frozen=True)
class Holder:
    """A process that holds leases: its host name, process id and start token."""

    host: str
    pid: int
    token: str

    @property
    def tag(self) -> str:
        """The holder in a file name (temporary files of uploads): ``pid~token~host``."""
        return f"{self.pid}~{self.token}~{_SAFE_HOST.sub('_', self.host)}"

    @classmethod
    def from_tag(cls, tag: str) -> Holder | None:
        """The holder named by :attr:`tag`, or None for anything else."""
        parts = tag.split("~", 2)
        if len(parts) != 3 or not parts[0].isdecimal():
            return None
        return cls(parts[2], int(parts[0]), parts[1])

    def is_gone(self) -> bool:
        """Has this process ended? Known only for this host's processes (False for
        another host's: their leases end by expiry). The host name must tell machines
        (or containers) sharing a database apart."""
        here = this_process()
        if _SAFE_HOST.sub("_", self.host) != _SAFE_HOST.sub("_", here.host):
            return False
        if self.pid == here.pid:
            return self.token != here.token
        return _process_ended(self.pid, self.token)


_SAFE_HOST = re.compile(r"[^A-Za-z0-9.-]")


@functools.cache
def _boot() -> str:
    """This boot of the machine (Linux), part of every start token."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip().replace("-", "")[:12]
    except OSError:
        return ""


def _proc_start(pid: int) -> str | None:
    """Process ``pid``'s start time in clock ticks since boot (Linux
    ``/proc/<pid>/stat``, field 22), or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _process_ended(pid: int, token: str) -> bool:
    """Has the process ``pid`` of this host whose start token was ``token`` ended? A
    later process with the same id has another token. Without ``/proc``, only whether
    the id is still in use."""
    if os.path.isdir("/proc"):
        start = _proc_start(pid)
        return start is None or f"{_boot()}-{start}" != token
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return False


@functools.cache
def this_process() -> Holder:
    """This process as a lease holder (computed once per process)."""
    start = _proc_start(os.getpid())
    token = f"{_boot()}-{start}" if start is not None else uuid.uuid4().hex[:16]
    return Holder(socket.gethostname()[:255] or "localhost", os.getpid(), token)


def _holder_of(row: Any) -> Holder:
    return Holder(row.host, row.pid, row.token)


def lease(session: Session, space_id: int, nbytes: int, policy: QuotaPolicy,
          duration: float) -> Reservation:
    """Reserve ``nbytes`` in ``space_id`` for an upload (:func:`quotas.reserve`: 507
    when they do not fit) under a lease of this process lasting ``duration`` seconds
    unless renewed, in the caller's transaction."""
    figures = reserve(session, space_id, nbytes, policy)
    if nbytes <= 0:
        return Reservation(0, None, figures)
    return Reservation(nbytes, grant(session, space_id, nbytes, duration), figures)


def grant(session: Session, space_id: int, nbytes: int, duration: float) -> int:
    """Record a lease of ``nbytes`` in ``space_id`` for this process, expiring in
    ``duration`` seconds, in the caller's transaction (the one that reserved the bytes
    in the ledger). Returns the lease id."""
    holder = this_process()
    lease = UploadLease(space_id=space_id, nbytes=nbytes, host=holder.host, pid=holder.pid,
                        token=holder.token, expires=now() + duration)
    session.add(lease)
    session.flush()
    return lease.id


def end(session: Session, lease_id: int) -> int:
    """Remove a lease in the caller's transaction; returns the bytes it held, 0 when it
    was reclaimed meanwhile (its bytes then no longer count as reserved)."""
    connection = session.connection() if isinstance(session, Session) else session
    rows = run_rows(connection, _END, {"lease": lease_id})
    return int(rows[0][0] or 0) if rows else 0


# Run on the cursor (davserver.db.run_rows), in every upload's write transaction.
_END = (delete(table_of(UploadLease)).where(table_of(UploadLease).c.id == bindparam("lease"))
        .returning(table_of(UploadLease).c.nbytes))


def renew(session: Session, lease_id: int, duration: float) -> bool:
    """Push a lease's expiry ``duration`` seconds from now; False if it is gone."""
    result = session.execute(update(UploadLease).where(UploadLease.id == lease_id)
                             .values(expires=now() + duration))
    return bool(getattr(result, "rowcount", 0))


def _gone_rows(session: Session, space_id: int | None) -> list[Any]:
    """The leases (rows) that are gone: expired, or held by an ended process of this
    host; of one space or of all."""
    query = select(UploadLease.id, UploadLease.space_id, UploadLease.nbytes,
                   UploadLease.host, UploadLease.pid, UploadLease.token,
                   UploadLease.expires)
    if space_id is not None:
        query = query.where(UploadLease.space_id == space_id)
    moment = now()
    return [row for row in session.execute(query)
            if row.expires < moment or _holder_of(row).is_gone()]


def gone(session: Session) -> dict[int, int]:
    """Bytes held by gone leases, by space id (read only: what :func:`reclaim` would
    give back)."""
    found: dict[int, int] = {}
    for row in _gone_rows(session, None):
        found[row.space_id] = found.get(row.space_id, 0) + int(row.nbytes)
    return found


def reclaim(session: Session, space_id: int | None = None) -> dict[int, int]:
    """Remove the gone leases (expired, or held by an ended process of this host) of
    one space or of all, and give their bytes back in the ledger, in the caller's
    transaction. Returns the bytes given back, by space id."""
    gone = _gone_rows(session, space_id)
    if not gone:
        return {}
    # The bytes of the rows this statement deleted, not of those read: two processes
    # reclaiming at once must not both give back the same lease (as in :func:`end`).
    deleted = session.execute(delete(UploadLease)
                              .where(UploadLease.id.in_([r.id for r in gone]))
                              .returning(UploadLease.space_id, UploadLease.nbytes))
    freed: dict[int, int] = {}
    for space, nbytes in deleted:
        freed[space] = freed.get(space, 0) + int(nbytes)
    for space, nbytes in freed.items():
        left = SpaceUsage.reserved_bytes - nbytes
        session.execute(update(SpaceUsage).where(SpaceUsage.space_id == space)
                        .values(reserved_bytes=case((left > 0, left), else_=0)))
    return freed


def set_reserved(session: Session, space_id: int, nbytes: int) -> None:
    """Overwrite a space's reserved bytes (``davserver fsck --repair``: the sum of its
    live leases)."""
    session.execute(update(SpaceUsage).where(SpaceUsage.space_id == space_id)
                    .values(reserved_bytes=nbytes))


def held(session: Session) -> dict[int, int]:
    """Bytes held by leases, gone or not, by space id (for ``fsck``)."""
    return {int(s): int(n) for s, n in session.execute(
        select(UploadLease.space_id, func.sum(UploadLease.nbytes))
        .group_by(UploadLease.space_id))}


def lease_seconds(body_idle_timeout: float) -> float:
    """How long a lease lasts without renewal, for a server whose bodies may stay
    silent ``body_idle_timeout`` seconds."""
    return body_idle_timeout + LEASE_MARGIN


class Reservation(int):
    """Bytes held for one upload before its body is read: an ``int`` (the bytes, which
    callers add and compare as before) with the lease that holds them (``lease_id``,
    None when nothing is held) and the space's figures just after (``figures``, None
    when unknown). Give it back to the store that made it (``commit_write``,
    ``hold_blob``, ``release``); :meth:`due` says when to renew it."""

    lease_id: int | None
    figures: Usage | None
    _renewed: float

    def __new__(cls, nbytes: int, lease_id: int | None = None,
                figures: Usage | None = None) -> Reservation:
        self = super().__new__(cls, nbytes)
        self.lease_id = lease_id
        self.figures = figures
        self._renewed = time.monotonic()
        return self

    def due(self) -> bool:
        """Is it time to renew the lease (a held one, :data:`RENEW_SECONDS` after the
        last renewal)? Marks it renewed when it answers True: a cheap check per block."""
        if self.lease_id is None:
            return False
        moment = time.monotonic()
        if moment - self._renewed < RENEW_SECONDS:
            return False
        self._renewed = moment
        return True
