"""The reference WSGI applications, each run in its own process on cheroot:

``python -m benchmarks.refapps wsgidav ROOT PORT LOGIN PASSWORD THREADS``
    WsgiDAV 4.4 with its ``FilesystemProvider`` over ROOT, Basic auth, dead
    properties on (in-memory property manager), locks on; every other setting as
    WsgiDAV ships it (block size 8 KiB, dir browser on).
``python -m benchmarks.refapps bare PORT THREADS``
    a WSGI application that answers every request with a fixed 4 KiB body: the
    ceiling of the HTTP stack on this machine.

Each prints ``ready`` on standard output once listening, and stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from cheroot import wsgi

BARE_BODY = b"x" * 4096


def bare_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(BARE_BODY)))])
    return [BARE_BODY]


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
    elif argv[:1] == ["bare"] and len(argv) == 3:
        serve(bare_app, int(argv[1]), int(argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
