"""The file manager's issue-20 flows in Debian's Chromium (Playwright) against a real
server process, each at 1366 px and at 390 px with the axe check (no serious or
critical WCAG 2.1 A/AA violation) on the page as the user sees it:

* a real upload meets taken names: "Remplacer" for one, "Garder les deux (renommé)"
  for all the rest, then "Ignorer"; the listing and the stored bytes agree;
* files dropped on the file list (not the dashed box) are uploaded into the folder;
* a file whose folder was renamed is restored from the trash into a folder picked in
  the picker;
* a moderator publishes and withdraws a selection in a rubric; a writer has no such
  buttons.

The same server actions are checked over HTTP on both databases in
:mod:`tests.integration.test_web_file_manager`; a browser walk needs one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.rubric_kit import node, props, put, rubric_url
from tests.integration.test_web_accessibility import (
    AXE,
    WIDTHS,
    axe_problems,
    shots,
    sideways,
)
from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS
from tests.integration.test_web_documents_browser import DROP_FILES

pytestmark = [pytest.mark.clients, pytest.mark.one_database]
USERS = {"ann": "teacher", "carl": "student", "mod": "teacher"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Rubric ``club``: mod moderator, carl writer; ann a teacher on her own."""
    with running_server(tmp_path_factory.mktemp("file-manager-browser"),
                        users=USERS) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            acl.add_rubric(s, "club", "Club théâtre", school_id=school)
            acl.grant(s, "club", "moderator", user="mod")
            acl.grant(s, "club", "writer", user="carl")
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def open_as(srv: Server, browser: Browser, login: str, width: str) -> Page:
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


def accessible(page: Page, tmp_path: Path, name: str) -> None:
    """No serious axe violation, no sideways scrolling; a screenshot kept."""
    assert axe_problems(page) == [], name
    assert sideways(page) == 0, name
    shot = shots(tmp_path) / f"file-manager-{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")


def refreshed(page: Page) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.refreshed || 0)"))


def wait_refresh(page: Page, before: int) -> None:
    page.wait_for_function(f"() => Number(document.body.dataset.refreshed || 0) > {before}")


def folder_with(srv: Server, login: str, files: dict[str, bytes]) -> str:
    dav = srv.session(login)
    folder = f"Dossier-{uuid.uuid4().hex[:6]}"
    assert dav.request("MKCOL", f"{srv.documents_url}/{folder}/").status_code == 201
    for name, data in files.items():
        assert put(dav, f"{srv.documents_url}/{folder}/{name}", data) == 201
    return folder


def test_taken_names_replace_keep_both_for_all_and_skip(srv: Server, browser: Browser,
                                                        tmp_path: Path, width: str) -> None:
    folder = folder_with(srv, "ann", {"a.txt": b"old a", "b.txt": b"old b",
                                      "c.txt": b"old c", "d.txt": b"old d"})
    page = open_as(srv, browser, "ann", width)
    page.goto(f"/documents/porte-documents/{folder}/")
    before = refreshed(page)
    page.set_input_files("#file-input", files=[
        {"name": n, "mimeType": "text/plain", "buffer": f"new {n}".encode()}
        for n in ("a.txt", "b.txt", "c.txt", "neuf.txt")])
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("« a.txt » existe déjà dans ce dossier.")
    expect(dialog.get_by_label("Faire de même pour les 2 autres conflits")).to_be_visible()
    accessible(page, tmp_path, f"collision-{width}")
    dialog.get_by_role("button", name="Remplacer").click()
    expect(dialog).to_contain_text("« b.txt » existe déjà")
    dialog.get_by_label("Faire de même pour l'autre conflit").check()
    dialog.get_by_role("button", name="Garder les deux (renommé)").click()
    wait_refresh(page, before)
    expect(dialog).to_be_hidden()
    expect(page.locator(".upload-state")).to_have_text(
        ["Remplacé", "Envoyé sous « b (2).txt »", "Envoyé sous « c (2).txt »", "Envoyé"])
    expect(page.locator("#listing a.name")).to_have_text(
        ["a.txt", "b (2).txt", "b.txt", "c (2).txt", "c.txt", "d.txt", "neuf.txt"])
    dav = srv.session("ann")
    base = f"{srv.documents_url}/{folder}"
    assert dav.get(f"{base}/a.txt").content == b"new a.txt"
    assert dav.get(f"{base}/b.txt").content == b"old b"
    assert dav.get(f"{base}/b (2).txt").content == b"new b.txt"

    # "Ignorer": nothing sent, the old file kept.
    before = refreshed(page)
    page.set_input_files("#file-input", files=[
        {"name": "d.txt", "mimeType": "text/plain", "buffer": b"new d"}])
    expect(dialog.locator("#collision-for-all")).to_be_hidden()
    dialog.get_by_role("button", name="Ignorer").click()
    wait_refresh(page, before)
    expect(page.locator(".upload-state").last).to_have_text("Ignoré (le nom est déjà pris)")
    assert dav.get(f"{base}/d.txt").content == b"old d"
    page.context.close()


def test_files_dropped_on_the_list_are_uploaded(srv: Server, browser: Browser,
                                                tmp_path: Path, width: str) -> None:
    folder = folder_with(srv, "ann", {"présent.txt": b"x"})
    page = open_as(srv, browser, "ann", width)
    page.goto(f"/documents/porte-documents/{folder}/")
    before = refreshed(page)
    page.evaluate(DROP_FILES, ["#listing tbody tr", [("déposé 1.txt", 10), ("déposé 2.txt", 20)]])
    wait_refresh(page, before)
    expect(page.locator(".upload-state")).to_have_text(["Envoyé", "Envoyé"])
    expect(page.locator("#listing a.name")).to_have_text(
        ["déposé 1.txt", "déposé 2.txt", "présent.txt"])
    accessible(page, tmp_path, f"dropped-{width}")
    page.context.close()


def test_restore_into_a_picked_folder_after_the_folder_was_renamed(
        srv: Server, browser: Browser, tmp_path: Path, width: str) -> None:
    name = f"fiche-{uuid.uuid4().hex[:6]}.txt"
    folder = folder_with(srv, "ann", {name: b"fiche"})
    dav = srv.session("ann")
    assert dav.request("MKCOL", f"{srv.documents_url}/{folder}-Rangement/").status_code == 201
    assert dav.delete(f"{srv.documents_url}/{folder}/{name}").status_code == 204
    assert dav.request("MOVE", f"{srv.documents_url}/{folder}/", headers={
        "Destination": f"{srv.documents_url}/{folder} (2025)/"}).status_code == 201

    page = open_as(srv, browser, "ann", width)
    page.goto("/corbeille/")
    page.locator("tr", has_text=name).get_by_role("button", name="Restaurer", exact=True).click()
    question = page.get_by_role("alertdialog")
    expect(question).to_contain_text(f"Le dossier d'origine de « {name} » (/{folder}) "
                                     "n'existe plus")
    expect(question.get_by_role("button", name="À la racine de « Porte-documents »")) \
        .to_be_visible()
    accessible(page, tmp_path, f"trash-homeless-{width}")
    question.get_by_role("button", name="Choisir un dossier…").click()
    picker = page.get_by_role("dialog", name="Choisir un dossier ou un fichier")
    picker.get_by_role("button", name=f"{folder}-Rangement").click()
    expect(page.locator("#picker-path")).to_have_text(f"Porte-documents › {folder}-Rangement")
    picker.get_by_role("button", name="Choisir ce dossier").click()
    expect(page.locator("#homeless-destination")).to_have_value(
        f"porte-documents/{folder}-Rangement")
    question.get_by_role("button", name="Restaurer ici").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"est restauré dans porte-documents/{folder}-Rangement/{name}")
    assert dav.get(f"{srv.documents_url}/{folder}-Rangement/{name}").content == b"fiche"
    page.context.close()


def test_a_moderator_publishes_and_withdraws_a_writer_cannot(
        srv: Server, browser: Browser, tmp_path: Path, width: str) -> None:
    carl = srv.session("carl")
    name = f"affiche-{uuid.uuid4().hex[:6]}.txt"
    assert put(carl, rubric_url(srv, "club", name)) == 201

    writer = open_as(srv, browser, "carl", width)
    writer.goto("/documents/rubriques/club/")
    expect(writer.locator("#listing tr", has_text=name)).to_contain_text(
        "en attente de publication")
    expect(writer.get_by_role("button", name="Publier")).to_have_count(0)
    expect(writer.get_by_role("button", name="Retirer")).to_have_count(0)
    writer.context.close()

    page = open_as(srv, browser, "mod", width)
    page.goto("/documents/rubriques/club/")
    row = page.locator("#listing tr", has_text=name)
    expect(row).to_contain_text("en attente de publication")
    accessible(page, tmp_path, f"moderator-{width}")
    page.get_by_label(f"Sélectionner {name}", exact=True).check()
    page.get_by_role("button", name="Publier", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"Publié : « {name} ».")
    expect(row).not_to_contain_text("en attente de publication")
    assert props(carl, rubric_url(srv, "club", name))["publication-state"] == "published"
    page.get_by_label(f"Sélectionner {name}", exact=True).check()
    page.get_by_role("button", name="Retirer", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        f"Retiré (en attente de publication) : « {name} ».")
    expect(row).to_contain_text("en attente de publication")
    assert node(srv, "rubric:club", "/" + name).published is False  # type: ignore[union-attr]
    page.context.close()
