"""Cookie, key and header hardening of the web layer.

* The session cookie (a session id, :mod:`web.sessions`; Flask's signed cookie for an
  app without that module) is HttpOnly, SameSite=Lax, and Secure
  whenever the request came over HTTPS: directly, or through a reverse proxy whose
  ``X-Forwarded-Proto`` is trusted (``server.trust_forwarded_proto``; werkzeug's
  ``ProxyFix``).
* The signing key (Flask-WTF's CSRF tokens in forms) comes from ``server.secret_key``, else from
  ``<data_dir>/web-secret-key``, created once with 32 random bytes (mode 0600).
* Every web answer carries a Content-Security-Policy that runs scripts and styles
  from our origin only (no inline script, style or ``on…=`` attribute: the templates
  load ``web/static``; the browser tests fail on any violation, ``tests/web.py``) and
  forbids framing (``frame-ancestors 'none'``, and ``X-Frame-Options`` for older
  browsers), ``nosniff`` and a same-origin Referrer-Policy (OWASP Secure Headers
  Project); pages are ``no-store`` so that a shared computer-room browser shows
  nothing of the previous user after a logout.
* Over HTTPS (directly, or behind a trusted proxy that says so), answers add
  ``Strict-Transport-Security`` for a year (RFC 6797): a browser that once came over
  HTTPS never sends a password over plain HTTP to this host again. Not on plain
  HTTP, where RFC 6797 §7.2 says it must be ignored and a school's test server on its
  own network may have no certificate.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from flask import Flask, abort, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

SECRET_KEY_FILE = "web-secret-key"
SESSION_COOKIE_NAME = "ent_session"

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

STRICT_TRANSPORT_SECURITY = "max-age=31536000"  # one year (RFC 6797 §6.1.1)


# The largest number a form, a query or an address may carry: PostgreSQL's INTEGER, the
# type of every row id (SQLite's is 64-bit). Beyond it a lookup is a database error
# (SQLite: OverflowError, PostgreSQL: NumericValueOutOfRange), not "not found".
MAX_NUMBER = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """Every ``<int:…>`` of our routes: a row id, 0 to :data:`MAX_NUMBER`. A larger
    number matches no route, so it is a 404 like any missing row, where Werkzeug's own
    converter (no upper bound) handed it to the database and ended in a 500."""

    def __init__(self, url_map: Map, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", MAX_NUMBER)
        super().__init__(url_map, *args, **kwargs)  # type: ignore[arg-type]


def load_secret_key(configured: str | None, data_dir: Path) -> str:
    """The session signing key: ``configured`` if set, else the key kept in
    ``data_dir/web-secret-key``, created (64 hex digits, mode 0600) by the first
    process that needs it. Processes racing to create it all end up with the winner's
    key (``O_EXCL``). Raises ``OSError`` if the file cannot be read or written."""
    if configured:
        return configured
    path = data_dir / SECRET_KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise
    else:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
            f.flush()
            os.fsync(f.fileno())
        return key
    stored = path.read_text(encoding="ascii").strip()
    if len(stored) < 32:
        # A creator that died between open and write leaves a short file.
        raise OSError(f"{path}: the stored key is too short; delete the file to renew it")
    return stored


class RequestSecureSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with ``Secure`` decided per request: set when
    the request is HTTPS, left off on plain HTTP (a Secure cookie would never come
    back there, and login would loop)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request.is_secure)


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def harden(app: Flask, *, secret_key: str, session_lifetime: int,
           trust_forwarded_proto: bool) -> None:
    """Apply the cookie, key, proxy and header settings above to ``app``.

    ``session_lifetime``: seconds of inactivity before a session expires.
    """
    app.secret_key = secret_key
    app.session_interface = RequestSecureSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=session_lifetime,
        SESSION_REFRESH_EACH_REQUEST=True,
        # Tokens live as long as the session: a teacher may keep a form open for hours.
        WTF_CSRF_TIME_LIMIT=session_lifetime,
    )
    if trust_forwarded_proto:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=0, x_proto=1, x_host=0, x_port=0, x_prefix=0)
    app.before_request(_refuse_nul)
    app.after_request(_add_headers)


def _refuse_nul() -> None:
    """Refuse, 400, a query or a posted form that carries a NUL character: no field of
    ours takes one, PostgreSQL refuses it in text (a 500 otherwise) and SQLite would
    keep it. Only POST forms are read here: a raw PUT's body is an upload's bytes."""
    fields = [request.args]
    if request.method == "POST":
        fields.append(request.form)
    for values in fields:
        for name, value in values.items(multi=True):
            if "\x00" in name or "\x00" in value:
                shown = name.replace("\x00", "")
                abort(400, description=f"Le champ « {shown} » contient un caractère nul "
                                       "(\\0), qu'aucun champ n'accepte.")
