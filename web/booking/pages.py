"""Booking pages in the browser (issue 6), server-rendered in French.

* ``/booking/``: the domains and resources the user may book; managers see their queue.
* ``/booking/ressources/<id>?semaine=AAAA-MM-JJ``: a resource's week grid (hours down
  the side, open days across, free slots marked) and the booking form; a refusal
  re-shows the page with its reason (400, 403, 409 or 422 like the API).
* ``/booking/domaines/<id>?jour=AAAA-MM-JJ``: a day of a whole domain, resources as
  columns, hours down the side.
* ``/booking/mes-reservations``: the user's bookings, to edit (:mod:`.edit_pages`) or
  cancel one or a series, and
  their calendar subscription address (:mod:`.feed_views`).
* ``/booking/validation``: the managers' queue, validated one by one or many at once,
  or refused with a message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

import acl
from davserver.errors import BadRequest, DomainError, Forbidden, NotFound

from ..auth import current_context, frame_context, login_required, web_context
from . import access, series, services, validation
from .feed_views import feed_urls
from .forms import STATUS_LABELS, BookingForm, RefuseForm
from .present import (
    day_bookings,
    domain_day_grid,
    my_bookings,
    open_day,
    parse_day,
    resources_of,
    week_bookings,
    week_grid,
)
from .rules import Request, local_text

bp = Blueprint("booking", __name__, url_prefix="/booking")


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    """Status labels for every template, and whether the services bar offers
    « Réservations » to the signed-in user (:func:`access.offers_booking`, read once
    per request; False for anonymous visitors)."""
    return {"booking_status_labels": STATUS_LABELS, "local_text": local_text,
            "booking_offered": booking_offered()}


def booking_offered(session: Session | None = None,
                    ctx: acl.UserContext | None = None) -> bool:
    """Whether booking is offered to the signed-in user (:func:`access.offers_booking`),
    read once per request and kept in ``g``: the services bar and the home page's
    « Mes réservations à venir » block ask the same question, and the second asker
    pays no statement. ``session`` and ``ctx``: a view's own, else a read transaction
    and :func:`frame_context`. False for an anonymous visitor."""
    if "booking_offered" not in g:
        ctx = ctx if ctx is not None else frame_context()
        offered = False
        if ctx is not None and session is not None:
            offered = access.offers_booking(session, ctx)
        elif ctx is not None:
            with web_context().db.transaction(write=False) as s:
                offered = access.offers_booking(s, ctx)
        g.booking_offered = offered
    return bool(g.booking_offered)


@bp.get("/")
@login_required
def index() -> str:
    """The domains the user may book in, their resources, and the queue's size."""
    ctx = current_context()
    with web_context().db.transaction(write=False) as s:
        domains = [(d, resources_of(s, d.id)) for d in access.visible_domains(s, ctx)]
        waiting = len(validation.pending_queue(s, ctx))
        manager = bool(access.managed_domain_ids(s, ctx.user_id))
    return render_template("booking/index.html", domains=domains, waiting=waiting,
                           manager=manager)


def _resource_page(resource_id: int, form: BookingForm, status: int = 200,
                   error: str | None = None, conflicts: Any = None,
                   fill_end: bool = False) -> tuple[str, int]:
    """The resource's page; ``fill_end``: a start time came from a click on a free
    slot, so the end is pre-filled with the end of that slot."""
    ctx = current_context()
    try:
        with web_context().db.transaction(write=False) as s:
            access.resource_for(s, ctx, resource_id)
        subscribe = feed_urls(ctx.user_id, resource_id)["resource"]
        with web_context().db.transaction(write=False) as s:
            resource = access.resource_for(s, ctx, resource_id)
            tz = access.school_zone(s, resource.domain.school_id)
            if fill_end and form.start.data and not form.end.data:
                slot = timedelta(minutes=resource.domain.slot_minutes)
                form.end.data = (datetime.combine(date.min, form.start.data) + slot).time()
            week = request.args.get("semaine") or (form.day.data.isoformat()
                                                    if form.day.data else None)
            rows, monday = week_bookings(s, resource, week, tz)
            days, grid = week_grid(resource.domain, resource, rows, monday, tz)
            page = render_template(
                "booking/resource.html", resource=resource, domain=resource.domain,
                days=days, grid=grid, monday=monday, form=form, error=error,
                conflicts=conflicts, tz=tz, subscribe=subscribe,
                previous=monday - timedelta(days=7),
                following=monday + timedelta(days=7))
    except Forbidden as exc:
        abort(403, description=exc.message)
    except NotFound:
        abort(404)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    return page, status


@bp.get("/ressources/<int:resource_id>")
@login_required
def resource(resource_id: int) -> tuple[str, int]:
    """The week grid of a resource and the booking form (``?jour=`` and ``?heure=``
    pre-fill it, from a click on a free slot)."""
    form = BookingForm(formdata=None)
    try:
        if request.args.get("jour"):
            form.day.data = parse_day(request.args.get("jour"),
                                      ZoneInfo(access.DEFAULT_ZONE))
        if request.args.get("heure"):
            form.start.data = datetime.strptime(request.args["heure"], "%H:%M").time()
    except (BadRequest, ValueError):
        abort(400, description=_("Date ou heure invalide dans l'adresse."))
    return _resource_page(resource_id, form, fill_end=True)


@bp.get("/domaines/<int:domain_id>")
@login_required
def domain(domain_id: int) -> str:
    """A day of a whole domain (``?jour=AAAA-MM-JJ``, today by default): its resources
    as columns, the slots of its opening hours down the side, each free slot a link to
    that resource's booking form, pre-filled."""
    ctx = current_context()
    with web_context().db.transaction(write=False) as s:
        try:
            found = access.domain_for(s, ctx, domain_id)
            tz = access.school_zone(s, found.school_id)
            day = parse_day(request.args.get("jour"), tz)
        except Forbidden as exc:
            abort(403, description=exc.message)
        except NotFound:
            abort(404)
        except BadRequest as exc:
            abort(400, description=exc.message)
        resources = resources_of(s, found.id)
        grid = domain_day_grid(found, resources, day_bookings(s, resources, day, tz), day,
                               tz)
        return render_template("booking/domain.html", domain=found, resources=resources,
                               grid=grid, day=day, previous=open_day(found, day, -1),
                               following=open_day(found, day, 1))


def _request_of(form: BookingForm, tz: ZoneInfo) -> Request:
    start = datetime.combine(form.day.data, form.start.data, tz)  # type: ignore[arg-type]
    end = datetime.combine(form.day.data, form.end.data, tz)  # type: ignore[arg-type]
    return Request(start, end, form.quantity.data or 1)


def _book(resource_id: int, form: BookingForm) -> str:
    """Book what the form asks; returns the confirmation message."""
    ctx = current_context()
    with web_context().db.transaction() as s:
        resource = access.resource_for(s, ctx, resource_id)
        tz = access.school_zone(s, resource.domain.school_id)
        booker = services.Booker(ctx, access.beneficiary(s, ctx, resource.domain,
                                                         form.on_behalf_of.data))
        req = _request_of(form, tz)
        if form.repeat.data in ("1", "2"):
            if form.until.data is None:
                raise BadRequest(_("Indiquez jusqu'à quand répéter la réservation."))
            done = series.book_series(s, booker, resource.id, req, int(form.repeat.data),
                                      form.until.data, form.purpose.data or "",
                                      skip_conflicts=form.on_conflict.data == "skip")
            return _("%(n)d réservation(s) enregistrée(s) dans la série ; %(k)d date(s) "
                     "ignorée(s).", n=len(done.booked),
                     k=len(done.skipped) + len(done.holidays))
        booking = services.book(s, booker, resource.id, req, form.purpose.data or "")
        if booking.status.value == "pending":
            return _("Demande enregistrée : elle attend la validation d'un gestionnaire.")
        return _("Réservation confirmée.")


def submit(form: FlaskForm, apply: Callable[[], str], page: Callable[..., tuple[str, int]],
           done: Callable[[], str]) -> Response | tuple[str, int]:
    """Answer a booking form's POST: ``apply()`` (its confirmation message, flashed)
    then a 303 to ``done()``; on an incomplete form or a refusal, ``page(status,
    error, conflicts)`` again with the reason and the status of the API (400, 409 with
    a series' conflicts, 422); 403/404 as error pages."""
    if not form.validate():
        return page(400, _("Le formulaire est incomplet."), None)
    try:
        message = apply()
    except series.SeriesConflicts as exc:
        return page(409, exc.message, exc.conflicts)
    except (Forbidden, NotFound) as exc:
        abort(exc.status, description=exc.message)
    except DomainError as exc:
        return page(exc.status, exc.message, None)
    flash(message, "notice")
    return redirect(done(), code=303)


@bp.post("/ressources/<int:resource_id>")
@login_required
def book(resource_id: int) -> Response | tuple[str, int]:
    """Book from the form; on refusal the page again, with the reason."""
    form = BookingForm()
    return submit(
        form, lambda: _book(resource_id, form),
        lambda status, error, conflicts: _resource_page(resource_id, form, status, error,
                                                        conflicts),
        lambda: url_for("booking.resource", resource_id=resource_id,
                        semaine=form.day.data.isoformat()))  # type: ignore[union-attr]


@bp.get("/mes-reservations")
@login_required
def mine() -> str:
    """The user's bookings that have not ended, with their state and cancel buttons,
    and the address to subscribe to them from a calendar application."""
    ctx = current_context()
    subscribe = feed_urls(ctx.user_id)["mine"]
    with web_context().db.transaction(write=False) as s:
        rows = [(b, access.school_zone(s, b.resource.domain.school_id))
                for b in my_bookings(s, ctx.user_id)]
        return render_template("booking/mine.html", rows=rows, subscribe=subscribe,
                               current_user_id=ctx.user_id)


def _change(action: Any, done: str, back: str) -> Response:
    ctx = current_context()
    try:
        with web_context().db.transaction() as s:
            action(s, ctx)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(done, "notice")
    return redirect(url_for(back), code=303)


@bp.post("/reservations/<int:booking_id>/annuler")
@login_required
def cancel(booking_id: int) -> Response:
    """Cancel one booking (the booker, the person booked for, or a manager)."""
    return _change(lambda s, ctx: services.cancel(s, ctx, booking_id),
                   _("Réservation annulée."),
                   "booking.queue" if request.form.get("back") == "queue" else "booking.mine")


@bp.post("/series/<series_id>/annuler")
@login_required
def cancel_series(series_id: str) -> Response:
    """Cancel every occurrence of a series that has not ended."""
    return _change(lambda s, ctx: services.cancel_series(s, ctx, series_id),
                   _("Série annulée."), "booking.mine")


@bp.get("/validation")
@login_required
def queue() -> str:
    """The managers' queue of pending requests."""
    ctx = current_context()
    with web_context().db.transaction(write=False) as s:
        if not access.managed_domain_ids(s, ctx.user_id):
            abort(403, description=_("Cette page est réservée aux gestionnaires de "
                                     "ressources."))
        queue = validation.pending_queue(s, ctx)
        names = acl.names_of(s, {b.on_behalf_of or b.booked_by for b in queue})
        rows = [(b, access.school_zone(s, b.resource.domain.school_id),
                 names.get(b.on_behalf_of or b.booked_by, "")) for b in queue]
        return render_template("booking/queue.html", rows=rows)


@bp.post("/validation")
@login_required
def validate_many() -> Response:
    """Validate the ticked requests at once (all or none)."""
    try:
        ids = [int(x) for x in request.form.getlist("ids")]
    except ValueError:
        abort(400)
    if not ids:
        flash(_("Cochez au moins une demande."), "error")
        return redirect(url_for("booking.queue"), code=303)
    return _change(lambda s, ctx: validation.validate_many(s, ctx, ids),
                   _("Demande(s) validée(s) ; les demandes concurrentes ont été refusées."),
                   "booking.queue")


@bp.post("/reservations/<int:booking_id>/refuser")
@login_required
def refuse(booking_id: int) -> Response:
    """Refuse one request with the manager's message."""
    form = RefuseForm()
    if not form.validate():
        abort(400, description=_("Donnez la raison du refus : le demandeur la verra."))
    return _change(lambda s, ctx: validation.refuse(s, ctx, booking_id,
                                                    form.reason.data or ""),
                   _("Demande refusée."), "booking.queue")
