"""The booking rules of a resource, each refusal with its reason in French.

Pure functions over a resource and a requested period: no database access, so every
rule is testable alone. Which rules bind whom (school practice, issue 6): the resource's
state (inactive, unavailable) and its quantity bind everyone; the opening hours,
maximum duration, notice and per-user limit bind requesters but not the domain's
managers, who may book over them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from davserver.errors import Conflict, DomainError

from .models import Resource, ResourceDomain, Unavailability

WEEKDAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


class BookingRefused(DomainError):
    """A rule refuses the booking (HTTP 422); ``message`` says which, in French."""

    status = 422


class NoUnitLeft(Conflict):
    """The resource has no unit left for the period (HTTP 409)."""


@dataclass(frozen=True)
class Request:
    """A booking asked for: ``quantity`` units from ``start`` to ``end`` (aware
    datetimes, end excluded)."""

    start: datetime
    end: datetime
    quantity: int = 1


def duration_text(minutes: int) -> str:
    """``90`` → ``"1 h 30"``, ``45`` → ``"45 min"``, ``2880`` → ``"2 jours"``."""
    if minutes % 1440 == 0 and minutes >= 1440:
        days = minutes // 1440
        return _("%(n)d jour", n=days) if days == 1 else _("%(n)d jours", n=days)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"


def local_text(moment: datetime, tz: ZoneInfo) -> str:
    """``"mardi 12/05/2026 14:00"`` in the school's time zone."""
    local = moment.astimezone(tz)
    return f"{WEEKDAY_NAMES[local.weekday()]} {local:%d/%m/%Y %H:%M}"


def check_state(resource: Resource, req: Request,
                periods: Iterable[Unavailability], tz: ZoneInfo) -> None:
    """Refuse an inactive resource, or a period that meets an unavailability period.
    Binds managers too."""
    if not resource.active:
        raise BookingRefused(_("La ressource « %(name)s » est désactivée : elle ne peut "
                               "pas être réservée.", name=resource.name))
    for p in periods:
        if p.start < req.end and req.start < p.end:
            raise BookingRefused(_(
                "La ressource « %(name)s » est indisponible du %(start)s au %(end)s"
                "%(why)s.", name=resource.name, start=local_text(p.start, tz),
                end=local_text(p.end, tz), why=f" ({p.reason})" if p.reason else ""))


def check_opening(domain: ResourceDomain, req: Request, tz: ZoneInfo) -> None:
    """Refuse a booking outside the domain's opening hours (one day, an open weekday,
    between ``opens`` and ``closes``, wall-clock)."""
    start, end = req.start.astimezone(tz), req.end.astimezone(tz)
    hours = _("ouvert de %(opens)s à %(closes)s, le %(days)s",
              opens=f"{domain.opens:%H:%M}", closes=f"{domain.closes:%H:%M}",
              days=", ".join(WEEKDAY_NAMES[int(d)] for d in domain.weekdays))
    if str(start.weekday()) not in domain.weekdays or start.date() != end.date() \
            or start.time() < domain.opens or end.time() > domain.closes:
        raise BookingRefused(_("En dehors des heures d'ouverture du domaine "
                               "« %(name)s » (%(hours)s).", name=domain.name, hours=hours))


def check_limits(resource: Resource, req: Request, now: datetime,
                 held_by_user: int) -> None:
    """Refuse a booking longer than the maximum duration, too close or too far ahead,
    or beyond the user's number of bookings (``held_by_user``: their future bookings of
    this resource, a series counting once)."""
    minutes = int((req.end - req.start).total_seconds() // 60)
    if resource.max_duration is not None and minutes > resource.max_duration:
        raise BookingRefused(_("Réservation trop longue : %(asked)s demandées, "
                               "%(most)s au plus pour « %(name)s ».",
                               asked=duration_text(minutes),
                               most=duration_text(resource.max_duration),
                               name=resource.name))
    if req.start < now:
        raise BookingRefused(_("La réservation commence dans le passé."))
    if resource.min_notice is not None \
            and req.start - now < timedelta(minutes=resource.min_notice):
        raise BookingRefused(_("Trop tard pour réserver « %(name)s » : il faut réserver "
                               "au moins %(notice)s à l'avance.", name=resource.name,
                               notice=duration_text(resource.min_notice)))
    if resource.max_notice is not None \
            and req.start - now > timedelta(days=resource.max_notice):
        raise BookingRefused(_("Trop tôt pour réserver « %(name)s » : on ne peut réserver "
                               "que %(notice)s à l'avance au plus.", name=resource.name,
                               notice=duration_text(resource.max_notice * 1440)))
    if resource.max_bookings is not None and held_by_user >= resource.max_bookings:
        raise BookingRefused(_("Vous avez déjà %(n)d réservation(s) à venir de "
                               "« %(name)s » : c'est le maximum permis.",
                               n=held_by_user, name=resource.name))


def peak_use(held: Sequence[tuple[datetime, datetime, int]], start: datetime,
             end: datetime) -> int:
    """The largest number of units that ``held`` bookings (start, end, quantity) use at
    one moment of [``start``, ``end``)."""
    events: list[tuple[datetime, int]] = []
    for b_start, b_end, qty in held:
        if b_start < end and start < b_end:
            events.append((max(b_start, start), qty))
            events.append((min(b_end, end), -qty))
    peak = used = 0
    for _moment, delta in sorted(events, key=lambda e: (e[0], e[1])):  # ends before starts
        used += delta
        peak = max(peak, used)
    return peak


def check_quantity(resource: Resource, req: Request,
                   held: Sequence[tuple[datetime, datetime, int]], tz: ZoneInfo) -> None:
    """Refuse when the confirmed and pending bookings ``held`` leave fewer than
    ``req.quantity`` units at some moment of the period. Binds everyone."""
    free = resource.quantity - peak_use(held, req.start, req.end)
    if req.quantity > free:
        if resource.quantity == 1:
            raise NoUnitLeft(_("« %(name)s » est déjà réservé(e) sur ce créneau (%(start)s)"
                               ".", name=resource.name, start=local_text(req.start, tz)))
        raise NoUnitLeft(_("Il ne reste que %(free)d « %(name)s » sur %(total)d de libre(s) "
                           "sur ce créneau ; %(asked)d demandé(s).", free=max(free, 0),
                           name=resource.name, total=resource.quantity,
                           asked=req.quantity))
