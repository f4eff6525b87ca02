"""Editing a booking or a recurring series in place (issue 6): time, quantity, purpose.

An edit changes the existing rows (same ids): it never adds an occurrence nor drops
one. It runs the checks of a new booking (:func:`.services.prepare` locks the resource
exactly as booking does; :func:`.services.check_rules`; the quantity beside what the
others hold, the edited rows themselves left out so an edit never conflicts with
itself). The per-user limit is not counted again: an edit adds no booking. A change of
the purpose alone is saved without the checks. A booking given another time leaves its
lesson (:mod:`.lessons` would otherwise move it back when the lesson moves).

A series (scope ``series``) is checked whole before anything is saved, as at creation:
the new period of the edited occurrence gives a shift in wall-clock time (kept across
daylight-saving changes) and a duration, applied to every occurrence that has not
started. When some cannot move, :class:`.series.SeriesConflicts` (409) lists them and
nothing is saved, unless the user chose to skip them: the others change, and the
skipped ones stay exactly as they were (never overwritten, never duplicated).

Who may edit: the booker and the domain's managers (school practice, as for
cancelling; the person booked for asks the booker). When a booking that needs a
manager's validation changes time or quantity it goes back to pending, unless a
manager made the change. The booker and the person booked for are notified of a change
they did not make themselves (a manager's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver import clock
from davserver.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound
from web.notifications import NotificationKind, notify_many

from . import access, rules
from .models import HOLDING, Booking, BookingStatus
from .rules import Request
from .series import Occurrence, SeriesConflicts
from .services import (
    MAX_PURPOSE,
    Booker,
    Checked,
    check_request,
    check_rules,
    held,
    prepare,
)
from .validation import MINE_PATH

SCOPES = ("one", "series")


@dataclass(frozen=True)
class Change:
    """What to change; None keeps the current value. ``start`` and ``end`` are aware
    datetimes (the new period of the edited booking), ``quantity`` units, ``purpose``
    text (500 characters at most)."""

    start: datetime | None = None
    end: datetime | None = None
    quantity: int | None = None
    purpose: str | None = None


@dataclass
class EditResult:
    """The bookings changed (by start) and the occurrences left as they were."""

    changed: list[Booking] = field(default_factory=list)
    skipped: list[Occurrence] = field(default_factory=list)


def may_edit(session: Session, ctx: acl.UserContext, booking: Booking) -> bool:
    """The booker and the domain's managers may edit a booking."""
    return ctx.user_id == booking.booked_by \
        or access.manages(session, booking.resource.domain_id, ctx.user_id)


def editable(session: Session, ctx: acl.UserContext, booking_id: int,
             now: datetime | None = None) -> Booking:
    """The booking, if ``ctx`` may edit it now. ``NotFound`` when the user neither made
    it, nor is booked for by it, nor manages its domain; ``Forbidden`` for the person
    booked for; ``Conflict`` for a booking refused, cancelled, suspended or ended."""
    now = now or clock.now()
    booking = session.get(Booking, booking_id, populate_existing=True)
    if booking is None:
        raise NotFound(_("Aucune réservation n°%(id)d.", id=booking_id))
    if not may_edit(session, ctx, booking):
        if ctx.user_id == booking.on_behalf_of:
            raise Forbidden(_("Seuls la personne qui a réservé et les gestionnaires du "
                              "domaine peuvent modifier cette réservation."))
        raise NotFound(_("Aucune réservation n°%(id)d.", id=booking_id))
    if booking.status not in HOLDING:
        raise Conflict(_("Seule une réservation confirmée ou en attente peut être "
                         "modifiée."))
    if booking.end <= now:
        raise Conflict(_("Cette réservation est terminée : elle ne peut plus être "
                         "modifiée."))
    return booking


def _wall(moment: datetime, c: Checked) -> datetime:
    return moment.astimezone(c.tz).replace(tzinfo=None)


def _targets(rows: list[Booking], ref: Booking, change: Change,
             c: Checked) -> list[tuple[Booking, Request]]:
    """Each row and its new period: the edited one's shift and duration in wall-clock
    time, applied to every row."""
    start = change.start or ref.start
    end = change.end or (start + (ref.end - ref.start) if change.start else ref.end)
    quantity = change.quantity if change.quantity is not None else ref.quantity
    check_request(c.resource, Request(start, end, quantity))
    shift, length = _wall(start, c) - _wall(ref.start, c), _wall(end, c) - _wall(start, c)
    found = []
    for b in rows:
        s = _wall(b.start, c) + shift
        new_start = s.replace(tzinfo=c.tz).astimezone(UTC)
        new_end = (s + length).replace(tzinfo=c.tz).astimezone(UTC)
        if b is ref:
            new_start, new_end = start.astimezone(UTC), end.astimezone(UTC)
        units = quantity if change.quantity is not None else b.quantity
        found.append((b, Request(new_start, new_end, units)))
    return found


def _check_overlaps(targets: list[tuple[Booking, Request]]) -> None:
    periods = sorted((r.start, r.end) for _b, r in targets)
    if any(a_end > b_start for (_s, a_end), (b_start, _e) in zip(periods, periods[1:],
                                                                  strict=False)):
        raise BadRequest(_("Les occurrences de la série se chevaucheraient."))


def _conflicts(session: Session, c: Checked, booker: Booker,
               targets: list[tuple[Booking, Request]], skipped: set[int],
               now: datetime) -> dict[int, str]:
    """The rows among ``targets`` (those not ``skipped``) that cannot move, with the
    reason: checked in order beside what others hold, the rows that stay (skipped) at
    their current period, and the new periods of the rows accepted before. A single
    row's refusal is raised as it is."""
    moving = [b.id for b, _r in targets if b.id not in skipped]
    accepted: list[tuple[datetime, datetime, int]] = []
    failed: dict[int, str] = {}
    for b, req in targets:
        if b.id in skipped:
            continue
        try:
            check_rules(session, c, booker, req, now, count_user=False)
            rules.check_quantity(c.resource, req, held(
                session, c.resource.id, req.start, req.end, exclude=moving) + accepted, c.tz)
        except DomainError as exc:
            if isinstance(exc, BadRequest) or len(targets) == 1:
                raise
            failed[b.id] = exc.message
            continue
        accepted.append((req.start, req.end, req.quantity))
    return failed


def _tell(session: Session, ctx: acl.UserContext, booking: Booking, count: int,
          c: Checked) -> None:
    people = {p for p in (booking.booked_by, booking.on_behalf_of) if p and p != ctx.user_id}
    if not people:
        return
    name, when = booking.resource.name, rules.local_text(booking.start, c.tz)
    subject = _("Réservation modifiée : %(name)s", name=name)
    who = acl.names_of(session, {ctx.user_id}).get(ctx.user_id, "")
    body = _("%(who)s a modifié votre réservation de « %(name)s » : désormais "
             "%(when)s – %(end)s, quantité %(q)d%(more)s.", who=who, name=name, when=when,
             end=f"{booking.end.astimezone(c.tz):%H:%M}", q=booking.quantity,
             more=_(" (et %(n)d autre(s) date(s) de la série)", n=count - 1)
             if count > 1 else "")
    notify_many(session, people, NotificationKind.booking_changed, subject, body, MINE_PATH)


def edit(session: Session, ctx: acl.UserContext, booking_id: int, change: Change,
         scope: str = "one", *, skip_conflicts: bool = False,
         now: datetime | None = None) -> EditResult:
    """Apply ``change`` to the booking (``scope`` "one") or to every occurrence of its
    series that has not started (``scope`` "series"), in place (module docstring).

    Raises what :func:`editable` raises; ``BadRequest`` for a bad scope, a purpose
    over 500 characters, an end not after the start, a bad quantity or
    occurrences that would overlap; for one booking, the refusal of its rule
    (``rules.BookingRefused`` 422) or ``rules.NoUnitLeft`` (409); for a series,
    :class:`.series.SeriesConflicts` (409, nothing saved) unless ``skip_conflicts``,
    and ``rules.BookingRefused`` when no occurrence at all can change."""
    now = now or clock.now()
    if scope not in SCOPES:
        raise BadRequest(_("Portée de la modification invalide : « one » ou « series »."))
    ref = editable(session, ctx, booking_id, now)
    if change.purpose is not None and len(change.purpose.strip()) > MAX_PURPOSE:
        raise BadRequest(_("Le motif compte au plus %(n)d caractères.", n=MAX_PURPOSE))
    c = prepare(session, Booker(ctx, ref.on_behalf_of), ref.resource_id)
    # Read again under the resource's lock: the rows as committed now.
    ref = editable(session, ctx, booking_id, now)
    rows = [ref]
    if scope == "series" and ref.series_id:
        rows = list(session.scalars(select(Booking).where(
            Booking.series_id == ref.series_id, Booking.status.in_(HOLDING),
            (Booking.start > now) | (Booking.id == ref.id)).order_by(Booking.start)
            .execution_options(populate_existing=True)))
    targets = _targets(rows, ref, change, c)
    moves = any((r.start, r.end, r.quantity) != (b.start, b.end, b.quantity)
                for b, r in targets)
    result = EditResult()
    if moves:
        _check_overlaps(targets)
        result = _check(session, ctx, c, ref, targets, skip_conflicts, now)
    else:
        result.changed = rows
    changed = {b.id for b in result.changed}
    for b, req in targets:
        if b.id not in changed:
            continue
        if (req.start, req.end, req.quantity) != (b.start, b.end, b.quantity):
            if (req.start, req.end) != (b.start, b.end):
                b.lesson_id = None  # no longer at its lesson's time
            b.start, b.end, b.quantity = req.start, req.end, req.quantity
            if c.resource.needs_validation and not c.manager:
                b.status, b.validated_by = BookingStatus.pending, None
        if change.purpose is not None:
            b.purpose = change.purpose.strip()
    session.flush()
    if result.changed:
        _tell(session, ctx, result.changed[0], len(result.changed), c)
    return result


def _check(session: Session, ctx: acl.UserContext, c: Checked, ref: Booking,
           targets: list[tuple[Booking, Request]], skip_conflicts: bool,
           now: datetime) -> EditResult:
    """Which rows may move: every one, or :class:`SeriesConflicts`; with
    ``skip_conflicts``, the rows that cannot move stay, and their staying may stop
    others from moving, so the check repeats until no new row stays (the set of
    staying rows only grows: it ends)."""
    booker = Booker(ctx, ref.on_behalf_of)
    skipped: set[int] = set()
    reasons: dict[int, str] = {}
    while True:
        failed = _conflicts(session, c, booker, targets, skipped, now)
        reasons.update(failed)
        skipped |= set(failed)
        if not failed or not skip_conflicts:
            break
    conflicts = [Occurrence(r.start, r.end, reasons[b.id]) for b, r in targets
                 if b.id in skipped]
    if conflicts and not skip_conflicts:
        raise SeriesConflicts(_("%(n)d date(s) de la série ne peuvent pas être "
                                "modifiées ; rien n'a été enregistré.", n=len(conflicts)),
                              conflicts)
    changed = [b for b, _r in targets if b.id not in skipped]
    if not changed:
        raise rules.BookingRefused(_("Aucune date de la série ne peut être modifiée."))
    return EditResult(changed, conflicts)
