"""Subscription URLs of the booking calendars (issue 6), for calendar applications.

* ``GET /booking/ical/<secret>/mes-reservations.ics``: the secret's owner's bookings;
* ``GET /booking/ical/<secret>/ressources/<id>.ics``: a resource's bookings, while the
  owner may book in its domain;
* ``POST /booking/ical/renouveler``: a new secret for the signed-in user (the old links
  stop working), back to "Mes réservations".

The feeds need no session (calendar applications cannot sign in): the secret in the
path is the credential. An unknown, renewed or disabled owner's secret answers 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from davserver.errors import Forbidden, NotFound

from ..auth import current_principal, login_required, web_context
from . import feeds

bp = Blueprint("booking_feeds", __name__, url_prefix="/booking/ical")


def _calendar(body: bytes, filename: str) -> Response:
    return Response(body, content_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'inline; filename="{filename}"',
        # The URL is a secret: keep it out of shared caches and of other sites' logs.
        "Cache-Control": "private, max-age=300",
        "Referrer-Policy": "no-referrer",
    })


@bp.get("/<token>/mes-reservations.ics")
def mine(token: str) -> Response:
    """The owner's confirmed and pending bookings."""
    with web_context().db.transaction(write=False) as s:
        owner = feeds.token_owner(s, token)
        if owner is None:
            abort(404)
        body = feeds.user_feed(s, owner, request.host.split(":")[0])
    return _calendar(body, "mes-reservations.ics")


@bp.get("/<token>/ressources/<int:resource_id>.ics")
def resource(token: str, resource_id: int) -> Response:
    """A resource's confirmed and pending bookings."""
    with web_context().db.transaction(write=False) as s:
        owner = feeds.token_owner(s, token)
        if owner is None:
            abort(404)
        try:
            body = feeds.resource_feed(s, owner, resource_id, request.host.split(":")[0])
        except NotFound:
            abort(404)
        except Forbidden as exc:
            abort(403, description=exc.message)
    return _calendar(body, f"ressource-{resource_id}.ics")


@bp.post("/renouveler")
@login_required
def renew() -> Response:
    """Replace the signed-in user's feed secret."""
    principal = current_principal()
    assert principal is not None
    with web_context().db.transaction() as s:
        feeds.feed_token(s, principal.id, renew=True)
    flash(_("Nouveau lien d'abonnement créé : les anciens liens ne fonctionnent plus."))
    return redirect(url_for("booking.mine"))


def feed_urls(user_id: int, resource_id: int | None = None) -> dict[str, str]:
    """Absolute subscription URLs of the user's feeds (made on first use): ``mine``,
    and ``resource`` when ``resource_id`` is given. Opens a write transaction."""
    with web_context().db.transaction() as s:
        token = feeds.feed_token(s, user_id)
    urls = {"mine": url_for("booking_feeds.mine", token=token, _external=True)}
    if resource_id is not None:
        urls["resource"] = url_for("booking_feeds.resource", token=token,
                                   resource_id=resource_id, _external=True)
    return urls
