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

The legacy in-app flow (Login Flow v1, ``/index.php/login/flow``, Nextcloud's developer
manual): an older mobile app opens that address in a web view of its own; the same
sign-in, charter and grant page follow, the device named by the web view's
``User-Agent`` (no row: the whole exchange is in that web view); the grant redirects
to ``nc://login/server:<server>&user:<login>&password:<app password>``, which the app
catches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NoReturn
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

import acl
from davserver import clock
from davserver.errors import DomainError, NotFound

from ..auth import login_required, signed_in, web_context
from .app_passwords import DEFAULT_ZONE

bp = Blueprint("login_flow", __name__)
V2 = "/login/v2/flow/<token>"
LEGACY = ("/index.php/login/flow", "/login/flow")


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


@bp.get(V2)
@login_required
def show(token: str) -> tuple[str, int]:
    """The grant page of a pending flow."""
    try:
        with web_context().db.transaction(write=False) as s:
            flow = acl.flow_for_browser(s, token)
    except NotFound:
        _expired_page()
    return _grant_page(flow, token)


def _grant_page(flow: acl.FlowInfo, token: str | None, refused: str | None = None,
                status: int = 200) -> tuple[str, int]:
    """The grant page; ``token`` None for the legacy flow."""
    if token is None:
        grant_url, cancel_url = url_for("login_flow.legacy_grant"), \
            url_for("login_flow.legacy_cancel")
    else:
        grant_url = url_for("login_flow.grant", token=token)
        cancel_url = url_for("login_flow.cancel", token=token)
    return render_template("account/login_flow.html", flow=flow, asked=_when(flow.created),
                           form=AnswerForm(), refused=refused, grant_url=grant_url,
                           cancel_url=cancel_url), status


def _refusal(refused: DomainError) -> str:
    if refused.status == 409:
        return _("Vous avez trop de mots de passe d'application : révoquez ceux qui ne "
                 "servent plus dans « Mon compte », puis recommencez.")
    return _("Votre compte ne peut pas recevoir d'accès pour une application : "
             "%(reason)s", reason=refused.message)


@bp.post(V2 + "/grant")
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
        return _grant_page(flow, token, _refusal(refused), refused.status)
    return render_template("account/login_flow_done.html", flow=flow, granted=True), 200


@bp.post(V2 + "/cancel")
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


# --- the legacy in-app flow (Login Flow v1) ---------------------------------------------

def _legacy_flow() -> acl.FlowInfo:
    """The legacy flow has no row: the device is the web view's own User-Agent, sent
    with every request of the flow."""
    agent = request.headers.get("User-Agent", "")
    now = clock.time()
    return acl.FlowInfo(0, acl.login_flows.PENDING, acl.device_label(agent),
                        "".join(c for c in agent if c.isprintable())[:255],
                        request.remote_addr, now, now)


@login_required
def legacy_show() -> tuple[str, int]:
    """The legacy flow's grant page, in the app's web view."""
    return _grant_page(_legacy_flow(), None)


for _path in LEGACY:
    bp.add_url_rule(_path, view_func=legacy_show, methods=["GET"])


@bp.post(LEGACY[0] + "/grant")
@login_required
def legacy_grant() -> Response | tuple[str, int]:
    """Grant the app whose web view this is: its app password (named after the device)
    goes to the app in the redirect its web view catches,
    ``nc://login/server:<server>&user:<login>&password:<app password>`` (Nextcloud's
    developer manual, "Login Flow")."""
    if not AnswerForm().validate_on_submit():
        abort(400, description=_("Formulaire incomplet : rechargez la page."))
    principal = signed_in()
    flow = _legacy_flow()
    try:
        with web_context().db.transaction() as s:
            label = acl.login_flows.free_label(s, principal.id, flow.label)
            _row, secret = acl.create_app_password(s, principal, label, actor=principal)
    except DomainError as refused:
        return _grant_page(flow, None, _refusal(refused), refused.status)
    server = request.host_url.rstrip("/")
    answer = redirect(f"nc://login/server:{server}&user:{quote(principal.login, safe='')}"
                      f"&password:{quote(secret, safe='')}")
    answer.headers["Cache-Control"] = "no-store"
    return answer


@bp.post(LEGACY[0] + "/cancel")
@login_required
def legacy_cancel() -> tuple[str, int]:
    """Refuse the app: nothing is made; its web view shows the refusal."""
    if not AnswerForm().validate_on_submit():
        abort(400, description=_("Formulaire incomplet : rechargez la page."))
    return render_template("account/login_flow_done.html", flow=_legacy_flow(),
                           granted=False), 200
