"""The HTTP listener: cheroot's server, with request heads read before a worker is used.

cheroot 11 hands a connection to a worker thread as soon as it is accepted, or, for
a kept-alive connection, as soon as its next bytes arrive
(``cheroot.connections.ConnectionManager`` calls ``HTTPServer.process_conn``). The
worker then reads the request line and headers with blocking reads, each bounded by
the socket timeout alone: fifty clients sending one header line every 8 s held all
fifty workers (issue 18), and nothing in cheroot bounds a head as a whole.

:class:`Server` overrides ``process_conn``, the one documented hand-off point,
so that a connection reaches the worker pool only with a whole request head:

* :class:`HeadReader`, one thread with a selector, reads new connections and
  kept-alive connections with new bytes, without blocking, until the blank line
  that ends the head. The bytes read wait in the connection's input
  (:class:`SocketInput`), which the worker reads first, then the socket: cheroot
  parses the head it would have read itself, from memory.
* The head must be whole within ``server.header_timeout`` seconds of its first byte
  (not per line: a byte every second keeps no deadline alive); after that, ``408``
  and close. A new connection that sends nothing is closed after the same time. A
  head over :data:`MAX_HEAD_BYTES` gets ``431`` (RFC 6585 §5).
* A body must keep moving: a read that waits more than ``server.body_idle_timeout``
  seconds for its next byte raises the timeout cheroot and
  :mod:`providers.guards` answer with ``408``.
* Each client address may hold ``server.max_connections_per_address`` connections
  at once; one more is answered ``503`` with ``Retry-After`` and closed. Behind a
  reverse proxy every connection comes from the proxy, which caps its clients
  itself (``docs/deployment.md``).

A connection waiting for its head costs a file descriptor and a few hundred bytes,
never a worker: workers serve only requests whose head has arrived. Only plain TCP is
served this way (the server has no TLS of its own: a proxy terminates it).
"""

from __future__ import annotations

import _pyio
import collections
import contextlib
import io
import logging
import resource
import select
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cheroot import wsgi
from cheroot.makefile import StreamReader

from davserver.app import CherootConnection, CherootGateway

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
"""Longest request line and headers together, in bytes (nginx's
``large_client_header_buffers`` allow 32 KiB; Basic credentials and WebDAV ``If``
headers fit many times over)."""
REFUSAL_DRAIN_SECONDS = 2.0
"""After a refusal (408, 431, 503) sent from the head reader, how long what the client
still sends is read and dropped before the close, so that the close does not reset the
connection before the client has read the answer (RFC 9112 §9.6)."""
RETRY_AFTER_SECONDS = 10
STOP_GRACE_SECONDS = 1.0  # at a stop, a request head under way gets this long
_SELECT_MAX = 1.0  # seconds: the head reader looks at its deadlines at least this often
_HEAD_ENDS = (b"\r\n\r\n", b"\n\n")  # a bare-LF head is cheroot's to refuse (400)


@dataclass(frozen=True)
class Limits:
    """What a client may cost before its request runs (``server.*`` keys): seconds for
    a whole head from its first byte, seconds of silence inside a body, connections
    per client address (None: no cap)."""

    header_timeout: float
    body_idle_timeout: float
    max_per_address: int | None


class SocketInput(io.RawIOBase):
    """A connection's input: bytes the head reader took first (``pending``), then the
    socket, each read waiting at most ``idle_timeout`` seconds for its first byte
    (``socket.timeout`` after it, as cheroot's own reads raise)."""

    def __init__(self, sock: socket.socket, idle_timeout: float) -> None:
        super().__init__()
        self.pending = bytearray()
        self._sock = sock
        self._io = socket.SocketIO(sock, "rb")
        self._idle_ms = max(1, int(idle_timeout * 1000))
        self._poll = select.poll()
        self._poll.register(sock.fileno(), select.POLLIN | select.POLLPRI)

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._io.fileno()

    def readinto(self, buffer: Any) -> int | None:
        if self.pending:
            n = min(len(buffer), len(self.pending))
            buffer[:n] = self.pending[:n]
            del self.pending[:n]
            return n
        if not self._poll.poll(self._idle_ms):
            raise TimeoutError("timed out")  # cheroot's words for a read timeout
        return self._io.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._io.close()
        super().close()


class ConnectionReader(StreamReader):
    """cheroot's buffered socket reader over a :class:`SocketInput`."""

    def __init__(self, raw: SocketInput, bufsize: int) -> None:
        # cheroot's own reader over ``raw`` instead of a new SocketIO of the socket
        _pyio.BufferedReader.__init__(self, raw, bufsize)  # type: ignore[arg-type]
        self.bytes_read = 0
        self.input = raw

    def has_data(self) -> bool:
        """Bytes to read without waiting: in the buffer, or taken by the head reader
        (cheroot asks before it waits on the socket for a kept-alive request)."""
        return bool(super().has_data() or self.input.pending)

    def take_buffered(self) -> bytes:
        """Remove and return every byte read from the socket and not yet consumed."""
        taken = b""
        if super().has_data():
            taken = self.read(len(self.peek(0)))  # no socket read while bytes are buffered
        taken += bytes(self.input.pending)
        self.input.pending.clear()
        return taken


class Connection(CherootConnection):
    """A connection that holds one of its address's slots until it closes."""

    address_slot: str | None = None  # the address counted, once counted
    counted = False  # went through the per-address count (new connections only)

    def close(self) -> None:
        slot, self.address_slot = self.address_slot, None
        if slot is not None:
            server: Any = self.server
            server.addresses.release(slot)
        super().close()


class AddressSlots:
    """Open connections by client address, at most ``cap`` each (None: no cap)."""

    def __init__(self, cap: int | None) -> None:
        self.cap = cap
        self._open: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def acquire(self, address: str) -> bool:
        """Count one more connection of ``address``; False (nothing counted) when it
        already holds ``cap``."""
        with self._lock:
            if self.cap is not None and self._open[address] >= self.cap:
                return False
            self._open[address] += 1
            return True

    def release(self, address: str) -> None:
        with self._lock:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    def count(self, address: str) -> int:
        with self._lock:
            return self._open[address]


def _response(status: str, message: str, *extra: str) -> bytes:
    body = (message + "\n").encode("utf-8")
    head = [f"HTTP/1.1 {status}", "Content-Type: text/plain; charset=utf-8",
            f"Content-Length: {len(body)}", "Connection: close", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class _Waiting:
    """A connection in the head reader: reading its head, or draining after a refusal."""

    conn: Connection
    deadline: float  # monotonic seconds
    started: bool = False  # a byte of the head has arrived
    draining: bool = False
    scanned: int = field(default=0)  # bytes of ``pending`` already searched for the end


class HeadReader:
    """The thread that reads request heads (see the module docstring)."""

    def __init__(self, server: Server, limits: Limits) -> None:
        self.server = server
        self.limits = limits
        self._selector = selectors.DefaultSelector()
        self._waiting: dict[int, _Waiting] = {}
        # Connections handed over by other threads, with the refusal to send (if any).
        self._incoming: collections.deque[tuple[Connection, bytes | None]] = \
            collections.deque()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._stopping = False  # set when the thread ends: connections added are closed
        self._finish_by: float | None = None  # monotonic deadline of a stop under way
        self._thread = threading.Thread(target=self._run, name="head-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """End the thread once the connections it holds are handed to the workers
        (still running: :meth:`Server.stop` calls this before stopping them) or
        ``grace`` seconds have passed: a request a proxy sent just before the stop is
        answered rather than cut. Refused connections, and whatever is left at the
        end, are closed."""
        with self._lock:
            if self._finish_by is None:
                self._finish_by = time.monotonic() + grace
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout=grace + 5)

    def add(self, conn: Connection, refusal: bytes | None = None) -> None:
        """Take a connection to read its next request head, or, with ``refusal``, to
        send it that answer and close it (from any thread)."""
        with self._lock:
            if self._stopping:
                conn.close()
                return
            self._incoming.append((conn, refusal))
        self._wake()

    def waiting(self) -> int:
        """How many connections wait for their head (for tests and logs)."""
        return len(self._waiting)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except BlockingIOError:  # already awake: the pipe is full of wake-ups
            pass
        except OSError:
            pass

    def _run(self) -> None:
        try:
            while True:
                finish_by = self._finish_by
                if finish_by is not None and self._finished(finish_by):
                    break
                timeout = _SELECT_MAX
                if self._waiting:
                    nearest = min(w.deadline for w in self._waiting.values())
                    timeout = min(timeout, max(0.0, nearest - time.monotonic()))
                if finish_by is not None:
                    timeout = min(timeout, max(0.0, finish_by - time.monotonic()))
                for key, _events in self._selector.select(timeout):
                    if key.data is None:
                        self._drain_wake()
                    else:
                        self._guarded(self._on_readable, key.data)
                self._take_incoming()
                self._expire(time.monotonic())
        finally:
            with self._lock:
                self._stopping = True
            for waiting in list(self._waiting.values()):
                self._close(waiting)
            with self._lock:
                left = list(self._incoming)
                self._incoming.clear()
            for conn, _refusal in left:
                conn.close()
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _finished(self, finish_by: float) -> bool:
        """During a stop: close the refused connections, and say whether the stop may
        end (nothing else waits for its head, or ``finish_by`` has passed)."""
        for waiting in [w for w in self._waiting.values() if w.draining]:
            self._close(waiting)
        return not self._waiting or time.monotonic() >= finish_by

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _guarded(self, handle: Any, item: Any) -> None:
        """Run one connection's step; a bug there closes that connection, logged, and
        leaves the thread (every new request's way in) running."""
        try:
            handle(item)
        except Exception:
            log.exception("error while reading a request head; connection closed")
            conn = item.conn if isinstance(item, _Waiting) else item[0]
            self._forget(_Waiting(conn, 0.0))
            with contextlib.suppress(OSError):
                conn.close()

    def _take_incoming(self) -> None:
        with self._lock:
            arrived = list(self._incoming)
            self._incoming.clear()
        for item in arrived:
            self._guarded(self._arrive, item)

    def _arrive(self, item: tuple[Connection, bytes | None]) -> None:
        conn, refusal = item
        if refusal is None:
            self._admit(conn)
            return
        waiting = _Waiting(conn, time.monotonic(), draining=True)
        try:
            self._selector.register(conn.socket, selectors.EVENT_READ, waiting)
        except (OSError, ValueError):
            conn.close()
            return
        self._waiting[conn.socket.fileno()] = waiting
        self._refuse(waiting, refusal)

    def _admit(self, conn: Connection) -> None:
        reader = conn.rfile
        if not isinstance(reader, ConnectionReader):
            raw = SocketInput(conn.socket, self.limits.body_idle_timeout)
            conn.rfile = ConnectionReader(raw, conn.rbufsize)
            reader.close()  # cheroot's reader: nothing read yet; gives back its socket ref
            reader = conn.rfile
        buffered = reader.take_buffered()  # a kept-alive client's next bytes, if any
        reader.input.pending += buffered
        now = time.monotonic()
        waiting = _Waiting(conn, now + self.limits.header_timeout, started=bool(buffered))
        if self._head_is_whole(waiting):
            self.server.dispatch(conn)
            return
        try:
            self._selector.register(conn.socket, selectors.EVENT_READ, waiting)
        except (OSError, ValueError):  # closed meanwhile
            conn.close()
            return
        self._waiting[conn.socket.fileno()] = waiting

    def _on_readable(self, waiting: _Waiting) -> None:
        sock = waiting.conn.socket
        try:
            data = sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            self._close(waiting)
            return
        if not data:  # the client closed its side
            self._close(waiting)
            return
        if waiting.draining:
            return
        reader: Any = waiting.conn.rfile
        reader.input.pending += data
        if not waiting.started:
            waiting.started = True
            waiting.deadline = time.monotonic() + self.limits.header_timeout
        if self._head_is_whole(waiting):
            self._forget(waiting)
            self.server.dispatch(waiting.conn)
        elif len(reader.input.pending) > MAX_HEAD_BYTES:
            self._refuse(waiting, _response(
                "431 Request Header Fields Too Large",
                f"The request line and headers exceed {MAX_HEAD_BYTES} bytes."))

    @staticmethod
    def _head_is_whole(waiting: _Waiting) -> bool:
        pending: bytearray = waiting.conn.rfile.input.pending  # type: ignore[attr-defined]
        start = max(0, waiting.scanned - 3)  # a terminator may straddle two reads
        waiting.scanned = len(pending)
        return any(pending.find(end, start) >= 0 for end in _HEAD_ENDS)

    def _expire(self, now: float) -> None:
        for waiting in [w for w in self._waiting.values() if w.deadline <= now]:
            if waiting.draining or not waiting.started:
                self._close(waiting)  # an idle new connection goes silently, as in nginx
            else:
                self._refuse(waiting, _response(
                    "408 Request Timeout",
                    f"The request line and headers did not arrive within "
                    f"{self.limits.header_timeout:g} seconds."))

    def _refuse(self, waiting: _Waiting, answer: bytes) -> None:
        """Send ``answer`` (it fits a socket buffer: no wait), stop our side, and read
        what the client still sends for :data:`REFUSAL_DRAIN_SECONDS` before closing."""
        sock = waiting.conn.socket
        try:
            sock.send(answer, socket.MSG_DONTWAIT)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(waiting)
            return
        waiting.draining = True
        waiting.deadline = time.monotonic() + REFUSAL_DRAIN_SECONDS

    def _forget(self, waiting: _Waiting) -> None:
        sock = waiting.conn.socket
        self._waiting.pop(sock.fileno(), None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(sock)

    def _close(self, waiting: _Waiting) -> None:
        self._forget(waiting)
        with contextlib.suppress(OSError):
            waiting.conn.close()


class Server(wsgi.Server):
    """cheroot's WSGI server whose workers get connections with a whole request head
    (see the module docstring). ``limits`` come from the configuration."""

    ConnectionClass = Connection

    def __init__(self, *args: Any, limits: Limits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway = CherootGateway
        self.max_request_header_size = MAX_HEAD_BYTES
        self.limits = limits
        self.addresses = AddressSlots(limits.max_per_address)
        self.head_reader = HeadReader(self, limits)

    def prepare(self) -> None:
        raise_open_files_limit()
        super().prepare()
        self.head_reader.start()

    def stop(self) -> None:
        """Stop serving without cutting a request already on its way. In order:
        cheroot's connection manager stops accepting; the connections the kernel had
        already accepted for us are taken in (closing the listener would reset them,
        and nginx answers 502 to a PUT or LOCK it had begun to send); cheroot's stop
        closes the listener; then, before the workers are told to stop, the head
        reader finishes the heads under way (:meth:`HeadReader.stop`) and hands them
        to the workers, which finish within ``shutdown_timeout``."""
        manager = getattr(self, "_connections", None)
        if manager is not None and self.ready:
            manager.stop()
            self._take_backlog(manager)
        pool_stop = self.requests.stop

        def stop_pool(timeout: float | None = None) -> None:
            self.head_reader.stop()
            pool_stop(timeout)

        self.requests.stop = stop_pool  # type: ignore[method-assign]
        super().stop()

    def _take_backlog(self, manager: Any) -> None:
        """Accept, without blocking, every connection waiting in the listen queue and
        hand each to the head reader, through the connection manager's own accept
        (cheroot's ``_from_server_socket``, which makes the connection object; with
        another cheroot that lacks it, nothing is taken)."""
        sock = getattr(self, "socket", None)
        accept = getattr(manager, "_from_server_socket", None)
        if sock is None or accept is None:
            return
        timeout = sock.gettimeout()
        try:
            sock.setblocking(False)
            for _ in range(self.request_queue_size + 1):  # bounded: the queue's length
                conn = accept(sock)
                if conn is None:  # the queue is empty (or one was refused at accept)
                    break
                self.process_conn(conn)
        except OSError:
            pass  # the listener went away meanwhile: nothing more to take
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(timeout)

    def process_conn(self, conn: Any) -> None:
        """cheroot's hand-off of a connection to the workers: through the head reader
        instead, after the per-address count for a new connection."""
        if not conn.counted:
            conn.counted = True
            address = conn.remote_addr
            if address is not None:
                if not self.addresses.acquire(address):
                    cap = self.addresses.cap
                    log.warning("refused a connection from %s: %s open already",
                                address, cap)
                    self.head_reader.add(conn, _response(
                        "503 Service Unavailable",
                        f"Too many connections from your address (at most {cap} at "
                        f"once). Try again in a moment.",
                        f"Retry-After: {RETRY_AFTER_SECONDS}"))
                    return
                conn.address_slot = address
        self.head_reader.add(conn)

    def dispatch(self, conn: Any) -> None:
        """Give a connection whose request head has arrived to the worker pool."""
        super().process_conn(conn)


def raise_open_files_limit() -> None:
    """Raise this process's limit of open files to its hard limit: every waiting
    connection holds a file descriptor, and the usual soft limit of 1024 would stop
    ``accept`` long before memory or the workers run short (nginx's
    ``worker_rlimit_nofile``)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            log.warning("could not raise the open files limit from %s", soft)
