"""A rubric manager's walk through the guide's tabs and the rubric's home page
(issue 20, "Rubrics in the browser"), in Chromium at 1366 px and at 390 px, with the
axe check and screenshots on every page (``ENT_SCREENSHOTS`` keeps them):

Généralités (home page on), Encadré (Quill's editor, an image), Services, Accès
utilisateur (a person picked in the list the search fills as one types), Accès
population (a class from the list), Invitations; then the home page as the manager
and as a reader, whose image really loads under the page's Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.test_web_accessibility import (
    axe_problems,
    browser,  # noqa: F401
    shots,
    sideways,
    signed_in_page,
)
from tests.integration.test_web_rich_text_browser import png, watch

# A browser walk: the rights and the database's part are proven over HTTP on both
# databases (test_web_rubric_home.py).
pytestmark = [pytest.mark.one_database, pytest.mark.clients]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One school, class 4B with Léa Martin and Emma Roux; gil manages the rubrics of
    the walk, rita reads them."""
    with running_server(tmp_path_factory.mktemp("rubric-walk"),
                        users={"gil": "teacher", "rita": "student"}) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            group = acl.ensure_group(s, school, "4B", "class")
            for login, name in (("lea", "Léa Martin"), ("emma", "Emma Roux")):
                user = acl.create_user(s, login, PASSWORD, "student", display_name=name)
                acl.add_member(s, group, user.id)
            for slug in ("journal-phone", "journal-desktop"):
                acl.add_rubric(s, slug, "Journal")
                acl.grant(s, slug, "manager", user="gil")
                acl.grant(s, slug, "visitor", user="rita")
        yield server


def check(page: Page, folder: Path, name: str, width: str, problems: dict[str, list[str]]
          ) -> None:
    """The axe check, no sideways scrolling on a phone, and a screenshot."""
    found = axe_problems(page)
    if width == "phone" and (extra := sideways(page)) > 0:
        found.append(f"scrolls sideways by {extra} px")
    if found:
        problems[name] = found
    page.screenshot(path=str(folder / f"rubric-{width}-{name}.png"), full_page=True)


def tab(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Onglets de gestion").get_by_role(
        "link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=2, name=name)).to_be_visible()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_manager_walks_the_tabs_and_the_reader_sees_the_home_page(
        srv: Server, browser: Browser, tmp_path: Path, width: str) -> None:  # noqa: F811
    """About 10 s per width (axe runs on nine pages)."""
    slug = f"journal-{width}"
    folder = shots(tmp_path)
    problems: dict[str, list[str]] = {}
    gil = signed_in_page(srv, browser, "gil", width)
    seen = watch(gil)
    gil.goto(f"/rubriques/{slug}/gestion")
    check(gil, folder, "generalites", width, problems)

    general = gil.locator("form.general")
    general.get_by_label("Nom de la rubrique").fill("Journal du collège")
    general.get_by_label("Afficher une page d'accueil").check()
    general.get_by_role("button", name="Enregistrer").click()
    expect(gil.get_by_role("status")).to_have_text("Généralités enregistrées.")

    tab(gil, "Encadré")
    box = gil.locator("form.box")
    editor = box.locator(".ql-editor[role=textbox]")  # Quill's, once the script ran
    expect(editor).to_be_visible()
    expect(box.get_by_role("textbox", name="Texte de l'encadré")).to_have_count(1)
    editor.click()
    box.get_by_role("toolbar").get_by_role("button", name="Gras").click()
    gil.keyboard.type("Bienvenue")
    box.get_by_role("toolbar").get_by_role("button", name="Gras").click()
    gil.keyboard.type(" au journal des élèves.")
    box.get_by_label("Image (PNG").set_input_files(
        files=[{"name": "une.png", "mimeType": "image/png", "buffer": png(120, 60)}])
    box.get_by_label("Description de l'image").fill("La une de la semaine")
    check(gil, folder, "encadre", width, problems)
    box.get_by_role("button", name="Enregistrer l'encadré").click()
    expect(gil.get_by_role("status")).to_have_text("Encadré enregistré.")
    expect(gil.get_by_role("img", name="La une de la semaine")).to_be_visible()

    tab(gil, "Services")
    expect(gil.get_by_role("checkbox", name="Dossiers partagés")).to_be_checked()
    check(gil, folder, "services", width, problems)

    tab(gil, "Accès utilisateur")
    person = gil.get_by_role("combobox", name="Personne")
    person.press_sequentially("Mart", delay=30)
    expect(gil.locator("#people-list option")).to_have_count(1)
    picked = gil.locator("#people-list option").first.get_attribute("value")
    assert picked == "Léa Martin (lea)"
    person.fill(picked)
    gil.locator("form.grant").get_by_label("Rôle").select_option(label="Rédacteur")
    check(gil, folder, "acces-utilisateur", width, problems)
    gil.get_by_role("button", name="Donner le droit").click()
    expect(gil.get_by_role("status")).to_have_text("Droit ajouté : Rédacteur.")
    expect(gil.locator("table.grants")).to_contain_text("utilisateur Léa Martin")

    tab(gil, "Accès population")
    group = gil.get_by_role("combobox", name="Groupe ou classe")
    group.press_sequentially("4", delay=30)
    expect(gil.locator("#groups-list option")).to_have_count(1)
    group.fill("4B")
    check(gil, folder, "acces-population", width, problems)
    gil.get_by_role("button", name="Donner le droit").click()
    expect(gil.get_by_role("status")).to_have_text("Droit ajouté : Visiteur.")
    expect(gil.locator("table.grants")).to_contain_text("groupe 4B")

    tab(gil, "Invitations")
    check(gil, folder, "invitations", width, problems)

    gil.get_by_role("navigation", name="Fil d'Ariane").get_by_role(
        "link", name="Journal du collège").click()
    expect(gil.get_by_role("heading", level=1)).to_have_text("Journal du collège")
    check(gil, folder, "accueil-gestionnaire", width, problems)
    assert seen == []

    rita = signed_in_page(srv, browser, "rita", width)
    rita_seen = watch(rita)
    rita.goto("/rubriques/")
    rita.locator(f'tr[data-slug="{slug}"]').get_by_role("link",
                                                        name="Journal du collège").click()
    box_shown = rita.locator("section.rubric-box")
    expect(box_shown.locator("strong, b")).to_have_text("Bienvenue")
    image = rita.get_by_role("img", name="La une de la semaine")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 120  # loaded, not blocked
    expect(rita.get_by_role("link", name="Dossiers partagés")).to_be_visible()
    expect(rita.get_by_role("link", name="Gérer la rubrique")).to_have_count(0)
    check(rita, folder, "accueil-lecteur", width, problems)
    assert rita_seen == []
    gil.context.close()
    rita.context.close()
    assert problems == {}


def test_the_tabs_work_without_javascript(srv: Server, browser: Browser) -> None:  # noqa: F811
    """Scripts off: every tab is a link to its own page, the encadré is a plain text
    area whose typed lines are kept, and a person's full name typed (no list to pick
    from) gives the grant."""
    with srv.transaction() as s:
        acl.add_rubric(s, "sans-script", "Sans script")
        acl.grant(s, "sans-script", "manager", user="gil")
    context = browser.new_context(base_url=srv.base_url, java_script_enabled=False,
                                  viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Identifiant").fill("gil")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/rubriques/sans-script/gestion")
    page.get_by_label("Afficher une page d'accueil").check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_have_text("Généralités enregistrées.")

    tab(page, "Encadré")
    page.get_by_label("Texte de l'encadré").fill("Première ligne\nseconde ligne")
    page.get_by_role("button", name="Enregistrer l'encadré").click()
    expect(page.get_by_role("status")).to_have_text("Encadré enregistré.")

    tab(page, "Accès utilisateur")
    page.get_by_role("combobox", name="Personne").fill("Emma Roux")
    page.get_by_role("button", name="Donner le droit").click()
    expect(page.get_by_role("status")).to_have_text("Droit ajouté : Visiteur.")
    expect(page.locator("table.grants")).to_contain_text("utilisateur Emma Roux")

    page.goto("/rubriques/sans-script/")
    expect(page.locator("section.rubric-box p")).to_have_text("Première ligneseconde ligne")
    assert "<br>" in page.locator("section.rubric-box p").inner_html()
    context.close()
