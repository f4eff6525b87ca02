"""What the Nextcloud and ownCloud apps ask before they sync: ``/status.php`` and the
OCS API (Nextcloud's ``developer_manual/client_apis/OCS``).

* ``GET /status.php`` (anonymous): installed, not in maintenance, a version the
  apps accept (:data:`VERSION`: Nextcloud 28's numbering, above the 3.x desktop
  apps' minimum, 20) and the product name (``sync.product_name``).
* ``GET /ocs/v1.php/cloud/capabilities`` and ``/ocs/v2.php/…`` (HTTP Basic): what we
  support and no more: chunked uploads (``dav.chunking`` 1.0, :mod:`providers.uploads`),
  SHA-1 and MD5 checksums (``checksums``, :mod:`providers.checksums`); no sharing
  API, no trash or versions API, no notifications (absent or ``false``).
* ``GET /ocs/v1.php/cloud/user`` (and v2): the signed-in user's id (their login, the
  ``<login>`` of ``/remote.php/dav/files/<login>/``), display name, e-mail and the
  quota of their porte-documents.

OCS answers in XML unless ``format=json`` (or ``Accept: application/json``), as
Nextcloud does. v1 says success with ``statuscode`` 100 and HTTP 200; v2 with 200.
Failures: 997 (not signed in: HTTP 401 with a Basic challenge), 998 (unknown
endpoint: 404), 429 from the sign-in throttle. The credentials are checked by the
same :class:`davserver.auth.CredentialVerifier` as ``/dav/`` (throttle, cache,
journal); no cookie session is accepted, so Nextcloud's ``OCS-APIRequest: true``
header, its guard against cross-site requests made with a browser's cookies, is
needed by nothing here and required of no client.

Login Flow v2 (Nextcloud's ``developer_manual/client_apis/LoginFlow``), how the desktop
and mobile apps add an account from a browser (:mod:`acl.login_flows`):

* ``POST /index.php/login/v2`` (or ``/login/v2``), anonymous: starts a flow; answers
  ``{"poll": {"token", "endpoint"}, "login": URL}``. The URL opens the browser at
  ``/login/v2/flow/<login token>`` (:mod:`web.account.login_flow`: sign-in, charter,
  grant). Addresses are given on the origin the app used (``server_of``).
* ``POST /index.php/login/v2/poll`` with ``token`` (form or query): 404 until the
  user granted, then ``{"server", "loginName", "appPassword"}`` once; 404 again
  after that, and for a flow cancelled or expired. A token that is no flow's counts
  as a failed sign-in of the pseudo-login :data:`POLL_THROTTLE_KEY` from that
  address (the sign-in throttle: 429 after 5 in a row; journaled), so tokens cannot
  be tried in bulk; an app polling its own flow is never counted, nor refused when
  its address is blocked (a school's NAT: one bad client must not stop every
  teacher's sign-in).

The legacy in-app flow (``/index.php/login/flow``, Login Flow v1, a web view in older
mobile apps) is all in the browser: :mod:`web.account.login_flow`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import acl
from davserver import clock, journal
from davserver.auth import basic_challenge, client_address, decode_basic_credentials
from davserver.errors import TooManyRequests
from providers import DOCUMENTS, Store

VERSION = (28, 0, 14, 1)
"""The Nextcloud version the apps are told (status.php, capabilities)."""
VERSION_STRING = "28.0.14"
OCS_PREFIXES = ("/ocs/v1.php/", "/ocs/v2.php/")
LOGIN_FLOW_V2 = ("/index.php/login/v2", "/login/v2")
LOGIN_FLOW_POLL = ("/index.php/login/v2/poll", "/login/v2/poll")
LOGIN_FLOW_PATHS = LOGIN_FLOW_V2 + LOGIN_FLOW_POLL
GRANT_PAGE = "/login/v2/flow/"  # + the login token: web.account.login_flow
POLL_THROTTLE_KEY = "(login flow v2)"  # no login has parentheses: no one else's row
MAX_FORM = 4096  # bytes of a poll's body read

StartResponse = Callable[..., Any]
Verify = Callable[[str, str, str], acl.Principal | None]
ServerOf = Callable[[dict[str, Any]], str]


def is_sync_api(path: str) -> bool:
    """Whether this module answers ``path``."""
    return (path == "/status.php" or path.startswith(OCS_PREFIXES)
            or path.rstrip("/") in LOGIN_FLOW_PATHS)


class SyncApi:
    """The WSGI application of ``/status.php``, ``/ocs/`` and Login Flow v2's
    addresses. ``verify(login, password, address)`` checks credentials (raising
    ``TooManyRequests`` when throttled); ``store`` gives the quota and the database;
    ``product_name`` is shown by the apps; ``realm`` is the Basic challenge's;
    ``server_of(environ)`` is the origin (``https://ent.example.fr``) the app is to
    use; ``throttle`` the sign-in throttle's numbers, for the poll."""

    def __init__(self, verify: Verify, store: Store, *, product_name: str,
                 realm: str, server_of: ServerOf,
                 throttle: acl.ThrottlePolicy | None = None) -> None:
        self.verify = verify
        self.store = store
        self.product_name = product_name
        self.realm = realm
        self.server_of = server_of
        self.throttle = throttle or acl.ThrottlePolicy()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ["REQUEST_METHOD"]
        flow_path = path.rstrip("/")
        if flow_path in LOGIN_FLOW_PATHS:
            if method != "POST":
                return _plain(start_response, "405 Method Not Allowed",
                              "Login Flow v2 is started and polled with POST.",
                              [("Allow", "POST")])
            if flow_path in LOGIN_FLOW_V2:
                return self._start_flow(environ, start_response)
            return self._poll_flow(environ, start_response)
        if method not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed",
                          "Only GET is served here.", [("Allow", "GET, HEAD")])
        if path == "/status.php":
            return _json(start_response, "200 OK", self.status())
        return self._ocs(environ, start_response, path)

    def status(self) -> dict[str, Any]:
        """``status.php``'s answer."""
        return {"installed": True, "maintenance": False, "needsDbUpgrade": False,
                "version": ".".join(map(str, VERSION)), "versionstring": VERSION_STRING,
                "edition": "", "productname": self.product_name,
                "extendedSupport": False}

    def capabilities(self) -> dict[str, Any]:
        """``cloud/capabilities``'s data: what the apps may use, and no more."""
        major, minor, micro, _ = VERSION
        return {
            "version": {"major": major, "minor": minor, "micro": micro,
                        "string": VERSION_STRING, "edition": "", "extendedSupport": False},
            "capabilities": {
                "core": {"webdav-root": "remote.php/webdav", "status": self.status()},
                "dav": {"chunking": "1.0"},
                "files": {"bigfilechunking": True, "undelete": False, "versioning": False,
                          "comments": False},
                "checksums": {"supportedTypes": ["SHA1", "MD5"],
                              "preferredUploadType": "SHA1"},
                "files_sharing": {"api_enabled": False, "public": {"enabled": False},
                                  "resharing": False, "group_sharing": False,
                                  "user": {"send_mail": False}},
            },
        }

    def user(self, principal: acl.Principal) -> dict[str, Any]:
        """``cloud/user``'s data for the signed-in user (quota: their porte-documents)."""
        with self.store.db.transaction(write=False) as s:
            contact = acl.contacts_of(s, {principal.id}).get(principal.id)
        space = self.store.ensure_space("documents", owner_id=principal.id,
                                        profile=principal.profile.value)
        figures = self.store.usage(space.id)
        used = figures.used if figures else 0
        total = figures.limit if figures else 0
        free = figures.available if figures else 0
        return {
            "id": principal.login, "enabled": True,
            "display-name": principal.display_name or principal.login,
            "email": contact.email if contact else None,
            "quota": {"free": free, "used": used, "total": total,
                      "relative": round(100.0 * used / total, 2) if total else 0.0,
                      "quota": total},
            "storageLocation": f"/{DOCUMENTS}",
        }

    def _ocs(self, environ: dict[str, Any], start_response: StartResponse, path: str
             ) -> Iterable[bytes]:
        v2 = path.startswith("/ocs/v2.php/")
        endpoint = path[len("/ocs/v1.php"):].rstrip("/")
        as_json = _wants_json(environ)
        if endpoint not in ("/cloud/capabilities", "/cloud/user"):
            return _ocs(start_response, v2, as_json, 998, "Not found: this server answers "
                        "cloud/capabilities and cloud/user only.", None)
        try:
            principal = self._signed_in(environ)
        except TooManyRequests as refused:
            return _plain(start_response, "429 Too Many Requests", refused.message,
                          [("Retry-After", str(refused.retry_after))])
        if principal is None:
            return _ocs(start_response, v2, as_json, 997, "Current user is not logged in",
                        None, [("WWW-Authenticate", basic_challenge(self.realm))])
        data = self.capabilities() if endpoint == "/cloud/capabilities" \
            else self.user(principal)
        return _ocs(start_response, v2, as_json, 100, "OK", data)

    def _start_flow(self, environ: dict[str, Any], start_response: StartResponse
                    ) -> list[bytes]:
        server = self.server_of(environ).rstrip("/")
        try:
            with self.store.db.transaction() as s:
                flow = acl.start_flow(s, environ.get("HTTP_USER_AGENT") or "", server,
                                      client_address(environ))
        except TooManyRequests as refused:
            return _plain(start_response, "429 Too Many Requests", refused.message,
                          [("Retry-After", str(refused.retry_after))])
        return _json(start_response, "200 OK", {
            "poll": {"token": flow.poll_token, "endpoint": server + LOGIN_FLOW_POLL[0]},
            "login": server + GRANT_PAGE + flow.login_token}, [("Cache-Control", "no-store")])

    def _poll_flow(self, environ: dict[str, Any], start_response: StartResponse
                   ) -> list[bytes]:
        token = _form_value(environ, "token")
        address = client_address(environ)
        now = clock.time()
        with self.store.db.transaction() as s:
            # The token first: an app polling its own flow is never refused, even from
            # an address blocked for guessing (a school's NAT puts every teacher's app
            # behind the address of one bad client). A blocked guesser learns nothing
            # by this: a poll token is 384 random bits (acl.login_flows.TOKEN_BYTES).
            known = acl.poll_known(s, token)
            row = None if known else acl.throttle_row(s, POLL_THROTTLE_KEY, address)
            if row is not None and row.blocked_until is not None and row.blocked_until > now:
                wait = max(1, int(row.blocked_until - now + 0.999))
                return _plain(start_response, "429 Too Many Requests",
                              f"Too many unknown Login Flow v2 tokens from {address}: "
                              f"try again in {wait} s.", [("Retry-After", str(wait))])
            if not known:
                failures, until = acl.note_failure(s, POLL_THROTTLE_KEY, address, now,
                                                   self.throttle)
                journal.record(s, journal.Kind.sign_in_failed,
                               outcome=journal.Outcome.failure, login=POLL_THROTTLE_KEY,
                               method="login_flow", details={"reason": "unknown token"})
                if until is not None:
                    journal.record(s, journal.Kind.throttled,
                                   outcome=journal.Outcome.refused,
                                   login=POLL_THROTTLE_KEY, method="login_flow",
                                   details={"failures": failures,
                                            "seconds": round(until - now)})
                delivery = None
            else:
                delivery = acl.poll_flow(s, token)
                if delivery is not None:
                    journal.record(s, journal.Kind.app_password_delivered,
                                   target=delivery.login, method="login_flow",
                                   school_id=acl.school_of_user(
                                       s, _user_id(s, delivery.login)))
        if delivery is None:
            return _json(start_response, "404 Not Found", [],
                         [("Cache-Control", "no-store")])
        return _json(start_response, "200 OK", {
            "server": delivery.server, "loginName": delivery.login,
            "appPassword": delivery.app_password}, [("Cache-Control", "no-store")])

    def _signed_in(self, environ: dict[str, Any]) -> acl.Principal | None:
        header = environ.get("HTTP_AUTHORIZATION") or ""
        if header[:6].lower() != "basic ":
            return None
        credentials = decode_basic_credentials(header)
        if credentials is None:
            return None
        return self.verify(credentials[0], credentials[1], client_address(environ))


def _user_id(session: Any, login: str) -> int:
    found = acl.find_user(session, login)
    return found.id if found is not None else -1


def _form_value(environ: dict[str, Any], name: str) -> str:
    """``name`` from a form or JSON body (``application/x-www-form-urlencoded``,
    ``application/json``: Nextcloud reads either; at most :data:`MAX_FORM` bytes) or
    else from the query string; "" when absent or not text."""
    values: dict[str, list[str]] = {}
    kind = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if kind in ("application/x-www-form-urlencoded", "application/json") and length > 0:
        body = environ["wsgi.input"].read(min(length, MAX_FORM)).decode("latin-1")
        if kind == "application/json":
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and isinstance(parsed.get(name), str):
                values = {name: [parsed[name]]}
        else:
            values = parse_qs(body)
    if name not in values:
        values = parse_qs(environ.get("QUERY_STRING", ""))
    found = values.get(name)
    return found[-1].strip() if found else ""


def _wants_json(environ: dict[str, Any]) -> bool:
    formats = parse_qs(environ.get("QUERY_STRING", "")).get("format")
    if formats:
        return formats[-1].lower() == "json"
    return "application/json" in (environ.get("HTTP_ACCEPT") or "")


_V1_HTTP = {100: "200 OK", 997: "401 Unauthorized", 998: "404 Not Found"}
_V2_HTTP = {200: "200 OK", 997: "401 Unauthorized", 998: "404 Not Found"}


def _ocs(start_response: StartResponse, v2: bool, as_json: bool, code: int,
         message: str, data: Any, extra: list[tuple[str, str]] | None = None
         ) -> list[bytes]:
    """An OCS envelope (``meta`` and ``data``) in JSON or XML, with its HTTP status."""
    if v2 and code == 100:
        code = 200
    status = (_V2_HTTP if v2 else _V1_HTTP)[code]
    meta = {"status": "ok" if code in (100, 200) else "failure", "statuscode": code,
            "message": message, "totalitems": "", "itemsperpage": ""}
    envelope = {"ocs": {"meta": meta, "data": data if data is not None else []}}
    if as_json:
        return _json(start_response, status, envelope, extra)
    body = ('<?xml version="1.0"?>\n' + _xml("ocs", envelope["ocs"])).encode("utf-8")
    start_response(status, [("Content-Type", "text/xml; charset=UTF-8"),
                            ("Content-Length", str(len(body))), *(extra or [])])
    return [body]


def _xml(tag: str, value: Any) -> str:
    """OCS's XML form of a JSON value (booleans ``1`` and empty, lists as ``element``)."""
    if isinstance(value, dict):
        inner = "".join(_xml(k, v) for k, v in value.items())
    elif isinstance(value, list):
        inner = "".join(_xml("element", v) for v in value)
    elif value is True:
        inner = "1"
    elif value is False or value is None:
        inner = ""
    else:
        inner = escape(str(value))
    return f"<{tag}>{inner}</{tag}>"


def _json(start_response: StartResponse, status: str, value: Any,
          extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    start_response(status, [("Content-Type", "application/json; charset=utf-8"),
                            ("Content-Length", str(len(body))), *(extra or [])])
    return [body]


def _plain(start_response: StartResponse, status: str, message: str,
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = (message + "\n").encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))), *(extra or [])])
    return [body]
