"""A server and the commands a test starts read the test's clock (``DAVSERVER_CLOCK_SHIFT``
passed on by :func:`tests.conftest.make_server`): a file's modification time, a trash
item's deletion time and the test's ``clock.now()`` agree; the server says in its log
that its clock is shifted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest

from davserver import clock
from tests.conftest import Server, running_server

pytestmark = pytest.mark.clock("2030-01-15T10:00 Europe/Paris")


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("clock"), users={"alice": "teacher"}) as server:
        yield server


def test_the_server_and_its_commands_read_the_tests_clock(srv: Server) -> None:
    alice = srv.session("alice")
    url = f"{srv.documents_url}/daté.txt"
    assert alice.put(url, data=b"x", timeout=30).status_code == 201
    modified = parsedate_to_datetime(alice.head(url, timeout=30).headers["Last-Modified"])
    assert abs(modified - clock.now()) < timedelta(minutes=2), modified
    assert modified.year == 2030

    assert alice.delete(url, timeout=30).status_code == 204
    listed = json.loads(srv.cli("trash", "list", "--json").stdout)
    assert [row["deleted_at"][:13] for row in listed] == [
        clock.now().strftime("%Y-%m-%dT%H")], listed

    assert srv.log_path is not None
    log = srv.log_path.read_text()
    assert "the clock reads 2030-01-15T09:0" in log and "for tests only" in log, log
