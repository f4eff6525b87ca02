"""Authentication of web requests, shared by every feature's pages and API: the
signed-in principal (:func:`current_principal`), :func:`login_required`,
:func:`profile_required`, the web context; the sign-in pages are :mod:`web.account`.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    current_app,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel.speaklater import LazyString

import acl
from davserver.config import FederationConfig, TextbookConfig
from davserver.db import Database
from providers import Store

from . import sessions

EXTENSION_KEY = "ent"

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
    # Identity providers and local passwords (config.yaml ``federation:``).
    federation: FederationConfig = field(default_factory=FederationConfig)
    # Our SAML key and certificate (web.account.saml), when a SAML provider is set.
    saml_keys: tuple[Path, Path] | None = None


def web_context() -> WebContext:
    """The :class:`WebContext` of the current app (inside a request)."""
    return cast(WebContext, current_app.extensions[EXTENSION_KEY])


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


def signed_in() -> acl.Principal:
    """The principal of a view behind :func:`login_required` (never None there)."""
    principal = current_principal()
    assert principal is not None, "view not behind login_required"
    return principal


SCHOOL_KEY = "school"
"""Session key of the school a person of several schools chose (the header's switch)."""


def chosen_school() -> int | None:
    """The school the signed-in user chose for school-wide pages, or None (their home
    school). Not checked here: :func:`acl.user_context` ignores a school the user is
    not (or no longer) in."""
    value = session.get(SCHOOL_KEY)
    return value if isinstance(value, int) else None


def current_context() -> acl.UserContext:
    """The signed-in user's :class:`acl.UserContext` (schools, the chosen one and the
    profile there, groups, subjects), for views behind :func:`login_required` (an
    ``AssertionError`` otherwise)."""
    principal = current_principal()
    assert principal is not None, "view not behind login_required"
    with web_context().db.transaction(write=False) as s:
        return acl.user_context(s, principal.id, chosen_school())


def frame_context() -> acl.UserContext | None:
    """The signed-in user's :class:`acl.UserContext` for the school they chose, read
    once per request (kept in ``g``) for what every page's frame shows: the school
    switch, the services bar, the « Mon établissement » column. None for an anonymous
    visitor. Views read their own (:func:`current_context`): what they change in the
    request is not hidden by this copy."""
    if "frame_context" not in g:
        principal = current_principal()
        found = None
        if principal is not None:
            with web_context().db.transaction(write=False) as s:
                found = acl.user_context(s, principal.id, chosen_school())
        g.frame_context = found
    return cast(acl.UserContext | None, g.frame_context)


def school_choices() -> tuple[list[acl.SchoolInfo], int | None]:
    """The schools of the signed-in user with the one school-wide pages show; no
    schools for a user of one or none (nothing to choose). Read once per request."""
    if "school_choices" not in g:
        ctx = frame_context()
        choices: tuple[list[acl.SchoolInfo], int | None] = ([], None)
        if ctx is not None and len(ctx.schools) > 1:
            with web_context().db.transaction(write=False) as s:
                choices = ([acl.school_info(s, i) for i in ctx.schools], ctx.school_id)
        g.school_choices = choices
    return cast(tuple[list[acl.SchoolInfo], int | None], g.school_choices)


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


def init_auth(app: Flask, context: WebContext) -> None:
    """Keep the web context for every request and make ``principal`` available to
    every template (the sign-in pages are :mod:`web.account`)."""
    app.extensions[EXTENSION_KEY] = context

    @app.context_processor
    def _user() -> dict[str, Any]:
        principal = current_principal()
        schools, current = school_choices() if principal is not None else ([], None)
        return {"principal": principal, "user_schools": schools, "current_school": current,
                "school_names": {i.id: i.name for i in schools}}
