"""``/login/v2/flow/<login token>``: the browser's side of Login Flow v2
(:mod:`acl.login_flows`; the app's side is :mod:`davserver.sync_api`).

The app opens this address in the browser. The user signs in first, any way in (a
local password, CAS, SAML: :func:`web.auth.login_required` sends them to the sign-in
page and back here), then accepts the charter if they have not (the charter's gate,
:mod:`web.account.charter`), then sees the grant page: "Autoriser <device> à accéder
à vos fichiers ?", with the device's name, where and when the app asked (so that a
link sent by someone else shows for what it is), a button to grant and one to
cancel, both CSRF-protected POSTs. Granting makes the app password (named after the
device, listed in ``/account/``, revocable there); the app collects it on its next
poll. An address that is no pending flow's (unknown, expired, answered) gets a 404
page saying to start again from the app.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_wtf import FlaskForm

import acl
from davserver.errors import DomainError, NotFound

from ..auth import login_required, signed_in, web_context
from .app_passwords import DEFAULT_ZONE

bp = Blueprint("login_flow", __name__, url_prefix="/login/v2/flow")


class AnswerForm(FlaskForm):
    """The grant and cancel buttons: a POST with its CSRF token."""


def _expired_page() -> NoReturn:
    abort(404, description=_("Cette demande de connexion n'existe pas, a expiré ou a "
                             "déjà reçu sa réponse. Recommencez l'ajout du compte depuis "
                             "l'application."))


def _when(seconds: float) -> str:
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:
        school = acl.school_of_user(s, principal.id)
        zone = ZoneInfo(acl.school_info(s, school).time_zone if school else DEFAULT_ZONE)
    return datetime.fromtimestamp(seconds, UTC).astimezone(zone).strftime("%d/%m/%Y à %H:%M")


@bp.get("/<token>")
@login_required
def show(token: str) -> str:
    """The grant page of a pending flow."""
    try:
        with web_context().db.transaction(write=False) as s:
            flow = acl.flow_for_browser(s, token)
    except NotFound:
        _expired_page()
    return render_template("account/login_flow.html", flow=flow, token=token,
                           asked=_when(flow.created), form=AnswerForm())


@bp.post("/<token>/grant")
@login_required
def grant(token: str) -> tuple[str, int]:
    """Grant the device: its app password is made, for the app's next poll."""
    if not AnswerForm().validate_on_submit():
        abort(400, description=_("Formulaire incomplet : rechargez la page."))
    principal = signed_in()
    try:
        with web_context().db.transaction() as s:
            flow = acl.flow_for_browser(s, token)
            flow = acl.grant_flow(s, token, principal, actor=principal)
    except NotFound:
        _expired_page()
    except DomainError as refused:
        message = (_("Vous avez trop de mots de passe d'application : révoquez ceux qui "
                     "ne servent plus dans « Mon compte », puis recommencez.")
                   if refused.status == 409 else refused.message)
        return render_template("account/login_flow.html", flow=flow, token=token,
                               asked=_when(flow.created), form=AnswerForm(),
                               refused=message), refused.status
    return render_template("account/login_flow_done.html", flow=flow, granted=True), 200


@bp.post("/<token>/cancel")
@login_required
def cancel(token: str) -> tuple[str, int]:
    """Refuse the device: the flow ends, the app's poll gets nothing."""
    if not AnswerForm().validate_on_submit():
        abort(400, description=_("Formulaire incomplet : rechargez la page."))
    try:
        with web_context().db.transaction() as s:
            flow = acl.cancel_flow(s, token)
    except NotFound:
        _expired_page()
    return render_template("account/login_flow_done.html", flow=flow, granted=False), 200
