"""« Ma première séance » in Chromium (issue 20, "Writing lesson content like a blog
article"), against a real server with the school of
:mod:`tests.integration.homework_kit`:

* ann writes the content of her Monday lesson M1 in the rich-text editor (Quill,
  vendored): a heading, bold, italic, a bulleted list and a link; the image button
  saves the new content and opens its edit page, where an image and a sound are
  uploaded and inserted in the text;
* ben, a student of 4B, sees the text formatted, the image drawn and the sound
  playable (both served by ``/textbook/pieces-jointes/<id>/media``, the sound with
  byte ranges);
* a body sent with a script, an ``onerror`` and a ``javascript:`` link comes back
  inert (nothing runs: no dialog, no console message);
* without JavaScript the text area is the editor, and typed line breaks survive;
* the pages pass the axe check (0 serious or critical) at 1366 and 390 px, with no
  Content-Security-Policy violation; screenshots go where the accessibility test
  keeps them (``ENT_SCREENSHOTS`` or the test's temporary folder).
"""

from __future__ import annotations

import io
import struct
import wave
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.conftest import PASSWORD, Server, running_server
from tests.integration.homework_kit import build_school
from tests.integration.test_web_accessibility import (
    WIDTHS,
    axe_problems,
    browser,  # noqa: F401
    shots,
    sideways,
    signed_in_page,
)
from tests.web import WebClient, csrf_token
from web import textbook

# A browser walk: one database is enough; the sanitizer is the same on both.
pytestmark = [pytest.mark.clock("2026-09-08T10:00 Europe/Paris"), pytest.mark.one_database,
              pytest.mark.clients]
IDS: dict[str, int] = {}


def png(width: int = 40, height: int = 20) -> bytes:
    """A small opaque PNG (blue), made here: no binary fixture."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\x20\x40\xc0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                              8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def wav(seconds: float = 1.0) -> bytes:
    """A silent mono 8 kHz WAV of ``seconds``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * int(8000 * seconds))
    return out.getvalue()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("rich-text")) as server:
        IDS.update(build_school(server))
        yield server


def watch(page: Page) -> list[str]:
    """Console messages and dialogs of ``page`` (a script that runs would show)."""
    seen: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            seen.append(message.text)

    page.on("console", console)
    page.on("dialog", lambda d: (seen.append(f"dialog: {d.message}"), d.dismiss()))
    return seen


def test_ma_premiere_seance(srv: Server, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    """The teacher's walk and the student's reading, at 1366 px. About 10 s."""
    folder = shots(tmp_path)
    ann = signed_in_page(srv, browser, "ann", "desktop")
    ann_seen = watch(ann)
    ann.goto(f"/textbook/seances/{IDS['M1']}")
    ann.get_by_text("Ajouter un contenu de séance").click()  # the form opens on demand
    form = ann.locator("form.panel.content")
    form.get_by_label("Titre").fill("Ma première séance")
    editor = form.get_by_role("textbox", name="Texte")
    expect(editor).to_be_visible()
    editor.click()
    bar = form.get_by_role("toolbar")
    bar.get_by_role("button", name="Section", exact=True).click()
    ann.keyboard.type("Les fractions")
    ann.keyboard.press("Enter")
    bar.get_by_role("button", name="Gras").click()
    ann.keyboard.type("Une fraction")
    bar.get_by_role("button", name="Gras").click()
    ann.keyboard.type(" partage une ")
    bar.get_by_role("button", name="Italique").click()
    ann.keyboard.type("unité")
    bar.get_by_role("button", name="Italique").click()
    ann.keyboard.type(" en parts égales.")
    ann.keyboard.press("Enter")
    bar.get_by_role("button", name="Liste à puces").click()
    ann.keyboard.type("numérateur")
    ann.keyboard.press("Enter")
    ann.keyboard.type("dénominateur")
    ann.keyboard.press("Enter")
    ann.keyboard.press("Enter")  # leaves the list
    ann.keyboard.type("Observez :")
    ann.screenshot(path=str(folder / "rich-text-editor-new.png"), full_page=True)
    # The image button on a new content: it is saved, and its edit page opens.
    bar.get_by_role("button", name="Insérer une image").click()
    expect(ann.get_by_role("heading", level=1)).to_have_text("Modifier : Contenu de séance")
    expect(ann.get_by_text("insérez maintenant l'image")).to_be_visible()
    with srv.transaction() as s:
        saved = s.query(textbook.Activity).filter_by(title="Ma première séance").one()
        activity_id, body = saved.id, saved.body
    assert "<h2>Les fractions</h2>" in body
    assert "<strong>Une fraction</strong> partage une <em>unité</em>" in body
    assert "<ul><li>numérateur</li><li>dénominateur</li></ul>" in body
    assert "&nbsp;" not in body

    edit = ann.locator("form.panel.edit")
    editor = edit.get_by_role("textbox", name="Texte")
    expect(editor.locator("h2")).to_have_text("Les fractions")  # shown formatted, no raw <p>
    editor.click()
    ann.keyboard.press("Control+End")
    bar = edit.get_by_role("toolbar")
    with ann.expect_file_chooser() as chooser:
        bar.get_by_role("button", name="Insérer une image").click()
    chooser.value.set_files(files=[{"name": "parts.png", "mimeType": "image/png",
                                    "buffer": png()}])
    expect(editor.locator("img")).to_have_count(1)
    with ann.expect_file_chooser() as chooser:
        bar.get_by_role("button", name="Insérer un son").click()
    chooser.value.set_files(files=[{"name": "consigne.wav", "mimeType": "audio/wav",
                                    "buffer": wav()}])
    expect(editor.locator("audio")).to_have_count(1)
    editor.click()
    ann.keyboard.press("Control+End")
    ann.keyboard.type("Voir le cours en ligne")
    for _ in "cours en ligne":
        ann.keyboard.press("Shift+ArrowLeft")
    bar.get_by_role("button", name="Lien").click()
    link_box = ann.get_by_label("Adresse du lien")
    link_box.fill("https://fr.wikipedia.org/wiki/Fraction_(math%C3%A9matiques)")
    link_box.press("Enter")
    edit.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(ann.get_by_text("Activité modifiée.")).to_be_visible()
    item = ann.locator("li.activity", has=ann.locator("h3.title",
                                                       has_text="Ma première séance"))
    expect(item.locator(".body img")).to_have_count(1)
    ann.screenshot(path=str(folder / "rich-text-teacher-lesson.png"), full_page=True)

    # Loading a saved text leaves the focus where it was: the editor once took it as
    # it filled in, and a title being typed went into the text (CI saw it).
    ann.goto(f"/textbook/activites/{activity_id}/modifier")
    edit = ann.locator("form.panel.edit")
    expect(edit.get_by_role("textbox", name="Texte").locator("h2")).to_have_text(
        "Les fractions")
    assert ann.evaluate("document.querySelector('.rich-editor').contains("
                        "document.activeElement)") is False
    edit.get_by_label("Titre").focus()
    ann.keyboard.press("End")
    ann.keyboard.type(" (revue)")
    expect(edit.get_by_label("Titre")).to_have_value("Ma première séance (revue)")
    ann.goto(f"/textbook/seances/{IDS['M1']}")
    assert ann_seen == []
    ann.context.close()

    with srv.transaction() as s:
        body = s.get_one(textbook.Activity, activity_id).body
    assert '<img src="/textbook/pieces-jointes/' in body and "/media" in body
    assert 'alt="parts"' in body
    assert "<audio" in body and 'controls=""' in body
    assert 'href="https://fr.wikipedia.org/wiki/' in body

    ben = signed_in_page(srv, browser, "ben", "desktop")
    ben_seen = watch(ben)
    ben.goto(f"/textbook/seances/{IDS['M1']}")
    item = ben.locator("li.activity", has=ben.locator("h3.title",
                                                       has_text="Ma première séance"))
    body_box = item.locator(".body")
    expect(body_box.locator("h2")).to_have_text("Les fractions")
    expect(body_box.locator("strong")).to_have_text("Une fraction")
    expect(body_box.locator("em")).to_have_text("unité")
    expect(body_box.locator("ul > li")).to_have_count(2)
    expect(body_box.get_by_role("link", name="cours en ligne")).to_have_attribute(
        "rel", "noopener noreferrer")
    image = body_box.locator("img")
    expect(image).to_be_visible()
    ben.wait_for_function("img => img.complete && img.naturalWidth === 40",
                          arg=image.element_handle())
    sound = body_box.locator("audio")
    expect(sound).to_have_attribute("controls", "")
    ben.wait_for_function("a => a.readyState >= 1 && a.duration > 0.9",
                          arg=sound.element_handle())
    expect(ben.get_by_role("toolbar")).to_have_count(0)  # no editor for a student
    assert axe_problems(ben) == []
    ben.screenshot(path=str(folder / "rich-text-student-lesson.png"), full_page=True)
    assert ben_seen == []
    ben.context.close()


def test_media_is_served_inline_with_ranges_and_only_for_readers(srv: Server) -> None:
    """The sound of the walk above, read over HTTP: a range gets 206 with its
    Content-Range; a student of another class gets 404; a PDF attachment is no media."""
    with srv.transaction() as s:
        rows = s.query(textbook.Attachment).filter(
            textbook.Attachment.name.in_(["consigne.wav", "parts.png"])).all()
        found = {a.name: a.id for a in rows}
    if "consigne.wav" not in found:
        pytest.skip("runs after test_ma_premiere_seance")
    ben = WebClient(srv)
    ben.login("ben", PASSWORD)
    url = f"/textbook/pieces-jointes/{found['consigne.wav']}/media"
    whole = ben.get(url)
    assert whole.status_code == 200
    assert whole.headers["Content-Type"] in ("audio/x-wav", "audio/wav", "audio/vnd.wave")
    assert whole.headers["Content-Disposition"] == "inline"
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in whole.headers["Content-Security-Policy"]
    part = ben.http.get(ben.url(url), headers={"Range": "bytes=4-11"}, timeout=30)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 4-11/{len(whole.content)}"
    assert part.content == whole.content[4:12]
    past = ben.http.get(ben.url(url), headers={"Range": "bytes=999999-"}, timeout=30)
    assert past.status_code == 416
    zoe = WebClient(srv)
    zoe.login("zoe", PASSWORD)  # 4C: does not read 4B's lesson
    assert zoe.get(url).status_code == 404


def test_a_copy_to_another_class_plays_its_own_media(srv: Server) -> None:
    """« Ma première séance » copied to ann's 4C lesson C1 (« Copier / déplacer »):
    the copy's text points at the copy's attachments, which 4C's students read; the
    original's stay 4B's (404 to zoe)."""
    with srv.transaction() as s:
        original = s.query(textbook.Activity).filter_by(title="Ma première séance").first()
        if original is None:
            pytest.skip("runs after test_ma_premiere_seance")
        source_id, source_media = original.id, {
            a.id for a in s.query(textbook.Attachment).filter_by(activity_id=original.id)}
    ann = WebClient(srv)
    ann.login("ann", PASSWORD)
    token = csrf_token(ann.get(f"/textbook/seances/{IDS['M1']}").text)
    sent = ann.post(f"/textbook/activites/{source_id}/transferer",
                    {"csrf_token": token, "destination": f"copier:{IDS['C1']}"})
    assert sent.status_code in (302, 303), sent.text
    with srv.transaction() as s:
        copy = s.query(textbook.Activity).filter_by(
            title="Ma première séance", lesson_id=IDS["C1"]).one()
        copied = {a.id for a in s.query(textbook.Attachment).filter_by(activity_id=copy.id)}
        body = copy.body
    assert len(copied) == 2 and not copied & source_media
    for media in copied:
        assert f"/textbook/pieces-jointes/{media}/media" in body
    zoe = WebClient(srv)
    zoe.login("zoe", PASSWORD)
    for media in copied:
        assert zoe.get(f"/textbook/pieces-jointes/{media}/media").status_code == 200
    for media in source_media:
        assert zoe.get(f"/textbook/pieces-jointes/{media}/media").status_code == 404


def test_injection_comes_back_inert(srv: Server, browser: Browser) -> None:  # noqa: F811
    """A body posted straight to the form (no editor) with a script, an onerror, a
    javascript: link, an iframe and an inline style is stored and shown without any of
    them; nothing runs in the student's page."""
    ann = WebClient(srv)
    ann.login("ann", PASSWORD)
    lesson = f"/textbook/seances/{IDS['M1']}"
    token = csrf_token(ann.get(lesson).text)
    evil = ('<p style="color:red">Piège</p><script>alert("script")</script>'
            '<img src="x" onerror="alert(\'onerror\')">'
            '<a href="javascript:alert(\'lien\')">clic</a>'
            '<iframe src="https://example.org/"></iframe>'
            '<svg><script>alert("svg")</script></svg><audio src="/x" autoplay></audio>')
    sent = ann.post(f"{lesson}/contenus", data={
        "content-csrf_token": token, "content-title": "Injection",
        "content-body": evil, "content-private_note": ""})
    assert sent.status_code == 303, sent.text
    with srv.transaction() as s:
        body = s.query(textbook.Activity).filter_by(title="Injection").one().body
    for bad in ("<script", "onerror", "javascript:", "<iframe", "style=", "<svg",
                "autoplay"):
        assert bad not in body, (bad, body)
    assert "Piège" in body

    ben = signed_in_page(srv, browser, "ben", "phone")
    seen = watch(ben)
    ben.goto(lesson)
    item = ben.locator("li.activity", has=ben.locator("h3.title", has_text="Injection"))
    expect(item.locator(".body")).to_contain_text("Piège")
    expect(item.locator("script, iframe, svg, [onerror], [style]")).to_have_count(0)
    item.get_by_text("clic").click()  # no href left: nothing happens
    ben.wait_for_timeout(300)
    assert [m for m in seen if "alert" in m or m.startswith("dialog")] == []
    assert sideways(ben) == 0
    ben.context.close()


def test_without_javascript_typed_lines_are_kept(srv: Server, browser: Browser) -> None:  # noqa: F811
    """JavaScript off: the plain text area is the editor; the lines and paragraphs a
    teacher types come back as lines and paragraphs, not run together."""
    w, h = WIDTHS["phone"]
    context = browser.new_context(base_url=srv.base_url, java_script_enabled=False,
                                  viewport={"width": w, "height": h})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Identifiant").fill("ann")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/textbook/seances/{IDS['C1']}")
    page.get_by_text("Ajouter un contenu de séance").click()  # details: no script needed
    form = page.locator("form.panel.content")
    form.get_by_label("Titre").fill("Sans script")
    form.get_by_label("Texte").fill("Première ligne\nDeuxième ligne\n\nAutre paragraphe < 3")
    form.get_by_role("button", name="Enregistrer le contenu").click()
    item = page.locator("li.activity", has=page.locator("h3.title", has_text="Sans script"))
    expect(item.locator(".body p")).to_have_count(2)
    expect(item.locator(".body br")).to_have_count(1)
    expect(item.locator(".body p").nth(1)).to_have_text("Autre paragraphe < 3")
    context.close()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_editor_pages_pass_axe(srv: Server, browser: Browser, tmp_path: Path,  # noqa: F811
                               width: str) -> None:
    """The lesson page and the edit page with the editor loaded: 0 serious or critical
    axe violation, no sideways scrolling on a phone."""
    page = signed_in_page(srv, browser, "ann", width)
    seen = watch(page)
    folder = shots(tmp_path)
    problems: dict[str, list[str]] = {}
    for path in (f"/textbook/seances/{IDS['M1']}",
                 f"/textbook/activites/{IDS['H1']}/modifier"):
        answer = page.goto(path)
        assert answer is not None and answer.status == 200
        for summary in page.locator("details.tool > summary").all():
            summary.click()  # every tool open: the editors, the binder panels
        expect(page.get_by_role("toolbar").first).to_be_visible()
        found = axe_problems(page)
        if width == "phone" and (extra := sideways(page)) > 0:
            found.append(f"scrolls sideways by {extra} px")
        if found:
            problems[path] = found
        name = f"{width}-editor{path}".replace("/", "_")
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    assert problems == {}
    assert [m for m in seen if "Content Security Policy" in m] == []
    page.context.close()


def test_the_json_api_cleans_bodies_too(srv: Server) -> None:
    """The same allow-list behind the JSON API: a plain-text body gets paragraphs."""
    ann = WebClient(srv)
    ann.login("ann", PASSWORD)
    token = csrf_token(ann.get("/").text)
    sent = ann.http.post(ann.url(f"/api/textbook/lessons/{IDS['M2']}/activities"),
                         json={"kind": "content", "title": "API",
                               "body": "ligne 1\nligne 2 & 3 < 4"},
                         headers={"X-CSRFToken": token}, timeout=30)
    assert sent.status_code == 201, sent.text
    with srv.transaction() as s:
        body = s.query(textbook.Activity).filter_by(title="API").one().body
    assert body == "<p>ligne 1<br>ligne 2 &amp; 3 &lt; 4</p>"

