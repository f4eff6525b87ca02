"""The file manager (``/documents/``) against a real server: the browser and WebDAV
show the same files, every action and its refusals, rights in a rubric, downloads'
safe headers, zips, and uploads that stream (issue 8)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests
from lxml import html

import acl
from tests.conftest import Server, running_server
from tests.integration.rubric_kit import Person, add_people
from tests.web import csrf_token
from tests.web_documents import Documents, error_of

# One database is enough: pages over the store's API (no SQL of their own); the store,
# quotas, locks and rights they use are tested on both (docs/development.md, "Which
# tests run where").
pytestmark = pytest.mark.one_database

SLUG = "club"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("docs"),
                        extra_env={"DAVSERVER_WEB__ZIP_MAX_FILES": "5"}) as srv:
        school = add_people(srv, [Person("alice", "teacher"), Person("bob", "student"),
                                  Person("visi", "teacher"), Person("wri", "teacher")])
        with srv.transaction() as s:
            acl.add_rubric(s, SLUG, "Club théâtre", school_id=school)
            acl.grant(s, SLUG, "visitor", user="visi")
            acl.grant(s, SLUG, "writer", user="wri")
            acl.grant(s, SLUG, "moderator", user="alice")
        yield srv


@pytest.fixture
def alice(server: Server) -> Documents:
    return Documents(server, "alice")


def dav(server: Server, login: str = "alice") -> requests.Session:
    return server.session(login)


def test_a_dav_change_shows_at_once_and_a_browser_upload_is_the_same_over_dav(
        server: Server, alice: Documents) -> None:
    url = f"{server.documents_url}/{quote('échange.txt')}"
    assert dav(server).put(url, data=b"version 1").status_code == 201
    assert "échange.txt" in alice.names("porte-documents")
    assert dav(server).put(url, data=b"version 2, longer").status_code == 204
    page = alice.page("porte-documents").text
    assert "17 octets" in page  # the new size, at once

    body = bytes(range(256)) * 40 + "é\n".encode()
    answer = alice.upload("porte-documents", "depuis le navigateur.bin", body)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"name": "depuis le navigateur.bin", "size": len(body),
                             "pending": False}
    got = dav(server).get(f"{server.documents_url}/{quote('depuis le navigateur.bin')}")
    assert got.status_code == 200 and got.content == body
    # Replacing from the browser is seen over DAV too.
    assert alice.upload("porte-documents", "échange.txt", b"v3", replace=True).status_code == 201
    assert dav(server).get(url).content == b"v3"


def test_folder_rename_move_copy_delete(server: Server, alice: Documents) -> None:
    assert alice.act("porte-documents", "mkdir", name="Cours").status_code == 303
    assert alice.act("porte-documents", "mkdir", name="Archives").status_code == 303
    assert alice.upload("porte-documents/Cours", "a.txt", b"A").status_code == 201
    assert alice.upload("porte-documents/Cours", "b.txt", b"BB").status_code == 201

    assert alice.act("porte-documents/Cours", "rename", ("a.txt",),
                     new_name="leçon 1.txt").status_code == 303
    assert alice.act("porte-documents", "rename", ("Cours",),
                     new_name="Cours 2026").status_code == 303
    assert alice.names("porte-documents/Cours 2026") == ["b.txt", "leçon 1.txt"]
    assert alice.act("porte-documents/Cours 2026", "copy", ("b.txt",),
                     destination="porte-documents/Cours 2026").status_code == 303
    assert alice.act("porte-documents/Cours 2026", "copy", ("b.txt", "leçon 1.txt"),
                     destination="porte-documents/Archives").status_code == 303
    assert alice.act("porte-documents/Cours 2026", "move", ("b (copie).txt",),
                     destination="rubriques/club").status_code == 303
    assert alice.act("porte-documents/Archives", "delete", ("b.txt",)).status_code == 303

    assert alice.names("porte-documents/Archives") == ["leçon 1.txt"]
    assert alice.names("porte-documents/Cours 2026") == ["b.txt", "leçon 1.txt"]
    folder = f"{server.documents_url}/{quote('Cours 2026')}"
    assert dav(server).get(f"{folder}/{quote('leçon 1.txt')}").content == b"A"
    moved = dav(server).get(f"{server.dav_url}/rubriques/{SLUG}/{quote('b (copie).txt')}")
    assert moved.content == b"BB"
    assert dav(server).get(f"{server.documents_url}/Archives/b.txt").status_code == 404


def test_bad_input_is_refused_in_french_and_nothing_is_lost(
        server: Server, alice: Documents) -> None:
    alice.act("porte-documents", "mkdir", name="Garde")
    alice.act("porte-documents/Garde", "mkdir", name="Sous")
    assert alice.upload("porte-documents/Garde", "x.txt", b"x").status_code == 201

    slash = alice.act("porte-documents/Garde", "mkdir", name="a/b")
    assert slash.status_code == 400 and "« / »" in error_of(slash)
    long_name = "é" * 128  # 256 bytes of UTF-8
    too_long = alice.act("porte-documents/Garde", "rename", ("x.txt",), new_name=long_name)
    assert too_long.status_code == 400 and "256 octets" in error_of(too_long)
    assert alice.upload("porte-documents/Garde", long_name, b"y").status_code == 400
    taken = alice.act("porte-documents/Garde", "rename", ("x.txt",), new_name="Sous")
    assert taken.status_code == 409 and "déjà pris" in error_of(taken)
    again = alice.upload("porte-documents/Garde", "x.txt", b"other")
    assert again.status_code == 409 and "existe déjà" in again.json()["error"]
    inside = alice.act("porte-documents", "move", ("Garde",),
                       destination="porte-documents/Garde/Sous")
    assert inside.status_code == 409 and "sous-dossiers" in error_of(inside)
    no_token = alice.act("porte-documents/Garde", "delete", ("x.txt",), token=False)
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    put_no_token = alice.upload("porte-documents/Garde", "z.txt", b"z", token="")
    assert put_no_token.status_code == 403 and "CSRF" in put_no_token.json()["error"]
    nowhere = alice.act("porte-documents/Garde", "move", ("x.txt",),
                        destination="rubriques/inconnue")
    assert nowhere.status_code == 404
    deeper = alice.act("porte-documents", "delete", ("Garde/x.txt",))  # members only
    assert deeper.status_code == 404 and "n'existe plus" in error_of(deeper)

    assert alice.names("porte-documents/Garde") == ["Sous", "x.txt"]
    assert dav(server).get(f"{server.documents_url}/Garde/x.txt").content == b"x"


def test_rights_in_a_rubric(server: Server) -> None:
    visitor, writer, moderator = (Documents(server, login) for login in ("visi", "wri", "alice"))
    spaces = html.fromstring(visitor.get("/documents/").text).xpath("//table//a/text()")
    assert spaces == ["Porte-documents", "Classeur pédagogique", "Club théâtre"]
    refused = visitor.upload("rubriques/club", "v.txt", b"v", token=writer.token("rubriques/club"))
    assert refused.status_code == 403  # another session's token is refused too
    refused = visitor.http.put(
        visitor.url("/documents/api/fichiers/rubriques/club/v.txt"), data=b"v",
        headers={"X-CSRFToken": csrf_token(visitor.page("rubriques/club").text)}, timeout=30)
    assert refused.status_code == 403 and "ajouter" in refused.json()["error"]
    pending = writer.upload("rubriques/club", "brouillon.txt", b"w")
    assert pending.status_code == 201 and pending.json()["pending"] is True
    assert "brouillon.txt" not in visitor.names("rubriques/club")
    assert "en attente de publication" in writer.page("rubriques/club").text
    assert "brouillon.txt" in moderator.names("rubriques/club")
    gone = visitor.act("rubriques/club", "delete", ("brouillon.txt",))
    assert gone.status_code == 404  # a visitor may not know it exists
    # Over DAV the same: hidden from the visitor, there for the moderator.
    url = f"{server.dav_url}/rubriques/{SLUG}/brouillon.txt"
    assert dav(server, "visi").get(url).status_code == 404
    assert dav(server, "alice").get(url).content == b"w"


def test_downloads_never_run_on_our_origin(server: Server, alice: Documents) -> None:
    page = b"<html><script>alert(1)</script></html>"
    assert alice.upload("porte-documents", "piege.html", page).status_code == 201
    answer = alice.get("/documents/porte-documents/piege.html")
    assert answer.status_code == 200 and answer.content == page
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert answer.headers["Content-Security-Policy"] == "sandbox"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_zip_of_a_folder_and_of_a_selection_and_its_limit(
        server: Server, alice: Documents) -> None:
    alice.act("porte-documents", "mkdir", name="Zip")
    alice.act("porte-documents/Zip", "mkdir", name="vide")
    alice.act("porte-documents/Zip", "mkdir", name="sous")
    for name in ("1.txt", "2.txt"):
        alice.upload("porte-documents/Zip", name, name.encode())
    alice.upload("porte-documents/Zip/sous", "3.txt", b"three")
    whole = alice.act("porte-documents/Zip", "zip")
    assert whole.status_code == 200 and whole.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(whole.content))
    assert sorted(archive.namelist()) == ["1.txt", "2.txt", "sous/", "sous/3.txt", "vide/"]
    assert archive.read("sous/3.txt") == b"three"
    some = zipfile.ZipFile(io.BytesIO(alice.act("porte-documents/Zip", "zip",
                                                ("sous", "2.txt")).content))
    assert sorted(some.namelist()) == ["2.txt", "sous/", "sous/3.txt"]

    for n in range(4, 7):
        alice.upload("porte-documents/Zip", f"{n}.txt", b"n")
    over = alice.act("porte-documents/Zip", "zip")
    assert over.status_code == 400
    assert "6 fichiers" in error_of(over) and "5 au plus" in error_of(over)


def test_quota_bar_warning_and_refusal(server: Server) -> None:
    with server.app() as app, app.db.transaction(write=False) as s:
        user = acl.find_user(s, "bob")
        assert user is not None
        space = app.store.ensure_space("documents", owner_id=user.id, profile="student")
        app.store.set_limit(space.id, 100 * 1024)
    bob = Documents(server, "bob")
    assert bob.upload("porte-documents", "gros.bin", b"g" * 70 * 1024).status_code == 201
    page = bob.page("porte-documents")
    assert "70 Ko utilisés sur 100 Ko (70 %)" in page.text
    assert not html.fromstring(page.text).xpath('//p[@class="warning"]')
    assert bob.upload("porte-documents", "plus.bin", b"p" * 12 * 1024).status_code == 201
    page = bob.page("porte-documents")
    assert html.fromstring(page.text).xpath('//p[@class="warning"]')  # 82 %
    full = bob.upload("porte-documents", "trop.bin", b"t" * 30 * 1024)
    assert full.status_code == 507 and "Espace insuffisant" in full.json()["error"]
    assert "trop.bin" not in bob.names("porte-documents")
    # No drift: the refusal left usage and reservations as they were.
    assert "82 Ko utilisés sur 100 Ko" in bob.page("porte-documents").text
    assert bob.upload("porte-documents", "juste.bin", b"j" * 18 * 1024).status_code == 201


def test_listing_sorts_by_column(server: Server, alice: Documents) -> None:
    alice.act("porte-documents", "mkdir", name="Tri")
    for name, size in (("b.txt", 300), ("a.txt", 1500), ("c.txt", 10)):
        alice.upload("porte-documents/Tri", name, b"s" * size)
    alice.act("porte-documents/Tri", "mkdir", name="z dossier")

    def order(**params: str) -> list[str]:
        tree = html.fromstring(alice.page("porte-documents/Tri", **params).text)
        return [str(n) for n in tree.xpath('//table[@id="listing"]//a[@class="name"]/text()')]

    assert order() == ["z dossier", "a.txt", "b.txt", "c.txt"]  # folders first
    assert order(tri="taille") == ["z dossier", "c.txt", "b.txt", "a.txt"]
    assert order(tri="taille", ordre="desc") == ["z dossier", "a.txt", "b.txt", "c.txt"]
    assert order(tri="nom", ordre="desc") == ["z dossier", "c.txt", "b.txt", "a.txt"]
    assert "1,5 Ko" in alice.page("porte-documents/Tri").text  # 1500 bytes


def test_a_dav_lock_stops_the_browser_until_unlocked(server: Server, alice: Documents) -> None:
    assert alice.upload("porte-documents", "ouvert.docx", b"doc").status_code == 201
    url = f"{server.documents_url}/ouvert.docx"
    body = ('<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
            "<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
            "<D:owner>Word</D:owner></D:lockinfo>")
    locked = dav(server).request("LOCK", url, data=body, headers={"Timeout": "Second-600"})
    assert locked.status_code == 200, locked.text
    token = locked.headers["Lock-Token"]
    refused = alice.act("porte-documents", "delete", ("ouvert.docx",))
    assert refused.status_code == 423 and "verrouillé" in error_of(refused)
    renamed = alice.act("porte-documents", "rename", ("ouvert.docx",), new_name="x.docx")
    assert renamed.status_code == 423 and "verrouillé" in error_of(renamed)
    assert dav(server).request("UNLOCK", url, headers={"Lock-Token": token}).status_code == 204
    assert alice.act("porte-documents", "delete", ("ouvert.docx",)).status_code == 303
    assert dav(server).get(url).status_code == 404


def test_a_64_mib_upload_and_its_zip_stream_through_the_server(server: Server) -> None:
    """The server's peak resident memory grows by far less than the body while a
    64 MiB file is uploaded from the browser side and zipped back (the bound, 24 MiB,
    leaves room for allocator noise; holding the body would pass it)."""
    import http.client

    from benchmarks.client import repeated_body
    from benchmarks.memory import RssSampler

    assert server.proc is not None
    size = 64 * 2**20
    alice = Documents(server, "alice")
    alice.act("porte-documents", "mkdir", name="Gros")
    assert alice.upload("porte-documents/Gros", "warm-up.bin", b"w" * 2**20).status_code == 201
    token = alice.token("porte-documents/Gros")
    cookie = "; ".join(f"{c.name}={c.value}" for c in alice.http.cookies)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    sampler = RssSampler(server.proc.pid, interval=0.01).start()
    try:
        with sampler.window() as put:
            connection.request(
                "PUT", "/documents/api/fichiers/porte-documents/Gros/big.bin",
                body=repeated_body(size, bytes(range(256)) * 4096),
                headers={"Content-Length": str(size), "Cookie": cookie, "X-CSRFToken": token,
                         "Content-Type": "application/octet-stream"})
            answer = connection.getresponse()
            assert answer.status == 201, answer.read()
            answer.read()
        with sampler.window() as zipped:
            received = 0
            with alice.http.post(alice.url("/documents/porte-documents/Gros/"), stream=True,
                                 data={"action": "zip", "items": "big.bin",
                                       "csrf_token": token}, timeout=120) as got:
                assert got.status_code == 200
                for chunk in got.iter_content(2**20):
                    received += len(chunk)
    finally:
        sampler.stop()
        connection.close()
    assert received > size
    bound = 24 * 2**20
    assert put["growth"] < bound, f"upload grew the server by {put['growth'] / 2**20:.1f} MiB"
    assert zipped["growth"] < bound, f"zip grew the server by {zipped['growth'] / 2**20:.1f} MiB"
    got_back = dav(server).get(f"{server.documents_url}/Gros/big.bin", stream=True)
    assert int(got_back.headers["Content-Length"]) == size
    got_back.close()


def test_import_from_my_porte_documents_into_a_rubric(server: Server) -> None:
    writer = Documents(server, "wri")
    assert writer.upload("porte-documents", "fiche.pdf", b"%PDF-1.4 fiche").status_code == 201
    picker = writer.get("/documents/api/dossiers", params={"dans": "porte-documents",
                                                          "fichiers": "1"}).json()
    assert {"where": "porte-documents/fiche.pdf", "name": "fiche.pdf"} in picker["files"]
    spaces = writer.get("/documents/api/dossiers").json()["folders"]
    assert [(s["where"], s["writable"]) for s in spaces] == [
        ("porte-documents", True), ("classeur", True), ("rubriques/club", True)]
    page = writer.page("rubriques/club").text
    assert "Importer depuis mon porte-documents" in page
    done = writer.act("rubriques/club", "import", source="porte-documents/fiche.pdf")
    assert done.status_code == 303
    got = dav(server, "alice").get(f"{server.dav_url}/rubriques/{SLUG}/fiche.pdf")
    assert got.content == b"%PDF-1.4 fiche"  # the moderator sees it, pending
    assert "fiche.pdf" not in Documents(server, "visi").names("rubriques/club")
    assert "fiche.pdf" in writer.names("porte-documents")  # a copy: the original stays


def test_the_binder_is_a_teachers_space_beside_the_porte_documents(
        server: Server, alice: Documents) -> None:
    assert alice.get("/binder/").headers["Location"].endswith("/documents/classeur/")
    assert alice.upload("classeur", "séquence.odt", b"odt").status_code == 201
    got = dav(server).get(f"{server.dav_url}/classeur/{quote('séquence.odt')}")
    assert got.content == b"odt"
    assert "séquence.odt" in alice.names("classeur")
    student = Documents(server, "bob")
    assert student.page("classeur").status_code == 404
    assert "Classeur" not in student.get("/documents/").text
