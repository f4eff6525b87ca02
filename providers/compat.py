"""Fixes to WsgiDAV 4.4.0 behaviours that no hook reaches (``shared/notes/wsgidav-4.4.md``).

Applied once, by :func:`apply`, when the application is built:

* 507, 503, 413 and 408 get their reason phrases (WsgiDAV prints "507 Status").
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
* Error pages name no software and no version: WsgiDAV's end with a link to
  "WsgiDAV/4.4.0" and the server's local time (:func:`_error_page`; issue 18). The
  ``Server`` header is cheroot's ``server_name``, "davserver", with no version.
* Hrefs speak the request's URL space (:mod:`.hrefs`): a resource reached through
  ``/remote.php/dav/files/<login>/`` is named so in every answer.
* Expected refusals log nothing beyond the request line (STYLE.md habit 8): WsgiDAV
  logs a PUT whose body was refused (507, 400, 408…) as "byte copy failed" with two
  chained tracebacks, and adds warnings about the unread body it closes the
  connection on, a write in progress (423) or a ``?logout`` (401), and a second line
  for any request on ``/dav/`` itself ("Got OPTIONS '/' request", whatever the
  method). :class:`ExpectedOutcomes` drops those records; any other exception, a
  500, keeps its traceback (ErrorPrinter logs it), for tracebacks are for our bugs.
  Where WsgiDAV catches an exception itself (DELETE, PROPPATCH, COPY, MOVE) and
  answers 500 or a 207 without a word, the exception is logged with its traceback
  when it is no ``DAVError`` (:func:`_as_dav_error`), once; an outage of the
  database or the blob store is a 503 with ``Retry-After`` there too
  (:mod:`davserver.outage`), logged in one line.
* ``<D:propname/>`` (RFC 4918 §9.1, §14.21) is understood: WsgiDAV looks for an
  element named ``name`` instead, so a propname request was taken for a request of
  no property at all and answered with bare hrefs (cadaver's ``propnames`` showed
  nothing, issue 17).
* Hrefs percent-encode every character outside RFC 3986's ``pchar``
  (:func:`providers.names.href_quote`): WsgiDAV's ``get_href`` leaves ``|`` raw, and
  strict URI parsers (Cyberduck, Java) drop such an entry. ``get_href`` goes through
  :func:`providers.hrefs.resource_href`, which also speaks the URL space the request
  used (``/dav/`` or the sync apps' ``/remote.php/…``).
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any
from urllib.parse import ParseResult, unquote, urlparse

from wsgidav import dav_error, request_server, util
from wsgidav.dav_error import HTTP_INTERNAL_ERROR, DAVError, DAVErrorCondition
from wsgidav.dav_provider import _DAVResource

from davserver import outage

from . import hrefs, preconditions

_applied = False
_original_add_property_response = util.add_property_response
_original_parse_xml_body = util.parse_xml_body
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


class ExpectedOutcomes(logging.Filter):
    """Drops WsgiDAV's records about an expected outcome: a record whose exception is a
    ``DAVError`` other than 500 or an outage (:func:`davserver.outage.outage_of`: its
    503 is logged in one line where it is answered; PUT's "byte copy failed" logs the
    traceback before handing the exception over), and the messages of :data:`NOISE`
    (at most WARNING)."""

    NOISE = ("Input stream not completely consumed", "Adding 'Connection: close' header",
             " -> DENIED due to active write transaction", "Force logout",
             "Got OPTIONS '/' request", "_debug_exception")

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, DAVError):
            return exc.value == HTTP_INTERNAL_ERROR
        if exc is not None and outage.outage_of(exc) is not None:
            return False
        return not (record.levelno <= logging.WARNING
                    and str(record.msg).startswith(self.NOISE))


def _as_dav_error(exc: BaseException) -> DAVError:
    """WsgiDAV's ``as_DAVError`` for the request server, which calls it on the
    exceptions it catches and answers itself: one that is no ``DAVError`` is a bug,
    logged here with its traceback (WsgiDAV's own log of it, "_debug_exception" in
    COPY and MOVE only, is dropped by :class:`ExpectedOutcomes`)."""
    unavailable = _unavailable(exc)
    if unavailable is not None:
        return unavailable
    if not isinstance(exc, DAVError):
        _request_log.error("Unexpected error, answered 500: %s", exc,
                           exc_info=(type(exc), exc, exc.__traceback__))
    return dav_error.as_DAVError(exc)  # type: ignore[no-any-return]


def _unavailable(exc: BaseException) -> DAVError | None:
    """The 503 of an outage (:mod:`davserver.outage`), logged in one line, or None."""
    found = outage.outage_of(exc) if not isinstance(exc, DAVError) else None
    if found is None:
        return None
    outage.log_outage(found)
    return DAVError(503, context_info=found.message, add_headers=outage.headers_of(found))


def _fail_as_dav_error(exc: BaseException) -> DAVError:
    """``as_DAVError`` of ``util.fail`` (PUT's handler passes it what it caught): an
    outage is a 503; anything else as before (the error printer logs it)."""
    return _unavailable(exc) or dav_error.as_DAVError(exc)  # type: ignore[no-any-return]


def _error_page(self: DAVError) -> tuple[str, bytes]:
    """WsgiDAV's ``DAVError.get_response_page``: the precondition's XML when there is
    one, else a small HTML page with the status and the reason, and nothing about the
    server (no product, version or clock, which only help an attacker)."""
    if self.err_condition:
        return "application/xml; charset=utf-8", self.err_condition.as_string().encode()
    status = html.escape(util.get_http_status_string(self))
    page = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{status}</title></head>\n<body><h1>{status}</h1>\n"
            f"<p>{html.escape(self.get_user_info())}</p></body></html>\n")
    return "text/html; charset=utf-8", page.encode("utf-8")


_request_log = logging.getLogger("wsgidav.request_server")
# The WsgiDAV loggers that write about expected outcomes.
_QUIETED_LOGGERS = ("wsgidav.request_server", "wsgidav.request_resolver",
                    "wsgidav.wsgidav_app", "wsgidav.lock_man.lock_manager",
                    "wsgidav.http_authenticator")


def _parse_xml_body(environ: dict[str, Any], *, allow_empty: bool = False) -> Any:
    """WsgiDAV's ``parse_xml_body``, with ``<D:propfind><D:propname/>`` handed over as
    the ``<D:name/>`` its PROPFIND handler looks for."""
    root = _original_parse_xml_body(environ, allow_empty=allow_empty)
    if root is not None and root.tag == "{DAV:}propfind":
        for child in root:
            if child.tag == "{DAV:}propname":
                child.tag = "{DAV:}name"
    return root


def apply() -> None:
    """Install the fixes (idempotent)."""
    global _applied
    if _applied:
        return
    dav_error.ERROR_DESCRIPTIONS.setdefault(408, "408 Request Timeout")
    dav_error.ERROR_DESCRIPTIONS.setdefault(413, "413 Payload Too Large")
    dav_error.ERROR_DESCRIPTIONS[507] = "507 Insufficient Storage"
    dav_error.ERROR_DESCRIPTIONS.setdefault(503, "503 Service Unavailable")
    module: Any = request_server
    module.unquote = _keep_encoded
    module.urlparse = _parse_destination
    module.as_DAVError = _as_dav_error
    utilities: Any = util
    utilities.add_property_response = _add_property_response
    utilities.as_DAVError = _fail_as_dav_error
    utilities.parse_xml_body = _parse_xml_body
    resource_class: Any = _DAVResource
    # "Error condition: <object at 0x…>" in PROPPATCH's responsedescription
    condition_class: Any = DAVErrorCondition
    condition_class.__repr__ = lambda self: str(self.condition_code)
    error_class: Any = DAVError
    error_class.get_response_page = _error_page
    preconditions.install()
    resource_class.get_href = hrefs.resource_href
    for name in _QUIETED_LOGGERS:
        logging.getLogger(name).addFilter(ExpectedOutcomes())
    _applied = True
