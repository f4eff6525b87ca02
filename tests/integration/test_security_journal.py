"""The security journal against a real server (issue 18, item 8): what is recorded
(sign-ins, failures, throttling, grants, invitations, publication, deletes and purges
in rubric spaces, user commands), read back by ``davserver audit`` and by the head's
``/journal/`` page; the purge; and a sign-in that succeeds while the journal's table
cannot be written."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lxml import html
from sqlalchemy import text

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.web import WebClient


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("journal"),
                        users={"alice": "teacher", "bob": "student", "hélène": "head",
                               "zoe": "student"}) as server:
        with server.transaction() as s:
            acl.add_school(s, "Collège Jean Moulin", uai="0330001X")
        server.cli("rubric", "add", "cdi", "--name", "CDI")
        yield server


def audit(server: Server, *args: str) -> list[dict[str, Any]]:
    return json.loads(server.cli("audit", "--json", *args).stdout)  # type: ignore[no-any-return]


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


def test_sign_ins_and_failures_are_recorded(srv: Server) -> None:
    assert requests.request("PROPFIND", srv.dav_url + "/", auth=("bob", "wrong-password"),
                            headers={"Depth": "0"}, timeout=30).status_code == 401
    assert WebClient(srv).login("bob", PASSWORD).status_code == 302
    events = audit(srv, "--user", "bob")
    assert kinds(events)[:2] == ["sign_in", "sign_in_failed"]
    ok, failed = events[0], events[1]
    assert (ok["outcome"], ok["via"], ok["address"], ok["method"]) == \
        ("success", "web", "127.0.0.1", "password")
    assert (failed["outcome"], failed["via"], failed["actor_login"]) == \
        ("failure", "dav", "bob")
    assert ok["school_id"] is not None  # filed under the school, for its head
    assert ok["at"].endswith("Z")


def test_shares_and_deletes_in_a_rubric_space_are_recorded(srv: Server) -> None:
    srv.cli("rubric", "grant", "cdi", "manager", "--user", "alice")
    srv.cli("rubric", "invite", "cdi", "writer", "zoe", "--by", "alice")
    dav = requests.Session()
    dav.auth = ("alice", PASSWORD)
    name = f"fiche-{uuid.uuid4().hex[:6]}.txt"
    url = f"{srv.dav_url}/rubriques/cdi/{name}"
    assert dav.put(url, data=b"hello", timeout=30).status_code == 201
    srv.cli("rubric", "publish", "cdi", f"/{name}", "--withdraw")
    assert dav.delete(url, timeout=30).status_code == 204
    srv.cli("trash", "purge", "--all")
    place = audit(srv, "--place", "/rubriques/cdi")
    assert kinds(place)[:5] == ["purge", "delete", "withdraw", "invitation", "grant"]
    purge, delete = place[0], place[1]
    assert delete["place"] == f"/rubriques/cdi/{name}"
    assert (delete["actor_login"], delete["via"], delete["address"]) == \
        ("alice", "dav", "127.0.0.1")
    assert purge["actor_login"].startswith("cli:")
    assert place[3]["target"] == "zoe" and place[4]["target"] == "alice"
    assert place[4]["details"]["role"] == "manager"


def test_user_commands_are_recorded_and_audit_filters(srv: Server) -> None:
    srv.add_user("yann", profile="student")
    srv.cli("user", "disable", "yann")
    events = audit(srv, "--user", "yann", "--kind", "user_changed")
    assert [e["details"]["action"] for e in events] == ["disable", "add"]
    assert all(e["via"] == "cli" for e in events)
    assert audit(srv, "--user", "yann", "--since", "2999-01-01") == []
    plain = srv.cli("audit", "--user", "yann").stdout.splitlines()
    assert len(plain) == 2 and "\tuser_changed\tsuccess\tcli:" in plain[0]
    bad = srv.cli("audit", "--since", "yesterday", check=False)
    assert bad.returncode == 2 and "not a date or time: 'yesterday'" in bad.stderr


def test_the_head_reads_the_journal_page_filtered(srv: Server) -> None:
    head = WebClient(srv)
    assert head.login("hélène", PASSWORD).status_code == 302
    page = head.get("/journal/?personne=bob&type=sign_in")
    assert page.status_code == 200
    rows = html.fromstring(page.text).xpath('//tr[@data-kind]')
    assert rows and {r.get("data-kind") for r in rows} == {"sign_in"}
    assert {r.xpath('string(td[@class="who"])') for r in rows} == {"bob"}
    dated = head.get("/journal/?du=2999-01-01")
    assert "Aucun événement pour ces critères." in dated.text
    wrong = head.get("/journal/?du=hier")
    assert "Date illisible : hier (format AAAA-MM-JJ)." in wrong.text

    student = WebClient(srv)
    student.login("zoe", PASSWORD)
    refused = student.get("/journal/")
    assert refused.status_code == 403
    assert "réservé à la direction" in refused.text


def test_a_sign_in_succeeds_when_the_journal_cannot_be_written(srv: Server) -> None:
    """Two users who never signed in (a full check each, which journals)."""
    with srv.transaction() as s:
        acl.create_user(s, "web-user", PASSWORD, "teacher")
        acl.create_user(s, "dav-user", PASSWORD, "teacher")
        s.execute(text("ALTER TABLE security_events RENAME TO security_events_away"))
    try:
        client = WebClient(srv)
        assert client.login("web-user", PASSWORD).status_code == 302
        assert client.get("/textbook/").status_code == 200
        dav = requests.request("PROPFIND", srv.dav_url + "/", auth=("dav-user", PASSWORD),
                               headers={"Depth": "0"}, timeout=30)
        assert dav.status_code == 207
    finally:
        with srv.transaction() as s:
            s.execute(text("ALTER TABLE security_events_away RENAME TO security_events"))
    log = srv.log_path.read_text() if srv.log_path else ""
    for login in ("web-user", "dav-user"):
        assert f"ERROR davserver.journal: security journal: sign_in by {login} not " \
            "recorded" in log


def test_purge_keeps_the_retention(srv: Server) -> None:
    kept = srv.cli("audit", "purge").stdout
    assert kept.startswith("purged 0 journal event(s) older than 365 day(s)")
    assert audit(srv)
    gone = srv.cli("audit", "purge", "--older-than", "0").stdout
    assert not gone.startswith("purged 0 ")
    assert audit(srv) == []
