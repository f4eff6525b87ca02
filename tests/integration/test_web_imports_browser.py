"""The imports page in a real browser (issue 24, "Tests": "One Chromium test of the
admin page's dry run and apply"): Debian's Chromium, headless, driven by Playwright
against a real server process. The school's administrator picks a SIECLE extraction,
waits for the dry run (the page refreshes itself), reads what it would change, applies,
and finds the import in the list of past imports. Screenshots are saved under the
test's temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, expect
from sqlalchemy import func, select

import acl
from tests.conftest import IN_TERM, PASSWORD, Server, running_server
from tests.integration.test_web_documents_browser import browser, shot  # noqa: F401

# One database is enough: a browser walk; the same actions are checked over HTTP on
# both (tests/integration/test_web_imports.py).
pytestmark = [pytest.mark.clock(IN_TERM), pytest.mark.clients, pytest.mark.one_database]
DATA = Path(__file__).resolve().parent.parent / "data"
UAI = "0754321P"


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("imports-browser"),
                        users={"adm": "admin"}) as server:
        server.cli("school", "add", "Collège Jean Moulin", "--uai", UAI, "--zone", "C")
        yield server


def test_dry_run_then_apply(browser: Browser, web_server: Server,  # noqa: F811
                            tmp_path: Path) -> None:
    context = browser.new_context(base_url=web_server.base_url)
    page = context.new_page()
    violations: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", console)
    page.goto("/imports/")
    page.get_by_label("Identifiant").fill("adm")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Imports de Collège Jean Moulin")).to_be_visible()
    page.get_by_label("Fichiers à importer").set_input_files(
        str(DATA / "people" / "siecle_eleves_2025.csv"))
    page.get_by_role("button", name="Vérifier").click()

    question = page.locator(".import-confirm .question")
    expect(question).to_contain_text("Cet import va créer 10, mettre à jour 0, désactiver 0",
                                     timeout=30_000)
    people = page.locator('section[data-kind="people"]')
    expect(people.locator('tr[data-profile="student"] td.created')).to_have_text("5")
    expect(people.locator('tr[data-profile="parent"] td.created')).to_have_text("5")
    shot(page, tmp_path, "imports-essai")
    with web_server.transaction() as s:
        assert s.scalar(select(func.count()).select_from(acl.User).where(
            acl.User.profile == acl.Profile.student)) == 0

    page.get_by_role("button", name="Appliquer").click()
    expect(page.locator(".run-state")).to_have_attribute("data-state", "done", timeout=30_000)
    expect(page.locator(".import-summary")).to_contain_text("10 créés")
    expect(page.get_by_text(f"/dav/imports/{UAI}/import-")).to_be_visible()
    shot(page, tmp_path, "imports-applique")
    with web_server.transaction() as s:
        assert s.scalar(select(func.count()).select_from(acl.User).where(
            acl.User.profile == acl.Profile.student)) == 5

    page.get_by_role("link", name="Retour aux imports").click()
    row = page.locator("table.import-runs tbody tr").first
    expect(row.locator(".state")).to_have_text("importé")
    expect(row.locator(".summary")).to_contain_text("10 créés")
    assert not violations, violations
    context.close()
