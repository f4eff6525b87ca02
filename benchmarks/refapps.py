"""The reference WSGI applications, each run in its own process on cheroot:

``python -m benchmarks.refapps wsgidav ROOT PORT LOGIN PASSWORD THREADS``
    WsgiDAV 4.4 with its ``FilesystemProvider`` over ROOT, Basic auth, dead
    properties on (in-memory property manager), locks on; every other setting as
    WsgiDAV ships it (block size 8 KiB, dir browser on).
``python -m benchmarks.refapps bare PORT THREADS DIR``
    a WSGI application that answers every GET with a fixed 4 KiB body (the ceiling
    of the HTTP stack on this machine) and every PUT with 201 after doing only the
    file work that our PUT must do (:func:`durable_write`): the ceiling of the HTTP
    stack with that work, for the small-PUT figure.

Each prints ``ready`` on standard output once listening, and stops on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cheroot import wsgi

BARE_BODY = b"x" * 4096


def durable_write(folder: Path, body: bytes) -> str:
    """What a PUT of ours must do with a small body besides HTTP, the database and
    WsgiDAV: write it to a new temporary file, fsync it, rename it to its place under
    ``folder`` (providers.blobs), and ask libmagic for its type (providers.content_types,
    issue 2: python-magic sniffing of the first bytes). Returns the type."""
    import magic

    key = uuid.uuid4().hex
    tmp = folder / "tmp" / f"{key}.part"
    with open(tmp, "xb", buffering=0) as f:
        f.write(body)
        os.fsync(f.fileno())
    final = folder / "objects" / key[:2]
    final.mkdir(exist_ok=True)
    os.replace(tmp, final / key)
    return magic.from_buffer(body[:2048], mime=True)


def bare_app(folder: Path) -> Callable[..., Iterable[bytes]]:
    """The bare application over ``folder`` (see the module docstring)."""
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    (folder / "objects").mkdir(exist_ok=True)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "PUT":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            durable_write(folder, environ["wsgi.input"].read(length))
            start_response("201 Created", [("Content-Length", "0")])
            return [b""]
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(BARE_BODY)))])
        return [BARE_BODY]

    return app


def wsgidav_app(root: str, login: str, password: str) -> Any:
    from wsgidav.fs_dav_provider import FilesystemProvider
    from wsgidav.wsgidav_app import WsgiDAVApp

    return WsgiDAVApp({
        "provider_mapping": {"/": FilesystemProvider(root)},
        "simple_dc": {"user_mapping": {"*": {login: {"password": password}}}},
        "http_authenticator": {"accept_basic": True, "accept_digest": False,
                               "default_to_digest": False},
        "property_manager": True,
        "lock_storage": True,
        "verbose": 1,
        "logging": {"enable": False},
    })


def serve(app: Any, port: int, threads: int) -> None:
    server = wsgi.Server(("127.0.0.1", port), app, numthreads=threads, timeout=300)

    def _stop(_signum: int, _frame: Any) -> None:
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    server.prepare()
    print("ready", flush=True)
    server.serve()


def main(argv: list[str]) -> int:
    if argv[:1] == ["wsgidav"] and len(argv) == 6:
        _, root, port, login, password, threads = argv
        serve(wsgidav_app(root, login, password), int(port), int(threads))
    elif argv[:1] == ["bare"] and len(argv) == 4:
        serve(bare_app(Path(argv[3])), int(argv[1]), int(argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
