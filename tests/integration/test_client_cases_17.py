"""Real-client cases of issue 17 ("Every real client, second round"), in the style of
``shared/cases/client-interop.md``: each test names the client, what it sends, what
went wrong and what is correct, and replays it with curl against a live server.

* N-1 to N-4: names as written. A name is stored as the client wrote it and
  compared by its NFC form (davfs2 and rclone compare names byte for byte); names no
  client can use get a clear 400 and store nothing.
* H-1: hrefs percent-encode everything outside RFC 3986 ``pchar`` (Cyberduck drops
  an entry whose href is not a valid URI).
* P-1: ``<propname/>`` lists every property (RFC 4918 §9.1; cadaver's ``propnames``).
* Q-1 to Q-3: RFC 4331 figures on every collection (``df`` on a davfs2 mount of
  ``/dav/`` showed 0 free), and a delete frees space at once (the trash does not
  count; its oldest items go when room is needed).

davfs2 itself is driven in ``test_davfs2.py``, cadaver in ``test_cadaver.py``,
rclone bisync in ``test_rclone.py``.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests

from tests.conftest import Server
from tests.curl import Curl
from tests.web import WebClient

pytestmark = pytest.mark.clients

DAV = "{DAV:}"
OC = "{http://owncloud.org/ns}"
# RFC 3986 §3.3: a path is "/"-separated segments of pchar (unreserved, pct-encoded,
# sub-delims, ":" and "@").
PCHAR_PATH = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$")
PROPNAME = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:">'
            "<D:propname/></D:propfind>")
QUOTA = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
         "<D:quota-used-bytes/><D:quota-available-bytes/></D:prop></D:propfind>")


@pytest.fixture
def curl(server: Server, tmp_path: Path) -> Curl:
    return Curl(server, tmp_path)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def responses(xml: bytes) -> list[ET.Element]:
    return list(ET.fromstring(xml).iter(f"{DAV}response"))


def listing_names(session: requests.Session, url: str) -> list[str]:
    """The members' names of a PROPFIND Depth 1 on the folder ``url`` (ending in
    ``/``), decoded from their hrefs exactly (no normalisation), sorted."""
    answer = session.request("PROPFIND", url, headers={"Depth": "1"})
    assert answer.status_code == 207, answer.text
    own = urlsplit(url).path
    found = []
    for response in responses(answer.content):
        path = response.findtext(f"{DAV}href") or ""
        if path.rstrip("/") != own.rstrip("/"):
            found.append(unquote(path.rstrip("/").rsplit("/", 1)[1], errors="strict"))
    return sorted(found)


def used(curl: Curl, url: str, user: str | None = None) -> tuple[int, int]:
    """(quota-used-bytes, quota-available-bytes) of the collection ``url``."""
    reply = curl("-X", "PROPFIND", "-H", "Depth: 0", "--data", QUOTA, url, user=user)
    assert reply.status == 207, reply.text
    tree = ET.fromstring(reply.body)
    values = [tree.findtext(f".//{DAV}quota-used-bytes"),
              tree.findtext(f".//{DAV}quota-available-bytes")]
    assert all(v is not None and v.strip().isdigit() for v in values), reply.text
    return int(values[0] or 0), int(values[1] or 0)


def new_user(server: Server, profile: str = "teacher", quota: str | None = None) -> str:
    login = "u" + uuid.uuid4().hex[:8]
    server.add_user(login, profile=profile)
    if quota is not None:
        server.cli("quota", "set", login, quota)
    return login


# --- N-1: a name comes back as it was written ---------------------------------------

# NFD Latin (macOS), Hangul decomposed into jamo (macOS), Vietnamese with two marks,
# the Angstrom sign (its NFC is another code point), combining marks out of canonical
# order, Greek with tonos.
WRITTEN = [nfd("Élève été.txt"), nfd("한국어 파일.txt"), nfd("Tiếng Việt.txt"),
           "\u212bngström.txt", "q\u0307\u0323 marques.txt", nfd("άλφα.txt")]


@pytest.mark.parametrize("name", WRITTEN, ids=range(len(WRITTEN)))
def test_n1_a_name_comes_back_as_written_and_is_found_in_either_form(
        server: Server, curl: Curl, folder: str, name: str) -> None:
    """Client: macOS (Finder, davfs2 or rclone with files from a Mac) writes NFD. What
    went wrong: the listing gave the NFC spelling back; davfs2 took its file for gone
    (content to ``lost+found``, a 0-byte file left), rclone bisync ended "out of
    sync". Correct: the listing gives back the written bytes; NFC and NFD find the
    one file; the two spellings never make two files."""
    assert nfc(name) != name
    assert curl.code("-X", "PUT", "--data-binary", "v1", f"{folder}/{quote(name)}") == 201
    assert [n.encode() for n in listing_names(server.session("alice"), folder + "/")] == [
        name.encode()]
    for spelling in (name, nfc(name)):
        got = curl(f"{folder}/{quote(spelling)}")
        assert (got.status, got.body) == (200, b"v1"), spelling
    # A write in the other spelling is the same file, whose name stays as written.
    assert curl.code("-X", "PUT", "--data-binary", "v2", f"{folder}/{quote(nfc(name))}") == 204
    assert listing_names(server.session("alice"), folder + "/") == [name]
    assert curl(f"{folder}/{quote(name)}").body == b"v2"
    assert curl.code("-X", "MKCOL", f"{folder}/{quote(nfc(name))}/") == 405  # taken


def test_n1_compatibility_forms_stay_distinct(server: Server, curl: Curl,
                                              folder: str) -> None:
    """Only canonical equivalence (NFC) makes one name: "ﬁ" (a ligature, NFKC "fi")
    and "fi" are two files, as on every filesystem."""
    assert curl.code("-X", "PUT", "--data-binary", "lig", f"{folder}/{quote('ﬁchier.txt')}") \
        == 201
    assert curl.code("-X", "PUT", "--data-binary", "fi", f"{folder}/fichier.txt") == 201
    assert listing_names(server.session("alice"), folder + "/") == ["fichier.txt", "ﬁchier.txt"]


# --- N-2: a rename that only changes the normalisation form ---------------------------


@pytest.mark.parametrize("overwrite", ["T", "F"])
def test_n2_a_move_that_only_respells_a_name_works(server: Server, curl: Curl, folder: str,
                                                   overwrite: str) -> None:
    """Client: a file manager or sync client renames "Noël" (NFC) to its NFD spelling
    (or back). What went wrong: the destination was the source itself, so WsgiDAV
    answered 412 (Overwrite: F) or replaced the file by deleting it. Correct: 201,
    the same file with its name respelled, members kept."""
    src, dst = "Noël", nfd("Noël")
    assert curl.code("-X", "MKCOL", f"{folder}/{quote(src)}/") == 201
    assert curl.code("-X", "PUT", "--data-binary", "dedans",
                     f"{folder}/{quote(src)}/{quote(nfd('crèche.txt'))}") == 201
    moved = curl("-X", "MOVE", "-H", f"Overwrite: {overwrite}",
                 "-H", f"Destination: {folder}/{quote(dst)}/", f"{folder}/{quote(src)}/")
    assert moved.status == 201, moved.text
    session = server.session("alice")
    assert listing_names(session, folder + "/") == [dst]
    assert listing_names(session, f"{folder}/{quote(dst)}/") == [nfd("crèche.txt")]
    assert curl(f"{folder}/{quote(src)}/{quote('crèche.txt')}").body == b"dedans"
    # A file too, then back to NFC.
    file_url = f"{folder}/{quote(dst)}/{quote(nfd('crèche.txt'))}"
    back = curl("-X", "MOVE", "-H", f"Overwrite: {overwrite}", "-H",
                f"Destination: {folder}/{quote(dst)}/{quote('crèche.txt')}", file_url)
    assert back.status == 201, back.text
    assert listing_names(session, f"{folder}/{quote(dst)}/") == ["crèche.txt"]
    # COPY onto itself in the other spelling is refused and loses nothing.
    assert curl.code("-X", "COPY", "-H", f"Overwrite: {overwrite}", "-H",
                     f"Destination: {file_url}", f"{folder}/{quote(dst)}/crèche.txt") in (403, 412)
    assert curl(file_url).body == b"dedans"


# --- N-3: davfs2's sequence ---------------------------------------------------------------


def test_n3_davfs2_lock_put_propfind_keeps_the_nfd_name(server: Server, curl: Curl,
                                                        folder: str) -> None:
    """Client: davfs2 (``use_locks 1``) creating a file: LOCK on the new name (an
    empty file, RFC 4918 §7.3), PUT with the token, PROPFIND Depth 1 of the folder,
    UNLOCK. It compares the listed name with its own byte for byte."""
    name = nfd("Présentation élèves.odp")
    url = f"{folder}/{quote(name)}"
    assert curl.code("-X", "PROPFIND", "-H", "Depth: 1", folder + "/") == 207
    status, token = curl.lock(url)
    assert status == 201 and token
    assert curl.code("-X", "PUT", "--data-binary", "diapos", "-H", f"If: (<{token}>)", url) \
        == 204
    listed = curl("-X", "PROPFIND", "-H", "Depth: 1", folder + "/")
    names = [unquote((r.findtext(f"{DAV}href") or "").rsplit("/", 1)[1])
             for r in responses(listed.body)][1:]
    assert [n.encode() for n in names] == [name.encode()]
    assert curl.code("-X", "UNLOCK", "-H", f"Lock-Token: <{token}>", url) == 204
    assert curl(url).body == b"diapos"


def test_n3_a_create_refused_for_quota_leaves_no_empty_file(server: Server,
                                                            tmp_path: Path) -> None:
    """Client: davfs2 (LOCK first) copying a file that does not fit. What went wrong:
    the PUT got 507 and the empty file its LOCK made stayed on the server. Correct:
    507, and the empty lock-null file goes with its lock; the quota is unchanged.
    (Windows Explorer's empty PUT makes a real file, which stays.)"""
    login = new_user(server, "student", "50KiB")
    curl = Curl(server, tmp_path, user=login)
    url = f"{server.documents_url}/{quote(nfd('trop grand é.bin'))}"
    status, token = curl.lock(url)
    assert status == 201 and token
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 80_000)
    assert curl.code("-T", str(big), "-H", f"If: (<{token}>)", url) == 507
    assert listing_names(server.session(login), server.documents_url + "/") == []
    assert used(curl, server.documents_url + "/") == (0, 50 * 1024)
    assert curl.code("-X", "UNLOCK", "-H", f"Lock-Token: <{token}>", url) in (204, 404, 409)
    log = server.log_path.read_text() if server.log_path else ""
    assert "byte copy failed" not in log and "Traceback" not in log


def test_n3_a_lock_taken_in_one_spelling_holds_in_the_other(server: Server, curl: Curl,
                                                            folder: str) -> None:
    """Client: a Mac (NFD) locks a file another client (Windows, the browser: NFC)
    then writes. Correct: one file, one lock: 423 without the token, in either
    spelling, and the browser refuses to rename it (lock keys are NFC)."""
    from tests.web_documents import Documents

    name = "Réunion.odt"
    assert curl.code("-X", "PUT", "--data-binary", "v1", f"{folder}/{quote(name)}") == 201
    status, token = curl.lock(f"{folder}/{quote(nfd(name))}")
    assert status == 200 and token
    assert curl.code("-X", "PUT", "--data-binary", "v2", f"{folder}/{quote(name)}") == 423
    assert curl.code("-X", "DELETE", f"{folder}/{quote(name)}") == 423
    where = "porte-documents/" + unquote(folder.rsplit("/", 1)[1])
    refused = Documents(server, "alice").act(where, "rename", (name,), new_name="Autre.odt")
    assert refused.status_code == 423, refused.text
    assert curl.code("-X", "PUT", "--data-binary", "v2", "-H", f"If: (<{token}>)",
                     f"{folder}/{quote(name)}") == 204
    assert curl.code("-X", "UNLOCK", "-H", f"Lock-Token: <{token}>",
                     f"{folder}/{quote(name)}") == 204


# --- N-4: names no client can use -------------------------------------------------------

BAD_NAMES = {"tab": "tab\there.txt", "newline": "two\nlines.txt", "bell": "bell\x07.txt",
             "del": "del\x7f.txt", "c1": "c1\x85.txt", "c1-last": "c1\x9f.txt",
             "nul-free control": "a\x1fb", "backslash": "dossier\\fichier.txt"}


@pytest.mark.parametrize("method", ["PUT", "MKCOL", "MOVE", "COPY", "LOCK"])
@pytest.mark.parametrize("name", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
def test_n4_a_name_no_client_can_use_is_400_and_stores_nothing(
        server: Server, curl: Curl, folder: str, method: str, name: str) -> None:
    """Client: any (a script, a Linux client with a file named by mistake). What went
    wrong: control characters were accepted, and one of them made a whole folder's
    PROPFIND invalid XML for every member of a rubric; a backslash name no Windows
    client reaches, and in a zip it climbs out of its folder. Correct: 400 saying
    why, nothing stored, no quota change."""
    assert curl.code("-X", "PUT", "--data-binary", "source", f"{folder}/source.txt") == 201
    before = used(curl, folder + "/")
    target = f"{folder}/{quote(name, safe='')}"
    args = {"PUT": ("-X", "PUT", "--data-binary", "x", target),
            "MKCOL": ("-X", "MKCOL", target + "/"),
            "MOVE": ("-X", "MOVE", "-H", f"Destination: {target}", f"{folder}/source.txt"),
            "COPY": ("-X", "COPY", "-H", f"Destination: {target}", f"{folder}/source.txt"),
            "LOCK": ("-X", "LOCK", "-H", "Content-Type: application/xml", "--data",
                     '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope>'
                     "<D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
                     "</D:lockinfo>", target)}[method]
    reply = curl(*args)
    assert reply.status == 400, (reply.status, reply.text)
    assert re.search(r"control character|backslash", reply.text), reply.text
    assert listing_names(server.session("alice"), folder + "/") == ["source.txt"]
    assert used(curl, folder + "/") == before
    assert curl.code("-X", "PROPFIND", "-H", "Depth: 1", folder + "/") == 207


def test_n4_a_restore_to_such_a_name_is_refused_too(server: Server, curl: Curl,
                                                   folder: str) -> None:
    """Restoring from the trash is a MOVE out of it: the same rule, the item stays."""
    name = f"perdu-{uuid.uuid4().hex[:6]}.txt"
    assert curl.code("-X", "PUT", "--data-binary", "x", f"{folder}/{name}") == 201
    assert curl.code("-X", "DELETE", f"{folder}/{name}") == 204
    trashed = f"{server.dav_url}/corbeille/porte-documents/{name}"
    for bad in ("re\x01tour.txt", "re\\tour.txt"):
        reply = curl("-X", "MOVE", "-H", f"Destination: {folder}/{quote(bad, safe='')}",
                     trashed)
        assert reply.status == 400, reply.text
    assert curl(trashed).body == b"x"
    assert curl.code("-X", "MOVE", "-H", f"Destination: {folder}/retour.txt", trashed) == 201


def test_n4_the_web_file_manager_refuses_them_too(server: Server, folder: str) -> None:
    """The browser's upload, new folder and rename: the same rule, in French."""
    from tests.web_documents import Documents

    alice = Documents(server, "alice")
    where = "porte-documents/" + unquote(folder.rsplit("/", 1)[1])
    for name in ("a\tb.txt", "a\\b.txt", "c1\x85.txt"):
        refused = alice.upload(where, name, b"x")
        assert refused.status_code == 400, refused.text
        assert "ne peut pas contenir" in refused.json()["error"]
        made = alice.act(where, "mkdir", name=name)
        assert made.status_code == 400 and "ne peut pas contenir" in made.text
    assert alice.upload(where, "ok.txt", b"ok").status_code == 201
    renamed = alice.act(where, "rename", ("ok.txt",), new_name="k\x07o.txt")
    assert renamed.status_code == 400 and "caractère de contrôle" in renamed.text
    # A respelling through the browser works like the DAV MOVE.
    assert alice.upload(where, "Noël.txt", b"n").status_code == 201
    done = alice.act(where, "rename", ("Noël.txt",), new_name=nfd("Noël.txt"))
    assert done.status_code == 303, done.text
    assert alice.names(where) == [nfd("Noël.txt"), "ok.txt"]


# --- H-1: hrefs in pchar ----------------------------------------------------------------

AWKWARD = '[ ] { } ^ ` | " < > %'


def test_h1_hrefs_percent_encode_everything_outside_pchar(server: Server, curl: Curl,
                                                          folder: str) -> None:
    """Client: Cyberduck (Java, strict URI parser). What went wrong: ``|`` went out raw
    in hrefs, and the entry was silently dropped. Correct: every character outside
    RFC 3986 ``pchar`` percent-encoded; the href decodes to the name and GET by it
    returns the file."""
    for name in (AWKWARD, AWKWARD + " " + nfd("é") + " ~!$&'()*+,;=:@.txt"):
        assert curl.code("-X", "PUT", "--data-binary", name, f"{folder}/{quote(name)}") == 201
    assert curl.code("-X", "MKCOL", f"{folder}/{quote('dossier ' + AWKWARD)}/") == 201
    origin = server.base_url
    for depth, body in (("1", ""), ("1", QUOTA), ("0", "")):
        for target in (folder + "/", f"{folder}/{quote(AWKWARD)}"):
            reply = curl("-X", "PROPFIND", "-H", f"Depth: {depth}", "--data", body, target)
            assert reply.status == 207, reply.text
            for response in responses(reply.body):
                path = response.findtext(f"{DAV}href") or ""
                assert PCHAR_PATH.match(path), path
                if not path.endswith("/"):
                    name = unquote(path.rsplit("/", 1)[1])
                    got = curl(origin + path)
                    assert (got.status, got.body) == (200, name.encode()), path
    status, token = curl.lock(f"{folder}/{quote(AWKWARD)}")
    assert status == 200
    locked = curl("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/{quote(AWKWARD)}")
    root = ET.fromstring(locked.body).find(f".//{DAV}lockroot/{DAV}href")
    assert root is not None and PCHAR_PATH.match(root.text or ""), locked.text
    assert curl.code("-X", "UNLOCK", "-H", f"Lock-Token: <{token}>",
                     f"{folder}/{quote(AWKWARD)}") == 204


def test_h1_web_redirects_are_encoded_too(server: Server, folder: str) -> None:
    """The file manager's redirect of a folder's page (the Location header)."""
    web = WebClient(server)
    assert web.login("alice", server.users["alice"]).status_code == 302
    server.session("alice").request("MKCOL", f"{folder}/{quote('classe ' + AWKWARD)}/")
    where = "porte-documents/" + unquote(folder.rsplit("/", 1)[1]) + "/classe " + AWKWARD
    answer = web.get("/documents/" + quote(where))
    assert answer.status_code == 308, answer.text
    location = urlsplit(answer.headers["Location"]).path
    assert PCHAR_PATH.match(location), location
    assert unquote(location).endswith(AWKWARD + "/")


# --- P-1: propname --------------------------------------------------------------------


def _names(reply_body: bytes) -> list[set[str]]:
    """The property names of each response (every propstat)."""
    return [{p.tag for p in r.iterfind(f"{DAV}propstat/{DAV}prop/*")}
            for r in responses(reply_body)]


def test_p1_propname_lists_every_property_of_every_kind_of_resource(
        server: Server, curl: Curl, folder: str) -> None:
    """Client: cadaver (``propnames``), and any client asking what a resource has
    (RFC 4918 §9.1). What went wrong: a response with only an href: WsgiDAV looks for
    ``<D:name/>``. Correct: the names of every live and dead property."""
    file_url = f"{folder}/{quote(nfd('leçon.txt'))}"
    assert curl.code("-X", "PUT", "--data-binary", "contenu", file_url) == 201
    patch = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test">'
             "<D:set><D:prop><Z:color>bleu</Z:color></D:prop></D:set></D:propertyupdate>")
    assert curl.code("-X", "PROPPATCH", "--data", patch, file_url) == 207
    assert curl.code("-X", "PUT", "--data-binary", "x", f"{folder}/jetable.txt") == 201
    assert curl.code("-X", "DELETE", f"{folder}/jetable.txt") == 204
    dav = server.dav_url
    collections = [folder + "/", dav + "/porte-documents/", dav + "/", dav + "/rubriques/",
                   dav + "/corbeille/", dav + "/corbeille/porte-documents/",
                   dav + "/classeur/", dav + "/classeur/Remises/"]
    for url in collections + [file_url]:
        for depth in ("0", "1"):
            reply = curl("-X", "PROPFIND", "-H", f"Depth: {depth}", "--data", PROPNAME, url)
            assert reply.status == 207, (url, reply.text)
            every = _names(reply.body)
            assert every and all(f"{DAV}resourcetype" in n for n in every), (url, reply.text)
            allprop = _names(curl("-X", "PROPFIND", "-H", f"Depth: {depth}", url).body)
            assert all(a <= n for a, n in zip(allprop, every, strict=True)), url
            assert not any(p.text for r in responses(reply.body)
                           for p in r.iterfind(f"{DAV}propstat/{DAV}prop/*")), "values given"
    for url in collections:
        [names] = _names(curl("-X", "PROPFIND", "-H", "Depth: 0", "--data", PROPNAME, url).body)
        assert {f"{DAV}quota-used-bytes", f"{DAV}quota-available-bytes",
                f"{DAV}current-user-privilege-set"} <= names, (url, names)
    [names] = _names(curl("-X", "PROPFIND", "-H", "Depth: 0", "--data", PROPNAME, file_url).body)
    assert {f"{DAV}getcontentlength", f"{DAV}getetag", f"{DAV}lockdiscovery",
            f"{OC}checksums", "{urn:x-test}color"} <= names, names
    assert f"{DAV}quota-used-bytes" not in names
    trashed = curl("-X", "PROPFIND", "-H", "Depth: 1", "--data", PROPNAME,
                   dav + "/corbeille/porte-documents/")
    assert any("{urn:ent-davserver:ns}original-path" in n for n in _names(trashed.body))


# --- quota on every collection -------------------------------------------------


def test_q1_every_collection_reports_real_quota_figures(server: Server,
                                                        tmp_path: Path) -> None:
    """Client: davfs2 (``df``), GNOME Files (``gio info -f``), rclone ``about``, which
    read the figures of the mount's root, ``/dav/``. What went wrong: ``/dav/``,
    ``/dav/rubriques/`` and the trash collections answered empty values; ``df`` showed
    0 free and 100 % used. Correct: numbers on every collection; the collections that
    only list spaces report the porte-documents' (RFC 4331)."""
    login = new_user(server, "teacher", "3MiB")
    curl = Curl(server, tmp_path, user=login)
    docs = server.documents_url
    assert curl.code("-X", "PUT", "--data-binary", "y" * 1000, f"{docs}/un.txt") == 201
    dav = server.dav_url
    for url in (dav + "/", dav + "/rubriques/", dav + "/corbeille/",
                dav + "/corbeille/porte-documents/", dav + "/corbeille/rubriques/",
                docs + "/"):
        assert used(curl, url) == (1000, 3 * 2**20 - 1000), url
    binder_used, binder_free = used(curl, dav + "/classeur/Remises/")
    assert binder_used + binder_free == 500 * 2**20  # the binder's own figures
    # RFC 4918 §9.1: allprop does not list them.
    allprop = curl("-X", "PROPFIND", "-H", "Depth: 0", dav + "/")
    assert b"quota-used-bytes" not in allprop.body


def test_q2_a_delete_frees_space_at_once_and_the_trash_gives_room(
        server: Server, tmp_path: Path) -> None:
    """Client: every client and ``df``: a delete must free its space (RFC 4331
    ``quota-used-bytes`` counts what is in the space). What went wrong: deleted files
    kept counting until the trash was emptied. Correct: freed at once; the trash holds
    at most half the quota, and its oldest items go when a write needs the room."""
    login = new_user(server, "teacher", "100KiB")
    curl = Curl(server, tmp_path, user=login)
    docs, limit = server.documents_url, 100 * 1024
    for name in ("ancien", "récent"):
        assert curl.code("-X", "PUT", "--data-binary", "a" * 20_000,
                         f"{docs}/{quote(name)}") == 201
    assert used(curl, docs + "/") == (40_000, limit - 40_000)
    assert curl.code("-X", "DELETE", f"{docs}/ancien") == 204
    assert used(curl, docs + "/") == (20_000, limit - 20_000)  # at once
    assert curl.code("-X", "DELETE", f"{docs}/{quote('récent')}") == 204
    assert used(curl, server.dav_url + "/") == (0, limit)
    trash_url = server.dav_url + "/corbeille/porte-documents/"
    session = server.session(login)
    assert listing_names(session, trash_url) == ["ancien", "récent"]
    # 70,000 live bytes + 40,000 in the trash > 100 KiB: the oldest item goes.
    assert curl.code("-X", "PUT", "--data-binary", "b" * 70_000, f"{docs}/gros") == 201
    assert listing_names(session, trash_url) == ["récent"]
    assert used(curl, docs + "/") == (70_000, limit - 70_000)
    # Deleting it passes the trash's share (50 KiB): older items go, then an item
    # larger than the share itself.
    assert curl.code("-X", "DELETE", f"{docs}/gros") == 204
    assert listing_names(session, trash_url) == []
    assert used(curl, docs + "/") == (0, limit)


def test_q3_purges_to_make_room_are_logged_and_shown(tmp_path: Path) -> None:
    """An administrator reads one INFO line per purge; the user sees on the trash
    page when items went for good to make room."""
    from tests.conftest import running_server

    with running_server(tmp_path, extra_env={"DAVSERVER_LOGGING__LEVEL": "INFO"},
                        users={"tina": "teacher"}) as srv:
        srv.cli("quota", "set", "tina", "100KiB")
        dav = srv.session("tina")
        for i in range(3):
            assert dav.put(f"{srv.documents_url}/f{i}.bin", data=b"t" * 20_000).status_code \
                == 201
            assert dav.delete(f"{srv.documents_url}/f{i}.bin").status_code == 204
        # 60,000 bytes in the trash > its share (51,200): f0 went.
        web = WebClient(srv)
        assert web.login("tina", srv.users["tina"]).status_code == 302
        page = web.get("/corbeille/").text
        assert "1 élément supprimé définitivement le" in page, page
        assert "pour faire de la place" in page
        # The file manager's quota bar: nothing used, the trash apart.
        bar = web.get("/documents/porte-documents/").text
        assert "0 octet utilisés sur 100 Ko" in bar or "0 octets utilisés sur 100 Ko" in bar, bar
        assert "Corbeille : 39,1 Ko, non comptés" in bar, bar
        log = srv.log_path.read_text() if srv.log_path else ""
        lines = [line for line in log.splitlines() if "purged for good to make room" in line]
        assert len(lines) == 1 and " INFO " in lines[0] and "20000 bytes" in lines[0], lines
