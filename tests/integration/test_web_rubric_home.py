"""A rubric's home page and its management tabs (issue 20, "Rubrics in the browser"),
over plain HTTP against a real server process, on SQLite and on PostgreSQL (the
search's ``ILIKE``, the image's bytes column and the contributions' query differ):

* who gets what: the manager every tab, a reader the home page only when it is on,
  an outsider 404 everywhere, the image and the search included;
* Généralités, Encadré (text cleaned by nh3, image sniffed and served inert) and
  Services (chosen and ordered), each change visible on the home page;
* the latest contributions: published files only, only those the reader may read;
* the pickers' search: the rubric's school only, names and classes but never an
  e-mail; a student manager finds only the staff and their classmates; a picked or
  typed name becomes the right grant, an ambiguous one is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lxml import html

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.test_web_rich_text_browser import png
from tests.web import WebClient

SLUG = "journal"
MANAGE = f"/rubriques/{SLUG}/gestion"
HOME = f"/rubriques/{SLUG}/"
TABS = ["", "/encadre", "/services", "/acces-population", "/acces-utilisateur",
        "/invitations"]
PEOPLE = {  # login: (display name, profile, school, class)
    "emma": ("Emma Roux", "student", "A", "4B"),
    "lea1": ("Léa Martin", "student", "A", "4B"),
    "lea2": ("Léa Martin", "student", "A", "3C"),
    "paul": ("Paul Durand", "teacher", "A", None),
    "zoe": ("Zoé Ailleurs", "student", "B", "4B"),
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Two schools; rubric ``journal`` of school A: gil manager, rita visitor of the
    folder /Affiches only, carl writer; otto has no role. Named people of both
    schools for the search, with e-mail addresses that must never be answered."""
    users = {"gil": "teacher", "rita": "student", "carl": "teacher", "otto": "student"}
    with running_server(tmp_path_factory.mktemp("rubric-home"), users=users) as server:
        with server.transaction() as s:
            schools = {"A": acl.ensure_school(s, "Collège Jean Moulin"),
                       "B": acl.ensure_school(s, "Lycée Voltaire")}
            for login, (name, profile, school, klass) in PEOPLE.items():
                user = acl.create_user(s, login, PASSWORD, profile, display_name=name,
                                       email=f"{login}@example.org")
                acl.join_school(s, user.id, schools[school])
                if klass:
                    acl.add_member(s, acl.ensure_group(s, schools[school], klass, "class"),
                                   user.id)
            acl.ensure_subject(s, schools["A"], "HG", "Histoire-géographie")
            acl.ensure_subject(s, schools["B"], "PHI", "Philosophie")
            acl.add_rubric(s, SLUG, "Journal du collège", school_id=schools["A"])
            acl.grant(s, SLUG, "manager", user="gil")
            acl.grant(s, SLUG, "writer", user="carl")
        yield server


def client(server: Server, login: str) -> WebClient:
    web = WebClient(server)
    assert web.login(login, PASSWORD).status_code == 302
    return web


def dav(server: Server, method: str, path: str, login: str, data: bytes | None = None
        ) -> requests.Response:
    return requests.request(method, f"{server.dav_url}/rubriques/{SLUG}/{path}",
                            data=data, auth=(login, PASSWORD), timeout=30)


def form_post(web: WebClient, page: str, action: str, fields: dict[str, str],
              files: dict[str, Any] | None = None) -> requests.Response:
    """Submit the form of ``page`` whose action is ``action`` with its own token;
    names get the form's prefix (``general-name``)."""
    shown = web.get(page)
    assert shown.status_code == 200, shown.text
    form = html.fromstring(shown.text).xpath(f'//form[@action="{action}"]')[0]
    token = form.xpath('.//input[contains(@name, "csrf_token")]')[0]
    prefix = token.get("name").removesuffix("csrf_token")
    return web.post(action, {token.get("name"): token.get("value"),
                             **{prefix + k: v for k, v in fields.items()}}, files=files)


def text(page: str, xpath: str) -> str:
    return " ".join(" ".join("".join(n.itertext()) for n in
                             html.fromstring(page).xpath(xpath)).split())


def test_rights_manager_reader_outsider(srv: Server) -> None:
    """Tabs: manager 200, a reader 403, an outsider 404. Home page: off, the reader
    gets 404 and the manager sees it with a notice; on, the reader sees it; the
    outsider never. The search answers the manager only."""
    with srv.transaction() as s:
        acl.grant(s, SLUG, "visitor", user="otto")  # a reader for this test only
    gil, otto, carl = client(srv, "gil"), client(srv, "otto"), client(srv, "carl")
    outsider = client(srv, "emma")
    try:
        for tab in TABS:
            assert gil.get(MANAGE + tab).status_code == 200, tab
            assert otto.get(MANAGE + tab).status_code == 403, tab
            assert outsider.get(MANAGE + tab).status_code == 404, tab
        assert gil.get(MANAGE + "/nulle-part").status_code == 404
        search = MANAGE + "/recherche/personnes?q=Ma"
        assert gil.get(search).status_code == 200
        assert otto.get(search).status_code == 403
        assert outsider.get(search).status_code == 404
        assert gil.get(MANAGE + "/recherche/personnes?q=" + "x" * 101).status_code == 400

        assert otto.get(HOME).status_code == 404  # off: readers do not see it
        page = gil.get(HOME)
        assert page.status_code == 200
        assert "seuls les gestionnaires la voient" in text(page.text, '//p[@class="notice '
                                                           'manage-link"]')
        answer = form_post(gil, MANAGE, MANAGE + "/generalites",
                           {"name": "Journal du collège", "home_page": "y"})
        assert answer.status_code == 303
        assert otto.get(HOME).status_code == 200
        assert carl.get(HOME).status_code == 200
        assert outsider.get(HOME).status_code == 404
        assert outsider.get(HOME + "image").status_code == 404
        assert outsider.get("/rubriques/nulle-part/").status_code == 404
        rows = html.fromstring(otto.get("/rubriques/").text).xpath(
            f'//tr[@data-slug="{SLUG}"]//td[@class="name"]/a/@href')
        assert rows == [HOME]
    finally:
        with srv.transaction() as s:
            acl.revoke(s, SLUG, "visitor", user="otto")


def test_general_box_and_services_show_on_the_home_page(srv: Server) -> None:
    gil, carl = client(srv, "gil"), client(srv, "carl")
    answer = form_post(gil, MANAGE, MANAGE + "/generalites",
                       {"name": "  Le   journal  ", "home_page": "y"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(MANAGE)
    with srv.transaction() as s:
        assert acl.get_rubric(s, SLUG).name == "Le journal"
    bad = form_post(gil, MANAGE, MANAGE + "/generalites", {"name": " ", "home_page": "y"})
    assert bad.status_code == 400

    box = MANAGE + "/encadre"
    answer = form_post(gil, box, box, {
        "body": '<h2>Bienvenue</h2><p onclick="alert(1)">Le <b>journal</b> '
                '<a href="javascript:alert(2)">ici</a></p><script>alert(3)</script>',
        "image_alt": "Une de la semaine"},
        files={"box-image": ("une.png", png(), "image/png")})
    assert answer.status_code == 303, answer.text
    home = carl.get(HOME).text
    box_html = html.tostring(html.fromstring(home).xpath('//section[@class="rubric-box"]')[0],
                             encoding="unicode")
    assert "<h2>Bienvenue</h2>" in box_html and "<b>journal</b>" in box_html
    for bad_part in ("onclick", "javascript:", "<script", "alert(3)"):
        assert bad_part not in box_html
    src = html.fromstring(home).xpath('//img[@class="rubric-box-image"]')[0]
    assert src.get("alt") == "Une de la semaine"
    image = carl.get(src.get("src"))
    assert image.status_code == 200 and image.content == png()
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.headers["Content-Security-Policy"].startswith("sandbox")
    assert image.headers["Content-Disposition"] == "inline"
    again = carl.get(src.get("src"), headers={"If-None-Match": image.headers["ETag"]})
    assert again.status_code == 304

    # Not a picture (an SVG, HTML named .png), or too large: refused, nothing changed.
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for name, data in (("x.svg", svg), ("x.png", b"<html><script>alert(1)</script>"),
                       ("big.png", png()[:8] + b"\0" * (2 * 1024 * 1024))):
        refused = form_post(gil, box, box, {"body": "autre"},
                            files={"box-image": (name, data, "image/png")})
        assert refused.status_code == 400, name
        assert "Rien n'a été modifié" in text(refused.text, '//*[@role="alert"]')
        assert carl.get(src.get("src")).content == png()
    assert "Bienvenue" in carl.get(HOME).text

    answer = form_post(gil, box, box, {"body": "Sans image", "drop_image": "y"})
    assert answer.status_code == 303
    assert carl.get(HOME + "image").status_code == 404
    assert "Sans image" in text(carl.get(HOME).text, '//section[@class="rubric-box"]')

    services = MANAGE + "/services"
    shown = html.fromstring(gil.get(services).text)
    assert shown.xpath('//tr[@data-service]/@data-service') == ["shared-folders"]
    off = form_post(gil, services, services, {})
    assert off.status_code == 303
    assert "Aucun service" in carl.get(HOME).text
    assert "Dernières contributions" not in carl.get(HOME).text
    for fields, message in (({"service": "forum"}, "unknown service 'forum'"),
                            ({"service": "shared-folders", "position-shared-folders": "²"},
                             "must be a whole number")):
        refused = form_post(gil, services, services, fields)
        assert refused.status_code == 400
        assert message in text(refused.text, '//*[@role="alert"]')
    on = form_post(gil, services, services, {"service": "shared-folders",
                                             "position-shared-folders": "1"})
    assert on.status_code == 303
    with srv.transaction() as s:
        assert acl.get_rubric(s, SLUG).services == ("shared-folders",)
    links = html.fromstring(carl.get(HOME).text).xpath('//ul[@class="services"]//a/@href')
    assert links == [f"/documents/rubriques/{SLUG}/"]


def test_latest_contributions_are_published_and_readable(srv: Server) -> None:
    with srv.transaction() as s:
        acl.configure(s, SLUG, services=["shared-folders"])
    gil = client(srv, "gil")
    answer = form_post(gil, MANAGE, MANAGE + "/generalites",
                       {"name": "Journal du collège", "home_page": "y"})
    assert answer.status_code == 303
    for folder in ("Affiches", "Coulisses"):
        assert dav(srv, "MKCOL", folder + "/", "gil").status_code == 201
    assert dav(srv, "PUT", "Affiches/f%C3%AAte%20%231.txt", "gil", b"affiche").status_code == 201
    assert dav(srv, "PUT", "Coulisses/budget.txt", "gil", b"budget").status_code == 201
    assert dav(srv, "PUT", "brouillon.txt", "carl", b"en attente").status_code == 201
    offered = html.fromstring(gil.get(MANAGE + "/acces-utilisateur").text).xpath(
        '//datalist[@id="folders-list"]/option/@value')
    assert offered == ["/Affiches", "/Coulisses"]
    grant = form_post(gil, MANAGE + "/acces-utilisateur", MANAGE + "/droits",
                      {"role": "visitor", "holder": "user", "login": "rita",
                       "folder": "/Affiches"})
    assert grant.status_code == 303

    def listed(login: str) -> list[str]:
        page = client(srv, login).get(HOME)
        assert page.status_code == 200, login
        return [a.text for a in html.fromstring(page.text).xpath('//ul[@class="latest"]//a')]

    assert listed("gil") == ["budget.txt", "fête #1.txt"]  # newest first; none pending
    assert listed("carl") == ["budget.txt", "fête #1.txt"]
    assert listed("rita") == ["fête #1.txt"]  # /Coulisses is not hers
    link = html.fromstring(client(srv, "rita").get(HOME).text).xpath(
        '//ul[@class="latest"]//a/@href')[0]
    assert link == f"/documents/rubriques/{SLUG}/Affiches/f%C3%AAte%20%231.txt"
    assert client(srv, "rita").get(link).content == b"affiche"


def test_search_answers_only_the_rubric_school_and_no_contact(srv: Server) -> None:
    gil = client(srv, "gil")
    found = gil.get(MANAGE + "/recherche/personnes?q=martin").json()["results"]
    assert [r["value"] for r in found] == ["Léa Martin (lea1)", "Léa Martin (lea2)"]
    assert found[0]["label"] == "Élève, 4B"
    everyone = gil.get(MANAGE + "/recherche/personnes?q=o").json()["results"]
    assert everyone == []  # one letter: nothing
    answer = gil.get(MANAGE + "/recherche/personnes?q=ou")
    assert answer.headers["Cache-Control"] == "no-store"
    values = [r["value"] for r in answer.json()["results"]]
    assert "Emma Roux (emma)" in values
    assert not any("zoe" in v for v in values)  # the other school
    assert "@" not in answer.text
    assert gil.get(MANAGE + "/recherche/groupes?q=").json()["results"] == [
        {"value": "3C", "label": ""}, {"value": "4B", "label": ""}]
    assert gil.get(MANAGE + "/recherche/disciplines?q=geo").json()["results"] == []
    assert gil.get(MANAGE + "/recherche/disciplines?q=géo").json()["results"] == [
        {"value": "HG", "label": "Histoire-géographie"}]
    assert gil.get(MANAGE + "/recherche/disciplines?q=philo").json()["results"] == []

    # A student who manages a club finds the staff and their classmates only.
    with srv.transaction() as s:
        acl.add_rubric(s, "club-4b", "Club des 4B", parent=SLUG, inherit_grants=False)
        acl.grant(s, "club-4b", "manager", user="emma")
    emma = client(srv, "emma")
    found = emma.get("/rubriques/club-4b/gestion/recherche/personnes?q=martin").json()
    assert [r["value"] for r in found["results"]] == ["Léa Martin (lea1)"]
    found = emma.get("/rubriques/club-4b/gestion/recherche/personnes?q=paul").json()
    assert [r["value"] for r in found["results"]] == ["Paul Durand (paul)"]


@pytest.mark.parametrize("typed,status,holder", [
    ("Léa Martin (lea2)", 303, "lea2"),
    ("Emma Roux", 303, "emma"),
    ("emma", 303, "emma"),
    ("Léa Martin", 400, None),
    ("Zoé Ailleurs (zoe)", 404, None),
], ids=["picked", "typed-name", "login", "ambiguous", "other-school"])
def test_picked_names_become_grants(srv: Server, typed: str, status: int,
                                    holder: str | None) -> None:
    gil = client(srv, "gil")
    tab = MANAGE + "/acces-utilisateur"
    answer = form_post(gil, tab, MANAGE + "/droits",
                       {"role": "writer", "holder": "user", "login": typed})
    assert answer.status_code == (status if status != 404 else 400), answer.text
    with srv.transaction() as s:
        writers = {g.login for g in acl.grants_of(s, SLUG)
                   if g.role == acl.Role.writer and g.login}
        if holder is not None:
            assert holder in writers
            acl.revoke(s, SLUG, "writer", user=holder)
        else:
            assert writers == {"carl"}
    if status == 400:
        assert "plusieurs" in text(answer.text, '//*[@role="alert"]') or \
            "several people" in text(answer.text, '//*[@role="alert"]')
    if status == 404:
        assert "nobody" in text(answer.text, '//*[@role="alert"]')


def test_a_parent_the_reader_cannot_see_is_not_named(srv: Server) -> None:
    """A sub-rubric that does not inherit its parent's grants: its reader, who holds
    nothing in the parent, does not learn the parent's name from the breadcrumbs."""
    with srv.transaction() as s:
        school = acl.find_rubric(s, SLUG).school_id  # type: ignore[union-attr]
        acl.add_rubric(s, "conseil-secret", "Conseil secret", school_id=school)
        acl.add_rubric(s, "club-ouvert", "Club ouvert", parent="conseil-secret",
                       inherit_grants=False)
        acl.grant(s, "club-ouvert", "manager", user="emma")
    page = client(srv, "emma").get("/rubriques/club-ouvert/")
    assert page.status_code == 200, page.text
    assert "Club ouvert" in page.text and "Conseil secret" not in page.text


def test_a_reader_of_a_quiet_folder_sees_its_latest_files(srv: Server) -> None:
    """A reader whose rights cover one quiet folder sees its files on the home page,
    however many newer files the busy rest of the rubric holds (the page once looked
    at the 50 newest files of the space only, all out of her reach: « Aucune
    contribution »). The others see the 10 newest of the busy folder."""
    with srv.transaction() as s:
        school = acl.find_rubric(s, SLUG).school_id  # type: ignore[union-attr]
        gazette = acl.add_rubric(s, "gazette", "La gazette", school_id=school)
        acl.set_general(s, "gazette", name="La gazette", home_page=True)
        acl.grant(s, "gazette", "manager", user="gil")
    with srv.app() as app:
        space = app.store.ensure_space("rubric", rubric_id=gazette.id)
        for folder in ("/Calme", "/Agitation"):
            app.store.make_collection(space.id, folder)
        app.store.commit_write(space.id, "/Calme/compte-rendu.txt", None)
        for i in range(60):
            app.store.commit_write(space.id, f"/Agitation/note-{i:02d}.txt", None)
        quiet = app.store.resolve(space.id, "/Calme")
        assert quiet is not None
    with srv.transaction() as s:
        acl.grant(s, "gazette", "visitor", user="rita", folder_node_id=quiet.id)

    def listed(login: str) -> list[str]:
        page = client(srv, login).get("/rubriques/gazette/")
        assert page.status_code == 200, login
        return [a.text for a in html.fromstring(page.text).xpath('//ul[@class="latest"]//a')]

    assert listed("rita") == ["compte-rendu.txt"]
    assert listed("gil") == [f"note-{i:02d}.txt" for i in range(59, 49, -1)]


def test_a_manager_is_judged_by_their_profile_in_the_rubric_s_school(srv: Server) -> None:
    """max teaches in school A and is a student of 2nde 1 in school B, where he runs a
    club: searching for people there he finds the staff and his classmates of B, not
    every student of B (his home school's teacher profile once counted), and he is
    shown as a student there."""
    with srv.transaction() as s:
        school_a = acl.ensure_school(s, "Collège Jean Moulin")
        school_b = acl.ensure_school(s, "Lycée Voltaire")
        people = {"max": ("Max Double", "teacher"), "yann": ("Yann Autreclasse", "student"),
                  "vera": ("Véra Prof", "teacher"), "ines": ("Inès Camarade", "student")}
        users = {login: acl.create_user(s, login, PASSWORD, profile, display_name=name)
                 for login, (name, profile) in people.items()}
        acl.join_school(s, users["max"].id, school_a)  # home school: a teacher there
        acl.join_school(s, users["max"].id, school_b, acl.Profile.student)
        for login in ("yann", "vera", "ines"):
            acl.join_school(s, users[login].id, school_b)
        second = acl.ensure_group(s, school_b, "2nde 1", "class")
        for login in ("max", "ines"):
            acl.add_member(s, second, users[login].id)
        acl.add_member(s, acl.ensure_group(s, school_b, "2nde 2", "class"), users["yann"].id)
        acl.add_rubric(s, "club-echecs", "Club d'échecs", school_id=school_b)
        acl.grant(s, "club-echecs", "manager", user="max")
    max_ = client(srv, "max")
    search = "/rubriques/club-echecs/gestion/recherche/personnes?q="

    def found(query: str) -> list[dict[str, str]]:
        answer = max_.get(search + query)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["results"])

    assert found("prof") == [{"value": "Véra Prof (vera)", "label": "Enseignant"}]
    assert found("camarade") == [{"value": "Inès Camarade (ines)", "label": "Élève, 2nde 1"}]
    assert found("autreclasse") == []  # a student of another class of B
    assert found("double") == [{"value": "Max Double (max)", "label": "Élève, 2nde 1"}]
    tab = "/rubriques/club-echecs/gestion/acces-utilisateur"
    refused = form_post(max_, tab, "/rubriques/club-echecs/gestion/droits",
                        {"role": "writer", "holder": "user", "login": "yann"})
    assert refused.status_code == 400 and "nobody" in text(refused.text, '//*[@role="alert"]')
    taken = form_post(max_, tab, "/rubriques/club-echecs/gestion/droits",
                      {"role": "writer", "holder": "user", "login": "Inès Camarade"})
    assert taken.status_code == 303, taken.text


def test_an_encadre_change_is_in_the_head_s_journal(srv: Server) -> None:
    """Who changed which rubric's encadré, and when, is in the security journal of
    the rubric's school, as grants and invitations are; the text itself is not."""
    with srv.transaction() as s:
        school = acl.find_rubric(s, SLUG).school_id  # type: ignore[union-attr]
        head = acl.create_user(s, "hugo", PASSWORD, "head", display_name="Hugo Martin")
        acl.join_school(s, head.id, school)
    box = MANAGE + "/encadre"
    answer = form_post(client(srv, "gil"), box, box,
                       {"body": "<p>Réunion secrète du comité mardi</p>"})
    assert answer.status_code == 303, answer.text
    page = client(srv, "hugo").get("/journal/", params={"type": "rubric_box_changed"})
    assert page.status_code == 200
    rows = html.fromstring(page.text).xpath('//tr[@data-kind="rubric_box_changed"]')
    assert rows, page.text
    row = rows[0]
    assert text(html.tostring(row, encoding="unicode"), '//td[@class="who"]') == "gil"
    assert text(html.tostring(row, encoding="unicode"), '//td[@class="place"]') \
        == f"/rubriques/{SLUG}"
    assert "Encadré de rubrique modifié" in row.text_content()
    assert "text : changed" in row.text_content()
    assert "secrète" not in page.text
