"""What a WebDAV client's first contact gets before it signs in.

* ``OPTIONS`` on ``/dav`` or below without credentials (:func:`anonymous_options`):
  the Windows WebDAV redirector probes so, and gives up on the drive when it gets
  401. 200 with ``DAV: 1,2``, ``MS-Author-Via: DAV`` and every method of ``/dav/``
  in ``Allow``: the same answer for any path, so it tells nobody what exists.
* ``OPTIONS /``, ``OPTIONS *`` and ``PROPFIND /`` (:func:`root_probe`): Windows' "Map
  network drive" with ``http://server/``, and other clients given the bare address,
  probe the server's root (``*``: the server as a whole, RFC 9110 §9.3.7). ``/`` is
  the web layer's page for browsers, which keeps ``GET``; these answer as a WebDAV
  collection whose one member is ``/dav/`` (207 on PROPFIND), so a client finds the
  drive there. Nothing in them needs a sign-in.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree
from wsgidav import util

DAV_METHODS = ("OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, "
               "LOCK, UNLOCK")
ROOT_METHODS = "OPTIONS, GET, HEAD, PROPFIND"
# Members of the root collection, as (href, display name).
ROOT_MEMBERS = (("/dav/", "dav"),)
_ROOT_PROPS = ("{DAV:}resourcetype", "{DAV:}displayname")
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                               huge_tree=False)
StartResponse = Callable[..., Any]


def _dav_headers(allow: str) -> list[tuple[str, str]]:
    return [("DAV", "1,2"), ("MS-Author-Via", "DAV"), ("Allow", allow),
            ("Content-Length", "0"), ("Date", util.get_rfc1123_time())]


def anonymous_options(start_response: StartResponse) -> list[bytes]:
    """200 to ``OPTIONS`` without credentials anywhere under ``/dav``."""
    start_response("200 OK", _dav_headers(DAV_METHODS))
    return [b""]


def root_probe(environ: dict[str, Any], start_response: StartResponse, *,
               max_body: int) -> list[bytes]:
    """``OPTIONS /`` (or ``*``) or ``PROPFIND /`` (see the module docstring). A PROPFIND body of
    more than ``max_body`` bytes gets 413, a malformed one 400."""
    if environ["REQUEST_METHOD"] == "OPTIONS":
        start_response("200 OK", _dav_headers(ROOT_METHODS))
        return [b""]
    try:
        names = _requested(_read_body(environ, max_body))
    except ValueError as exc:
        status = "413 Payload Too Large" if "larger" in str(exc) else "400 Bad Request"
        return _plain(start_response, status, str(exc))
    members = [("/", "ENT")]
    if environ.get("HTTP_DEPTH", "infinity").strip() != "0":
        members.extend(ROOT_MEMBERS)
    body = _multistatus(members, names).encode("utf-8")
    start_response("207 Multi-Status", [("Content-Type", "application/xml; charset=utf-8"),
                                        ("Content-Length", str(len(body))),
                                        ("Date", util.get_rfc1123_time())])
    return [body]


def _plain(start_response: StartResponse, status: str, message: str) -> list[bytes]:
    body = (message + "\n").encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (``ValueError`` beyond); chunked too."""
    length = (environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ.get("wsgi.input") or io.BytesIO()
    if length:
        if not length.isdecimal() or int(length) > limit:
            raise ValueError(f"Request body larger than {limit} bytes.")
        return bytes(stream.read(int(length)))
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return b""
    body = bytes(stream.read(limit + 1))
    if len(body) > limit:
        raise ValueError(f"Request body larger than {limit} bytes.")
    return body


def _requested(body: bytes) -> list[str] | None:
    """The property names a PROPFIND body asks for; None for allprop and propname
    (both answered with every property here). ``ValueError`` if not a propfind."""
    if not body.strip():
        return None
    try:
        root = etree.fromstring(body, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"Malformed XML body: {exc}") from exc
    if root.tag != "{DAV:}propfind":
        raise ValueError("The body of a PROPFIND is a DAV:propfind element.")
    prop = root.find("{DAV:}prop")
    if prop is None:
        return None
    return [child.tag for child in prop if isinstance(child.tag, str)]


def _multistatus(members: list[tuple[str, str]], names: list[str] | None) -> str:
    """RFC 4918 §9.1 answer: each member is a collection with a display name; a named
    property it lacks is listed 404."""
    missing = [n for n in names or () if n not in _ROOT_PROPS]
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">']
    for href, name in members:
        found = []
        if names is None or "{DAV:}resourcetype" in names:
            found.append("<D:resourcetype><D:collection/></D:resourcetype>")
        if names is None or "{DAV:}displayname" in names:
            found.append(f"<D:displayname>{escape(name)}</D:displayname>")
        parts.append(f"<D:response><D:href>{escape(href)}</D:href>")
        if found:
            parts.append(f"<D:propstat><D:prop>{''.join(found)}</D:prop>"
                         "<D:status>HTTP/1.1 200 OK</D:status></D:propstat>")
        if missing:
            parts.append("<D:propstat><D:prop>")
            parts.extend(_empty_element(n, i) for i, n in enumerate(missing))
            parts.append("</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>")
        parts.append("</D:response>")
    parts.append("</D:multistatus>\n")
    return "".join(parts)


def _empty_element(clark: str, index: int) -> str:
    """``{ns}name`` as an empty element, its namespace declared on it."""
    namespace, _, local = clark[1:].partition("}") if clark.startswith("{") else ("", "", clark)
    if namespace == "DAV:":
        return f"<D:{local}/>"
    if not namespace:
        return f'<{local} xmlns=""/>'
    return f'<n{index}:{local} xmlns:n{index}="{escape(namespace, {chr(34): "&quot;"})}"/>'
