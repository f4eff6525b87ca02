"""Recurring bookings: the same period every week or every two weeks until a date,
skipping the school's holidays (issue 6).

A series is checked whole before anything is saved: every occurrence meets the rules
and the quantity beside the bookings already held and the series' earlier occurrences.
When some cannot be booked, the caller either gets :class:`SeriesConflicts` (409)
listing them with their reasons and nothing is saved, or, having chosen to skip them,
the others are booked and the skipped ones returned. The per-user limit counts a series
once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from davserver import clock
from davserver.errors import BadRequest, Conflict, DomainError
from web import textbook

from . import rules
from .models import Booking
from .rules import Request
from .services import Booker, Checked, check_rules, held, new_booking, prepare

MAX_OCCURRENCES = 60


@dataclass(frozen=True)
class Occurrence:
    """One date of a series that cannot be booked, and why (French)."""

    start: datetime
    end: datetime
    reason: str


class SeriesConflicts(Conflict):
    """Some occurrences of a series cannot be booked (HTTP 409); nothing was saved."""

    def __init__(self, message: str, conflicts: list[Occurrence]) -> None:
        super().__init__(message)
        self.conflicts = conflicts


@dataclass
class SeriesResult:
    """A saved series: its id, the bookings made, the occurrences skipped (conflicts)
    and the dates left out because they fall in the school's holidays."""

    series_id: str
    booked: list[Booking] = field(default_factory=list)
    skipped: list[Occurrence] = field(default_factory=list)
    holidays: list[date] = field(default_factory=list)


def occurrences(first: Request, every_weeks: int, until: date, c: Checked) -> list[Request]:
    """The periods of a series, the first one included, every ``every_weeks`` weeks
    (1 or 2) while the local start date is not after ``until``; wall-clock times are
    kept across daylight-saving changes. ``BadRequest`` for a bad frequency, an end
    date before the first, too many occurrences, or occurrences that would overlap."""
    if every_weeks not in (1, 2):
        raise BadRequest(_("Une série se répète chaque semaine ou toutes les deux "
                           "semaines."))
    start, end = first.start.astimezone(c.tz), first.end.astimezone(c.tz)
    if until < start.date():
        raise BadRequest(_("La date de fin de la série est avant sa première date."))
    if end - start >= timedelta(weeks=every_weeks):
        raise BadRequest(_("Les occurrences de la série se chevaucheraient."))
    found: list[Request] = []
    step = 0
    while (start + timedelta(weeks=step)).date() <= until:
        s = (start.replace(tzinfo=None) + timedelta(weeks=step)).replace(tzinfo=c.tz)
        e = (end.replace(tzinfo=None) + timedelta(weeks=step)).replace(tzinfo=c.tz)
        found.append(Request(s.astimezone(UTC), e.astimezone(UTC), first.quantity))
        step += every_weeks
        if len(found) > MAX_OCCURRENCES:
            raise BadRequest(_("Une série compte au plus %(n)d dates.", n=MAX_OCCURRENCES))
    return found


def _check_one(session: Session, c: Checked, booker: Booker, req: Request, now: datetime,
               accepted: list[tuple[datetime, datetime, int]], first: bool) -> str | None:
    try:
        check_rules(session, c, booker, req, now, count_user=first)
        rules.check_quantity(c.resource, req,
                             held(session, c.resource.id, req.start, req.end) + accepted,
                             c.tz)
    except DomainError as exc:
        if isinstance(exc, BadRequest):
            raise
        return exc.message
    return None


def book_series(session: Session, booker: Booker, resource_id: int, first: Request,
                every_weeks: int, until: date, purpose: str = "", *,
                skip_conflicts: bool = False, now: datetime | None = None) -> SeriesResult:
    """Book ``first`` and its repetitions (module docstring). Raises what
    ``services.book`` raises for access and bad input, :class:`SeriesConflicts` when
    some occurrences cannot be booked and ``skip_conflicts`` is false, and
    ``rules.BookingRefused`` when none at all can be booked."""
    now = now or clock.now()
    c = prepare(session, booker, resource_id)
    periods = textbook.holidays_of(session, c.resource.domain.school_id)
    result = SeriesResult(str(uuid.uuid4()))
    accepted: list[tuple[datetime, datetime, int]] = []
    wanted: list[Request] = []
    for req in occurrences(first, every_weeks, until, c):
        if textbook.in_holidays(req.start.astimezone(c.tz).date(), periods):
            result.holidays.append(req.start.astimezone(c.tz).date())
            continue
        reason = _check_one(session, c, booker, req, now, accepted, first=not wanted)
        if reason is None:
            wanted.append(req)
            accepted.append((req.start, req.end, req.quantity))
        else:
            result.skipped.append(Occurrence(req.start, req.end, reason))
    if result.skipped and not skip_conflicts:
        raise SeriesConflicts(_("%(n)d date(s) de la série ne peuvent pas être réservées ; "
                                "rien n'a été enregistré.", n=len(result.skipped)),
                              result.skipped)
    if not wanted:
        raise rules.BookingRefused(_("Aucune date de la série ne peut être réservée."))
    for req in wanted:
        booking = new_booking(c, booker, req, purpose, result.series_id)
        session.add(booking)
        result.booked.append(booking)
    session.flush()
    return result
