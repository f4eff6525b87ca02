"""WebDAV locks in the file manager (issue 18): a folder's page says who holds a lock
and since when; "Déverrouiller" removes it for who may (the holder, a rubric's
moderators and managers), is refused for the others, and tells the holder. HTTP-level
tests of the page and its action, and one click in Chromium (screenshots of the
page before and after are kept in ``ENT_SCREENSHOTS`` or the test's temporary
directory)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import html
from playwright.sync_api import expect, sync_playwright

from tests.conftest import PASSWORD, running_server
from tests.integration.lock_kit import Club, discovered, lock, make_club, put
from tests.integration.test_web_accessibility import shots
from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS
from tests.web_documents import Documents
from web.notifications import NotificationKind, notifications_of

WHERE = "rubriques/cdi"


@pytest.fixture(scope="module")
def club(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Club]:
    with running_server(tmp_path_factory.mktemp("web-locks")) as srv:
        yield make_club(srv, "cdi")


def _locked_file(club: Club, holder: str = "writer") -> tuple[str, str]:
    """A file of ``holder``'s in the rubric's root, locked by them: (name, token)."""
    name = f"{uuid.uuid4().hex[:8]}.odt"
    club.put_file("/" + name, holder)
    held = lock(club.server.session(holder), club.url("/" + name), timeout="Infinite")
    assert held.status == 200
    return name, held.token


def _error(page: str) -> str:
    """The refusal shown on top of a folder's page."""
    return str(html.fromstring(page).xpath('string(//*[@id="action-error"])'))


def _row(page: str, name: str) -> html.HtmlElement:
    rows = [r for r in html.fromstring(page).xpath('//table[@id="listing"]//tr')
            if r.xpath(f'.//a[@class="name"][text()="{name}"]')]
    assert len(rows) == 1, name
    return rows[0]


def test_the_page_shows_who_holds_a_lock_and_since_when(club: Club) -> None:
    name, token = _locked_file(club)
    for login, may in (("moderator", True), ("manager", True), ("writer", True),
                       ("writer2", False), ("visitor", False)):
        page = Documents(club.server, login).page(WHERE)
        assert page.status_code == 200
        row = _row(page.text, name)
        text = " ".join(row.text_content().split())
        assert re.search(r"Verrouillé par writer depuis le \d\d/\d\d/\d{4} \d\d:\d\d "
                         r"\(exclusif\)", text), text
        buttons = row.xpath('.//button[@class="unlock"]')
        assert [b.get("value") for b in buttons] == ([token] if may else []), login


def test_a_moderator_unlocks_and_the_holder_is_told(club: Club) -> None:
    name, token = _locked_file(club)
    moderator = Documents(club.server, "moderator")
    answer = moderator.act(WHERE, "unlock", lock_token=token)
    assert answer.status_code == 303, answer.text
    page = moderator.get(answer.headers["Location"]).text
    assert f"« {name} » est déverrouillé ; writer en est averti." in \
        html.fromstring(page).text_content()
    assert "Verrouillé par" not in " ".join(_row(page, name).text_content().split())
    assert discovered(club.server.session("moderator"), club.url("/" + name)) == []
    assert put(club.server.session("moderator"), club.url("/" + name)) == 204
    with club.server.app() as app, app.db.transaction(write=False) as s:
        notes = [n for n in notifications_of(s, club.ids["writer"])
                 if n.kind == NotificationKind.lock_broken and name in n.subject]
    assert len(notes) == 1 and notes[0].body.startswith("moderator a déverrouillé")


def test_a_writer_may_not_unlock_someone_elses_lock(club: Club) -> None:
    name, token = _locked_file(club)
    answer = Documents(club.server, "writer2").act(WHERE, "unlock", lock_token=token)
    assert answer.status_code == 403
    assert "Seuls writer, le propriétaire de l'espace et les modérateurs" in \
        _error(answer.text)
    assert [x["token"] for x in discovered(club.server.session("writer"),
                                           club.url("/" + name))] == [token]


@pytest.mark.parametrize("token", ["", "opaquelocktoken:0xnothing"])
def test_an_unknown_lock_is_404(club: Club, token: str) -> None:
    answer = Documents(club.server, "moderator").act(WHERE, "unlock", lock_token=token)
    assert answer.status_code == 404
    assert "Ce verrou n'existe plus" in _error(answer.text)


def test_the_unlock_form_needs_its_csrf_token(club: Club) -> None:
    _name, token = _locked_file(club)
    answer = Documents(club.server, "moderator").act(WHERE, "unlock", token=False,
                                                     lock_token=token)
    assert answer.status_code in (400, 403)
    assert discovered(club.server.session("writer"), club.url("/" + _name))


def test_a_lock_on_the_folder_and_above_is_shown_on_its_page(club: Club) -> None:
    folder = f"/{uuid.uuid4().hex[:8]}"
    club.mkdir(folder, "moderator")
    club.mkdir(folder + "/sous", "moderator")
    held = lock(club.server.session("moderator"), club.url(folder) + "/", depth="infinity")
    assert held.status == 200
    manager = Documents(club.server, "manager")
    here = html.fromstring(manager.page(WHERE + folder).text)
    assert "Ce dossier est verrouillé par moderator" in here.xpath(
        'string(//ul[@id="folder-locks"])')
    below = html.fromstring(manager.page(WHERE + folder + "/sous").text)
    assert "Un dossier au-dessus, avec tout son contenu, est verrouillé par moderator" in \
        below.xpath('string(//ul[@id="folder-locks"])')
    answer = manager.act(WHERE + folder + "/sous", "unlock", lock_token=held.token)
    assert answer.status_code == 303
    assert discovered(club.server.session("manager"), club.url(folder) + "/") == []


def test_unlock_with_a_click(club: Club, tmp_path: Path) -> None:
    """The moderator clicks "Déverrouiller" on the file's line and confirms."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    name, _token = _locked_file(club)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(club.server.base_url + "/login")
            page.fill("input[name=login]", "moderator")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.goto(club.server.base_url + "/documents/" + WHERE + "/")
            page.screenshot(path=str(shots(tmp_path) / "locks-locked.png"), full_page=True)
            print(shots(tmp_path) / "locks-locked.png")
            page.on("dialog", lambda dialog: dialog.accept())
            page.locator("tr", has_text=name).get_by_role("button",
                                                          name="Déverrouiller").click()
            expect(page.get_by_text(f"« {name} » est déverrouillé")).to_be_visible()
            page.screenshot(path=str(shots(tmp_path) / "locks-unlocked.png"), full_page=True)
        finally:
            browser.close()
    assert discovered(club.server.session("moderator"), club.url("/" + name)) == []
