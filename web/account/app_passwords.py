"""``/account/``: the user's account page, with their app passwords for drives and
sync clients (:mod:`acl.app_passwords`): make one per device (shown once, on the
answer to the form, never again), see when each was last used and from where, revoke
one at once.

Any signed-in user may make them: people who sign in through an identity provider
need one to mount their drive, others may prefer one to typing their own password
into a device. Making and revoking are journaled by :mod:`acl.app_passwords`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length

import acl
from davserver.errors import DomainError, NotFound

from ..auth import login_required, signed_in, web_context

bp = Blueprint("account", __name__, url_prefix="/account")


class NewAppPasswordForm(FlaskForm):
    """Label of a new app password (the device it is for)."""

    label = StringField(_l("Appareil"), validators=[
        DataRequired(_l("Nommez l'appareil, par exemple « Explorateur au collège ».")),
        Length(max=acl.app_passwords.MAX_LABEL)])


class RevokeForm(FlaskForm):
    """A revoke button: a POST with its CSRF token."""


DEFAULT_ZONE = "Europe/Paris"


def _when(seconds: float | None, zone: ZoneInfo) -> str | None:
    """``seconds`` (UTC epoch) as the school's wall clock shows it: ``06/12/2026 09:30``."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).astimezone(zone).strftime("%d/%m/%Y %H:%M")


def _page(form: NewAppPasswordForm, *, secret: str | None = None,
          created_label: str | None = None, status: int = 200) -> tuple[str, int]:
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:
        rows = acl.app_passwords_of(s, principal.id)
        school = acl.school_of_user(s, principal.id)
        zone = ZoneInfo(acl.school_info(s, school).time_zone if school else DEFAULT_ZONE)
    listed: list[dict[str, Any]] = [
        {"id": r.id, "label": r.label, "created": _when(r.created, zone),
         "last_used": _when(r.last_used, zone), "last_address": r.last_address}
        for r in rows]
    return render_template("account/index.html", form=form, revoke_form=RevokeForm(),
                           app_passwords=listed, secret=secret,
                           created_label=created_label,
                           dav_url=url_for("pages.index", _external=True) + "dav/"), status


@bp.get("/")
@login_required
def index() -> tuple[str, int]:
    """The account page: app passwords and the form to make one."""
    return _page(NewAppPasswordForm())


@bp.post("/app-passwords")
@login_required
def create() -> tuple[str, int]:
    """Make an app password and show it, once, in the answer (never in a redirect or
    a flashed message, which would keep it)."""
    form = NewAppPasswordForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    principal = signed_in()
    try:
        with web_context().db.transaction() as s:
            row, secret = acl.create_app_password(s, principal, form.label.data or "",
                                                  actor=principal)
            label = row.label
    except DomainError as refused:
        form.label.errors = [*form.label.errors, _explain(refused)]
        return _page(form, status=refused.status)
    return _page(NewAppPasswordForm(formdata=None), secret=secret, created_label=label)


def _explain(refused: DomainError) -> str:
    """The refusal in the page's language."""
    if refused.status == 409 and "already has" in refused.message:
        return _("Vous avez déjà un mot de passe d'application pour cet appareil : "
                 "choisissez un autre nom, ou révoquez l'ancien.")
    if refused.status == 409:
        return _("Vous avez trop de mots de passe d'application : révoquez ceux qui ne "
                 "servent plus.")
    return _("Ce nom ne convient pas : %(reason)s", reason=refused.message)


@bp.post("/app-passwords/<int:app_password_id>/revoke")
@login_required
def revoke(app_password_id: int) -> Response:
    """Revoke one of the user's app passwords (404 for another's)."""
    principal = signed_in()
    try:
        with web_context().db.transaction() as s:
            gone = acl.revoke_app_password(s, principal.id, app_password_id,
                                           actor=principal)
    except NotFound:
        abort(404, description=_("Ce mot de passe d'application n'existe pas, ou plus."))
    flash(_("Le mot de passe d'application « %(label)s » est révoqué : l'appareil "
            "ne peut plus ouvrir votre espace.", label=gone.label), "notice")
    return redirect(url_for("account.index"))
