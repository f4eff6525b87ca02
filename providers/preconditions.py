"""Conditional requests (RFC 7232, restated in RFC 9110 §13), evaluated once a request.

:func:`evaluate` is the one evaluation, in RFC 7232 §6's order:

1. ``If-Match``: false → 412. ``*`` is true when the target exists; a list is
   compared strongly (§2.3.2), so ``W/"…"`` never matches.
2. Without ``If-Match``, ``If-Unmodified-Since``: modified after the date → 412.
3. ``If-None-Match``: true (``*`` and the target exists, or a tag of the list
   matches by weak comparison, §3.2) → 304 for GET and HEAD, 412 otherwise.
4. Without ``If-None-Match``, for GET and HEAD only, ``If-Modified-Since``: not
   modified since the date (a date equal to ``Last-Modified`` included) → 304.
5. ``If-Range`` with ``Range`` (RFC 7233 §3.2): the range is served when the
   validator matches (a strong tag, or the exact ``Last-Modified`` date), else the
   whole representation (:func:`range_applies`).

A date that is not a valid HTTP-date is ignored (§3.3, §3.4), and so is a date
precondition on a resource without a modification date. Entity tags are parsed
leniently: a member that is not a quoted tag is compared as its bare text (some
clients strip the quotes of the ``ETag`` they were sent), so text that is no tag
of ours never matches: ``If-None-Match`` on such text lets a PUT proceed, and
``If-Match`` on it fails with 412, so nothing is overwritten on a guess.

Where it runs, and why there: WsgiDAV calls ``RequestServer._evaluate_if_headers``
in every method's handler after its own checks (404, 405, 409, ``Depth``, body) and
before the lock checks and the action, and its first call in a request is always
for the request target (COPY and MOVE: the source; DELETE: the folder before its
members). :func:`install` wraps that method: at its first call of a request the
target is already resolved (in the request's resolution cache), so the evaluation
costs no query and sits where RFC 7232 §5 puts it, after the normal checks. Later
calls (destination, members) are left to the ``If`` header (RFC 4918 §10.4), which
WsgiDAV then evaluates as before; its own RFC 7232 evaluation
(``util.evaluate_http_conditionals``, which ignored ``If-Match`` on folders, gave
304 to a PUT and skipped missing resources) is switched off. MKCOL, the one
handler that makes no such call, is checked by :func:`check_mkcol` from the
provider's request hook; the plain GET short way (:mod:`.plain_get`) calls
:func:`evaluate` on the file it resolved, so both ways answer alike. A failed
precondition answers without a body: 304 with ``ETag``, ``Last-Modified`` and
``Date`` (RFC 7232 §4.1), 412 with the same and ``Content-Length: 0``
(:func:`answer_headers`; ``davserver.app`` puts them on WsgiDAV's answer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from wsgidav import request_server, util
from wsgidav.dav_error import DAVError

from davserver import clock

# What each outcome says in the log, and the environ key holding the failed target.
FAILED_KEY = "davserver.precondition_failed"
_EVALUATED_KEY = "davserver.preconditions_evaluated"
CONDITIONAL_HEADERS = ("HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE",
                       "HTTP_IF_UNMODIFIED_SINCE")
_SAFE_METHODS = frozenset({"GET", "HEAD"})
# A quoted entity-tag (RFC 7232 §2.3), optionally weak, or a bare member up to a comma.
_TAG_RE = re.compile(r'\s*(?:(W/)?"([^"]*)"|([^,]+?))\s*(?:,|$)')
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_MONTH = r"(?P<month>" + "|".join(_MONTHS) + ")"
_CLOCK = r"(?P<clock>\d\d:\d\d:\d\d)"
_IMF_RE = re.compile(r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?P<day>\d\d) " + _MONTH
                     + r" (?P<year>\d{4}) " + _CLOCK + " GMT$", re.IGNORECASE)
_RFC850_RE = re.compile(r"^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (?P<day>\d\d)-"
                        + _MONTH + r"-(?P<year>\d\d) " + _CLOCK + " GMT$", re.IGNORECASE)
_ASCTIME_RE = re.compile(r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) " + _MONTH
                         + r" (?P<day>[ \d]\d) " + _CLOCK + r" (?P<year>\d{4})$",
                         re.IGNORECASE)


class Validators(NamedTuple):
    """What the preconditions compare against: whether the target exists, its
    entity-tag (unquoted, strong; None for folders) and its modification time in
    whole seconds since the epoch, UTC (None when it has none), as ``ETag`` and
    ``Last-Modified`` state them."""

    exists: bool
    etag: str | None = None
    last_modified: int | None = None


MISSING = Validators(False)


class Failure(NamedTuple):
    """A precondition that failed: ``status`` is 304 or 412, ``header`` its name."""

    status: int
    header: str


def validators_of(res: Any) -> Validators:
    """The validators of an existing WsgiDAV resource."""
    etag = res.get_etag() if res.support_etag() else None
    modified = res.get_last_modified()
    return Validators(True, etag or None, None if modified is None else int(modified))


def parse_tags(value: str) -> list[tuple[bool, str]]:
    """The members of an entity-tag list as ``(weak, opaque tag)``; a member that is
    not a quoted tag is kept as its bare text (``W/`` prefix read as weak)."""
    tags = []
    for weak, quoted, bare in _TAG_RE.findall(value):
        if quoted or not bare:
            tags.append((bool(weak), quoted))
        elif bare.startswith("W/"):
            tags.append((True, bare[2:].strip('"')))
        else:
            tags.append((False, bare))
    return tags


def _matches(value: str, target: Validators, *, weak: bool) -> bool:
    """Does ``If-Match``/``If-None-Match`` ``value`` match the target (RFC 7232 §2.3.2:
    strong comparison needs both tags strong)?"""
    if value.strip() == "*":
        return target.exists
    if target.etag is None:
        return False
    return any(opaque == target.etag and (weak or not is_weak)
               for is_weak, opaque in parse_tags(value))


def parse_http_date(value: str, *, this_year: int | None = None) -> int | None:
    """Seconds since the epoch (UTC) of an HTTP-date in any of its three forms (RFC
    7231 §7.1.1.1: IMF-fixdate, RFC 850, asctime), or None when it is not one (a
    list of dates, another time zone, a day that does not exist…). Parsed by hand:
    ``strptime`` would follow the process's locale for day and month names.
    ``this_year`` (default: the current UTC year) places RFC 850's two-digit years."""
    text = value.strip()
    match = _IMF_RE.match(text) or _ASCTIME_RE.match(text)
    if match:
        day, month, year, hms = match["day"], match["month"], int(match["year"]), \
            match["clock"]
    else:
        match = _RFC850_RE.match(text)
        if match is None:
            return None
        day, month, hms = match["day"], match["month"], match["clock"]
        # RFC 7231: a year that looks more than 50 years ahead is in the past century.
        now = this_year if this_year is not None else clock.now().year
        year = now // 100 * 100 + int(match["year"])
        if year > now + 50:
            year -= 100
        elif year <= now - 50:
            year += 100
    hour, minute, second = (int(part) for part in hms.split(":"))
    try:
        moment = datetime(year, _MONTHS[month.title()], int(day), hour, minute, second,
                          tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp())


def evaluate(method: str, headers: Mapping[str, Any], target: Validators) -> Failure | None:
    """The first precondition of ``headers`` (a WSGI environ) that fails for
    ``target`` under ``method``, in RFC 7232 §6's order, or None to proceed."""
    if_match = headers.get("HTTP_IF_MATCH")
    if if_match is not None:
        if not _matches(if_match, target, weak=False):
            return Failure(412, "If-Match")
    elif "HTTP_IF_UNMODIFIED_SINCE" in headers and target.last_modified is not None:
        date = parse_http_date(headers["HTTP_IF_UNMODIFIED_SINCE"])
        if date is not None and target.last_modified > date:
            return Failure(412, "If-Unmodified-Since")
    if_none_match = headers.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        if _matches(if_none_match, target, weak=True):
            return Failure(304 if method in _SAFE_METHODS else 412, "If-None-Match")
    elif (method in _SAFE_METHODS and "HTTP_IF_MODIFIED_SINCE" in headers
          and target.last_modified is not None):
        date = parse_http_date(headers["HTTP_IF_MODIFIED_SINCE"])
        if date is not None and target.last_modified <= date:
            return Failure(304, "If-Modified-Since")
    return None


def range_applies(headers: Mapping[str, Any], target: Validators) -> bool:
    """Whether a ``Range`` is to be served under the request's ``If-Range`` (RFC 7233
    §3.2): true without one; else only for a strong tag equal to the target's, or a
    date equal to its ``Last-Modified``."""
    value = headers.get("HTTP_IF_RANGE")
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        tags = parse_tags(value)
        return len(tags) == 1 and not tags[0][0] and tags[0][1] == target.etag
    date = parse_http_date(value)
    return date is not None and date == target.last_modified


def answer_headers(status: int, target: Validators) -> list[tuple[str, str]]:
    """Headers of a 304 or 412 answer (no body): ``Date``, the target's ``ETag`` and
    ``Last-Modified`` (RFC 7232 §4.1), and for 412 ``Content-Length: 0``."""
    headers = [("Date", util.get_rfc1123_time())]
    if target.etag is not None:
        headers.append(("ETag", f'"{target.etag}"'))
    if target.last_modified is not None:
        headers.append(("Last-Modified", util.get_rfc1123_time(target.last_modified)))
    if status != 304:
        headers.append(("Content-Length", "0"))
    return headers


def check_target(provider: Any, res: Any, environ: dict[str, Any]) -> None:
    """Evaluate the request's preconditions against its target ``res`` (None: an
    unmapped URL), once a request. Raises ``DAVError`` 304 or 412 (no body; the
    target's validators kept under :data:`FAILED_KEY` for the answer's headers).
    For GET and HEAD, decides ``If-Range`` and leaves WsgiDAV a ``Range`` only when
    it is to be served. An unmapped URL whose folder does not exist is left alone:
    its 409 comes first (RFC 7232 §5)."""
    if environ.get(_EVALUATED_KEY):
        return
    environ[_EVALUATED_KEY] = True
    if res is not None:
        target = validators_of(res)
    else:
        parent = provider.get_resource_inst(util.get_uri_parent(environ["PATH_INFO"]),
                                            environ)
        if parent is None or not parent.is_collection:
            return
        target = MISSING
    method = environ["REQUEST_METHOD"]
    if method in _SAFE_METHODS and "HTTP_IF_RANGE" in environ:
        if "HTTP_RANGE" in environ and not range_applies(environ, target):
            del environ["HTTP_RANGE"]
        del environ["HTTP_IF_RANGE"]  # decided: WsgiDAV's own test stays out
    failed = evaluate(method, environ, target)
    if failed is not None:
        environ[FAILED_KEY] = target
        raise DAVError(failed.status, context_info=f"{failed.header} precondition failed.",
                       add_body=False)


def check_mkcol(provider: Any, environ: dict[str, Any]) -> None:
    """MKCOL's preconditions (WsgiDAV's MKCOL evaluates none): on an unmapped URL
    whose folder exists, after the checks that come first (a body: 415; a ``Depth``:
    400; an existing target: 405)."""
    if ((environ.get("CONTENT_LENGTH") or "0") != "0" or "HTTP_TRANSFER_ENCODING" in environ
            or environ.get("HTTP_DEPTH", "0") != "0"):
        return
    if provider.get_resource_inst(environ["PATH_INFO"], environ) is None:
        check_target(provider, None, environ)


def install() -> None:
    """Evaluate preconditions at the first ``_evaluate_if_headers`` call of each
    request (see the module docstring), and switch WsgiDAV's own evaluation off."""
    server: Any = request_server.RequestServer
    if getattr(server._evaluate_if_headers, "ours", False):
        return
    original = server._evaluate_if_headers

    def _evaluate_if_headers(self: Any, res: Any, environ: dict[str, Any]) -> None:
        check_target(self._davProvider, res, environ)
        original(self, res, environ)

    _evaluate_if_headers.ours = True  # type: ignore[attr-defined]
    server._evaluate_if_headers = _evaluate_if_headers
    utilities: Any = util
    utilities.evaluate_http_conditionals = _evaluated_above


def _evaluated_above(*_args: Any) -> None:
    """WsgiDAV's RFC 7232 evaluation, replaced: :func:`check_target` made it."""
