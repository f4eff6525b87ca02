"""The trash page in the browser (issue 8), against a real server process: what a
WebDAV DELETE put in the trash is listed, restored to its place (asking when the
name is taken), deleted forever, emptied; a writer sees only their own items in a
rubric; POSTs without the CSRF token are refused and change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from lxml import html

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.rubric_kit import put, rubric_url, trash_bytes, used_bytes
from tests.web import WebClient, csrf_token


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    users = {"ann": "teacher", "carl": "student", "dora": "student"}
    with running_server(tmp_path_factory.mktemp("trash-web"), users=users) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            acl.add_rubric(s, "club", "Club théâtre", school_id=school)
            acl.grant(s, "club", "moderator", user="ann")
            acl.grant(s, "club", "writer", user="carl")
            acl.grant(s, "club", "writer", user="dora")
        yield server


def signed_in(server: Server, login: str) -> WebClient:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def _deleted(srv: Server, login: str, url: str, data: bytes) -> None:
    dav = srv.session(login)
    assert put(dav, url, data) == 201
    assert dav.delete(url).status_code == 204


def _rows(page: str, space: str) -> dict[str, str]:
    """name → item id of the rows of one space's section."""
    tree = html.fromstring(page)
    return {row.findtext("td[@class='name']").rstrip("/"): row.get("data-item")
            for row in tree.xpath(f"//section[@data-space='{space}']//tr[@data-item]")}


def test_restore_purge_and_empty_from_the_page(srv: Server) -> None:
    web = signed_in(srv, "ann")
    dav = srv.session("ann")
    name = f"rapport-{uuid.uuid4().hex[:6]}.txt"
    url = f"{srv.documents_url}/{name}"
    _deleted(srv, "ann", url, b"version 1")
    page = web.get("/corbeille/")
    assert page.status_code == 200
    item = _rows(page.text, "porte-documents")[name]

    token = csrf_token(page.text)
    assert web.post(f"/corbeille/{item}/restaurer", {}).status_code == 403  # no token
    assert dav.get(url).status_code == 404
    done = web.post(f"/corbeille/{item}/restaurer", {"csrf_token": token})
    assert done.status_code == 303
    assert dav.get(url).content == b"version 1"

    # The name is taken again: the page asks; "keep both" restores beside it.
    assert dav.delete(url).status_code == 204
    assert put(dav, url, b"version 2") == 201
    item = _rows(web.get("/corbeille/").text, "porte-documents")[name]
    asked = web.post(f"/corbeille/{item}/restaurer", {"csrf_token": token})
    assert asked.status_code == 409
    assert html.fromstring(asked.text).xpath("//div[@class='question']")
    assert dav.get(url).content == b"version 2"
    kept = web.post(f"/corbeille/{item}/restaurer", {"csrf_token": token, "mode": "keep-both"})
    assert kept.status_code == 303
    assert dav.get(url.replace(".txt", " (2).txt")).content == b"version 1"
    assert dav.get(url).content == b"version 2"

    # The delete freed the quota at once (issue 17); delete forever, then empty: the
    # trash lets its bytes go.
    before = used_bytes(srv, "ann")
    assert dav.delete(url).status_code == 204  # version 2
    assert used_bytes(srv, "ann") == before - len(b"version 2")
    in_trash = trash_bytes(srv, "ann")
    item = _rows(web.get("/corbeille/").text, "porte-documents")[name]
    assert web.post(f"/corbeille/{item}/supprimer", {"csrf_token": token}).status_code == 303
    assert trash_bytes(srv, "ann") == in_trash - len(b"version 2")
    assert dav.delete(url.replace(".txt", " (2).txt")).status_code == 204
    assert web.post("/corbeille/vider/porte-documents", {"csrf_token": token}).status_code == 303
    assert _rows(web.get("/corbeille/").text, "porte-documents") == {}
    assert trash_bytes(srv, "ann") == 0
    assert used_bytes(srv, "ann") == before - len(b"version 2") - len(b"version 1")


def test_a_writer_sees_only_their_own_items_in_a_rubric(srv: Server) -> None:
    name = f"affiche-{uuid.uuid4().hex[:6]}.txt"
    _deleted(srv, "carl", rubric_url(srv, "club", name), b"by carl")
    carl, dora, ann = (signed_in(srv, u) for u in ("carl", "dora", "ann"))
    assert name in _rows(carl.get("/corbeille/").text, "rubriques/club")
    assert name not in _rows(dora.get("/corbeille/").text, "rubriques/club")
    item = _rows(ann.get("/corbeille/").text, "rubriques/club")[name]
    token = csrf_token(dora.get("/corbeille/").text)
    assert dora.post(f"/corbeille/{item}/supprimer", {"csrf_token": token}).status_code == 404
    assert dora.post(f"/corbeille/{item}/restaurer", {"csrf_token": token}).status_code == 404
    token = csrf_token(ann.get("/corbeille/").text)
    assert ann.post(f"/corbeille/{item}/restaurer", {"csrf_token": token}).status_code == 303
    assert srv.session("ann").get(rubric_url(srv, "club", name)).content == b"by carl"


def test_the_page_needs_a_signed_in_user(srv: Server) -> None:
    assert WebClient(srv).get("/corbeille/").status_code == 302


def test_teachers_have_a_binder_section(srv: Server) -> None:
    name = f"sequence-{uuid.uuid4().hex[:6]}.txt"
    _deleted(srv, "ann", f"{srv.dav_url}/classeur/{name}", b"binder")
    page = signed_in(srv, "ann").get("/corbeille/").text
    assert name in _rows(page, "classeur")
    student = signed_in(srv, "carl").get("/corbeille/").text
    assert not html.fromstring(student).xpath("//section[@data-space='classeur']")


def test_restore_elsewhere_into_any_folder_the_user_may_add_to(srv: Server) -> None:
    """ann restores a deleted file into a folder of her porte-documents, then one into
    the club's shared folders (another space: charged there, freed here); carl, a
    writer, restores into the club and his file waits for a moderator; a folder that
    does not exist is refused with the reason."""
    web = signed_in(srv, "ann")
    dav = srv.session("ann")
    assert dav.request("MKCOL", f"{srv.documents_url}/Rangés/").status_code == 201
    name = f"cours-{uuid.uuid4().hex[:6]}.txt"
    _deleted(srv, "ann", f"{srv.documents_url}/{name}", b"cours")
    page = web.get("/corbeille/")
    token, item = csrf_token(page.text), _rows(page.text, "porte-documents")[name]

    missing = web.post(f"/corbeille/{item}/restaurer-vers",
                       {"csrf_token": token, "destination": "porte-documents/Nulle part"})
    assert missing.status_code == 404 and "Restauration refusée" in missing.text
    done = web.post(f"/corbeille/{item}/restaurer-vers",
                    {"csrf_token": token, "destination": "porte-documents/Rangés"})
    assert done.status_code == 303
    assert dav.get(f"{srv.documents_url}/Rangés/{name}").content == b"cours"

    # Into the club (another space): the bytes move from ann's ledger to the club's.
    _deleted(srv, "ann", f"{srv.documents_url}/{name}", b"cours 2")
    item = _rows(web.get("/corbeille/").text, "porte-documents")[name]
    before = trash_bytes(srv, "ann")
    done = web.post(f"/corbeille/{item}/restaurer-vers",
                    {"csrf_token": token, "destination": "rubriques/club"})
    assert done.status_code == 303
    assert dav.get(f"{rubric_url(srv, 'club')}/{name}").content == b"cours 2"
    assert trash_bytes(srv, "ann") == before - len(b"cours 2")

    # carl (writer) restores his own file into the club: pending until published.
    carl_web = signed_in(srv, "carl")
    other = f"notes-{uuid.uuid4().hex[:6]}.txt"
    _deleted(srv, "carl", f"{srv.documents_url}/{other}", b"notes")
    page = carl_web.get("/corbeille/")
    item = _rows(page.text, "porte-documents")[other]
    done = carl_web.post(f"/corbeille/{item}/restaurer-vers",
                         {"csrf_token": csrf_token(page.text), "destination": "rubriques/club"})
    assert done.status_code == 303
    assert srv.session("dora").get(f"{rubric_url(srv, 'club')}/{other}").status_code == 404
    assert srv.session("ann").get(f"{rubric_url(srv, 'club')}/{other}").content == b"notes"
