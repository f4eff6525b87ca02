"""Files sent to the browser as downloads, under the protections of a DAV GET: the
file manager's files, hand-ins and corrections, attachments of activities.

``Content-Disposition: attachment`` (RFC 6266, the name in UTF-8 per RFC 8187),
``Content-Security-Policy: sandbox`` and ``X-Content-Type-Options: nosniff``: an
uploaded HTML or SVG file is never shown inline nor run on our origin.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from urllib.parse import quote

from werkzeug.wrappers import Response

from providers import Store

from .places import settings, store


def attachment(name: str) -> str:
    """A ``Content-Disposition: attachment`` value for ``name`` (RFC 6266): an ASCII
    fallback and the UTF-8 name (RFC 8187)."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = "".join(c for c in fallback if c.isprintable() and c not in '"\\') or "fichier"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def protect(response: Response, name: str) -> Response:
    """Make ``response`` a download of ``name`` that never renders inline (the
    headers of the module docstring); returns it."""
    response.headers["Content-Disposition"] = attachment(name)
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def blob_chunks(files: Store, key: str | None, block: int) -> Iterator[bytes]:
    """A blob's content in ``block``-byte pieces, opened only when the first is
    asked for (after the view returned: no request context here)."""
    with files.open_blob(key) as content:
        while data := content.read(block):
            yield data


def held_download(key: str | None, name: str, content_type: str, size: int) -> Response:
    """A held blob (``Store.hold_blob``, or a node's blob shared by a holder) streamed
    as the download ``name`` of ``size`` bytes, never cached (its readers are
    checked on every request)."""
    response = Response(blob_chunks(store(), key, settings().block_size),
                        mimetype=content_type or "application/octet-stream",
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(size)
    response.headers["Cache-Control"] = "no-store"
    return protect(response, name)
