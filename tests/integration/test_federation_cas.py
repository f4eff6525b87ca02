"""CAS sign-in against a real CAS server: LemonLDAP::NG's (tests/idp.py), issue 19.

A teacher signs in through the académie's provider (the CAS user names their AAF
id), a parent through an EduConnect-like provider (the ``mail`` attribute names
their EduConnect id), in requests and in Chromium through LemonLDAP::NG's own login
page; an unknown identity gets its page, a disabled account is refused; a forged,
replayed or wrongly addressed ticket is refused by the CAS server and so by us; the
CAS server's single logout ends our session; our logout offers the provider's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from lxml import html

import acl
from tests.conftest import Server, running_server
from tests.idp import (
    LemonLdap,
    chromium_signs_in,
    lemonldap_fixture,
    lemonldap_sign_in,
    running_lemonldap,
    signed_in_as,
)
from tests.web import WebClient, csrf_token

TEACHER, PARENT, DISABLED = "marie.curie", "rose.tyler", "jack.harkness"


llng = lemonldap_fixture()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, llng: LemonLdap) -> Iterator[Server]:
    providers = [
        {"id": "educonnect", "label": "Élève ou parent", "server_url": llng.cas_url,
         "match_attribute": "mail", "match_kind": "educonnect"},
        {"id": "academie", "label": "Personnel de l'Éducation nationale",
         "server_url": llng.cas_url, "match_kind": "aaf"},
    ]
    env = {"DAVSERVER_FEDERATION__PROVIDERS": json.dumps(providers)}
    with running_server(tmp_path_factory.mktemp("cas"), env,
                        users={TEACHER: "teacher", PARENT: "parent",
                               DISABLED: "teacher"}) as server:
        with server.transaction() as s:
            ids = {login: acl.find_user(s, login) for login in (TEACHER, PARENT, DISABLED)}
            acl.add_external_id(s, ids[TEACHER].id, "aaf", "dwho")  # type: ignore[union-attr]
            # the teacher is also a parent: a second identity, the same account
            acl.add_external_id(s, ids[TEACHER].id, "educonnect",  # type: ignore[union-attr]
                                "dwho@badwolf.org")
            acl.add_external_id(s, ids[PARENT].id, "educonnect",  # type: ignore[union-attr]
                                "rtyler@badwolf.org")
            acl.add_external_id(s, ids[DISABLED].id, "aaf", "rtyler")  # type: ignore[union-attr]
        server.cli("user", "disable", DISABLED)
        yield server


def cas_ticket_url(client: WebClient, provider: str, user: str,
                   next_path: str = "") -> str:
    """Start at ``/login/<provider>``, sign in on LemonLDAP::NG's form; returns the
    address the CAS server sends the browser back to (with its ticket)."""
    start = client.get(f"/login/{provider}" + (f"?next={next_path}" if next_path else ""))
    assert start.status_code == 302, start.text
    page = client.http.get(start.headers["Location"], timeout=30)
    assert page.status_code == 200 and 'name="user"' in page.text, page.text[:500]
    back = lemonldap_sign_in(client.http, page, user, user)
    assert back.status_code in (302, 303), back.text[:500]
    return str(back.headers["Location"])


def returned(client: WebClient, url: str) -> requests.Response:
    return client.http.get(url, allow_redirects=False, timeout=30)


def audit(server: Server, *args: str) -> list[dict[str, object]]:
    return json.loads(server.cli("audit", "--json", *args).stdout)  # type: ignore[no-any-return]


def test_the_sign_in_page_offers_the_ways_in(srv: Server) -> None:
    page = html.fromstring(WebClient(srv).get("/login").text)
    assert [a.text_content().strip() for a in page.xpath('//a[@data-provider]')] == \
        ["Élève ou parent", "Personnel de l'Éducation nationale"]
    assert page.xpath("string(//h2)") == "Autre compte"
    assert page.xpath('//form[@class="login"]')


def test_a_teacher_signs_in_through_the_academie(srv: Server) -> None:
    client = WebClient(srv)
    back = cas_ticket_url(client, "academie", "dwho", "/textbook/")
    assert back.startswith(srv.base_url + "/login/academie/cas?ticket=ST-")
    answer = returned(client, back)
    assert answer.status_code == 302 and answer.headers["Location"] == "/textbook/"
    assert signed_in_as(client) == TEACHER
    event = next(e for e in audit(srv, "--user", TEACHER, "--kind", "sign_in")
                 if e["method"] == "cas")
    assert event["details"] == {"provider": "academie", "identity": "dwho"}  # type: ignore[comparison-overlap]


def test_a_teacher_adds_the_desktop_app_through_the_academie(srv: Server) -> None:
    """Login Flow v2 with no password of ours: the app's start, the académie's CAS
    sign-in in the browser, back to the grant page, the grant; the app's poll gets an
    app password that opens the teacher's files."""
    flow = requests.post(srv.base_url + "/index.php/login/v2", timeout=30, headers={
        "User-Agent": "Mozilla/5.0 (Windows) mirall/3.14.1 (Nextcloud, windows-10.0)"}
                         ).json()
    path = urlsplit(flow["login"]).path
    client = WebClient(srv)
    answer = returned(client, cas_ticket_url(client, "academie", "dwho", path))
    assert answer.status_code == 302 and answer.headers["Location"] == path
    page = client.get(path)
    assert page.status_code == 200
    assert "Autoriser Nextcloud sur ordinateur (Windows)" in page.text
    assert client.post(path + "/grant", {"csrf_token": csrf_token(page.text)}
                       ).status_code == 200
    delivered = requests.post(flow["poll"]["endpoint"], data={"token": flow["poll"]["token"]},
                              timeout=30).json()
    assert delivered["loginName"] == TEACHER
    assert requests.request("PROPFIND", f"{srv.base_url}/remote.php/dav/files/{TEACHER}/",
                            auth=(TEACHER, delivered["appPassword"]), headers={"Depth": "0"},
                            timeout=30).status_code == 207


def test_a_parent_signs_in_by_an_attribute(srv: Server) -> None:
    client = WebClient(srv)
    assert returned(client, cas_ticket_url(client, "educonnect", "rtyler")).status_code \
        == 302
    assert signed_in_as(client) == PARENT


def test_one_person_with_two_identities(srv: Server) -> None:
    """The teacher who is also a parent comes in through EduConnect too."""
    client = WebClient(srv)
    assert returned(client, cas_ticket_url(client, "educonnect", "dwho")).status_code \
        == 302
    assert signed_in_as(client) == TEACHER


def test_an_unknown_identity_gets_its_page(srv: Server) -> None:
    client = WebClient(srv)
    answer = returned(client, cas_ticket_url(client, "academie", "msmith"))
    assert answer.status_code == 403
    assert "n'est pas connu de cet établissement" in html.fromstring(answer.text) \
        .text_content()
    assert client.get("/textbook/").status_code == 302
    failed = audit(srv, "--kind", "sign_in_failed")
    assert any(e["details"] == {"provider": "academie", "reason": "unknown",
                                "identity": "msmith"} for e in failed)


def test_a_disabled_account_is_refused(srv: Server) -> None:
    client = WebClient(srv)
    answer = returned(client, cas_ticket_url(client, "academie", "rtyler"))
    assert answer.status_code == 403 and "désactivé" in answer.text
    assert client.get("/textbook/").status_code == 302


def test_a_forged_ticket_is_refused(srv: Server) -> None:
    client = WebClient(srv)
    forged = client.get("/login/academie/cas?ticket=ST-" + "a" * 64)
    assert forged.status_code == 403 and "pas valable" in forged.text
    malformed = client.get("/login/academie/cas?ticket=<script>")
    assert malformed.status_code == 400
    assert client.get("/login/nowhere/cas?ticket=ST-1").status_code == 404
    assert client.get("/textbook/").status_code == 302


def test_a_replayed_ticket_is_refused(srv: Server) -> None:
    first = WebClient(srv)
    back = cas_ticket_url(first, "academie", "dwho")
    assert returned(first, back).status_code == 302
    thief = WebClient(srv)
    answer = thief.http.get(back, allow_redirects=False, timeout=30)
    assert answer.status_code == 403 and thief.get("/textbook/").status_code == 302


def test_a_ticket_for_another_service_is_refused(srv: Server) -> None:
    """A ticket issued for the EduConnect entry, presented at the académie's."""
    client = WebClient(srv)
    back = cas_ticket_url(client, "educonnect", "dwho")
    ticket = parse_qs(urlsplit(back).query)["ticket"][0]
    answer = client.get(f"/login/academie/cas?ticket={ticket}")
    assert answer.status_code == 403 and client.get("/textbook/").status_code == 302


def test_single_logout_from_the_cas_server_ends_our_session(srv: Server,
                                                            llng: LemonLdap) -> None:
    client = WebClient(srv)
    assert returned(client, cas_ticket_url(client, "academie", "dwho")).status_code == 302
    assert signed_in_as(client) == TEACHER
    out = client.http.get(llng.cas_url + "logout", timeout=30)  # at the CAS server
    assert out.status_code == 200
    assert client.get("/textbook/").status_code == 302, llng.log()[-3000:]
    ended = audit(srv, "--kind", "sign_out")
    assert any(e["method"] == "cas" and e["details"] == {"provider": "academie",
                                                         "single_logout": True}
               for e in ended)


def test_our_logout_offers_the_providers(srv: Server, llng: LemonLdap) -> None:
    client = WebClient(srv)
    assert returned(client, cas_ticket_url(client, "academie", "dwho")).status_code == 302
    bye = client.post("/logout", {"csrf_token": csrf_token(client.get("/").text)})
    assert bye.status_code == 302 and "idp=academie" in bye.headers["Location"]
    assert client.get("/textbook/").status_code == 302
    page = html.fromstring(client.get(bye.headers["Location"]).text)
    link = page.xpath('//p[contains(@class, "provider-logout")]/a/@href')
    assert link and link[0].startswith(llng.cas_url + "logout?service=")
    client.http.get(link[0], timeout=30)  # the provider's session ends too
    again = client.get("/login/academie")
    login_page = client.http.get(again.headers["Location"], allow_redirects=False,
                                 timeout=30)
    assert login_page.status_code == 200 and 'name="user"' in login_page.text


@pytest.mark.clients
@pytest.mark.one_database
def test_chromium_signs_in_through_the_providers_page(srv: Server) -> None:
    """A teacher in Chromium: our sign-in page, the académie's button, LemonLDAP::NG's
    own form, the charter to accept, then the textbook."""

    def fill(page: Any) -> None:
        page.locator("#userfield").fill("dwho")
        page.locator("#passwordfield").fill("dwho")
        page.locator("#passwordfield").press("Enter")

    chromium_signs_in(srv, "Personnel de l'Éducation nationale", fill, TEACHER)


def test_local_passwords_can_be_forbidden(tmp_path: Path) -> None:
    """``no_local_passwords: [parent]``: a parent's ENT password is refused on the web
    (not on the drive); ``local_passwords: false`` hides the form and refuses it."""
    from tests.conftest import PASSWORD

    with running_server(tmp_path / "a", {"DAVSERVER_FEDERATION__NO_LOCAL_PASSWORDS":
                                         "parent"},
                        users={"paul": "parent", "tina": "teacher"}) as server:
        refused = WebClient(server).login("paul", PASSWORD)
        assert refused.status_code == 403 and "pas par un mot de passe" in refused.text
        assert WebClient(server).login("tina", PASSWORD).status_code == 302
        assert requests.request("PROPFIND", server.dav_url + "/", auth=("paul", PASSWORD),
                                headers={"Depth": "0"}, timeout=30).status_code == 207
        failed = audit(server, "--user", "paul", "--kind", "sign_in_failed")
        assert failed and failed[0]["outcome"] == "refused"
    with running_server(tmp_path / "b", {"DAVSERVER_FEDERATION__LOCAL_PASSWORDS": "false"},
                        users={"tina": "teacher"}) as server:
        client = WebClient(server)
        page = client.get("/login")
        assert page.status_code == 200 and 'class="login"' not in page.text
        answer = client.post("/login", {"csrf_token": "x", "login": "tina",
                                        "password": PASSWORD})
        assert answer.status_code == 403
        assert client.get("/textbook/").status_code == 302


def test_an_expired_ticket_is_refused(tmp_path: Path) -> None:
    """A CAS server whose service tickets live one second (``casTicketExpiration``):
    a ticket presented after three is refused; a fresh one still works. About 15 s:
    a second CAS server and a server of our own start."""
    import time

    with running_lemonldap(tmp_path / "llng", casTicketExpiration=1) as quick:
        providers = [{"id": "academie", "label": "Académie", "server_url": quick.cas_url}]
        env = {"DAVSERVER_FEDERATION__PROVIDERS": json.dumps(providers)}
        with running_server(tmp_path / "srv", env, users={TEACHER: "teacher"}) as server:
            with server.transaction() as s:
                user = acl.find_user(s, TEACHER)
                assert user is not None
                acl.add_external_id(s, user.id, "aaf", "dwho")
            late = WebClient(server)
            back = cas_ticket_url(late, "academie", "dwho")
            time.sleep(3)  # the ticket's lifetime is a duration, not a date
            answer = returned(late, back)
            assert answer.status_code == 403 and "pas valable" in answer.text
            prompt = WebClient(server)
            assert returned(prompt, cas_ticket_url(prompt, "academie", "dwho")) \
                .status_code == 302
