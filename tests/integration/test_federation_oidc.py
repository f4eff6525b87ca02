"""OpenID Connect sign-in against a real provider: LemonLDAP::NG's (tests/idp.py),
issue 19 (welcome, not required).

A teacher signs in through LemonLDAP::NG's own form (the ``sub`` claim, their uid,
names their AAF id); an unknown identity gets its page; a forged state, a provider's
error and a replayed code are refused; our logout ends the provider's session too
(RP-initiated logout) and comes back to our sign-in page; the provider's logout ends
ours (front-channel logout)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from lxml import html

import acl
from tests.conftest import Server, drop_database, make_server, running_server
from tests.idp import (
    LemonLdap,
    free_port,
    lemonldap_oidc,
    lemonldap_sign_in,
    running_lemonldap,
    signed_in_as,
)
from tests.web import WebClient, csrf_token

TEACHER = "marie.curie"
CLIENT_ID, SECRET = "ent-tests", "a-secret-of-the-tests-0123456789"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, LemonLdap]]:
    """Our server's port is chosen first: the provider must know our redirect address
    before it starts, and we its address before we start. About 20 s under load:
    LemonLDAP::NG (Perl) and our server start once for the module."""
    port = free_port()
    ours = f"http://127.0.0.1:{port}"
    extra = lemonldap_oidc(CLIENT_ID, SECRET, ours + "/login/academie/oidc",
                           ours + "/login?logged_out=1", ours + "/login/academie/oidc/logout")
    with running_lemonldap(tmp_path_factory.mktemp("llng"), **extra) as llng:
        providers = [{"id": "academie", "kind": "oidc", "label": "Académie (OpenID)",
                      "server_url": llng.url, "client_id": CLIENT_ID,
                      "client_secret": SECRET, "match_kind": "aaf"}]
        srv, dbname = make_server(tmp_path_factory.mktemp("oidc"), {
            "DAVSERVER_FEDERATION__PROVIDERS": json.dumps(providers)})
        srv.port = port
        srv.add_user(TEACHER, profile="teacher")
        srv.start()
        try:
            with srv.transaction() as s:
                user = acl.find_user(s, TEACHER)
                assert user is not None
                acl.add_external_id(s, user.id, "aaf", "dwho")
            yield srv, llng
        finally:
            srv.stop()
            drop_database(dbname)


@pytest.fixture(scope="module")
def srv(pair: tuple[Server, LemonLdap]) -> Server:
    return pair[0]


def code_url(client: WebClient, user: str) -> str:
    """From ``/login/academie`` through LemonLDAP::NG's form to the address it sends the
    browser back to (with the code), not visited."""
    start = client.get("/login/academie")
    assert start.status_code == 302, start.text[:500]
    page = client.http.get(start.headers["Location"], timeout=30)
    assert 'name="user"' in page.text, page.text[:500]
    answer = lemonldap_sign_in(client.http, page, user, user)
    for _ in range(5):  # the portal may pass through its authorization endpoint again
        location = str(answer.headers.get("Location", ""))
        assert answer.status_code in (302, 303), answer.text[:800]
        if location.startswith(client.server.base_url):
            return location
        answer = client.http.get(location, allow_redirects=False, timeout=30)
    raise AssertionError("the provider never came back")


def test_a_teacher_signs_in(srv: Server) -> None:
    client = WebClient(srv)
    back = code_url(client, "dwho")
    assert back.startswith(srv.base_url + "/login/academie/oidc?") and "code=" in back
    answer = client.http.get(back, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text[:800]
    assert signed_in_as(client) == TEACHER
    events = json.loads(srv.cli("audit", "--json", "--kind", "sign_in").stdout)
    assert any(e["method"] == "oidc" and e["details"] == {"provider": "academie",
                                                          "identity": "dwho"}
               for e in events)


def test_an_unknown_identity_gets_its_page(srv: Server) -> None:
    client = WebClient(srv)
    answer = client.http.get(code_url(client, "msmith"), allow_redirects=False, timeout=30)
    assert answer.status_code == 403
    assert "n'est pas connu de cet établissement" in html.fromstring(answer.text) \
        .text_content()


def test_a_forged_state_an_error_or_a_replayed_code_is_refused(srv: Server) -> None:
    client = WebClient(srv)
    forged = client.get("/login/academie/oidc?code=abc&state=not-ours")
    assert forged.status_code == 403 and "pas valable" in forged.text
    error = client.get("/login/academie/oidc?error=access_denied&state=x")
    assert error.status_code == 403
    back = code_url(client, "dwho")
    assert client.http.get(back, allow_redirects=False, timeout=30).status_code == 302
    thief = WebClient(srv)  # another browser with the same address: not its state
    assert thief.http.get(back, allow_redirects=False, timeout=30).status_code == 403
    assert thief.get("/textbook/").status_code == 302
    again = client.http.get(back, allow_redirects=False, timeout=30)  # state used up
    assert again.status_code == 403


def test_our_logout_ends_the_providers_session(srv: Server, pair: tuple[Server, LemonLdap]
                                               ) -> None:
    llng = pair[1]
    client = WebClient(srv)
    assert client.http.get(code_url(client, "dwho"), allow_redirects=False,
                           timeout=30).status_code == 302
    bye = client.post("/logout", {"csrf_token": csrf_token(client.get("/").text)})
    assert bye.status_code == 302 and bye.headers["Location"].startswith(llng.url), \
        bye.headers.get("Location")
    assert "id_token_hint=" in bye.headers["Location"]
    assert client.get("/textbook/").status_code == 302  # ours ended at once
    back = client.http.get(bye.headers["Location"], timeout=30)
    # the portal's logout page: the frames of front-channel logout, then back to us
    tree = html.fromstring(back.text)
    assert back.status_code == 200 and tree.xpath("//form/@action") == \
        [srv.base_url + "/login?logged_out=1"], back.text[-3000:]
    assert any(src.startswith(srv.base_url + "/login/academie/oidc/logout?")
               for src in tree.xpath("//iframe/@src"))
    start = client.get("/login/academie")
    page = client.http.get(start.headers["Location"], timeout=30)
    assert 'name="user"' in page.text  # the provider asks again


def test_the_providers_logout_ends_ours(srv: Server, pair: tuple[Server, LemonLdap]
                                       ) -> None:
    """Front-channel logout: the portal's logout page holds a frame on our logout
    address (with its issuer), which the browser loads with our cookie; another
    browser's session stays."""
    llng = pair[1]
    client, other = WebClient(srv), WebClient(srv)
    for browser in (client, other):
        assert browser.http.get(code_url(browser, "dwho"), allow_redirects=False,
                                timeout=30).status_code == 302
    out = client.http.get(llng.url + "?logout=1", timeout=30)
    frames = html.fromstring(out.text).xpath("//iframe/@src")
    assert frames and frames[0].startswith(srv.base_url + "/login/academie/oidc/logout?"), \
        out.text[:1500]
    assert "iss=" in frames[0]
    assert client.http.get(frames[0], timeout=30).status_code == 200  # the frame loads
    assert client.get("/textbook/").status_code == 302
    assert signed_in_as(other) == TEACHER
    forged = other.get("/login/academie/oidc/logout?iss=https://evil.example/")
    assert forged.status_code == 200 and signed_in_as(other) == TEACHER


@pytest.mark.one_database  # refused before any SQL
def test_the_provider_unreachable_gets_its_page(tmp_path: Path) -> None:
    """No provider at the issuer's address: the way in answers 502 with a page."""
    providers = [{"id": "academie", "kind": "oidc", "label": "Académie",
                  "server_url": f"http://127.0.0.1:{free_port()}/",
                  "client_id": CLIENT_ID, "client_secret": SECRET}]
    with running_server(tmp_path, {"DAVSERVER_FEDERATION__PROVIDERS":
                                   json.dumps(providers)}) as server:
        answer = requests.get(server.base_url + "/login/academie", allow_redirects=False,
                              timeout=30)
        assert answer.status_code == 502 and "ne répond pas" in answer.text
