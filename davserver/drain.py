"""A graceful stop for a process behind a load balancer (SIGTERM, SIGINT).

On the signal, in this order:

1. ``/readyz`` answers 503 ``draining`` at once (:class:`davserver.health.Health`),
   and every answer from now on closes its connection (``Connection: close``,
   ``davserver.app``), so the balancer's next request opens a connection it sends to
   another process;
2. for ``server.drain_delay`` seconds the process goes on accepting and serving:
   requests already on their way still arrive, while the balancer notices (its
   health check, or its own idle timeout of kept-alive connections, shorter than
   this delay: docs/deployment.md);
3. the listener closes (new connections are refused, which a balancer retries
   elsewhere at no risk: nothing was sent), and requests in flight, uploads
   included, get ``server.shutdown_timeout`` seconds to finish (cheroot's stop);
   what is still running then is cut.

A second signal during the delay stops at once (an operator's Ctrl-C twice).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from davserver.health import Health

log = logging.getLogger("davserver")


class Drain:
    """Stops ``server`` (cheroot's) as the module docstring says; ``delay`` is
    ``server.drain_delay`` in seconds."""

    def __init__(self, server: Any, health: Health, delay: float) -> None:
        self.server = server
        self.health = health
        self.delay = delay
        self._hurry = threading.Event()
        self._started = False

    def install(self) -> None:
        """Handle SIGTERM and SIGINT (main thread only)."""
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)

    def on_signal(self, signum: int, _frame: Any) -> None:
        if self._started:
            self._hurry.set()
            return
        self._started = True
        log.info("signal %s: draining for %.1f s, then stopping", signum, self.delay)
        self.health.start_draining()
        threading.Thread(target=self._stop, name="drain", daemon=True).start()

    def _stop(self) -> None:
        self._hurry.wait(self.delay)
        log.info("listener closed; requests in flight finish")
        self.server.stop()
