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

Login Flow v2 (``POST /index.php/login/v2``, how the desktop and mobile apps add an
account from a browser, handing the app an app password) is not built yet: its
addresses answer 501 with a sentence saying so (:func:`login_flow_unavailable`), the
one place to build it on :func:`acl.create_app_password`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import acl
from davserver.auth import basic_challenge, client_address, decode_basic_credentials
from davserver.errors import TooManyRequests
from providers import DOCUMENTS, Store

VERSION = (28, 0, 14, 1)
"""The Nextcloud version the apps are told (status.php, capabilities)."""
VERSION_STRING = "28.0.14"
OCS_PREFIXES = ("/ocs/v1.php/", "/ocs/v2.php/")
LOGIN_FLOW_PATHS = ("/index.php/login/v2", "/login/v2", "/index.php/login/flow",
                    "/login/flow")

StartResponse = Callable[..., Any]
Verify = Callable[[str, str, str], acl.Principal | None]


def is_sync_api(path: str) -> bool:
    """Whether this module answers ``path``."""
    return (path == "/status.php" or path.startswith(OCS_PREFIXES)
            or path.rstrip("/") in LOGIN_FLOW_PATHS)


class SyncApi:
    """The WSGI application of ``/status.php``, ``/ocs/`` and Login Flow v2's
    addresses. ``verify(login, password, address)`` checks credentials (raising
    ``TooManyRequests`` when throttled); ``store`` gives the quota; ``product_name``
    is shown by the apps; ``realm`` is the Basic challenge's."""

    def __init__(self, verify: Verify, store: Store, *, product_name: str,
                 realm: str) -> None:
        self.verify = verify
        self.store = store
        self.product_name = product_name
        self.realm = realm

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ["REQUEST_METHOD"]
        if path.rstrip("/") in LOGIN_FLOW_PATHS:
            return login_flow_unavailable(start_response)
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

    def _signed_in(self, environ: dict[str, Any]) -> acl.Principal | None:
        header = environ.get("HTTP_AUTHORIZATION") or ""
        if header[:6].lower() != "basic ":
            return None
        credentials = decode_basic_credentials(header)
        if credentials is None:
            return None
        return self.verify(credentials[0], credentials[1], client_address(environ))


def login_flow_unavailable(start_response: StartResponse) -> list[bytes]:
    """Login Flow v2's addresses until it is built (see the module docstring): 501,
    and a sentence for whoever reads it."""
    return _plain(start_response, "501 Not Implemented",
                  "Signing in from the browser (Login Flow v2) is not available yet. "
                  "Make an app password in Mon compte (/account/) and give it with "
                  "your login where the app asks for them (nextcloudcmd, owncloudcmd, "
                  "or an app's manual sign-in).")


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
