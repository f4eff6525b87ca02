"""``/booking/seances/<lesson id>``: "Réserver une ressource" from a séance (issue 6).

GET shows a two-list picker: on the left the resources of the domains the teacher may
book in, with their free units at the lesson's time (those with none greyed out); on
the right the chosen ones, moved across with buttons (``booking-picker.js``); a place
named like the lesson's room starts on the right. Without JavaScript the left list is
a plain multiple select. POST books the chosen resources (fields ``pick``, one per
resource id; ``q<id>`` the quantity of an equipment set, 1 by default) in one step,
all or nothing, and goes back to the lesson page; a refusal shows the picker again
with each refused resource and its reason. Only the lesson's teachers (403
otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from davserver.errors import DomainError, Forbidden, NotFound
from web import textbook

from ..auth import current_context, login_required, web_context
from ..forms import parse_number
from . import access
from .lessons import LessonConflicts, book_for_lesson, lesson_bookings
from .present import resources_of
from .rules import local_text, peak_use
from .services import held

bp = Blueprint("booking_lessons", __name__, url_prefix="/booking/seances")


def _page(lesson_id: int, error: str | None = None, status: int = 200,
          picks: dict[int, int] | None = None,
          conflicts: list[tuple[str, str]] | None = None) -> tuple[str, int]:
    """The picker; ``picks`` (resource id → quantity) start on the right."""
    ctx = current_context()
    with web_context().db.transaction(write=False) as s:
        try:
            lesson = textbook.get_lesson(s, lesson_id)
            textbook.require_teacher(s, ctx.user_id, lesson)
        except NotFound:
            abort(404)
        except Forbidden as exc:
            abort(403, description=exc.message)
        choices: list[tuple[Any, list[tuple[Any, int]]]] = []
        for domain in access.visible_domains(s, ctx):
            rows = []
            for r in resources_of(s, domain.id):
                used = peak_use(held(s, r.id, lesson.start, lesson.end), lesson.start,
                                lesson.end)
                rows.append((r, max(r.quantity - used, 0) if r.active else 0))
            choices.append((domain, rows))
        if picks is None:
            room = (lesson.room or "").strip().casefold()
            picks = {r.id: 1 for _d, rows in choices for r, free in rows
                     if room and free and r.kind.value == "place"
                     and room in (r.name.strip().casefold(), r.location.strip().casefold())}
        tz = textbook.school_zone(
            s, s.get_one(textbook.TeachingService, lesson.service_id).school_id)
        page = render_template("booking/lesson.html", lesson=lesson, choices=choices,
                               booked=lesson_bookings(s, lesson.id), error=error,
                               picks=picks, conflicts=conflicts or [],
                               when=local_text(lesson.start, tz),
                               service=textbook.service_titles(s, [s.get_one(
                                   textbook.TeachingService, lesson.service_id)])[
                                   lesson.service_id],
                               until=f"{lesson.end.astimezone(tz):%H:%M}")
    return page, status


@bp.get("/<int:lesson_id>")
@login_required
def lesson(lesson_id: int) -> tuple[str, int]:
    """The resources free at the lesson's time, to pick from."""
    return _page(lesson_id)


@bp.post("/<int:lesson_id>")
@login_required
def book(lesson_id: int) -> Response | tuple[str, int]:
    """Book the chosen resources for the lesson in one step, all or nothing."""
    picks: dict[int, int] = {}
    for value in request.form.getlist("pick"):
        quantity = request.form.get(f"q{value}", "1").strip() or "1"
        resource, count = parse_number(value), parse_number(quantity)
        if resource is None or count is None:
            return _page(lesson_id, _("Quantité « %(v)s » invalide.", v=quantity[:20]), 400)
        picks[resource] = count
    ctx = current_context()
    try:
        with web_context().db.transaction() as s:
            done = book_for_lesson(s, ctx, lesson_id, list(picks.items()),
                                   request.form.get("purpose", "").strip())
            pending = sum(1 for b in done if b.status.value == "pending")
            count = len(done)
    except Forbidden as exc:
        abort(403, description=exc.message)
    except NotFound:
        abort(404)
    except LessonConflicts as exc:
        return _page(lesson_id, exc.message, exc.status, picks, exc.conflicts)
    except DomainError as exc:
        return _page(lesson_id, exc.message, exc.status, picks)
    message = _("%(n)d ressource(s) réservée(s) pour la séance.", n=count)
    if pending:
        message += " " + _("%(n)d demande(s) attendent la validation d'un gestionnaire.",
                           n=pending)
    flash(message, "notice")
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id), code=303)
