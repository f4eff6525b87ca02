"""Attachments in a real browser (issue 5's exercise: "homework T1 with an
attachment, due next lesson"): Debian's Chromium, headless, driven by Playwright
against a real server process. ann gives homework T1 on the lesson page, attaches a
file to it with « Joindre un fichier » (the page's script PUTs the raw file); ben
finds T1 with its attachment in his homework list and downloads the same bytes.
Screenshots are saved under the test's temporary directory (their paths are
printed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import IN_TERM, Server
from tests.integration.handin_kit import handin_server
from tests.integration.test_web_documents_browser import browser, shot  # noqa: F401
from tests.integration.test_web_handins_browser import open_as
from web import textbook

# One database is enough: a browser walk; the same actions are checked over HTTP on both
# (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clock(IN_TERM), pytest.mark.clients, pytest.mark.one_database]
IDS: dict[str, int] = {}
SHEET = b"%PDF-1.4 exercices 1 a 5\n"


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with handin_server(tmp_path_factory.mktemp("attachment-browser"), IDS) as srv:
        yield srv


def test_homework_t1_with_an_attachment(browser: Browser,  # noqa: F811
                                        web_server: Server, tmp_path: Path) -> None:
    with ExitStack() as pages:
        lesson = f"/textbook/seances/{IDS['L0']}"
        ann = pages.enter_context(open_as(browser, web_server, "ann", lesson))
        ann.locator("details.add-homework > summary").click()  # the form opens on demand
        form = ann.locator("form.panel.homework")
        form.get_by_label("Titre").fill("T1")
        form.get_by_label("Texte").fill("Exercices de la fiche jointe.")
        form.get_by_role("button", name="Enregistrer le travail").click()
        t1 = ann.locator("li.activity", has=ann.locator("h3.title", has_text="T1"))
        expect(t1).to_have_count(1)
        t1.get_by_label("Joindre un fichier").set_input_files(files=[
            {"name": "fiche T1.pdf", "mimeType": "application/pdf", "buffer": SHEET}])
        t1.get_by_role("button", name="Joindre", exact=True).click()
        expect(t1.get_by_role("link", name="fiche T1.pdf")).to_be_visible()
        shot(ann, tmp_path, "t1-enseignant")

        with web_server.transaction() as s:
            due = s.get_one(textbook.Lesson, IDS["LF"]).start.date().isoformat()
        ben = pages.enter_context(open_as(browser, web_server, "ben",
                                          f"/textbook/travail/?week={due}"))
        item = ben.locator("li.homework", has=ben.locator("h2.title", has_text="T1"))
        expect(item).to_have_count(1)
        with ben.expect_download() as got:
            item.get_by_role("link", name="fiche T1.pdf").click()
        assert got.value.suggested_filename == "fiche T1.pdf"
        assert Path(got.value.path()).read_bytes() == SHEET
        shot(ben, tmp_path, "t1-eleve")
        ben.goto(f"/textbook/seances/{IDS['L0']}")
        expect(ben.get_by_role("link", name="fiche T1.pdf")).to_be_visible()
        expect(ben.get_by_text("Joindre un fichier")).to_have_count(0)
