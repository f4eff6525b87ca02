"""The usage ledger: bytes used and reserved in each space, and each space's limit.

DESIGN.md, "Quota", and STYLE.md habit 10:

* usage is the logical size of every live file of a space, changed in the caller's
  transaction together with the nodes. Deleted items stop counting at once (a
  delete frees space, as every client and ``df`` expect, RFC 4331): their bytes
  move to the space's *trash bytes*, which are not in ``quota-used-bytes`` but
  stay within the limit. The trash may hold at most a share of the limit
  (:attr:`QuotaPolicy.trash_share`), and live bytes, reservations and trash bytes
  together at most the limit: :attr:`Usage.trash_excess` says how many trash bytes
  the caller (``providers.trash``) must purge, oldest first, in the same
  transaction (Nextcloud's rule, ``apps/files_trashbin``);
* an upload of known size first *reserves* its bytes with one conditional UPDATE,
  so parallel uploads can never overshoot; the write then *settles*: the
  reservation is released and the real size charged, re-checked against the limit,
  in the transaction that commits the file;
* a charge that would cross the limit changes nothing and raises
  :class:`InsufficientStorage` (507). A space without a ledger row has unknown free
  space and refuses every growth: quota enforcement fails closed.

A space's limit is its explicit override (``davserver quota set``) or else the
default of its kind and its owner's profile (:class:`QuotaPolicy`), computed inside
the same SQL statement.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from blinker import Namespace
from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    String,
    bindparam,
    case,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from davserver.db import Base, run_rows, table_of
from davserver.errors import InsufficientStorage

MIB = 2**20
GIB = 2**30


class SpaceUsage(Base):
    """One row per space. ``limit_bytes`` NULL means "the policy's default"."""

    __tablename__ = "space_usage"
    space_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16), default="documents")
    profile: Mapped[str | None] = mapped_column(String(16), nullable=True)
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    trash_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Earlier contents of files (issue 23): out of the used bytes, like the trash.
    version_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    limit_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


@dataclass(frozen=True)
class QuotaPolicy:
    """Default limits in bytes: per space kind, and for documents spaces per owner
    profile. School practice: "500 Mo" is 500 MiB = 524,288,000 bytes.
    ``trash_share`` (0 to 1, config ``trash.max_share``) is the most of a space's
    limit its trash may hold, ``versions_share`` (config ``versions.max_share``) the
    most its files' earlier versions may hold."""

    documents: int = 500 * MIB
    binder: int = 500 * MIB
    rubric: int = 2 * GIB
    archive: int = 20 * GIB
    profiles: dict[str, int] = field(default_factory=dict)
    trash_share: float = 0.5
    versions_share: float = 0.5

    def default_limit(self, kind: str, profile: str | None) -> int:
        if kind == "documents" and profile in self.profiles:
            return self.profiles[profile]
        return {"documents": self.documents, "binder": self.binder,
                "rubric": self.rubric, "archive": self.archive}.get(kind, self.documents)

    def limit_sql(self) -> Any:
        """SQL expression of a ledger row's effective limit."""
        whens: list[tuple[Any, Any]] = [
            ((SpaceUsage.kind == "documents") & (SpaceUsage.profile == profile),
             literal(limit, BigInteger))
            for profile, limit in sorted(self.profiles.items())
        ]
        whens += [(SpaceUsage.kind == "binder", literal(self.binder, BigInteger)),
                  (SpaceUsage.kind == "rubric", literal(self.rubric, BigInteger)),
                  (SpaceUsage.kind == "archive", literal(self.archive, BigInteger))]
        default = case(*whens, else_=literal(self.documents, BigInteger))
        return func.coalesce(SpaceUsage.limit_bytes, default)


@dataclass(frozen=True)
class Usage:
    """A space's figures in bytes: ``used`` by its live files (RFC 4331
    ``quota-used-bytes``), ``reserved`` by uploads in flight, ``limit`` in force
    (``explicit`` if set by an administrator), ``trash`` held by its deleted items
    and ``trash_limit``, the most its trash may hold; ``versions`` held by its files'
    earlier versions and ``versions_limit``, the most they may hold."""

    used: int
    reserved: int
    limit: int
    explicit: bool = False
    trash: int = 0
    trash_limit: int = 0
    versions: int = 0
    versions_limit: int = 0

    @property
    def available(self) -> int:
        """Bytes still storable, never negative (RFC 4331 ``quota-available-bytes``):
        the trash is not subtracted, it gives its room back when a write needs it."""
        return max(0, self.limit - self.used - self.reserved)

    @property
    def trash_excess(self) -> int:
        """Trash bytes to purge now: past the trash's share, or past the room the
        limit leaves beside live files and reservations (0: nothing to purge)."""
        return max(0, self.trash - self.trash_limit,
                   self.used + self.reserved + self.trash + self.versions - self.limit)

    @property
    def versions_excess(self) -> int:
        """Version bytes to purge now (oldest first): past the versions' share, or
        past the room the limit leaves beside live files, reservations and the trash
        (at most every version: the room they cannot give, the trash gives). Versions
        go before deleted items: a version's file still exists, a deleted item's
        only copy is in the trash."""
        return min(self.versions, max(
            0, self.versions - self.versions_limit,
            self.used + self.reserved + self.trash + self.versions - self.limit))


def open_account(session: Session, space_id: int, kind: str, profile: str | None) -> None:
    """Create the ledger row of a new space (usage 0, the policy's default limit)."""
    session.add(SpaceUsage(space_id=space_id, kind=kind, profile=profile, used_bytes=0,
                           reserved_bytes=0, limit_bytes=None))
    session.flush()


class _Statements:
    """The ledger's hot statements for one policy, built once (SQLAlchemy then reuses
    their compiled form): an upload runs two of them, so building the limit's CASE
    expression each time cost more than executing them."""

    def __init__(self, policy: QuotaPolicy) -> None:
        table = table_of(SpaceUsage)
        c = table.c
        limit = policy.limit_sql()
        figures = (c.used_bytes, c.reserved_bytes, limit, c.limit_bytes, c.trash_bytes,
                   c.version_bytes)
        self.figures = figures
        self.usage = select(*figures).where(c.space_id == bindparam("space"))
        change = (update(table).where(c.space_id == bindparam("space"))
                  .values(used_bytes=c.used_bytes + bindparam("d_used", type_=BigInteger),
                          reserved_bytes=c.reserved_bytes
                          + bindparam("d_reserved", type_=BigInteger),
                          trash_bytes=c.trash_bytes + bindparam("d_trash", type_=BigInteger),
                          version_bytes=c.version_bytes
                          + bindparam("d_versions", type_=BigInteger)))
        # RETURNING (SQLite >= 3.35, PostgreSQL) gives the figures after the change
        # in the same statement; no row means no ledger row, or no room.
        self.change = change.returning(*figures)
        self.grow = change.where(
            c.used_bytes + c.reserved_bytes + bindparam("growth", type_=BigInteger) <= limit
        ).returning(*figures)


_statements: dict[int, tuple[QuotaPolicy, _Statements]] = {}
_statements_lock = threading.Lock()


def _sql(policy: QuotaPolicy) -> _Statements:
    """The statements of ``policy`` (kept while the process lives: one or two policies)."""
    found = _statements.get(id(policy))
    if found is None or found[0] is not policy:
        with _statements_lock:
            found = (policy, _Statements(policy))
            _statements[id(policy)] = found
    return found[1]


def _conn(session: Session | Connection) -> Connection:
    """The connection under a session: plain statements skip the ORM's execute path."""
    return session.connection() if isinstance(session, Session) else session


def _figures(row: Any, policy: QuotaPolicy) -> Usage:
    """Usage from a row of (used, reserved, limit, explicit limit, trash, versions)."""
    limit = int(row[2])
    return Usage(int(row[0]), int(row[1]), limit, row[3] is not None, int(row[4] or 0),
                 int(limit * policy.trash_share), int(row[5] or 0),
                 int(limit * policy.versions_share))


def _grow(session: Session, space_id: int, policy: QuotaPolicy, d_used: int,
          d_reserved: int, d_trash: int = 0, d_versions: int = 0) -> Usage:
    """One conditional UPDATE: add ``d_used``, ``d_reserved`` and ``d_trash`` bytes,
    only if used + reserved stays within the limit (always when they do not grow:
    trash bytes never count there); else 507. Returns the figures after it. A space
    without a ledger row refuses every change (unknown figures fail closed)."""
    growth = d_used + d_reserved
    sql = _sql(policy)
    params = {"space": space_id, "d_used": d_used, "d_reserved": d_reserved,
              "d_trash": d_trash, "d_versions": d_versions}
    # On the cursor (davserver.db.run_rows): every write runs this in its transaction,
    # SQLite's writers take turns, and SQLAlchemy's execution path doubled its time.
    connection = _conn(session)
    if growth > 0:
        row = _first(run_rows(connection, sql.grow, {**params, "growth": growth}))
        if row is None and _reclaimed(session, space_id):
            row = _first(run_rows(_conn(session), sql.grow, {**params, "growth": growth}))
        if row is None:
            raise InsufficientStorage("Not enough room left in this space (quota).")
        return _figures(row, policy)
    row = _first(run_rows(connection, sql.change, params))
    if row is None:  # no ledger row: as before, refusing only growth
        raise InsufficientStorage("Not enough room left in this space (quota).")
    return _figures(row, policy)


def _first(rows: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    return rows[0] if rows else None


def _reclaimed(session: Session, space_id: int) -> bool:
    """Give back the space's reservations whose uploads are gone (a process killed
    mid-upload): the process that finds a space full reclaims them (quotas.leases)."""
    from .leases import reclaim  # leases builds on this module

    return bool(reclaim(session, space_id))


def _held_by(session: Session, reserved: int) -> int:
    """The bytes ``reserved`` still holds: a :class:`quotas.Reservation`'s lease is
    ended here (0 if it was reclaimed meanwhile); a bare count is taken as is."""
    lease_id = getattr(reserved, "lease_id", None)
    if lease_id is None:
        return int(reserved)
    from .leases import end

    return end(session, lease_id)


# Sent after a space's used bytes grew, in the transaction that grew them: sender the
# space id; keywords session, grown (bytes), policy, figures (the space's Usage after
# the change, read by the same statement). Lets the web layer warn a user
# whose space crosses a share of its quota (issue 8) without quotas knowing of it.
usage_grew = Namespace().signal("usage-grew")


def _grew(session: Session, space_id: int, grown: int, policy: QuotaPolicy,
          figures: Usage | None) -> None:
    if grown > 0:
        usage_grew.send(space_id, session=session, grown=grown, policy=policy,
                        figures=figures)


def charge(session: Session, space_id: int, delta: int, policy: QuotaPolicy) -> Usage | None:
    """Add ``delta`` bytes (negative frees) to a space's usage. Raises
    ``InsufficientStorage`` when growth would cross the limit; nothing changes then.
    Returns the figures after it (None when ``delta`` is 0: nothing was read)."""
    if not delta:
        return None
    figures = _grow(session, space_id, policy, delta, 0)
    _grew(session, space_id, delta, policy, figures)
    return figures


def reserve(session: Session, space_id: int, nbytes: int,
            policy: QuotaPolicy) -> Usage | None:
    """Hold ``nbytes`` for an upload before its body is read; returns the space's
    figures after it (None: unknown). Raises ``InsufficientStorage`` if they do not
    fit beside usage and other reservations."""
    if nbytes > 0:
        return _grow(session, space_id, policy, 0, nbytes)
    return usage(session, space_id, policy)


def settle(session: Session, space_id: int, delta: int, reserved: int,
           policy: QuotaPolicy) -> Usage | None:
    """Release an upload's reservation (its lease ends) and charge its real ``delta``
    in one conditional UPDATE (the re-check before commit). A reservation reclaimed
    meanwhile (its lease expired) releases nothing: the growth is checked whole.
    Returns the figures after it (None when nothing changed)."""
    reserved = _held_by(session, reserved) if reserved else 0
    if not delta and not reserved:
        return None
    figures = _grow(session, space_id, policy, delta, -reserved)
    _grew(session, space_id, delta, policy, figures)
    return figures


def to_trash(session: Session, space_id: int, nbytes: int, policy: QuotaPolicy) -> Usage:
    """Deleted items of ``nbytes`` leave the used bytes for the trash bytes (never
    refused: nothing grows). Returns the figures after it: purge
    :attr:`Usage.trash_excess` bytes of the oldest trash items in the same
    transaction."""
    return _grow(session, space_id, policy, -nbytes, 0, nbytes)


def from_trash(session: Session, space_id: int, nbytes: int, policy: QuotaPolicy) -> Usage:
    """A restored item of ``nbytes`` leaves the trash bytes for the used bytes, if it
    fits beside live files and reservations; else ``InsufficientStorage`` (507) and
    nothing changes."""
    figures = _grow(session, space_id, policy, nbytes, 0, -nbytes)
    _grew(session, space_id, nbytes, policy, figures)
    return figures


def drop_trash(session: Session, space_id: int, nbytes: int, policy: QuotaPolicy) -> Usage:
    """Purged trash items of ``nbytes`` free their trash bytes."""
    return _grow(session, space_id, policy, 0, 0, -nbytes)


def to_versions(session: Session, space_id: int, nbytes: int, policy: QuotaPolicy, *,
                d_used: int = 0) -> Usage:
    """Earlier contents of ``nbytes`` (negative: versions purged or restored) enter the
    space's version bytes, with ``d_used`` bytes changing the used bytes in the same
    UPDATE (a version restore: the restored content counts, the replaced one leaves).
    Refused with ``InsufficientStorage`` (507) only when the used bytes grow past the
    limit; nothing changes then. Returns the figures after it: purge
    :attr:`Usage.versions_excess` bytes of the oldest versions in the same
    transaction."""
    figures = _grow(session, space_id, policy, d_used, 0, 0, nbytes)
    _grew(session, space_id, d_used, policy, figures)
    return figures


def lock(session: Session, space_ids: Iterable[int]) -> None:
    """Lock the ledger rows of these spaces until the transaction ends, in id order
    (PostgreSQL ``SELECT … FOR UPDATE``; SQLite has one writer anyway). Whoever
    changes trash items takes them first, as every quota change does by its UPDATE,
    so a purge that makes room and a restore or purge by hand never deadlock."""
    ids = sorted(set(space_ids))
    if ids:
        c = table_of(SpaceUsage).c
        _conn(session).execute(select(c.space_id).where(c.space_id.in_(ids))
                               .order_by(c.space_id).with_for_update())


def release(session: Session, space_id: int, nbytes: int) -> None:
    """Give back a reservation whose upload failed (never below zero); a
    :class:`quotas.Reservation`'s lease ends."""
    nbytes = _held_by(session, nbytes) if nbytes else 0
    if nbytes > 0:
        left = SpaceUsage.reserved_bytes - nbytes
        session.execute(update(SpaceUsage).where(SpaceUsage.space_id == space_id)
                        .values(reserved_bytes=case((left > 0, left), else_=0)))


def set_limit(session: Session, space_id: int, limit_bytes: int | None) -> None:
    """Set an explicit limit (None: back to the policy's default). A limit below the
    current usage blocks growth and deletes nothing."""
    session.execute(update(SpaceUsage).where(SpaceUsage.space_id == space_id)
                    .values(limit_bytes=limit_bytes))


def set_used(session: Session, space_id: int, used_bytes: int, *,
             clear_reserved: bool = False, keep_reserved: int = 0,
             trash_bytes: int | None = None, version_bytes: int | None = None) -> None:
    """Overwrite a space's usage (``davserver fsck --repair`` after a drift) and, when
    given, its trash bytes and version bytes; with ``clear_reserved``, also forget
    reservations left by uploads that died, all but ``keep_reserved`` bytes (what
    uploads still in progress hold)."""
    values: dict[str, Any] = {"used_bytes": used_bytes}
    if trash_bytes is not None:
        values["trash_bytes"] = trash_bytes
    if version_bytes is not None:
        values["version_bytes"] = version_bytes
    if clear_reserved:
        values["reserved_bytes"] = max(0, keep_reserved)
    session.execute(update(SpaceUsage).where(SpaceUsage.space_id == space_id).values(**values))


def figures_columns(policy: QuotaPolicy) -> tuple[Any, ...]:
    """The columns of ``space_usage`` that :func:`figures_of` reads (used, reserved,
    limit in force, explicit limit, trash, versions), built once per policy: for a
    query of another module that reads a space's figures along with its own rows
    (``space_usage`` joined by ``space_id``; resolving a PUT's path)."""
    return _sql(policy).figures


def figures_of(row: Any, policy: QuotaPolicy) -> Usage:
    """Usage from the values of :func:`figures_columns`, in their order."""
    return _figures(row, policy)


def usage(session: Session | Connection, space_id: int, policy: QuotaPolicy) -> Usage | None:
    """A space's figures, or None when it has no ledger row (unknown: fail closed).
    ``session`` may be a plain connection (a read on a hot path)."""
    row = _conn(session).execute(_sql(policy).usage, {"space": space_id}).first()
    return _figures(row, policy) if row is not None else None


def all_usage(session: Session, policy: QuotaPolicy) -> dict[int, Usage]:
    """Figures of every space, by space id (one query; for reports)."""
    rows = session.execute(select(SpaceUsage.space_id, SpaceUsage.used_bytes,
                                  SpaceUsage.reserved_bytes, policy.limit_sql(),
                                  SpaceUsage.limit_bytes, SpaceUsage.trash_bytes,
                                  SpaceUsage.version_bytes))
    return {r[0]: _figures(r[1:], policy) for r in rows}
