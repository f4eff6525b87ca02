"""``/booking/seances/<lesson id>``: "Réserver une ressource" from a séance (issue 6).

GET lists, for the lesson's time, the resources of the domains the teacher may book
in with their free units, and what is already booked for the lesson; POST books the
quantities chosen (fields ``r<resource id>``), all or nothing, and goes back to the
lesson page. Only the lesson's teachers (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from davserver.errors import DomainError, Forbidden, NotFound
from web import textbook

from ..auth import current_context, login_required, web_context
from . import access
from .lessons import book_for_lesson, lesson_bookings
from .present import resources_of
from .rules import local_text
from .services import held

bp = Blueprint("booking_lessons", __name__, url_prefix="/booking/seances")


def _page(lesson_id: int, error: str | None = None, status: int = 200) -> tuple[str, int]:
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
                used = sum(q for _s, _e, q in held(s, r.id, lesson.start, lesson.end))
                rows.append((r, max(r.quantity - used, 0) if r.active else 0))
            choices.append((domain, rows))
        tz = textbook.school_zone(
            s, s.get_one(textbook.TeachingService, lesson.service_id).school_id)
        page = render_template("booking/lesson.html", lesson=lesson, choices=choices,
                               booked=lesson_bookings(s, lesson.id), error=error,
                               when=local_text(lesson.start, tz),
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
    """Book the chosen quantities for the lesson, all or nothing."""
    picks = []
    for key, value in request.form.items():
        if key.startswith("r") and key[1:].isdigit() and value.strip():
            if not value.strip().isdigit():
                return _page(lesson_id, _("Quantité « %(v)s » invalide.", v=value), 400)
            picks.append((int(key[1:]), int(value)))
    ctx = current_context()
    try:
        with web_context().db.transaction() as s:
            done = book_for_lesson(s, ctx, lesson_id, picks,
                                   request.form.get("purpose", "").strip())
            pending = sum(1 for b in done if b.status.value == "pending")
            count = len(done)
    except Forbidden as exc:
        abort(403, description=exc.message)
    except NotFound:
        abort(404)
    except DomainError as exc:
        return _page(lesson_id, exc.message, exc.status)
    message = _("%(n)d ressource(s) réservée(s) pour la séance.", n=count)
    if pending:
        message += " " + _("%(n)d demande(s) attendent la validation d'un gestionnaire.",
                           n=pending)
    flash(message, "notice")
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id), code=303)
