"""The "Versions" panel of the file manager in a real browser (issue 23): Debian's
Chromium, headless, driven by Playwright against a real server process. A student
saves a file twice over WebDAV, opens its versions from the folder's page, downloads
the earlier version and restores it; the replaced content is listed as a version in
its turn. A version that is not there is 404."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import Server, running_server
from tests.integration.rubric_kit import Person, add_people
from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS
from tests.integration.test_web_documents_browser import sign_in

# A browser walk; the same store paths run on both databases in test_versions.py.
pytestmark = [pytest.mark.clients, pytest.mark.one_database]


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
    with running_server(tmp_path_factory.mktemp("versions-browser")) as srv:
        add_people(srv, [Person("lea", "student"), Person("tom", "student")])
        yield srv


@pytest.fixture
def page(browser: Browser, web_server: Server) -> Iterator[Page]:
    context = browser.new_context(base_url=web_server.base_url, accept_downloads=True)
    tab = context.new_page()
    yield tab
    context.close()


def test_versions_panel_downloads_and_restores(page: Page, web_server: Server,
                                               tmp_path: Path) -> None:
    lea = web_server.session("lea")
    url = f"{web_server.documents_url}/exposé.txt"
    assert lea.put(url, data=b"premier jet").status_code == 201
    assert lea.put(url, data=b"second jet, plus long").status_code == 204
    sign_in(page, "lea")
    page.get_by_role("link", name="Versions").click()
    expect(page.locator("h1")).to_have_text("Versions de exposé.txt")
    rows = page.locator("#versions tr.version")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".size")).to_have_text("11 octets")
    assert rows.first.locator(".author").inner_text() not in ("", "—")
    with page.expect_download() as waiting:
        rows.first.get_by_role("link", name="Télécharger").click()
    saved = tmp_path / "v.txt"
    waiting.value.save_as(saved)
    assert saved.read_bytes() == b"premier jet"
    assert waiting.value.suggested_filename.startswith("exposé (")
    rows.first.get_by_role("button", name="Restaurer cette version").click()
    expect(page.get_by_text("restaurée")).to_be_visible()
    assert lea.get(url).content == b"premier jet"
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".size")).to_have_text("21 octets")
    # a version that does not exist (or was purged) is 404, and says so
    gone = page.goto("/documents/porte-documents/exposé.txt?version=999999")
    assert gone is not None and gone.status == 404
