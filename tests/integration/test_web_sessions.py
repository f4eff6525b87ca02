"""Server-side sessions across two server processes sharing one database (SQLite file
or PostgreSQL), issue 18 item 5: a session ended through process B (logout), or by a
command (disable, signout, a new password), is refused by process A at once; a
disabled user's DAV access stops within 5 s on both."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests

from tests.conftest import PASSWORD, Server, running_server
from tests.web import WebClient, csrf_token

DAV_BOUND = 5.0  # seconds: docs/architecture.md, "Sessions and revocation"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """Process A and process B on one data directory and database."""
    with running_server(tmp_path_factory.mktemp("sessions"),
                        users={"alice": "teacher", "bob": "teacher", "carol": "teacher",
                               "dan": "teacher", "eve": "teacher"}) as a:
        b = replace(a, proc=None, port=0, log_path=None)
        b.start()
        try:
            yield a, b
        finally:
            b.stop()


def signed_in(server: Server, login: str) -> WebClient:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    assert client.get("/textbook/").status_code == 200
    return client


def on(server: Server, client: WebClient) -> WebClient:
    """The same browser (cookies) talking to another process."""
    other = WebClient(server)
    other.http.cookies = client.http.cookies
    return other


def replay(server: Server, cookie: str) -> int:
    """Status of a page fetched with a copy of a session cookie."""
    http = requests.Session()
    return http.get(server.base_url + "/textbook/", cookies={"ent_session": cookie},
                    allow_redirects=False, timeout=30).status_code


def test_logout_through_b_ends_the_session_on_a(pair: tuple[Server, Server]) -> None:
    a, b = pair
    alice = signed_in(a, "alice")
    cookie = alice.http.cookies["ent_session"]
    assert replay(a, cookie) == 200 and replay(b, cookie) == 200
    via_b = on(b, alice)
    answer = via_b.post("/logout", {"csrf_token": csrf_token(via_b.get("/").text)})
    assert answer.status_code == 302
    assert replay(a, cookie) == 302  # the old cookie, replayed: signed out
    assert replay(b, cookie) == 302
    assert alice.get("/textbook/").status_code == 302


@pytest.mark.parametrize("command", [("user", "disable", "bob"),
                                     ("user", "signout", "carol"),
                                     ("user", "passwd", "dan", "--password-stdin")],
                         ids=["disable", "signout", "passwd"])
def test_a_command_ends_the_sessions_at_once(pair: tuple[Server, Server],
                                             command: tuple[str, ...]) -> None:
    a, b = pair
    login = command[2]
    on_a, on_b = signed_in(a, login), signed_in(b, login)
    a.cli(*command, stdin="another-password-1\n" if "passwd" in command else None)
    assert on_a.get("/textbook/").status_code == 302
    assert on_b.get("/textbook/").status_code == 302


def test_a_disabled_users_dav_access_stops_within_5_s(pair: tuple[Server, Server]) -> None:
    """Both processes have eve's credentials cached (``auth.cache_ttl`` 60 s)."""
    a, b = pair
    sessions = [(server, requests.Session()) for server in (a, b)]
    for server, http in sessions:
        http.auth = ("eve", PASSWORD)
        assert http.request("PROPFIND", server.dav_url + "/", headers={"Depth": "0"},
                            timeout=30).status_code == 207
        assert http.get(server.dav_url + "/porte-documents/", timeout=30).status_code \
            in (200, 403)  # a folder GET answers 403 with a hint, after sign-in
    a.cli("user", "disable", "eve")
    disabled = time.monotonic()
    stopped: dict[int, float] = {}
    while len(stopped) < 2 and time.monotonic() - disabled < DAV_BOUND + 2:
        for server, http in sessions:
            if server.port in stopped:
                continue
            status = http.request("PROPFIND", server.dav_url + "/", headers={"Depth": "0"},
                                  timeout=30).status_code
            if status == 401:
                stopped[server.port] = time.monotonic() - disabled
        time.sleep(0.05)
    assert len(stopped) == 2 and max(stopped.values()) <= DAV_BOUND, stopped


def test_session_expiry_is_renewed_without_a_write_per_request(
        pair: tuple[Server, Server]) -> None:
    """Ten pages in a row leave the session's row as it was (renewal is written at
    most every 5 minutes)."""
    import acl

    a, _ = pair
    alice = signed_in(a, "alice")
    with a.transaction() as s:
        before = {(w.id_hash, w.renewed, w.expires) for w in s.query(acl.WebSession)}
    for _ in range(10):
        assert alice.get("/textbook/").status_code == 200
    with a.transaction() as s:
        after = {(w.id_hash, w.renewed, w.expires) for w in s.query(acl.WebSession)}
    assert before == after
    assert any(len(h) == 64 for h, _, _ in after)  # SHA-256 hex, not the token
    assert alice.http.cookies["ent_session"] not in {h for h, _, _ in after}


def _rows(server: Server) -> dict[str, tuple[int | None, str | None]]:
    """id_hash → (user_id, data) of every web session."""
    import acl

    with server.transaction() as s:
        return {w.id_hash: (w.user_id, w.data) for w in s.query(acl.WebSession)}


def _sha(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def test_the_cookie_holds_the_session_id_only(pair: tuple[Server, Server]) -> None:
    """The cookie is the 43-character id, unsigned; the CSRF token is in the row, not
    in the cookie; a visitor's row is replaced at sign-in (no fixation)."""
    a, _ = pair
    visitor = WebClient(a)
    form = visitor.get("/login")
    before = visitor.http.cookies["ent_session"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", before), before
    rows = _rows(a)
    assert rows[_sha(before)][0] is None  # a visitor: no user yet
    assert "csrf_token" in (rows[_sha(before)][1] or "")
    assert visitor.post("/login", {"csrf_token": csrf_token(form.text), "login": "alice",
                                   "password": PASSWORD, "next": ""}).status_code == 302
    after = visitor.http.cookies["ent_session"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", after) and after != before
    rows = _rows(a)
    assert _sha(before) not in rows  # the visitor's row is gone
    assert rows[_sha(after)][0] is not None
    assert replay(a, before) == 302 and replay(a, after) == 200


def test_an_unknown_cookie_is_dropped(pair: tuple[Server, Server]) -> None:
    a, _ = pair
    for forged in ("A" * 43, "not-a-session", "x" * 4000):
        answer = requests.get(a.base_url + "/textbook/", cookies={"ent_session": forged},
                              allow_redirects=False, timeout=30)
        assert answer.status_code == 302
        dropped = answer.headers.get("Set-Cookie", "")
        assert dropped.startswith("ent_session=;") and "Max-Age=0" in dropped, dropped


def test_a_message_flashed_on_b_is_shown_on_a(pair: tuple[Server, Server]) -> None:
    """Flashed messages live in the row: the revocation notice of an app password,
    flashed by process B, is shown by process A's next page, once."""
    a, b = pair
    alice = signed_in(b, "alice")
    page = alice.get("/account/")
    made = alice.post("/account/app-passwords", {"csrf_token": csrf_token(page.text),
                                                 "label": "Clé de session"})
    assert made.status_code == 200
    ident = re.search(r'data-id="(\d+)"', made.text)
    assert ident
    assert alice.post(f"/account/app-passwords/{ident.group(1)}/revoke",
                      {"csrf_token": csrf_token(made.text)}).status_code == 302
    via_a = on(a, alice)
    assert "est révoqué" in via_a.get("/account/").text
    assert "est révoqué" not in via_a.get("/account/").text
