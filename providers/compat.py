"""Fixes to WsgiDAV 4.4.0 behaviours that no hook reaches (``shared/notes/wsgidav-4.4.md``).

Applied once, by :func:`apply`, when the application is built:

* 507 gets its reason phrase ("507 Insufficient Storage"; WsgiDAV prints "507 Status").
* ``Destination`` is parsed as a URI first, then its path is percent-decoded once
  (RFC 4918 §10.3, RFC 3986 §2.4). WsgiDAV decodes first, so an encoded ``?`` or
  ``#`` in a new name truncated it (case BUG-09, WsgiDAV #139). ``unquote`` and
  ``urlparse`` are used by ``request_server`` for the Destination header only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import ParseResult, unquote, urlparse

from wsgidav import dav_error, request_server
from wsgidav.dav_error import DAVError

_applied = False


def _keep_encoded(value: str) -> str:
    return value


def _parse_destination(url: str, scheme: str = "", allow_fragments: bool = True) -> ParseResult:
    parts = urlparse(url, scheme, allow_fragments=False)
    try:
        return parts._replace(path=unquote(parts.path, errors="strict"))
    except UnicodeDecodeError as exc:
        raise DAVError(400, context_info="Destination is not valid UTF-8") from exc


def apply() -> None:
    """Install the fixes (idempotent)."""
    global _applied
    if _applied:
        return
    dav_error.ERROR_DESCRIPTIONS[507] = "507 Insufficient Storage"
    module: Any = request_server
    module.unquote = _keep_encoded
    module.urlparse = _parse_destination
    _applied = True
