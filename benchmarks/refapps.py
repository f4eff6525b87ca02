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
``python -m benchmarks.refapps bare_sql PORT THREADS DIR GET_PATH``
    the bare application plus what any server that keeps its tree in SQLite must add
    (:func:`bare_sql_app`): one indexed SELECT of a row of a table shaped like our
    ``nodes`` (1,000 rows, GET_PATH among them) per GET, and one write transaction
    (insert the file's row, add its bytes to a counter) per PUT after the durable
    write, with our server's SQLite settings. The ceiling of issue 22's small-GET and
    small-PUT targets for a server like ours.

Each prints ``ready`` on standard output once listening, and stops on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sqlite3
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


# A table shaped like ours (providers.models.Node: the columns a GET reads, the path
# index it resolves by) and a counter shaped like quotas' space_usage.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, space_id INTEGER NOT NULL,
    parent_id INTEGER, name TEXT NOT NULL, path TEXT NOT NULL, written_name TEXT NOT NULL,
    written_path TEXT NOT NULL, is_collection BOOLEAN NOT NULL, size BIGINT NOT NULL,
    content_type VARCHAR(255), etag VARCHAR(64), sha1 VARCHAR(40), md5 VARCHAR(32),
    blob_key TEXT, created FLOAT NOT NULL, modified FLOAT NOT NULL,
    dead_props JSON NOT NULL DEFAULT '{}', UNIQUE (parent_id, name));
CREATE INDEX IF NOT EXISTS ix_nodes_path ON nodes (path);
CREATE INDEX IF NOT EXISTS ix_nodes_space ON nodes (space_id);
CREATE TABLE IF NOT EXISTS space_usage (
    space_id INTEGER PRIMARY KEY, used_bytes BIGINT NOT NULL DEFAULT 0);
"""
SQL_ROWS = 1000
_SELECT = ("SELECT id, parent_id, is_collection, size, content_type, etag, blob_key, "
           "modified, dead_props FROM nodes WHERE space_id + 0 = ? AND path = ?")
_INSERT = ("INSERT INTO nodes (space_id, parent_id, name, path, written_name, written_path,"
           " is_collection, size, content_type, etag, sha1, md5, blob_key, created,"
           " modified) VALUES (1, 1, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?) "
           "ON CONFLICT (parent_id, name) DO UPDATE SET size = excluded.size, "
           "content_type = excluded.content_type, etag = excluded.etag, "
           "blob_key = excluded.blob_key, modified = excluded.modified")
_CHARGE = "UPDATE space_usage SET used_bytes = used_bytes + ? WHERE space_id = 1"


def _connect(database: Path) -> sqlite3.Connection:
    """A connection with our server's settings (davserver.db: WAL, synchronous=NORMAL,
    foreign keys, busy timeout, transactions begun by hand)."""
    conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False,
                           timeout=30)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000",
                   "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _seed(database: Path, get_path: str) -> None:
    """:data:`SQL_ROWS` file rows under one folder, ``get_path`` one of them."""
    conn = _connect(database)
    conn.executescript(_SCHEMA)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT OR IGNORE INTO space_usage (space_id) VALUES (1)")
    paths = [get_path, *(f"/f{i:04d}.txt" for i in range(1, SQL_ROWS))]
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        conn.execute(_INSERT, (name, path, name, path, 4096, "text/plain", "e" * 40,
                               "e" * 40, "m" * 32, uuid.uuid4().hex, 0.0, 0.0))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def bare_sql_app(folder: Path, get_path: str) -> Callable[..., Iterable[bytes]]:
    """:func:`bare_app` plus, per GET, one SELECT of a node by its path (indexed) and,
    per PUT, after :func:`durable_write`, one write transaction: the file's row inserted
    (or updated) and its bytes added to the space's counter, committed. Each worker
    thread has its own connection; write transactions take turns on a lock of the
    process first and begin ``IMMEDIATE``, as ours do (davserver.db). A GET of a path
    without a row is 404."""
    bare = bare_app(folder)
    database = folder / "tree.sqlite"
    _seed(database, get_path)
    local = threading.local()
    write_turn = threading.Lock()

    def conn() -> sqlite3.Connection:
        found = getattr(local, "conn", None)
        if found is None:
            found = local.conn = _connect(database)
        return found

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if environ["REQUEST_METHOD"] == "PUT":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            content_type = durable_write(folder, body)
            name = path.rsplit("/", 1)[-1]
            etag = uuid.uuid4().hex
            with write_turn:
                c = conn()
                c.execute("BEGIN IMMEDIATE")
                try:
                    c.execute(_INSERT, (name, path, name, path, len(body), content_type,
                                        etag, etag, etag, etag, 0.0, 0.0))
                    c.execute(_CHARGE, (len(body),))
                    c.execute("COMMIT")
                except BaseException:
                    c.execute("ROLLBACK")
                    raise
            start_response("201 Created", [("Content-Length", "0")])
            return [b""]
        if conn().execute(_SELECT, (1, path)).fetchone() is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        return bare(environ, start_response)

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
    elif argv[:1] == ["bare_sql"] and len(argv) == 5:
        serve(bare_sql_app(Path(argv[3]), argv[4]), int(argv[1]), int(argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
