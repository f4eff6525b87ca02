"""Schema migrations (Alembic): bring any database this project made up to date.

:func:`bring_up_to_date` is what every start-up and every CLI command runs (through
:meth:`davserver.db.Database.create_schema`):

* a database at :data:`HEAD` is left alone after one cheap query (no Alembic import);
* an empty database gets every table at once (``create_all``) and is stamped
  :data:`HEAD` — the Alembic cookbook's "create, then stamp" recipe; the test
  ``test_migrations`` proves that the migration chain builds the same schema;
* a database made before migrations existed (tables, no ``alembic_version``) is
  stamped :data:`BASELINE`, the schema of version 0.1 as it last shipped without
  migrations, then upgraded;
* any other database is upgraded from its revision to :data:`HEAD`.

The work runs in one transaction under a lock (PostgreSQL advisory lock; SQLite's
write lock), so several server processes starting at once migrate once.

A developer adding a table or a column writes a revision:
``davserver db revision -m "what changed"`` autogenerates it under ``versions/``;
check it, then set :data:`HEAD` to its id.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

BASELINE = "0001"
"""The schema of the last version without migrations (main at 38e5003, 2026-11-30)."""

HEAD = "0030"
"""The newest revision under ``versions/``; ``test_migrations`` checks they agree."""

VERSION_TABLE = "alembic_version"
_LOCK_KEY = 0x454E5444  # "ENTD": the PostgreSQL advisory lock taken while migrating

# Alembic announces each of its plugins at INFO on every migration: noise in a server log.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

MODEL_PACKAGES = ("davserver.journal", "acl", "quotas", "providers", "web")
"""Packages whose import declares every table on :class:`davserver.db.Base`."""


def load_models() -> None:
    """Import every package that declares tables, so ``Base.metadata`` is whole."""
    for name in MODEL_PACKAGES:
        importlib.import_module(name)


def alembic_config(connection: Connection | None = None) -> Any:
    """An Alembic ``Config`` for the scripts in this package (no alembic.ini needed).

    ``connection``, when given, is the connection env.py migrates on."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(connection: Connection) -> str | None:
    """The revision a database is stamped with, or ``None`` (no version table)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def bring_up_to_date(engine: Engine) -> str:
    """Create or upgrade the schema of ``engine``'s database to :data:`HEAD`.

    Returns what was done: ``"current"``, ``"created"``, ``"adopted"`` (a
    pre-migration database stamped at the baseline, then upgraded) or
    ``"upgraded"``. Raises :class:`davserver.db.SchemaMismatch` for a database older
    than the baseline, and whatever a migration raises; either way the transaction
    is rolled back and the database stays as it was."""
    with engine.connect() as probe:
        if current_revision(probe) == HEAD:
            return "current"
    load_models()
    from alembic import command

    from davserver.db import Base

    with engine.connect().execution_options(davserver_write=True) as connection, \
            connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        revision = current_revision(connection)  # again, under the lock
        cfg = alembic_config(connection)
        if revision == HEAD:
            return "current"
        if revision is None and not _has_tables(connection):
            Base.metadata.create_all(connection)
            command.stamp(cfg, HEAD)
            return "created"
        done = "upgraded"
        if revision is None:
            command.stamp(cfg, BASELINE)
            done = "adopted"
        try:
            with connection.begin_nested():  # on failure, the transaction stays usable
                command.upgrade(cfg, "head")
        except DBAPIError:
            # A database older than the baseline may lack a table that a revision
            # refers to: PostgreSQL refuses such a foreign key at once (SQLite accepts
            # it), so name the missing columns as below rather than the SQL error.
            _require_columns(connection)
            raise
        # A database older than the baseline may lack whole tables: add them.
        Base.metadata.create_all(connection)
        _require_columns(connection)  # else roll all of it back
        return done


def _require_columns(connection: Connection) -> None:
    """Raise :class:`davserver.db.SchemaMismatch` naming every column the models
    declare that the database's tables still lack (a version older than the
    baseline); a table that does not exist yet is left to ``create_all``."""
    from davserver.db import Base, SchemaMismatch

    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    missing = [f"{table.name}.{column.name}"
               for table in Base.metadata.sorted_tables if table.name in existing
               for column in table.columns
               if column.name not in {c["name"] for c in inspector.get_columns(table.name)}]
    if missing:
        url = connection.engine.url.render_as_string(hide_password=True)
        raise SchemaMismatch(
            f"the database at {url} was made by an older version, from before the "
            f"migrations' baseline: missing columns {', '.join(missing)}; it was left "
            "as it was")


def _has_tables(connection: Connection) -> bool:
    from davserver.db import Base

    existing = set(inspect(connection).get_table_names())
    return bool(existing & set(Base.metadata.tables))
