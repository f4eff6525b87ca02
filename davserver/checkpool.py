"""A small pool of threads for password checks, fair between client addresses.

argon2 is slow and memory-hungry on purpose (about 19 MiB and tens of milliseconds a
check) and argon2-cffi releases the GIL while it runs, so a few threads use the cores
without letting a classroom's sign-ins at 8:00 take gigabytes. What the pool adds to a
plain ``ThreadPoolExecutor``:

* **Round robin between addresses.** Each client address has its own queue, and the
  threads take one check from each address in turn: a flood from one address waits
  behind itself, and a sign-in from any other address waits for at most the checks
  already running, never for the flood's queue.
* **Bounded queues.** At most :attr:`CheckPool.per_pair` checks of one login from one
  address, and :attr:`CheckPool.per_address` checks from one address, wait or run at
  once; past that, :meth:`CheckPool.run` refuses at once with
  :class:`davserver.errors.TooManyRequests` (retry after 1 second), holding neither a
  thread of the pool nor, for long, the server's worker. A school behind one NAT
  address signs in pupil by pupil, each under their own login, well within the bound.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from davserver.errors import TooManyRequests


def _decrement(counts: dict[Any, int], key: Any) -> None:
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]


@dataclass(eq=False)
class _Job:
    address: str
    login: str
    work: Callable[[], Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class CheckPool:
    """``workers`` threads (started on first use) running checks fairly by address."""

    def __init__(self, workers: int = 2, *, per_address: int = 16, per_pair: int = 2) -> None:
        self.workers = workers
        self.per_address = per_address
        self.per_pair = per_pair
        self._cond = threading.Condition()
        self._queues: dict[str, deque[_Job]] = {}
        self._turns: deque[str] = deque()  # addresses with waiting jobs, in turn order
        self._by_address: dict[str, int] = {}  # waiting or running jobs
        self._by_pair: dict[tuple[str, str], int] = {}
        self._threads: list[threading.Thread] = []

    def run(self, address: str, login: str, work: Callable[[], Any]) -> Any:
        """Run ``work`` on the pool in ``address``'s turn and return its result (or
        raise its exception). Raises :class:`TooManyRequests` at once when ``address``
        (or ``login`` from it) already has as many checks waiting as allowed."""
        job = _Job(address, login, work)
        pair = (address, login)
        with self._cond:
            if self._by_pair.get(pair, 0) >= self.per_pair or \
                    self._by_address.get(address, 0) >= self.per_address:
                raise TooManyRequests("too many sign-in attempts at once from this address",
                                      retry_after=1)
            self._by_pair[pair] = self._by_pair.get(pair, 0) + 1
            self._by_address[address] = self._by_address.get(address, 0) + 1
            queue = self._queues.get(address)
            if queue is None:
                queue = self._queues[address] = deque()
                self._turns.append(address)
            queue.append(job)
            self._start_threads()
            self._cond.notify()
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def _start_threads(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(target=self._serve, name="password-check",
                                      daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next(self) -> _Job:
        with self._cond:
            while not self._turns:
                self._cond.wait()
            address = self._turns.popleft()
            queue = self._queues[address]
            job = queue.popleft()
            if queue:
                self._turns.append(address)  # its next check waits for the others' turn
            else:
                del self._queues[address]
            return job

    def _finish(self, job: _Job) -> None:
        with self._cond:
            _decrement(self._by_pair, (job.address, job.login))
            _decrement(self._by_address, job.address)
        job.done.set()

    def _serve(self) -> None:
        while True:
            job = self._next()
            try:
                job.result = job.work()
            except BaseException as exc:  # handed to the waiting request
                job.error = exc
            self._finish(job)
