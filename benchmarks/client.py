"""A small HTTP/1.1 client for the benchmark (standard library ``http.client``):
keep-alive connections, bodies streamed in 1 MiB blocks, and ``wrk`` for load."""

from __future__ import annotations

import base64
import http.client
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

BLOCK = 2**20  # bytes per read/write step of the client


@dataclass(frozen=True)
class Endpoint:
    """Where a server's test collection is: ``base_url`` ends with ``/``."""

    base_url: str
    login: str
    password: str

    @property
    def authorization(self) -> str:
        token = base64.b64encode(f"{self.login}:{self.password}".encode()).decode()
        return "Basic " + token

    def url(self, path: str) -> str:
        return self.base_url + quote(path)


class HttpError(RuntimeError):
    """A request answered with an unexpected status."""


class Client:
    """One keep-alive connection to an endpoint (reconnects when the server closed it)."""

    def __init__(self, endpoint: Endpoint, timeout: float = 120.0) -> None:
        self.endpoint = endpoint
        parts = urlsplit(endpoint.base_url)
        self.prefix = parts.path
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                timeout=timeout, blocksize=BLOCK)

    def close(self) -> None:
        self._conn.close()

    def request(self, method: str, path: str, body: bytes | Iterator[bytes] | None = None,
                headers: dict[str, str] | None = None, expect: tuple[int, ...] = (),
                sink: bool = False) -> tuple[int, int]:
        """Send one request; returns (status, body bytes received). The body is read
        into a reused buffer and dropped. Raises ``HttpError`` if ``expect`` is given
        and the status is not in it."""
        all_headers = {"Authorization": self.endpoint.authorization, **(headers or {})}
        target = self.prefix + quote(path)
        for attempt in (1, 2):
            try:
                self._conn.request(method, target, body=body, headers=all_headers)
                response = self._conn.getresponse()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._conn.close()
                if attempt == 2 or not isinstance(body, bytes | None):
                    raise
        received = _drain(response)
        if expect and response.status not in expect:
            raise HttpError(f"{method} {target}: {response.status} {response.reason}")
        return response.status, received


    def request_body(self, method: str, path: str, body: bytes | None = None,
                     headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """Send one request with a small answer; returns (status, body)."""
        all_headers = {"Authorization": self.endpoint.authorization, **(headers or {})}
        target = self.prefix + quote(path)
        for attempt in (1, 2):
            try:
                self._conn.request(method, target, body=body, headers=all_headers)
                response = self._conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _drain(response: http.client.HTTPResponse) -> int:
    buffer = bytearray(BLOCK)
    view = memoryview(buffer)
    total = 0
    while True:
        n = response.readinto(view)
        if not n:
            return total
        total += n


def repeated_body(total: int, block: bytes) -> Iterator[bytes]:
    """``total`` bytes made of ``block`` repeated (the last one cut)."""
    sent = 0
    while sent < total:
        chunk = block[: total - sent]
        sent += len(chunk)
        yield chunk


def timed(func: object, *args: object, **kwargs: object) -> float:
    """Seconds one call of ``func`` takes (monotonic clock)."""
    started = time.perf_counter()
    func(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - started


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def run_wrk(url: str, authorization: str | None, connections: int, seconds: int) -> WrkResult:
    """``wrk`` with ``connections`` connections for ``seconds`` s (Basic auth header
    passed with ``-H``; no Lua). Raises ``RuntimeError`` if its output cannot be read."""
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections),
               "-d", f"{seconds}s", "--latency", "--timeout", "10s"]
    if authorization:
        command += ["-H", f"Authorization: {authorization}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True,
                         timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)
    if not rps or not p99:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses:\s*(\d+)",
                    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
        found = re.search(pattern, out)
        if found:
            errors += sum(int(g) for g in found.groups())
    return WrkResult(float(rps.group(1)), float(p99.group(1)) * _UNITS[p99.group(2)], errors)
