"""The sign-in throttle's rule and its rows, per login and client address.

After :attr:`ThrottlePolicy.after` consecutive failures of one login from one address
(5, OWASP Authentication Cheat Sheet, "Account lockout"), every further attempt from
that address for that login is refused for a period: :attr:`ThrottlePolicy.period`
seconds after the 5th failure, twice as long after each further one (the attempt
allowed once a period is over), at most :attr:`ThrottlePolicy.max_period` seconds.
A success deletes the row; a failure count whose last failure is older than
:attr:`ThrottlePolicy.forget_after` starts again from zero.

The pair, not the login alone: a login locked for everybody lets anyone lock a
teacher out, and a whole school behind one NAT address shares that address, so the
address alone would lock every pupil out for one pupil's typing. Unknown logins get
rows too, so that a lockout tells nothing about which logins exist.

Each function takes the caller's session; times are UTC epoch seconds passed in by
the caller (its clock).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .signin_models import SignInThrottle

MAX_KEY = 255  # characters of a login kept as the key (longer ones are cut)


@dataclass(frozen=True)
class ThrottlePolicy:
    """The numbers of the rule above (``config.yaml`` ``auth.throttle_*``)."""

    after: int = 5
    period: float = 30.0  # seconds, after the ``after``-th failure
    max_period: float = 900.0
    forget_after: float = 86400.0

    def period_after(self, failures: int) -> float:
        """Seconds refused after the ``failures``-th consecutive failure (0 before
        :attr:`after`)."""
        if failures < self.after:
            return 0.0
        return min(self.max_period, self.period * 2.0 ** min(failures - self.after, 30))


@dataclass(frozen=True)
class ThrottleInfo:
    """One row, for ``davserver auth throttle list``."""

    login: str
    address: str
    failures: int
    last_failure: float
    blocked_until: float | None


def _key(login: str) -> str:
    return login[:MAX_KEY]


def throttle_row(session: Session, login: str, address: str) -> ThrottleInfo | None:
    """The row of ``login`` from ``address``, or None: one read by primary key."""
    row = session.get(SignInThrottle, (_key(login), address))
    if row is None:
        return None
    return ThrottleInfo(row.login, row.address, row.failures, row.last_failure,
                        row.blocked_until)


def note_failure(session: Session, login: str, address: str, now: float,
                 policy: ThrottlePolicy) -> tuple[int, float | None]:
    """Count one more failure; returns (consecutive failures, the end of the period
    that this failure starts, or None when none starts). The row is locked while it
    is counted, so failures in several processes at once are all counted."""
    key = _key(login)
    # Insert-or-keep, then lock the row: two processes counting the first failure of
    # a pair at once must not fail on the primary key.
    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(upsert(SignInThrottle).values(
        login=key, address=address, failures=0, last_failure=now).on_conflict_do_nothing())
    row = session.get(SignInThrottle, (key, address), with_for_update=True,
                      populate_existing=True)
    assert row is not None
    if now - row.last_failure > policy.forget_after:
        row.failures = 0
    row.failures += 1
    row.last_failure = now
    period = policy.period_after(row.failures)
    row.blocked_until = now + period if period else None
    session.flush()
    return row.failures, row.blocked_until


def clear_throttle(session: Session, login: str, address: str) -> None:
    """Forget the failures of ``login`` from ``address`` (after a success)."""
    session.execute(delete(SignInThrottle).where(SignInThrottle.login == _key(login),
                                                 SignInThrottle.address == address))


def throttles(session: Session, login: str | None = None) -> list[ThrottleInfo]:
    """Every row (of ``login`` only, when given), most recent failure first."""
    query = select(SignInThrottle)
    if login is not None:
        query = query.where(SignInThrottle.login == _key(login))
    rows = session.scalars(query.order_by(SignInThrottle.last_failure.desc()))
    return [ThrottleInfo(r.login, r.address, r.failures, r.last_failure, r.blocked_until)
            for r in rows]


def reset_throttle(session: Session, login: str, address: str | None = None) -> int:
    """Delete the rows of ``login`` (from ``address`` only, when given); returns how
    many there were."""
    query = delete(SignInThrottle).where(SignInThrottle.login == _key(login))
    if address is not None:
        query = query.where(SignInThrottle.address == address)
    return int(getattr(session.execute(query), "rowcount", 0) or 0)


def forget_stale_throttles(session: Session, before: float) -> int:
    """Delete the rows whose last failure is older than ``before`` and that block
    nothing any more; returns how many."""
    result = session.execute(delete(SignInThrottle).where(
        SignInThrottle.last_failure < before,
        (SignInThrottle.blocked_until.is_(None)) | (SignInThrottle.blocked_until < before)))
    return int(getattr(result, "rowcount", 0) or 0)


__all__ = ["ThrottleInfo", "ThrottlePolicy", "clear_throttle", "forget_stale_throttles",
           "note_failure", "reset_throttle", "throttle_row", "throttles"]
