"""curl, driven from tests: one exchange a call, status, body and final headers kept;
and :func:`raw_http` for bytes no client would send.

Shared by the integration tests that replay what real clients send (curl is the
real client here, with its own HTTP framing).
"""

from __future__ import annotations

import re
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import Server

EXCL = ('<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
        '<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>'
        '<D:owner><D:href>tester</D:href></D:owner></D:lockinfo>')


@dataclass
class Reply:
    """One curl exchange: final status (0 if none), body, final response headers
    (lower-case names)."""

    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _last_header_block(raw: str) -> dict[str, str]:
    blocks = [b for b in re.split(r"\r?\n\r?\n", raw) if b.strip()]
    headers: dict[str, str] = {}
    for line in (blocks[-1].splitlines()[1:] if blocks else []):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


class Curl:
    """``curl -s -g -u U:P -o BODY -D HEADERS -w '%{http_code}' ARGS...``."""

    def __init__(self, server: Server, scratch: Path, user: str = "alice") -> None:
        self.server = server
        self.scratch = scratch
        self.user = user

    def __call__(self, *args: str, user: str | None = None) -> Reply:
        login = user or self.user
        tag = uuid.uuid4().hex
        body, head = self.scratch / f"{tag}.body", self.scratch / f"{tag}.head"
        proc = subprocess.run(
            ["curl", "-s", "-g", "-u", f"{login}:{self.server.users[login]}",
             "-o", str(body), "-D", str(head), "-w", "%{http_code}", *args],
            capture_output=True, text=True, timeout=120, check=False,
        )
        status = int(proc.stdout.strip()[-3:] or 0)
        reply = Reply(status, body.read_bytes() if body.exists() else b"",
                      _last_header_block(head.read_text("latin-1") if head.exists() else ""))
        body.unlink(missing_ok=True)
        head.unlink(missing_ok=True)
        return reply

    def code(self, *args: str) -> int:
        return self(*args).status

    def lock(self, url: str, body: str = EXCL) -> tuple[int, str]:
        """The prelude's ``lock``: (status, lock token without the angle brackets)."""
        reply = self("-X", "LOCK", "-H", "Depth: 0", "-H", "Timeout: Second-600",
                     "-H", "Content-Type: application/xml", "--data", body, url)
        return reply.status, reply.headers.get("lock-token", "").strip().strip("<>")

    def etag(self, url: str) -> str:
        """``curl -I`` then the ETag header, as sent (quotes included)."""
        return self("-I", url).headers.get("etag", "")


def raw_http(server: Server, request: bytes, timeout: float = 30) -> bytes:
    """Send ``request`` as is, close our side, read until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return answer
