"""Fixes to WsgiDAV 4.4.0 behaviours that no hook reaches (``shared/notes/wsgidav-4.4.md``).

Applied once, by :func:`apply`, when the application is built:

* 507, 413 and 408 get their reason phrases (WsgiDAV prints "507 Status").
* ``Destination`` is parsed as a URI first, then its path is percent-decoded once
  (RFC 4918 §10.3, RFC 3986 §2.4). WsgiDAV decodes first, so an encoded ``?`` or
  ``#`` in a new name truncated it (case BUG-09, WsgiDAV #139). ``unquote`` and
  ``urlparse`` are used by ``request_server`` for the Destination header only.
  As for request paths, an encoded ``/`` or NUL in a name and ``.``/``..`` segments
  are refused with 400.
* A failed property in a multistatus carries its precondition element (RFC 4918
  §14.22), and PROPPATCH's ``responsedescription`` names it instead of a Python repr.
* Conditional requests (RFC 7232) are evaluated by :mod:`.preconditions`, at the
  point WsgiDAV evaluated its own (:func:`.preconditions.install`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import ParseResult, unquote, urlparse

from wsgidav import dav_error, request_server, util
from wsgidav.dav_error import DAVError, DAVErrorCondition

from . import preconditions

_applied = False
_original_add_property_response = util.add_property_response
# An encoded "/" or NUL inside a name: the same rule as for request paths.
_BAD_ENCODED = re.compile(r"%(2f|00)", re.IGNORECASE)


def has_bad_encoding(raw_path: str) -> bool:
    """True if a still-encoded path has ``%2F`` or ``%00``: a name that cannot be
    stored, refused before decoding hides it."""
    return _BAD_ENCODED.search(raw_path) is not None


def _keep_encoded(value: str) -> str:
    return value


def _parse_destination(url: str, scheme: str = "", allow_fragments: bool = True) -> ParseResult:
    parts = urlparse(url, scheme, allow_fragments=False)
    if _BAD_ENCODED.search(parts.path):
        raise DAVError(400, context_info="Destination has an encoded '/' or NUL in a name.")
    try:
        path = unquote(parts.path, errors="strict")
    except UnicodeDecodeError as exc:
        raise DAVError(400, context_info="Destination is not valid UTF-8.") from exc
    if any(segment in (".", "..") for segment in path.split("/")):
        raise DAVError(400, context_info="Destination has a '.' or '..' segment.")
    return parts._replace(path=path)


def _add_property_response(multistatus_elem: Any, href: str, prop_list: Any) -> None:
    """WsgiDAV's ``add_property_response``, plus the RFC 4918 §14.22 ``<D:error>`` of a
    failed property (e.g. ``cannot-modify-protected-property`` on PROPPATCH)."""
    _original_add_property_response(multistatus_elem, href, prop_list)
    conditions = {util.get_http_status_string(value): value.err_condition
                  for _name, value in prop_list
                  if isinstance(value, DAVError) and value.err_condition is not None}
    if not conditions:
        return
    for propstat in multistatus_elem[-1].iterfind("{DAV:}propstat"):
        status = propstat.findtext("{DAV:}status") or ""
        for code, condition in conditions.items():
            if status.endswith(code):
                propstat.append(condition.as_xml())


def apply() -> None:
    """Install the fixes (idempotent)."""
    global _applied
    if _applied:
        return
    dav_error.ERROR_DESCRIPTIONS.setdefault(408, "408 Request Timeout")
    dav_error.ERROR_DESCRIPTIONS.setdefault(413, "413 Payload Too Large")
    dav_error.ERROR_DESCRIPTIONS[507] = "507 Insufficient Storage"
    module: Any = request_server
    module.unquote = _keep_encoded
    module.urlparse = _parse_destination
    utilities: Any = util
    utilities.add_property_response = _add_property_response
    # "Error condition: <object at 0x…>" in PROPPATCH's responsedescription
    condition_class: Any = DAVErrorCondition
    condition_class.__repr__ = lambda self: str(self.condition_code)
    preconditions.install()
    _applied = True
