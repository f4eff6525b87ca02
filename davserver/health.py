"""Health probes for a load balancer, and the state of a process that is draining.

* ``GET /healthz`` (liveness): 200 ``ok`` while the process serves requests at all; it
  asks nothing of the database or the blob store, so an outage of those never gets a
  healthy process restarted.
* ``GET /readyz`` (readiness): 200 ``ready`` when the database answers a ``SELECT 1``
  and the blob store its cheap check (``BlobStore.ping``), else 503 naming what does
  not answer. The outcome is kept for :data:`READY_CACHE_SECONDS`, so a balancer
  polling every few hundred milliseconds from several places costs at most one check a
  second; checks never overlap (one thread checks, the others get the last outcome).
  From the moment the process is told to stop (SIGTERM), ``/readyz`` answers 503
  ``draining`` at once: the balancer sends it no new request while it finishes the
  ones it has (:mod:`davserver.drain`).

Both answer ``GET`` and ``HEAD``, without credentials, with ``Cache-Control:
no-store``; they are meant for the balancer's network (docs/deployment.md keeps them
off the public address).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from davserver.db import Database
from davserver.outage import outage_of

log = logging.getLogger(__name__)

READY_CACHE_SECONDS = 1.0
PATHS = ("/healthz", "/readyz")


class Health:
    """Liveness and readiness of this process. ``db`` and ``ping_blobs`` (the blob
    store's ``ping``) are what readiness checks; :meth:`start_draining` makes the
    process unready for good."""

    def __init__(self, db: Database, ping_blobs: Callable[[], None]) -> None:
        self.db = db
        self.ping_blobs = ping_blobs
        self.draining = threading.Event()
        self._checking = threading.Lock()
        self._checked_at = -READY_CACHE_SECONDS
        self._problem: str | None = "not checked yet"

    def start_draining(self) -> None:
        """From now on ``/readyz`` answers 503 ``draining``."""
        self.draining.set()

    def problem(self) -> str | None:
        """Why this process should get no new requests, or None when it is ready."""
        if self.draining.is_set():
            return "draining"
        now = time.monotonic()
        if now - self._checked_at < READY_CACHE_SECONDS or not self._checking.acquire(
                blocking=False):
            return self._problem
        try:
            self._problem = self._check()
            self._checked_at = time.monotonic()
        finally:
            self._checking.release()
        return self._problem

    def _check(self) -> str | None:
        try:
            with self.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001  (any failure is "not ready")
            outage = outage_of(exc)
            log.warning("not ready: database: %s", outage.message if outage else exc)
            return "database not answering"
        try:
            self.ping_blobs()
        except Exception as exc:  # noqa: BLE001
            log.warning("not ready: blob store: %s", exc)
            return "blob store not answering"
        return None

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> list[bytes]:
        """The WSGI answer of ``/healthz`` or ``/readyz``."""
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            return _answer(start_response, "405 Method Not Allowed", "GET or HEAD\n",
                           [("Allow", "GET, HEAD")])
        if environ.get("PATH_INFO") == "/healthz":
            return _answer(start_response, "200 OK", "ok\n")
        problem = self.problem()
        if problem is None:
            return _answer(start_response, "200 OK", "ready\n")
        return _answer(start_response, "503 Service Unavailable", problem + "\n",
                       [("Retry-After", "1")])


def _answer(start_response: Callable[..., Any], status: str, text_body: str,
            extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = text_body.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store"), *(extra or [])])
    return [body]
