"""The managers' side: the queue of pending requests, validating and refusing them.

Validating a pending request confirms it and refuses, each with its reason, the other
pending requests of the same resource that meet its period and could no longer be
granted beside the confirmed bookings (school practice: one request wins, the others
are told at once rather than left waiting). Each validation locks the resource like a
new booking does (:mod:`.services`).

Whoever made a request, and whoever it was made for, is notified of its validation or
refusal (``web.notifications``), in the same transaction: no notice for a change that
rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver.errors import BadRequest, Conflict, Forbidden, NotFound
from web.notifications import NotificationKind, notify_many

from . import access, rules
from .models import HOLDING, Booking, BookingStatus, Resource, Unavailability
from .rules import Request
from .services import lock_resource

MAX_REASON = 500
MINE_PATH = "/booking/mes-reservations"  # pages.mine: where requesters see their bookings


@dataclass
class Outcome:
    """What a validation did: the bookings confirmed, and the competitors refused."""

    confirmed: list[Booking] = field(default_factory=list)
    refused: list[Booking] = field(default_factory=list)


def _managed(session: Session, ctx: acl.UserContext, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(_("Aucune réservation n°%(id)d.", id=booking_id))
    if not access.manages(session, booking.resource.domain_id, ctx.user_id):
        raise Forbidden(_("Seuls les gestionnaires du domaine « %(name)s » valident ses "
                          "réservations.", name=booking.resource.domain.name))
    if booking.status != BookingStatus.pending:
        raise Conflict(_("La réservation n°%(id)d n'est plus en attente de validation.",
                         id=booking_id))
    return booking


def _confirmed_use(session: Session, resource: Resource,
                   booking: Booking) -> list[tuple[datetime, datetime, int]]:
    return [(s, e, q) for s, e, q in session.execute(
        select(Booking.start, Booking.end, Booking.quantity).where(
            Booking.resource_id == resource.id, Booking.status == BookingStatus.confirmed,
            Booking.start < booking.end, Booking.end > booking.start))]


def _tell(session: Session, booking: Booking, manager_id: int) -> None:
    """Notify the requester and the person booked for (not the manager who decided for
    themself) that ``booking`` was confirmed or refused, with the reason."""
    tz = access.school_zone(session, booking.resource.domain.school_id)
    when = rules.local_text(booking.start, tz)
    name = booking.resource.name
    if booking.status == BookingStatus.confirmed:
        kind = NotificationKind.booking_validated
        subject = _("Réservation validée : %(name)s, %(when)s", name=name, when=when)
        body = _("Votre demande de réservation de « %(name)s » pour %(when)s a été "
                 "validée.", name=name, when=when)
    else:
        kind = NotificationKind.booking_refused
        subject = _("Réservation refusée : %(name)s, %(when)s", name=name, when=when)
        body = _("Votre demande de réservation de « %(name)s » pour %(when)s a été "
                 "refusée. Motif : %(reason)s", name=name, when=when,
                 reason=booking.refusal_reason)
    people = {booking.booked_by, booking.on_behalf_of} - {None, manager_id}
    notify_many(session, {p for p in people if p is not None}, kind, subject, body,
                MINE_PATH)


def validate(session: Session, ctx: acl.UserContext, booking_id: int,
             outcome: Outcome | None = None) -> Outcome:
    """Confirm a pending booking, then refuse its competitors (module docstring).

    ``NotFound`` for no such booking, ``Forbidden`` for a non-manager, ``Conflict`` for
    a booking no longer pending or that no longer fits beside the confirmed ones."""
    outcome = outcome if outcome is not None else Outcome()
    booking = _managed(session, ctx, booking_id)
    resource = lock_resource(session, booking.resource_id)
    tz = access.school_zone(session, resource.domain.school_id)
    req = Request(booking.start, booking.end, booking.quantity)
    rules.check_quantity(resource, req, _confirmed_use(session, resource, booking), tz)
    booking.status, booking.validated_by = BookingStatus.confirmed, ctx.user_id
    session.flush()
    outcome.confirmed.append(booking)
    competitors = session.scalars(select(Booking).where(
        Booking.resource_id == resource.id, Booking.status == BookingStatus.pending,
        Booking.start < booking.end, Booking.end > booking.start).order_by(Booking.id))
    lost: list[Booking] = []
    for other in competitors:
        use = _confirmed_use(session, resource, other)
        if rules.peak_use(use, other.start, other.end) + other.quantity > resource.quantity:
            other.status = BookingStatus.refused
            other.validated_by = ctx.user_id
            other.refusal_reason = _("Le créneau a été attribué à une autre demande "
                                     "(réservation n°%(id)d).", id=booking.id)
            outcome.refused.append(other)
            lost.append(other)
    for b in (booking, *lost):
        _tell(session, b, ctx.user_id)
    return outcome


def validate_many(session: Session, ctx: acl.UserContext,
                  booking_ids: Iterable[int]) -> Outcome:
    """Validate several requests in the given order, all or none (the first error is
    raised and the caller's transaction rolls back). A request refused as the
    competitor of one validated before it in the list is skipped, not an error."""
    outcome = Outcome()
    for booking_id in booking_ids:
        if any(b.id == booking_id for b in outcome.refused):
            continue
        validate(session, ctx, booking_id, outcome)
    return outcome


def refuse(session: Session, ctx: acl.UserContext, booking_id: int,
           reason: str) -> Booking:
    """Refuse a pending booking with the manager's message (required: the requester
    is told why). Errors as :func:`validate`, and ``BadRequest`` for no reason."""
    booking = _managed(session, ctx, booking_id)
    reason = reason.strip()
    if not reason:
        raise BadRequest(_("Donnez la raison du refus : le demandeur la verra."))
    booking.status, booking.validated_by = BookingStatus.refused, ctx.user_id
    booking.refusal_reason = reason[:MAX_REASON]
    _tell(session, booking, ctx.user_id)
    return booking


def pending_queue(session: Session, ctx: acl.UserContext) -> list[Booking]:
    """The pending requests of the domains the user manages, oldest start first."""
    domains = access.managed_domain_ids(session, ctx.user_id)
    if not domains:
        return []
    return list(session.scalars(select(Booking).join(Resource).where(
        Resource.domain_id.in_(domains), Booking.status == BookingStatus.pending)
        .order_by(Booking.start, Booking.id)))


def add_unavailability(session: Session, ctx: acl.UserContext, resource_id: int,
                       start: datetime, end: datetime, reason: str = "") -> list[Booking]:
    """Make the resource unavailable from ``start`` to ``end`` (aware, end excluded):
    new bookings meeting the period are refused, and the confirmed and pending ones are
    suspended (returned, so their bookers can be told). Managers only (``Forbidden``);
    ``BadRequest`` for an end not after the start."""
    resource = lock_resource(session, resource_id)
    if not access.manages(session, resource.domain_id, ctx.user_id):
        raise Forbidden(_("Seuls les gestionnaires du domaine « %(name)s » rendent ses "
                          "ressources indisponibles.", name=resource.domain.name))
    if end <= start:
        raise BadRequest(_("La fin de l'indisponibilité doit être après son début."))
    session.add(Unavailability(resource_id=resource.id, start=start, end=end,
                               reason=reason.strip()[:200]))
    hit = list(session.scalars(select(Booking).where(
        Booking.resource_id == resource.id, Booking.status.in_(HOLDING),
        Booking.start < end, Booking.end > start).order_by(Booking.start)))
    for b in hit:
        b.status = BookingStatus.suspended
    session.flush()
    return hit
