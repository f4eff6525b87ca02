"""``davserver trash list|restore|purge`` against a real server's database (issue 8):
retention respected, restore to the original place or elsewhere, quota freed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from davserver import clock
from providers.models import TrashItem
from tests.conftest import Server, running_server
from tests.integration.rubric_kit import (
    cli,
    cli_ok,
    cli_refused,
    put,
    trash_bytes,
    used_bytes,
)

DAY = 86400


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("trashcli"),
                        users={"alice": "teacher", "bob": "student"}) as server:
        yield server


def _deleted(srv: Server, login: str, data: bytes) -> tuple[str, str]:
    """Upload then DELETE a file; returns (its URL, its path in the space)."""
    name = f"f-{uuid.uuid4().hex[:8]}.txt"
    url = f"{srv.documents_url}/{name}"
    session = srv.session(login)
    assert put(session, url, data) == 201
    assert session.delete(url).status_code == 204
    return url, "/" + name


def _listing(srv: Server, *args: str) -> list[dict[str, Any]]:
    return json.loads(cli_ok(srv, "trash", "list", "--json", *args))  # type: ignore[no-any-return]


def _age(srv: Server, item_id: int, days: float) -> None:
    """Pretend the item was deleted ``days`` ago (the test sets the time in the
    database, as the clock would)."""
    with srv.transaction() as s:
        s.execute(update(TrashItem).where(TrashItem.id == item_id)
                  .values(deleted_at=clock.time() - days * DAY))


@pytest.mark.time_sensitive
def test_purge_keeps_items_younger_than_the_retention(srv: Server) -> None:
    _, old_path = _deleted(srv, "alice", b"o" * 700)
    _, new_path = _deleted(srv, "alice", b"n" * 300)
    rows = {r["original_path"]: r for r in _listing(srv, "--user", "alice")}
    assert rows[old_path]["deleted_by"] == "alice" and rows[old_path]["size"] == 700
    assert rows[new_path]["space"] == "alice (documents)"
    _age(srv, rows[old_path]["id"], 31)
    before, in_trash = used_bytes(srv, "alice"), trash_bytes(srv, "alice")

    out = cli_ok(srv, "trash", "purge")  # default: trash.retention_days (30)
    assert "purged 1 item(s)" in out and "700 bytes" in out
    left = {r["original_path"] for r in _listing(srv, "--space", "alice")}
    assert new_path in left and old_path not in left
    assert trash_bytes(srv, "alice") == in_trash - 700
    assert used_bytes(srv, "alice") == before  # freed by the delete already (issue 17)
    assert "fsck: clean" in srv.cli("fsck").stdout


@pytest.mark.time_sensitive
def test_purge_older_than_and_all(srv: Server) -> None:
    _, path = _deleted(srv, "bob", b"b" * 50)
    item = next(r for r in _listing(srv, "--user", "bob") if r["original_path"] == path)
    # A negative age would purge what was deleted a minute ago: refused, nothing purged.
    assert "0 or more days" in cli_refused(srv, "trash", "purge", "--older-than", "-5")
    assert any(r["id"] == item["id"] for r in _listing(srv, "--user", "bob"))
    _age(srv, item["id"], 3)
    assert "purged 0 item(s)" in cli_ok(srv, "trash", "purge", "--older-than", "4")
    assert "purged 1 item(s)" in cli_ok(srv, "trash", "purge", "--older-than", "2")
    _deleted(srv, "bob", b"c")
    cli_ok(srv, "trash", "purge", "--all")
    assert _listing(srv, "--user", "bob") == []
    assert used_bytes(srv, "bob") == 0


def test_restore_to_the_original_place_or_elsewhere(srv: Server) -> None:
    alice = srv.session("alice")
    url, path = _deleted(srv, "alice", b"first")
    item = next(r for r in _listing(srv) if r["original_path"] == path)
    assert put(alice, url, b"someone took the name") == 201
    assert "exists" in cli_refused(srv, "trash", "restore", str(item["id"]))
    assert alice.get(url).content == b"someone took the name"  # nothing replaced

    other = path.replace(".txt", "-restored.txt")
    cli_ok(srv, "trash", "restore", str(item["id"]), "--to", other)
    assert alice.get(f"{srv.documents_url}{other}").content == b"first"

    url2, path2 = _deleted(srv, "alice", b"second")
    item2 = next(r for r in _listing(srv) if r["original_path"] == path2)
    out = cli_ok(srv, "trash", "restore", str(item2["id"]))
    assert f"restored {item2['id']}" in out
    assert alice.get(url2).content == b"second"

    url3, path3 = _deleted(srv, "alice", b"to bob")
    item3 = next(r for r in _listing(srv) if r["original_path"] == path3)
    before = used_bytes(srv, "bob")
    cli_ok(srv, "trash", "restore", str(item3["id"]), "--to", "bob:/from-alice.txt")
    assert srv.session("bob").get(f"{srv.documents_url}/from-alice.txt").content == b"to bob"
    assert used_bytes(srv, "bob") == before + len(b"to bob")


def test_bad_input_is_refused_with_a_message(srv: Server) -> None:
    assert "no item" in cli_refused(srv, "trash", "restore", "999999")
    assert "no user" in cli_refused(srv, "trash", "list", "--user", "nobody")
    _, path = _deleted(srv, "alice", b"x")
    item = next(r for r in _listing(srv) if r["original_path"] == path)
    assert "PATH" in cli_refused(srv, "trash", "restore", str(item["id"]), "--to", "nowhere")
    done = cli(srv, "trash", "purge", "--all", "--older-than", "3")
    assert done.returncode == 2  # argparse: mutually exclusive
