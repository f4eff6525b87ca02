"""JSON API of booking under ``/api/booking/``, with the same rules as the pages.

Authentication is the web layer's: the session cookie of ``/login`` (the web layer has
no Basic authentication). Every POST and PATCH carries the session's CSRF token in the
``X-CSRFToken`` header (Flask-WTF), read from ``GET /api/booking/session``. Answers:
200/201 with JSON; errors are ``{"error": "<French reason>"}`` with 400 (bad input),
401 (not signed in), 403 (not allowed, or a missing CSRF token), 404, 409 (no unit
left, or a series with conflicts: ``"conflicts": [{"start", "end", "reason"}]``), 422
(a booking rule).

Times are ISO 8601: with an offset (``2026-05-12T14:00:00+02:00``, ``…Z``), or without
one for the school's wall-clock time. Answers give them in UTC (``start``, ``end``) and
in the school's time (``local_start``, ``local_end``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel, Field
from werkzeug.wrappers import Response

import acl

from ..auth import current_context, current_principal, web_context
from ..jsonapi import ERROR_DETAILS, api_view, json_body, json_csrf_errors
from ..openapi import documented
from . import access, edits, series, services, validation
from .models import Booking
from .present import (
    booking_view,
    booking_views,
    domain_view,
    my_bookings,
    parse_when,
    week_bookings,
)
from .rules import Request

bp = Blueprint("booking_api", __name__, url_prefix="/api/booking")


class Repeat(BaseModel):
    """A series: every 1 or 2 weeks until a date; ``on_conflict`` "report" (nothing
    saved, 409 listing the conflicts) or "skip" (book the others)."""

    every_weeks: int = Field(1, ge=1, le=2)
    until: date
    on_conflict: str = Field("report", pattern="^(report|skip)$")


class NewBooking(BaseModel):
    """The body of ``POST /api/booking/bookings``."""

    resource_id: int
    start: str
    end: str
    quantity: int = Field(1, ge=1)
    purpose: str = Field("", max_length=500)
    on_behalf_of: str | None = None
    repeat: Repeat | None = None


class BookingEdit(BaseModel):
    """The body of ``PATCH /api/booking/bookings/<id>``: the fields to change (absent:
    unchanged); ``scope`` "one" (this booking) or "series" (every occurrence of its
    series that has not started, shifted like this one); ``on_conflict`` as for a
    series."""

    start: str | None = None
    end: str | None = None
    quantity: int | None = Field(None, ge=1)
    purpose: str | None = Field(None, max_length=500)
    scope: str = Field("one", pattern="^(one|series)$")
    on_conflict: str = Field("report", pattern="^(report|skip)$")


class Refusal(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class Many(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=500)


def _series_details(exc: series.SeriesConflicts) -> dict[str, Any]:
    return {"conflicts": [{"start": o.start.isoformat(), "end": o.end.isoformat(),
                           "reason": o.reason} for o in exc.conflicts]}


ERROR_DETAILS[series.SeriesConflicts] = _series_details
json_csrf_errors(bp)


@bp.get("/session")
@documented(tag="booking")
@api_view
def session_info() -> Response:
    """The signed-in user's login and the CSRF token for the POSTs of this session."""
    principal = current_principal()
    assert principal is not None
    return jsonify({"login": principal.login, "csrf_token": generate_csrf()})


@bp.get("/domains")
@documented(tag="booking")
@api_view
def domains() -> Response:
    """The domains the user may book in, with their resources."""
    ctx = current_context()
    with web_context().db.transaction(write=False) as s:
        return jsonify([domain_view(s, d, ctx) for d in access.visible_domains(s, ctx)])


@bp.get("/resources/<int:resource_id>/bookings")
@documented(query={"week": "un jour de la semaine voulue, AAAA-MM-JJ (défaut : cette "
                         "semaine)"}, tag="booking")
@api_view
def resource_bookings(resource_id: int) -> Response:
    """The resource's bookings holding units in the week of ``?week=YYYY-MM-DD``
    (default: this week)."""
    ctx = current_context()
    with web_context().db.transaction(write=False) as s:
        resource = access.resource_for(s, ctx, resource_id)
        tz = access.school_zone(s, resource.domain.school_id)
        rows, _monday = week_bookings(s, resource, request.args.get("week"), tz)
        return jsonify(booking_views(s, rows))


def _skipped(skipped: list[series.Occurrence]) -> list[dict[str, str]]:
    return [{"start": o.start.isoformat(), "end": o.end.isoformat(), "reason": o.reason}
            for o in skipped]


def _create(s: Any, ctx: acl.UserContext, body: NewBooking) -> tuple[Any, int]:
    resource = access.resource_for(s, ctx, body.resource_id)
    tz = access.school_zone(s, resource.domain.school_id)
    booker = services.Booker(ctx, access.beneficiary(s, ctx, resource.domain,
                                                     body.on_behalf_of))
    req = Request(parse_when(body.start, tz, "start"), parse_when(body.end, tz, "end"),
                  body.quantity)
    if body.repeat is None:
        return booking_view(s, services.book(s, booker, resource.id, req, body.purpose)), 201
    result = series.book_series(s, booker, resource.id, req, body.repeat.every_weeks,
                                body.repeat.until, body.purpose,
                                skip_conflicts=body.repeat.on_conflict == "skip")
    return {"series_id": result.series_id,
            "bookings": booking_views(s, result.booked),
            "skipped": _skipped(result.skipped),
            "holidays": [d.isoformat() for d in result.holidays]}, 201


@bp.post("/bookings")
@documented(body=NewBooking, status=201, tag="booking")
@api_view
def create() -> tuple[Response, int]:
    """Book a resource, once or as a series (body: :class:`NewBooking`)."""
    body = json_body(NewBooking)
    ctx = current_context()
    with web_context().db.transaction() as s:
        answer, status = _create(s, ctx, body)
    return jsonify(answer), status


@bp.patch("/bookings/<int:booking_id>")
@documented(body=BookingEdit, tag="booking")
@api_view
def update(booking_id: int) -> Response:
    """Edit a booking, or every occurrence of its series that has not started, in place.

    Same rules as booking; the booker and the domain's managers only. A series with
    occurrences that cannot change: 409 listing them, nothing saved, or with
    ``on_conflict`` "skip" they stay as they were. Answers the bookings changed and
    the occurrences skipped."""
    body = json_body(BookingEdit)
    ctx = current_context()
    with web_context().db.transaction() as s:
        found = edits.editable(s, ctx, booking_id)  # 404/403/409 before reading dates
        tz = access.school_zone(s, found.resource.domain.school_id)
        change = edits.Change(parse_when(body.start, tz, "start") if body.start else None,
                              parse_when(body.end, tz, "end") if body.end else None,
                              body.quantity, body.purpose)
        result = edits.edit(s, ctx, booking_id, change, body.scope,
                            skip_conflicts=body.on_conflict == "skip")
        return jsonify({"bookings": booking_views(s, result.changed),
                        "skipped": _skipped(result.skipped)})


@bp.get("/bookings/mine")
@documented(tag="booking")
@api_view
def mine() -> Response:
    """The user's bookings (made by or for them) that have not ended, by start."""
    ctx = current_context()
    with web_context().db.transaction(write=False) as s:
        return jsonify(booking_views(s, my_bookings(s, ctx.user_id)))


def _one(change: Callable[[Any, acl.UserContext], Booking]) -> Response:
    ctx = current_context()
    with web_context().db.transaction() as s:
        booking = change(s, ctx)
        return jsonify(booking_view(s, booking))


@bp.post("/bookings/<int:booking_id>/cancel")
@documented(tag="booking")
@api_view
def cancel(booking_id: int) -> Response:
    """Cancel one booking (or one occurrence of a series)."""
    return _one(lambda s, ctx: services.cancel(s, ctx, booking_id))


@bp.post("/series/<series_id>/cancel")
@documented(tag="booking")
@api_view
def cancel_series(series_id: str) -> Response:
    """Cancel the occurrences of a series that have not ended."""
    ctx = current_context()
    with web_context().db.transaction() as s:
        done = services.cancel_series(s, ctx, series_id)
        return jsonify({"cancelled": [b.id for b in done]})


@bp.get("/pending")
@documented(tag="booking")
@api_view
def pending() -> Response:
    """The managers' queue: pending requests of the domains the user manages."""
    ctx = current_context()
    with web_context().db.transaction(write=False) as s:
        return jsonify(booking_views(s, validation.pending_queue(s, ctx)))


def _outcome(outcome: validation.Outcome) -> Response:
    return jsonify({"confirmed": [b.id for b in outcome.confirmed],
                    "refused": [{"id": b.id, "reason": b.refusal_reason}
                                for b in outcome.refused]})


@bp.post("/bookings/<int:booking_id>/validate")
@documented(tag="booking")
@api_view
def validate(booking_id: int) -> Response:
    """Confirm a pending request; competitors that no longer fit are refused."""
    ctx = current_context()
    with web_context().db.transaction() as s:
        return _outcome(validation.validate(s, ctx, booking_id))


@bp.post("/validate")
@documented(body=Many, tag="booking")
@api_view
def validate_many() -> Response:
    """Confirm several pending requests at once (body ``{"ids": [...]}``), all or none."""
    body = json_body(Many)
    ctx = current_context()
    with web_context().db.transaction() as s:
        return _outcome(validation.validate_many(s, ctx, body.ids))


@bp.post("/bookings/<int:booking_id>/refuse")
@documented(body=Refusal, tag="booking")
@api_view
def refuse(booking_id: int) -> Response:
    """Refuse a pending request with the manager's message (body ``{"reason": ...}``)."""
    body = json_body(Refusal)
    return _one(lambda s, ctx: validation.refuse(s, ctx, booking_id, body.reason))
