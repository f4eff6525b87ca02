"""Sign-in and sign-out for browsers, on the same users as ``/dav/``.

Authentication only yields a principal (STYLE.md habit 13): the login form hands
the login, the password and the client's address to the server's
:class:`CredentialCheck` (in production ``davserver.auth.CredentialVerifier``, shared
with the DAV side: one throttle, one pool of checks). A success opens a server-side
session (:mod:`web.sessions`); every request finds its user through the session's
row, so a logout, a disabled account or a new password ends it at once in every
process. A throttled sign-in gets the form again with status 429 and ``Retry-After``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

import acl
from davserver import journal
from davserver.config import TextbookConfig
from davserver.db import Database
from davserver.errors import TooManyRequests
from providers import Store

from . import sessions

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

EXTENSION_KEY = "ent"
MAX_LOGIN_LENGTH = 100
MAX_PASSWORD_LENGTH = 1024  # bytes of argon2 input a form may ask for

F = TypeVar("F", bound=Callable[..., Any])


class CredentialCheck(Protocol):
    """What the web layer needs from the server's credential verifier."""

    def verify(self, login: str, password: str, address: str = "", *,
               via: str = "dav") -> acl.Principal | None:
        """The principal of an enabled user whose password matches, else None; raises
        ``davserver.errors.TooManyRequests`` when the throttle refuses ``login`` from
        ``address``."""


@dataclass(frozen=True)
class WebContext:
    """The server parts the views use, kept in ``app.extensions["ent"]``."""

    db: Database
    credentials: CredentialCheck
    store: Store
    # When students see what teachers write (config.yaml ``textbook:``).
    textbook: TextbookConfig = field(default_factory=TextbookConfig)


def web_context() -> WebContext:
    """The :class:`WebContext` of the current app (inside a request)."""
    return cast(WebContext, current_app.extensions[EXTENSION_KEY])


class LoginForm(FlaskForm):
    """The sign-in form (CSRF token included by Flask-WTF)."""

    login = StringField(_l("Identifiant"), validators=[
        DataRequired(_l("Saisissez votre identifiant.")), Length(max=MAX_LOGIN_LENGTH)])
    password = PasswordField(_l("Mot de passe"), validators=[
        DataRequired(_l("Saisissez votre mot de passe.")), Length(max=MAX_PASSWORD_LENGTH)])
    next = HiddenField()


class LogoutForm(FlaskForm):
    """The sign-out button: a POST with its CSRF token (a GET must change nothing)."""


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``: no open redirect to another
    host (``//evil``, ``/\\evil``, ``https://evil``)."""
    if not target or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") \
            or target.startswith("//"):
        return "/"
    return target


def current_principal() -> acl.Principal | None:
    """The signed-in user of this request, or None (the session's one query, made
    when the session was opened)."""
    if "principal" in g:
        return cast(acl.Principal | None, g.principal)
    g.principal = principal = sessions.session_principal()  # found when the session opened
    return principal


def current_context() -> acl.UserContext:
    """The signed-in user's :class:`acl.UserContext` (school, profile, groups,
    subjects), for views behind :func:`login_required` (an ``AssertionError``
    otherwise)."""
    principal = current_principal()
    assert principal is not None, "view not behind login_required"
    with web_context().db.transaction(write=False) as s:
        return acl.user_context(s, principal.id)


def login_required(view: F) -> F:
    """Decorator: anonymous visitors are sent to the login page, then back here."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_principal() is None:
            here = request.full_path if request.query_string else request.path
            return redirect(url_for("auth.login", next=here))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def profile_required(*profiles: acl.Profile, reason: str | LazyString = "") -> \
        Callable[[F], F]:
    """Decorator: signed-in users of another profile get the 403 page with ``reason``
    (a translated string; a lazy one, ``_l("…")``, is rendered in the request)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None or principal.profile not in profiles:
                abort(403, description=str(reason) or None)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    """GET: the form. POST: check the credentials, open the session, go to ``next``."""
    if request.method == "GET" and current_principal() is not None:
        return redirect(safe_next(request.args.get("next")))
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
            answer = make_response(render_template("login.html", form=form, error=error),
                                  429)
            answer.headers["Retry-After"] = str(refused.retry_after)
            return answer
        if principal is not None:
            sessions.sign_in(principal, address)
            log.info("web sign-in: %s", principal.login)
            return redirect(safe_next(form.next.data))
        error = _("Identifiant ou mot de passe incorrect, ou compte désactivé.")
    return render_template("login.html", form=form, error=error)


@bp.post("/logout")
def logout() -> Response:
    """End the session (the CSRF check has run before this view)."""
    principal = current_principal()
    sessions.sign_out()
    if principal is not None:
        log.info("web sign-out: %s", principal.login)
    return redirect(url_for("auth.login", logged_out=1))


def init_auth(app: Flask, context: WebContext) -> None:
    """Register the blueprint and make ``principal`` and ``logout_form`` available
    to every template."""
    app.extensions[EXTENSION_KEY] = context
    app.register_blueprint(bp)

    @app.context_processor
    def _user() -> dict[str, Any]:
        principal = current_principal()
        return {"principal": principal,
                "logout_form": LogoutForm() if principal is not None else None}
