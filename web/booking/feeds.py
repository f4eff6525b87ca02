"""iCalendar feeds of bookings (issue 6): each user's own bookings and each resource's
bookings as RFC 5545 calendars, built with the icalendar library.

Calendar applications subscribe to a URL and never sign in, so the URL carries a
per-user secret (:class:`~.models.FeedToken`); a resource's feed answers only while
that secret's owner may still book in the resource's domain, exactly as its pages do.
Times are written in the school's time zone with its VTIMEZONE (RFC 5545 §3.6.5), so
a 10:00 lesson stays at 10:00 on both sides of a daylight-saving change.

A feed covers bookings that end after :data:`PAST` ago and start before
:data:`AHEAD` from now: enough for a teacher's calendar, bounded for a busy room.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import acl
from davserver import clock

from . import access
from .models import HOLDING, Booking, BookingStatus, FeedToken, Resource

if TYPE_CHECKING:  # imported when a feed is built: 3 MiB and 90 ms at start-up
    import icalendar

PAST = timedelta(days=60)
AHEAD = timedelta(days=400)
PRODID = "-//ENT davserver//Réservations//FR"
TOKEN_BYTES = 32  # 256 bits of secrets.token_urlsafe: 43 URL-safe characters


def feed_token(session: Session, user_id: int, *, renew: bool = False) -> str:
    """The user's feed secret, made on first use; ``renew`` replaces it (the old
    links stop working at once). Call inside a write transaction."""
    row = session.get(FeedToken, user_id)
    if row is not None and not renew:
        return row.token
    token = secrets.token_urlsafe(TOKEN_BYTES)
    if row is None:
        session.add(FeedToken(user_id=user_id, token=token))
    else:
        row.token, row.created = token, clock.now()
    session.flush()
    return token


def token_owner(session: Session, token: str) -> acl.UserContext | None:
    """The enabled user whose feed secret ``token`` is, or None (unknown, renewed, or
    the account is disabled)."""
    if not token or len(token) > 64:
        return None
    row = session.scalar(select(FeedToken).where(FeedToken.token == token))
    if row is None:
        return None
    login = acl.logins_of(session, {row.user_id}).get(row.user_id)
    if login is None or acl.find_user(session, login, enabled_only=True) is None:
        return None
    return acl.user_context(session, row.user_id)


def _window(now: datetime) -> tuple[datetime, datetime]:
    return now - PAST, now + AHEAD


def user_bookings(session: Session, user_id: int, now: datetime) -> list[Booking]:
    """The user's confirmed and pending bookings (made by or for them) in the window."""
    since, until = _window(now)
    return list(session.scalars(select(Booking).where(
        or_(Booking.booked_by == user_id, Booking.on_behalf_of == user_id),
        Booking.status.in_(HOLDING), Booking.end > since, Booking.start < until)
        .order_by(Booking.start, Booking.id)))


def resource_bookings(session: Session, resource: Resource, now: datetime) -> list[Booking]:
    """The resource's confirmed and pending bookings in the window."""
    since, until = _window(now)
    return list(session.scalars(select(Booking).where(
        Booking.resource_id == resource.id, Booking.status.in_(HOLDING),
        Booking.end > since, Booking.start < until).order_by(Booking.start, Booking.id)))


def calendar(session: Session, name: str, bookings: Sequence[Booking], tz: ZoneInfo,
             uid_domain: str, now: datetime) -> bytes:
    """An RFC 5545 calendar named ``name`` with one VEVENT per booking: the resource
    (and quantity) as summary, the purpose and who booked as description, the
    resource's location, STATUS CONFIRMED or TENTATIVE (pending validation). UIDs are
    ``booking-<id>@<uid_domain>``, stable across refreshes (RFC 5545 §3.8.4.7)."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz.key)
    cal.add("refresh-interval", timedelta(minutes=30), parameters={"VALUE": "DURATION"})
    names = acl.names_of(session, {b.on_behalf_of or b.booked_by for b in bookings})
    for booking in bookings:
        cal.add_component(_event(booking, tz, uid_domain, now, names))
    years = [b.start.astimezone(tz).year for b in bookings] or [now.year]
    cal.add_missing_timezones(first_date=date(min(years) - 1, 1, 1),
                              last_date=date(max(years) + 2, 1, 1))
    return bytes(cal.to_ical())


def _event(booking: Booking, tz: ZoneInfo, uid_domain: str, now: datetime,
           names: dict[int, str]) -> icalendar.Event:
    import icalendar

    event = icalendar.Event()
    event.add("uid", f"booking-{booking.id}@{uid_domain}")
    event.add("dtstamp", now)
    event.add("created", booking.created)
    event.add("dtstart", booking.start.astimezone(tz))
    event.add("dtend", booking.end.astimezone(tz))
    quantity = f" × {booking.quantity}" if booking.quantity > 1 else ""
    event.add("summary", f"{booking.resource.name}{quantity}")
    who = names.get(booking.on_behalf_of or booking.booked_by, "")
    lines = [line for line in (booking.purpose, f"Réservé par {who}" if who else "") if line]
    if lines:
        event.add("description", "\n".join(lines))
    if booking.resource.location:
        event.add("location", booking.resource.location)
    pending = booking.status == BookingStatus.pending
    event.add("status", "TENTATIVE" if pending else "CONFIRMED")
    return event


def user_feed(session: Session, owner: acl.UserContext, uid_domain: str) -> bytes:
    """The owner's own bookings as a calendar, in their school's time zone."""
    now = clock.now()
    rows = user_bookings(session, owner.user_id, now)
    tz = (access.school_zone(session, owner.school_id) if owner.school_id is not None
          else access.school_zone(session, rows[0].resource.domain.school_id) if rows
          else ZoneInfo(access.DEFAULT_ZONE))
    return calendar(session, "Mes réservations", rows, tz, uid_domain, now)


def resource_feed(session: Session, owner: acl.UserContext, resource_id: int,
                  uid_domain: str) -> bytes:
    """A resource's bookings as a calendar, if the owner may book in its domain
    (``NotFound`` / ``Forbidden`` as :func:`access.resource_for`)."""
    resource = access.resource_for(session, owner, resource_id)
    now = clock.now()
    tz = access.school_zone(session, resource.domain.school_id)
    return calendar(session, resource.name, resource_bookings(session, resource, now), tz,
                    uid_domain, now)
