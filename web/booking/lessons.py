"""Bookings made for a séance of the textbook (issue 6, "Réserver une ressource" from a
lesson), and how they follow it.

A teacher of the lesson's service books one or more resources for the lesson's time in
one step, in one transaction: all or nothing (the computer room without the tablets
the lesson needs is no use). Every resource is checked, and each refusal is reported
with its resource and reason (:class:`LessonConflicts`). The resources are locked in
the order of their ids, as :func:`.services.book` locks one, so two teachers picking
the same resources never wait for each other in a circle (PostgreSQL). When the lesson moves, each
of its bookings moves too if the resource is free at the new time (state and quantity
rules; opening hours and notice, which bind requests, do not undo a booking already
granted), else it is cancelled with the reason; when the lesson is cancelled, its
bookings are cancelled. The receivers run in the lesson change's transaction; the
bookers other than the teacher who changed the lesson are notified.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver import clock
from davserver.errors import BadRequest, Conflict
from web import textbook
from web.notifications import NotificationKind, notify_many

from . import access, rules
from .models import HOLDING, Booking, BookingStatus
from .rules import Request
from .services import Booker, book, held, lock_resource, unavailability
from .validation import MINE_PATH


class LessonConflicts(Conflict):
    """Some resources picked for a lesson cannot be booked (HTTP 409); nothing was
    saved. ``conflicts``: (resource name, reason in French) of each."""

    def __init__(self, message: str, conflicts: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.conflicts = conflicts


def lesson_bookings(session: Session, lesson_id: int) -> list[Booking]:
    """The confirmed and pending bookings made for the lesson, by resource name."""
    rows = session.scalars(select(Booking).where(Booking.lesson_id == lesson_id,
                                                 Booking.status.in_(HOLDING)))
    return sorted(rows, key=lambda b: (b.resource.name, b.id))


def book_for_lesson(session: Session, ctx: acl.UserContext, lesson_id: int,
                    picks: Sequence[tuple[int, int]], purpose: str = "") -> list[Booking]:
    """Book each ``(resource id, quantity)`` of ``picks`` for the lesson's time, linked
    to it, all or nothing. ``Forbidden`` unless the user teaches the lesson's service;
    ``Conflict`` for a cancelled or past lesson; ``BadRequest`` for no resource picked
    or a bad quantity; ``NotFound``/``Forbidden`` for a resource the user may not book;
    :class:`LessonConflicts` listing every resource refused by a rule or its quantity
    (nothing is kept: the caller's transaction rolls back the others)."""
    lesson = textbook.get_lesson(session, lesson_id)
    textbook.require_teacher(session, ctx.user_id, lesson)
    if lesson.status is not textbook.LessonStatus.scheduled:
        raise Conflict(_("Cette séance est annulée : rien à réserver."))
    if lesson.end <= clock.now():
        raise Conflict(_("Cette séance est passée."))
    chosen = {rid: quantity for rid, quantity in picks if quantity > 0}
    if not chosen:
        raise BadRequest(_("Choisissez au moins une ressource."))
    done, refused = [], []
    for rid, quantity in sorted(chosen.items()):  # lock order: by resource id
        name = access.resource_for(session, ctx, rid).name
        try:
            booking = book(session, Booker(ctx), rid,
                           Request(lesson.start, lesson.end, quantity), purpose)
        except (rules.BookingRefused, rules.NoUnitLeft) as exc:
            refused.append((name, exc.message))
            continue
        booking.lesson_id = lesson.id
        done.append(booking)
    if refused:
        raise LessonConflicts(_("%(n)d ressource(s) ne peuvent pas être réservées pour "
                                "cette séance ; rien n'a été réservé.", n=len(refused)),
                              refused)
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


def _tell(session: Session, booking: Booking, by: int | None, what: str) -> None:
    """Notify the booker and the person booked for (not ``by``, who made the change)."""
    tz = access.school_zone(session, booking.resource.domain.school_id)
    subject = _("Réservation de « %(name)s » : %(what)s", name=booking.resource.name,
                what=what)
    body = _("Votre réservation de « %(name)s » pour la séance du %(when)s : %(what)s",
             name=booking.resource.name, when=rules.local_text(booking.start, tz),
             what=what)
    people = {p for p in (booking.booked_by, booking.on_behalf_of) if p and p != by}
    notify_many(session, people, NotificationKind.booking_changed, subject, body,
                MINE_PATH)


def follow_rescheduled(lesson: textbook.Lesson, *, session: Session, by: int | None = None,
                       **_kw: Any) -> None:
    """Receiver of :data:`web.textbook.lesson_rescheduled`: move the lesson's bookings
    to its new time, or cancel those whose resource is not free then."""
    for booking in lesson_bookings(session, lesson.id):
        reason = _free_at(session, booking, lesson.start, lesson.end)
        if reason:
            booking.status = BookingStatus.cancelled
            booking.refusal_reason = _("Séance déplacée, ressource non disponible au "
                                       "nouvel horaire : %(reason)s", reason=reason)[:500]
            _tell(session, booking, by, booking.refusal_reason)
        else:
            booking.start, booking.end = lesson.start, lesson.end
            _tell(session, booking, by, _("déplacée avec la séance."))
    session.flush()


def follow_cancelled(lesson: textbook.Lesson, *, session: Session, by: int | None = None,
                     **_kw: Any) -> None:
    """Receiver of :data:`web.textbook.lesson_cancelled`: cancel the lesson's bookings."""
    for booking in lesson_bookings(session, lesson.id):
        booking.status = BookingStatus.cancelled
        booking.refusal_reason = _("Séance annulée.")
        _tell(session, booking, by, _("annulée avec la séance."))
    session.flush()


def moved_note(lesson_id: int, *, session: Session, **_kw: Any) -> str:
    """Receiver of :data:`web.textbook.lesson_move_noted`: how many of the lesson's
    bookings followed it, for the teacher's message ("" when none)."""
    kept = len(lesson_bookings(session, lesson_id))
    return _(" %(n)d réservation(s) de ressources suivent la séance.", n=kept) if kept else ""


textbook.lesson_rescheduled.connect(follow_rescheduled)
textbook.lesson_move_noted.connect(moved_note)


def booked_lines(lesson_id: int, *, session: Session, **_kw: Any) -> list[str]:
    """Receiver of :data:`web.textbook.lesson_resources_asked`: one line per resource
    booked for the lesson (« Salle informatique 1 · Bâtiment B, salle 12 », its
    quantity when more than one, « en attente de validation » while pending)."""
    lines = []
    for booking in lesson_bookings(session, lesson_id):
        parts = [booking.resource.name]
        if booking.quantity > 1:
            parts.append(_("%(n)d unités", n=booking.quantity))
        if booking.resource.location:
            parts.append(booking.resource.location)
        if booking.status is BookingStatus.pending:
            parts.append(_("en attente de validation"))
        lines.append(" · ".join(parts))
    return lines


textbook.lesson_resources_asked.connect(booked_lines)
textbook.lesson_cancelled.connect(follow_cancelled)
