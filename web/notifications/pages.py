"""Notification pages (issue 7, "Notifications"), server-rendered in French.

* ``/notifications/``: the signed-in user's notifications, newest first, 50 a page
  (``?page=2``), each with "Marquer comme lue" and, when it has a link, "Ouvrir"
  (marks it read, then goes there); "Tout marquer comme lu".
* ``/notifications/preferences``: the "Recevoir les notifications" e-mail choice.
* Every page's header shows the unread count (one query; none for anonymous visitors).

Every change is a POST carrying its CSRF token (Flask-WTF answers 403 without it);
another user's notification is 404 like a missing one (STYLE.md habit 12).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField

import acl
from davserver.errors import NotFound
from web.auth import current_principal, login_required, safe_next, web_context
from web.forms import parse_number

from . import services as service
from .services import mail_enabled

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PAGE_SIZE = 50


class PreferencesForm(FlaskForm):
    """The e-mail choice (CSRF token included)."""

    email = BooleanField(_l("Recevoir les notifications"))


def _user_id() -> int:
    principal = current_principal()
    assert principal is not None, "view not behind login_required"
    return principal.id


@bp.app_context_processor
def _unread() -> dict[str, Any]:
    """The header's unread count: one query, for signed-in users only."""
    principal = current_principal()
    if principal is None:
        return {"unread_notifications": 0}
    with web_context().db.transaction(write=False) as s:
        return {"unread_notifications": service.unread_count(s, principal.id)}


@bp.get("/")
@login_required
def index() -> str:
    """The user's notifications, newest first."""
    page = request.args.get("page", "1")
    number = parse_number(page, maximum=10**6)
    if number is None or number < 1:
        abort(400, description=_("Numéro de page invalide."))
    with web_context().db.transaction(write=False) as s:
        rows = service.notifications_of(s, _user_id(), limit=PAGE_SIZE + 1,
                                        offset=(number - 1) * PAGE_SIZE)
    return render_template("notifications/index.html", notes=rows[:PAGE_SIZE],
                           page=number, more=len(rows) > PAGE_SIZE)


def _mark(notification_id: int) -> str | None:
    """Mark one read; its link. 404 when it is not the user's."""
    try:
        with web_context().db.transaction() as s:
            return service.mark_read(s, _user_id(), notification_id).link
    except NotFound:
        abort(404)


@bp.post("/<int:notification_id>/lue")
@login_required
def mark_read(notification_id: int) -> Response:
    """Mark one notification read, back to the list."""
    _mark(notification_id)
    return redirect(url_for("notifications.index"), code=303)


@bp.post("/<int:notification_id>/ouvrir")
@login_required
def open_link(notification_id: int) -> Response:
    """Mark one notification read and go to its link (a path on this site)."""
    link = _mark(notification_id)
    return redirect(safe_next(link) if link else url_for("notifications.index"), code=303)


@bp.post("/tout-lu")
@login_required
def mark_all_read() -> Response:
    """Mark all of the user's notifications read."""
    with web_context().db.transaction() as s:
        count = service.mark_all_read(s, _user_id())
    flash(_("%(n)d notification(s) marquée(s) comme lue(s).", n=count), "notice")
    return redirect(url_for("notifications.index"), code=303)


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences() -> str | Response:
    """GET: the e-mail choice; POST: record it."""
    uid = _user_id()
    form = PreferencesForm()
    if form.validate_on_submit():
        with web_context().db.transaction() as s:
            service.set_wants_email(s, uid, bool(form.email.data))
        flash(_("Préférences enregistrées."), "notice")
        return redirect(url_for("notifications.preferences"), code=303)
    with web_context().db.transaction(write=False) as s:
        form.email.data = service.wants_email(s, uid)
        contact = acl.contacts_of(s, {uid}).get(uid)
    return render_template("notifications/preferences.html", form=form,
                           address=contact.email if contact else None,
                           mail_on=mail_enabled())
