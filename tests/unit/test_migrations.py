"""Schema migrations (davserver/migrations): the chain of revisions builds exactly the
schema the models declare, a database made before migrations is adopted without
losing a row, and ``davserver db`` reports and upgrades — on SQLite and, when
configured, on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from davserver import migrations
from davserver.db import Base, Database
from tests.conftest import PG_URL, drop_database, fresh_database_url

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, EMPTY database (no tables)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.sqlite3'}"
        return
    pg_url, name = fresh_database_url(tmp_path)
    assert pg_url is not None
    try:
        yield pg_url
    finally:
        drop_database(name)


def _upgrade(db: Database, target: str) -> None:
    with db.engine.connect().execution_options(davserver_write=True) as connection, \
            connection.begin():
        command.upgrade(migrations.alembic_config(connection), target)


def test_head_constant_names_the_newest_revision() -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    assert script.get_heads() == [migrations.HEAD], "set migrations.HEAD to the new revision"
    assert migrations.BASELINE in {r.revision for r in script.walk_revisions()}


def test_the_chain_builds_the_schema_the_models_declare(url: str) -> None:
    """A revision forgotten after a model change shows up here as a difference."""
    migrations.load_models()
    db = Database(url)
    try:
        _upgrade(db, "head")
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        db.dispose()


def test_a_fresh_database_is_created_and_stamped(url: str) -> None:
    db = Database(url)
    try:
        assert db.create_schema() == "created"
        with db.engine.connect() as connection:
            assert migrations.current_revision(connection) == migrations.HEAD
            assert set(Base.metadata.tables) <= set(inspect(connection).get_table_names())
        assert db.create_schema() == "current"
    finally:
        db.dispose()


def test_a_database_made_before_migrations_is_adopted_with_its_rows(url: str) -> None:
    """A school upgrading from 0.1: tables at the baseline, no version table, users in it."""
    db = Database(url)
    try:
        _upgrade(db, migrations.BASELINE)
        with db.engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {migrations.VERSION_TABLE}"))
            connection.execute(text(
                "INSERT INTO users (login, display_name, email, profile, password_hash, "
                "disabled, created) VALUES ('prof.martin', 'M. Martin', NULL, 'teacher', 'x', "
                ":no, CURRENT_TIMESTAMP)"), {"no": False})
        assert db.create_schema() == "adopted"
        with db.engine.connect() as connection:
            assert migrations.current_revision(connection) == migrations.HEAD
            logins = connection.execute(text("SELECT login FROM users")).scalars().all()
        assert logins == ["prof.martin"]
    finally:
        db.dispose()


def test_a_database_older_than_the_baseline_is_named(tmp_path: Path) -> None:
    """Missing columns that no revision adds: a clear error naming them, nothing changed."""
    from davserver.db import SchemaMismatch

    path = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT)"))
    engine.dispose()
    db = Database(f"sqlite:///{path}")
    try:
        with pytest.raises(SchemaMismatch, match=r"older version.*users\.display_name"):
            db.create_schema()
        with db.engine.connect() as connection:  # rolled back: left as it was
            assert inspect(connection).get_table_names() == ["users"]
    finally:
        db.dispose()


def test_db_command_reports_and_upgrades(tmp_path: Path) -> None:
    env_url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"

    def db(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "davserver.cli", "db", *args], capture_output=True,
            text=True, timeout=120, cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "DAVSERVER_DATABASE_URL": env_url,
                 "DAVSERVER_DATA_DIR": str(tmp_path / "var"),
                 "PYTHONPATH": str(Path(__file__).resolve().parents[2])})

    before = db("status")
    assert before.returncode == 1, before.stderr
    assert "none" in before.stdout and migrations.HEAD in before.stdout
    upgraded = db("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"schema created: revision {migrations.HEAD}" in upgraded.stdout
    after = db("status")
    assert after.returncode == 0, after.stderr
    assert f"database revision: {migrations.HEAD}" in after.stdout


def test_existing_dead_properties_are_measured_and_charged(url: str) -> None:
    """Revisions 0005 and 0006 (issue 18): a space of 0004 with a file of 10 bytes
    whose dead properties are 1 name and value, and a reservation left by an upload:
    after the upgrade the node's ``props_bytes`` is their exact size, the space's usage
    counts them, and the reservation (no holder to ask) is gone."""
    from providers.properties import entry_bytes

    name, value = "{urn:x}note", '<note xmlns="urn:x">été</note>'
    db = Database(url)
    try:
        _upgrade(db, "0004")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO spaces (id, key, kind, created) "
                                    "VALUES (1, 'documents:0', 'documents', 0)"))
            connection.execute(text(
                "INSERT INTO nodes (id, space_id, parent_id, name, path, is_collection, "
                "size, created, modified, dead_props, published) VALUES "
                "(1, 1, NULL, '', '', :yes, 0, 0, 0, '{}', :yes), "
                "(2, 1, 1, 'a.txt', '/a.txt', :no, 10, 0, 0, :props, :yes)"),
                {"yes": True, "no": False, "props": json.dumps({name: value})})
            connection.execute(text(
                "INSERT INTO space_usage (space_id, kind, used_bytes, reserved_bytes) "
                "VALUES (1, 'documents', 10, 5000)"))
        _upgrade(db, "head")
        with db.engine.connect() as connection:
            sizes = dict(connection.execute(text("SELECT id, props_bytes FROM nodes")).all())
            used, reserved = connection.execute(text(
                "SELECT used_bytes, reserved_bytes FROM space_usage")).one()
        assert sizes == {1: 0, 2: entry_bytes(name, value)}
        assert (used, reserved) == (10 + entry_bytes(name, value), 0)
    finally:
        db.dispose()
