"""HTTP Basic authentication for ``/dav/`` against the user table (argon2 hashes), and
the credential checks that the web sign-in shares.

Authentication only yields a principal (STYLE.md habit 13): the domain controller
puts an :class:`acl.Principal` in the WSGI environ; ``acl`` decides the rest.

**Cache.** Every DAV request carries credentials and argon2 is slow on purpose, so a
successful verification is remembered for ``auth.cache_ttl`` seconds, keyed by an
HMAC of login and password under a per-process random key (the password itself is
never kept). When a remembered success expires, the same credentials are trusted
again after one query instead of an argon2 check, if the user is still enabled and
their password hash is still the one that was verified (a new password, even the
same one typed again, has a new salt): for :data:`REVALIDATE_WITHIN` seconds after
the argon2 check, then a full check again. A client syncing all day costs one argon2
check per school day.

**Revocation.** Disabling an account, a new password or "sign out everywhere" raises
the credential generation in the database (``acl.sessions``). Each process reads it
at most once every :data:`GENERATION_EVERY` second while requests come, and on a
change treats every remembered success as expired: the next request of each user
costs the one query above, which refuses a disabled account or a changed hash. A
disabled user's DAV access therefore stops within about a second in every process.

**Throttle** (:mod:`acl.throttle`, per login and client address). Before any argon2
work, a pair known to be refused is answered 429 with ``Retry-After``
(:class:`davserver.errors.TooManyRequests`): a pair this process saw refused, or any
pair before a full check, is looked up in its database row (one read by primary
key). A failure counts in the row, and the 5th consecutive one starts a refusal
period, logged at WARNING and
journaled; a success deletes the row if there is one (no write otherwise): a checked
success, or a remembered one from a pair that failed in this process. While a
pair is refused, even remembered credentials are refused, or the cache would tell an
attacker which guess is right.

**App passwords** (:mod:`acl.app_passwords`) open ``/dav/`` only (``via="dav"``): a
password of their shape is first looked up by its SHA-256 (one indexed read, no
argon2); a match signs in (journaled with method ``app_password``, the row's last use
written at most every five minutes), anything else goes on to the password check
below, so a wrong guess counts in the throttle like any other. A remembered app
password is renewed by the same lookup, which fails once it is revoked: revoking
raises the credential generation, so it stops within about a second everywhere.

**Checks** run on a :class:`davserver.checkpool.CheckPool`: a few threads, taken in
turn by client address, with bounded queues; connections opened together with the
same credentials share one check. An unknown login or a disabled account is checked
against a fixed dummy hash, so a failure takes the same time whatever failed, with no
sleep holding a worker. Every full check's outcome is recorded in the security
journal (:mod:`davserver.journal`), in the transaction that updates the throttle.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from wsgidav import util
from wsgidav.dc.base_dc import BaseDomainController
from wsgidav.http_authenticator import HTTPAuthenticator

import acl
from davserver import clock, journal, outage
from davserver.checkpool import CheckPool
from davserver.db import Database
from davserver.errors import TooManyRequests
from davserver.probes import anonymous_options
from providers import PRINCIPAL_KEY, owns_url

log = logging.getLogger(__name__)

MAX_CACHE_ENTRIES = 10000
REVALIDATE_WITHIN = 12 * 3600.0  # seconds after an argon2 check (a school day)
GENERATION_EVERY = 1.0  # seconds between two reads of the credential generation
APP_PASSWORD_MARK = "app:"  # an _Entry's password_hash for an app password: the mark + SHA-256
CLIENT_ADDRESS_KEY = "davserver.client_address"  # set by the dispatcher (davserver.app)


def wall_time() -> float:
    """The throttle's clock: UTC epoch seconds, shared by every process through the
    database (one line to move to ``davserver.clock``)."""
    return clock.time()


@dataclass(frozen=True)
class _Entry:
    principal: acl.Principal
    expires: float  # time.monotonic() seconds
    password_hash: str  # the user's hash that the password was checked against
    checked: float  # time.monotonic() of that argon2 check


class CredentialVerifier:
    """Checks login/password pairs: cache, throttle, pool (see the module docstring).

    ``throttle``: the throttle's numbers; ``check_threads``: threads checking
    passwords at once (each check takes about 19 MiB); ``monotonic``: the clock of
    cache lifetimes, in seconds (``time.monotonic``; a test passes its own to expire
    entries without sleeping)."""

    def __init__(self, db: Database, *, cache_ttl: float = 60.0,
                 throttle: acl.ThrottlePolicy | None = None, check_threads: int = 2,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self._monotonic = monotonic
        self.cache_ttl = cache_ttl
        self.throttle = throttle or acl.ThrottlePolicy()
        self._key = os.urandom(32)
        self._entries: dict[bytes, _Entry] = {}
        self._lock = threading.Lock()
        self._pool = CheckPool(check_threads)
        self._inflight: dict[bytes, Future[acl.Principal | None]] = {}
        self._blocked: dict[tuple[str, str], float] = {}  # pair → refused until (wall)
        self._failing: dict[tuple[str, str], None] = {}  # pairs that failed here
        self._generation: int | None = None
        self._generation_read = -GENERATION_EVERY  # time.monotonic() of the last read
        self._dummy_hash: str | None = None
        self.checks = 0  # argon2 checks made (sign-ins that were not remembered)

    def _cache_key(self, login: str, password: str) -> bytes:
        message = login.encode("utf-8") + b"\x00" + password.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _cached(self, key: bytes, now: float) -> acl.Principal | None:
        entry = self._entries.get(key)
        return entry.principal if entry is not None and entry.expires > now else None

    def recent(self, authorization: str, address: str = "") -> acl.Principal | None:
        """The principal of an ``Authorization: Basic …`` header value whose credentials
        were verified less than ``cache_ttl`` seconds ago, else None (another scheme,
        malformed, never verified, expired, or refused from ``address`` by the
        throttle). Never checks a password: one HMAC, for
        :class:`providers.plain_get.PlainGet`."""
        if authorization[:6].lower() != "basic ":
            return None
        credentials = decode_basic_credentials(authorization)
        if credentials is None:
            return None
        now = self._monotonic()
        self._follow_generation(now)
        if self._refused_until((credentials[0], address)):
            return None
        return self._cached(self._cache_key(*credentials), now)

    def verify(self, login: str, password: str, address: str = "", *,
               via: str = "dav") -> acl.Principal | None:
        """The principal for valid credentials of an enabled user, else None.

        ``address``: the client's address (the throttle's key with ``login``);
        ``via``: ``dav`` or ``web``, for the journal. Raises
        :class:`TooManyRequests` when the throttle refuses the pair, or when too many
        checks from ``address`` are already waiting."""
        started = self._monotonic()
        self._follow_generation(started)
        until = self._refused_until((login, address))
        if until:
            raise _throttled(login, until)
        key = self._cache_key(login, password)
        entry = self._entries.get(key)
        if entry is not None and via != "dav" \
                and entry.password_hash.startswith(APP_PASSWORD_MARK):
            entry = None  # an app password never opens the web, even remembered
        if entry is not None:
            principal = entry.principal if entry.expires > started else \
                self._revalidate(key, entry, login, started, address)
            if principal is not None:
                if (login, address) in self._failing:
                    self._forget_failures(login, address)
                return principal
        return self._shared_check(key, login, password, address, via)

    def _forget_failures(self, login: str, address: str) -> None:
        """A remembered success from a pair that failed in this process: reset its
        count, as a checked success does."""
        with self._lock:
            self._failing.pop((login, address), None)
        try:
            with self.db.transaction() as session:
                acl.clear_throttle(session, login, address)
        except Exception as exc:
            outage.log_failure(log, exc, "cannot reset the sign-in failures of %r", login)

    def _shared_check(self, key: bytes, login: str, password: str, address: str,
                      via: str) -> acl.Principal | None:
        """One full check per credentials at a time: requests with the same
        credentials that arrive meanwhile wait for its outcome."""
        with self._lock:
            waiting = self._inflight.get(key)
            if waiting is None:
                mine: Future[acl.Principal | None] = Future()
                self._inflight[key] = mine
        if waiting is not None:
            return waiting.result()
        try:
            principal = self._full_check(key, login, password, address, via)
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        else:
            mine.set_result(principal)
            return principal
        finally:
            with self._lock:
                del self._inflight[key]

    def _full_check(self, key: bytes, login: str, password: str, address: str,
                    via: str) -> acl.Principal | None:
        started = self._monotonic()
        now = wall_time()
        app_hash = acl.secret_hash(password) \
            if via == "dav" and acl.looks_like_app_password(password) else None
        with self.db.transaction(write=False) as session:
            row = acl.throttle_row(session, login, address)
            record = acl.password_record(session, login)
            match = acl.app_password_match(session, login, app_hash) if app_hash else None
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            self._note_refused((login, address), row.blocked_until)
            raise _throttled(login, row.blocked_until)
        if match is not None and app_hash is not None:
            self._app_password_used(match, login, address, now, row is not None)
            self._remember(key, _Entry(match.principal, started + self.cache_ttl,
                                       APP_PASSWORD_MARK + app_hash, started))
            return match.principal
        usable = record is not None and not record[2]
        stored = record[1] if record is not None and usable else None
        self.checks += 1
        matches = self._pool.run(address, login, lambda: acl.check_password(
            stored if stored is not None else self._dummy(), password))
        if not (matches and record is not None and stored is not None):
            self._failed(login, address, via, record[0] if record else None, now)
            return None
        new_hash = None
        if acl.needs_rehash(stored):
            new_hash = self._pool.run(address, login, lambda: acl.hash_password(password))
        principal = record[0]
        self._succeeded(principal, login, address, via, stored, new_hash, row is not None)
        self._remember(key, _Entry(principal, started + self.cache_ttl, new_hash or stored,
                                   started))
        return principal

    def _dummy(self) -> str:
        """A hash of today's parameters that no password matches (made once)."""
        if self._dummy_hash is None:
            self._dummy_hash = acl.hash_password(base64.b64encode(os.urandom(24)).decode())
        return self._dummy_hash

    def _succeeded(self, principal: acl.Principal, login: str, address: str, via: str,
                   stored: str, new_hash: str | None, had_failures: bool) -> None:
        """Upgrade the hash, forget the failures, journal the sign-in: one
        transaction. A database error is logged: the password was right."""
        try:
            with self.db.transaction() as session:
                if new_hash is not None:
                    acl.replace_hash(session, principal.id, stored, new_hash)
                if had_failures:
                    acl.clear_throttle(session, login, address)
                    with self._lock:
                        self._failing.pop((login, address), None)
                journal.record(session, journal.Kind.sign_in, actor=principal,
                               school_id=acl.school_of_user(session, principal.id),
                               address=address or None, via=via, method="password")
        except Exception as exc:
            outage.log_failure(log, exc, "sign-in of %s: the database refused its bookkeeping",
                               login)

    def _app_password_used(self, match: acl.AppPasswordMatch, login: str, address: str,
                           now: float, had_failures: bool) -> None:
        """An app password opened ``/dav/``: forget the failures, show its last use,
        journal the sign-in; one transaction. A database error is logged: the app
        password was right."""
        try:
            with self.db.transaction() as session:
                if had_failures:
                    acl.clear_throttle(session, login, address)
                    with self._lock:
                        self._failing.pop((login, address), None)
                if acl.use_is_due(match, now, address):
                    acl.note_app_password_use(session, match.app_password_id, now,
                                              address or None)
                journal.record(session, journal.Kind.sign_in, actor=match.principal,
                               school_id=match.school_id, address=address or None,
                               via="dav", method="app_password",
                               details={"app_password": match.app_password_id,
                                        "label": match.label})
        except Exception:
            log.exception("app password sign-in of %s: the database refused its "
                          "bookkeeping", login)

    def _failed(self, login: str, address: str, via: str, known: acl.Principal | None,
                now: float) -> None:
        """Count the failure; the 5th in a row (and each one after) starts a refusal
        period, logged at WARNING and journaled."""
        try:
            with self.db.transaction() as session:
                failures, until = acl.note_failure(session, login, address, now,
                                                   self.throttle)
                school = acl.school_of_user(session, known.id) if known else None
                fields: dict[str, Any] = {"login": login, "school_id": school,
                                          "address": address or None, "via": via,
                                          "method": "password"}
                journal.record(session, journal.Kind.sign_in_failed,
                               outcome=journal.Outcome.failure, **fields)
                if until is not None:
                    journal.record(session, journal.Kind.throttled,
                                   outcome=journal.Outcome.refused,
                                   details={"failures": failures,
                                            "seconds": round(until - now)}, **fields)
        except Exception as exc:
            outage.log_failure(log, exc, "failed sign-in of %r: the database refused its "
                               "bookkeeping", login)
            return
        log.info("sign-in refused for %r from %s (%s)", login, address or "?", via)
        with self._lock:
            if len(self._failing) >= MAX_CACHE_ENTRIES:
                self._failing.clear()  # a reset then waits for the next checked success
            self._failing[(login, address)] = None
        if until is not None:
            log.warning("sign-in throttle: %r from %s refused for %d s after %d "
                        "consecutive failures", login, address or "?",
                        round(until - now), failures)
            self._note_refused((login, address), until)

    def _note_refused(self, pair: tuple[str, str], until: float) -> None:
        with self._lock:
            if len(self._blocked) >= MAX_CACHE_ENTRIES:
                now = wall_time()
                self._blocked = {p: u for p, u in self._blocked.items() if u > now}
            self._blocked[pair] = until

    def _refused_until(self, pair: tuple[str, str]) -> float | None:
        """The end of the pair's refusal period, or None. Pairs this process saw
        refused are confirmed by their row (one read by primary key, no hashing): an
        administrator's reset lifts the refusal at once."""
        until = self._blocked.get(pair)
        if until is None:
            return None
        if until > wall_time():
            with self.db.transaction(write=False) as session:
                row = acl.throttle_row(session, *pair)
            current = row.blocked_until if row is not None else None
            if current is not None and current > wall_time():
                return current
        with self._lock:
            self._blocked.pop(pair, None)
        return None

    def _follow_generation(self, now: float) -> None:
        """Read the credential generation if the last read is a second old; on a
        change, every remembered success must be renewed (one query each)."""
        if now - self._generation_read < GENERATION_EVERY:
            return
        self._generation_read = now
        try:
            with self.db.transaction(write=False) as session:
                generation = acl.credential_generation(session)
        except Exception as exc:
            outage.log_failure(log, exc, "cannot read the credential generation")
            return
        if self._generation is not None and generation != self._generation:
            with self._lock:
                self._entries = {k: replace(e, expires=0.0) for k, e in self._entries.items()}
        self._generation = generation

    def _revalidate(self, key: bytes, entry: _Entry, login: str, now: float,
                    address: str) -> acl.Principal | None:
        """The current principal when ``entry`` (expired) may be renewed without an
        argon2 check (see the module docstring), else None and the entry is dropped."""
        if entry.password_hash.startswith(APP_PASSWORD_MARK):
            return self._revalidate_app_password(key, entry, login, now, address)
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

    def _revalidate_app_password(self, key: bytes, entry: _Entry, login: str,
                                 now: float, address: str) -> acl.Principal | None:
        """An expired success of an app password is renewed while its row exists and
        its user is enabled (one query); its last use is written when due."""
        hashed = entry.password_hash[len(APP_PASSWORD_MARK):]
        with self.db.transaction(write=False) as session:
            match = acl.app_password_match(session, login, hashed)
        if match is None:
            with self._lock:
                self._entries.pop(key, None)
            return None
        origin = address or None
        if acl.use_is_due(match, wall_time(), origin):
            try:
                with self.db.transaction() as session:
                    acl.note_app_password_use(session, match.app_password_id, wall_time(),
                                              origin)
            except Exception:
                log.exception("cannot record the use of an app password of %s", login)
        self._remember(key, _Entry(match.principal, now + self.cache_ttl, entry.password_hash,
                                   entry.checked))
        return match.principal

    def _remember(self, key: bytes, entry: _Entry) -> None:
        if self.cache_ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_CACHE_ENTRIES:
                self._prune(self._monotonic())
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


def _throttled(login: str, until: float) -> TooManyRequests:
    seconds = max(1, math.ceil(until - wall_time()))
    return TooManyRequests(f"too many failed sign-ins for {login!r} from this address: "
                           f"try again in {seconds} s", retry_after=seconds)


def client_address(environ: dict[str, Any]) -> str:
    """The client's address of a request: the dispatcher's (the forwarded one behind a
    trusted proxy, :func:`davserver.forwarded.client_address`), else ``REMOTE_ADDR``."""
    return str(environ.get(CLIENT_ADDRESS_KEY) or environ.get("REMOTE_ADDR") or "")


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
            principal = verifier.verify(user_name, password, client_address(environ),
                                        via="dav")
            if principal is None:
                return False
            environ[PRINCIPAL_KEY] = principal
            journal.bind(who=principal.login, who_id=principal.id)
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
        try:
            signed_in = credentials is not None and self.domain_controller.basic_auth_user(
                realm, credentials[0], credentials[1], environ)
        except TooManyRequests as refused:
            return too_many_requests(refused, start_response)
        if signed_in and not owns_url(environ, environ[PRINCIPAL_KEY]):
            return not_found(start_response)
        if signed_in:
            assert credentials is not None
            environ["wsgidav.auth.realm"] = realm
            environ["wsgidav.auth.user_name"] = credentials[0]
            return self.next_app(environ, start_response)
        return self.send_basic_auth_response(environ, start_response)


def not_found(start_response: Any) -> list[bytes]:
    """404 for a sync app's address that names another user's files
    (``/remote.php/dav/files/<login>/``): whether that user exists is not said."""
    body = b"404 Not Found: these are not your files (use your own login in the URL).\n"
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                     ("Content-Length", str(len(body))),
                                     ("Date", util.get_rfc1123_time())])
    return [body]


def too_many_requests(refused: TooManyRequests, start_response: Any) -> list[bytes]:
    """The 429 answer of a throttled sign-in (RFC 6585 §4): ``Retry-After`` in seconds
    and a sentence saying how long to wait. No challenge: trying other credentials
    from here now is what the throttle refuses."""
    body = (f"429 Too Many Requests: {refused.message}\n").encode()
    start_response("429 Too Many Requests", [
        ("Retry-After", str(refused.retry_after)),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Date", util.get_rfc1123_time()),
    ])
    return [body]
