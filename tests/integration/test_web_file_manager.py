"""The file manager's rough edges of issue 20, over HTTP against a real server process
(SQLite and PostgreSQL: names are found by their key in the database): a taken name on
upload (which names are taken, "replace", "keep both" as ``name (2).ext``, refused
otherwise), a moderator's "Publier"/"Retirer" on a selection (a writer has neither the
buttons nor the right), and a restore from the trash whose folder was renamed
(the page offers the space's root or a picked folder). The same flows in Chromium are
in :mod:`tests.integration.test_web_file_manager_browser`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from lxml import html

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.rubric_kit import node, props, put, rubric_url
from tests.web import WebClient, csrf_token

USERS = {"ann": "teacher", "carl": "student", "mod": "teacher"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Rubric ``club``: ann manager, mod moderator, carl writer."""
    with running_server(tmp_path_factory.mktemp("file-manager"), users=USERS) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            acl.add_rubric(s, "club", "Club théâtre", school_id=school)
            acl.grant(s, "club", "manager", user="ann")
            acl.grant(s, "club", "moderator", user="mod")
            acl.grant(s, "club", "writer", user="carl")
        yield server


def signed_in(server: Server, login: str) -> WebClient:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def upload(web: WebClient, where: str, data: bytes, mode: str = "") -> requests.Response:
    token = csrf_token(web.get("/documents/porte-documents/").text)
    return web.http.put(web.url(f"/documents/api/fichiers/{where}{mode}"), data=data,
                        headers={"X-CSRFToken": token}, timeout=30)


def taken(web: WebClient, folder: str, body: object) -> requests.Response:
    token = csrf_token(web.get("/documents/porte-documents/").text)
    return web.http.post(web.url(f"/documents/api/noms-pris/{folder}"), json=body,
                         headers={"X-CSRFToken": token}, timeout=30)


def test_a_taken_name_is_asked_about_then_replaced_or_kept_both(srv: Server) -> None:
    web = signed_in(srv, "ann")
    dav = srv.session("ann")
    folder = f"porte-documents/Up-{uuid.uuid4().hex[:6]}"
    assert dav.request("MKCOL", f"{srv.dav_url}/{folder}/").status_code == 201
    assert dav.request("MKCOL", f"{srv.dav_url}/{folder}/Sous/").status_code == 201
    assert upload(web, f"{folder}/cours.pdf", b"v1").status_code == 201

    # Which names are taken: the file (replaceable), the folder (not), one free; a name
    # that can never be used is left out (its own upload says why).
    found = taken(web, folder, {"names": ["cours.pdf", "Sous", "neuf.txt", "a\\b"]})
    assert found.status_code == 200
    assert found.json() == {"taken": [
        {"asked": "cours.pdf", "name": "cours.pdf", "replaceable": True},
        {"asked": "Sous", "name": "Sous", "replaceable": False}]}
    for bad in ({"names": "cours.pdf"}, {"noms": []}, [1, 2], {"names": [3]},
                {"names": ["x"] * 1001}):
        refused = taken(web, folder, bad)
        assert refused.status_code == 400 and "names" in refused.json()["error"], bad

    forged = web.http.post(web.url(f"/documents/api/noms-pris/{folder}"),
                           json={"names": ["cours.pdf"]}, timeout=30)
    assert forged.status_code == 403 and "CSRF" in forged.json()["error"]

    # A plain upload on a taken name: 409, said to be a taken name; nothing changed.
    plain = upload(web, f"{folder}/cours.pdf", b"v2")
    assert plain.status_code == 409 and plain.json()["taken"] is True
    assert "existe déjà" in plain.json()["error"]
    assert dav.get(f"{srv.dav_url}/{folder}/cours.pdf").content == b"v1"
    both = upload(web, f"{folder}/cours.pdf", b"v2", "?remplacer=1&garder=1")
    assert both.status_code == 400 and "pas les deux" in both.json()["error"]

    # Keep both: "cours (2).pdf", then "(3)"; the old file untouched.
    kept = upload(web, f"{folder}/cours.pdf", b"v2", "?garder=1")
    assert kept.status_code == 201 and kept.json()["name"] == "cours (2).pdf"
    again = upload(web, f"{folder}/cours.pdf", b"v3", "?garder=1")
    assert again.json()["name"] == "cours (3).pdf"
    assert dav.get(f"{srv.dav_url}/{folder}/cours (2).pdf").content == b"v2"
    assert dav.get(f"{srv.dav_url}/{folder}/cours.pdf").content == b"v1"
    # A free name with "keep both" keeps its own name.
    free = upload(web, f"{folder}/neuf.txt", b"n", "?garder=1")
    assert free.json()["name"] == "neuf.txt"

    # Replace: the same name, the new content; a folder is never replaced by a file.
    replaced = upload(web, f"{folder}/cours.pdf", b"v4", "?remplacer=1")
    assert replaced.status_code == 201 and replaced.json()["name"] == "cours.pdf"
    assert dav.get(f"{srv.dav_url}/{folder}/cours.pdf").content == b"v4"
    over_folder = upload(web, f"{folder}/Sous", b"x", "?remplacer=1")
    assert over_folder.status_code == 409
    kept_folder = upload(web, f"{folder}/Sous", b"x", "?garder=1")
    assert kept_folder.json()["name"] == "Sous (2)"


def _listing_form(page: str) -> html.HtmlElement:
    return html.fromstring(page).xpath('//form[@id="listing-form"]')[0]


def test_moderators_publish_and_withdraw_a_selection_writers_cannot(srv: Server) -> None:
    carl = srv.session("carl")
    names = [f"affiche-{uuid.uuid4().hex[:6]}.png", f"texte-{uuid.uuid4().hex[:6]}.txt"]
    for name in names:
        assert put(carl, rubric_url(srv, "club", name)) == 201
        assert props(carl, rubric_url(srv, "club", name))["publication-state"] == "pending"

    writer = signed_in(srv, "carl")
    page = writer.get("/documents/rubriques/club/")
    assert page.status_code == 200 and names[0] in page.text
    assert not _listing_form(page.text).xpath('.//button[@value="publish" or @value="withdraw"]')
    token = csrf_token(page.text)
    refused = writer.post("/documents/rubriques/club/",
                          [("csrf_token", token), ("action", "publish"), ("items", names[0])])
    assert refused.status_code == 403 and "modérateurs" in refused.text
    assert node(srv, "rubric:club", "/" + names[0]).published is False  # type: ignore[union-attr]

    for login in ("mod", "ann"):  # a moderator and a manager
        web = signed_in(srv, login)
        page = web.get("/documents/rubriques/club/")
        buttons = _listing_form(page.text).xpath('.//button[@name="action"]/text()')
        assert "Publier" in buttons and "Retirer" in buttons
        token = csrf_token(page.text)
        done = web.post("/documents/rubriques/club/",
                        [("csrf_token", token), ("action", "publish"),
                         *[("items", n) for n in names]])
        assert done.status_code == 303
        shown = web.get("/documents/rubriques/club/").text
        assert "Publié : " in shown and all(f"« {n} »" in shown for n in names)
        assert all(node(srv, "rubric:club", "/" + n).published for n in names)  # type: ignore[union-attr]
        # The visitor's view over DAV agrees.
        assert props(carl, rubric_url(srv, "club", names[0]))["publication-state"] == \
            "published"
        back = web.post("/documents/rubriques/club/",
                        [("csrf_token", token), ("action", "withdraw"), ("items", names[1])])
        assert back.status_code == 303
        assert node(srv, "rubric:club", "/" + names[1]).published is False  # type: ignore[union-attr]
        assert node(srv, "rubric:club", "/" + names[0]).published is True  # type: ignore[union-attr]

    # Nothing chosen, or outside a rubric: a clear refusal.
    web = signed_in(srv, "mod")
    token = csrf_token(web.get("/documents/rubriques/club/").text)
    empty = web.post("/documents/rubriques/club/", {"csrf_token": token, "action": "publish"})
    assert empty.status_code == 400 and "Cochez" in empty.text
    mine = f"perso-{uuid.uuid4().hex[:6]}.txt"
    assert put(srv.session("mod"), f"{srv.documents_url}/{mine}") == 201
    personal = web.post("/documents/porte-documents/",
                        [("csrf_token", token), ("action", "publish"), ("items", mine)])
    assert personal.status_code == 400 and "rubrique" in personal.text
    assert "Publier" not in web.get("/documents/porte-documents/").text


def _trash_rows(page: str) -> dict[str, str]:
    tree = html.fromstring(page)
    return {row.findtext("td[@class='name']").rstrip("/"): row.get("data-item")
            for row in tree.xpath("//section[@data-space='porte-documents']//tr[@data-item]")}


def test_restore_when_the_folder_was_renamed_offers_the_root_or_a_folder(
        srv: Server) -> None:
    web = signed_in(srv, "ann")
    dav = srv.session("ann")
    folder = f"Cours-{uuid.uuid4().hex[:6]}"
    name = f"fiche-{uuid.uuid4().hex[:6]}.txt"
    assert dav.request("MKCOL", f"{srv.documents_url}/{folder}/").status_code == 201
    assert put(dav, f"{srv.documents_url}/{folder}/{name}", b"fiche") == 201
    assert dav.delete(f"{srv.documents_url}/{folder}/{name}").status_code == 204
    moved = dav.request("MOVE", f"{srv.documents_url}/{folder}/",
                        headers={"Destination": f"{srv.documents_url}/{folder} (ancien)/"})
    assert moved.status_code == 201

    page = web.get("/corbeille/")
    token, item = csrf_token(page.text), _trash_rows(page.text)[name]
    asked = web.post(f"/corbeille/{item}/restaurer", {"csrf_token": token})
    assert asked.status_code == 409
    box = html.fromstring(asked.text).xpath('//div[contains(@class,"homeless")]')[0]
    said = " ".join(box.text_content().split())
    assert f"/{folder}" in said and "n'existe plus" in said
    assert box.xpath('.//input[@name="destination"][@type="hidden"]/@value') == \
        ["porte-documents"]
    assert box.xpath('.//button[contains(@class,"pick")]/@data-start') == ["porte-documents"]

    nothing = web.post(f"/corbeille/{item}/restaurer-vers",
                       {"csrf_token": token, "destination": ""})
    assert nothing.status_code == 400 and "Choisissez le dossier" in nothing.text

    root = web.post(f"/corbeille/{item}/restaurer-vers",
                    {"csrf_token": token, "destination": "porte-documents"})
    assert root.status_code == 303
    assert dav.get(f"{srv.documents_url}/{name}").content == b"fiche"
    assert f"porte-documents/{name}" in web.get("/corbeille/").text
