"""Server-side web sessions: signing in opens a row of ``web_sessions``
(:mod:`acl.sessions`), and every request looks it up, so a session ended anywhere (a
logout, a password change, a disabled account, ``davserver user signout``) is
refused at once by every server process.

The browser's cookie (``ent_session``, Flask's signed cookie) carries the session's
random token and nothing that grants access: the user is found through the row,
whose key is the token's SHA-256. The cookie also carries what must change on every
request without a database write: Flask-WTF's CSRF token and flashed messages. A
cookie whose session has ended is emptied (signed out, its CSRF token dropped).

Expiry is ``web.session_lifetime`` seconds without a request; the row's expiry is
pushed back at most every :data:`acl.sessions.RENEW_EVERY` seconds (5 minutes), so a
page is a write transaction once in five minutes per user, not at every request.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import Flask, Request, request, session
from flask.sessions import SecureCookieSession

import acl
from davserver import clock, journal
from davserver.db import Database

from .security import RequestSecureSessionInterface

log = logging.getLogger(__name__)

TOKEN_KEY = "sid"  # the cookie's key holding the session token
STATE_KEY = "ent.web_session"  # the request's acl.SessionState, in the WSGI environ


def now() -> float:
    """The sessions' clock: UTC epoch seconds (:func:`davserver.clock.time`)."""
    return clock.time()


class DatabaseSessionInterface(RequestSecureSessionInterface):
    """Flask's signed-cookie sessions whose sign-in lives in the database (module
    docstring). ``lifetime``: seconds of inactivity before a session ends."""

    def __init__(self, db: Database, lifetime: float) -> None:
        self.db = db
        self.lifetime = lifetime

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        cookie = super().open_session(app, request)
        if cookie is None:
            return None
        token = cookie.get(TOKEN_KEY)
        if not isinstance(token, str):
            return cookie
        moment = now()
        with self.db.transaction(write=False) as s:
            state = acl.web_session_state(s, token, moment)
        if state is None:
            cookie.clear()  # ended or expired: signed out
            return cookie
        request.environ[STATE_KEY] = state
        journal.bind(who=state.principal.login, who_id=state.principal.id)
        if state.due_renewal:
            try:
                with self.db.transaction() as s:
                    acl.renew_web_session(s, token, now=moment, lifetime=self.lifetime)
            except Exception:  # the session stays valid until its current expiry
                log.exception("cannot renew the session of %s", state.principal.login)
        return cookie


def session_principal() -> acl.Principal | None:
    """The signed-in user of this request's session, or None."""
    state = request.environ.get(STATE_KEY)
    return cast(acl.SessionState, state).principal if state is not None else None


def _interface() -> DatabaseSessionInterface:
    from flask import current_app

    return cast(DatabaseSessionInterface, current_app.session_interface)


def sign_in(principal: acl.Principal, address: str | None, *,
            method: str = "password", idp_session: str | None = None) -> None:
    """Open a session for ``principal`` in place of the request's (a new token and a new
    CSRF token: no session fixation)."""
    interface = _interface()
    with interface.db.transaction() as s:
        token = acl.open_web_session(s, principal.id, now=now(), lifetime=interface.lifetime,
                                     address=address, method=method,
                                     idp_session=idp_session)
    session.clear()
    session.permanent = True
    session[TOKEN_KEY] = token


def sign_out() -> None:
    """End the request's session, in the database and in the cookie."""
    token = session.get(TOKEN_KEY)
    principal = session_principal()
    session.clear()
    if not isinstance(token, str):
        return
    with _interface().db.transaction() as s:
        acl.end_web_session(s, token)
        if principal is not None:
            journal.record(s, journal.Kind.sign_out, actor=principal,
                           school_id=acl.school_of_user(s, principal.id))


def install(app: Flask, db: Database, lifetime: float) -> None:
    """Make ``app`` keep its sessions this way (after ``web.security.harden``)."""
    app.session_interface = DatabaseSessionInterface(db, lifetime)


__all__: list[Any] = ["DatabaseSessionInterface", "install", "session_principal",
                      "sign_in", "sign_out"]
