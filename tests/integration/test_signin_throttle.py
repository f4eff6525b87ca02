"""The sign-in throttle against a real server (issue 18, item 4): Basic auth on
``/dav/`` and the web form, per login and client address (clients on 127.0.0.1 and
127.0.0.2), the doubling periods, the reset on success, the CLI, and a good sign-in
during a flood of bad ones.

Periods are shortened by configuration (``auth.throttle_period`` 1 s, at most 4 s) so
that the doubling is seen in seconds; waits are durations, not dates.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD, Server, running_server
from tests.web import WebClient, csrf_token, from_address

PERIOD = 1.0  # seconds, DAVSERVER_AUTH__THROTTLE_PERIOD below
MAX_PERIOD = 4.0
OTHER = "127.0.0.2"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("throttle"), extra_env={
            "DAVSERVER_AUTH__THROTTLE_PERIOD": str(PERIOD),
            "DAVSERVER_AUTH__THROTTLE_MAX": str(MAX_PERIOD),
            "DAVSERVER_LOGGING__LEVEL": "INFO"},
            users={"alice": "teacher", "bob": "teacher", "carol": "teacher"}) as server:
        yield server


def dav(server: Server, login: str, password: str, source: str | None = None,
        timeout: float = 30) -> requests.Response:
    """PROPFIND Depth 0 of ``/dav/`` with Basic credentials, from ``source``."""
    http = requests.Session()
    if source:
        from_address(http, source)
    return http.request("PROPFIND", server.dav_url + "/", auth=(login, password),
                        headers={"Depth": "0"}, timeout=timeout)


def fail_until_throttled(server: Server, login: str, period: int = 1) -> None:
    """Five wrong passwords from 127.0.0.1: each 401, then the pair is refused."""
    for _ in range(5):
        assert dav(server, login, "wrong-password").status_code == 401
    refused = dav(server, login, "wrong-password")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(period)


def test_dav_throttle_doubles_spares_other_addresses_and_resets(srv: Server) -> None:
    fail_until_throttled(srv, "alice")
    assert dav(srv, "alice", PASSWORD).status_code == 429  # even the right password
    assert dav(srv, "alice", PASSWORD, source=OTHER).status_code == 207
    assert dav(srv, "bob", PASSWORD).status_code == 207  # another login, same address

    retry_after = [1]
    for _ in range(3):  # each further failure doubles the period, up to MAX_PERIOD
        time.sleep(retry_after[-1] + 0.1)
        assert dav(srv, "alice", "wrong-password").status_code == 401
        refused = dav(srv, "alice", "wrong-password")
        assert refused.status_code == 429
        retry_after.append(int(refused.headers["Retry-After"]))
    assert retry_after == [1, 2, 4, 4]

    time.sleep(MAX_PERIOD + 0.1)
    assert dav(srv, "alice", PASSWORD).status_code == 207  # a success resets the count
    for _ in range(4):
        assert dav(srv, "alice", "wrong-password").status_code == 401
    assert dav(srv, "alice", PASSWORD).status_code == 207

    log = srv.log_path.read_text() if srv.log_path else ""
    assert "WARNING davserver.auth: sign-in throttle: 'alice' from 127.0.0.1 refused " \
        "for 1 s after 5 consecutive failures" in log


def test_web_form_is_throttled_per_address(srv: Server) -> None:
    here, there = WebClient(srv), WebClient(srv, source=OTHER)
    for _ in range(5):
        answer = here.login("carol", "wrong-password")
        assert answer.status_code == 200
    refused = here.login("carol", PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert "Trop de tentatives de connexion échouées" in refused.text
    assert there.login("carol", PASSWORD).status_code == 302
    assert there.get("/textbook/").status_code == 200
    time.sleep(PERIOD + 0.1)
    assert here.login("carol", PASSWORD).status_code == 302


def test_cli_lists_and_resets(tmp_path: Path) -> None:
    """With the default period (30 s): the reset lifts a refusal at once."""
    with running_server(tmp_path, users={"dave": "teacher"}) as srv:
        _list_and_reset(srv)


def _list_and_reset(srv: Server) -> None:
    fail_until_throttled(srv, "dave", period=30)
    listing = json.loads(srv.cli("auth", "throttle", "list", "dave", "--json").stdout)
    assert [(r["login"], r["address"], r["failures"]) for r in listing] == \
        [("dave", "127.0.0.1", 5)]
    assert listing[0]["refused_until"].endswith("UTC")
    assert "dave\t127.0.0.1\t5\t" in srv.cli("auth", "throttle", "list").stdout

    reset = srv.cli("auth", "throttle", "reset", "dave")
    assert reset.stdout.strip() == "reset 1 throttle row(s) of dave"
    assert dav(srv, "dave", PASSWORD).status_code == 207  # at once
    again = srv.cli("auth", "throttle", "reset", "dave", check=False)
    assert again.returncode == 1
    assert "no failed sign-ins recorded for dave" in again.stdout
    assert srv.cli("auth", "throttle", "list", "dave").stdout.strip() == \
        "no failed sign-ins recorded"


def test_a_flood_of_bad_sign_ins_does_not_queue_a_good_one(srv: Server) -> None:
    """30 parallel wrong passwords for 30 logins (a password spray: every one costs
    an argon2 check) from 127.0.0.1, repeated while a good sign-in from 127.0.0.2 is
    timed: it answers within 1 s of its normal time. Takes about 10 s (the flood)."""
    logins = iter(_new_users(srv, 6))
    normal = statistics.median(_timed_good_sign_in(srv, next(logins)) for _ in range(3))
    stop = threading.Event()
    statuses: list[int] = []

    def flood(n: int) -> None:
        while not stop.is_set():
            login = f"spray-{n}-{uuid.uuid4().hex[:6]}"
            statuses.append(dav(srv, login, "guess-password").status_code)

    threads = [threading.Thread(target=flood, args=(n,)) for n in range(30)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)  # the flood is under way
        during = [_timed_good_sign_in(srv, next(logins)) for _ in range(3)]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert len(statuses) >= 30 and set(statuses) <= {401, 429}
    assert max(during) <= normal + 1.0, (normal, during)


def _new_users(srv: Server, count: int) -> list[str]:
    """``count`` new teachers (never signed in: their first sign-in is a full check)."""
    import acl

    logins = [f"good-{uuid.uuid4().hex[:8]}" for _ in range(count)]
    with srv.transaction() as s:
        for login in logins:
            acl.create_user(s, login, PASSWORD, "teacher")
    return logins


def _timed_good_sign_in(srv: Server, login: str) -> float:
    """Seconds of the web sign-in of ``login`` from 127.0.0.2 (its first: a full
    argon2 check)."""
    client = WebClient(srv, source=OTHER)
    form = client.get("/login")
    started = time.monotonic()
    answer = client.post("/login", {"csrf_token": csrf_token(form.text), "login": login,
                                    "password": PASSWORD, "next": ""})
    elapsed = time.monotonic() - started
    assert answer.status_code == 302
    return elapsed


def test_unknown_logins_are_throttled_like_known_ones(srv: Server) -> None:
    """A lockout tells nothing about which logins exist."""
    fail_until_throttled(srv, "nobody-" + uuid.uuid4().hex[:6])
