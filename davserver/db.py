"""Database trunk: the engine, the declarative ``Base`` and transactional sessions.

SQLite (embedded default) runs in WAL mode with foreign keys on and a busy timeout;
PostgreSQL is used as given by its URL. Every package declares its tables on
:class:`Base`; :meth:`Database.create_schema` creates or migrates the schema.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import struct
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Result,
    Table,
    create_engine,
    event,
    exc,
    make_url,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

if TYPE_CHECKING:
    from davserver.config import Config


log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5  # seconds to reach PostgreSQL before the request is answered 503


class SchemaMismatch(RuntimeError):
    """The database's tables do not match this version's models."""


class Base(DeclarativeBase):
    """Declarative base shared by every package's models."""


def table_of(model: type[Base]) -> Table:
    """The :class:`~sqlalchemy.Table` ``model`` is mapped to, for Core statements
    (``insert``, ``update``, ``delete``) built once on hot paths.

    Declarative types ``__table__`` as any FROM clause (a class may be mapped to a
    join or a select), which Core's DML constructors refuse; our models are each
    mapped to one plain table. Raises :class:`TypeError` for a model that is not."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to one table")
    return table


def rows_matched(result: Result[Any]) -> int:
    """The rows an executed UPDATE or DELETE matched (the driver's row count, 0 when
    it gives none). ``Session.execute`` is typed as returning a plain ``Result``
    whatever the statement (SQLAlchemy 2.1); for DML it is a :class:`CursorResult`,
    the kind that carries the count. Raises :class:`TypeError` for any other result."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"a {type(result).__name__} has no row count")
    return int(result.rowcount or 0)


class _Prepared:
    """A Core statement compiled for one dialect, as :func:`run_rows` runs it: the SQL
    text, the bind names in the driver's order (None: the driver takes them by name)
    and the bind processors of the types that have one (JSON, booleans...)."""

    __slots__ = ("compiled", "sql", "order", "processors")

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch",
                                                                 None):
            raise TypeError("a statement run on the cursor gets no Python-side column "
                            "defaults: give every column a value")
        if compiled.escaped_bind_names or any(
                b.expanding or b.literal_execute for b in compiled.binds.values()):
            raise TypeError("a statement run on the cursor takes plain bind parameters "
                            "(no expanding IN list, no names the dialect must escape)")
        self.compiled = compiled
        self.sql: str = compiled.string
        self.order: tuple[str, ...] | None = (tuple(compiled.positiontup or ())
                                              if compiled.positional else None)
        processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors[name] = process
        self.processors = processors


# Statement → its _Prepared form, per engine (keyed weakly: a closed Database's go with
# it; the compiled forms refer to the dialect, not to the engine).
_prepared: weakref.WeakKeyDictionary[Engine, dict[Any, _Prepared]] = (
    weakref.WeakKeyDictionary())
_prepared_lock = threading.Lock()


def run_rows(connection: Connection, statement: Any,
             params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run ONE Core ``statement`` (SELECT, or INSERT / UPDATE / DELETE, with or without
    RETURNING) with ``params`` (bind name → value) on the DBAPI cursor of
    ``connection``, in its current transaction (a write transaction's
    ``session.connection()``), and return its rows as plain tuples (``[]`` when it
    returns none).

    Why: a small PUT's transaction holds SQLite's write turn (:meth:`Database.transaction`)
    about 1.1 ms, of which SQLite itself takes 0.4 ms and SQLAlchemy's execution path
    (``_execute_clauseelement``, cache keys, execution contexts, results, events) most of
    the rest; with 8 clients the turn, not the disk, bounds PUTs per second. Here the
    statement is compiled once per statement object and engine, its values go through
    the types' bind processors (JSON as text on SQLite, ``psycopg.Json`` on PostgreSQL,
    booleans) and straight to ``cursor.execute``; the connection's
    ``before_cursor_execute`` and ``after_cursor_execute`` listeners are called (the
    tests count statements through them; listeners cannot rewrite the statement).

    Rows come as the driver gives them, without result processing (SQLite: booleans are
    0 and 1, JSON is text): select plain columns. Raises :class:`TypeError` for a
    statement that needs SQLAlchemy's execution path (an expanding ``IN`` list, a
    column left to a Python-side default); a missing parameter raises
    ``sqlalchemy.exc.InvalidRequestError``; a driver error is raised as SQLAlchemy's
    wrapped exception (``IntegrityError``, ``OperationalError``...), as
    ``Connection.execute`` would, and a lost connection is invalidated."""
    dialect, engine = connection.dialect, connection.engine
    cache = _prepared.get(engine)
    prepared = cache.get(statement) if cache is not None else None
    if prepared is None:
        prepared = _Prepared(statement, dialect)
        with _prepared_lock:
            _prepared.setdefault(engine, {})[statement] = prepared
    values = prepared.compiled.construct_params(params)
    for name, process in prepared.processors.items():
        values[name] = process(values[name])
    args: Any = (values if prepared.order is None
                 else tuple(values[name] for name in prepared.order))
    cursor = connection.connection.cursor()
    try:
        for listener in connection.dispatch.before_cursor_execute:
            listener(connection, cursor, prepared.sql, args, None, False)
        try:
            cursor.execute(prepared.sql, args)
            rows = list(cursor.fetchall()) if cursor.description is not None else []
        except dialect.loaded_dbapi.Error as error:
            invalidated = dialect.is_disconnect(error, connection.connection, cursor)
            if invalidated:
                connection.invalidate(error)
            raise exc.DBAPIError.instance(
                prepared.sql, args, error, dialect.loaded_dbapi.Error,
                connection_invalidated=invalidated, dialect=dialect) from error
        for after in connection.dispatch.after_cursor_execute:
            after(connection, cursor, prepared.sql, args, None, False)
        return rows
    finally:
        cursor.close()


def make_engine(url: str, *, pool_size: int = 20, max_overflow: int = 40) -> Engine:
    """Return an engine for ``url`` (any SQLAlchemy URL); a server database keeps
    ``pool_size`` connections open and opens at most ``max_overflow`` more at a peak
    (``database_pool`` in config.yaml: the PostgreSQL connections of one process).

    SQLite connections get ``journal_mode=WAL``, ``foreign_keys=ON``,
    ``busy_timeout=30000`` (ms) and ``synchronous=NORMAL`` (safe under WAL).
    A ``postgresql://`` URL is mapped to the psycopg 3 driver.
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        # A pool as large as the server's threads (a file database; an in-memory one
        # has SQLAlchemy's single-connection pool, which takes no sizes).
        in_memory = make_url(url).database in (None, "", ":memory:")
        pool: dict[str, Any] = {} if in_memory else {"pool_size": 20, "max_overflow": 40}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # pool_pre_ping: a connection is tested before it is lent, so a process recovers on
    # its own after a database restart; connect_timeout: an unreachable server is an
    # outage (503, davserver.outage) within seconds, not a hang.
    return create_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                         pool_pre_ping=True,
                         pool_timeout=10, connect_args={"connect_timeout": CONNECT_TIMEOUT})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # A write transaction takes the write lock at BEGIN, so a read-then-write
    # transaction never fails half-way with "database is locked"; reads stay
    # concurrent under WAL.
    options = connection.get_execution_options()
    if options.get("davserver_single", False):
        return  # one statement: SQLite runs it in a transaction of its own
    connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("davserver_write") else "BEGIN")


READ_CACHE_SECONDS = 2.0
"""Longest a cached read (:meth:`Database.read_rows`) is answered, in seconds, even with
no write counted: the bound of what a write made outside :meth:`Database.transaction`
(or by a process that cannot open the count's file) takes to be seen."""

READ_CACHE_ENTRIES = 1024
"""Cached reads a process keeps; one more empties the cache. With keys of at most
:data:`READ_CACHE_KEY_CHARS` characters this bounds the cache to about 20 MiB even for
chains of the deepest paths made on purpose, and about 1 MiB for a school's paths."""

READ_CACHE_KEY_CHARS = 256
"""Longest path (in characters) whose resolution is cached: longer ones, rare in a
school and cheap to make up, are always read (their rows would weigh the most)."""


class WriteCounter:
    """How many commits have begun and how many have ended on one SQLite database,
    counted by every process that opens it: three 8-byte fields in a file beside the
    database (``<database>-commits``: ``ended``, ``begun``, the process id of the latest
    to begin), mapped into memory.

    A write transaction counts a begun commit just before its ``COMMIT`` and an ended
    one just after it, before its after-commit work (blob files removed, which the
    database no longer names). :meth:`stable` reads the memory, without a system call
    (so the thread asking never gives up the interpreter: on a loaded server each
    give-up costs a wait to get it back, which is what makes a read cache worth
    having, see :meth:`Database.read_rows`): ``ended`` when no commit is in progress in
    any process, None while one is. A read cached under a stable count is therefore
    never answered after a later commit, and a read made during a commit is not
    cached.

    The counts are advanced under a lock of this process's threads and an exclusive
    ``flock`` of the file, so they only grow. A process killed during its ``COMMIT``
    (the only time it holds a count begun and not ended) would leave them unequal for
    good: a process that sees them unequal for over a second while the latest to
    begin is no longer running evens them (:meth:`_mend`). The file is opened on first
    use (after the database exists: it takes the database file's permissions and,
    made by root, its owner, as SQLite does with its ``-wal`` and ``-shm`` files), again
    in a forked child (its own lock), and never raises: a process that cannot count
    logs it once and caches nothing (its own writes are then seen by the other
    processes' caches within :data:`READ_CACHE_SECONDS`). ``path=None`` (an in-memory
    database, which no other process can open) counts in this process only."""

    SIZE = 24

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._map: mmap.mmap | bytearray | None = bytearray(self.SIZE) if path is None else None
        self._closer: Callable[[], Any] | None = None
        self._unequal_since: float | None = None  # monotonic seconds
        self._unequal_first: float | None = None
        self._told = False
        self.broken = False

    def stable(self) -> int | None:
        """``ended`` when it equals ``begun`` (no commit in progress), else None (also
        when the counts cannot be read)."""
        if self._map is None:
            with self._lock:
                if self._map is None and not self._open():
                    return None
        assert self._map is not None
        ended = struct.unpack_from("=Q", self._map, 0)[0]
        begun = struct.unpack_from("=Q", self._map, 8)[0]
        if ended == begun:
            self._unequal_since = self._unequal_first = None
            return None if self.broken else int(ended)
        now = time.monotonic()
        if self._unequal_since is None or self._unequal_first is None:
            self._unequal_since = self._unequal_first = now
        elif now - self._unequal_since > 1.0:  # a commit takes milliseconds
            self._unequal_since = now
            self._mend()
            if now - self._unequal_first > 60.0 and not self._told:
                self._told = True
                log.warning("the commit counts in %s have stayed unequal for a minute: "
                            "the read cache is off (nothing stale is served). If a "
                            "davserver process was killed during a commit, remove the file "
                            "while every davserver process is stopped", self._path)
        return None

    def begin(self) -> None:
        """Count a commit about to begin (call it just before the ``COMMIT``)."""
        self._advance(8)

    def end(self) -> None:
        """Count a commit that has ended (just after it, whether it succeeded)."""
        self._advance(0)

    def _mend(self) -> None:
        """Even the counts left unequal by a process that died during its commit: when
        the latest process to begin one is not running (nor this one) and the counts
        are one apart, ``ended`` takes ``begun``'s value."""
        assert self._map is not None
        pid = struct.unpack_from("=Q", self._map, 16)[0]
        if not pid or pid == os.getpid():
            return
        try:
            os.kill(pid, 0)
            return  # running (or another user's: running too)
        except PermissionError:
            return
        except ProcessLookupError:
            pass
        except OSError:
            return
        with self._lock:
            try:
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
                try:
                    ended, begun, latest = struct.unpack_from("=QQQ", self._map, 0)
                    if latest == pid and begun == ended + 1:
                        struct.pack_into("=Q", self._map, 0, begun)
                        log.warning("process %s ended during a commit on %s: its count "
                                    "is closed", pid, self._path)
                finally:
                    if self._fd is not None:
                        fcntl.flock(self._fd, fcntl.LOCK_UN)
            except (OSError, ValueError) as exc:
                self._give_up(exc)

    def _advance(self, offset: int) -> None:
        if self.broken:
            return
        with self._lock:
            if self._path is not None and (self._map is None or self._pid != os.getpid()) \
                    and not self._open():
                return
            assert self._map is not None
            try:
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
                try:
                    value = struct.unpack_from("=Q", self._map, offset)[0]
                    struct.pack_into("=Q", self._map, offset, value + 1)
                    if offset == 8:  # who began it, for _mend
                        struct.pack_into("=Q", self._map, 16, os.getpid())
                finally:
                    if self._fd is not None:
                        fcntl.flock(self._fd, fcntl.LOCK_UN)
            except (OSError, ValueError) as exc:
                self._give_up(exc)

    def _open(self) -> bool:
        """Open and map the file (again in a forked child); False if it cannot be."""
        assert self._path is not None
        path = self._path
        try:
            try:
                database = os.stat(path.with_name(path.name.removesuffix("-commits")))
            except OSError:
                database = None
            mode = database.st_mode & 0o666 if database is not None else 0o644
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    if os.fstat(fd).st_size < self.SIZE:  # new: made as the database is
                        os.fchmod(fd, mode)  # whatever the umask
                        if database is not None and os.geteuid() == 0:
                            os.fchown(fd, database.st_uid, database.st_gid)
                        os.pwrite(fd, bytes(self.SIZE), 0)
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                mapped = mmap.mmap(fd, self.SIZE)
            except BaseException:
                os.close(fd)
                raise
        except (OSError, ValueError) as exc:
            self._give_up(exc)
            return False
        if self._closer is not None:  # the parent's, in a forked child: lock shared
            self._closer()
        self._fd, self._map, self._pid = fd, mapped, os.getpid()
        # A Database nobody disposes of must not keep its descriptor.
        self._closer = weakref.finalize(self, os.close, fd)
        return True

    def _give_up(self, exc: BaseException) -> None:
        if not self.broken:
            self.broken = True
            log.error("read cache off in this process: cannot count writes in %s (%s); "
                      "other processes see this one's writes within %s s",
                      self._path, exc, READ_CACHE_SECONDS)


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL's database, None for an in-memory one."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database)


class Database:
    """An engine and its session factory.

    ``transaction()`` yields a session inside one committed-or-rolled-back transaction.
    On SQLite, write transactions of this process take turns on a lock first: SQLite
    has one writer at a time anyway, and a writer waiting in SQLite's busy handler
    sleeps in growing steps (up to 100 ms) instead of starting when the other ends.
    """

    def __init__(self, url: str, *, pool_size: int = 20, max_overflow: int = 40) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        self._write_turn: threading.RLock | None = (
            threading.RLock() if self.engine.dialect.name == "sqlite" else None)
        self._single: Engine | None = (
            self.engine.execution_options(davserver_single=True)
            if self.engine.dialect.name == "sqlite" else None)
        self._compiled: dict[Any, Any] = {}  # statement → its compiled form (read_rows)
        # read_rows(..., cached=KEY): (statement, KEY) → (write count, when read
        # (monotonic seconds), rows); SQLite only (see read_rows).
        self._writes: WriteCounter | None = None
        self._read_cache: dict[Any, tuple[int, float, list[tuple[Any, ...]]]] = {}
        if self.engine.dialect.name == "sqlite":
            file = _sqlite_file(url)
            self._writes = WriteCounter(
                None if file is None else file.with_name(file.name + "-commits"))
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(
            self.engine.execution_options(davserver_write=True), expire_on_commit=False
        )

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction: commit on normal exit, roll back on any exception.

        ``write=True`` takes SQLite's write lock at BEGIN (no lock upgrade failures);
        use ``write=False`` for read-only work so readers stay concurrent.
        """
        factory = self._writers if write else self._readers
        turn = self._write_turn if write and self._write_turn is not None else nullcontext()
        # The session is made (and closed) outside the turn: only its transaction, from
        # BEGIN to COMMIT, needs it (a small PUT held it 7 % less).
        writes = self._writes if write else None
        counting = False  # a begun commit not yet counted as ended

        def committed(_session: Session | None) -> None:
            nonlocal counting
            if counting and writes is not None:
                counting = False
                writes.end()

        try:
            with factory() as session:
                if writes is not None:  # first: before the after-commit work's hooks
                    event.listen(session, "after_commit", committed)
                with turn, session.begin():
                    yield session
                    if writes is not None:  # see WriteCounter
                        writes.begin()
                        counting = True
        finally:
            committed(None)  # the COMMIT failed: no after_commit came

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A plain connection for ONE read-only Core statement on a hot path (resolving
        a path, listing a folder): no ORM session to set up. On SQLite the statement
        runs in its own implicit transaction (no BEGIN and COMMIT round trips, a third
        of a small GET's database time); elsewhere in a read-only transaction."""
        if self._single is not None:
            with self._single.connect() as connection:
                yield connection
            return
        with self.engine.connect() as connection, connection.begin():
            yield connection

    def read_rows(self, statement: Any, params: dict[str, Any], *,
                  cached: Hashable | None = None) -> list[tuple[Any, ...]]:
        """The rows of ONE read-only Core ``statement`` (with ``params`` by bind name),
        run by the driver itself: the statement is compiled once per statement object
        for this engine's dialect, then executed on a pooled connection's DBAPI cursor,
        without SQLAlchemy's Connection, Result or type processing (about half of the
        time of a small GET). Values come as the driver gives them (SQLite: booleans
        are 0 and 1); the engine's ``before_cursor_execute`` listeners are called.
        For the hottest reads only (resolving a path); like :meth:`reading`, the
        statement runs in its own implicit transaction on SQLite and in one that the
        pool rolls back elsewhere.

        ``cached=KEY`` (SQLite only; elsewhere it is ignored): ``KEY``, hashable, must
        determine ``params`` for this statement (the caller keeps it small: see
        :data:`READ_CACHE_KEY_CHARS`). The rows are then answered from this process's
        memory while no commit has begun on the database since they were read, in any
        process (:class:`WriteCounter`; issue 22's cache of path resolutions), and read
        (not cached) while one is in progress. A hit makes no
        system call: on a loaded server, a query's cost is less SQLite's work than the
        wait to get the interpreter back after it. So a cached read is as fresh as an
        uncached one for every write made through :meth:`transaction`, in any process;
        a write made around it (SQL typed by hand; the schema's migrations are
        counted) is seen within :data:`READ_CACHE_SECONDS`. The rows are shared: never
        change them."""
        if cached is not None and self._writes is not None:
            count = self._writes.stable()  # before the query: a write after it misses
            if count is not None:
                key = (statement, cached)
                now = time.monotonic()
                hit = self._read_cache.get(key)
                if hit is not None and hit[0] == count and now - hit[1] < READ_CACHE_SECONDS:
                    return hit[2]
                rows = self._read_rows(statement, params)
                if len(self._read_cache) >= READ_CACHE_ENTRIES:
                    self._read_cache = {}
                self._read_cache[key] = (count, now, rows)
                return rows
        return self._read_rows(statement, params)

    def forget_reads(self) -> None:
        """Empty this process's cache of reads (:meth:`read_rows`, ``cached``): what
        the next reads cost is then what they cost cold (the statement-count tests)."""
        self._read_cache = {}

    def _read_rows(self, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = statement.compile(dialect=self.engine.dialect)
        values = compiled.construct_params(params)
        args: Any = (tuple(values[name] for name in compiled.positiontup)
                     if compiled.positional else values)
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                # Listeners of the engine's ``before_cursor_execute`` (statement counts in
                # the tests, tracing) see this statement too; they get no Connection.
                for listener in self.engine.dispatch.before_cursor_execute:
                    listener(None, cursor, compiled.string, args, None, False)
                cursor.execute(compiled.string, args)
                return list(cursor.fetchall())
            finally:
                cursor.close()
        finally:
            connection.close()

    def create_schema(self) -> str:
        """Create or migrate the schema to this version's (see :mod:`davserver.migrations`).

        Returns what was done (``"current"``, ``"created"``, ``"adopted"``,
        ``"upgraded"``). Raises :class:`SchemaMismatch`, leaving the database as it
        was, when it was made by a version older than the migrations' baseline."""
        from davserver.migrations import bring_up_to_date

        if self._writes is not None:  # the migrations write outside transaction()
            self._writes.begin()
        try:
            return bring_up_to_date(self.engine)
        finally:
            if self._writes is not None:
                self._writes.end()

    def dispose(self) -> None:
        # The write counter stays open (its file closes with this object): an engine
        # disposed of may still be used, and its commits must still count.
        self.engine.dispose()


def open_database(config: Config) -> Database:
    """The configured database with its schema created (data dir made if needed): what
    every ``davserver`` command that works on the data opens first."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.effective_database_url, pool_size=config.database_pool.size,
                  max_overflow=config.database_pool.overflow)
    db.create_schema()
    return db
