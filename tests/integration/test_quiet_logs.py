"""Expected outcomes are one log line, tracebacks are for our bugs (STYLE.md habit 8).

A live server logging at INFO gets a set of requests that real clients meet every day
and that the server refuses on purpose: 507 over quota (with and without
``Content-Length``, Finder's size hint), 401, 403, 404, 405, 409, 412, 413, 415, 423,
400 for bad XML and a bad ``Depth``, 502 for a foreign ``Destination``, 304. The log
written meanwhile holds exactly one line per request (its request line, at INFO), no
WARNING or ERROR, and no traceback. Then a real fault that no client can cause (a
table of the server's database renamed behind its back) still logs its traceback.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import Server, running_server
from tests.curl import Curl

pytestmark = pytest.mark.clients

QUOTA = 1024 * 1024  # bytes of alice's porte-documents


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("logs"),
                        extra_env={"DAVSERVER_LOGGING__LEVEL": "INFO",
                                   "DAVSERVER_QUOTAS__DOCUMENTS": str(QUOTA),
                                   "DAVSERVER_DAV__MAX_XML_BODY": "4096"},
                        users={"alice": "teacher"}) as srv:
        yield srv


@pytest.fixture
def curl(server: Server, tmp_path: Path) -> Curl:
    return Curl(server, tmp_path)


def log_since(server: Server, offset: int) -> list[str]:
    assert server.log_path is not None
    return server.log_path.read_bytes()[offset:].decode(errors="replace").splitlines()


def log_size(server: Server) -> int:
    assert server.log_path is not None
    return server.log_path.stat().st_size


def test_expected_refusals_log_one_line_each(server: Server, curl: Curl,
                                             tmp_path: Path) -> None:
    folder = f"{server.documents_url}/logs-{uuid.uuid4().hex[:8]}"
    assert curl.code("-X", "MKCOL", folder + "/") == 201
    assert curl.code("-X", "PUT", "--data-binary", "kept", f"{folder}/f.txt") == 201
    status, token = curl.lock(f"{folder}/locked.txt")
    assert status == 201
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (2 * QUOTA))
    etag = curl.etag(f"{folder}/f.txt")
    offset = log_size(server)

    expected = [
        (507, ("-T", str(big), f"{folder}/big.bin")),
        (507, ("-T", str(big), "-H", "Transfer-Encoding: chunked", f"{folder}/chunked.bin")),
        (507, ("-T", str(big), "-H", "Transfer-Encoding: chunked", "-H",
               f"X-Expected-Entity-Length: {2 * QUOTA}", f"{folder}/finder.bin")),
        (403, ("-X", "PUT", "--data-binary", "x", f"{server.dav_url}/x.txt")),
        (403, ("-X", "DELETE", f"{server.dav_url}/corbeille/")),
        (404, (f"{folder}/absent.txt",)),
        (404, ("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/absent/")),
        (405, ("-X", "MKCOL", f"{folder}/")),
        (409, ("-X", "PUT", "--data-binary", "x", f"{folder}/missing/x.txt")),
        (409, ("-X", "MKCOL", f"{folder}/missing/deeper/")),
        (412, ("-X", "PUT", "--data-binary", "x", "-H", 'If-Match: "stale"', f"{folder}/f.txt")),
        (412, ("-X", "PUT", "--data-binary", "x", "-H", "If-Match: *", f"{folder}/new.txt")),
        (304, ("-H", f"If-None-Match: {etag}", f"{folder}/f.txt")),
        (423, ("-X", "PUT", "--data-binary", "x", f"{folder}/locked.txt")),
        (423, ("-X", "DELETE", f"{folder}/locked.txt")),
        (400, ("-X", "PROPFIND", "-H", "Depth: 1", "--data", "<D:propfind xmlns:D='DAV:'><bad",
               f"{folder}/")),
        (400, ("-X", "PROPFIND", "-H", "Depth: 2", f"{folder}/")),
        (413, ("-X", "PROPFIND", "-H", "Depth: 1", "--data", "<a>" + "x" * 8192 + "</a>",
               f"{folder}/")),
        (415, ("-X", "MKCOL", "--data", "body", f"{folder}/withbody/")),
        (502, ("-X", "MOVE", "-H", "Destination: https://elsewhere.example/dav/x.txt",
               f"{folder}/f.txt")),
        (400, (f"{server.dav_url}/porte-documents/%ff.txt",)),
    ]
    for status, args in expected:
        assert curl.code(*args) == status, args
    server.users["mallory"] = "guess"  # no such user: 401
    assert curl("-X", "PROPFIND", "-H", "Depth: 0", folder + "/", user="mallory").status == 401
    assert curl.code("-X", "UNLOCK", "-H", f"Lock-Token: <{token}>",
                     f"{folder}/locked.txt") == 204

    lines = log_since(server, offset)
    requests_sent = len(expected) + 2
    assert not [line for line in lines if "Traceback" in line], "\n".join(lines)
    assert not [line for line in lines if " WARNING " in line or " ERROR " in line], \
        "\n".join(lines)
    assert len(lines) <= requests_sent, "\n".join(lines)


def test_an_unexpected_fault_still_logs_its_traceback(server: Server, curl: Curl) -> None:
    """The trash's table renamed behind the server's back (no client can do that): a
    DELETE fails with 500, and the log has the traceback that says where."""
    folder = f"{server.documents_url}/fault-{uuid.uuid4().hex[:8]}"
    assert curl.code("-X", "MKCOL", folder + "/") == 201
    assert curl.code("-X", "PUT", "--data-binary", "x", f"{folder}/f.txt") == 201
    offset = log_size(server)
    with server.transaction() as session:
        session.execute(text("ALTER TABLE trash_items RENAME TO trash_items_gone"))
    try:
        assert curl.code("-X", "DELETE", f"{folder}/f.txt") == 500
    finally:
        with server.transaction() as session:
            session.execute(text("ALTER TABLE trash_items_gone RENAME TO trash_items"))
    logged = "\n".join(log_since(server, offset))
    assert "Traceback" in logged
    assert "trash_items" in logged
    assert curl.code("-X", "DELETE", f"{folder}/f.txt") == 204  # and the server serves on
