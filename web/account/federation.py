"""Sign-in through identity providers (``federation.providers`` in ``config.yaml``):
``/login/<id>`` sends the browser to the provider, which sends it back with proof of
who signed in; the identity then names an account through the external ids people
imports stored (:func:`acl.account_of_identity`). CAS (:mod:`.cas`) and SAML 2.0
(:mod:`.saml`: metadata, assertion consumer, single logout both ways; the checks are
listed there).

* **Back from CAS** (``GET /login/<id>/cas?ticket=…``): the ticket is validated by the
  CAS server; the identity is the CAS user or the configured attribute. An unknown
  identity gets a page saying the account is not known to the school (403), unless
  the provider's ``create_accounts`` makes it from the released attributes (profile,
  school UAI, names; a page names what is missing or wrong); a disabled account gets
  a page saying so (403), and so does an account whose school's sign-in page does not
  offer this provider (``federation.schools``). A success opens
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

import requests
from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import acl
from davserver import journal
from davserver.config import FederationConfig, IdentityProviderConfig
from web import sessions
from web.auth import current_principal, safe_next, web_context

from . import cas, oidc, saml

log = logging.getLogger(__name__)
bp = Blueprint("federation", __name__)

NEXT_KEY = "federation.next"  # session key: where to go once signed in
PROVIDER_KEY = "federation.provider"  # session key: the provider of this session
OUTSTANDING_KEY = "saml.outstanding"  # session key: SAML request ids → provider id
SAML_NAME_ID_KEY = "saml.name_id"  # session key: the NameID, for our logout request
SAML_SESSION_KEY = "saml.session_index"
MAX_OUTSTANDING = 8  # SAML requests a browser may have in flight (several tabs)
METHOD_CAS = "cas"
METHOD_SAML = "saml"
METHOD_OIDC = "oidc"
OIDC_ID_TOKEN_KEY = "oidc.id_token"  # session key: the ID token, for our logout's hint


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
def start(provider_id: str) -> Any:
    """Send the browser to the provider's sign-in page."""
    provider = provider_of(provider_id)
    if current_principal() is not None:
        return redirect(safe_next(request.args.get("next")))
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    if provider.kind == "saml":
        client = _saml(provider)
        request_id, info = client.prepare_for_authenticate(
            entityid=saml.idp_entity_id(provider, client), relay_state="",
            binding=saml.BINDING_HTTP_REDIRECT)
        outstanding = dict(session.get(OUTSTANDING_KEY) or {})
        outstanding = dict(list(outstanding.items())[-(MAX_OUTSTANDING - 1):])
        outstanding[str(request_id)] = provider.id
        session[OUTSTANDING_KEY] = outstanding
        return redirect(saml.redirect_location(info))
    if provider.kind == "oidc":
        try:
            return oidc.client(provider).authorize_redirect(  # type: ignore[no-any-return]
                url_for("federation.oidc_return", provider_id=provider.id, _external=True))
        except Exception as down:  # the discovery document could not be read
            log.warning("OpenID Connect %s: %s: %s", provider.id, type(down).__name__, down)
            return render_template("federation_refused.html", provider=provider,
                                   reason="unavailable", identity=None), 502
    return redirect(cas.login_url(provider, _service_url(provider)))


@bp.get("/login/<provider_id>/oidc")
def oidc_return(provider_id: str) -> Any:
    """Back from the OpenID Connect provider with a code (or an error): Authlib checks
    the state, trades the code, checks the ID token (:mod:`.oidc`); its ``sub`` or
    the configured claim names the account."""
    from authlib.common.errors import AuthlibBaseError

    provider = provider_of(provider_id)
    if provider.kind != "oidc":
        abort(404)
    try:
        token = oidc.client(provider).authorize_access_token(leeway=oidc.LEEWAY)
    except AuthlibBaseError as refused:  # state, code, signature, issuer, audience, dates
        log.info("OpenID Connect %s refused a sign-in: %s: %s", provider.id,
                 type(refused).__name__, refused)
        return _refused(provider, "ticket", 403, method=METHOD_OIDC)
    except (requests.RequestException, ValueError) as down:
        log.warning("OpenID Connect %s: %s: %s", provider.id, type(down).__name__, down)
        return render_template("federation_refused.html", provider=provider,
                               reason="unavailable", identity=None), 502
    claims = dict(token.get("userinfo") or {})
    if not claims:  # no ID token: not OpenID Connect
        return _refused(provider, "ticket", 403, method=METHOD_OIDC)
    value = _attribute(claims, provider.match_attribute) if provider.match_attribute \
        else str(claims.get("sub") or "").strip()
    if not value:
        return _refused(provider, "attribute", 403, method=METHOD_OIDC)
    return _signed_in(provider, value, METHOD_OIDC, str(claims.get("sid") or "") or None,
                      {OIDC_ID_TOKEN_KEY: token.get("id_token")}, claims)


def _saml(provider: IdentityProviderConfig) -> Any:
    keys = web_context().saml_keys
    if keys is None:
        abort(404)
    return saml.client(provider, request.host_url, keys)


@bp.get("/login/<provider_id>/saml/metadata")
def saml_metadata(provider_id: str) -> Response:
    """Our SAML metadata for ``provider_id``'s identity provider (a stable address)."""
    provider = provider_of(provider_id)
    if provider.kind != "saml":
        abort(404)
    return Response(saml.metadata_xml(_saml(provider)),
                    mimetype="application/samlmetadata+xml")


@bp.post("/login/<provider_id>/saml/acs")
def saml_acs(provider_id: str) -> Any:
    """The assertion consumer service: the provider's signed (and possibly encrypted)
    response, checked by pysaml2 (:mod:`.saml`), names the account."""
    provider = provider_of(provider_id)
    if provider.kind != "saml":
        abort(404)
    client = _saml(provider)
    outstanding = {k: v for k, v in dict(session.get(OUTSTANDING_KEY) or {}).items()
                   if v == provider.id}
    try:
        answer = client.parse_authn_request_response(
            request.form.get("SAMLResponse", ""), saml.BINDING_HTTP_POST,
            outstanding={k: "/" for k in outstanding},
            # without conv_info, pysaml2 takes any SubjectConfirmationData Recipient
            conv_info={"entity_id": client.config.entityid})
    except Exception as refused:  # pysaml2 has a dozen exception types for refusals
        log.info("SAML %s refused a response: %s: %s", provider.id,
                 type(refused).__name__, refused)
        return _refused(provider, "ticket", 403, method=METHOD_SAML)
    if answer is None:
        return _refused(provider, "ticket", 403, method=METHOD_SAML)
    remaining = dict(session.get(OUTSTANDING_KEY) or {})
    remaining.pop(str(answer.in_response_to), None)  # a replay finds it gone
    session[OUTSTANDING_KEY] = remaining
    attributes = answer.get_identity() or {}
    name_id = answer.name_id
    value = _attribute(attributes, provider.match_attribute) if provider.match_attribute \
        else str(getattr(name_id, "text", "") or "").strip()
    if not value:
        return _refused(provider, "attribute", 403, method=METHOD_SAML)
    statements = answer.assertion.authn_statement if answer.assertion else []
    session_index = statements[0].session_index if statements else None
    return _signed_in(provider, value, METHOD_SAML, session_index,
                      {SAML_NAME_ID_KEY: saml.code(name_id) if name_id else None,
                       SAML_SESSION_KEY: session_index}, attributes)


def _attribute(attributes: dict[str, Any], name: str) -> str:
    """The value of the released attribute ``name`` (its first, if it has several),
    stripped; empty when it is missing."""
    found = attributes.get(name)
    if isinstance(found, list):
        found = found[0] if found else None
    return str(found).strip() if found else ""


@bp.get("/login/<provider_id>/saml/sls")
def saml_sls(provider_id: str) -> Any:
    """Single logout: the provider's ``LogoutRequest`` ends the session of its
    ``SessionIndex`` and is answered; its ``LogoutResponse`` to ours ends at the
    signed-out page."""
    provider = provider_of(provider_id)
    if provider.kind != "saml":
        abort(404)
    client = _saml(provider)
    if "SAMLResponse" in request.args:
        return redirect(url_for("auth.login", logged_out=1))
    try:
        parsed = client.parse_logout_request(
            request.args.get("SAMLRequest", ""), saml.BINDING_HTTP_REDIRECT,
            relay_state=request.args.get("RelayState"), sigalg=request.args.get("SigAlg"),
            signature=request.args.get("Signature"))
    except Exception as refused:
        log.info("SAML %s refused a logout request: %s", provider.id, refused)
        return "", 400
    if parsed is None:
        return "", 400
    message = parsed.message
    ended = 0
    with web_context().db.transaction() as s:
        for index in message.session_index or []:
            ended += acl.end_idp_session(s, METHOD_SAML, str(index.text))
        if ended:
            journal.record(s, journal.Kind.sign_out, via="web", method=METHOD_SAML,
                           details={"provider": provider.id, "single_logout": True})
    log.info("SAML %s single logout: %d session(s) ended", provider.id, ended)
    response = client.create_logout_response(message, [saml.BINDING_HTTP_REDIRECT], sign=True)
    destination = saml.logout_destination(client, saml.idp_entity_id(provider, client))
    info = client.apply_binding(saml.BINDING_HTTP_REDIRECT, str(response), destination,
                                request.args.get("RelayState", ""), response=True,
                                sign=True, sigalg=saml.SIG_RSA_SHA256)
    return redirect(saml.redirect_location(info))


@bp.get("/login/<provider_id>/oidc/logout")
def oidc_front_logout(provider_id: str) -> Response:
    """OpenID Connect front-channel logout (Front-Channel Logout 1.0 §2): the
    provider's logout page loads this address in a frame of the browser, which ends
    this browser's session if it came through this provider (an ``iss`` that is not
    the provider's ends nothing). Harmless as a GET: it can only sign the browser
    that loads it out."""
    provider = provider_of(provider_id)
    if provider.kind != "oidc":
        abort(404)
    issuer = request.args.get("iss")
    ended = False
    if session.get(PROVIDER_KEY) == provider.id and current_principal() is not None:
        try:
            expected = oidc.client(provider).load_server_metadata().get("issuer")
        except Exception as down:  # the discovery document could not be read
            log.warning("OpenID Connect %s front-channel logout: %s", provider.id, down)
            expected = None
        if issuer is None or issuer == expected:
            sessions.sign_out()
            ended = True
    log.info("OpenID Connect %s front-channel logout: %s", provider.id,
             "session ended" if ended else "nothing to end")
    answer = Response("", 200)
    answer.headers["Cache-Control"] = "no-store"
    return answer


def provider_logout_location(provider: IdentityProviderConfig) -> str | None:
    """Where our logout sends the browser for a session opened through ``provider``
    (read from the session before it ends): SAML single logout, or the OpenID Connect
    provider's logout page; None for CAS (the signed-out page offers its logout)."""
    if provider.kind == "oidc":
        id_token = session.get(OIDC_ID_TOKEN_KEY)
        if not isinstance(id_token, str):
            return None
        back = url_for("auth.login", logged_out=1, _external=True)
        try:
            return oidc.logout_location(provider, id_token, back)
        except Exception as down:  # the discovery document could not be read
            log.warning("OpenID Connect %s logout: %s", provider.id, down)
            return None
    return saml_logout_location(provider)


def saml_logout_location(provider: IdentityProviderConfig) -> str | None:
    """Where our logout sends the browser for a session opened through SAML: the
    provider's single logout with a signed ``LogoutRequest`` for this session (read
    from the session before it ends), or None."""
    name_id = session.get(SAML_NAME_ID_KEY)
    if provider.kind != "saml" or not isinstance(name_id, str):
        return None
    client = _saml(provider)
    idp = saml.idp_entity_id(provider, client)
    destination = saml.logout_destination(client, idp)
    if destination is None:
        return None
    index = session.get(SAML_SESSION_KEY)
    _, logout = client.create_logout_request(
        destination, idp, name_id=saml.decode(name_id),
        session_indexes=[index] if isinstance(index, str) else None, sign=False)
    info = client.apply_binding(saml.BINDING_HTTP_REDIRECT, str(logout), destination, "",
                                sign=True, sigalg=saml.SIG_RSA_SHA256)
    return saml.redirect_location(info)


def _refused(provider: IdentityProviderConfig, reason: str, status: int, *,
             identity: str | None = None, login: str | None = None,
             school_id: int | None = None, method: str = "cas",
             **shown: Any) -> tuple[str, int]:
    """Journal a refused federated sign-in and answer its page; ``shown``: what the
    page names (the school's ways in, the missing attributes...), journaled too."""
    journal.record_apart(web_context().db, journal.Kind.sign_in_failed,
                         outcome=journal.Outcome.failure, login=login or identity,
                         school_id=school_id, method=method, via="web",
                         details={"provider": provider.id, "reason": reason,
                                  **({"identity": identity} if identity else {}),
                                  **{k: v for k, v in shown.items() if v}})
    return render_template("federation_refused.html", provider=provider, reason=reason,
                           identity=identity, **shown), status


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
    value = _attribute(identity.attributes, provider.match_attribute) \
        if provider.match_attribute else identity.user
    if not value:
        return _refused(provider, "attribute", 403, identity=identity.user)
    return _signed_in(provider, value, METHOD_CAS, ticket, {}, identity.attributes)


def offered_to(provider: IdentityProviderConfig, uais: list[str | None]) -> bool:
    """Whether the sign-in page of one of the schools ``uais`` (none: the deployment's)
    offers ``provider``."""
    config = federation()
    return any(provider.id in {p.id for p in config.offer(uai)} for uai in uais or [None])


def _signed_in(provider: IdentityProviderConfig, value: str, method: str,
               idp_session: str | None, keep: dict[str, Any],
               attributes: dict[str, Any]) -> Any:
    """The identity ``value`` names an account: refuse it (unknown, disabled, from a
    provider its school does not offer), make it (``create_accounts``) or open its
    session, keep ``keep`` in it, and go where the user first wanted."""
    with web_context().db.transaction(write=False) as s:
        match = acl.account_of_identity(s, provider.match_kind, value)
        uais = acl.identity_school_uais(s, match.principal.id) if match else []
    if match is None and provider.create_accounts:
        made = _create_account(provider, value, method, attributes)
        if not isinstance(made, acl.IdentityMatch):
            return made
        match = made
        with web_context().db.transaction(write=False) as s:
            uais = acl.identity_school_uais(s, match.principal.id)
    if match is None:
        return _refused(provider, "unknown", 403, identity=value, method=method)
    if match.disabled:
        return _refused(provider, "disabled", 403, identity=value, method=method,
                        login=match.principal.login, school_id=match.school_id)
    if not offered_to(provider, uais):
        ways = [p.label for uai in uais[:1] or [None] for p in federation().offer(uai)]
        return _refused(provider, "school", 403, identity=value, method=method,
                        login=match.principal.login, school_id=match.school_id,
                        ways=ways)
    going = safe_next(session.get(NEXT_KEY))
    address = journal.origin().address or request.remote_addr or ""
    sessions.sign_in(match.principal, address, method=method, idp_session=idp_session)
    session[PROVIDER_KEY] = provider.id
    for key, kept in keep.items():
        if kept is not None:
            session[key] = kept
    journal.record_apart(web_context().db, journal.Kind.sign_in, actor=match.principal,
                         school_id=match.school_id, method=method, via="web",
                         details={"provider": provider.id, "identity": value})
    log.info("web sign-in through %s: %s", provider.id, match.principal.login)
    return redirect(going)


def _create_account(provider: IdentityProviderConfig, value: str, method: str,
                    attributes: dict[str, Any]) -> acl.IdentityMatch | tuple[str, int]:
    """The account of the unknown identity ``value``, made from the provider's
    attributes (``create_accounts``), journaled; or the refusal page when an attribute
    is missing, the profile is not one we make, or the school is not ours or does not
    offer this provider."""
    names = provider.account_attributes
    given = {field: _attribute(attributes, name) for field, name in
             (("profile", names.profile), ("school", names.school),
              ("first_name", names.first_name), ("last_name", names.last_name))}
    missing = [getattr(names, field) for field, found in given.items() if not found]
    if missing:
        return _refused(provider, "attributes", 403, identity=value, method=method,
                        missing=missing)
    profile = provider.profiles.get(given["profile"])
    if profile is None:
        return _refused(provider, "profile", 403, identity=value, method=method,
                        profile=given["profile"])
    uai = given["school"].upper()
    with web_context().db.transaction(write=False) as s:
        school_id = acl.school_of_uai(s, uai)
    if school_id is None:
        return _refused(provider, "not_our_school", 403, identity=value, method=method,
                        uai=uai)
    if not offered_to(provider, [uai]):
        return _refused(provider, "school", 403, identity=value, method=method,
                        school_id=school_id,
                        ways=[p.label for p in federation().offer(uai)])
    with web_context().db.transaction() as s:
        made = acl.create_federated_account(
            s, provider.match_kind, value, profile=profile, school_id=school_id,
            first_name=given["first_name"], last_name=given["last_name"])
        journal.record(s, journal.Kind.user_changed, target=made.principal.login,
                       school_id=school_id, method=method, via="web",
                       details={"action": "add", "provider": provider.id,
                                "identity": value, "profile": profile})
    log.info("account %s made at its first sign-in through %s", made.principal.login,
             provider.id)
    return made


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
    """The CAS provider a signed-out session came through and its logout page (which
    comes back to our sign-in page), or None."""
    for provider in federation().providers:
        if provider.id == provider_id and provider.kind == "cas":
            back = url_for("auth.login", _external=True)
            return provider, cas.logout_url(provider, back)
    return None
