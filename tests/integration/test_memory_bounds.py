"""A 256 MiB PUT and GET go through a real server process without holding the body
in memory: the process's peak resident memory during each request grows by a few
MiB at most (issue 9). The bound is generous (32 MiB, an eighth of the body) so
that allocator noise cannot fail it, while buffering the body would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.client import Client, Endpoint, repeated_body
from benchmarks.memory import RssSampler
from tests.conftest import Server, running_server

# One database is enough: streaming memory, the database holds no body
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

MiB = 2**20
SIZE = 256 * MiB
BOUND = 32 * MiB


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("mem"), users={"alice": "teacher"},
                        extra_env={"DAVSERVER_QUOTAS__DOCUMENTS": "1GiB"}) as srv:
        yield srv


def test_big_put_and_get_stream(big_server: Server) -> None:
    assert big_server.proc is not None
    # http.client streams the body with its Content-Length and reads the answer
    # into one reused 1 MiB buffer, so only the server's memory moves.
    client = Client(Endpoint(big_server.documents_url + "/", "alice", big_server.users["alice"]))
    sampler = RssSampler(big_server.proc.pid, interval=0.01).start()
    try:
        client.request("PUT", "warm-up.bin", body=b"w" * MiB, expect=(201,))
        client.request("GET", "warm-up.bin", expect=(200,))
        with sampler.window() as put:
            client.request("PUT", "big.bin", body=repeated_body(SIZE, bytes(range(256)) * 4096),
                           headers={"Content-Length": str(SIZE)}, expect=(201,))
        with sampler.window() as get:
            _status, received = client.request("GET", "big.bin", expect=(200,))
        assert received == SIZE
    finally:
        sampler.stop()
        client.close()
    assert put["growth"] < BOUND, f"PUT grew the server by {put['growth'] / MiB:.1f} MiB"
    assert get["growth"] < BOUND, f"GET grew the server by {get['growth'] / MiB:.1f} MiB"


def test_sampler_sees_growth(tmp_path: Path) -> None:
    """The measure above can fail: a process that holds 64 MiB shows the growth."""
    import subprocess
    import sys

    script = ("import sys, time; sys.stdin.readline(); b = bytearray(64 * 2**20); "
              "b[::4096] = b'x' * len(b[::4096]); print('held', flush=True); time.sleep(5)")
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        sampler = RssSampler(proc.pid, interval=0.01).start()
        with sampler.window() as held:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "held"
        sampler.stop()
    finally:
        proc.kill()
        proc.wait()
    assert held["growth"] >= 60 * MiB
