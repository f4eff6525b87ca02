"""Two server processes on the same SQLite database and blob directory (issue 22: the
cache of path resolutions must be correct across processes). Each caches the paths
it resolved; a write through either one, or through a ``davserver`` command, is seen
through the other by the very next request: the bound is zero, because a commit is
counted as begun just before it and as ended just after it, before its request is
answered (``davserver.db.WriteCounter``).

SQLite only: PostgreSQL servers cache nothing (``Database.read_rows``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import Server, running_server

pytestmark = pytest.mark.one_database  # the cache exists on SQLite only


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    with running_server(tmp_path_factory.mktemp("pair"), users={"alice": "teacher"}) as one:
        other = Server(data_dir=one.data_dir, env=one.env, users=dict(one.users))
        other.start()
        try:
            yield one, other
        finally:
            other.stop()


def _get(server: Server, path: str) -> requests.Response:
    return server.session("alice").get(f"{server.documents_url}/{path}")


def test_each_write_through_one_is_seen_through_the_other_at_once(
        pair: tuple[Server, Server]) -> None:
    one, other = pair
    alice = one.session("alice")
    assert alice.request("MKCOL", f"{one.documents_url}/cache/").status_code == 201
    assert alice.put(f"{one.documents_url}/cache/a.txt", data=b"first").status_code == 201
    for _ in range(3):  # resolved, then answered from the other's cache
        assert _get(other, "cache/a.txt").content == b"first"

    assert alice.put(f"{one.documents_url}/cache/a.txt", data=b"second").status_code == 204
    assert _get(other, "cache/a.txt").content == b"second"

    moved = alice.request("MOVE", f"{one.documents_url}/cache/a.txt",
                          headers={"Destination": f"{one.documents_url}/cache/b.txt"})
    assert moved.status_code == 201
    assert _get(other, "cache/a.txt").status_code == 404
    assert _get(other, "cache/b.txt").content == b"second"

    # and the other way round, onto what the first process has cached
    assert _get(one, "cache/b.txt").content == b"second"
    assert other.session("alice").delete(f"{other.documents_url}/cache/b.txt").status_code == 204
    assert _get(one, "cache/b.txt").status_code == 404


def test_a_command_s_write_is_seen_by_the_next_request(pair: tuple[Server, Server]) -> None:
    """``davserver`` commands are processes of their own: a file a school's IT staff
    put back from the trash on the command line is served at once."""
    one, other = pair
    alice = one.session("alice")
    assert alice.put(f"{one.documents_url}/restored.txt", data=b"kept").status_code == 201
    assert _get(other, "restored.txt").content == b"kept"
    assert alice.delete(f"{one.documents_url}/restored.txt").status_code == 204
    assert _get(other, "restored.txt").status_code == 404  # now cached as missing
    listed = json.loads(one.cli("trash", "list", "--space", "alice", "--json").stdout)
    item = next(entry["id"] for entry in listed if "restored.txt" in str(entry))
    one.cli("trash", "restore", str(item))
    assert _get(other, "restored.txt").content == b"kept"
