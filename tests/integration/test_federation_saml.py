"""SAML 2.0 sign-in against a real identity provider: SimpleSAMLphp 1.19 (Debian's,
tests/idp.py), issue 19. Its assertions are signed and encrypted, as EduConnect's.

A parent and a teacher sign in (the ``uid`` attribute names their EduConnect id), in
requests and in Chromium through SimpleSAMLphp's own login page; our metadata is
served at a stable address; an unknown identity gets its page; a forged (altered),
replayed or unsolicited response is refused, and so are, from a tiny signing
provider of the test's own (tests/idp.py, for these error cases only), an expired
assertion, one not yet valid, one for another audience or recipient, one signed by
another key; our logout ends the provider's session
too (SAML single logout), and the provider's logout ends ours."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree, html

import acl
from tests.conftest import Server, running_server
from tests.idp import (
    SigningFakeIdp,
    SimpleSaml,
    chromium_signs_in,
    running_simplesamlphp,
    signed_in_as,
    simplesamlphp_sign_in,
)
from tests.web import WebClient, csrf_token

TEACHER, PARENT = "marie.curie", "rose.tyler"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleSaml]:
    with running_simplesamlphp(tmp_path_factory.mktemp("ssp")) as provider:
        yield provider


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> SigningFakeIdp:
    return SigningFakeIdp(tmp_path_factory.mktemp("fake-idp"))


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, idp: SimpleSaml,
        fake: SigningFakeIdp) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("saml")
    metadata = home / "idp-metadata.xml"
    metadata.write_bytes(requests.get(idp.metadata_url, timeout=30).content)
    providers = [{"id": "educonnect", "kind": "saml", "label": "Élève ou parent",
                  "metadata_file": str(metadata), "match_attribute": "uid",
                  "match_kind": "educonnect", "sign_requests": True},
                 {"id": "fake", "kind": "saml", "label": "Fournisseur d'essai",
                  "metadata_file": str(fake.metadata), "match_attribute": "uid",
                  "match_kind": "educonnect"}]
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
    assert signed_in_as(client) == PARENT


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


WINDOWS: dict[str, tuple[int, int, dict[str, Any]]] = {
    # (from, until) around the present, in minutes, and the other changes
    "valid": (-1, 5, {}),
    "expired": (-120, -60, {}),
    "not_yet_valid": (60, 120, {}),
    "wrong_audience": (-1, 5, {"audience": "https://other-ent.example/metadata"}),
    "wrong_recipient": (-1, 5, {"recipient": "https://other-ent.example/acs"}),
    "another_key": (-1, 5, {"key": True}),
}


@pytest.mark.parametrize("case", list(WINDOWS))
def test_an_assertion_out_of_its_window_or_for_another_is_refused(
        srv: Server, fake: SigningFakeIdp, tmp_path: Path, case: str) -> None:
    """Responses of the tiny signing provider (tests/idp.py), answering a request of
    this browser: a valid one signs the teacher in (the control); one expired an hour
    ago, one valid only in an hour (both beyond the minute of skew), one for another
    service provider's audience, one for another recipient, one signed by a key not
    in the provider's metadata: refused with the page, no session."""
    from datetime import UTC, datetime, timedelta

    start, end, change = WINDOWS[case]
    now = datetime.now(UTC)  # wall clock: pysaml2 in the server judges by the system clock
    client = WebClient(srv)
    location = client.get("/login/fake").headers["Location"]
    acs = srv.base_url + "/login/fake/saml/acs"
    other = None
    if change.get("key"):
        other = tmp_path / "other"
        SigningFakeIdp(other)
    body = fake.response(
        fake.request_id(location), acs,
        str(change.get("audience") or srv.base_url + "/login/fake/saml/metadata"),
        "prof", valid_from=now + timedelta(minutes=start),
        valid_until=now + timedelta(minutes=end),
        recipient=str(change["recipient"]) if "recipient" in change else None,
        key_from=other)
    answer = post_back(client, (acs, {"SAMLResponse": body, "RelayState": ""}))
    if case == "valid":
        assert answer.status_code == 302, answer.text[:2000]
        assert signed_in_as(client) == TEACHER
        return
    assert answer.status_code == 403, answer.text[:2000]
    assert "n'est pas valable" in html.fromstring(answer.text).text_content()
    assert client.get("/textbook/").status_code == 302


def test_our_logout_ends_the_providers_session(srv: Server, idp: SimpleSaml) -> None:
    client = WebClient(srv)
    assert post_back(client, sign_in_form(client, "prof", "prof-pass")).status_code == 302
    assert signed_in_as(client) == TEACHER
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
    assert signed_in_as(client) == PARENT
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

    def fill(page: Any) -> None:
        page.locator("input[name=username]").fill("parent")
        page.locator("input[name=password]").fill("parent-pass")
        page.locator("input[name=password]").press("Enter")

    chromium_signs_in(srv, "Élève ou parent", fill, PARENT)
