"""The charter (charte d'utilisation), issue 19: published by the head in the web,
accepted at the first page and again at each new version, recorded (who, when,
which version), reachable from every page; it gates the web and the making of app
passwords, never the drive of an account that only uses its drive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lxml import html

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.web import WebClient, csrf_token


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("charter"),
                        users={"helene": "head", "alice": "teacher", "bob": "student",
                               "dan": "teacher"}) as server:
        with server.transaction() as s:
            school = acl.add_school(s, "Collège Jean Moulin", uai="0330001X")
            for login in ("helene", "alice", "bob", "dan"):
                user = acl.find_user(s, login)
                assert user is not None
                acl.join_school(s, user.id, school.id, user.profile)
        yield server


def signed_in(server: Server, login: str) -> WebClient:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def publish(client: WebClient, text: str) -> None:
    form = client.get("/charte/modifier")
    assert form.status_code == 200, form.status_code
    answer = client.post("/charte/modifier", {"csrf_token": csrf_token(form.text),
                                              "text": text})
    assert answer.status_code == 302, answer.text


def accept(client: WebClient, shown: requests.Response) -> requests.Response:
    page = html.fromstring(shown.text)
    fields = {i.get("name"): i.get("value") or ""
              for i in page.xpath('//form[@class="charter-accept"]//input[@name]')}
    return client.post("/charte/accepter", fields)


def audit(server: Server, *args: str) -> list[dict[str, Any]]:
    return json.loads(server.cli("audit", "--json", *args).stdout)  # type: ignore[no-any-return]


def test_the_charter_gates_the_web_until_accepted(srv: Server) -> None:
    head = signed_in(srv, "helene")
    publish(head, "Article 1 : respecter les autres.\n\nArticle 2 : protéger son mot "
                  "de passe.")
    # the head herself must accept the version she published
    assert head.get("/textbook/").headers["Location"].startswith("/charte?next=")
    alice = signed_in(srv, "alice")
    first = alice.get("/textbook/")
    assert first.status_code == 302 and first.headers["Location"] == \
        "/charte?next=/textbook/"
    post = alice.post("/rubriques/", {"csrf_token": "x"})
    assert post.status_code in (403, 405)
    shown = alice.get(first.headers["Location"])
    assert "Article 2 : protéger son mot de passe." in html.fromstring(shown.text) \
        .text_content()
    done = accept(alice, shown)
    assert done.status_code == 302 and done.headers["Location"] == "/textbook/"
    assert alice.get("/textbook/").status_code == 200
    event = audit(srv, "--user", "alice", "--kind", "charter_accepted")[0]
    assert event["details"]["version"] == 1 and event["school_id"] is not None
    assert event["at"].endswith("Z")


def test_a_new_version_is_accepted_again(srv: Server) -> None:
    alice = signed_in(srv, "alice")
    if alice.get("/textbook/").status_code == 302:
        accept(alice, alice.get("/charte"))
    assert alice.get("/textbook/").status_code == 200
    head = signed_in(srv, "helene")
    accept(head, head.get("/charte"))
    publish(head, "Article 1 : respecter les autres.\n\nArticle 3 : nouveau.")
    assert alice.get("/textbook/").status_code == 302  # the same session, at once
    accept(alice, alice.get("/charte"))
    assert alice.get("/textbook/").status_code == 200
    versions = [e["details"]["version"]
                for e in audit(srv, "--user", "alice", "--kind", "charter_accepted")]
    assert versions[0] == 2


def test_a_version_changed_while_reading_is_shown_anew(srv: Server) -> None:
    dan = signed_in(srv, "dan")
    stale = dan.get("/charte")
    with srv.transaction() as s:
        acl.publish_charter(s, acl.find_school(s, "0330001X"),
                            "Article 1 : respecter les autres. Version suivante.")
    answer = accept(dan, stale)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/charte")
    assert "Version suivante" in dan.get("/charte").text
    assert dan.get("/textbook/").status_code == 302


def test_the_drive_is_never_blocked_and_app_passwords_wait(srv: Server) -> None:
    """bob never accepted: his drive works with his password; no app password can be
    made for him until he accepts."""
    assert requests.request("PROPFIND", srv.dav_url + "/", auth=("bob", PASSWORD),
                            headers={"Depth": "0"}, timeout=30).status_code == 207
    refused = srv.cli("app-password", "add", "bob", "--label", "tablette", check=False)
    assert refused.returncode == 1 and "charter" in refused.stderr
    bob = signed_in(srv, "bob")
    accept(bob, bob.get("/charte"))
    assert srv.cli("app-password", "add", "bob", "--label", "tablette").returncode == 0


def test_every_page_links_the_charter_and_only_heads_edit(srv: Server) -> None:
    visitor = WebClient(srv)
    page = html.fromstring(visitor.get("/login").text)
    assert page.xpath('//footer//a[@href="/charte"]')
    assert visitor.get("/charte").status_code == 200
    bob = signed_in(srv, "bob")
    assert bob.get("/charte/modifier").status_code == 403
