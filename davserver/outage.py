"""What an outage of a shared service looks like, and its answer: 503 with
``Retry-After`` (RFC 9110 §15.6.4), never a hang and never a 500.

Several server processes share one PostgreSQL and one blob store. When either stops
answering (a restart, a failover, a network cut), a request that needs it cannot be
served, but nothing is wrong with the request nor with the server: the client should
try again shortly, and each process recovers on its own when the service is back
(the connection pool tests a connection before lending it, ``pool_pre_ping``;
:func:`davserver.db.make_engine`).

:func:`outage_of` is the one place that decides what is an outage:

* a :class:`davserver.errors.ServiceUnavailable` (the blob store's
  ``providers.BlobStoreUnavailable`` is one);
* the database driver's connection errors, wrapped by SQLAlchemy or raw (the hot
  read path, ``Database.read_rows``, calls the driver itself): PEP 249's
  ``OperationalError`` and ``InterfaceError`` (a refused connection, a server shut
  down under a transaction, a lost connection), and the pool's wait for a free
  connection timing out. SQLite raises ``OperationalError`` for faults too (a
  missing table, bad SQL): only its busy, locked, cannot-open and I/O errors are
  outages ("database is locked" after its busy timeout).

Its callers answer: the DAV side through WsgiDAV's error printer
(``davserver.app``, ``providers.compat``), the web side through a Flask error handler
(``web.errors``), and the dispatcher for anything raised before either. Each outage
logs one WARNING line, without a traceback (STYLE.md habit 8).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import exc as sa_exc

from davserver.errors import ServiceUnavailable

log = logging.getLogger(__name__)

DATABASE_MESSAGE = "The database is not answering; try again in a few seconds."
_DRIVER_ERRORS = frozenset({"OperationalError", "InterfaceError"})  # PEP 249 names
# SQLite's result codes of an unavailable database (https://sqlite.org/rescode.html),
# and their messages for an error raised without its code.
_SQLITE_OUTAGE_CODES = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR")
_SQLITE_OUTAGE_MESSAGES = ("database is locked", "database table is locked",
                           "unable to open database file", "disk I/O error")


def _sqlite_outage(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorname", None)
    if code:
        return str(code).startswith(_SQLITE_OUTAGE_CODES)
    return str(exc).startswith(_SQLITE_OUTAGE_MESSAGES)


def _database_outage(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            return False
        driver = exc.orig
        return driver is None or not _is_sqlite(driver) or _sqlite_outage(driver)
    # A driver's own exception (PEP 249 names), raised outside SQLAlchemy's wrapping.
    if _is_sqlite(exc):
        return _sqlite_outage(exc)
    module = type(exc).__module__.split(".", 1)[0]
    if module not in ("psycopg", "psycopg2"):
        return False
    return any(cls.__name__ in _DRIVER_ERRORS for cls in type(exc).__mro__)


def _is_sqlite(exc: BaseException | None) -> bool:
    return exc is not None and type(exc).__module__.split(".", 1)[0] == "sqlite3"


def outage_of(exc: BaseException) -> ServiceUnavailable | None:
    """The :class:`ServiceUnavailable` that ``exc`` (or an exception it was raised
    from) means, or None when ``exc`` is no outage (a bug, a refusal...)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ServiceUnavailable):
            return current
        if _database_outage(current):
            return ServiceUnavailable(DATABASE_MESSAGE)
        current = current.__cause__ or current.__context__
    return None


def log_outage(outage: ServiceUnavailable, environ: dict[str, Any] | None = None) -> None:
    """One WARNING line for a request answered 503."""
    where = ""
    if environ is not None:
        where = f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}: "
    log.warning("%sanswered 503: %s", where, outage.message)


def log_failure(logger: logging.Logger, exc: BaseException, message: str,
                *args: object) -> None:
    """Log a best-effort step that failed with ``exc`` (the request goes on without
    it): one WARNING line without a traceback when ``exc`` is an outage, which is no
    bug and which the request's own answer reports; else ``message`` with the
    traceback, at ERROR."""
    found = outage_of(exc)
    if found is None:
        logger.error(message, *args, exc_info=exc)
    else:
        logger.warning(message + ": %s", *args, found.message)


class OutageRecords(logging.Filter):
    """A logging filter for libraries that log an outage with its traceback themselves
    (SQLAlchemy's pool: "Exception during reset or similar" when the connection it
    gives back was cut by a database restart): such a record becomes one WARNING line
    naming the outage, without the traceback (STYLE.md habit 8). Other records pass
    as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        found = outage_of(exc) if exc is not None else None
        if found is not None:
            record.msg = f"{record.getMessage()}: {found.message}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def install_filters() -> None:
    """Put :class:`OutageRecords` on the loggers of the libraries that log outages with
    a traceback (idempotent). A filter acts on the logger a record is made on, not on
    its ancestors: SQLAlchemy's pools log under their class's qualified name."""
    for name in _POOL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, OutageRecords) for f in logger.filters):
            logger.addFilter(OutageRecords())


_POOL_LOGGERS = tuple(f"sqlalchemy.pool.impl.{pool}" for pool in (
    "QueuePool", "NullPool", "SingletonThreadPool", "StaticPool"))


def headers_of(outage: ServiceUnavailable) -> list[tuple[str, str]]:
    """The headers a 503 carries besides its body's."""
    return [("Retry-After", str(outage.retry_after))]


def answer(outage: ServiceUnavailable, start_response: Callable[..., Any]) -> list[bytes]:
    """A plain-text 503 answer for a WSGI ``start_response``."""
    body = (outage.message + "\n").encode("utf-8")
    start_response("503 Service Unavailable", [
        ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
        *headers_of(outage), ("X-Content-Type-Options", "nosniff")])
    return [body]
