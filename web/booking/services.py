"""Booking, cancelling and validating: the rules of :mod:`.rules` applied in one
database transaction.

The quantity guarantee (issue 6): at any moment the confirmed and pending bookings of a
resource never ask for more than its quantity. It holds because every change that adds
held units first locks the resource: ``SELECT … FOR UPDATE`` of its row on PostgreSQL;
on SQLite the caller's write transaction (``Database.transaction(write=True)``, BEGIN
IMMEDIATE) already holds the database's write lock. The overlap check then reads every
booking committed before, and no other booking of the resource can commit until this
transaction ends. Every function here takes the caller's session and must run inside a
write transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver import clock
from davserver.errors import BadRequest, Conflict, NotFound

from . import access, rules
from .models import HOLDING, Booking, BookingStatus, Resource, Unavailability
from .rules import Request

MAX_PURPOSE = 500


@dataclass(frozen=True)
class Booker:
    """Who books: the user's context (school, profile) and for whom (a user id, or None
    for themself)."""

    ctx: acl.UserContext
    on_behalf_of: int | None = None

    @property
    def holder(self) -> int:
        """The user the booking is for (their per-user limit applies)."""
        return self.on_behalf_of or self.ctx.user_id


def lock_resource(session: Session, resource_id: int) -> Resource:
    """The resource row, locked until the transaction ends (``FOR UPDATE``; a no-op on
    SQLite, whose write transaction holds the database lock). ``NotFound`` if absent."""
    resource = session.scalar(select(Resource).where(Resource.id == resource_id)
                              .with_for_update().execution_options(populate_existing=True))
    if resource is None:
        raise NotFound(_("Aucune ressource n°%(id)d.", id=resource_id))
    return resource


def held(session: Session, resource_id: int, start: datetime, end: datetime,
         exclude: Iterable[int] = ()) -> list[tuple[datetime, datetime, int]]:
    """(start, end, quantity) of the confirmed and pending bookings of the resource that
    meet [``start``, ``end``), except the ``exclude`` ids."""
    query = select(Booking.start, Booking.end, Booking.quantity).where(
        Booking.resource_id == resource_id, Booking.status.in_(HOLDING),
        Booking.start < end, Booking.end > start)
    skip = list(exclude)
    if skip:
        query = query.where(Booking.id.not_in(skip))
    return [(s, e, q) for s, e, q in session.execute(query)]


def held_by_user(session: Session, resource_id: int, user_id: int, now: datetime) -> int:
    """How many future bookings of the resource hold units for the user (a series
    counts once)."""
    rows = session.execute(select(Booking.id, Booking.series_id).where(
        Booking.resource_id == resource_id, Booking.status.in_(HOLDING), Booking.end > now,
        (Booking.on_behalf_of == user_id)
        | ((Booking.on_behalf_of.is_(None)) & (Booking.booked_by == user_id))))
    return len({series or f"#{bid}" for bid, series in rows})


def unavailability(session: Session, resource_id: int) -> list[Unavailability]:
    """The resource's unavailability periods, by start."""
    return list(session.scalars(select(Unavailability).where(
        Unavailability.resource_id == resource_id).order_by(Unavailability.start)))


def check_request(resource: Resource, req: Request) -> None:
    """Bad input, before any rule: ``BadRequest`` for naive times, an end not after the
    start, or a quantity outside 1 … the resource's quantity."""
    if req.start.tzinfo is None or req.end.tzinfo is None:
        raise BadRequest(_("Donnez l'heure avec son fuseau horaire."))
    if req.end <= req.start:
        raise BadRequest(_("La fin de la réservation doit être après son début."))
    if not 1 <= req.quantity <= resource.quantity:
        raise BadRequest(_("Quantité demandée invalide : entre 1 et %(n)d pour "
                           "« %(name)s ».", n=resource.quantity, name=resource.name))


@dataclass(frozen=True)
class Checked:
    """A resource locked and its context, ready to check requests against."""

    resource: Resource
    tz: ZoneInfo
    manager: bool
    periods: Sequence[Unavailability]


def prepare(session: Session, booker: Booker, resource_id: int) -> Checked:
    """Check the booker may book the resource (``NotFound``/``Forbidden``), then lock
    it (see the module's docstring)."""
    visible = access.resource_for(session, booker.ctx, resource_id)
    resource = lock_resource(session, visible.id)
    return Checked(resource, access.school_zone(session, resource.domain.school_id),
                   access.manages(session, resource.domain_id, booker.ctx.user_id),
                   unavailability(session, resource.id))


def check_rules(session: Session, c: Checked, booker: Booker, req: Request,
                now: datetime, *, count_user: bool = True) -> None:
    """Every rule but the quantity; a manager skips those that bind requesters only."""
    check_request(c.resource, req)
    rules.check_state(c.resource, req, c.periods, c.tz)
    if c.manager:
        return
    rules.check_opening(c.resource.domain, req, c.tz)
    count = held_by_user(session, c.resource.id, booker.holder, now) if count_user else 0
    rules.check_limits(c.resource, req, now, count)


def new_booking(c: Checked, booker: Booker, req: Request, purpose: str,
                series_id: str | None = None) -> Booking:
    """The row of a booking that passed every check (not added to the session)."""
    status = BookingStatus.pending if c.resource.needs_validation and not c.manager \
        else BookingStatus.confirmed
    return Booking(resource_id=c.resource.id, quantity=req.quantity,
                   booked_by=booker.ctx.user_id, on_behalf_of=booker.on_behalf_of,
                   start=req.start.astimezone(UTC), end=req.end.astimezone(UTC),
                   purpose=purpose.strip()[:MAX_PURPOSE], status=status,
                   validated_by=booker.ctx.user_id if c.manager else None,
                   series_id=series_id)


def book(session: Session, booker: Booker, resource_id: int, req: Request,
         purpose: str = "", now: datetime | None = None) -> Booking:
    """Book ``req`` on the resource: confirmed, or pending when the resource needs a
    manager's validation (a manager's own booking is confirmed at once).

    Raises ``NotFound``/``Forbidden`` (access), ``BadRequest`` (bad input),
    ``rules.BookingRefused`` (422, a rule, its reason in French) or
    ``rules.NoUnitLeft`` (409, no unit left for the period)."""
    now = now or clock.now()
    c = prepare(session, booker, resource_id)
    check_rules(session, c, booker, req, now)
    rules.check_quantity(c.resource, req, held(session, c.resource.id, req.start, req.end),
                         c.tz)
    booking = new_booking(c, booker, req, purpose)
    session.add(booking)
    session.flush()
    return booking


def _booking(session: Session, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(_("Aucune réservation n°%(id)d.", id=booking_id))
    return booking


def may_cancel(session: Session, ctx: acl.UserContext, booking: Booking) -> bool:
    """The booker, the person booked for, and the domain's managers may cancel."""
    return ctx.user_id in (booking.booked_by, booking.on_behalf_of) \
        or access.manages(session, booking.resource.domain_id, ctx.user_id)


def cancel(session: Session, ctx: acl.UserContext, booking_id: int) -> Booking:
    """Cancel one booking (one occurrence of a series). ``NotFound`` for a booking the
    user may not cancel and cannot see either; ``Conflict`` for one already refused or
    cancelled."""
    booking = _booking(session, booking_id)
    if not may_cancel(session, ctx, booking):
        raise NotFound(_("Aucune réservation n°%(id)d.", id=booking_id))
    if booking.status in (BookingStatus.cancelled, BookingStatus.refused):
        raise Conflict(_("Cette réservation est déjà annulée ou refusée."))
    booking.status = BookingStatus.cancelled
    return booking


def cancel_series(session: Session, ctx: acl.UserContext, series_id: str,
                  now: datetime | None = None) -> list[Booking]:
    """Cancel the occurrences of a series that have not ended yet; returns them.
    ``NotFound`` for an unknown series or one the user may not cancel."""
    now = now or clock.now()
    rows = list(session.scalars(select(Booking).where(Booking.series_id == series_id)
                                .order_by(Booking.start)))
    if not rows or not may_cancel(session, ctx, rows[0]):
        raise NotFound(_("Aucune série de réservations « %(id)s ».", id=series_id))
    done = [b for b in rows if b.end > now and b.status in (*HOLDING,
                                                            BookingStatus.suspended)]
    for b in done:
        b.status = BookingStatus.cancelled
    return done
