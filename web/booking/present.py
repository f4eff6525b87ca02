"""What the pages and the API show of bookings: JSON views, the week of a resource and
its grid of slots, the user's bookings, and reading a time given by a user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import acl
from davserver import clock
from davserver.errors import BadRequest
from web.dates import supported

from . import access
from .models import HOLDING, Booking, Resource, ResourceDomain


def parse_when(text: str, tz: ZoneInfo, name: str) -> datetime:
    """An ISO 8601 date-time (``2026-05-12T14:00``, with or without an offset; without
    one it is the school's wall-clock time ``tz``), as an aware UTC datetime.
    ``BadRequest`` naming ``name`` for anything else."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError) as exc:
        raise BadRequest(_("Date et heure « %(value)s » invalides pour %(name)s : "
                           "attendu AAAA-MM-JJTHH:MM.", value=text, name=name)) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return supported(moment, text).astimezone(UTC)


def parse_day(text: str | None, tz: ZoneInfo) -> date:
    """A date ``AAAA-MM-JJ`` (today in ``tz`` when empty). ``BadRequest`` if malformed."""
    if not text:
        return clock.today(tz)
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(_("Date « %(value)s » invalide : attendu AAAA-MM-JJ.",
                           value=text)) from exc
    return supported(day, text)


def booking_views(session: Session, bookings: Sequence[Booking]) -> list[dict[str, Any]]:
    """JSON-ready views of bookings (one query for the logins)."""
    ids = {b.booked_by for b in bookings} | {b.on_behalf_of for b in bookings
                                              if b.on_behalf_of}
    logins = acl.logins_of(session, ids) if ids else {}
    zones: dict[int, ZoneInfo] = {}
    views = []
    for b in bookings:
        school = b.resource.domain.school_id
        tz = zones.setdefault(school, access.school_zone(session, school))
        views.append({
            "id": b.id, "resource_id": b.resource_id, "resource": b.resource.name,
            "quantity": b.quantity, "start": b.start.isoformat(), "end": b.end.isoformat(),
            "local_start": b.start.astimezone(tz).isoformat(),
            "local_end": b.end.astimezone(tz).isoformat(),
            "purpose": b.purpose, "status": b.status.value,
            "refusal_reason": b.refusal_reason, "series_id": b.series_id,
            "booked_by": logins.get(b.booked_by),
            "on_behalf_of": logins.get(b.on_behalf_of) if b.on_behalf_of else None})
    return views


def booking_view(session: Session, booking: Booking) -> dict[str, Any]:
    """The JSON-ready view of one booking."""
    return booking_views(session, [booking])[0]


def resource_view(r: Resource) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind.value, "name": r.name, "description": r.description,
            "capacity": r.capacity, "location": r.location, "quantity": r.quantity,
            "active": r.active, "needs_validation": r.needs_validation,
            "max_duration": r.max_duration, "min_notice": r.min_notice,
            "max_notice": r.max_notice, "max_bookings": r.max_bookings}


def resources_of(session: Session, domain_id: int) -> list[Resource]:
    """A domain's resources, by name."""
    return list(session.scalars(select(Resource).where(Resource.domain_id == domain_id)
                                .order_by(Resource.name)))


def domain_view(session: Session, d: ResourceDomain, ctx: acl.UserContext) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "opens": f"{d.opens:%H:%M}",
            "closes": f"{d.closes:%H:%M}", "weekdays": [int(x) for x in d.weekdays],
            "slot_minutes": d.slot_minutes,
            "manager": access.manages(session, d.id, ctx.user_id),
            "resources": [resource_view(r) for r in resources_of(session, d.id)]}


def week_bookings(session: Session, resource: Resource, week: str | None,
                  tz: ZoneInfo) -> tuple[list[Booking], date]:
    """The confirmed and pending bookings of the resource that meet the local week
    (Monday to Sunday) holding the date ``week`` (today when None), and its Monday."""
    day = parse_day(week, tz)
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, time(), tz).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(), tz).astimezone(UTC)
    rows = session.scalars(select(Booking).where(
        Booking.resource_id == resource.id, Booking.status.in_(HOLDING),
        Booking.start < end, Booking.end > start).order_by(Booking.start))
    return list(rows), monday


def my_bookings(session: Session, user_id: int,
                since: datetime | None = None) -> list[Booking]:
    """Bookings made by or for the user that end after ``since`` (default: now)."""
    since = since or clock.now()
    return list(session.scalars(select(Booking).where(
        or_(Booking.booked_by == user_id, Booking.on_behalf_of == user_id),
        Booking.end > since).order_by(Booking.start, Booking.id)))


@dataclass
class Cell:
    """One slot of one day in the week grid: units used, and by which bookings."""

    day: date
    start: time
    used: int = 0
    bookings: list[Booking] = field(default_factory=list)


def slot_times(domain: ResourceDomain) -> list[time]:
    """The start times of the domain's slots, from opening to closing (wall-clock)."""
    step = timedelta(minutes=max(domain.slot_minutes, 5))
    moment, times = datetime.combine(date.min, domain.opens), []
    while moment.time() < domain.closes and moment.date() == date.min:
        times.append(moment.time())
        moment += step
    return times


def _cell(day: date, at: time, domain: ResourceDomain, rows: Sequence[Booking],
          tz: ZoneInfo) -> Cell:
    start = datetime.combine(day, at, tz)
    end = start + timedelta(minutes=max(domain.slot_minutes, 5))
    cell = Cell(day, at)
    for b in rows:
        if b.start < end and start < b.end:
            cell.used += b.quantity
            cell.bookings.append(b)
    return cell


def week_grid(domain: ResourceDomain, resource: Resource, rows: Sequence[Booking],
              monday: date, tz: ZoneInfo) -> tuple[list[date], list[list[Cell]]]:
    """The open days of the week and, for each slot of the opening hours (rows), one
    :class:`Cell` per day (columns)."""
    days = [monday + timedelta(days=int(d)) for d in sorted(domain.weekdays)]
    grid = [[_cell(day, at, domain, rows, tz) for day in days] for at in slot_times(domain)]
    return days, grid


def day_bookings(session: Session, resources: Sequence[Resource], day: date,
                 tz: ZoneInfo) -> dict[int, list[Booking]]:
    """The confirmed and pending bookings meeting the local ``day``, by resource id
    (one query for every resource)."""
    start = datetime.combine(day, time(), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)
    found: dict[int, list[Booking]] = {r.id: [] for r in resources}
    for b in session.scalars(select(Booking).where(
            Booking.resource_id.in_(list(found)), Booking.status.in_(HOLDING),
            Booking.start < end, Booking.end > start).order_by(Booking.start)):
        found[b.resource_id].append(b)
    return found


def domain_day_grid(domain: ResourceDomain, resources: Sequence[Resource],
                    by_resource: dict[int, list[Booking]], day: date,
                    tz: ZoneInfo) -> list[list[Cell]]:
    """A day of a whole domain: for each slot of its opening hours (rows), one
    :class:`Cell` per resource (columns, in the order of ``resources``)."""
    return [[_cell(day, at, domain, by_resource.get(r.id, []), tz) for r in resources]
            for at in slot_times(domain)]


def open_day(domain: ResourceDomain, day: date, step: int) -> date:
    """The next (``step`` 1) or previous (-1) day the domain is open, after ``day``."""
    for n in range(1, 8):
        candidate = day + timedelta(days=n * step)
        if str(candidate.weekday()) in domain.weekdays:
            return candidate
    return day + timedelta(days=step)
