"""``/booking/reservations/<id>/modifier``: editing a booking, or its series, in the
browser (issue 6).

GET shows the booking's form filled with its current values; POST applies the change
in place (:func:`.edits.edit`) and goes back to "my bookings" (or the managers' queue,
``?retour=validation``). A refusal shows the form again with its reason and the
status of the API (400, 409, 422); the occurrences of a series that cannot change are
listed, nothing saved, until the user chooses to leave them as they are. Only the
booker and the domain's managers (404 for others, 403 for the person booked for).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from davserver.errors import DomainError

from ..auth import current_context, login_required, web_context
from . import access, edits
from .forms import EditForm
from .pages import submit

bp = Blueprint("booking_edit", __name__, url_prefix="/booking/reservations")


def _back() -> str:
    return url_for("booking.queue" if request.args.get("retour") == "validation"
                   else "booking.mine")


def _page(booking_id: int, form: EditForm | None, status: int = 200,
          error: str | None = None, conflicts: Any = None) -> tuple[str, int]:
    """The form; ``form`` None: filled from the booking."""
    ctx = current_context()
    try:
        with web_context().db.transaction(write=False) as s:
            booking = edits.editable(s, ctx, booking_id)
            tz = access.school_zone(s, booking.resource.domain.school_id)
            if form is None:
                start, end = booking.start.astimezone(tz), booking.end.astimezone(tz)
                form = EditForm(formdata=None, day=start.date(), start=start.time(),
                                end=end.time(), quantity=booking.quantity,
                                purpose=booking.purpose)
            page = render_template("booking/edit.html", booking=booking, tz=tz, form=form,
                                   error=error, conflicts=conflicts, back=_back())
    except DomainError as exc:  # 403, 404, 409 (ended, cancelled): an error page
        abort(exc.status, description=exc.message)
    return page, status


@bp.get("/<int:booking_id>/modifier")
@login_required
def edit(booking_id: int) -> tuple[str, int]:
    """The edit form of a booking."""
    return _page(booking_id, None)


def _apply(booking_id: int, form: EditForm) -> str:
    """Apply the form's change; returns the confirmation message."""
    ctx = current_context()
    with web_context().db.transaction() as s:
        booking = edits.editable(s, ctx, booking_id)
        tz = access.school_zone(s, booking.resource.domain.school_id)
        start = datetime.combine(form.day.data, form.start.data, tz)  # type: ignore[arg-type]
        end = datetime.combine(form.day.data, form.end.data, tz)  # type: ignore[arg-type]
        result = edits.edit(s, ctx, booking_id,
                            edits.Change(start, end, form.quantity.data,
                                         form.purpose.data or ""),
                            form.scope.data or "one",
                            skip_conflicts=form.on_conflict.data == "skip")
        pending = sum(1 for b in result.changed if b.status.value == "pending")
        message = _("%(n)d réservation(s) modifiée(s) ; %(k)d date(s) laissée(s) telle(s) "
                    "quelle(s).", n=len(result.changed), k=len(result.skipped))
        if pending:
            message += " " + _("%(n)d attendent la validation d'un gestionnaire.", n=pending)
        return message


@bp.post("/<int:booking_id>/modifier")
@login_required
def update(booking_id: int) -> Response | tuple[str, int]:
    """Apply the edit; on refusal the form again, with the reason."""
    form = EditForm()
    return submit(form, lambda: _apply(booking_id, form),
                  lambda status, error, conflicts: _page(booking_id, form, status, error,
                                                         conflicts),
                  _back)
