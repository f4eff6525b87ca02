"""SAML 2.0 sign-in against a real identity provider: SimpleSAMLphp 1.19 (Debian's,
tests/idp.py), issue 19. Its assertions are signed and encrypted, as EduConnect's.

A parent and a teacher sign in (the ``uid`` attribute names their EduConnect id), in
requests and in Chromium through SimpleSAMLphp's own login page; our metadata is
served at a stable address; an unknown identity gets its page; a forged (altered),
replayed or unsolicited response is refused; our logout ends the provider's session
too (SAML single logout), and the provider's logout ends ours."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from lxml import etree, html

import acl
from tests.conftest import Server, running_server
from tests.idp import SimpleSaml, running_simplesamlphp, simplesamlphp_sign_in
from tests.web import WebClient, csrf_token

TEACHER, PARENT = "marie.curie", "rose.tyler"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleSaml]:
    with running_simplesamlphp(tmp_path_factory.mktemp("ssp")) as provider:
        yield provider


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, idp: SimpleSaml) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("saml")
    metadata = home / "idp-metadata.xml"
    metadata.write_bytes(requests.get(idp.metadata_url, timeout=30).content)
    providers = [{"id": "educonnect", "kind": "saml", "label": "Élève ou parent",
                  "metadata_file": str(metadata), "match_attribute": "uid",
                  "match_kind": "educonnect", "sign_requests": True}]
    env = {"DAVSERVER_FEDERATION__PROVIDERS": json.dumps(providers)}
    with running_server(home, env, users={TEACHER: "teacher", PARENT: "parent"}) as server:
        with server.transaction() as s:
            for login, identity in ((TEACHER, "prof"), (PARENT, "parent")):
                user = acl.find_user(s, login)
                assert user is not None
                acl.add_external_id(s, user.id, "educonnect", identity)
        ours = requests.get(server.base_url + "/login/educonnect/saml/metadata", timeout=30)
        assert ours.status_code == 200
        idp.sp_metadata.write_bytes(ours.content)
        yield server


def sign_in_form(client: WebClient, user: str, password: str,
                 next_path: str = "") -> tuple[str, dict[str, str]]:
    start = client.get("/login/educonnect" + (f"?next={next_path}" if next_path else ""))
    assert start.status_code == 302, start.text
    return simplesamlphp_sign_in(client.http, start.headers["Location"], user, password)


def post_back(client: WebClient, form: tuple[str, dict[str, str]]) -> requests.Response:
    return client.http.post(form[0], data=form[1], allow_redirects=False, timeout=30)


def who(client: WebClient) -> str:
    page = client.get("/textbook/")
    assert page.status_code == 200, page.status_code
    return str(html.fromstring(page.text).xpath('string(//*[@class="user-name"])')).strip()


def test_our_metadata_is_served(srv: Server) -> None:
    answer = requests.get(srv.base_url + "/login/educonnect/saml/metadata", timeout=30)
    root = etree.fromstring(answer.content)
    ns = {"md": "urn:oasis:names:tc:SAML:2.0:metadata"}
    assert root.get("entityID") == srv.base_url + "/login/educonnect/saml/metadata"
    assert root.xpath("//md:AssertionConsumerService/@Location", namespaces=ns) == \
        [srv.base_url + "/login/educonnect/saml/acs"]
    assert {k.get("use") for k in root.xpath("//md:KeyDescriptor", namespaces=ns)} == \
        {"signing", "encryption"}
    assert root.xpath("//md:SingleLogoutService/@Location", namespaces=ns) == \
        [srv.base_url + "/login/educonnect/saml/sls"]


def test_our_requests_are_signed_and_the_provider_checks_them(srv: Server) -> None:
    """``sign_requests``: the redirect carries a signature, and SimpleSAMLphp (told by
    our metadata, ``AuthnRequestsSigned``) refuses the request without it."""
    client = WebClient(srv)
    location = client.get("/login/educonnect").headers["Location"]
    assert "Signature=" in location and "SigAlg=" in location
    unsigned = re.sub(r"&Signature=[^&]*", "", location)
    answer = client.http.get(unsigned, timeout=30)
    assert 'name="password"' not in answer.text
    assert client.http.get(location, timeout=30).status_code == 200


def test_a_parent_signs_in_with_an_encrypted_assertion(srv: Server) -> None:
    client = WebClient(srv)
    form = sign_in_form(client, "parent", "parent-pass", "/textbook/")
    assert form[0] == srv.base_url + "/login/educonnect/saml/acs"
    xml = base64.b64decode(form[1]["SAMLResponse"])
    assert b"EncryptedAssertion" in xml and b"parent" not in xml.split(b"Encrypted")[1]
    answer = post_back(client, form)
    assert answer.status_code == 302 and answer.headers["Location"] == "/textbook/"
    assert who(client) == PARENT


def test_an_unknown_identity_gets_its_page(srv: Server) -> None:
    client = WebClient(srv)
    answer = post_back(client, sign_in_form(client, "inconnu", "inconnu-pass"))
    assert answer.status_code == 403
    assert "n'est pas connu de cet établissement" in html.fromstring(answer.text) \
        .text_content()


def test_a_replayed_response_is_refused(srv: Server) -> None:
    client = WebClient(srv)
    form = sign_in_form(client, "prof", "prof-pass")
    assert post_back(client, form).status_code == 302
    again = post_back(client, form)  # the same browser: the request was answered
    assert again.status_code == 403
    thief = WebClient(srv)  # another browser: it never asked
    assert post_back(thief, form).status_code == 403
    assert thief.get("/textbook/").status_code == 302


@pytest.mark.parametrize("change", ["destination", "cipher", "garbage"])
def test_an_altered_or_misaddressed_response_is_refused(srv: Server, change: str) -> None:
    """A response for another recipient (its Destination), an assertion whose
    encrypted bytes were changed, a body that is no SAML: all refused, and the
    genuine response still works afterwards (the refusal used nothing up)."""
    client = WebClient(srv)
    action, fields = sign_in_form(client, "prof", "prof-pass")
    genuine = fields["SAMLResponse"]
    xml = base64.b64decode(genuine)
    if change == "destination":
        forged = xml.replace(b'Destination="', b'Destination="https://evil.example/x', 1)
    elif change == "cipher":
        start = xml.index(b"<xenc:CipherValue>", xml.index(b"EncryptedData")) \
            if b"<xenc:CipherValue>" in xml else xml.index(b"CipherValue>") + 12
        at = xml.index(b"<xenc:CipherValue>", start + 1) + 30
        forged = xml[:at] + (b"A" if xml[at:at + 1] != b"A" else b"B") + xml[at + 1:]
    else:
        forged = b"<not-saml/>"
    assert forged != xml
    answer = post_back(client, (action, {**fields,
                                         "SAMLResponse": base64.b64encode(forged).decode()}))
    assert answer.status_code == 403
    assert client.get("/textbook/").status_code == 302
    assert post_back(client, (action, {**fields, "SAMLResponse": genuine})).status_code \
        == 302


def test_our_logout_ends_the_providers_session(srv: Server, idp: SimpleSaml) -> None:
    client = WebClient(srv)
    assert post_back(client, sign_in_form(client, "prof", "prof-pass")).status_code == 302
    assert who(client) == TEACHER
    bye = client.post("/logout", {"csrf_token": csrf_token(client.get("/").text)})
    assert bye.status_code == 302 and bye.headers["Location"].startswith(idp.url)
    assert client.get("/textbook/").status_code == 302  # ours ended at once
    back = client.http.get(bye.headers["Location"], timeout=30)  # the provider's SLO
    assert back.status_code == 200 and back.url.startswith(srv.base_url + "/login")
    again = client.get("/login/educonnect")
    page = client.http.get(again.headers["Location"], timeout=30)
    assert 'name="password"' in page.text  # the provider asks again


def test_the_providers_logout_ends_ours(srv: Server, idp: SimpleSaml) -> None:
    client = WebClient(srv)
    assert post_back(client, sign_in_form(client, "parent", "parent-pass")).status_code \
        == 302
    assert who(client) == PARENT
    out = client.http.get(idp.url + "saml2/idp/SingleLogoutService.php?ReturnTo="
                          + idp.url, timeout=30)
    assert out.status_code == 200, idp.log()[-3000:]
    assert client.get("/textbook/").status_code == 302, idp.log()[-3000:]


@pytest.mark.clients
@pytest.mark.one_database
def test_chromium_signs_in_through_the_providers_page(srv: Server) -> None:
    """A parent in Chromium: our sign-in page, the EduConnect-like button,
    SimpleSAMLphp's own form (its POST binding page sends the assertion back), the
    charter to accept, then the textbook."""
    from playwright.sync_api import expect, sync_playwright

    from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS

    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with srv.transaction() as s:
        acl.publish_charter(s, None, "Article 1 : respecter les autres.")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_context(base_url=srv.base_url).new_page()
            page.goto("/textbook/")
            page.get_by_role("link", name="Élève ou parent").click()
            page.locator("input[name=username]").fill("parent")
            page.locator("input[name=password]").fill("parent-pass")
            page.locator("input[name=password]").press("Enter")
            # the charter first (a deployment's charter, published for this test)
            page.wait_for_url(srv.base_url + "/charte?next=**")
            expect(page.locator(".charter-text")).to_contain_text("Article 1")
            page.get_by_role("button", name="J'ai lu et j'accepte la charte").click()
            page.wait_for_url(srv.base_url + "/textbook/**")
            expect(page.locator(".user-name")).to_have_text(PARENT)
        finally:
            browser.close()
            with srv.transaction() as s:  # the other tests of the module see none
                s.query(acl.Charter).delete()
