"""``davserver.db.run_rows``: one Core statement run on the DBAPI cursor of a write
transaction, on SQLite and PostgreSQL — values through the types' bind processors,
driver errors as SQLAlchemy's, the statement seen by cursor listeners."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, exc, insert, select, update

from davserver.db import Database, run_rows, table_of
from providers import SpaceInfo
from providers.models import Blob, Node
from tests.unit.conftest import count_queries

_NODES = table_of(Node)
_INSERT = (insert(_NODES)
           .values({c: bindparam(c) for c in (
               "space_id", "parent_id", "name", "path", "written_name", "written_path",
               "is_collection", "size", "created", "modified", "dead_props", "props_bytes",
               "published")})
           .returning(_NODES.c.id, _NODES.c.size))
_BLOB = (insert(table_of(Blob))
         .values({c: bindparam(c) for c in ("key", "size", "sha1", "md5", "created")})
         .returning(table_of(Blob).c.id))


def _root_id(db: Database, space: SpaceInfo) -> int:
    with db.transaction(write=False) as s:
        found = s.scalar(select(Node.id).where(Node.space_id == space.id, Node.path == ""))
    assert found is not None
    return found


def _node(space: SpaceInfo, parent_id: int, name: str, **values: Any) -> dict[str, Any]:
    return {"space_id": space.id, "parent_id": parent_id, "name": name, "path": "/" + name,
            "written_name": name, "written_path": "/" + name, "is_collection": False,
            "size": 7, "created": 1.5, "modified": 2.5, "dead_props": {},
            "props_bytes": 0, "published": True, **values}


def test_an_insert_returns_its_row_and_stores_json_and_booleans(
        db: Database, space: SpaceInfo) -> None:
    props = {"{urn:x}note": "<x:note xmlns:x=\"urn:x\">été</x:note>"}
    parent = _root_id(db, space)
    with db.transaction() as s:
        rows = run_rows(s.connection(), _INSERT,
                        _node(space, parent, "a.txt", dead_props=props, published=False))
    assert len(rows) == 1 and rows[0][1] == 7
    with db.transaction(write=False) as s:
        node = s.get(Node, rows[0][0])
        assert node is not None
        assert (node.dead_props, node.published, node.is_collection) == (props, False, False)


def test_an_update_without_returning_gives_no_rows_and_changes_the_row(
        db: Database, space: SpaceInfo) -> None:
    parent = _root_id(db, space)
    change = update(_NODES).where(_NODES.c.id == bindparam("node")).values(
        published=bindparam("published"), dead_props=bindparam("dead_props"))
    with db.transaction() as s:
        node_id = run_rows(s.connection(), _INSERT, _node(space, parent, "b.txt"))[0][0]
        assert run_rows(s.connection(), change, {"node": node_id, "published": False,
                                                 "dead_props": {"k": "v"}}) == []
    with db.transaction(write=False) as s:
        row = s.execute(select(Node.published, Node.dead_props)
                        .where(Node.id == node_id)).one()
    assert tuple(row) == (False, {"k": "v"})


def test_a_driver_error_is_sqlalchemys_and_the_transaction_rolls_back(
        db: Database, space: SpaceInfo) -> None:
    blob = {"key": "k" * 40, "size": 1, "sha1": "a" * 40, "md5": "b" * 32, "created": 1.0}
    with pytest.raises(exc.IntegrityError), db.transaction() as s:
        run_rows(s.connection(), _BLOB, blob)
        run_rows(s.connection(), _BLOB, blob)  # the key is unique
    with db.transaction(write=False) as s:
        assert s.scalar(select(Blob.id).where(Blob.key == blob["key"])) is None


def test_listeners_see_the_statement_once(db: Database, space: SpaceInfo) -> None:
    parent = _root_id(db, space)
    with count_queries(db) as counter, db.transaction() as s:
        run_rows(s.connection(), _INSERT, _node(space, parent, "c.txt"))
    inserts = [q for q in counter.statements if q.startswith("INSERT INTO nodes")]
    assert len(inserts) == 1


def test_statements_it_cannot_run_are_refused_clearly(db: Database, space: SpaceInfo) -> None:
    expanding = select(_NODES.c.id).where(_NODES.c.id.in_(bindparam("ids", expanding=True)))
    defaulted = insert(_NODES).values(space_id=bindparam("space_id"))  # size: default=0
    with db.transaction() as s:
        with pytest.raises(TypeError, match="expanding"):
            run_rows(s.connection(), expanding, {"ids": [1]})
        with pytest.raises(TypeError, match="default"):
            run_rows(s.connection(), defaulted, {"space_id": space.id})
        with pytest.raises(exc.InvalidRequestError, match="node"):
            run_rows(s.connection(), select(_NODES.c.id).where(
                _NODES.c.id == bindparam("node")), {})
