"""The school's porte-documents exercise in a real browser (issue 8): Debian's
Chromium, headless, driven by Playwright against a real server process. A student
creates a folder, adds a file with the button, drops three at once (each progress
bar and the total reach 100 %), renames the folder and a file, deletes a file, finds it
in the trash and restores it; a
student whose quota is nearly full sees the refusal next to one dropped file while
the others upload. Screenshots of the folder pages are kept in ``ENT_SCREENSHOTS`` or the
test's temporary directory (their paths are printed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD, Server, running_server
from tests.integration.rubric_kit import Person, add_people
from tests.integration.test_web_accessibility import shots
from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS
from tests.web import browser_context

# One database is enough: a browser walk; the same actions are checked over HTTP on both
# (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clients, pytest.mark.one_database]
KiB = 1024

DROP_FILES = """([selector, files]) => {
  const transfer = new DataTransfer();
  for (const [name, size] of files) {
    transfer.items.add(new File([new Uint8Array(size).fill(65)], name));
  }
  document.querySelector(selector).dispatchEvent(
    new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("docs-browser")) as srv:
        add_people(srv, [Person("lea", "student"), Person("tom", "student")])
        with srv.app() as app, app.db.transaction(write=False) as s:
            import acl

            tom = acl.find_user(s, "tom")
            assert tom is not None
            space = app.store.ensure_space("documents", owner_id=tom.id, profile="student")
            app.store.set_limit(space.id, 1024 * KiB)
        full = srv.session("tom").put(f"{srv.documents_url}/ancien.bin", data=b"x" * 900 * KiB)
        assert full.status_code == 201
        yield srv


@pytest.fixture
def page(browser: Browser, web_server: Server) -> Iterator[Page]:
    """A page of a fresh browser context; any Content Security Policy violation fails
    the test (``tests.web.browser_context``)."""
    with browser_context(browser, web_server.base_url) as context:
        yield context.new_page()


def sign_in(page: Page, login: str) -> None:
    page.goto("/documents/porte-documents/")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("h1")).to_have_text("Porte-documents")


def listing(page: Page) -> list[str]:
    return page.locator("#listing a.name").all_inner_texts()


def check(page: Page, name: str) -> None:
    page.get_by_label(f"Sélectionner {name}", exact=True).check()


def drop(page: Page, files: list[tuple[str, int]]) -> None:
    # The drop zone is bound by documents.js (deferred, at DOMContentLoaded): after a
    # sign-in's redirect the heading can be there before it. A CI run dropped onto an
    # unbound page once, and waited 30 s for uploads that never started.
    page.wait_for_load_state("load")
    refreshed = page.evaluate("() => Number(document.body.dataset.refreshed || 0)")
    page.evaluate(DROP_FILES, ["#dropzone", files])
    # The listing is fetched again once every upload has ended.
    page.wait_for_function(f"() => Number(document.body.dataset.refreshed || 0) > {refreshed}")


def shot(page: Page, tmp_path: Path, name: str) -> None:
    path = shots(tmp_path) / f"documents-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_the_porte_documents_exercise(page: Page, tmp_path: Path) -> None:
    sign_in(page, "lea")
    page.get_by_label("Nouveau dossier").fill("Exercice")
    page.get_by_role("button", name="Créer le dossier").click()
    expect(page.get_by_role("status")).to_have_text("Dossier « Exercice » créé.")
    page.get_by_role("link", name="Exercice", exact=True).click()
    expect(page.locator("h1")).to_have_text("Exercice")

    page.set_input_files("#file-input", files=[
        {"name": "consigne.txt", "mimeType": "text/plain", "buffer": b"Lire le chapitre 3.\n"}])
    expect(page.locator(".upload-state")).to_have_text(["Envoyé"])
    expect(page.locator("#listing a.name")).to_have_text(["consigne.txt"])

    drop(page, [("photo 1.png", 300 * KiB), ("photo 2.png", 200 * KiB),
                ("résumé.txt", 5 * KiB)])
    expect(page.locator(".upload-state")).to_have_text(["Envoyé"] * 4)
    bars = page.locator(".upload progress")
    assert [bars.nth(i).evaluate("b => b.value") for i in range(4)] == [100] * 4
    assert page.locator("#total-progress").evaluate("b => b.value") == 100
    expect(page.locator("#total-percent")).to_have_text("100 %")
    assert listing(page) == ["consigne.txt", "photo 1.png", "photo 2.png", "résumé.txt"]
    expect(page.locator("#listing tr", has_text="photo 1.png").locator(".size")).to_have_text(
        "300 Ko")

    page.get_by_role("link", name="Porte-documents").last.click()
    check(page, "Exercice")
    page.get_by_label("Nouveau nom").fill("Exercice 1")
    page.get_by_role("button", name="Renommer").click()
    expect(page.get_by_role("status")).to_have_text("« Exercice » renommé en « Exercice 1 ».")
    page.get_by_role("link", name="Exercice 1", exact=True).click()

    check(page, "consigne.txt")
    page.get_by_label("Nouveau nom").fill("consigne lue.txt")
    page.get_by_role("button", name="Renommer").click()
    expect(page.get_by_role("status")).to_have_text(
        "« consigne.txt » renommé en « consigne lue.txt ».")

    check(page, "photo 2.png")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Supprimer").click()
    expect(page.get_by_role("status")).to_have_text("Supprimé : « photo 2.png ».")
    assert listing(page) == ["consigne lue.txt", "photo 1.png", "résumé.txt"]
    expect(page).to_have_url(re.compile(r"/documents/porte-documents/Exercice%201/$"))
    shot(page, tmp_path, "exercice-1")

    # Find it in the trash (corbeille), restore it: it is back where it was.
    page.get_by_role("link", name="Corbeille").click()
    row = page.locator("section.trash[data-space='porte-documents'] tr",
                       has_text="photo 2.png")
    expect(row).to_contain_text("/Exercice 1/photo 2.png")
    shot(page, tmp_path, "corbeille")
    row.get_by_role("button", name="Restaurer", exact=True).click()
    expect(page.locator("section.trash tr", has_text="photo 2.png")).to_have_count(0)
    page.goto("/documents/porte-documents/Exercice%201/")
    assert listing(page) == ["consigne lue.txt", "photo 1.png", "photo 2.png", "résumé.txt"]
    check(page, "photo 2.png")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Supprimer").click()
    expect(page.get_by_role("status")).to_have_text("Supprimé : « photo 2.png ».")

    # Move a file into a new sub-folder chosen with the picker.
    page.get_by_label("Nouveau dossier").fill("Rangement")
    page.get_by_role("button", name="Créer le dossier").click()
    check(page, "résumé.txt")
    page.get_by_role("button", name="Choisir…").click()
    picker = page.get_by_role("dialog", name="Choisir un dossier")
    picker.get_by_role("button", name="Porte-documents").click()
    picker.get_by_role("button", name="Exercice 1").click()
    picker.get_by_role("button", name="Rangement").click()
    expect(page.locator("#picker-path")).to_have_text("Porte-documents › Exercice 1 › Rangement")
    picker.get_by_role("button", name="Choisir ce dossier").click()
    expect(page.get_by_label("Dossier de destination")).to_have_value(
        "porte-documents/Exercice 1/Rangement")
    page.get_by_role("button", name="Déplacer").click()
    expect(page.get_by_role("status")).to_have_text("Déplacé : « résumé.txt ».")
    assert listing(page) == ["Rangement", "consigne lue.txt", "photo 1.png"]
    page.get_by_role("link", name="Rangement", exact=True).click()
    assert listing(page) == ["résumé.txt"]


def test_a_full_quota_refuses_one_file_while_the_others_upload(
        page: Page, tmp_path: Path) -> None:
    sign_in(page, "tom")
    expect(page.locator(".warning")).to_contain_text("87,9 %")  # 900 Kio of 1 Mio
    drop(page, [("petit.txt", 20 * KiB), ("trop gros.bin", 200 * KiB),
                ("autre.txt", 30 * KiB)])
    rows = page.locator(".upload")
    expect(rows.filter(has_text="petit.txt").locator(".upload-state")).to_have_text("Envoyé")
    expect(rows.filter(has_text="autre.txt").locator(".upload-state")).to_have_text("Envoyé")
    expect(rows.filter(has_text="trop gros.bin").locator(".upload-state")).to_have_text(
        re.compile(r"^Refusé : Espace insuffisant : « trop gros\.bin » \(200 Ko\) dépasse"))
    expect(page.locator("#total-percent")).to_have_text("100 %")
    assert listing(page) == ["ancien.bin", "autre.txt", "petit.txt"]
    shot(page, tmp_path, "quota-plein")
