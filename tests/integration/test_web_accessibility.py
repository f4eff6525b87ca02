"""Phones and accessibility (issue 20, "Phones and accessibility"), in Chromium against
a real server with the school of :mod:`tests.integration.homework_kit`:

* at 390 px wide no main page is wider than the screen
  (``document.documentElement.scrollWidth <= 390``: the home page, a porte-documents
  folder, the week, a rubric's home page, the preferences...), the navigation folds
  into « Menu », and « Se déconnecter » is reached through it; at 1366 px the
  navigation shows;
* the « Mon établissement » column lists the school's rubrics beside the content at
  1366 px, and is folded above it at 390 px;
* a skip link comes first in the tab order and takes the focus to the content; the
  focus is visible;
* axe-core (vendored, ``tests/vendor/axe-core``: no network at test time) finds no
  serious or critical violation of WCAG 2.1 A and AA on the main pages of a teacher,
  a student, a parent and an administrator, at both widths. Each page's screenshot is
  kept in the test's temporary folder (``ENT_SCREENSHOTS``, when set, names a folder
  to keep them in).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.homework_kit import SCHOOL, build_school, rooms_for_teachers
from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS

pytestmark = [pytest.mark.clock("2026-09-08T10:00 Europe/Paris"), pytest.mark.one_database,
              pytest.mark.clients]

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
IDS: dict[str, int] = {}
LONG_NAME = "Chapitre 4 - Fractions et nombres rationnels, exercices corrigés.pdf"
WIDTHS = {"phone": (390, 844), "desktop": (1366, 900)}
SERIOUS = {"serious", "critical"}


def pages_of(login: str) -> list[str]:
    """The main pages each profile reaches from the navigation."""
    common = ["/", "/connecter", "/documents/", "/booking/", "/rubriques/", "/corbeille/",
              "/notifications/", "/invitations/", "/accueil/organiser",
              "/rubriques/vie-scolaire/", "/account/preferences"]
    if login == "ann":
        return [*common, "/documents/porte-documents/", "/textbook/?week=2026-09-07",
                "/textbook/?week=2026-09-07&vue=liste",
                f"/textbook/seances/{IDS['M1']}", f"/textbook/activites/{IDS['H1']}/modifier",
                "/textbook/seances/nouvelle", "/textbook/corbeille", "/binder/"]
    if login == "ada":  # the school's administrator
        return ["/", "/documents/", "/textbook/controle/", "/journal/", "/imports/",
                "/textbook/types-de-travail/", "/notifications/"]
    if login == "ben":
        return [*common, "/textbook/travail/?week=2026-09-07", "/textbook/?week=2026-09-07",
                f"/textbook/seances/{IDS['M1']}"]
    return [*common, "/textbook/travail/?week=2026-09-07&enfant=zoe",
            "/textbook/?week=2026-09-07"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("a11y")) as server:
        IDS.update(build_school(server))
        rooms_for_teachers(server)  # ann's home page has « Mes réservations à venir »
        # A long name in the file table, as teachers name their files.
        put = requests.put(f"{server.base_url}/dav/porte-documents/{LONG_NAME}",
                           data=b"%PDF-1.4 cours", auth=("ann", PASSWORD), timeout=30)
        assert put.status_code == 201, put.text
        # The school's rubrics, for the « Mon établissement » column and a home page.
        with server.transaction() as s:
            school = acl.ensure_school(s, SCHOOL)
            acl.add_rubric(s, "vie-scolaire", "Vie scolaire", school_id=school)
            acl.grant(s, "vie-scolaire", acl.Role.visitor, pop=acl.Population())
            acl.set_general(s, "vie-scolaire", name="Vie scolaire", home_page=True)
            acl.set_box(s, "vie-scolaire", box_html="<p>Les informations du collège.</p>")
            acl.add_rubric(s, "cdi", "CDI — centre de documentation et d'information",
                           parent="vie-scolaire")
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def shots(tmp_path: Path) -> Path:
    kept = os.environ.get("ENT_SCREENSHOTS")
    folder = Path(kept) if kept else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def signed_in_page(srv: Server, browser: Browser, login: str, width: str) -> Page:
    """A new context at ``width``, axe injected in every document (an init script,
    which the page's Content-Security-Policy does not block), signed in as ``login``."""
    w, h = WIDTHS[width]
    context = browser.new_context(base_url=srv.base_url, viewport={"width": w, "height": h})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("main")).to_be_visible()
    return page


def axe_problems(page: Page) -> list[str]:
    """The serious and critical WCAG 2.1 A/AA violations axe finds on the page, as
    « rule: target (impact) » lines. Run once the page has loaded (its colours and
    sizes are its stylesheets': see :func:`sideways`)."""
    page.wait_for_load_state("load")
    result: dict[str, Any] = page.evaluate("""async () => await axe.run(document, {
        runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        resultTypes: ["violations"]})""")
    return [f"{v['id']}: {n['target']} ({v['impact']})"
            for v in result["violations"] if v["impact"] in SERIOUS for n in v["nodes"]]


def sideways(page: Page) -> int:
    """How many pixels the page is wider than its window, or than the window's width
    left by a scroll bar (0: it does not scroll sideways). Measured once the page has
    loaded: while its stylesheets are still on their way, a page laid out without them
    is wider than any phone (a CI run once measured 295 px there)."""
    page.wait_for_load_state("load")
    return max(0, int(page.evaluate("""() => {
        const root = document.documentElement;
        return Math.max(root.scrollWidth - root.clientWidth,
                        root.scrollWidth - window.innerWidth); }""")))


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_main_pages_fit_and_pass_axe(srv: Server, browser: Browser, tmp_path: Path,
                                     width: str) -> None:
    """Every main page of ann (teacher), ben (student), paul (parent) and ada (the
    school's administrator): no sideways scrolling, no serious or critical axe
    violation. About 35 pages with axe on each, per width: 30 to 60 s."""
    problems: dict[str, list[str]] = {}
    folder = shots(tmp_path)
    for login in ("ann", "ben", "paul", "ada"):
        page = signed_in_page(srv, browser, login, width)
        for path in pages_of(login):
            answer = page.goto(path)
            assert answer is not None and answer.status == 200, (login, path)
            found = axe_problems(page)
            if width == "phone" and (extra := sideways(page)) > 0:
                found.append(f"scrolls sideways by {extra} px")
            if found:
                problems[f"{login} {path}"] = found
            name = f"{width}-{login}{path}".replace("/", "_").replace("?", "_")[:120]
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        page.context.close()
    assert problems == {}


def test_phone_navigation_folds_into_a_menu(srv: Server, browser: Browser) -> None:
    page = signed_in_page(srv, browser, "ann", "phone")
    page.goto("/documents/")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    nav = page.get_by_role("navigation", name="Navigation principale")
    expect(nav).to_be_hidden()
    sign_out = page.get_by_role("button", name="Se déconnecter")
    expect(sign_out).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Cahier de textes")).to_be_visible()
    expect(sign_out).to_be_visible()
    box = sign_out.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert sideways(page) == 0
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    menu.click()
    sign_out.click()
    expect(page).to_have_url(f"{srv.base_url}/login?logged_out=1")
    page.context.close()

    wide = signed_in_page(srv, browser, "ann", "desktop")
    expect(wide.get_by_role("button", name="Menu")).to_be_hidden()
    expect(wide.get_by_role("navigation", name="Navigation principale")).to_be_visible()
    expect(wide.get_by_role("button", name="Se déconnecter")).to_be_visible()
    wide.context.close()


def test_the_home_page_is_arranged_on_a_phone(srv: Server, browser: Browser) -> None:
    """At 390 px, with the page's own buttons: hide a block from the home page, show it
    again, move one twice in « Organiser ma page d'accueil » (the second time from the
    keyboard: the focus stays on the moved block's button, no script), hide another;
    every button is within the screen, nothing scrolls sideways; the original layout
    is put back at the end."""
    page = signed_in_page(srv, browser, "ann", "phone")
    page.goto("/")
    files = page.locator("section.home-block.files")
    expect(files).to_be_visible()
    hide = page.get_by_role("button", name="Masquer le bloc « Fichiers récents »")
    box = hide.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    hide.click()
    expect(files).to_have_count(0)
    expect(page.get_by_text("Bloc « Fichiers récents » masqué")).to_be_visible()
    assert sideways(page) == 0
    page.get_by_role("button", name="Afficher le bloc « Fichiers récents »").click()
    expect(files).to_be_visible()
    page.get_by_role("link", name="Organiser ma page d'accueil").click()
    expect(page).to_have_url(f"{srv.base_url}/accueil/organiser")
    assert sideways(page) == 0 and axe_problems(page) == []
    up = page.get_by_role("button", name="Monter « Mon espace »")
    box = up.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    up.click()
    expect(page.locator("#organiser-account")).to_be_visible()
    up = page.get_by_role("button", name="Monter « Mon espace »")
    expect(up).to_be_focused()  # back on the moved block's button: Enter moves it on
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Monter « Mon espace »")).to_be_focused()
    page.get_by_label("Afficher « Mes réservations à venir »").uncheck()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(f"{srv.base_url}/")
    names = page.locator("section.home-block").evaluate_all(
        "nodes => nodes.map(n => n.classList[1])")
    assert names == ["lessons", "handins", "account", "files", "rubrics"]
    page.goto("/accueil/organiser")
    page.get_by_role("button", name="Rétablir la présentation d'origine").click()
    expect(page.locator("section.home-block.bookings")).to_be_visible()
    page.context.close()


def test_skip_link_and_visible_focus(srv: Server, browser: Browser) -> None:
    page = signed_in_page(srv, browser, "ben", "desktop")
    page.goto("/textbook/travail/?week=2026-09-07")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()
    page.keyboard.press("Tab")  # the first link or button of the content
    outline = page.evaluate("""() => {
        const s = getComputedStyle(document.activeElement);
        return [document.activeElement.closest("main") !== null, s.outlineStyle,
                parseFloat(s.outlineWidth)]; }""")
    assert outline[0] is True and outline[1] != "none" and outline[2] >= 2, outline
    page.context.close()


def test_the_school_column_beside_the_content_and_folded_on_a_phone(
        srv: Server, browser: Browser) -> None:
    """« Mon établissement »: open beside the content at 1366 px, its sub-rubric folded
    (the default preference); folded above the content at 390 px, opened by a tap."""
    wide = signed_in_page(srv, browser, "ben", "desktop")
    wide.goto("/notifications/")
    column = wide.get_by_role("navigation", name="Mon établissement")
    home = column.get_by_role("link", name="Vie scolaire")
    expect(home).to_be_visible()
    cdi = column.get_by_role("link", name="CDI — centre de documentation et d'information")
    expect(cdi).to_be_hidden()
    column.get_by_text("1 sous-rubrique").click()
    expect(cdi).to_be_visible()
    main = wide.locator("main").bounding_box()
    aside = column.bounding_box()
    assert main is not None and aside is not None
    assert aside["x"] + aside["width"] <= main["x"], (aside, main)  # side by side
    home.click()
    expect(wide.locator("h1")).to_have_text("Vie scolaire")
    expect(home).to_have_attribute("aria-current", "page")
    wide.context.close()

    phone = signed_in_page(srv, browser, "ben", "phone")
    phone.goto("/notifications/")
    column = phone.get_by_role("navigation", name="Mon établissement")
    home = column.get_by_role("link", name="Vie scolaire")
    expect(home).to_be_hidden()
    phone.locator("#school-column-title").click()
    expect(home).to_be_visible()
    assert sideways(phone) == 0
    phone.context.close()
