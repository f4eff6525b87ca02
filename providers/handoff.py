"""Large downloads handed to the reverse proxy: ``X-Accel-Redirect`` (nginx).

cheroot has no sendfile: every byte of a download crosses the interpreter. With
nginx in front, the server decides everything about a large GET (who may read it,
which conditions hold, which headers it carries) and answers with no body and an
``X-Accel-Redirect`` header; nginx then sends the bytes itself, from the blob
directory with sendfile, or from the object store through a URL signed for one
minute (docs/deployment.md, ``deploy/nginx.py``).

A download is handed over only when all of these hold (else the server sends it, as
without a proxy):

* ``server.accel_redirect`` is configured, and the request came through the proxy,
  which says so with ``X-Sendfile-Type: X-Accel-Redirect`` (the convention of
  Rack::Sendfile): a client that reaches a server directly always gets the bytes;
* a ``GET`` of at least ``accel_redirect.min_size`` bytes;
* no ``If`` header (WsgiDAV evaluates it), and none of ``If-Match``,
  ``If-Unmodified-Since``, ``If-Range``: nginx would evaluate those again against its
  own validators. ``If-None-Match`` and ``If-Modified-Since`` are evaluated here first
  (their 304 is the server's), and the proxy's own checks are off;
* no ``Range``, or a single satisfiable byte range (nginx serves that one the same
  way; anything else, several ranges or a 416, is the server's);
* the stored blob has the recorded size (``BlobStore.stored_size``: a ``stat``, or a
  ``HEAD`` of the object): a lost or cut blob is answered as the damage check
  answers it (:mod:`.damage`), never handed over to be sent short.

The answer carries the headers the server would send (``ETag``, ``Last-Modified``,
``Content-Type``, ``Content-Security-Policy: sandbox``, ``nosniff``...); nginx keeps
``Content-Type``, ``Content-Disposition``, ``Cache-Control`` and ``Accept-Ranges``
itself and the configuration restores the others
(``tests/integration/test_cluster_handoff.py`` compares both ways, header for header).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wsgidav import util

from .blobs import BlobStore
from .damage import DamagedContent, _failure
from .resources import download_headers

if TYPE_CHECKING:
    from .resources import FileContentMixin

PROXY_HEADER = "HTTP_X_SENDFILE_TYPE"
PROXY_VALUE = "x-accel-redirect"
# Conditions nginx would evaluate again with its own validators (see the docstring).
_PROXY_CONDITIONS = ("HTTP_IF", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_RANGE")
_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def single_range(header: str, size: int) -> bool:
    """Is ``header`` (a ``Range`` value) one satisfiable byte range of a ``size``-byte
    file (RFC 9110 §14.1.2)?"""
    match = _RANGE_RE.match(header)
    if not match:
        return False
    first, last = match.groups()
    if first:
        return int(first) < size and (not last or int(last) >= int(first))
    return bool(last) and int(last) > 0


@dataclass(frozen=True)
class Handoff:
    """The hand-over rules of the module docstring for one blob store: ``prefix`` is
    nginx's internal location (``/_blobs/``), ``min_size`` in bytes."""

    blobs: BlobStore
    prefix: str
    min_size: int

    def location(self, environ: dict[str, Any], size: int, key: str | None,
                 where: str, *, dav: bool = False) -> str | None:
        """The ``X-Accel-Redirect`` value for a download of the blob ``key`` of ``size``
        recorded bytes, or None when the server sends it itself. ``where`` names the
        file for the damage log. Raises ``DamagedContent`` when the stored blob is
        missing or of another size; ``BlobStoreUnavailable`` when the store does not
        answer (with ``dav``: a ``DAVError`` 500 saying so); both logged at ERROR."""
        if key is None or size < self.min_size or environ["REQUEST_METHOD"] != "GET":
            return None
        if (environ.get(PROXY_HEADER) or "").lower() != PROXY_VALUE:
            return None
        if any(name in environ for name in _PROXY_CONDITIONS):
            return None
        wanted = environ.get("HTTP_RANGE")
        if wanted is not None and not single_range(wanted, size):
            return None
        stored = self.blobs.stored_size(key)
        if stored != size:
            raise _failure(DamagedContent(where, key, size, stored), dav=dav)
        return self.prefix + self.blobs.proxy_location(key)


def file_headers(res: FileContentMixin, *, safety: bool = True) -> list[tuple[str, str]]:
    """What WsgiDAV's ``_send_resource`` sends for a whole file, in its order (the sync
    apps' ``OC-*`` headers of ``finalize_headers`` included), plus (with
    ``safety``) ``Content-Security-Policy: sandbox`` and ``X-Content-Type-Options:
    nosniff``, which providers.guards and davserver.app add on WsgiDAV's way."""
    headers = [("Content-Length", str(res.get_content_length()))]
    last_modified = res.get_last_modified()  # type: ignore[attr-defined]
    if last_modified is not None:
        headers.append(("Last-Modified", util.get_rfc1123_time(last_modified)))
    headers.append(("Content-Type", res.get_content_type()))
    headers.append(("Date", util.get_rfc1123_time()))
    etag = util.checked_etag(res.get_etag(), allow_none=True)
    headers.append(("ETag", f'"{etag if etag is not None else "[]"}"'))
    headers.append(("Accept-Ranges", "bytes"))
    headers.extend(download_headers(res.node))
    if safety:
        headers.append(("Content-Security-Policy", "sandbox"))
        headers.append(("X-Content-Type-Options", "nosniff"))
    return headers


def handed_over(res: FileContentMixin, location: str, *,
                safety: bool = True) -> list[tuple[str, str]]:
    """The headers of a handed-over answer (200, no body): the file's own, a
    ``Content-Length`` of 0 (nginx sets the real one) and ``X-Accel-Redirect``;
    ``Accept-Ranges`` is left to what sends the bytes (nginx or the object store, which
    both send it)."""
    headers = [(k, "0" if k == "Content-Length" else v)
               for k, v in file_headers(res, safety=safety) if k != "Accept-Ranges"]
    return [*headers, ("X-Accel-Redirect", location)]
