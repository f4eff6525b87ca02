"""Accounts made at the first sign-in (a provider's ``create_accounts``), issue 19,
through SimpleSAMLphp (tests/idp.py), whose users carry the national attributes.

An unknown teacher of the lycée Alpha gets an account in Alpha, as a teacher, with
their names and their identity as external id, journaled; their next sign-in finds
it. A namesake gets a login of their own. Refused with a page naming the problem,
and nothing made: a school that is not ours, a missing attribute, a profile we do
not make, a school whose page does not offer this provider. Without the setting (the
default), the "account not known" page stays: test_federation_saml.py and
test_federation_cas.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from lxml import html
from sqlalchemy import func, select

import acl
from acl.models import ExternalId, User
from tests.conftest import Server, running_server
from tests.idp import SimpleSaml, running_simplesamlphp, signed_in_as, simplesamlphp_sign_in
from tests.web import WebClient

ALPHA, BETA, ELSEWHERE = "0750654D", "0690001B", "0130002G"


def person(uid: str, first: str, last: str | None, profile: str,
           uai: str) -> tuple[str, dict[str, list[str]]]:
    attributes = {"uid": [uid], "givenName": [first], "ENTPersonProfils": [profile],
                  "ENTPersonStructRattachUAI": [uai]}
    if last is not None:
        attributes["sn"] = [last]
    return f"{uid}-pass", attributes


USERS = {
    "ada": person("ada", "Ada", "Lovelace", "National_ENS", ALPHA),
    "ada2": person("ada2", "Ada", "Lovelace", "National_ELV", ALPHA.lower()),
    "ailleurs": person("ailleurs", "Alan", "Turing", "National_ENS", ELSEWHERE),
    "incomplet": person("incomplet", "Grace", None, "National_ENS", ALPHA),
    "chef": person("chef", "Edsger", "Dijkstra", "National_ADM", ALPHA),
    "beta": person("beta", "Barbara", "Liskov", "National_ENS", BETA),
}


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleSaml]:
    with running_simplesamlphp(tmp_path_factory.mktemp("ssp"), USERS) as provider:
        yield provider


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, idp: SimpleSaml) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("accounts")
    metadata = home / "idp-metadata.xml"
    metadata.write_bytes(requests.get(idp.metadata_url, timeout=30).content)
    providers = [{"id": "academie", "kind": "saml", "label": "Personnel de l'académie",
                  "metadata_file": str(metadata), "match_attribute": "uid",
                  "match_kind": "aaf", "create_accounts": True}]
    env = {"DAVSERVER_FEDERATION__PROVIDERS": json.dumps(providers),
           "DAVSERVER_FEDERATION__SCHOOLS": json.dumps({BETA: {"providers": []}})}
    with running_server(home, env) as server:
        with server.transaction() as s:
            acl.add_school(s, "Lycée Alpha", uai=ALPHA)
            acl.add_school(s, "Collège Beta", uai=BETA)
        ours = requests.get(server.base_url + "/login/academie/saml/metadata", timeout=30)
        idp.sp_metadata.write_bytes(ours.content)
        yield server


def sign_in(srv: Server, user: str) -> tuple[WebClient, requests.Response]:
    client = WebClient(srv)
    start = client.get("/login/academie")
    action, fields = simplesamlphp_sign_in(client.http, start.headers["Location"], user,
                                           USERS[user][0])
    return client, client.http.post(action, data=fields, allow_redirects=False, timeout=30)


def users(srv: Server) -> int:
    with srv.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(User)) or 0)


def test_an_unknown_teacher_gets_an_account_in_their_school(srv: Server) -> None:
    client, answer = sign_in(srv, "ada")
    assert answer.status_code == 302, answer.text[:1000]
    assert signed_in_as(client) == "Ada Lovelace"  # the header shows the name
    with srv.transaction() as s:
        user = s.scalars(select(User).where(User.login == "ada.lovelace")).one()
        alpha = acl.school_of_uai(s, ALPHA)
        assert (user.profile.value, user.school_id, user.first_name, user.last_name,
                user.display_name) == ("teacher", alpha, "Ada", "Lovelace", "Ada Lovelace")
        assert acl.schools_of(s, user.id) == {alpha: acl.Profile.teacher}
        assert s.scalars(select(ExternalId.kind + ":" + ExternalId.value)
                         .where(ExternalId.user_id == user.id)).all() == ["aaf:ada"]
    made = json.loads(srv.cli("audit", "--json", "--kind", "user_changed").stdout)
    assert [e["details"] for e in made if e["target"] == "ada.lovelace"] == \
        [{"action": "add", "provider": "academie", "identity": "ada", "profile": "teacher"}]
    before = users(srv)
    again, second = sign_in(srv, "ada")  # the next sign-in finds the account
    assert second.status_code == 302 and signed_in_as(again) == "Ada Lovelace"
    assert users(srv) == before


def test_a_namesake_gets_a_login_of_their_own(srv: Server) -> None:
    """A student with the same names (their school's UAI written in lower case)."""
    assert sign_in(srv, "ada")[1].status_code == 302  # made now, or found again
    client, answer = sign_in(srv, "ada2")
    assert answer.status_code == 302, answer.text[:1000]
    assert signed_in_as(client) == "Ada Lovelace"
    with srv.transaction() as s:
        match = acl.account_of_identity(s, "aaf", "ada2")
        assert match is not None and match.principal.profile == acl.Profile.student
        assert match.principal.login == "ada.lovelace.2"


@pytest.mark.parametrize(("user", "reason", "says"), [
    ("ailleurs", "not_our_school", f"l'établissement {ELSEWHERE} n'est pas servi"),
    ("incomplet", "attributes", "(sn)"),
    ("chef", "profile", "le profil « National_ADM »"),
    ("beta", "school", "n'est pas un moyen de connexion de votre établissement"),
])
def test_an_account_that_cannot_be_made_gets_its_page(srv: Server, user: str,
                                                      reason: str, says: str) -> None:
    before = users(srv)
    client, answer = sign_in(srv, user)
    assert answer.status_code == 403, answer.text[:1000]
    assert says in html.fromstring(answer.text).text_content()
    assert users(srv) == before
    assert client.get("/textbook/").status_code == 302
    failed = json.loads(srv.cli("audit", "--json", "--kind", "sign_in_failed").stdout)
    assert any(e["details"].get("reason") == reason and
               e["details"].get("identity") == user for e in failed)
