"""Tables, media picked from the porte-documents, and the plain input mode of the
rich-text editor (issue 20, "Writing lesson content like a blog article"), against a
real server with the school of :mod:`tests.integration.homework_kit`:

* ann's porte-documents holds ``/Cours/parts.png``, ``/Cours/consigne.wav``, a text
  file, an SVG drawing, an SVG named ``piege.png`` and a sub-folder;
* the picker's listing (``/api/textbook/activities/<id>/attachments/choices``) shows
  ann her own folders and image, sound and video files only, to the activity's
  teachers only; a pick resolves in the picker's own porte-documents, so nobody
  reaches another's file; a picked SVG never plays inline;
* in Chromium (1366 and 390 px, axe check), ann inserts a 2 × 2 table, an image and a
  sound picked from the porte-documents, and saves; ben (4B) sees the table, the image
  drawn and the sound's source answering 206 to a byte range;
* with « Saisie : texte simple » in « Mes préférences », the edit page shows a plain
  text area whose typed lines and « < » survive, and a formatted text opens in the
  rich editor with a note saying why.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select, update

import acl
from providers import bare_type
from providers.models import Node
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.homework_kit import build_school, signed_in, uid
from tests.integration.test_web_accessibility import (
    axe_problems,
    browser,  # noqa: F401
    shots,
    sideways,
    signed_in_page,
)
from tests.integration.test_web_rich_text_browser import png, watch, wav
from tests.web import WebClient, csrf_token
from web import textbook
from web.textbook.attachments.services import MEDIA_TYPES

pytestmark = [pytest.mark.clock("2026-09-08T10:00 Europe/Paris")]
IDS: dict[str, int] = {}
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
       b"<script>alert(1)</script></svg>")


def dav_put(server: Server, login: str, path: str, data: bytes) -> None:
    answer = requests.put(f"{server.dav_url}/porte-documents/{path}", data=data,
                          auth=(login, PASSWORD), timeout=30)
    assert answer.status_code in (201, 204), answer.text


def dav_mkcol(server: Server, login: str, path: str) -> None:
    answer = requests.request("MKCOL", f"{server.dav_url}/porte-documents/{path}",
                              auth=(login, PASSWORD), timeout=30)
    assert answer.status_code == 201, answer.text


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("rich-documents")) as server:
        IDS.update(build_school(server))
        for folder in ("Cours", "Cours/Sous-dossier"):
            dav_mkcol(server, "ann", folder)
        dav_put(server, "ann", "Cours/parts.png", png())
        dav_put(server, "ann", "Cours/consigne.wav", wav())
        dav_put(server, "ann", "Cours/notes.txt", b"pas un media")
        dav_put(server, "ann", "Cours/dessin.svg", SVG)
        dav_put(server, "ann", "piege.png", SVG)  # an SVG named as a PNG
        dav_mkcol(server, "carl", "Secret")
        dav_put(server, "carl", "Secret/carl.png", png(8, 8))
        with server.transaction() as s:
            # Past lessons of 4B: their content is visible to ben at once.
            for name, lesson in (("T1", "P1"), ("T2", "P0")):
                IDS[name] = textbook.add_activity(
                    s, uid(s, "ann"), IDS[lesson], textbook.ActivityInput(
                        textbook.ActivityKind.content, f"Tableau {name}",
                        body="<p>Consigne :</p>")).id
        yield server


def choices(client: WebClient, activity: int, **query: str) -> requests.Response:
    return client.http.get(client.url(f"/api/textbook/activities/{activity}/attachments/"
                                      "choices"), params=query, timeout=30)


def pick(client: WebClient, activity: int, path: str) -> requests.Response:
    token = csrf_token(client.get("/").text)
    return client.http.post(client.url(f"/api/textbook/activities/{activity}/attachments/"
                                       "pick"), json={"path": path},
                            headers={"X-CSRFToken": token}, timeout=30)


def attachment_count(server: Server) -> int:
    with server.transaction() as s:
        return int(s.scalar(select(func.count(textbook.Attachment.id))) or 0)


def test_the_picker_lists_own_folders_and_media_only(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    root = choices(ann, IDS["T1"])
    assert root.status_code == 200, root.text
    assert root.json()["folder"] == "/" and root.json()["parent"] is None
    assert {"name": "Cours", "path": "/Cours", "kind": "folder", "size": 0} in \
        root.json()["members"]
    assert "piege.png" not in {m["name"] for m in root.json()["members"]}
    cours = choices(ann, IDS["T1"], dossier="/Cours/")
    assert cours.status_code == 200
    assert cours.json()["parent"] == "/" and cours.json()["next"] is None
    assert [(m["name"], m["kind"]) for m in cours.json()["members"]] == [
        ("Sous-dossier", "folder"), ("consigne.wav", "audio"), ("parts.png", "image")]
    assert cours.json()["members"][2]["size"] == len(png())
    rest = choices(ann, IDS["T1"], dossier="Cours", depart="2")
    assert [m["name"] for m in rest.json()["members"]] == ["parts.png"]
    assert choices(ann, IDS["T1"], dossier="/Cours/Sous-dossier").json()["parent"] == "/Cours"
    for bad in ({"depart": "-1"}, {"depart": "deux"}):
        answer = choices(ann, IDS["T1"], **bad)
        assert answer.status_code == 400 and "depart" in answer.json()["error"]
    for missing in ("/Nulle/part", "/Cours/parts.png", "/../carl/Secret"):
        answer = choices(ann, IDS["T1"], dossier=missing)
        assert answer.status_code == 404, missing
        assert "porte-documents" in answer.json()["error"]


def test_nobody_lists_or_picks_through_another_s_activity_or_space(srv: Server) -> None:
    """A student and another teacher get 403 (only the activity's teachers edit it,
    :func:`web.textbook.editable_activity`), with nothing of ann's listed; a path
    names a file of the picker's own porte-documents only, so carl's file is out of
    ann's reach. Nothing is attached."""
    before = attachment_count(srv)
    ben, carl, ann = signed_in(srv, "ben"), signed_in(srv, "carl"), signed_in(srv, "ann")
    for client in (ben, carl):
        listed = choices(client, IDS["T1"], dossier="/Cours")
        assert listed.status_code == 403, listed.text
        assert "parts.png" not in listed.text
        assert pick(client, IDS["T1"], "/Cours/parts.png").status_code == 403
    assert choices(carl, IDS["H2"]).json()["members"][0]["name"] == "Secret"  # his own
    for other in ("/Secret/carl.png", "/../carl/Secret/carl.png",
                  "/porte-documents/Secret/carl.png"):
        refused = pick(ann, IDS["T1"], other)
        assert refused.status_code == 404 and "porte-documents" in refused.json()["error"]
    assert attachment_count(srv) == before


def test_a_picked_svg_never_plays_inline(srv: Server) -> None:
    """An SVG, even named ``.png``, is attached as what its bytes are: no inline copy
    (404 naming why), its download is an attachment with nosniff and a sandbox."""
    ann = signed_in(srv, "ann")
    for path in ("/piege.png", "/Cours/dessin.svg"):
        picked = pick(ann, IDS["T2"], path)
        assert picked.status_code == 201, picked.text
        assert picked.json()["content_type"] == "image/svg+xml"
        media = ann.get(picked.json()["url"] + "/media")
        assert media.status_code == 404 and "télécharger" in media.text
        download = ann.get(picked.json()["url"])
        assert download.status_code == 200
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in download.headers["Content-Security-Policy"]
        assert ann.http.delete(ann.url(f"/api/textbook/attachments/{picked.json()['id']}"),
                               headers={"X-CSRFToken": csrf_token(ann.get("/").text)},
                               timeout=30).status_code == 200


def test_picking_the_same_file_twice_gives_one_attachment(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    first = pick(ann, IDS["T2"], "/Cours/parts.png")
    again = pick(ann, IDS["T2"], "/Cours/parts.png")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]


@pytest.mark.one_database
@pytest.mark.clients
@pytest.mark.parametrize("width, name", [("desktop", "T1"), ("phone", "T2")])
def test_table_image_and_sound_from_the_porte_documents(
        srv: Server, browser: Browser, tmp_path: Path, width: str, name: str) -> None:  # noqa: F811
    """ann's walk and ben's reading at one width. About 10 s each."""
    folder = shots(tmp_path)
    ann = signed_in_page(srv, browser, "ann", width)
    ann_seen = watch(ann)
    ann.goto(f"/textbook/activites/{IDS[name]}/modifier")
    edit = ann.locator("form.panel.edit")
    editor = edit.get_by_role("textbox", name="Texte")
    bar = edit.get_by_role("toolbar")
    expect(bar.get_by_role("button", name="Ajouter une ligne")).to_be_disabled()
    editor.click()
    ann.keyboard.press("Control+End")
    bar.get_by_role("button", name="Insérer un tableau").click()
    cells = editor.locator("table td")
    expect(cells).to_have_count(4)
    for cell, text in zip(cells.all(), ("Fraction", "Lecture", "1/2", "un demi"),
                          strict=True):
        cell.click()
        ann.keyboard.type(text)
    expect(bar.get_by_role("button", name="Ajouter une ligne")).to_be_enabled()
    bar.get_by_role("button", name="Ajouter une colonne").click()
    expect(cells).to_have_count(6)
    cells.nth(2).click()  # the new column, right of « Lecture »
    bar.get_by_role("button", name="Supprimer la colonne").click()
    expect(cells).to_have_count(4)
    cells.nth(3).click()
    bar.get_by_role("button", name="Ajouter une ligne").click()
    expect(cells).to_have_count(6)
    cells.nth(4).click()  # the new row, below « 1/2 »
    bar.get_by_role("button", name="Supprimer la ligne").click()
    expect(cells).to_have_count(4)
    expect(cells).to_have_text(["Fraction", "Lecture", "1/2", "un demi"])
    editor.locator("p").first.click()  # out of the table, before it
    expect(bar.get_by_role("button", name="Supprimer le tableau")).to_be_disabled()

    for file, kind in (("parts.png", "img"), ("consigne.wav", "audio")):
        ann.keyboard.press("End")
        bar.get_by_role("button", name="Insérer depuis le porte-documents").click()
        dialog = ann.get_by_role("dialog", name="Insérer depuis le porte-documents")
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Dossier Cours").click()
        expect(dialog.get_by_text("Dossier : /Cours")).to_be_visible()
        expect(dialog.get_by_text("notes.txt")).to_have_count(0)
        expect(dialog.get_by_text("dessin.svg")).to_have_count(0)
        if kind == "img":
            assert axe_problems(ann) == []
            if width == "phone":
                assert sideways(ann) == 0
            ann.screenshot(path=str(folder / f"{width}-documents-picker.png"))
        dialog.get_by_role("button", name=file).click()
        expect(dialog).to_be_hidden()
        expect(editor.locator(kind)).to_have_count(1)
    expect(editor.locator("img")).to_have_attribute("alt", "parts")
    edit.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(ann.get_by_text("Activité modifiée.")).to_be_visible()
    assert ann_seen == []
    ann.context.close()

    with srv.transaction() as s:
        body = s.get_one(textbook.Activity, IDS[name]).body
        media = {a.name: a.id for a in s.query(textbook.Attachment).filter_by(
            activity_id=IDS[name])}
    assert "<table><tbody><tr><td>Fraction</td><td>Lecture</td></tr>" in body, body
    assert "data-row" not in body
    assert f'src="/textbook/pieces-jointes/{media["parts.png"]}/media"' in body
    assert f'src="/textbook/pieces-jointes/{media["consigne.wav"]}/media"' in body
    assert "/porte-documents/" not in body and "/dav/" not in body

    ben = signed_in_page(srv, browser, "ben", width)
    ben_seen = watch(ben)
    lesson = IDS["P1"] if name == "T1" else IDS["P0"]
    ben.goto(f"/textbook/seances/{lesson}")
    item = ben.locator("li.activity", has=ben.locator("h3.title", has_text=f"Tableau {name}"))
    table = item.get_by_role("table")
    expect(table).to_be_visible()
    expect(table.get_by_role("cell")).to_have_text(["Fraction", "Lecture", "1/2", "un demi"])
    image = item.locator(".body img")
    ben.wait_for_function("img => img.complete && img.naturalWidth > 0",
                          arg=image.element_handle())
    source = item.locator(".body audio").get_attribute("src")
    assert source is not None
    part = ben.request.get(source, headers={"Range": "bytes=0-99"})
    assert part.status == 206 and part.headers["content-range"] == f"bytes 0-99/{len(wav())}"
    assert axe_problems(ben) == []
    if width == "phone":
        assert sideways(ben) == 0
    ben.screenshot(path=str(folder / f"{width}-table-student.png"), full_page=True)
    assert ben_seen == []
    ben.context.close()


def set_input_mode(server: Server, login: str, mode: acl.InputMode) -> None:
    with server.transaction() as s:
        user_id = uid(s, login)
        acl.save_preferences(s, user_id, replace(acl.preferences_of(s, user_id),
                                                 input_mode=mode))


def textarea(page: str) -> str:
    """The body's text area in ``page``, from its opening tag to its end."""
    found = re.search(r'<textarea[^>]*name="homework-body"[^>]*>.*?</textarea>', page, re.S)
    assert found is not None, page
    return found.group(0)


def test_plain_input_mode_keeps_typed_lines_and_formatted_texts(srv: Server) -> None:
    """carl prefers plain text: his homework's text (paragraphs only) shows as typed
    text with the mark; what he types comes back as paragraphs and line breaks, a
    « < » kept as a character; a formatted text opens in the rich editor with the
    note. ann (rich, the default) keeps the editor."""
    set_input_mode(srv, "carl", acl.InputMode.plain)
    carl = signed_in(srv, "carl")
    page = carl.get(f"/textbook/activites/{IDS['H2']}/modifier")
    assert page.status_code == 200
    area = textarea(page.text)
    assert "data-rich-text" not in area and "&lt;p&gt;" not in area
    assert area.endswith(">\r\nRédaction : consignes</textarea>"), area
    assert '<input type="hidden" name="homework-body-saisie" value="texte">' in page.text
    form = {"homework-csrf_token": csrf_token(page.text), "homework-title": "Rédaction",
            "homework-body": "Lire le texte.\r\nRépondre : 3 < 4 ?\r\n\r\nRendre lundi.",
            "homework-body-saisie": "texte", "homework-homework_type": "Devoir maison",
            "homework-minutes": "20", "homework-due_lesson": str(IDS["F2"]),
            "homework-private_note": ""}
    sent = carl.post(f"/textbook/activites/{IDS['H2']}/modifier", data=form)
    assert sent.status_code in (302, 303), sent.text
    with srv.transaction() as s:
        activity = s.get_one(textbook.Activity, IDS["H2"])
        assert activity.body == ("<p>Lire le texte.<br>Répondre : 3 &lt; 4 ?</p>"
                                 "<p>Rendre lundi.</p>")
        activity.body = "<p><strong>Important</strong> : lire.</p>"
    again = carl.get(f"/textbook/activites/{IDS['H2']}/modifier").text
    area = textarea(again)
    assert "data-rich-text" in area and "data-plain-refused" in area
    assert "&lt;strong&gt;Important" in area
    assert "s&#39;ouvre dans l&#39;éditeur enrichi" in again or \
        "s'ouvre dans l'éditeur enrichi" in again
    assert "homework-body-saisie" not in again
    set_input_mode(srv, "carl", acl.InputMode.rich)
    rich = carl.get(f"/textbook/activites/{IDS['H2']}/modifier").text
    assert "data-plain-refused" not in rich and "homework-body-saisie" not in rich
    assert "data-rich-text" in signed_in(srv, "ann").get(
        f"/textbook/activites/{IDS['H1']}/modifier").text


@pytest.mark.one_database
@pytest.mark.clients
def test_plain_input_mode_in_chromium(srv: Server, browser: Browser) -> None:  # noqa: F811
    """With the editor's script loaded, the plain mode stays a plain text area (no
    toolbar) whose typed lines come back as lines; a formatted text gets the editor
    and the note. About 5 s."""
    set_input_mode(srv, "carl", acl.InputMode.plain)
    try:
        page = signed_in_page(srv, browser, "carl", "phone")
        seen = watch(page)
        page.goto(f"/textbook/seances/{IDS['F1']}")
        page.get_by_text("Ajouter un contenu de séance").click()
        form = page.locator("form.panel.content")
        form.get_by_label("Titre").fill("Texte simple")
        area = form.get_by_label("Texte")
        expect(area).to_be_visible()
        expect(form.get_by_role("toolbar")).to_have_count(0)
        area.fill("Ligne 1\nLigne 2 < 3\n\nParagraphe 2")
        form.get_by_role("button", name="Enregistrer le contenu").click()
        item = page.locator("li.activity", has=page.locator("h3.title",
                                                             has_text="Texte simple"))
        expect(item.locator(".body p")).to_have_count(2)
        expect(item.locator(".body p").first).to_have_text("Ligne 1Ligne 2 < 3")
        with srv.transaction() as s:
            activity = s.query(textbook.Activity).filter_by(title="Texte simple").one()
            activity.body = "<ul><li>un</li><li>deux</li></ul>"
            activity_id = activity.id
        page.goto(f"/textbook/activites/{activity_id}/modifier")
        edit = page.locator("form.panel.edit")
        expect(edit.get_by_role("toolbar")).to_be_visible()
        expect(edit.get_by_role("textbox", name="Texte").locator("li")).to_have_count(2)
        expect(edit.get_by_text("s'ouvre dans l'éditeur enrichi")).to_be_visible()
        assert axe_problems(page) == []
        assert sideways(page) == 0
        assert seen == []
        page.context.close()
    finally:
        set_input_mode(srv, "carl", acl.InputMode.rich)


def test_a_long_folder_comes_a_page_at_a_time(srv: Server) -> None:
    """101 images: the first answer holds CHOICES_PAGE (100) members and says where
    the next starts; the second the last one."""
    dav_mkcol(srv, "ann", "Images")
    for n in range(101):
        dav_put(srv, "ann", f"Images/i{n:03}.png", png(2, 2))
    ann = signed_in(srv, "ann")
    first = choices(ann, IDS["T1"], dossier="/Images").json()
    assert len(first["members"]) == 100 and first["total"] == 101 and first["next"] == 100
    assert first["members"][0]["name"] == "i000.png"
    second = choices(ann, IDS["T1"], dossier="/Images", depart=str(first["next"])).json()
    assert [m["name"] for m in second["members"]] == ["i100.png"] and second["next"] is None


def test_the_picker_counts_what_it_shows(srv: Server) -> None:
    """Stored types with blanks inside, tabs, parameters or capitals (hand-edited, or
    from an older version): the picker's ``total`` (counted in SQL,
    :meth:`providers.Store.children_page`) and its members (filtered in Python,
    ``media_kind``) follow one rule (:func:`providers.bare_type`), on either database."""
    stored = {"a.png": "image/\tpng", "b.png": " IMAGE/PNG ; x=1", "c.png": "image/ png",
              "d.png": "image/png\t;q=1", "e.ogg": "audio/ogg\r\n", "f.txt": "text/plain",
              "g.svg": "image/svg+xml", "h.png": "image\v/png"}
    dav_mkcol(srv, "ann", "Types")
    for name in stored:
        dav_put(srv, "ann", f"Types/{name}", b"x")
    with srv.transaction() as s:
        for name, ctype in stored.items():
            s.execute(update(Node).where(Node.name == name)  # names found nowhere else
                      .values(content_type=ctype))
    answer = choices(signed_in(srv, "ann"), IDS["T1"], dossier="/Types").json()
    offered = [m["name"] for m in answer["members"]]
    assert offered == ["a.png", "b.png", "c.png", "d.png", "e.ogg"], answer
    assert answer["total"] == len(offered) and answer["next"] is None
    assert {n for n, t in stored.items() if bare_type(t) in MEDIA_TYPES} == set(offered)
