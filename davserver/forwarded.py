"""Which addresses are this server, for the ``Destination`` of COPY and MOVE.

Behind a reverse proxy that terminates TLS, clients write ``Destination:
https://ent.example/dav/…`` while the server is reached at ``http://127.0.0.1:8080``.
RFC 4918 §10.3 makes the Destination an absolute URI (or an absolute path) that
names a resource of this server; WsgiDAV compares it with the request's own scheme
and ``Host`` only (and takes ``X-Forwarded-*`` on trust), so such a MOVE got 502.

:class:`Origins` knows the server's addresses: the request's own scheme and
``Host``, each of ``server.public_urls``, and, with ``server.trust_forwarded_proto``,
the scheme and host a trusted proxy reports (``X-Forwarded-Proto``,
``X-Forwarded-Host``). Default ports count as the same address (``:443`` and none
for https, ``:80`` and none for http). :meth:`Origins.localize` rewrites a
Destination on one of them to its absolute path, which WsgiDAV then serves as it
serves ``Destination: /dav/…``; a Destination on any other host is left for
WsgiDAV's 502 (no longer swayed by ``X-Forwarded-*`` headers nobody vouches for).
Hrefs of 207 answers are absolute paths (``/dav/…``), right for the client
whatever address it used.

:func:`client_address` gives the client's own address the same way: behind a trusted
proxy, the one the proxy reports (the sign-in throttle and the security journal key
on it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from davserver.config import parse_origin

_FORWARDED_KEYS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")


def _origin(scheme: str, host: str) -> str | None:
    """The canonical origin of a scheme and a ``host[:port]``, or None if malformed."""
    try:
        return parse_origin(f"{scheme.strip()}://{host.strip()}")
    except ValueError:
        return None


def _first(value: str) -> str:
    """The first of a comma-separated header value (the client's side of a proxy chain)."""
    return value.split(",", 1)[0].strip()


class Origins:
    """This server's addresses: ``public_urls`` (canonical origins, as
    ``davserver.config`` leaves them) and, when ``trust_forwarded``, those a proxy
    reports per request."""

    def __init__(self, public_urls: Iterable[str], *, trust_forwarded: bool) -> None:
        listed = list(public_urls)
        self.public = frozenset(listed)
        self.first_public = listed[0] if listed else None
        self.trust_forwarded = trust_forwarded

    def of_request(self, environ: dict[str, Any]) -> set[str]:
        """The origins under which this request reached us."""
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}")
        found = [_origin(scheme, host)]
        if self.trust_forwarded:
            proto = _first(environ.get("HTTP_X_FORWARDED_PROTO", "")) or scheme
            found.append(_origin(proto,
                                 _first(environ.get("HTTP_X_FORWARDED_HOST", "")) or host))
        return {origin for origin in found if origin is not None} | self.public

    def public_origin(self, environ: dict[str, Any]) -> str:
        """The origin to hand a client for its next requests (Login Flow v2's
        addresses): the one the request used (as a trusted proxy reports it) when it
        is one of ``public_urls`` or none are set; else the first of ``public_urls``,
        so that a forged ``Host`` never sends a browser elsewhere."""
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}")
        if self.trust_forwarded:
            scheme = _first(environ.get("HTTP_X_FORWARDED_PROTO", "")) or scheme
            host = _first(environ.get("HTTP_X_FORWARDED_HOST", "")) or host
        used = _origin(scheme, host)
        if self.first_public is not None and used not in self.public:
            return self.first_public
        return used or f"{scheme}://{host}"

    def localize(self, environ: dict[str, Any]) -> None:
        """For COPY and MOVE: a ``Destination`` on one of this server's addresses
        becomes its absolute path, still percent-encoded (``/dav/a%20b.txt``). Without
        trust, ``X-Forwarded-*`` are dropped, so WsgiDAV's own check cannot take
        them for this server either."""
        if not self.trust_forwarded:
            for key in _FORWARDED_KEYS:
                environ.pop(key, None)
        destination = environ.get("HTTP_DESTINATION", "").strip()
        if "://" not in destination[:16] and not destination.startswith("//"):
            return  # an absolute path (or nonsense, for WsgiDAV to refuse)
        parts = urlsplit(destination)
        scheme = parts.scheme or environ.get("wsgi.url_scheme", "http")
        origin = _origin(scheme, parts.netloc)
        if origin is None or origin not in self.of_request(environ):
            return
        start = destination.find("/", destination.find(parts.netloc) + len(parts.netloc))
        environ["HTTP_DESTINATION"] = destination[start:] if start >= 0 else "/"


def client_address(environ: dict[str, Any], *, trust_forwarded: bool) -> str:
    """The address of the client that sent the request: ``REMOTE_ADDR``, or behind a
    trusted proxy (``server.trust_forwarded_proto``) the last address of
    ``X-Forwarded-For``, the one our proxy appended (addresses before it are written
    by the client and prove nothing). A malformed forwarded value is ignored."""
    remote = str(environ.get("REMOTE_ADDR") or "")
    if not trust_forwarded:
        return remote
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(forwarded.strip("[]")))
    except ValueError:
        return remote
