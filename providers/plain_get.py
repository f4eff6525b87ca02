"""The short way for the most frequent request: a plain GET or HEAD of a stored file.

A GET of a small file through WsgiDAV's whole stack (error printer, authenticator,
request resolver, request server and its precondition machinery) costs about as
much CPU as resolving the path itself; a school's thirty machines opening the same
course files at 8:00 pay it on every request. :class:`PlainGet` answers, before
WsgiDAV, the requests whose answer needs none of that machinery:

* ``GET`` or ``HEAD``, no body, ``Depth`` absent or ``0``, no query string (WsgiDAV's
  authenticator answers ``?logout`` with 401, so that a browser forgets the password);
* no ``If`` header (lock tokens, RFC 4918 §10.4) and no ``Range``: 206 answers and
  the ``If`` header stay WsgiDAV's (but a ``Range`` that nginx will serve, in a
  download handed over to it, is answered here: :mod:`.handoff`). ``If-Match``, ``If-None-Match``,
  ``If-Modified-Since`` and ``If-Unmodified-Since`` are evaluated here by the same
  function as on WsgiDAV's way (:func:`.preconditions.evaluate`), with the same 304
  and 412 answers (``If-Range`` without ``Range`` is ignored, RFC 7233 §3.2): a
  browser or sync client revalidating its copy stays on the short way;
* Basic credentials that were verified less than ``auth.cache_ttl`` seconds ago (the
  verifier's success cache; a first sign-in, a wrong password and every 401 take
  WsgiDAV's way);
* a path that resolves to a readable file of a space (not a folder, not the trash,
  not a virtual folder).

Anything else, and any error on the way, returns None and the request goes to
WsgiDAV, which answers it as before (the resolution it made is forgotten first).
The answer is the one WsgiDAV gives, header for header (``Content-Length``,
``Last-Modified``, ``Content-Type``, ``Date``, ``ETag``, ``Accept-Ranges``, the sync
apps' ``OC-FileId``, ``OC-ETag`` and ``OC-Checksum``, then
``Content-Security-Policy: sandbox`` and ``X-Content-Type-Options: nosniff``):
``tests/unit/test_plain_get.py`` compares the two.

A blob file missing or shorter than its recorded size (damaged storage, to restore
from a backup: :mod:`.damage`) is never sent as if whole: a missing or small one is
answered 500 with the reason, a big one ends its connection where the bytes end (a
client would otherwise wait for the rest).

Behind nginx, a large file may be handed over instead of sent (``X-Accel-Redirect``,
:mod:`.handoff`), under the same checks and with the same headers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from wsgidav import util

from .access import PRINCIPAL_KEY, owns_url
from .damage import DamagedContent
from .dav import EntProvider
from .handoff import Handoff, file_headers, handed_over
from .preconditions import CONDITIONAL_HEADERS, answer_headers, evaluate, validators_of
from .resources import FileResource, forget_resolved

# Headers that ask for the ``If`` header's evaluation (RFC 4918 §10.4), a range (RFC
# 9110 §14), or a body.
_SLOW_HEADERS = ("HTTP_IF", "HTTP_TRANSFER_ENCODING")
_STATUS = {304: "304 Not Modified", 412: "412 Precondition Failed"}
_log = logging.getLogger("wsgidav")  # where WsgiDAV writes its request lines

# An ``Authorization`` header value → the principal verified within the cache TTL, or
# None (davserver.auth.CredentialVerifier.recent).
CachedPrincipal = Callable[[str], Any]


class PlainGet:
    """A WSGI callable that answers a plain GET or HEAD of a stored file, or returns
    None for WsgiDAV to answer (see the module docstring).

    ``provider`` serves the share ``share_path`` (``/dav``); ``cached_principal``
    maps an ``Authorization`` header value to the principal verified recently, or
    None (never verifies a password itself); ``block_size`` is the read size in
    bytes for files larger than one block (config ``server.block_size``);
    ``dav_config`` is WsgiDAV's configuration, put in the environ as WsgiDAV does;
    ``handoff`` hands large downloads to nginx (None: never)."""

    def __init__(self, provider: EntProvider, share_path: str,
                 cached_principal: CachedPrincipal, *, block_size: int,
                 dav_config: dict[str, Any], handoff: Handoff | None = None) -> None:
        self.handoff = handoff
        self.provider = provider
        self.share_path = share_path
        self.cached_principal = cached_principal
        self.block_size = block_size
        self.dav_config = dav_config

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes] | None:
        method = environ["REQUEST_METHOD"]
        if (method != "GET" and method != "HEAD") or self._declines(environ):
            return None
        principal = self.cached_principal(environ.get("HTTP_AUTHORIZATION") or "")
        if principal is None or not owns_url(environ, principal):
            return None
        started = time.monotonic()
        try:
            path = util.normalize_path(util.re_encode_wsgi(environ["PATH_INFO"]))
        except Exception:  # noqa: BLE001  (WsgiDAV answers the bad path)
            return None
        if not path.startswith(self.share_path + "/"):
            return None
        rel = path[len(self.share_path):]
        environ[PRINCIPAL_KEY] = principal
        environ["wsgidav.provider"] = self.provider
        environ["wsgidav.config"] = self.dav_config
        try:
            res = self.provider.get_resource_inst(rel, environ)
            if type(res) is not FileResource or res.node is None:
                raise LookupError(rel)
            status, headers, body = self._answer(res, method, environ)
        except DamagedContent as damage:  # logged; WsgiDAV's way would find it again
            status, headers, body = _damaged(damage)
        except Exception:  # noqa: BLE001  (WsgiDAV's way answers it, errors included)
            forget_resolved(environ)
            environ.pop(PRINCIPAL_KEY, None)
            return None
        start_response(status, headers)
        if _log.isEnabledFor(logging.INFO):
            _log.info('%s - %s - [%s] "%s %s" elap=%.3fsec -> %s',
                      environ.get("REMOTE_ADDR", ""), principal.login, util.get_log_time(),
                      method, rel, time.monotonic() - started, status)
        return body

    def _declines(self, environ: dict[str, Any]) -> bool:
        """Does this request need WsgiDAV (see the module docstring)?"""
        if any(key in environ for key in _SLOW_HEADERS):
            return True
        if "HTTP_RANGE" in environ and self.handoff is None:
            return True
        if (environ.get("CONTENT_LENGTH") or "0") != "0" or environ.get("HTTP_DEPTH",
                                                                        "0") != "0":
            return True
        return bool(environ.get("QUERY_STRING"))

    def _answer(self, res: FileResource, method: str, environ: dict[str, Any]
                ) -> tuple[str, list[tuple[str, str]], Iterable[bytes]]:
        """Status, headers and body for the file ``res``: its content, or the 304 or
        412 of a failed precondition (no body), as WsgiDAV's way answers them."""
        if any(key in environ for key in CONDITIONAL_HEADERS):
            target = validators_of(res)
            failed = evaluate(method, environ, target)
            if failed is not None:
                return (_STATUS[failed.status],
                        [*answer_headers(failed.status, target),
                         ("X-Content-Type-Options", "nosniff")], [b""])
        if self.handoff is not None:
            node = res.node
            assert node is not None
            location = self.handoff.location(environ, node.size, node.blob_key,
                                             f"{res.path} (space {node.space_id})")
            if location is not None:
                return "200 OK", handed_over(res, location), [b""]
            if "HTTP_RANGE" in environ:
                raise LookupError("a range the proxy does not serve: WsgiDAV's")
        body = _body(res, self.block_size) if method == "GET" else [b""]
        return "200 OK", file_headers(res), body


def _body(res: FileResource, block_size: int) -> Iterable[bytes]:
    """The content, never more than the ``Content-Length`` announced: read at once when
    it fits in one block (the file is closed before the answer starts), else streamed
    block by block. Raises ``DamagedContent`` when the blob file is missing or, for a
    small file, shorter than recorded; a big one raises it mid-stream (cheroot then
    closes the connection)."""
    size = res.get_content_length()
    content = res.open_content()
    if size <= block_size:
        with content:
            return [content.read(size)]
    try:  # the first block before the answer starts (an object store GETs only now)
        first = content.read(block_size)
    except BaseException:
        content.close()
        raise
    return _blocks(content, first, size - len(first), block_size)


def _blocks(content: BinaryIO, first: bytes, size: int, block_size: int
            ) -> Iterator[bytes]:
    with content:
        yield first
        while size > 0:
            block = content.read(min(size, block_size))
            if not block:  # open_content raises first; never loop on an empty read
                raise OSError(f"content ended {size} bytes before its Content-Length")
            size -= len(block)
            yield block


def _damaged(damage: DamagedContent) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """Status, headers and body of the 500 that tells the client why."""
    body = (damage.user_message + "\n").encode()
    return ("500 Internal Server Error",
            [("Content-Type", "text/plain; charset=utf-8"),
             ("Content-Length", str(len(body))), ("X-Content-Type-Options", "nosniff")],
            [body])
