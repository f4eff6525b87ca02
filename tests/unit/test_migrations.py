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
from sqlalchemy import inspect, text

from davserver import migrations
from davserver.db import Base, Database
from tests.conftest import BACKENDS, drop_database, fresh_database_url


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


@pytest.mark.one_database  # reads the revision files only
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


def test_a_school_takes_the_time_zone_of_its_latest_year(url: str) -> None:
    """0007: the time zone moves to the school; a school without a year gets Paris's."""
    db = Database(url)
    try:
        _upgrade(db, "0006")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO schools (id, name) VALUES (1, 'Lycée "
                                    "de Cayenne'), (2, 'Collège')"))
            connection.execute(text(
                "INSERT INTO school_years (school_id, label, start, \"end\", time_zone) "
                "VALUES (1, '2024-2025', '2024-09-02', '2025-07-04', 'Europe/Paris'), "
                "(1, '2025-2026', '2025-09-01', '2026-07-04', 'America/Cayenne')"))
        _upgrade(db, "0007")
        with db.engine.connect() as connection:
            zones = connection.execute(text("SELECT name, time_zone, holiday_zone FROM "
                                            "schools ORDER BY id")).all()
        assert [tuple(z) for z in zones] == [("Lycée de Cayenne", "America/Cayenne", None),
                                             ("Collège", "Europe/Paris", None)]
    finally:
        db.dispose()


def test_each_user_s_school_becomes_a_membership_with_the_import_s_marks(url: str) -> None:
    """0009: users.school_id → user_schools (profile kept); imported_users' marks move
    there (managed, left_at), and the table goes."""
    db = Database(url)
    try:
        _upgrade(db, "0008")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO schools (id, name) VALUES (1, 'A')"))
            for uid, login, school in ((1, "by.hand", 1), (2, "imported", 1),
                                       (3, "leaver", 1), (4, "nowhere", None)):
                connection.execute(text(
                    "INSERT INTO users (id, login, display_name, profile, password_hash, "
                    "disabled, school_id, created) VALUES (:id, :login, :login, 'teacher', "
                    "'x', :no, :school, CURRENT_TIMESTAMP)"),
                    {"id": uid, "login": login, "no": uid == 3, "school": school})
            connection.execute(text(
                "INSERT INTO imported_users (user_id, school_id, \"left\") VALUES "
                "(2, 1, NULL), (3, 1, '2026-06-30 12:00:00')"))
        _upgrade(db, "0009")
        with db.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT user_id, school_id, profile, managed, left_at IS NOT NULL "
                "FROM user_schools ORDER BY user_id")).all()
            assert not inspect(connection).has_table("imported_users")
        assert [(u, s, p, bool(m), bool(gone)) for u, s, p, m, gone in rows] == [
            (1, 1, "teacher", False, False), (2, 1, "teacher", True, False),
            (3, 1, "teacher", True, True)]
    finally:
        db.dispose()


def test_a_database_older_than_the_baseline_is_named(url: str) -> None:
    """Missing columns that no revision adds: a clear error naming them, nothing changed."""
    from davserver.db import SchemaMismatch

    db = Database(url)
    try:
        with db.engine.begin() as connection:
            connection.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT)"))
        with pytest.raises(SchemaMismatch, match=r"older version.*users\.display_name"):
            db.create_schema()
        with db.engine.connect() as connection:  # rolled back: left as it was
            assert inspect(connection).get_table_names() == ["users"]
    finally:
        db.dispose()


def test_db_command_reports_and_upgrades(url: str, tmp_path: Path) -> None:
    def db(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "davserver.cli", "db", *args], capture_output=True,
            text=True, timeout=120, cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "DAVSERVER_DATABASE_URL": url,
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
    """Revisions 0011 and 0012 (issue 18): a space of 0009 with a file of 10 bytes
    whose dead properties are 1 name and value, and a reservation left by an upload:
    after the upgrade the node's ``props_bytes`` is their exact size, the space's usage
    counts them, and the reservation (no holder to ask) is gone."""
    from providers.properties import entry_bytes

    name, value = "{urn:x}note", '<note xmlns="urn:x">été</note>'
    db = Database(url)
    try:
        _upgrade(db, "0009")
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
