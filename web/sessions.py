"""Server-side web sessions: the browser's cookie (``ent_session``) holds a random
session id and nothing else; everything a session holds lives in its row of
``web_sessions`` (:mod:`acl.sessions`), found by the id's SHA-256.

* **Signed in.** Signing in opens a row for the user (a new id: no session
  fixation), and every request looks it up, so a session ended anywhere (a logout, a
  password change, a disabled account, ``davserver user signout``, an identity
  provider's single logout) is refused at once by every server process.
* **What the session holds** (Flask-WTF's CSRF token, flashed messages, the school a
  person of several chose) is the row's ``data``, serialised with Flask's tagged JSON
  (tuples and ``Markup`` survive), written only on a request that changed it. A
  visitor not signed in gets a row (``user_id`` NULL) only when something must be
  kept, typically the CSRF token of the sign-in form; signing in replaces it.
* **The cookie** is HttpOnly, SameSite=Lax, Secure on HTTPS, and its id is 256 random
  bits; it is not signed, since nothing in it may be changed to any effect. A cookie
  whose session has ended or is unknown is deleted.

Expiry is ``web.session_lifetime`` seconds without a request; the row's expiry (and
the cookie's) is pushed back at most every :data:`acl.sessions.RENEW_EVERY` seconds
(5 minutes), so a page is a write transaction once in five minutes per user, not at
every request. Two requests of one browser that both change the session's data at
the same moment keep the last one's (the data are a CSRF token made once, and
messages shown on the next page).
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

from flask import Flask, Request, request, session
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict
from werkzeug.wrappers import Response

import acl
from davserver import clock, journal, outage
from davserver.db import Database

log = logging.getLogger(__name__)

STATE_KEY = "ent.web_session"  # the request's acl.LoadedSession, in the WSGI environ
_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_serializer = TaggedJSONSerializer()


def now() -> float:
    """The sessions' clock: UTC epoch seconds (:func:`davserver.clock.time`)."""
    return clock.time()


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """The ``flask.session`` of a request: a dict whose changes mark it ``modified``,
    with the id of its row (``token``, None until one is opened) and whether the
    cookie must be (re)sent."""

    def __init__(self, initial: dict[str, Any] | None = None, token: str | None = None,
                 *, refresh_cookie: bool = False) -> None:
        def on_update(self: ServerSession) -> None:
            self.modified = True
            self.accessed = True

        super().__init__(initial, on_update)
        self.token = token
        self.refresh_cookie = refresh_cookie
        self.stale_cookie = False  # the request sent a cookie of no live session
        self.modified = False
        self.accessed = False

    @property
    def permanent(self) -> bool:  # the cookie always carries Max-Age (module docstring)
        return True

    @permanent.setter
    def permanent(self, value: bool) -> None:
        pass


class DatabaseSessionInterface(SessionInterface):
    """Sessions kept in ``web_sessions`` (module docstring). ``lifetime``: seconds of
    inactivity before a session ends."""

    def __init__(self, db: Database, lifetime: float) -> None:
        self.db = db
        self.lifetime = lifetime

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure on HTTPS requests only (``web.security``: a Secure cookie never
        comes back over plain HTTP, and sign-in would loop)."""
        return bool(request.is_secure)

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        sent = request.cookies.get(self.get_cookie_name(app))
        if not sent:
            return ServerSession()
        loaded = None
        moment = now()
        if _ID.fullmatch(sent):
            with self.db.transaction(write=False) as s:
                loaded = acl.load_web_session(s, sent, moment)
        if loaded is None:
            fresh = ServerSession()
            fresh.stale_cookie = True
            return fresh
        data = _load(loaded.data)
        current = ServerSession(data, sent)
        if loaded.principal is not None:
            request.environ[STATE_KEY] = loaded
            journal.bind(who=loaded.principal.login, who_id=loaded.principal.id)
        if loaded.due_renewal:
            try:
                with self.db.transaction() as s:
                    acl.renew_web_session(s, sent, now=moment, lifetime=self.lifetime)
                current.refresh_cookie = True
            except Exception as exc:  # the session stays valid until its current expiry
                outage.log_failure(log, exc, "cannot renew a web session")
        return current

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        current = cast(ServerSession, session)
        if current.modified:
            self._store(current)
        name = self.get_cookie_name(app)
        if current.token is None:
            if current.stale_cookie:
                response.delete_cookie(name, domain=self.get_cookie_domain(app),
                                       path=self.get_cookie_path(app),
                                       secure=self.get_cookie_secure(app),
                                       httponly=self.get_cookie_httponly(app),
                                       samesite=self.get_cookie_samesite(app))
            return
        if current.refresh_cookie:
            response.set_cookie(name, current.token, max_age=int(self.lifetime),
                                domain=self.get_cookie_domain(app),
                                path=self.get_cookie_path(app),
                                secure=self.get_cookie_secure(app),
                                httponly=self.get_cookie_httponly(app),
                                samesite=self.get_cookie_samesite(app))
            response.vary.add("Cookie")

    def _store(self, current: ServerSession) -> None:
        """Write the session's data: a visitor's first kept value opens an anonymous
        row; a visitor's emptied session loses its row."""
        data = _dump(dict(current))
        with self.db.transaction() as s:
            if current.token is None:
                if data is None:
                    return
                current.token = acl.open_web_session(
                    s, None, now=now(), lifetime=self.lifetime, address=_address(),
                    method="anonymous", data=data)
                current.refresh_cookie = True
                return
            acl.store_web_session_data(s, current.token, data)


def _load(data: str | None) -> dict[str, Any]:
    if not data:
        return {}
    try:
        loaded = _serializer.loads(data)
    except ValueError:
        log.warning("a web session's data could not be read: it starts empty")
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _dump(data: dict[str, Any]) -> str | None:
    return _serializer.dumps(data) if data else None


def _address() -> str | None:
    return journal.origin().address or request.remote_addr


def session_principal() -> acl.Principal | None:
    """The signed-in user of this request's session, or None."""
    state = request.environ.get(STATE_KEY)
    return cast(acl.LoadedSession, state).principal if state is not None else None


def session_method() -> str | None:
    """How the signed-in user of this request signed in (``password``, ``saml``,
    ``cas``), or None."""
    state = request.environ.get(STATE_KEY)
    return cast(acl.LoadedSession, state).method if state is not None else None


def _interface() -> DatabaseSessionInterface:
    from flask import current_app

    return cast(DatabaseSessionInterface, current_app.session_interface)


def _current() -> ServerSession:
    return cast(ServerSession, session._get_current_object())  # type: ignore[attr-defined]


def sign_in(principal: acl.Principal, address: str | None, *,
            method: str = "password", idp_session: str | None = None) -> None:
    """Open a session for ``principal`` in place of the request's: a new id, and the
    visitor's data (their CSRF token) dropped: no session fixation."""
    interface = _interface()
    current = _current()
    with interface.db.transaction() as s:
        if current.token is not None:
            acl.end_web_session(s, current.token)
        current.token = acl.open_web_session(s, principal.id, now=now(),
                                             lifetime=interface.lifetime, address=address,
                                             method=method, idp_session=idp_session)
    current.clear()
    current.modified = False  # the new row is empty already
    current.refresh_cookie = True


def sign_out() -> None:
    """End the request's session, in the database and in the browser (its cookie is
    deleted)."""
    current = _current()
    token = current.token
    principal = session_principal()
    current.clear()
    current.modified = False
    current.token = None
    if token is None:
        return
    current.stale_cookie = True
    with _interface().db.transaction() as s:
        acl.end_web_session(s, token)
        if principal is not None:
            journal.record(s, journal.Kind.sign_out, actor=principal,
                           school_id=acl.school_of_user(s, principal.id))


def install(app: Flask, db: Database, lifetime: float) -> None:
    """Make ``app`` keep its sessions this way (after ``web.security.harden``)."""
    app.session_interface = DatabaseSessionInterface(db, lifetime)


__all__: list[Any] = ["DatabaseSessionInterface", "install", "session_method",
                      "session_principal", "sign_in", "sign_out"]
