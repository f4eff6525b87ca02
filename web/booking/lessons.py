"""Bookings made for a séance of the textbook (issue 6, "Réserver une ressource" from a
lesson), and how they follow it.

A teacher of the lesson's service books one or more resources for the lesson's time in
one step: all or nothing (the computer room without the tablets the lesson needs is no
use; the first refusal is reported, naming the resource). When the lesson moves, each
of its bookings moves too if the resource is free at the new time (state and quantity
rules; opening hours and notice, which bind requests, do not undo a booking already
granted), else it is cancelled with the reason; when the lesson is cancelled, its
bookings are cancelled. The receivers run in the lesson change's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver.errors import BadRequest, Conflict
from web import textbook

from . import access, rules
from .models import HOLDING, Booking, BookingStatus
from .rules import Request
from .services import Booker, book, held, lock_resource, unavailability


def lesson_bookings(session: Session, lesson_id: int) -> list[Booking]:
    """The confirmed and pending bookings made for the lesson, by resource name."""
    rows = session.scalars(select(Booking).where(Booking.lesson_id == lesson_id,
                                                 Booking.status.in_(HOLDING)))
    return sorted(rows, key=lambda b: (b.resource.name, b.id))


def book_for_lesson(session: Session, ctx: acl.UserContext, lesson_id: int,
                    picks: Sequence[tuple[int, int]], purpose: str = "") -> list[Booking]:
    """Book each ``(resource id, quantity)`` of ``picks`` for the lesson's time, linked
    to it. ``Forbidden`` unless the user teaches the lesson's service; ``Conflict`` for
    a cancelled or past lesson; ``BadRequest`` for no resource picked; then the errors
    of :func:`.services.book` (the first refusal; nothing is kept, as the caller's
    transaction rolls back)."""
    lesson = textbook.get_lesson(session, lesson_id)
    textbook.require_teacher(session, ctx.user_id, lesson)
    if lesson.status is not textbook.LessonStatus.scheduled:
        raise Conflict(_("Cette séance est annulée : rien à réserver."))
    if lesson.end <= datetime.now(lesson.end.tzinfo):
        raise Conflict(_("Cette séance est passée."))
    chosen = {rid: quantity for rid, quantity in picks if quantity > 0}
    if not chosen:
        raise BadRequest(_("Choisissez au moins une ressource."))
    done = []
    for rid, quantity in chosen.items():
        booking = book(session, Booker(ctx), rid, Request(lesson.start, lesson.end, quantity),
                       purpose)
        booking.lesson_id = lesson.id
        done.append(booking)
    session.flush()
    return done


def _free_at(session: Session, booking: Booking, start: datetime, end: datetime) -> str:
    """'' if the booking's units are free from ``start`` to ``end``, else the reason."""
    resource = lock_resource(session, booking.resource_id)
    tz = access.school_zone(session, resource.domain.school_id)
    req = Request(start, end, booking.quantity)
    try:
        rules.check_state(resource, req, unavailability(session, resource.id), tz)
        rules.check_quantity(resource, req, held(session, resource.id, start, end,
                                                 exclude=[booking.id]), tz)
    except (rules.BookingRefused, rules.NoUnitLeft) as exc:
        return exc.message
    return ""


def follow_rescheduled(lesson: textbook.Lesson, *, session: Session, **_kw: Any) -> None:
    """Receiver of :data:`web.textbook.lesson_rescheduled`: move the lesson's bookings
    to its new time, or cancel those whose resource is not free then."""
    for booking in lesson_bookings(session, lesson.id):
        reason = _free_at(session, booking, lesson.start, lesson.end)
        if reason:
            booking.status = BookingStatus.cancelled
            booking.refusal_reason = _("Séance déplacée, ressource non disponible au "
                                       "nouvel horaire : %(reason)s", reason=reason)[:500]
        else:
            booking.start, booking.end = lesson.start, lesson.end
    session.flush()


def follow_cancelled(lesson: textbook.Lesson, *, session: Session, **_kw: Any) -> None:
    """Receiver of :data:`web.textbook.lesson_cancelled`: cancel the lesson's bookings."""
    for booking in lesson_bookings(session, lesson.id):
        booking.status = BookingStatus.cancelled
        booking.refusal_reason = _("Séance annulée.")
    session.flush()


textbook.lesson_rescheduled.connect(follow_rescheduled)
textbook.lesson_cancelled.connect(follow_cancelled)
