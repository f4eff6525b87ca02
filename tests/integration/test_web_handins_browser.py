"""Online submission in a real browser (issue 7, "Tests"): Debian's Chromium,
headless, driven by Playwright against a real server process. ben hands in a file
on the lesson page; ann's notification count goes up, she finds the file on the
homework's hand-ins page (on time), downloads it and returns a corrected file; ben
sees the correction on the lesson page and his own count goes up. Screenshots are
saved under the test's temporary directory (their paths are printed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import IN_TERM, PASSWORD, Server
from tests.integration.handin_kit import handin_server
from tests.integration.test_web_documents_browser import browser, shot  # noqa: F401
from tests.web import browser_context

# One database is enough: a browser walk; the same actions are checked over HTTP on both
# (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clock(IN_TERM), pytest.mark.clients, pytest.mark.one_database]
IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with handin_server(tmp_path_factory.mktemp("handin-browser"), IDS) as srv:
        yield srv


@contextmanager
def open_as(browser: Browser, server: Server, login: str,  # noqa: F811
            path: str) -> Iterator[Page]:
    """A page of a new browser context signed in as ``login`` on ``path``; a Content
    Security Policy violation in it fails the test (``tests.web.browser_context``)."""
    with browser_context(browser, server.base_url) as context:
        tab = context.new_page()
        tab.goto(path)
        tab.get_by_label("Identifiant").fill(login)
        tab.get_by_label("Mot de passe").fill(PASSWORD)
        tab.get_by_role("button", name="Se connecter").click()
        # Back on ``path`` with its scripts run (the editor takes its text areas at
        # DOMContentLoaded): acting earlier found the plain text area, hidden a moment
        # later (CI saw a fill wait 30 s on it).
        tab.wait_for_url(f"**{path}", wait_until="load")
        yield tab


def unread(page: Page) -> int:
    badge = page.locator(".notification-count")
    return int(badge.inner_text()) if badge.count() else 0


def test_hand_in_correction_and_notifications(browser: Browser,  # noqa: F811
                                              web_server: Server, tmp_path: Path) -> None:
    with ExitStack() as pages:
        lesson = f"/textbook/seances/{IDS['L0']}"
        remises = f"/textbook/activites/{IDS['HW_OPEN']}/remises"
        ann = pages.enter_context(open_as(browser, web_server, "ann", lesson))
        ann_before = unread(ann)
        ben = pages.enter_context(open_as(browser, web_server, "ben", lesson))
        ben_before = unread(ben)

        mine = ben.locator(f'section[data-handin="{IDS["HW_OPEN"]}"]')
        expect(mine.locator(".handin-status")).to_have_text("Pas encore remis.")
        mine.get_by_label("Fichiers à remettre").set_input_files(files=[
            {"name": "rédaction.txt", "mimeType": "text/plain", "buffer": b"Il etait une fois.\n"}])
        mine.get_by_role("button", name="Remettre mon travail").click()
        expect(mine.locator(".handin-status")).to_contain_text("à l'heure")
        expect(mine.get_by_role("link", name="rédaction.txt")).to_be_visible()
        shot(ben, tmp_path, "remise-eleve")

        ann.reload()
        assert unread(ann) == ann_before + 1
        ann.get_by_role("link", name="Voir les remises").first.click()
        expect(ann).to_have_url(web_server.base_url + remises)
        row = ann.locator('tr[data-student="ben"]')
        expect(row.locator(".status")).to_contain_text("à l'heure")
        expect(ann.locator('tr[data-student="lea"] .status')).to_have_text("non remis")
        with ann.expect_download() as got:
            row.get_by_role("link", name="rédaction.txt").click()
        assert Path(got.value.path()).read_bytes() == b"Il etait une fois.\n"
        row.get_by_label("Correction pour ben").set_input_files(files=[
            {"name": "corrigé.txt", "mimeType": "text/plain", "buffer": b"Tres bien.\n"}])
        row.get_by_role("button", name="Rendre la correction").click()
        expect(row.locator(".corrections a")).to_have_text(["corrigé.txt"])
        shot(ann, tmp_path, "remises-enseignant")

        ben.reload()
        expect(mine.locator(".corrections-title")).to_have_text("Correction de l'enseignant :")
        expect(mine.locator(".corrections a")).to_have_text(["corrigé.txt"])
        assert unread(ben) == ben_before + 1
        shot(ben, tmp_path, "correction-eleve")
