"""Sign-in and sign-out pages (``/login``, ``/logout``), on the same users as ``/dav/``.

The login form hands the login and password to the server's
:class:`web.auth.CredentialCheck` (in production ``davserver.auth.CredentialVerifier``,
shared with the DAV side, so every failure takes the same constant minimum time
whatever failed); the session cookie then keeps the user's id and login
(:mod:`web.auth` reloads the principal on every request).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

import acl
from davserver import journal
from davserver.errors import TooManyRequests
from web import sessions
from web.auth import current_principal, safe_next, web_context

from . import federation

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

MAX_LOGIN_LENGTH = 100
MAX_PASSWORD_LENGTH = 1024  # bytes of argon2 input a form may ask for


class LoginForm(FlaskForm):
    """The sign-in form (CSRF token included by Flask-WTF)."""

    login = StringField(_l("Identifiant"), validators=[
        DataRequired(_l("Saisissez votre identifiant.")), Length(max=MAX_LOGIN_LENGTH)])
    password = PasswordField(_l("Mot de passe"), validators=[
        DataRequired(_l("Saisissez votre mot de passe.")), Length(max=MAX_PASSWORD_LENGTH)])
    next = HiddenField()


class LogoutForm(FlaskForm):
    """The sign-out button: a POST with its CSRF token (a GET must change nothing)."""


@bp.app_context_processor
def _logout_form() -> dict[str, Any]:
    """The sign-out button's form in every page's header, for a signed-in user."""
    return {"logout_form": LogoutForm() if current_principal() is not None else None}


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response:
    """GET: the ways in. POST: check the credentials, open the session, go to
    ``next`` (403 when the deployment turned local passwords off)."""
    if request.method == "GET" and current_principal() is not None:
        return redirect(safe_next(request.args.get("next")))
    if request.method == "POST" and not federation.federation().local_passwords:
        abort(403, description=_("La connexion par identifiant et mot de passe de l'ENT "
                                 "est désactivée : utilisez un des boutons de connexion."))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    error = None
    if form.validate_on_submit():
        address = journal.origin().address or request.remote_addr or ""
        try:
            principal = web_context().credentials.verify(
                form.login.data or "", form.password.data or "", address, via="web")
        except TooManyRequests as refused:
            error = _("Trop de tentatives de connexion échouées : réessayez dans "
                      "%(seconds)d secondes.", seconds=refused.retry_after)
            answer = _login_page(form, error, 429)
            answer.headers["Retry-After"] = str(refused.retry_after)
            return answer
        if principal is not None and \
                principal.profile.value in federation.federation().no_local_passwords:
            journal.record_apart(web_context().db, journal.Kind.sign_in_failed,
                                 outcome=journal.Outcome.refused, login=principal.login,
                                 via="web", method="password",
                                 details={"reason": "local passwords are off for "
                                                    f"{principal.profile.value}"})
            error = _("Votre profil se connecte par le bouton de votre établissement ou "
                      "d'EduConnect, pas par un mot de passe de l'ENT.")
            return _login_page(form, error, 403)
        if principal is not None:
            sessions.sign_in(principal, address)
            log.info("web sign-in: %s", principal.login)
            return redirect(safe_next(form.next.data))
        error = _("Identifiant ou mot de passe incorrect, ou compte désactivé.")
    return _login_page(form, error)


SCHOOL_COOKIE = "ent_school"  # the UAI of the school whose sign-in page this browser chose
SCHOOL_COOKIE_AGE = 400 * 86400  # seconds: RFC 6265bis caps a cookie's life at 400 days


def _chosen_school() -> tuple[acl.SchoolInfo | None, str | None]:
    """The school whose sign-in page to show, named by ``?school=UAI`` or remembered by
    the browser, with the UAI asked for when no school of ours has it; (None, None)
    for the deployment's page (``?school=`` empty, or nothing chosen)."""
    asked = request.args.get("school")
    if asked is None:
        asked = request.cookies.get(SCHOOL_COOKIE, "")
    asked = asked.strip().upper()[:16]
    if not asked or not federation.federation().schools:
        return None, None
    with web_context().db.transaction(write=False) as s:
        school_id = acl.school_of_uai(s, asked)
        if school_id is None:
            return None, asked
        return acl.school_info(s, school_id), None


def _ways_in() -> dict[str, Any]:
    """The sign-in page's ways in: the chosen school's providers (``federation.schools``,
    else the deployment's), in their order and with their labels there, whether the
    local form shows and its title, the schools to choose from, and after a logout
    through a provider, that provider's logout page."""
    config = federation.federation()
    school, unknown = _chosen_school()
    uai = school.uai if school else None
    after = federation.provider_logout_url(request.args.get("idp")) \
        if request.args.get("logged_out") else None
    schools: list[acl.SchoolInfo] = []
    if config.schools:
        with web_context().db.transaction(write=False) as s:
            schools = [i for i in acl.list_schools(s) if i.uai]
    return {"providers": config.offer(uai),
            "local_passwords": config.offers_local_passwords(uai),
            "local_label": config.local_label, "provider_logout": after,
            "school": school, "unknown_school": unknown, "schools": schools}


def _login_page(form: LoginForm, error: str | None, status: int = 200) -> Response:
    """The sign-in page; a school named in the address is remembered by the browser
    (its next visit to ``/login`` shows that school's ways in)."""
    ways = _ways_in()
    status = 404 if ways["unknown_school"] and status == 200 else status
    answer = make_response(render_template("login.html", form=form, error=error, **ways),
                           status)
    asked = request.args.get("school")
    if asked is not None and ways["school"] is not None:
        answer.set_cookie(SCHOOL_COOKIE, ways["school"].uai, max_age=SCHOOL_COOKIE_AGE,
                          httponly=True, samesite="Lax", secure=request.is_secure)
    elif asked is not None and not asked.strip():
        answer.delete_cookie(SCHOOL_COOKIE)
    return answer


@bp.post("/logout")
def logout() -> Response:
    """End the session (the CSRF check has run before this view); the signed-out page
    offers the provider's logout when the session came through one."""
    principal = current_principal()
    provider = session.get(federation.PROVIDER_KEY)
    config = next((p for p in federation.federation().providers if p.id == provider), None)
    single_logout = federation.provider_logout_location(config) if config else None
    sessions.sign_out()
    if single_logout is not None:  # SAML, OIDC: the provider ends its session, comes back
        return redirect(single_logout)
    if principal is not None:
        log.info("web sign-out: %s", principal.login)
    if isinstance(provider, str):
        return redirect(url_for("auth.login", logged_out=1, idp=provider))
    return redirect(url_for("auth.login", logged_out=1))
