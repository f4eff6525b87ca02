"""Sign-in through identity providers (``federation.providers`` in ``config.yaml``):
``/login/<id>`` sends the browser to the provider, which sends it back with proof of
who signed in; the identity then names an account through the external ids people
imports stored (:func:`acl.account_of_identity`). Only CAS is built
(:mod:`.cas`).

* **Back from CAS** (``GET /login/<id>/cas?ticket=…``): the ticket is validated by the
  CAS server; the identity is the CAS user or the configured attribute. An unknown
  identity gets a page saying the account is not known to the school (403), a
  disabled account a page saying so (403); neither makes an account. A success opens
  a session (method ``cas``, the ticket as the provider's session) and goes to the
  page the user first asked for. Every outcome is journaled (``sign_in`` or
  ``sign_in_failed``, method ``cas``, the provider in the details).
* **Single logout** (``POST /login/<id>/cas`` with ``logoutRequest``): the CAS server
  ends the session it opened; exempt from CSRF, as it comes from the server, and
  harmless: it can only end the session of a ticket the caller knows.
* **Our logout** ends our session, then the signed-out page offers the provider's
  logout (:mod:`.pages`).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import acl
from davserver import journal
from davserver.config import FederationConfig, IdentityProviderConfig
from web import sessions
from web.auth import current_principal, safe_next, web_context

from . import cas

log = logging.getLogger(__name__)
bp = Blueprint("federation", __name__)

NEXT_KEY = "federation.next"  # session key: where to go once signed in
PROVIDER_KEY = "federation.provider"  # session key: the provider of this session
METHOD_CAS = "cas"


def federation() -> FederationConfig:
    """The deployment's federation settings."""
    return web_context().federation


def provider_of(provider_id: str) -> IdentityProviderConfig:
    """The configured provider ``provider_id``; 404 when there is none."""
    for provider in federation().providers:
        if provider.id == provider_id:
            return provider
    abort(404, description=_("Ce moyen de connexion n'existe pas sur cet ENT."))


def _service_url(provider: IdentityProviderConfig) -> str:
    return url_for("federation.cas_return", provider_id=provider.id, _external=True)


@bp.get("/login/<provider_id>")
def start(provider_id: str) -> Response:
    """Send the browser to the provider's sign-in page."""
    provider = provider_of(provider_id)
    if current_principal() is not None:
        return redirect(safe_next(request.args.get("next")))
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    return redirect(cas.login_url(provider, _service_url(provider)))


def _refused(provider: IdentityProviderConfig, reason: str, status: int, *,
             identity: str | None = None, login: str | None = None,
             school_id: int | None = None) -> tuple[str, int]:
    """Journal a refused federated sign-in and answer its page."""
    journal.record_apart(web_context().db, journal.Kind.sign_in_failed,
                         outcome=journal.Outcome.failure, login=login or identity,
                         school_id=school_id, method=METHOD_CAS, via="web",
                         details={"provider": provider.id, "reason": reason,
                                  **({"identity": identity} if identity else {})})
    return render_template("federation_refused.html", provider=provider, reason=reason,
                           identity=identity), status


@bp.get("/login/<provider_id>/cas")
def cas_return(provider_id: str) -> Any:
    """Back from the CAS server with a service ticket (module docstring)."""
    provider = provider_of(provider_id)
    ticket = request.args.get("ticket", "")
    if not cas.looks_like_ticket(ticket):
        return _refused(provider, "ticket", 400)
    try:
        identity = cas.validate(provider, _service_url(provider), ticket)
    except cas.CasRefused as refused:
        log.info("CAS %s refused a ticket: %s", provider.id, refused)
        return _refused(provider, "ticket", 403)
    except cas.CasUnavailable as down:
        log.warning("CAS %s: %s", provider.id, down)
        return render_template("federation_refused.html", provider=provider,
                               reason="unavailable", identity=None), 502
    value = _identity_value(provider, identity)
    if not value:
        return _refused(provider, "attribute", 403, identity=identity.user)
    with web_context().db.transaction(write=False) as s:
        match = acl.account_of_identity(s, provider.match_kind, value)
    if match is None:
        return _refused(provider, "unknown", 403, identity=value)
    if match.disabled:
        return _refused(provider, "disabled", 403, identity=value,
                        login=match.principal.login, school_id=match.school_id)
    going = safe_next(session.get(NEXT_KEY))
    address = journal.origin().address or request.remote_addr or ""
    sessions.sign_in(match.principal, address, method=METHOD_CAS, idp_session=ticket)
    session[PROVIDER_KEY] = provider.id
    journal.record_apart(web_context().db, journal.Kind.sign_in, actor=match.principal,
                         school_id=match.school_id, method=METHOD_CAS, via="web",
                         details={"provider": provider.id, "identity": value})
    log.info("web sign-in through %s: %s", provider.id, match.principal.login)
    return redirect(going)


def _identity_value(provider: IdentityProviderConfig, identity: cas.CasIdentity) -> str:
    """The value that names the account: the configured attribute (its first value if
    it has several), else the CAS user."""
    if not provider.match_attribute:
        return identity.user
    found = identity.attributes.get(provider.match_attribute)
    if isinstance(found, list):
        found = found[0] if found else None
    return str(found).strip() if found else ""


@bp.post("/login/<provider_id>/cas")
def cas_logout(provider_id: str) -> tuple[str, int]:
    """The CAS server's single logout request: end the session its ticket opened."""
    provider_of(provider_id)
    ticket = cas.logout_ticket(request.form.get("logoutRequest", ""))
    if ticket is None:
        return "", 400
    with web_context().db.transaction() as s:
        ended = acl.end_idp_session(s, METHOD_CAS, ticket)
        if ended:
            journal.record(s, journal.Kind.sign_out, via="web", method=METHOD_CAS,
                           details={"provider": provider_id, "single_logout": True})
    log.info("CAS %s single logout: %d session(s) ended", provider_id, ended)
    return "", 200


def provider_logout_url(provider_id: str | None) -> tuple[IdentityProviderConfig, str] | None:
    """The provider a signed-out session came through and its logout page (which comes
    back to our sign-in page), or None."""
    for provider in federation().providers:
        if provider.id == provider_id:
            back = url_for("auth.login", _external=True)
            return provider, cas.logout_url(provider, back)
    return None
