"""Request checks made before WsgiDAV handles a request, and response headers it lacks.

* ``Depth`` other than ``0``, ``1`` or ``infinity`` → 400 (RFC 4918 §10.2); PROPFIND
  with ``Depth: infinity`` (or none, which means infinity) → 403 with
  ``DAV:propfind-finite-depth`` unless enabled (RFC 4918 §9.1, case BUG-08).
* XML bodies (PROPFIND, PROPPATCH, LOCK) are read here, bounded: over the limit → 413;
  a chunked body is de-chunked into memory so WsgiDAV parses it (it ignores bodies
  without Content-Length); a DTD in any encoding → 400, so no entity is ever expanded.
* ``X-OC-Mtime`` on PUT and MKCOL (ownCloud sync clients, rclone): seconds since the
  epoch, answered with ``X-OC-Mtime: accepted``.
* A PUT or XML body that is malformed (chunked framing) or stalls → 400 or 408
  and ``Connection: close``, never 500; a chunked PUT refused before its body was read
  closes the connection too (its unread rest is not a request).
* GET and HEAD: ``Content-Security-Policy: sandbox`` (and, from ``davserver.app``,
  ``X-Content-Type-Options: nosniff`` on every answer): user content never runs on
  our origin.
* A native COPY/MOVE that created its destination answers 201 (WsgiDAV says 204).
* What the sync apps read of a write's answer (``OC-FileId``, ``OC-ETag``; set by
  :func:`announce_file`) is added to a successful answer.
"""

from __future__ import annotations

import io
import re
from typing import Any

from lxml import etree
from wsgidav.dav_error import HTTP_BAD_REQUEST, HTTP_FORBIDDEN, DAVError

from .oc_props import oc_id

XML_METHODS = frozenset({"PROPFIND", "PROPPATCH", "LOCK"})
OC_MTIME_KEY = "davserver.oc_mtime"
ANSWER_HEADERS_KEY = "davserver.answer_headers"
CREATED_KEY = "davserver.created"
CLOSE_CONNECTION_KEY = "davserver.close_connection"
# Parses only to look: no entity is substituted, no DTD or network resource loaded.
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                               huge_tree=False)
_MTIME_RE = re.compile(r"^\d{1,12}(\.\d+)?$")


def _check_depth(environ: dict[str, Any], allow_infinity: bool) -> None:
    depth = environ.get("HTTP_DEPTH")
    if depth is not None:
        depth = depth.strip().lower()
        if depth not in ("0", "1", "infinity"):
            raise DAVError(HTTP_BAD_REQUEST, f"Depth must be 0, 1 or infinity, not {depth!r}.")
        environ["HTTP_DEPTH"] = depth
    if (environ["REQUEST_METHOD"] == "PROPFIND" and depth in (None, "infinity")
            and not allow_infinity):
        raise DAVError(HTTP_FORBIDDEN, "Depth: infinity is not served; use Depth: 1.",
                       err_condition="{DAV:}propfind-finite-depth")


def _read_bounded(stream: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(65536, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise DAVError(413, f"XML request body larger than {limit} bytes.")


def _buffer_xml_body(environ: dict[str, Any], limit: int) -> None:
    length_text = environ.get("CONTENT_LENGTH") or ""
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if length_text:
        try:
            length = int(length_text)
        except ValueError as exc:
            raise DAVError(HTTP_BAD_REQUEST, "Content-Length is not a number.") from exc
        if length > limit:
            raise DAVError(413, f"XML request body larger than {limit} bytes.")
        body = _BodyReader(environ["wsgi.input"], environ).read(length) if length else b""
    elif chunked:
        body = _read_bounded(_BodyReader(environ["wsgi.input"], environ), limit)
    else:
        return
    _refuse_dtd(body)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)


def _refuse_dtd(body: bytes) -> None:
    """400 for a body that declares a DTD, whatever its encoding (UTF-16 included)."""
    if not body.strip():
        return
    try:
        root = etree.fromstring(body, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise DAVError(HTTP_BAD_REQUEST, f"Malformed XML body: {exc}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise DAVError(HTTP_BAD_REQUEST, "Document type declarations are not accepted.")


class _BodyReader:
    """``wsgi.input`` of a PUT: turns the WSGI server's framing errors into HTTP errors
    (cheroot raises ``ValueError`` for a malformed chunked body, ``TimeoutError`` for
    a stalled one; WsgiDAV would answer 500) and asks for the connection to close,
    since what is left on it cannot be trusted as the next request."""

    def __init__(self, inner: Any, environ: dict[str, Any]) -> None:
        self._inner = inner
        self._environ = environ
        self.finished = False  # the body was read to its end

    def read(self, size: int = -1) -> bytes:
        try:
            data = bytes(self._inner.read(size))
            self.finished = self.finished or (size != 0 and not data)
            return data
        except ValueError as exc:
            self._environ[CLOSE_CONNECTION_KEY] = True
            raise DAVError(HTTP_BAD_REQUEST, f"Malformed request body: {exc}") from exc
        except TimeoutError as exc:
            self._environ[CLOSE_CONNECTION_KEY] = True
            raise DAVError(408, "The request body stopped arriving.") from exc
        except ConnectionError as exc:
            self._environ[CLOSE_CONNECTION_KEY] = True
            raise DAVError(HTTP_BAD_REQUEST, "The connection broke during the body.") from exc


def unread_chunked_body(environ: dict[str, Any]) -> bool:
    """Is this a chunked PUT whose body was not read to its end? When such a request
    is refused early (403, 409, 423…), cheroot does not drain the body, and its rest
    would be read as the next request on the connection: the caller closes it."""
    body = environ.get("wsgi.input")
    return (isinstance(body, _BodyReader) and not body.finished
            and not (environ.get("CONTENT_LENGTH") or "").strip())


def parse_oc_mtime(value: str) -> float:
    """``X-OC-Mtime``: seconds since the epoch (UTC), an integer or a decimal. Raises
    ``DAVError`` 400 for anything else."""
    if not _MTIME_RE.match(value.strip()):
        raise DAVError(HTTP_BAD_REQUEST, "X-OC-Mtime must be seconds since the epoch.")
    return float(value)


# The most bytes a length header may announce: the databases' BIGINT, where sizes and
# reservations are kept. A larger number is refused before it reaches them.
MAX_LENGTH = 2**63 - 1


def parse_length(value: str | None, header: str) -> int | None:
    """A byte count announced in ``header`` (``OC-Total-Length``,
    ``X-Expected-Entity-Length``, a chunk's ``Content-Length``): None when absent or
    empty. Raises ``DAVError`` 400 naming the header for anything but ASCII digits, or
    a count past :data:`MAX_LENGTH` (SQLite refused it with ``OverflowError`` and
    ``int`` past 4,300 digits with ``ValueError``: both were 500s)."""
    text = (value or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdecimal()) or len(text) > len(str(MAX_LENGTH)) \
            or int(text) > MAX_LENGTH:
        raise DAVError(HTTP_BAD_REQUEST,
                       f"{header} must be a number of bytes, at most {MAX_LENGTH}.")
    return int(text)


def _read_oc_mtime(environ: dict[str, Any]) -> None:
    value = environ.get("HTTP_X_OC_MTIME")
    if value is None or environ["REQUEST_METHOD"] not in ("PUT", "MKCOL"):
        return
    environ[OC_MTIME_KEY] = parse_oc_mtime(value)


def announce_file(environ: dict[str, Any], node: Any) -> None:
    """Tell the sync apps, in the answer, the id and ETag of the file or folder a write
    left (``OC-FileId`` and ``OC-ETag``, read after a PUT, a MKCOL and the MOVE ending
    a chunked upload; ``node``: its ``NodeInfo``)."""
    headers = [("OC-FileId", oc_id(node.id))]
    if node.etag:
        headers.append(("OC-ETag", f'"{node.etag}"'))
    environ[ANSWER_HEADERS_KEY] = headers


def guarded_request(environ: dict[str, Any], start_response: Any, default_handler: Any, *,
                    allow_infinity: bool, max_xml_body: int) -> Any:
    """Run the checks above, then WsgiDAV's handler with a header-adding start_response."""
    method = environ["REQUEST_METHOD"]
    _check_depth(environ, allow_infinity)
    if method in XML_METHODS:
        _buffer_xml_body(environ, max_xml_body)
    elif method == "PUT":
        environ["wsgi.input"] = _BodyReader(environ["wsgi.input"], environ)
    _read_oc_mtime(environ)

    def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if environ.get(CREATED_KEY) and status.startswith("204"):
            status = "201 Created"
        headers = list(headers)
        if method in ("GET", "HEAD"):
            headers.append(("Content-Security-Policy", "sandbox"))
        if OC_MTIME_KEY in environ and status.startswith("2"):
            headers.append(("X-OC-Mtime", "accepted"))
        if status.startswith("2"):
            headers.extend(environ.get(ANSWER_HEADERS_KEY, ()))
        return start_response(status, headers, exc_info)

    return default_handler(environ, _start)
