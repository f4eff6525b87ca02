"""CORS for browser, Electron and mobile WebDAV apps (KeeWeb, Obsidian's
remotely-save, Joplin's web client…), for the origins in ``dav.cors_origins``.

Off when the list is empty (the default): nothing here then touches an answer. For
an origin of the list (compared in canonical form, RFC 6454 §6.1):

* a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered 200
  here, before authentication (browsers never send credentials on a preflight),
  with the methods of WebDAV and the request headers it uses
  (:data:`ALLOW_HEADERS`, plus any the preflight names);
* every other answer, 401 and errors included, gets
  ``Access-Control-Allow-Origin: <that origin>`` and exposes :data:`EXPOSE_HEADERS`
  (``DAV``, ``ETag``, ``Lock-Token``…) to the app's script.

Every answer under ``/dav`` gets ``Vary: Origin`` while the list is not empty (a
cache must not serve one origin's answer to another). Another origin gets no CORS
header at all, so the browser keeps its script out.

No ``Access-Control-Allow-Credentials``: these apps send ``Authorization``
themselves (the preflight allows the header), which the Fetch standard does not
count as credentials; allowing credentials would also hand a listed origin the
password the browser keeps for ``/dav/`` and its cookies, which no app needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from davserver.config import parse_origin

ALLOW_METHODS = ("OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, "
                 "LOCK, UNLOCK")
ALLOW_HEADERS = ("Authorization", "Content-Type", "Depth", "Destination", "Overwrite", "If",
                 "Lock-Token", "Timeout", "If-Match", "If-None-Match", "If-Modified-Since",
                 "If-Unmodified-Since", "If-Range", "Range", "X-OC-Mtime",
                 "X-Requested-With", "Cache-Control", "Accept", "Accept-Language")
EXPOSE_HEADERS = ("DAV, ETag, Lock-Token, Content-Range, Content-Length, Content-Type, "
                  "Last-Modified, Accept-Ranges, Allow, Location, X-OC-Mtime, "
                  "WWW-Authenticate")
MAX_AGE = "3600"  # seconds a browser may keep a preflight's answer
_TOKEN_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 §5.6.2 field names

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _canonical(origin: str) -> str | None:
    try:
        return parse_origin(origin, web_only=False)
    except ValueError:
        return None


def _with_vary(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with ``Origin`` added to their ``Vary`` (merged, not repeated)."""
    for i, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            if "origin" not in value.lower():
                headers = [*headers[:i], (name, f"{value}, Origin"), *headers[i + 1:]]
            return headers
    return [*headers, ("Vary", "Origin")]


class Cors:
    """WSGI middleware around the ``/dav`` branch; ``origins`` as in
    ``dav.cors_origins`` (canonical)."""

    def __init__(self, app: WSGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self.origins:
            return self.app(environ, start_response)
        origin = environ.get("HTTP_ORIGIN", "")
        allowed = bool(origin) and _canonical(origin) in self.origins
        if (allowed and environ["REQUEST_METHOD"] == "OPTIONS"
                and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ):
            return self._preflight(environ, origin, start_response)
        added = [("Access-Control-Allow-Origin", origin),
                 ("Access-Control-Expose-Headers", EXPOSE_HEADERS)] if allowed else []

        def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, _with_vary([*headers, *added]), exc_info)

        return self.app(environ, _start)

    @staticmethod
    def _preflight(environ: dict[str, Any], origin: str,
                   start_response: Callable[..., Any]) -> list[bytes]:
        asked = [h.strip() for h in environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS",
                                                "").split(",")]
        known = {h.lower() for h in ALLOW_HEADERS}
        extra = [h for h in asked if _TOKEN_RE.match(h) and h.lower() not in known]
        start_response("200 OK", [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", ALLOW_METHODS),
            ("Access-Control-Allow-Headers", ", ".join((*ALLOW_HEADERS, *extra))),
            ("Access-Control-Max-Age", MAX_AGE),
            ("Vary", "Origin, Access-Control-Request-Headers"),
            ("Content-Length", "0"),
        ])
        return [b""]
