"""Rubric pages in the browser (issue 4, "Management"), against a real server process:
the rubric list with each role, invitations answered through the pages, and the
management page for managers only, each change checked over DAV (PROPFIND of
``/dav/rubriques/`` as the grantee) and, when refused, that nothing changed."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree, html
from playwright.sync_api import Page, expect, sync_playwright

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.test_web_auth import assert_french
from tests.web import WebClient, csrf_token

USERS = {"ann": "teacher", "ben": "student", "carl": "teacher", "dora": "student",
         "eve": "student", "fred": "teacher"}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One school with class 4B (ben) and subject FR; rubric ``club``: ann manager,
    carl writer, class 4B visitors."""
    with running_server(tmp_path_factory.mktemp("rubrics-web"), users=USERS) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            group = acl.ensure_group(s, school, "4B", "class")
            acl.add_member(s, group, user_id(s, "ben"))
            acl.ensure_subject(s, school, "FR", "Français")
            acl.add_rubric(s, "club", "Club théâtre")
            acl.grant(s, "club", "manager", user="ann")
            acl.grant(s, "club", "writer", user="carl")
            acl.grant(s, "club", "visitor", pop=acl.population(s, school, group="4B"))
        yield server


def user_id(s: Any, login: str) -> int:
    found = acl.find_user(s, login)
    assert found is not None
    return found.id


def signed_in(server: Server, login: str) -> WebClient:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def new_rubric(server: Server, slug: str, **grants: str) -> None:
    """A top-level rubric with shared folders, and ``login=role`` user grants."""
    with server.transaction() as s:
        acl.add_rubric(s, slug, slug.capitalize())
        for login, role in grants.items():
            acl.grant(s, slug, role, user=login)


def dav_rubrics(server: Server, login: str) -> set[str]:
    """The rubric slugs ``login`` finds in a PROPFIND Depth 1 of /dav/rubriques/."""
    answer = requests.request("PROPFIND", server.dav_url + "/rubriques/",
                              auth=(login, PASSWORD), headers={"Depth": "1"}, timeout=30)
    assert answer.status_code == 207, answer.text
    hrefs = etree.fromstring(answer.content).findall(".//{DAV:}href")
    return {h.text.rstrip("/").rsplit("/", 1)[-1] for h in hrefs
            if h.text and h.text.rstrip("/") != "/dav/rubriques"}


def snapshot(server: Server) -> tuple[object, ...]:
    """Every rubric, grant and invitation of the deployment."""
    with server.transaction() as s:
        rubrics = acl.list_rubrics(s)
        return (rubrics,
                [(r.slug, acl.grants_of(s, r.slug)) for r in rubrics],
                [(r.slug, acl.invitations_of(s, r.slug)) for r in rubrics])


def text_of(page: str, xpath: str) -> str:
    nodes = html.fromstring(page).xpath(xpath)
    return " ".join(" ".join("".join(n.itertext()) for n in nodes).split())


def rows_by_slug(page: str) -> dict[str, html.HtmlElement]:
    return {tr.get("data-slug"): tr for tr in html.fromstring(page).xpath("//tr[@data-slug]")}


def test_rubric_list_shows_each_role_and_the_dav_address(srv: Server) -> None:
    new_rubric(srv, "journal", ben="publisher")
    new_rubric(srv, "secret", ann="manager")
    page = signed_in(srv, "ben").get("/rubriques/")
    assert page.status_code == 200
    rows = rows_by_slug(page.text)
    assert set(rows) >= {"club", "journal"} and "secret" not in rows
    assert rows["club"].findtext('.//td[@class="role"]').strip() == "Visiteur"
    assert rows["journal"].findtext('.//td[@class="role"]').strip() == \
        "Rédacteur avec mise en ligne"
    assert rows["club"].xpath(".//a/@href")[0] == srv.base_url + "/dav/rubriques/club/"
    assert not rows["club"].xpath('.//a[@class="manage"]')
    assert {"club", "journal"} <= dav_rubrics(srv, "ben")
    ann = signed_in(srv, "ann")
    manager_rows = rows_by_slug(ann.get("/rubriques/").text)
    assert manager_rows["club"].xpath('.//a[@class="manage"]/@href') == \
        ["/rubriques/club/gestion"]
    for path in ("/rubriques/", "/invitations/", "/rubriques/club/gestion"):
        assert_french(ann.get(path).text)


def _grant_ids(server: Server, slug: str) -> list[int]:
    with server.transaction() as s:
        return [g.id for g in acl.grants_of(s, slug)]


POSTS = ["droits", "droits/{grant}/retirer", "invitations", "sous-rubriques", "reglages",
         "generalites", "encadre", "services"]
# Every form's fields at once, valid: a manager's POST of this would change things.
FORM = {"grant-role": "manager", "grant-holder": "user", "grant-login": "carl",
        "invite-role": "manager", "invite-login": "carl", "sub-slug": "pirate",
        "sub-name": "Pirate", "sub-inherit": "y", "settings-inherit": "y",
        "general-name": "Pris", "general-home_page": "y", "box-body": "<p>x</p>",
        "service": "shared-folders"}


@pytest.mark.parametrize("login,status", [("carl", 403), ("eve", 404)],
                         ids=["writer-403", "no-role-404"])
def test_management_is_refused_to_non_managers(srv: Server, login: str, status: int) -> None:
    client = signed_in(srv, login)
    page = client.get("/rubriques/club/gestion")
    assert page.status_code == status
    if status == 403:
        assert text_of(page.text, '//*[@class="error-reason"]') == \
            "Seuls les gestionnaires de cette rubrique peuvent la gérer."
    token = csrf_token(client.get("/rubriques/").text)
    before = snapshot(srv)
    for path in POSTS:
        url = "/rubriques/club/gestion/" + path.format(grant=_grant_ids(srv, "club")[0])
        answer = client.post(url, {**FORM, "grant-csrf_token": token})
        assert answer.status_code == status, path
    assert snapshot(srv) == before
    assert client.get("/rubriques/nope/gestion").status_code == 404


def post_form(client: WebClient, page_path: str, action: str,
              fields: dict[str, str]) -> requests.Response:
    """Submit the form whose action is ``action`` with its own CSRF token; field names
    get the form's prefix, as its CSRF field shows it (``grant-csrf_token``)."""
    page = client.get(page_path)
    assert page.status_code == 200, page.text
    form = html.fromstring(page.text).xpath(f'//form[@action="{action}"]')[0]
    token = form.xpath('.//input[contains(@name, "csrf_token")]')[0]
    prefix = token.get("name").removesuffix("csrf_token")
    return client.post(action, {token.get("name"): token.get("value"),
                                **{prefix + k: v for k, v in fields.items()}})


def test_manager_grants_and_revokes_and_dav_follows(srv: Server) -> None:
    new_rubric(srv, "chorale", ann="manager")
    ann = signed_in(srv, "ann")
    manage = "/rubriques/chorale/gestion"
    assert "chorale" not in dav_rubrics(srv, "dora")
    answer = post_form(ann, manage + "/acces-utilisateur", manage + "/droits",
                       {"role": "writer", "holder": "user", "login": "dora"})
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(manage + "/acces-utilisateur")
    page = ann.get(manage + "/acces-utilisateur").text
    assert "Droit ajouté : Rédacteur." in text_of(page, '//p[@role="status"]')
    assert "Rédacteur utilisateur dora toute la rubrique" in text_of(page, "//table")
    assert "chorale" in dav_rubrics(srv, "dora")

    answer = post_form(ann, manage + "/acces-population", manage + "/droits",
                       {"role": "visitor", "holder": "population", "group": "4B",
                        "profile": "student"})
    assert answer.status_code == 303
    assert "chorale" in dav_rubrics(srv, "ben")

    with srv.transaction() as s:
        dora = next(g.id for g in acl.grants_of(s, "chorale") if g.login == "dora")
    answer = post_form(ann, manage + "/acces-utilisateur", f"{manage}/droits/{dora}/retirer",
                       {})
    assert answer.status_code == 303
    assert "chorale" not in dav_rubrics(srv, "dora")
    assert "chorale" in dav_rubrics(srv, "ben")


def test_folder_grant_is_listed_with_its_folder(srv: Server) -> None:
    new_rubric(srv, "ca", ann="manager")
    made = requests.request("MKCOL", srv.dav_url + "/rubriques/ca/Comptes%20rendus/",
                            auth=("ann", PASSWORD), timeout=30)
    assert made.status_code == 201
    ann = signed_in(srv, "ann")
    manage = "/rubriques/ca/gestion"
    answer = post_form(ann, manage + "/acces-population", manage + "/droits",
                       {"role": "visitor", "holder": "everyone",
                        "folder": "/Comptes rendus"})
    assert answer.status_code == 303

    def cells(tab: str) -> list[list[str]]:
        rows = html.fromstring(ann.get(f"{manage}/{tab}").text).xpath('//tr[@data-grant]')
        return [[" ".join(td.text_content().split()) for td in tr.xpath("td")][:3]
                for tr in rows]

    assert cells("acces-utilisateur") == [["Gestionnaire", "utilisateur ann",
                                           "toute la rubrique"]]
    assert cells("acces-population") == [["Visiteur", "tout l'établissement",
                                          "dossier /Comptes rendus"]]
    listing = requests.request("PROPFIND", srv.dav_url + "/rubriques/ca/",
                               auth=("eve", PASSWORD), headers={"Depth": "1"}, timeout=30)
    assert listing.status_code == 207
    assert "Comptes%20rendus" in listing.text


def test_invitation_accepted_and_declined_through_the_pages(srv: Server) -> None:
    new_rubric(srv, "orchestre", ann="manager")
    new_rubric(srv, "echecs", ann="manager")
    ann = signed_in(srv, "ann")
    for slug in ("orchestre", "echecs"):
        manage = f"/rubriques/{slug}/gestion"
        answer = post_form(ann, manage + "/invitations", manage + "/invitations",
                           {"role": "writer", "login": "dora"})
        assert answer.status_code == 303
    assert "dora" in text_of(ann.get("/rubriques/orchestre/gestion/invitations").text,
                             '//table[contains(@class, "pending-invitations")]')
    dora = signed_in(srv, "dora")
    page = dora.get("/invitations/")
    assert text_of(page.text, '//*[@class="badge"]') == "2"
    ids = {tr.findtext('td[@class="name"]'): tr.get("data-invitation")
           for tr in html.fromstring(page.text).xpath("//tr[@data-invitation]")}
    accept = f"/invitations/{ids['Orchestre']}/accepter"
    assert post_form(dora, "/invitations/", accept, {}).status_code == 303
    assert post_form(dora, "/invitations/", f"/invitations/{ids['Echecs']}/refuser",
                     {}).status_code == 303
    assert "orchestre" in dav_rubrics(srv, "dora")
    assert "echecs" not in dav_rubrics(srv, "dora")
    page = dora.get("/invitations/").text
    statuses = {tr.findtext('td[@class="name"]'): tr.findtext('td[@class="status-label"]')
                for tr in html.fromstring(page).xpath("//tr[@data-invitation]")}
    assert statuses == {"Orchestre": "Acceptée", "Echecs": "Refusée"}
    assert not html.fromstring(page).xpath('//*[@class="badge"]')
    assert rows_by_slug(dora.get("/rubriques/").text)["orchestre"].findtext(
        './/td[@class="role"]').strip() == "Rédacteur"

    token = csrf_token(page)
    again = dora.post(accept, {"csrf_token": token})
    assert again.status_code == 409
    assert "accepted" in text_of(again.text, '//*[@role="alert"]')
    assert signed_in(srv, "eve").post(accept, {"csrf_token": token}).status_code == 403
    eve = signed_in(srv, "eve")
    eve_token = csrf_token(eve.get("/invitations/").text)
    assert eve.post(accept, {"csrf_token": eve_token}).status_code == 404


def test_missing_csrf_token_is_403_and_changes_nothing(srv: Server) -> None:
    new_rubric(srv, "danse", ann="manager")
    with srv.transaction() as s:
        invitation = acl.invite(s, "danse", "visitor", "eve")
    ann = signed_in(srv, "ann")
    eve = signed_in(srv, "eve")
    before = snapshot(srv)
    answer = ann.post("/rubriques/danse/gestion/droits",
                      {"role": "manager", "holder": "user", "login": "eve"})
    assert answer.status_code == 403
    assert "jeton de sécurité (CSRF)" in answer.text
    assert ann.post("/rubriques/danse/gestion/reglages", {}).status_code == 403
    assert eve.post(f"/invitations/{invitation.id}/accepter", {}).status_code == 403
    assert snapshot(srv) == before
    assert "danse" not in dav_rubrics(srv, "eve")


BAD_INPUT = [
    ("droits", {"role": "writer", "holder": "user", "login": "zed"}, 400,
     "nobody 'zed' in this school"),
    ("droits", {"role": "writer", "holder": "population", "group": "9Z"}, 400,
     "no group or class '9Z'"),
    ("droits", {"role": "writer", "holder": "population", "subject": "XX"}, 400,
     "no subject 'XX'"),
    ("droits", {"role": "writer", "holder": "everyone", "folder": "/Nulle part"}, 400,
     "no folder '/Nulle part'"),
    ("droits", {"role": "boss", "holder": "user", "login": "dora"}, 400,
     "Le formulaire contient des erreurs"),
    ("droits", {"role": "writer", "holder": "population"}, 400,
     "Choisissez au moins un groupe, un profil ou une discipline."),
    ("invitations", {"role": "writer", "login": "zed"}, 400, "nobody 'zed' in this school"),
    ("invitations", {"role": "writer", "login": "eve"}, 409,
     "eve already has a pending invitation to club"),
    ("sous-rubriques", {"slug": "Bad Slug", "name": "X"}, 400, "invalid slug 'Bad Slug'"),
    ("sous-rubriques", {"slug": "club", "name": "X"}, 409, "rubric 'club' already exists"),
]


@pytest.mark.parametrize("path,fields,status,message", BAD_INPUT,
                         ids=[f"{p}-{m[:18]}" for p, _f, _s, m in BAD_INPUT])
def test_bad_input_shows_the_reason_and_changes_nothing(
        srv: Server, path: str, fields: dict[str, str], status: int, message: str) -> None:
    with srv.transaction() as s:
        if not any(i.login == "eve" and i.status == acl.InvitationStatus.pending
                   for i in acl.invitations_of(s, "club")):
            acl.invite(s, "club", "visitor", "eve")
    ann = signed_in(srv, "ann")
    before = snapshot(srv)
    tab = {"droits": "acces-population" if fields.get("holder") != "user"
           else "acces-utilisateur", "invitations": "invitations"}.get(path, "")
    answer = post_form(ann, "/rubriques/club/gestion" + (f"/{tab}" if tab else ""),
                       "/rubriques/club/gestion/" + path, fields)
    assert answer.status_code == status
    assert message in text_of(answer.text, '//*[@role="alert"]') + \
        text_of(answer.text, '//*[@class="field-error"]')
    assert snapshot(srv) == before


def test_sub_rubric_and_settings(srv: Server) -> None:
    new_rubric(srv, "sport", ann="manager", ben="visitor")
    ann = signed_in(srv, "ann")
    manage = "/rubriques/sport/gestion"
    answer = post_form(ann, manage, manage + "/sous-rubriques",
                       {"slug": "sport-unss", "name": "UNSS", "inherit": "y",
                        "shared_folders": "y"})
    assert answer.status_code == 303
    assert {"sport", "sport-unss"} <= dav_rubrics(srv, "ben")  # inherited visitor
    sub = "/rubriques/sport-unss/gestion"
    assert ann.get(sub).status_code == 200  # inherited manager
    answer = post_form(ann, sub, sub + "/generalites", {"name": "UNSS"})  # no inherit
    assert answer.status_code == 303
    assert "sport-unss" not in dav_rubrics(srv, "ben")
    assert ann.get(sub).status_code == 200  # kept by a grant of her own
    answer = post_form(ann, manage + "/services", manage + "/services", {})  # all off
    assert answer.status_code == 303
    assert "sport" not in dav_rubrics(srv, "ben")
    row = rows_by_slug(ann.get("/rubriques/").text)["sport"]
    assert row.findtext('.//td[@class="dav"]/span').strip() == "dossiers partagés désactivés"
    with srv.transaction() as s:
        assert acl.get_rubric(s, "sport").services == ()
        assert acl.get_rubric(s, "sport-unss").inherit_grants is False


def browser_sign_in(page: Page, login: str) -> None:
    page.goto("/login")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.one_database  # a browser walk, checked over HTTP on both
@pytest.mark.clients
def test_invitation_flow_in_chromium(srv: Server) -> None:
    """A manager invites through the page, the invitee sees the count in the header,
    accepts, and finds the rubric with the role, in headless Chromium."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    new_rubric(srv, "cinema", ann="manager")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            manager = browser.new_context(base_url=srv.base_url).new_page()
            browser_sign_in(manager, "ann")
            manager.goto("/rubriques/")
            manager.locator('tr[data-slug="cinema"]').get_by_role("link", name="Gérer").click()
            manager.get_by_role("navigation", name="Onglets de gestion").get_by_role(
                "link", name="Invitations").click()
            invite = manager.locator("form.invite")
            invite.get_by_label("Rôle").select_option(label="Rédacteur")
            invite.get_by_label("Personne").fill("fred")
            invite.get_by_role("button", name="Inviter").click()
            expect(manager.get_by_role("status")).to_have_text(
                "Invitation envoyée à fred (Rédacteur).")

            guest = browser.new_context(base_url=srv.base_url).new_page()
            violations: list[str] = []
            guest.on("console", lambda m: violations.append(m.text)
                     if "Content Security Policy" in m.text else None)
            browser_sign_in(guest, "fred")
            expect(guest.locator(".invitations-link .badge")).to_have_text("1")
            guest.get_by_role("link", name=re.compile("^Invitations")).click()
            row = guest.locator("tr", has_text="Cinema")
            expect(row.locator(".status-label")).to_have_text("En attente")
            row.get_by_role("button", name="Accepter").click()
            expect(guest.get_by_role("status")).to_have_text(
                "Invitation acceptée : vous êtes maintenant Rédacteur de la rubrique "
                "« Cinema ».")
            expect(guest.locator(".invitations-link .badge")).to_have_count(0)
            guest.get_by_role("link", name="Rubriques").click()
            expect(guest.locator('tr[data-slug="cinema"] .role')).to_have_text("Rédacteur")
            assert violations == []
        finally:
            browser.close()
    assert "cinema" in dav_rubrics(srv, "fred")
