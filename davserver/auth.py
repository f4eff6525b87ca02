"""HTTP Basic authentication for ``/dav/`` against the user table (argon2 hashes).

Authentication only yields a principal (STYLE.md habit 13): the domain controller
puts an :class:`acl.Principal` in the WSGI environ; ``acl`` decides the rest.

Every DAV request carries credentials and argon2 is slow on purpose, so a
successful verification is remembered for ``auth.cache_ttl`` seconds, keyed by an
HMAC of login and password under a per-process random key (the password itself is
never kept). A disabled user or a changed password takes effect within that TTL.
Every failed login takes at least ``auth.failure_delay`` seconds, whatever failed
(unknown login, wrong password, disabled), so timing tells nothing.

Verifications run one at a time: each argon2id check (argon2-cffi's defaults) takes
64 MiB and tens of milliseconds of a core, so thirty machines signing in at 8:00
would otherwise need 2 GiB at once. A request that waited looks in the cache
again, so connections opened together with the same credentials share one check.

When a remembered success expires, the same credentials are trusted again after one
query instead of an argon2 check, if the user is still enabled and their password
hash is still the one that was verified (a new password, even the same one typed
again, has a new salt): for :data:`REVALIDATE_WITHIN` seconds after the argon2 check,
then a full check again. A client syncing all day costs one argon2 check per school
day, not one per ``cache_ttl`` (64 MiB and tens of milliseconds each, one at a time).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from wsgidav import util
from wsgidav.dc.base_dc import BaseDomainController
from wsgidav.http_authenticator import HTTPAuthenticator

import acl
from davserver.db import Database
from davserver.probes import anonymous_options
from providers import PRINCIPAL_KEY

MAX_CACHE_ENTRIES = 10000
REVALIDATE_WITHIN = 12 * 3600.0  # seconds after an argon2 check (a school day)


@dataclass(frozen=True)
class _Entry:
    principal: acl.Principal
    expires: float  # time.monotonic() seconds
    password_hash: str  # the user's hash that the password was checked against
    checked: float  # time.monotonic() of that argon2 check


class CredentialVerifier:
    """Checks login/password pairs with a short-lived cache of successes."""

    def __init__(self, db: Database, *, cache_ttl: float = 60.0,
                 failure_delay: float = 0.5) -> None:
        self.db = db
        self.cache_ttl = cache_ttl
        self.failure_delay = failure_delay
        self._key = os.urandom(32)
        self._entries: dict[bytes, _Entry] = {}
        self._lock = threading.Lock()
        self._verifying = threading.Lock()  # one argon2 check at a time (see module doc)
        self.checks = 0  # argon2 checks made (sign-ins that were not remembered)

    def _cache_key(self, login: str, password: str) -> bytes:
        message = login.encode("utf-8") + b"\x00" + password.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _cached(self, key: bytes, now: float) -> acl.Principal | None:
        entry = self._entries.get(key)
        return entry.principal if entry is not None and entry.expires > now else None

    def recent(self, authorization: str) -> acl.Principal | None:
        """The principal of an ``Authorization: Basic …`` header value whose credentials
        were verified less than ``cache_ttl`` seconds ago, else None (another scheme,
        malformed, never verified, expired). Never checks a password: one HMAC, for
        :class:`providers.plain_get.PlainGet`."""
        if authorization[:6].lower() != "basic ":
            return None
        credentials = decode_basic_credentials(authorization)
        if credentials is None:
            return None
        return self._cached(self._cache_key(*credentials), time.monotonic())

    def verify(self, login: str, password: str) -> acl.Principal | None:
        """The principal for valid credentials of an enabled user, else None (after
        the constant failure delay)."""
        started = time.monotonic()
        key = self._cache_key(login, password)
        entry = self._entries.get(key)
        if entry is not None:
            if entry.expires > started:
                return entry.principal
            principal = self._revalidate(key, entry, login, started)
            if principal is not None:
                return principal
        with self._verifying:
            cached = self._cached(key, started)  # verified while this one waited
            if cached is not None:
                return cached
            self.checks += 1
            with self.db.transaction() as session:
                principal = acl.verify_credentials(session, login, password)
                # after a rehash of outdated parameters, the new hash
                state = acl.password_state(session, login) if principal else None
            if state is not None:
                self._remember(key, _Entry(state[0], started + self.cache_ttl, state[1],
                                           started))
        if principal is None:
            time.sleep(max(0.0, self.failure_delay - (time.monotonic() - started)))
        return principal

    def _revalidate(self, key: bytes, entry: _Entry, login: str,
                    now: float) -> acl.Principal | None:
        """The current principal when ``entry`` (expired) may be renewed without an
        argon2 check (see the module docstring), else None and the entry is dropped."""
        state = None
        if now - entry.checked < REVALIDATE_WITHIN:
            with self.db.transaction(write=False) as session:
                state = acl.password_state(session, login)
        if state is None or not hmac.compare_digest(state[1], entry.password_hash):
            with self._lock:
                self._entries.pop(key, None)
            return None
        self._remember(key, _Entry(state[0], now + self.cache_ttl, state[1], entry.checked))
        return state[0]

    def _remember(self, key: bytes, entry: _Entry) -> None:
        if self.cache_ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_CACHE_ENTRIES:
                self._prune(time.monotonic())
            self._entries[key] = entry

    def _prune(self, now: float) -> None:
        """Make room in a full cache, down to three quarters: forget what may no longer
        be renewed, then expired successes, oldest check first; a success that is
        still valid goes last (its user would need an argon2 check again)."""
        keep = MAX_CACHE_ENTRIES * 3 // 4
        entries = {k: e for k, e in self._entries.items()
                   if now - e.checked < REVALIDATE_WITHIN}
        if len(entries) > keep:
            ranked = sorted(entries, key=lambda k: (entries[k].expires > now,
                                                    entries[k].checked))
            entries = {k: entries[k] for k in ranked[-keep:]}
        self._entries = entries


def make_domain_controller(verifier: CredentialVerifier, realm: str) -> type:
    """A WsgiDAV domain controller class bound to ``verifier`` (WsgiDAV instantiates
    the class itself, as ``DC(wsgidav_app, config)``)."""

    class EntDomainController(BaseDomainController):
        """Basic only: hashes are argon2, so Digest's HA1 cannot be derived."""

        def __init__(self, wsgidav_app: Any, config: dict[str, Any]) -> None:
            super().__init__(wsgidav_app, config)

        def get_domain_realm(self, path_info: str, environ: dict[str, Any] | None) -> str:
            return realm

        def require_authentication(self, realm: str, environ: dict[str, Any] | None) -> bool:
            return True

        def basic_auth_user(self, realm: str, user_name: str, password: str,
                            environ: dict[str, Any]) -> bool:
            principal = verifier.verify(user_name, password)
            if principal is None:
                return False
            environ[PRINCIPAL_KEY] = principal
            return True

        def supports_http_digest_auth(self) -> bool:
            return False

        def digest_auth_user(self, realm: str, user_name: str,
                             environ: dict[str, Any]) -> bool:
            return False

    return EntDomainController


def decode_basic_credentials(header: str) -> tuple[str, str] | None:
    """``(login, password)`` from an ``Authorization: Basic …`` value, or None when it is
    malformed (not base64, no ``:``). RFC 7617 §2.1 leaves the charset open: UTF-8 is
    tried first, then ISO-8859-1, which older Windows and Java clients send for an
    accented password."""
    try:
        raw = base64.b64decode(header.strip()[len("Basic"):].strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    login, sep, password = text.partition(":")
    return (login, password) if sep else None


def basic_challenge(realm: str) -> str:
    """``WWW-Authenticate`` value of the Basic scheme (RFC 7617 §2, §2.1): the realm as
    a quoted-string, and ``charset="UTF-8"`` to ask clients to send credentials in
    UTF-8 (ISO-8859-1 ones are still accepted, :func:`decode_basic_credentials`)."""
    quoted = realm.replace("\\", "\\\\").replace('"', '\\"')
    return f'Basic realm="{quoted}", charset="UTF-8"'


class BasicAuthenticator(HTTPAuthenticator):
    """WsgiDAV's authenticator, with credentials decoded by
    :func:`decode_basic_credentials`: WsgiDAV 4.4 decodes them as UTF-8 only and
    answers 500, echoing the password in the error page, for any other byte or a
    malformed value. Malformed credentials get the 401 challenge again, which names
    the charset (:func:`basic_challenge`). ``OPTIONS`` without credentials is
    answered without a sign-in (:func:`davserver.probes.anonymous_options`); every
    other method needs one."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "OPTIONS" and not environ.get("HTTP_AUTHORIZATION"):
            return anonymous_options(start_response)
        return super().__call__(environ, start_response)

    def send_basic_auth_response(self, environ: dict[str, Any], start_response: Any) -> Any:
        realm = self.domain_controller.get_domain_realm(environ["PATH_INFO"], environ)
        body = self.error_message_401.encode("utf-8")
        start_response("401 Unauthorized", [
            ("WWW-Authenticate", basic_challenge(realm)),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Date", util.get_rfc1123_time()),
        ])
        return [body]

    def handle_basic_auth_request(self, environ: dict[str, Any], start_response: Any) -> Any:
        realm = self.domain_controller.get_domain_realm(environ["PATH_INFO"], environ)
        credentials = decode_basic_credentials(environ.get("HTTP_AUTHORIZATION", ""))
        if credentials is not None and self.domain_controller.basic_auth_user(
                realm, credentials[0], credentials[1], environ):
            environ["wsgidav.auth.realm"] = realm
            environ["wsgidav.auth.user_name"] = credentials[0]
            return self.next_app(environ, start_response)
        return self.send_basic_auth_response(environ, start_response)
