"""The usage ledger: bytes charged to each space, changed in the caller's transaction.

A charge is one conditional UPDATE, so that concurrent writers can never push a
space over its limit (DESIGN.md, "Quota"). Limits and the RFC 4331 values are
completed by the quotas issue; a space whose limit is NULL is unlimited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Integer, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from davserver.db import Base
from davserver.errors import InsufficientStorage


class SpaceUsage(Base):
    """One row per space: ``used_bytes`` (logical size of its files), ``limit_bytes``."""

    __tablename__ = "space_usage"
    space_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    limit_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


@dataclass(frozen=True)
class Usage:
    used: int
    limit: int | None

    @property
    def available(self) -> int | None:
        """Bytes still storable (never negative), or None when unlimited."""
        return None if self.limit is None else max(0, self.limit - self.used)


def open_account(session: Session, space_id: int, limit_bytes: int | None = None) -> None:
    """Create the ledger row of a new space (usage 0)."""
    session.add(SpaceUsage(space_id=space_id, used_bytes=0, limit_bytes=limit_bytes))
    session.flush()


def charge(session: Session, space_id: int, delta: int) -> None:
    """Add ``delta`` bytes (negative frees) to a space's usage.

    Raises ``InsufficientStorage`` (507) when a positive delta would exceed the
    limit; nothing is changed then.
    """
    if delta == 0:
        return
    stmt = update(SpaceUsage).where(SpaceUsage.space_id == space_id)
    if delta > 0:
        stmt = stmt.where(SpaceUsage.limit_bytes.is_(None)
                          | (SpaceUsage.used_bytes + delta <= SpaceUsage.limit_bytes))
    result = session.execute(stmt.values(used_bytes=SpaceUsage.used_bytes + delta)
                             .execution_options(synchronize_session=False))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise InsufficientStorage("not enough room left in this space")


def set_used(session: Session, space_id: int, used_bytes: int) -> None:
    """Overwrite a space's usage (``davserver fsck --repair`` after a drift)."""
    session.execute(update(SpaceUsage).where(SpaceUsage.space_id == space_id)
                    .values(used_bytes=used_bytes))


def usage(session: Session, space_id: int) -> Usage:
    """Current usage of a space (0 and unlimited if it has no ledger row)."""
    row = session.execute(
        select(SpaceUsage.used_bytes, SpaceUsage.limit_bytes).where(
            SpaceUsage.space_id == space_id
        )
    ).first()
    return Usage(row[0], row[1]) if row else Usage(0, None)
