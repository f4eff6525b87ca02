"""The security journal: who did what, when (UTC), from which address, with what
outcome (RGPD accountability: "who deleted this, who shared that, who opened my
textbook").

Every layer records through :func:`record` (inside the caller's transaction) or
:func:`record_apart` (its own short transaction, for an event with none to join).
This module is in the trunk: it imports nothing of ours but :mod:`davserver.db`, so
``acl``, ``quotas``, ``providers``, ``web`` and the crown may all use it.

**Never fails what it records.** :func:`record` writes inside a SAVEPOINT of the
caller's transaction: if the insert fails (the table renamed, a value refused), only
the savepoint is rolled back, one ERROR line is logged, and the caller's work commits
as if nothing happened. :func:`record_apart` catches everything too. On SQLite, whose
single writer makes every write transaction a turn to wait for, joining the caller's
transaction costs no turn of its own.

**Where from.** The crown's dispatcher binds each request's client address (the
forwarded one behind a trusted proxy) and its entry point (``dav`` or ``web``) with
:func:`enter_request`; a command binds ``cli`` and the system user who ran it.
:func:`record` takes them from there unless told otherwise.

**Who.** ``actor`` is any object with ``id`` and ``login`` (an ``acl.Principal``);
``login`` alone names someone who is not (yet) known, such as a failed sign-in's
typed login. ``target`` names the person or thing acted upon (a grantee's login, a
quota's space). ``place`` says where (a path such as ``/rubriques/cdi/Docs/x.pdf``,
a rubric, a textbook). ``school_id`` files the event under a school for its admins'
page; events without one are shown to administrators only.

Event kinds are the :class:`Kind` values; new kinds may be added freely (the column
is a string), and :data:`Kind.app_password_created`, :data:`Kind.app_password_revoked`
are reserved for app passwords. ``method`` names the authentication method of
sign-in events (``password`` today; ``saml``, ``cas``, ``app_password`` later).
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, Index, Integer, String, Text, delete, insert, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from davserver import clock
from davserver.db import Base, Database

log = logging.getLogger(__name__)


class Kind(enum.StrEnum):
    """What happened. The journal page and ``davserver audit`` show these names."""

    sign_in = "sign_in"
    sign_in_failed = "sign_in_failed"
    throttled = "throttled"  # a throttle period started (davserver.auth)
    sign_out = "sign_out"
    sessions_ended = "sessions_ended"  # every session of a user ended
    app_password_created = "app_password_created"
    app_password_revoked = "app_password_revoked"
    # an app collected the app password a Login Flow v2 grant made (acl.login_flows)
    app_password_delivered = "app_password_delivered"
    charter_changed = "charter_changed"  # a new version of a charter (acl.charters)
    charter_accepted = "charter_accepted"
    grant = "grant"
    revoke = "revoke"
    invitation = "invitation"
    invitation_answered = "invitation_answered"
    rubric_box_changed = "rubric_box_changed"  # a rubric's encadré (acl.rubric_pages)
    publish = "publish"
    withdraw = "withdraw"
    lock_broken = "lock_broken"
    delete = "delete"
    purge = "purge"
    inspector_access_opened = "inspector_access_opened"
    inspector_access_used = "inspector_access_used"
    visa = "visa"
    import_ = "import"
    user_changed = "user_changed"
    quota_changed = "quota_changed"


class Outcome(enum.StrEnum):
    success = "success"
    failure = "failure"  # tried and failed (a wrong password)
    refused = "refused"  # not even tried (throttled, not allowed)


class SecurityEvent(Base):
    """One event of the journal. Times are UTC. No foreign key: an event outlives the
    rows it names, and writing it never depends on them."""

    __tablename__ = "security_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_login: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(64))
    via: Mapped[str | None] = mapped_column(String(16))  # dav, web, cli
    method: Mapped[str | None] = mapped_column(String(16))  # password, saml, cas...
    school_id: Mapped[int | None] = mapped_column(Integer)
    place: Mapped[str | None] = mapped_column(String(1000))
    target: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_security_events_actor_login_at", "actor_login", "at"),
        Index("ix_security_events_school_id_at", "school_id", "at"),
    )


class Actor(Protocol):
    """Who acted: an ``acl.Principal`` or anything with an id and a login."""

    @property
    def id(self) -> int: ...

    @property
    def login(self) -> str: ...


@dataclass(frozen=True)
class Who:
    """An :class:`Actor` known by id and login only."""

    id: int
    login: str


@dataclass(frozen=True)
class Origin:
    """Where the events of this request or command come from, and who acts when no
    actor is given: the signed-in user (``who_id``, ``who``), or for a command the
    system user (``who`` alone, ``cli:root``)."""

    address: str | None = None
    via: str | None = None  # dav, web, cli
    who: str | None = None
    who_id: int | None = None


_NOWHERE = Origin()
_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar("journal_origin",
                                                                default=_NOWHERE)


def origin() -> Origin:
    """The :class:`Origin` bound to the running request or command."""
    return _origin.get()


def enter_request(address: str | None, via: str) -> None:
    """Bind ``address`` and ``via`` for the events of the request this thread starts
    (the crown's dispatcher, first thing). No block to leave: WsgiDAV does its work
    while the server iterates its answer, after the dispatcher returned; the next
    request on the thread binds its own."""
    _origin.set(Origin(address, via))


@contextlib.contextmanager
def request_context(address: str | None, via: str) -> Iterator[None]:
    """Bind ``address`` and ``via`` for the events recorded inside the block (tests,
    background work on behalf of a request)."""
    token = _origin.set(Origin(address, via))
    try:
        yield
    finally:
        _origin.reset(token)


def bind(**changes: Any) -> None:
    """Change the bound origin for the rest of this context (a command at start-up:
    ``bind(via="cli", who="cli:root")``; the web and DAV sign-in: ``who`` and
    ``who_id`` of the signed-in user)."""
    _origin.set(replace(_origin.get(), **changes))


def now() -> datetime:
    """The journal's clock: an aware UTC datetime (:func:`davserver.clock.now`)."""
    return clock.now()


def _cut(value: str | None, size: int) -> str | None:
    return None if value is None else str(value)[:size]


def _values(kind: str, outcome: str, actor: Actor | None, login: str | None,
            place: str | None, target: str | None, school_id: int | None,
            details: dict[str, Any] | None, address: str | None, method: str | None,
            via: str | None) -> dict[str, Any]:
    bound = _origin.get()
    return {
        "at": now(), "kind": str(kind), "outcome": str(outcome),
        "actor_id": actor.id if actor is not None else (None if login else bound.who_id),
        "actor_login": _cut(login or (actor.login if actor is not None else None)
                            or bound.who, 255),
        "address": _cut(address or bound.address, 64),
        "via": _cut(via or bound.via, 16),
        "method": _cut(method, 16),
        "school_id": school_id,
        "place": _cut(place, 1000),
        "target": _cut(target, 255),
        "details": json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
        if details else None,
    }


def record(session: Session, kind: str, *, outcome: str = Outcome.success,
           actor: Actor | None = None, login: str | None = None, place: str | None = None,
           target: str | None = None, school_id: int | None = None,
           details: dict[str, Any] | None = None, address: str | None = None,
           method: str | None = None, via: str | None = None) -> None:
    """Add one event to ``session``'s transaction (committed with it, rolled back with
    it). Never raises for the journal's own failures: those are logged and the
    caller's transaction goes on. ``address`` and ``via`` default to the bound
    :func:`origin`; text is cut to its column's size."""
    values = _values(kind, outcome, actor, login, place, target, school_id, details,
                     address, method, via)
    session.flush()  # the caller's own pending writes fail here, as they would at commit
    try:
        with session.begin_nested():
            session.execute(insert(SecurityEvent).values(**values))
    except Exception as exc:  # the journal never fails the request it records
        log.error("security journal: %s by %s not recorded: %s", kind,
                  values["actor_login"], str(exc).splitlines()[0])


def record_apart(db: Database, kind: str, **fields: Any) -> None:
    """:func:`record` in a transaction of its own, for an event that has none to join.
    Never raises."""
    try:
        with db.transaction() as session:
            record(session, kind, **fields)
    except Exception as exc:
        log.error("security journal: %s not recorded: %s", kind, str(exc).splitlines()[0])


@dataclass(frozen=True)
class EventFilter:
    """What to read: events from ``since`` (included) to ``until`` (excluded), both
    aware datetimes; by or about ``person`` (a login: actor or target); whose place
    contains ``place`` (case-insensitive); of one of ``kinds``; of ``school_id``, with
    events filed under no school when ``with_unfiled``."""

    since: datetime | None = None
    until: datetime | None = None
    person: str | None = None
    place: str | None = None
    kinds: tuple[str, ...] = ()
    school_id: int | None = None
    with_unfiled: bool = True


@dataclass(frozen=True)
class EventRow:
    """One event as read back (``at`` aware, UTC; ``details`` decoded)."""

    id: int
    at: datetime
    kind: str
    outcome: str
    actor_login: str | None
    address: str | None
    via: str | None
    method: str | None
    school_id: int | None
    place: str | None
    target: str | None
    details: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``at`` in ISO 8601 with ``Z``)."""
        out = dict(self.__dict__)
        out["at"] = self.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return out


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def events(session: Session, where: EventFilter, *, limit: int = 200,
           before_id: int | None = None) -> list[EventRow]:
    """The events matching ``where``, newest first, at most ``limit``; ``before_id``
    pages on from an earlier page's last id."""
    query = select(SecurityEvent)
    if where.since is not None:
        query = query.where(SecurityEvent.at >= where.since)
    if where.until is not None:
        query = query.where(SecurityEvent.at < where.until)
    if where.person:
        query = query.where(or_(SecurityEvent.actor_login == where.person,
                                SecurityEvent.target == where.person))
    if where.place:
        pattern = f"%{_escape_like(where.place.lower())}%"
        query = query.where(SecurityEvent.place.is_not(None)).where(
            SecurityEvent.place.ilike(pattern, escape="\\"))
    if where.kinds:
        query = query.where(SecurityEvent.kind.in_(where.kinds))
    if where.school_id is not None:
        query = query.where(or_(SecurityEvent.school_id == where.school_id,
                                SecurityEvent.school_id.is_(None)) if where.with_unfiled
                            else SecurityEvent.school_id == where.school_id)
    elif not where.with_unfiled:
        query = query.where(SecurityEvent.school_id.is_not(None))
    if before_id is not None:
        query = query.where(SecurityEvent.id < before_id)
    rows = session.scalars(query.order_by(SecurityEvent.id.desc()).limit(limit))
    return [EventRow(e.id, _utc(e.at), e.kind, e.outcome, e.actor_login, e.address, e.via,
                     e.method, e.school_id, e.place, e.target,
                     json.loads(e.details) if e.details else {}) for e in rows]


def purge(session: Session, before: datetime) -> int:
    """Delete the events older than ``before`` (aware); returns how many."""
    result = session.execute(delete(SecurityEvent).where(SecurityEvent.at < before))
    return int(getattr(result, "rowcount", 0) or 0)
