"""Schema migrations (davserver/migrations): the chain of revisions builds exactly the
schema the models declare, a database made before migrations is adopted without
losing a row, and ``davserver db`` reports and upgrades — on SQLite and, when
configured, on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
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
    pg_url, name = fresh_database_url(tmp_path, schema=False)
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


def test_existing_folders_get_an_etag_and_files_keep_theirs(url: str) -> None:
    """0013: folders made before had no ETag (sync apps compare them to skip a listing);
    each gets one of its own, files keep theirs."""
    db = Database(url)
    try:
        _upgrade(db, "0009")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO spaces (id, key, kind, created) VALUES "
                                    "(1, 'documents-1', 'documents', 0)"))
            for nid, parent, name, folder, etag in ((1, None, "", True, None),
                                                    (2, 1, "cours", True, None),
                                                    (3, 2, "a.txt", False, "f-a")):
                connection.execute(text(
                    "INSERT INTO nodes (id, space_id, parent_id, name, path, is_collection, "
                    "size, etag, created, modified, dead_props, published) VALUES (:id, 1, "
                    ":parent, :name, :path, :folder, 0, :etag, 0, 0, '{}', :yes)"),
                    {"id": nid, "parent": parent, "name": name, "path": f"/{name}",
                     "folder": folder, "etag": etag, "yes": True})
        _upgrade(db, "0013")
        with db.engine.connect() as connection:
            tags = dict(connection.execute(text("SELECT id, etag FROM nodes")).all())
            assert inspect(connection).has_table("chunked_uploads")
        assert tags[3] == "f-a"
        assert tags[1] and tags[2] and tags[1] != tags[2]
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
    """Revisions 0016 and 0017 (issue 18): a space of 0009 with a file of 10 bytes
    whose dead properties are 1 name and value, a trashed file of 20 bytes with the same
    property, and a reservation left by an upload: after the upgrade each node's
    ``props_bytes`` is their exact size, the space's used bytes count the live file's
    (0010 took the trashed file out of them), its trash bytes and the trash item's size
    the trashed file's, and the reservation (no holder to ask) is gone."""
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
                "(2, 1, 1, 'a.txt', '/a.txt', :no, 10, 0, 0, :props, :yes), "
                "(3, 1, NULL, 'b.txt', '#trash/1', :no, 20, 0, 0, :props, :yes)"),
                {"yes": True, "no": False, "props": json.dumps({name: value})})
            connection.execute(text(
                "INSERT INTO trash_items (id, space_id, node_id, name, original_path, "
                "is_collection, size, deleted_by, deleted_at) "
                "VALUES (1, 1, 3, 'b.txt', '/b.txt', :no, 20, NULL, 0)"), {"no": False})
            connection.execute(text(
                "INSERT INTO space_usage (space_id, kind, used_bytes, reserved_bytes) "
                "VALUES (1, 'documents', 30, 5000)"))
        _upgrade(db, "head")
        with db.engine.connect() as connection:
            sizes = dict(connection.execute(text("SELECT id, props_bytes FROM nodes")).all())
            used, reserved, trash = connection.execute(text(
                "SELECT used_bytes, reserved_bytes, trash_bytes FROM space_usage")).one()
            item = connection.execute(text("SELECT size FROM trash_items")).scalar()
        props = entry_bytes(name, value)
        assert sizes == {1: 0, 2: props, 3: props}
        assert (used, reserved, trash) == (10 + props, 0, 20 + props)
        assert item == 20 + props
    finally:
        db.dispose()


def test_0010_keeps_nfc_names_as_written_and_takes_the_trash_out_of_the_usage(
        url: str, tmp_path: Path) -> None:
    """Issue 17's migration on rows a 0009 database holds: every name's NFC spelling
    becomes its written one, and a space's trashed bytes leave its used bytes for its
    trash bytes; the store then reads it as it wrote it, and fsck finds nothing."""
    from providers import LocalBlobStore, Store, fsck

    db = Database(url)
    try:
        _upgrade(db, "0009")
        now = 1_790_000_000.0
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO spaces (id, key, kind, owner_id, rubric_id, created) "
                           "VALUES (1, 'rubric:1', 'rubric', NULL, 1, :t)"), {"t": now})
            c.execute(text("INSERT INTO space_usage (space_id, kind, profile, used_bytes, "
                           "reserved_bytes, limit_bytes) VALUES (1, 'rubric', NULL, 0, 0, "
                           "NULL)"))
            nodes = [(1, None, "", "", True, 0), (2, 1, "Été", "/Été", True, 0),
                     (3, 2, "élève.txt", "/Été/élève.txt", False, 0),
                     (4, None, "jeté.txt", "#trash/1", False, 0)]
            for nid, parent, name, path, folder, size in nodes:
                c.execute(text(
                    "INSERT INTO nodes (id, space_id, parent_id, name, path, is_collection, "
                    "size, created, modified, dead_props, published) VALUES (:i, 1, :p, :n, "
                    ":path, :f, :s, :t, :t, '{}', :yes)"),
                    {"i": nid, "p": parent, "n": name, "path": path, "f": folder, "s": size,
                     "t": now, "yes": True})
            c.execute(text("INSERT INTO trash_items (id, space_id, node_id, name, "
                           "original_path, is_collection, size, deleted_by, deleted_at) "
                           "VALUES (1, 1, 4, 'jeté.txt', '/jeté.txt', :no, 0, NULL, :t)"),
                      {"no": False, "t": now})
            # 0 bytes each (no blob files to make); the ledger counted the trash then.
        _upgrade(db, "head")
        with db.engine.connect() as c:
            rows = c.execute(text("SELECT name, written_name, path, written_path FROM nodes "
                                  "ORDER BY id")).all()
            assert [(r[0] == r[1], r[2] == r[3]) for r in rows] == [(True, True)] * 4
            assert c.execute(text("SELECT trash_bytes FROM space_usage")).scalar() == 0
        store = Store(db, LocalBlobStore(tmp_path / "blobs"))
        found = store.resolve(1, unicodedata.normalize("NFD", "/Été/élève.txt"))
        assert found is not None and found.name == "élève.txt"
        assert found.written_path == "/Été/élève.txt"
        assert fsck(store).clean, fsck(store).lines()
    finally:
        db.dispose()


def test_0010_moves_trashed_bytes_out_of_the_used_bytes(url: str) -> None:
    db = Database(url)
    try:
        _upgrade(db, "0009")
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO spaces (id, key, kind, owner_id, rubric_id, created) "
                           "VALUES (1, 'rubric:1', 'rubric', NULL, 1, 0)"))
            c.execute(text("INSERT INTO space_usage (space_id, kind, profile, used_bytes, "
                           "reserved_bytes, limit_bytes) VALUES (1, 'rubric', NULL, 1000, 0, "
                           "NULL)"))
            c.execute(text("INSERT INTO nodes (id, space_id, parent_id, name, path, "
                           "is_collection, size, created, modified, dead_props, published) "
                           "VALUES (1, 1, NULL, 'x', '#trash/1', :no, 300, 0, 0, '{}', :yes)"),
                      {"no": False, "yes": True})
            c.execute(text("INSERT INTO trash_items (id, space_id, node_id, name, "
                           "original_path, is_collection, size, deleted_by, deleted_at) "
                           "VALUES (1, 1, 1, 'x', '/x', :no, 300, NULL, 0)"), {"no": False})
        _upgrade(db, "head")
        with db.engine.connect() as c:
            assert c.execute(text("SELECT used_bytes, trash_bytes FROM space_usage")).one() \
                == (700, 300)
    finally:
        db.dispose()


def _downgrade(db: Database, target: str) -> None:
    with db.engine.connect().execution_options(davserver_write=True) as connection, \
            connection.begin():
        command.downgrade(migrations.alembic_config(connection), target)


def test_0026_is_not_downgraded_while_activities_are_in_the_corbeille(url: str) -> None:
    """Downgrading 0026 drops ``trashed_activities``: an activity in the corbeille would
    be shown again to everyone, and deleting it there could not free its attachments'
    files and charges. Refused, naming the count and what to do, nothing changed;
    once the corbeille holds no activity, the downgrade runs."""
    from alembic.util import CommandError

    db = Database(url)
    try:
        _upgrade(db, "0026")
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO schools (id, name, time_zone) "
                           "VALUES (1, 'Collège', 'Europe/Paris')"))
            c.execute(text("INSERT INTO users (id, login, display_name, profile, "
                           "password_hash, disabled, school_id, created) VALUES (1, 'ann', "
                           "'Ann', 'teacher', 'x', :no, 1, CURRENT_TIMESTAMP)"), {"no": False})
            c.execute(text("INSERT INTO groups (id, school_id, name, kind) "
                           "VALUES (1, 1, '4B', 'class')"))
            c.execute(text("INSERT INTO subjects (id, school_id, code, name) "
                           "VALUES (1, 1, 'MATHS', 'Mathématiques')"))
            c.execute(text("INSERT INTO teaching_services (id, school_id, group_id, "
                           "subject_id, label) VALUES (1, 1, 1, 1, '')"))
            c.execute(text("INSERT INTO lessons (id, service_id, start, \"end\", room, status, "
                           "source, created) VALUES (1, 1, '2026-12-07 08:00:00', "
                           "'2026-12-07 09:00:00', '', 'scheduled', 'manual', "
                           "CURRENT_TIMESTAMP)"))
            for activity in (1, 2):
                c.execute(text(
                    "INSERT INTO activities (id, lesson_id, kind, title, body, private_note, "
                    "position, online_submission, created_by, created, updated) VALUES "
                    "(:id, 1, 'content', 'Cours', '', '', :id, :no, 1, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"), {"id": activity, "no": False})
            c.execute(text("INSERT INTO trashed_activities (activity_id, deleted, deleted_by) "
                           "VALUES (2, CURRENT_TIMESTAMP, 1)"))
        with pytest.raises(CommandError, match=r"1 activity is in the textbook's "
                                               r"corbeille.*restore them or delete them"):
            _downgrade(db, "0025")
        with db.engine.connect() as c:
            assert migrations.current_revision(c) == "0026"
            assert c.execute(text("SELECT activity_id FROM trashed_activities")).scalars() \
                .all() == [2]
        with db.engine.begin() as c:  # its teacher deleted it for good
            c.execute(text("DELETE FROM trashed_activities"))
            c.execute(text("DELETE FROM activities WHERE id = 2"))
        _downgrade(db, "0025")
        with db.engine.connect() as c:
            assert migrations.current_revision(c) == "0025"
            assert not inspect(c).has_table("trashed_activities")
            assert c.execute(text("SELECT id FROM activities")).scalars().all() == [1]
    finally:
        db.dispose()


def test_0028_indexes_nodes_for_rubric_pages_and_drops_them_going_down(url: str) -> None:
    """A rubric's latest contributions read its files in ``(space_id, modified)``
    order, its access tabs its folders only: 0028 adds both indexes (the second
    partial: folders only) and drops the one on ``space_id`` alone, which the first
    begins with; its downgrade puts things back."""
    db = Database(url)
    try:
        _upgrade(db, "0026")

        def indexes() -> dict[str, list[str]]:
            with db.engine.connect() as c:
                return {i["name"]: i["column_names"] for i in inspect(c).get_indexes("nodes")
                        if i["name"]}

        assert not {"ix_nodes_space_modified", "ix_nodes_space_folders"} & set(indexes())
        assert indexes()["ix_nodes_space"] == ["space_id"]
        _upgrade(db, "0028")
        assert indexes()["ix_nodes_space_modified"] == ["space_id", "modified"]
        assert indexes()["ix_nodes_space_folders"] == ["space_id"]
        assert "ix_nodes_space" not in indexes()  # the first one begins with it
        _downgrade(db, "0026")
        assert not {"ix_nodes_space_modified", "ix_nodes_space_folders"} & set(indexes())
        assert indexes()["ix_nodes_space"] == ["space_id"]
    finally:
        db.dispose()


def test_0027_adds_the_home_layout_and_drops_it_going_down(url: str) -> None:
    """The home page's arrangement is one nullable column of ``user_preferences`` (no
    row changes: NULL is the default page); the downgrade drops it."""
    db = Database(url)
    try:
        def columns() -> set[str]:
            with db.engine.connect() as c:
                return {col["name"] for col in inspect(c).get_columns("user_preferences")}

        _upgrade(db, "0028")
        assert "home_layout" not in columns()
        _upgrade(db, "0027")
        assert "home_layout" in columns()
        _downgrade(db, "0028")
        assert "home_layout" not in columns()
    finally:
        db.dispose()


def test_0030_indexes_the_hand_in_blobs_and_drops_them_going_down(url: str) -> None:
    """Freeing a blob looks it up in every holder's table in one statement (issue 22):
    0030 indexes ``blob_id`` of ``handin_files`` and ``handin_corrections``, which had
    no index; its downgrade drops them."""
    db = Database(url)
    try:
        def indexed() -> set[str]:
            with db.engine.connect() as c:
                return {table for table in ("handin_files", "handin_corrections")
                        for i in inspect(c).get_indexes(table)
                        if i["column_names"] == ["blob_id"]}

        _upgrade(db, "0027")
        assert indexed() == set()
        _upgrade(db, "0030")
        assert indexed() == {"handin_files", "handin_corrections"}
        _downgrade(db, "0027")
        assert indexed() == set()
    finally:
        db.dispose()
