"""Ways in per school (``federation.schools``), issue 19, against LemonLDAP::NG's CAS
(tests/idp.py).

The lycée Alpha offers only the académie's provider, under its own label, and no
login form; the collège Beta has no section and offers the deployment's ways in.
The sign-in page shows a school's ways in when the address names it or the browser
chose it before, and the list of schools otherwise; a teacher of Alpha who comes
through EduConnect (a provider Alpha does not offer) is refused with a page naming
Alpha's ways in; the same teacher through the académie, and a parent of Beta through
EduConnect, come in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import html

import acl
from davserver.config import ConfigError, load_config
from tests.conftest import Server, running_server
from tests.idp import (
    LemonLdap,
    chromium_signs_in,
    lemonldap_fixture,
    lemonldap_sign_in,
    signed_in_as,
)
from tests.web import WebClient

TEACHER, PARENT = "marie.curie", "rose.tyler"
ALPHA, BETA = "0750654D", "0690001B"
PROVIDERS = [
    {"id": "educonnect", "label": "Élève ou parent", "match_attribute": "mail",
     "match_kind": "educonnect"},
    {"id": "academie", "label": "Personnel de l'Éducation nationale", "match_kind": "aaf"},
]
SCHOOLS = {ALPHA: {"providers": [{"id": "academie", "label": "Enseignants du lycée Alpha"}],
                   "local_passwords": False}}


llng = lemonldap_fixture()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, llng: LemonLdap) -> Iterator[Server]:
    """Our server with the two schools (with ``llng``, about 20 s under load, once)."""
    providers = [{**p, "server_url": llng.cas_url} for p in PROVIDERS]
    env = {"DAVSERVER_FEDERATION__PROVIDERS": json.dumps(providers),
           "DAVSERVER_FEDERATION__SCHOOLS": json.dumps(SCHOOLS)}
    with running_server(tmp_path_factory.mktemp("schools"), env,
                        users={TEACHER: "teacher", PARENT: "parent"}) as server:
        with server.transaction() as s:
            alpha = acl.add_school(s, "Lycée Alpha", uai=ALPHA).id
            beta = acl.add_school(s, "Collège Beta", uai=BETA).id
            teacher, parent = acl.find_user(s, TEACHER), acl.find_user(s, PARENT)
            assert teacher is not None and parent is not None
            acl.join_school(s, teacher.id, alpha)
            acl.join_school(s, parent.id, beta)
            acl.add_external_id(s, teacher.id, "aaf", "dwho")
            acl.add_external_id(s, teacher.id, "educonnect", "dwho@badwolf.org")
            acl.add_external_id(s, parent.id, "educonnect", "rtyler@badwolf.org")
        yield server


def ways_in(page: str) -> list[str]:
    tree = html.fromstring(page)
    return [a.text_content().strip() for a in tree.xpath("//a[@data-provider]")]


def come_back(client: WebClient, provider: str, user: str) -> str:
    """Through ``provider`` as ``user`` on LemonLDAP::NG's form; our answer's page
    (the redirect's target, or the refusal)."""
    start = client.get(f"/login/{provider}")
    page = client.http.get(start.headers["Location"], timeout=30)
    back = lemonldap_sign_in(client.http, page, user, user)
    return str(back.headers["Location"])


def test_without_a_school_the_page_lists_the_schools(srv: Server) -> None:
    page = WebClient(srv).get("/login")
    assert page.status_code == 200
    tree = html.fromstring(page.text)
    assert tree.xpath('//form[@class="choose-school"]//option/@value') == \
        ["", BETA, ALPHA]  # by name: Collège, then Lycée
    assert ways_in(page.text) == ["Élève ou parent", "Personnel de l'Éducation nationale"]


def test_a_schools_page_shows_its_ways_in_and_is_remembered(srv: Server) -> None:
    client = WebClient(srv)
    alpha = client.get(f"/login?school={ALPHA.lower()}")
    assert alpha.status_code == 200
    assert ways_in(alpha.text) == ["Enseignants du lycée Alpha"]
    assert 'class="login"' not in alpha.text  # no login form at Alpha
    assert "Lycée Alpha" in html.fromstring(alpha.text).xpath(
        'string(//p[@class="login-school"])')
    again = client.get("/login")  # the browser remembers its school
    assert ways_in(again.text) == ["Enseignants du lycée Alpha"]
    beta = client.get(f"/login?school={BETA}")
    assert ways_in(beta.text) == ["Élève ou parent", "Personnel de l'Éducation nationale"]
    assert 'class="login"' in beta.text
    cleared = client.get("/login?school=")  # "Changer d'établissement"
    assert 'class="choose-school"' in cleared.text
    assert 'class="choose-school"' in client.get("/login").text


def test_a_school_that_is_not_ours_gets_the_list(srv: Server) -> None:
    answer = WebClient(srv).get("/login?school=0130002G")
    assert answer.status_code == 404
    tree = html.fromstring(answer.text)
    assert "0130002G" in tree.xpath('string(//p[contains(@class, "unknown-school")])')
    assert tree.xpath('//form[@class="choose-school"]')


def test_a_provider_the_school_does_not_offer_is_refused(srv: Server) -> None:
    """Alpha's teacher through EduConnect: the page says so and names Alpha's way in;
    the journal keeps the reason. Through the académie, the same teacher comes in."""
    client = WebClient(srv)
    answer = client.http.get(come_back(client, "educonnect", "dwho"),
                             allow_redirects=False, timeout=30)
    assert answer.status_code == 403
    tree = html.fromstring(answer.text)
    assert "n'est pas un moyen de connexion de votre établissement" in \
        tree.text_content()
    assert tree.xpath('//ul[@class="school-ways-in"]/li/text()') == \
        ["Enseignants du lycée Alpha"]
    assert client.get("/textbook/").status_code == 302
    failed = json.loads(srv.cli("audit", "--json", "--kind", "sign_in_failed").stdout)
    assert any(e["details"].get("reason") == "school" and e["actor_login"] == TEACHER
               for e in failed)
    fresh = WebClient(srv)  # another browser: no single sign-on at the provider
    ok = fresh.http.get(come_back(fresh, "academie", "dwho"), allow_redirects=False,
                        timeout=30)
    assert ok.status_code == 302
    assert signed_in_as(fresh) == TEACHER


def test_a_parent_of_the_other_school_comes_in(srv: Server) -> None:
    client = WebClient(srv)
    answer = client.http.get(come_back(client, "educonnect", "rtyler"),
                             allow_redirects=False, timeout=30)
    assert answer.status_code == 302
    assert signed_in_as(client) == PARENT


@pytest.mark.clients
@pytest.mark.one_database  # a browser walk; each step is checked over HTTP above
def test_chromium_chooses_the_school_then_its_way_in(srv: Server) -> None:
    """A teacher in Chromium: the sign-in page lists the schools, they choose Alpha,
    its one way in (its own label) leads to LemonLDAP::NG's form, then the charter
    and the textbook."""
    from playwright.sync_api import expect

    def choose(page: Any) -> None:
        page.get_by_label("Votre établissement").select_option(ALPHA)
        page.get_by_role("button", name="Continuer").click()
        expect(page.locator("p.login-school")).to_contain_text("Lycée Alpha")
        expect(page.locator("a[data-provider]")).to_have_count(1)

    def fill(page: Any) -> None:
        page.locator("#userfield").fill("dwho")
        page.locator("#passwordfield").fill("dwho")
        page.locator("#passwordfield").press("Enter")

    chromium_signs_in(srv, "Enseignants du lycée Alpha", fill, TEACHER, choose)


@pytest.mark.one_database  # configuration, refused before any SQL
@pytest.mark.parametrize(("schools", "message"), [
    ({ALPHA: {"providers": ["nowhere"]}}, "no provider ['nowhere']"),
    ({"lycee": {"providers": ["academie"]}}, "named by its UAI"),
    ({ALPHA: {"providers": ["academie", "academie"]}}, "named twice"),
    ({ALPHA: {"providers": ["academie"], "colour": "red"}}, "unknown key"),
])
def test_a_bad_school_section_stops_the_start(tmp_path: Path, schools: object,
                                              message: str) -> None:
    providers = [{**p, "server_url": "https://cas.example/cas/"} for p in PROVIDERS]
    empty = tmp_path / "config.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError) as refused:
        load_config(empty, environ={
            "DAVSERVER_FEDERATION__PROVIDERS": json.dumps(providers),
            "DAVSERVER_FEDERATION__SCHOOLS": json.dumps(schools)})
    assert "federation" in str(refused.value)
    assert message in str(refused.value)
