"""WSGI composition, in one documented order (STYLE.md habit 4).

``create_app(config)`` builds, in this order:

1. the database (engine, schema) and the blob store (``blobs.kind``: a directory or
   an S3-compatible bucket, :func:`make_blob_store`);
2. the store, the lock storage and the one DAV provider serving ``/dav``;
   WsgiDAV's lock manager is replaced by ours (``providers.lock_rules``);
3. the WsgiDAV application: middleware ErrorPrinter → :class:`OutageGuard` (an
   outage of the database or the blob store is a 503, :mod:`davserver.outage`) →
   BasicAuthenticator (our
   domain controller; ``OPTIONS`` without credentials is answered there,
   :mod:`davserver.probes`) → RequestResolver. No dir browser (it costs a resolution
   per request and needs an anonymous asset share); CORS is ours
   (:mod:`davserver.cors`), around the whole ``/dav`` branch;
4. the Flask web layer, sharing the credential verifier (one failure delay and
   one success cache for DAV and browser sign-ins);
5. the dispatcher: ``/healthz`` and ``/readyz`` → :class:`davserver.health.Health`;
   ``/dav`` and below → CORS → a COPY or MOVE ``Destination`` on one
   of the server's addresses made a path (:mod:`davserver.forwarded`) →
   :class:`providers.PlainGet` for a plain GET or HEAD of a file by a recently
   verified user, else WsgiDAV (a HEAD answer's body dropped); the sync apps'
   WebDAV addresses (``/remote.php/…``) → mapped onto ``/dav`` by
   :mod:`davserver.sync_routes`, then the same way; ``/status.php``, ``/ocs/`` →
   :mod:`davserver.sync_api`; ``OPTIONS /``, ``OPTIONS *`` and ``PROPFIND /`` → the
   root probe (:mod:`davserver.probes`); anything else → Flask. An outage raised
   before an answer started is a 503 there too; while the process drains (SIGTERM,
   :mod:`davserver.drain`), every answer closes its connection.

The share is named ``/dav`` with no ``mount_path`` (notes/wsgidav-4.4.md §5,
workaround a: WsgiDAV 4.4.0 answers 502 to COPY/MOVE when ``mount_path`` is set).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cheroot import server, wsgi
from wsgidav.dav_error import DAVError
from wsgidav.error_printer import ErrorPrinter
from wsgidav.mw.base_mw import BaseMiddleware
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

import acl
import quotas
from davserver import journal, outage
from davserver.auth import (
    CLIENT_ADDRESS_KEY,
    BasicAuthenticator,
    CredentialVerifier,
    make_domain_controller,
)
from davserver.config import Config
from davserver.cors import Cors
from davserver.db import Database
from davserver.forwarded import Origins, client_address
from davserver.health import PATHS as HEALTH_PATHS
from davserver.health import Health
from davserver.probes import root_probe
from davserver.sync_api import SyncApi, is_sync_api
from davserver.sync_routes import PREFIX as SYNC_PREFIX
from davserver.sync_routes import RouteError, route
from providers import (
    CLOSE_CONNECTION_KEY,
    BlobStore,
    EntLockManager,
    EntProvider,
    Handoff,
    LocalBlobStore,
    PlainGet,
    SqlLockStorage,
    Store,
    preconditions,
    unread_chunked_body,
)
from providers import compat as dav_compat
from web import create_web_app

DAV_PREFIX = "/dav"
CHEROOT_REQUEST_KEY = "davserver.cheroot_request"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Application:
    """The composed WSGI app and what it holds open."""

    wsgi: WSGIApp
    db: Database
    store: Store
    locks: SqlLockStorage
    health: Health
    web: Any = None
    """The Flask application of the web side (``web.create_web_app``)."""

    def close(self) -> None:
        self.db.dispose()


def make_blob_store(config: Config, kind: str | None = None) -> BlobStore:
    """The blob store of ``config`` (``blobs.kind``, or ``kind`` to name the other one,
    for ``davserver blobs migrate``): the directory ``blob_dir``, or the bucket of
    ``blobs.s3`` (boto3 is imported only then)."""
    if (kind or config.blobs.kind) == "s3":
        from providers.s3_blobs import S3BlobStore

        return S3BlobStore(config.blobs.s3, pool_size=config.server.threads)
    return LocalBlobStore(config.effective_blob_dir, owner=quotas.this_process().tag)


class OutageGuard(BaseMiddleware):  # type: ignore[misc]
    """WsgiDAV middleware under its error printer: an outage of the database or the blob
    store (:func:`davserver.outage.outage_of`) raised before the answer started becomes
    a ``DAVError`` 503 with ``Retry-After``, logged in one line, instead of a 500 with a
    traceback."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # The error printer sends nothing before the first chunk (WsgiDAV calls
        # start_response before it opens a file's content): until then it may answer.
        sent = False
        try:
            answer = self.next_app(environ, start_response)
            for chunk in answer:
                sent = True
                yield chunk
            close = getattr(answer, "close", None)
            if close is not None:
                close()
        except Exception as exc:
            found = outage.outage_of(exc)
            if found is None or sent or isinstance(exc, DAVError):
                raise
            outage.log_outage(found, environ)
            raise DAVError(503, context_info=found.message,
                           add_headers=outage.headers_of(found)) from None


def _wsgidav_config(config: Config, provider: EntProvider, locks: SqlLockStorage,
                    verifier: CredentialVerifier) -> dict[str, Any]:
    return {
        "provider_mapping": {DAV_PREFIX: provider},
        "mount_path": "",
        "http_authenticator": {
            "domain_controller": make_domain_controller(verifier, config.auth.realm),
            "accept_basic": True,
            "accept_digest": False,
            "default_to_digest": False,
            "trusted_auth_header": None,
        },
        "lock_storage": locks,
        "property_manager": None,
        "middleware_stack": [ErrorPrinter, OutageGuard, BasicAuthenticator, RequestResolver],
        "dir_browser": {"enable": False},
        "hotfixes": {
            "emulate_win32_lastmod": True,
            "re_encode_path_info": True,
            "unquote_path_info": False,
        },
        "honor_mtime_header": False,  # X-OC-Mtime is applied in the write transaction
        "block_size": config.server.block_size,
        "add_header_MS_Author_Via": True,
        "suppress_version_info": True,
        "verbose": 3,  # request lines at INFO on the "wsgidav" logger
        "logging": {"enable": False},
    }


def _bad_request(start_response: Callable[..., Any], message: str) -> list[bytes]:
    return _plain(start_response, "400 Bad Request", message)


def _plain(start_response: Callable[..., Any], status: str, message: str) -> list[bytes]:
    body = (message + "\n").encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))),
                            ("X-Content-Type-Options", "nosniff")])
    return [body]


def _without_body(answer: Iterable[bytes]) -> list[bytes]:
    """A HEAD answer without its body (RFC 9110 §9.3.2): WsgiDAV sends its error pages
    (401, 403…) to HEAD too, and cheroot writes them, which a client reads as the
    start of its next answer on the connection. The answer is run to its end (its
    status and headers are sent as they were), its bytes dropped."""
    try:
        for _chunk in answer:
            pass
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
    return [b""]


class _StrictLengthHeaders(dict[bytes, bytes]):
    """Request headers that refuse a repeated or non-numeric Content-Length (RFC 9110
    §8.6, RFC 9112 §6.3: such framing cannot be trusted); cheroot answers 400."""

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if key == b"Content-Length":
            if key in self:
                raise ValueError("Repeated Content-Length header.")
            if not value.isdigit():  # bytes: ASCII digits only
                raise ValueError("Content-Length must be a number of bytes.")
        super().__setitem__(key, value)


class StrictHeaderReader(server.HeaderReader):
    """cheroot's header reader, but a second Content-Length is an error, not an
    overwrite (cheroot keeps the last one)."""

    def __call__(self, rfile: Any, hdict: dict[bytes, bytes] | None = None) -> Any:
        headers = super().__call__(rfile, _StrictLengthHeaders())
        if hdict is None:
            return headers
        hdict.update(headers)
        return hdict


class _Request(server.HTTPRequest):
    header_reader = StrictHeaderReader()


LINGER_READ_SECONDS = 2.0
LINGER_MAX_SECONDS = 10.0


def linger(sock: socket.socket) -> None:
    """Apache's lingering close: after our answer, close our sending side and read
    (and drop) what the client still sends, for at most :data:`LINGER_MAX_SECONDS`
    (:data:`LINGER_READ_SECONDS` without a byte ends it), before the socket is closed.

    Closing a socket with unread bytes makes the kernel send a reset, and a client
    still uploading a refused body (a 507 before a 20 MB body, sent after "100
    Continue") would then lose the answer itself (RFC 9112 §9.6, "tear-down")."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(LINGER_READ_SECONDS)
        deadline = time.monotonic() + LINGER_MAX_SECONDS
        while time.monotonic() < deadline and sock.recv(65536):
            pass
    except OSError:  # the client is gone, or slower than we wait: close anyway
        pass


class CherootConnection(server.HTTPConnection):
    """Connections whose requests read headers with :class:`StrictHeaderReader`, and
    that close with :func:`linger` when an answer left the request's body unread
    (``lingering``, set by :func:`_dav_headers`)."""

    RequestHandlerClass = _Request
    lingering = False

    def close(self) -> None:
        if self.lingering:
            linger(self.socket)
        super().close()


class CherootGateway(wsgi.Gateway_10):
    """cheroot's WSGI 1.0 gateway, plus the request object in the environ so the
    application can ask for the connection to be closed after a framing error: a
    ``Connection: close`` header alone does not stop cheroot from reading the rest of
    a broken body as the next request."""

    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        environ: dict[str, Any] = super().get_environ()  # type: ignore[func-returns-value]
        environ[CHEROOT_REQUEST_KEY] = self.req
        return environ


def _dav_headers(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    """start_response for every DAV answer, errors included: ``nosniff`` always, the
    headers of a failed precondition's 304 or 412 (``providers.preconditions``), and
    the connection closed when the request body's framing broke or a chunked body
    was refused unread (providers.guards)."""

    def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        failed = environ.get(preconditions.FAILED_KEY)
        if failed is not None and status[:3] in ("304", "412"):
            headers = preconditions.answer_headers(int(status[:3]), failed)
        headers = [*headers, ("X-Content-Type-Options", "nosniff")]
        if environ.get(CLOSE_CONNECTION_KEY) or (
                not status.startswith("2") and unread_chunked_body(environ)):
            request = environ.get(CHEROOT_REQUEST_KEY)
            if request is not None:
                request.close_connection = True
                request.conn.lingering = True
            headers = [(k, v) for k, v in headers if k.lower() != "connection"]
            headers.append(("Connection", "close"))
        return start_response(status, headers, exc_info)

    return _start


def _path_problem(environ: dict[str, Any]) -> str | None:
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI") or ""
    raw_path = raw.split("?", 1)[0]
    if dav_compat.has_bad_encoding(raw_path):
        return "The path contains an encoded '/' or NUL inside a name."
    path = environ.get("PATH_INFO", "")
    try:  # WSGI gives the decoded bytes as latin-1; names are UTF-8 (RFC 3986 §2.5)
        path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return "The path is not valid UTF-8 (a bad %-escape such as %FF)."
    segments = path.split("/")
    if any(s in (".", "..") for s in segments):
        return "The path contains a '.' or '..' segment."
    return None


def _sync_apps(config: Config, verifier: CredentialVerifier, store: Store, origins: Origins,
               dav_branch: WSGIApp) -> WSGIApp:
    """What answers the Nextcloud and ownCloud apps: their WebDAV addresses
    (``/remote.php/…``, mapped onto ``dav_branch`` by :mod:`davserver.sync_routes`),
    ``/status.php``, ``/ocs/`` and Login Flow v2's start and poll
    (:mod:`davserver.sync_api`)."""
    api = SyncApi(lambda login, password, address: verifier.verify(
        login, password, address, via="dav"), store,
        product_name=config.sync.product_name, realm=config.auth.realm,
        server_of=origins.public_origin, throttle=verifier.throttle)

    def answer(environ: dict[str, Any], start_response: Callable[..., Any]
               ) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(SYNC_PREFIX):
            found = api(environ, start_response)
            return _without_body(found) if environ["REQUEST_METHOD"] == "HEAD" else found
        if environ.get("HTTP_DESTINATION"):  # MOVE, COPY; v2's MKCOL and chunks too
            origins.localize(environ)
        try:
            route(environ)
        except RouteError as refused:
            return _plain(start_response, refused.status, refused.message)
        return dav_branch(environ, start_response)

    return answer


def create_app(config: Config) -> Application:
    """Build the whole server for ``config``; see the module docstring for the order."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.effective_database_url, pool_size=config.database_pool.size,
                  max_overflow=config.database_pool.overflow)
    db.create_schema()
    q = config.quotas
    policy = quotas.QuotaPolicy(documents=q.documents, binder=q.binder, rubric=q.rubric,
                                archive=q.archive,
                                profiles=dict(q.profiles),
                                trash_share=config.trash.max_share,
                                versions_share=config.versions.max_share)
    store = Store(db, make_blob_store(config), policy,
                  lease_seconds=quotas.lease_seconds(config.server.body_idle_timeout))
    health = Health(db, store.blobs.ping)

    dav_compat.apply()
    outage.install_filters()
    locks = SqlLockStorage(db, max_timeout=config.dav.lock_max_timeout,
                           max_per_user=config.dav.max_locks_per_user)
    provider = EntProvider(store, locks, allow_infinity=config.dav.propfind_infinity,
                           max_xml_body=config.dav.max_xml_body,
                           upload_expiry=config.sync.upload_expiry)
    a = config.auth
    verifier = CredentialVerifier(
        db, cache_ttl=a.cache_ttl, check_threads=a.check_threads,
        throttle=acl.ThrottlePolicy(after=a.throttle_after, period=a.throttle_period,
                                    max_period=a.throttle_max))
    dav_app = WsgiDAVApp(_wsgidav_config(config, provider, locks, verifier))
    # Our conflict rules (shared locks) and one-transaction LOCK (providers.lock_rules).
    dav_app.lock_manager = EntLockManager(locks)
    provider.set_lock_manager(dav_app.lock_manager)
    # WsgiDAV detaches its logger; hand its records (one line per request) to ours.
    wsgidav_logger = logging.getLogger("wsgidav")
    wsgidav_logger.handlers.clear()
    wsgidav_logger.propagate = True
    wsgidav_logger.setLevel(logging.NOTSET)
    accel = config.server.accel_redirect
    provider.handoff = (Handoff(store.blobs, accel.prefix, accel.min_size)
                        if accel is not None else None)
    web_app = create_web_app(config, db, verifier, store, locks, provider.handoff)
    plain_get = PlainGet(provider, DAV_PREFIX,
                         lambda header: verifier.recent(header, journal.origin().address or ""),
                         block_size=config.server.block_size, dav_config=dav_app.config,
                         handoff=provider.handoff)
    origins = Origins(config.server.public_urls,
                      trust_forwarded=config.server.trust_forwarded_proto)

    def dav(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        problem = _path_problem(environ)
        if problem:
            return _bad_request(start_response, problem)
        if environ["REQUEST_METHOD"] in ("COPY", "MOVE"):
            origins.localize(environ)
        answer = plain_get(environ, start_response)
        if answer is not None:
            return answer
        return dav_app(environ, _dav_headers(environ, start_response))

    def dav_head(environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "HEAD":
            return _without_body(dav(environ, start_response))
        return dav(environ, start_response)

    dav_branch = Cors(dav_head, config.dav.cors_origins) if config.dav.cors_origins \
        else dav_head

    trust_forwarded = config.server.trust_forwarded_proto
    sync_apps = _sync_apps(config, verifier, store, origins, dav_branch) \
        if config.sync.enabled else None

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        address = environ[CLIENT_ADDRESS_KEY] = client_address(
            environ, trust_forwarded=trust_forwarded)
        path = environ.get("PATH_INFO", "")
        if path == DAV_PREFIX or path.startswith(DAV_PREFIX + "/"):
            journal.enter_request(address, "dav")
            return dav_branch(environ, start_response)
        if path in HEALTH_PATHS:
            return health(environ, start_response)
        method = environ["REQUEST_METHOD"]
        if sync_apps is not None and (path.startswith(SYNC_PREFIX) or is_sync_api(path)):
            journal.enter_request(address, "dav")
            return sync_apps(environ, start_response)
        # ``OPTIONS *`` reaches us with the path "/*" (cheroot).
        if (path == "/" and method in ("OPTIONS", "PROPFIND")) or (
                path in ("*", "/*") and method == "OPTIONS"):
            return root_probe(environ, start_response, max_body=config.dav.max_xml_body)
        journal.enter_request(address, "web")
        return web_app(environ, start_response)

    return Application(_guarded(serve, health), db, store, locks, health, web_app)


def _guarded(serve: WSGIApp, health: Health) -> WSGIApp:
    """``serve`` behind the dispatcher's two duties: an outage raised before any answer
    is a 503 (:mod:`davserver.outage`), and a draining process closes connections."""

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if health.draining.is_set():
            start_response = _closing(environ, start_response)
        try:
            return serve(environ, start_response)
        except Exception as exc:
            found = outage.outage_of(exc)
            if found is None:
                raise
            outage.log_outage(found, environ)
            return outage.answer(found, start_response)

    return dispatch


def _closing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Callable[..., Any]:
    """start_response of a process that drains: the answer closes its connection, so
    the proxy opens its next one to another process (docs/deployment.md)."""
    request = environ.get(CHEROOT_REQUEST_KEY)
    if request is not None:
        request.close_connection = True

    def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        headers = [(k, v) for k, v in headers if k.lower() != "connection"]
        return start_response(status, [*headers, ("Connection", "close")], exc_info)

    return _start
