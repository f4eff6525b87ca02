"""``POST /api/booking/lessons/<lesson id>/bookings``: "Réserver une ressource" from a
séance in the JSON API (issue 6), with the rules of the page (:mod:`.lesson_pages`):
the lesson's teachers book the place and the equipment for the lesson's time in one
step, one transaction, all or nothing; a refusal is 409 with every refused resource
and its reason. Session, CSRF header and error shape as in :mod:`.api`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field
from werkzeug.wrappers import Response

from ..auth import current_context, web_context
from ..jsonapi import ERROR_DETAILS, api_view, json_body, json_csrf_errors
from ..openapi import documented
from .lessons import LessonConflicts, book_for_lesson
from .present import booking_views

bp = Blueprint("booking_lesson_api", __name__, url_prefix="/api/booking/lessons")


class LessonPick(BaseModel):
    """One resource picked for the lesson, and how many units (an equipment set)."""

    resource_id: int
    quantity: int = Field(1, ge=1)


class LessonBooking(BaseModel):
    """The body of ``POST /api/booking/lessons/<id>/bookings``."""

    resources: list[LessonPick] = Field(min_length=1, max_length=50)
    purpose: str = Field("", max_length=500)


def _details(exc: LessonConflicts) -> dict[str, Any]:
    return {"conflicts": [{"resource": name, "reason": reason}
                          for name, reason in exc.conflicts]}


ERROR_DETAILS[LessonConflicts] = _details
json_csrf_errors(bp)


@bp.post("/<int:lesson_id>/bookings")
@documented(body=LessonBooking, status=201, tag="booking")
@api_view
def book(lesson_id: int) -> tuple[Response, int]:
    """Book resources for a lesson's time in one step, all or nothing.

    The lesson's teachers only. A refusal (409) lists each refused resource with its
    reason (``"conflicts": [{"resource", "reason"}]``) and nothing is booked."""
    body = json_body(LessonBooking)
    ctx = current_context()
    with web_context().db.transaction() as s:
        done = book_for_lesson(s, ctx, lesson_id,
                               [(p.resource_id, p.quantity) for p in body.resources],
                               body.purpose)
        return jsonify({"bookings": booking_views(s, done)}), 201
