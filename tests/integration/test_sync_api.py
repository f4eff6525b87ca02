"""What the Nextcloud and ownCloud apps meet, request by request, against a real server:
``/status.php``, the OCS capabilities and user, their WebDAV addresses mapped onto
the one ``/dav`` provider (hrefs, another user's login, the legacy address, what is
not synced), the properties and headers they read, conflicts (412), checksums, and
chunked uploads with their quota (507 before the first chunk) and expiry.

The real clients (``nextcloudcmd``, ``owncloudcmd``) are in ``test_sync_clients.py``.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import quote, unquote

import pytest
import requests
from sqlalchemy import select

import acl
from tests.conftest import Server, running_server

from .rubric_kit import Person, add_people, cli_ok, rubric_url, space_id

OC = "{http://owncloud.org/ns}"
NC = "{http://nextcloud.org/ns}"
DAV = "{DAV:}"
SYNC_PROPS = (
    b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" '
    b'xmlns:nc="http://nextcloud.org/ns"><d:prop><d:resourcetype/><d:getlastmodified/>'
    b"<d:getcontentlength/><d:getetag/><oc:size/><oc:id/><oc:fileid/><oc:downloadURL/>"
    b"<oc:dDC/><oc:permissions/><oc:checksums/><oc:share-types/><nc:has-preview/>"
    b"</d:prop></d:propfind>")
PEOPLE = [Person("prof", "teacher"), Person("eleve", "student"), Person("red", "teacher")]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """prof (teacher, with an e-mail), eleve (student); rubric ``labo``: prof manages
    it, red writes, eleve visits."""
    with running_server(tmp_path_factory.mktemp("sync-api")) as server:
        add_people(server, PEOPLE)
        with server.transaction() as s:
            from acl.models import User

            s.query(User).filter(User.login == "prof").update(
                {"email": "prof@ecole.example", "display_name": "M. Prof"})
        cli_ok(server, "rubric", "add", "labo", "--name", "Laboratoire")
        for role, login in (("manager", "prof"), ("writer", "red"), ("visitor", "eleve")):
            cli_ok(server, "rubric", "grant", "labo", role, "--user", login)
        yield server


def files(srv: Server, login: str, path: str = "") -> str:
    return f"{srv.base_url}/remote.php/dav/files/{login}/" + quote(path.lstrip("/"))


def listing(session: requests.Session, url: str, depth: str = "1"
            ) -> dict[str, dict[str, str | None]]:
    """PROPFIND with the sync apps' properties: href → {property: text} (200 only)."""
    answer = session.request("PROPFIND", url, data=SYNC_PROPS, headers={"Depth": depth})
    assert answer.status_code == 207, (url, answer.status_code, answer.text)
    found = {}
    for response in ET.fromstring(answer.content).iter(DAV + "response"):
        href = unquote(response.findtext(DAV + "href") or "")
        props: dict[str, str | None] = {}
        for propstat in response.iter(DAV + "propstat"):
            if "200" in (propstat.findtext(DAV + "status") or ""):
                for prop in propstat.iter(DAV + "prop"):
                    for child in prop:
                        props[child.tag] = "".join(child.itertext()) if child.tag != \
                            DAV + "resourcetype" else ("collection" if len(child) else "")
        found[href] = props
    return found


# --- discovery ---------------------------------------------------------------------

def test_status_php_answers_anyone(srv: Server) -> None:
    answer = requests.get(srv.base_url + "/status.php", timeout=10)
    assert answer.status_code == 200
    status = answer.json()
    assert status["installed"] is True and status["maintenance"] is False
    assert int(status["version"].split(".")[0]) >= 20  # the 3.x apps' minimum
    assert status["productname"] == "ENT"
    head = requests.head(srv.base_url + "/status.php", timeout=10)
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize("version,code", [("v1", 100), ("v2", 200)])
def test_capabilities_say_what_is_supported_and_no_more(srv: Server, version: str,
                                                        code: int) -> None:
    url = f"{srv.base_url}/ocs/{version}.php/cloud/capabilities"
    answer = srv.session("prof").get(url + "?format=json", headers={"OCS-APIRequest": "true"})
    assert answer.status_code == 200
    ocs = answer.json()["ocs"]
    assert ocs["meta"]["statuscode"] == code
    caps = ocs["data"]["capabilities"]
    assert caps["dav"]["chunking"] == "1.0"
    assert set(caps["checksums"]["supportedTypes"]) == {"SHA1", "MD5"}
    assert caps["files_sharing"]["api_enabled"] is False  # no sharing API here
    assert caps["files"]["undelete"] is False and caps["files"]["versioning"] is False
    assert "notifications" not in caps
    xml = srv.session("prof").get(url)  # XML unless asked otherwise, as OCS does
    assert xml.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.findtext("meta/statuscode") == str(code)
    assert root.findtext("data/capabilities/dav/chunking") == "1.0"
    assert [e.text for e in root.iterfind("data/capabilities/checksums/supportedTypes/element")
            ] == ["SHA1", "MD5"]


def test_ocs_needs_the_password_and_names_what_it_lacks(srv: Server) -> None:
    url = f"{srv.base_url}/ocs/v2.php/cloud/user?format=json"
    anonymous = requests.get(url, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["ocs"]["meta"]["statuscode"] == 997
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic realm=")
    wrong = requests.get(url, auth=("prof", "not the password"), timeout=10)
    assert wrong.status_code == 401
    unknown = srv.session("prof").get(f"{srv.base_url}/ocs/v1.php/apps/files_sharing/api/v1"
                                      "/shares?format=json")
    assert unknown.status_code == 404 and unknown.json()["ocs"]["meta"]["statuscode"] == 998


def test_the_user_endpoint_gives_the_login_the_name_and_the_quota(srv: Server) -> None:
    session = srv.session("prof")
    assert session.put(files(srv, "prof", "porte-documents/q.bin"),
                       data=b"q" * 1000).status_code == 201
    data = session.get(srv.base_url + "/ocs/v1.php/cloud/user?format=json").json()["ocs"]
    assert data["meta"]["statuscode"] == 100
    user = data["data"]
    assert user["id"] == "prof" and user["display-name"] == "M. Prof"
    assert user["email"] == "prof@ecole.example"
    quota = user["quota"]
    assert quota["used"] >= 1000 and quota["total"] == 500 * 2**20
    assert quota["free"] == quota["total"] - quota["used"]


# --- the drive at the apps' addresses ---------------------------------------------------

def test_the_synced_root_holds_the_three_spaces_and_nothing_beside_them(srv: Server) -> None:
    found = listing(srv.session("prof"), files(srv, "prof"))
    base = "/remote.php/dav/files/prof/"
    assert set(found) == {base, base + "porte-documents/", base + "rubriques/",
                          base + "classeur/"}  # no corbeille, no archives
    assert found[base][OC + "permissions"] == "G"  # nothing can be created beside them
    assert found[base + "rubriques/"][OC + "permissions"] == "G"
    assert found[base + "porte-documents/"][OC + "permissions"] == "GCK"  # not D, N, V
    for props in found.values():
        assert props[DAV + "getetag"], props  # every folder has an ETag
        assert props[DAV + "getlastmodified"]  # and a date the apps accept
        assert props[NC + "has-preview"] == "false"
    assert srv.session("prof").request(
        "PROPFIND", files(srv, "prof", "corbeille/"), headers={"Depth": "0"}).status_code == 404
    student = listing(srv.session("eleve"), files(srv, "eleve"))
    assert "/remote.php/dav/files/eleve/classeur/" not in student  # teachers only


def test_another_users_login_in_the_url_is_404(srv: Server) -> None:
    session = srv.session("prof")
    assert session.put(files(srv, "prof", "porte-documents/mine.txt"),
                       data=b"mine").status_code == 201
    for _ in range(2):  # the second GET takes the short way (a remembered password)
        assert session.get(files(srv, "prof", "porte-documents/mine.txt")).status_code == 200
    assert srv.session("eleve").get(files(srv, "prof", "porte-documents/mine.txt")
                                    ).status_code == 404
    assert srv.session("eleve").request("PROPFIND", files(srv, "prof"),
                                        headers={"Depth": "0"}).status_code == 404
    assert session.request("MOVE", files(srv, "prof", "porte-documents/mine.txt"), headers={
        "Destination": files(srv, "eleve", "porte-documents/mine.txt")}).status_code == 403


def test_the_legacy_address_and_dav_are_the_same_files(srv: Server) -> None:
    session = srv.session("prof")
    legacy = f"{srv.base_url}/remote.php/webdav/porte-documents/legacy é.txt"
    assert session.put(legacy, data=b"legacy").status_code == 201
    assert session.get(srv.documents_url + "/" + quote("legacy é.txt")).content == b"legacy"
    found = listing(session, f"{srv.base_url}/remote.php/webdav/porte-documents/")
    assert "/remote.php/webdav/porte-documents/legacy é.txt" in found


def test_ids_stay_across_renames_and_moves_and_writes_say_them(srv: Server) -> None:
    session = srv.session("prof")
    assert session.request("MKCOL", files(srv, "prof", "porte-documents/a")).status_code == 201
    made = session.request("MKCOL", files(srv, "prof", "porte-documents/a/b"))
    assert made.status_code == 201 and made.headers["OC-FileId"]
    put = session.put(files(srv, "prof", "porte-documents/a/b/notes.txt"), data=b"notes",
                      headers={"X-OC-Mtime": "1600000000"})
    assert put.status_code == 201 and put.headers["X-OC-Mtime"] == "accepted"
    sha1 = hashlib.sha1(b"notes").hexdigest()
    assert put.headers["OC-ETag"] == put.headers["ETag"] == f'"{sha1}"'
    file_id = put.headers["OC-FileId"]
    moved = session.request("MOVE", files(srv, "prof", "porte-documents/a"), headers={
        "Destination": files(srv, "prof", "porte-documents/renamed")})
    assert moved.status_code == 201
    found = listing(session, files(srv, "prof", "porte-documents/renamed/b/"))
    props = found["/remote.php/dav/files/prof/porte-documents/renamed/b/notes.txt"]
    assert props[OC + "id"] == file_id and props[OC + "fileid"] == str(int(file_id[:8]))
    assert props[DAV + "getlastmodified"] == "Sun, 13 Sep 2020 12:26:40 GMT"
    assert props[OC + "checksums"]  # SHA1 and MD5
    assert props[OC + "permissions"] == "GDNVW"
    folder = found["/remote.php/dav/files/prof/porte-documents/renamed/b/"]
    assert folder[OC + "permissions"] == "GDNVCK" and folder[OC + "size"] == "5"
    got = session.get(files(srv, "prof", "porte-documents/renamed/b/notes.txt"))
    assert got.headers["OC-FileId"] == file_id and got.headers["OC-ETag"] == f'"{sha1}"'
    assert got.headers["OC-Checksum"] == f"SHA1:{sha1}"
    ranged = session.get(files(srv, "prof", "porte-documents/renamed/b/notes.txt"),
                         headers={"Range": "bytes=0-1"})  # WsgiDAV's way: the same headers
    assert ranged.status_code == 206 and ranged.headers["OC-FileId"] == file_id


def test_a_stale_etag_is_412_and_nothing_is_overwritten(srv: Server) -> None:
    """The apps send the ETag they know in If-Match: a file changed meanwhile must not
    be overwritten (they then keep both as a conflict)."""
    session = srv.session("prof")
    url = files(srv, "prof", "porte-documents/conflit.txt")
    first = session.put(url, data=b"server side")
    stale = first.headers["ETag"]
    assert session.put(url, data=b"changed on the web").status_code == 204
    for tag in (stale, stale.strip('"')):
        refused = session.put(url, data=b"client side", headers={"If-Match": tag})
        assert refused.status_code == 412
    assert session.get(url).content == b"changed on the web"


def test_a_damaged_upload_is_refused_by_its_checksum(srv: Server) -> None:
    session = srv.session("prof")
    url = files(srv, "prof", "porte-documents/checksum.txt")
    assert session.put(url, data=b"original").status_code == 201
    used = _used(srv, "prof")
    wrong = session.put(url, data=b"damaged!", headers={
        "OC-Checksum": "SHA1:" + hashlib.sha1(b"intended").hexdigest()})
    assert wrong.status_code == 400 and "OC-Checksum" in wrong.text
    assert session.get(url).content == b"original" and _used(srv, "prof") == used
    right = session.put(url, data=b"intended", headers={
        "OC-Checksum": "SHA1:" + hashlib.sha1(b"intended").hexdigest()
        + " MD5:" + hashlib.md5(b"intended").hexdigest()})
    assert right.status_code == 204


def test_a_school_administrator_never_syncs_the_imports_folder(srv: Server) -> None:
    """``/dav/imports/<UAI>/`` starts an import for each file put there: the sync apps
    neither list it nor reach it, while ``/dav/`` still does."""
    uai = "0759990B"
    add_people(srv, [Person("adm", "admin")])
    cli_ok(srv, "school", "add", "Collège Jules Ferry", "--uai", uai, "--zone", "C")
    with srv.transaction() as s:
        admin = s.scalar(select(acl.User.id).where(acl.User.login == "adm"))
        acl.join_school(s, admin, acl.find_school(s, uai), acl.Profile.admin)
    session = srv.session("adm")
    assert session.request("PROPFIND", f"{srv.dav_url}/imports/{uai}/",
                           headers={"Depth": "0"}).status_code == 207
    found = listing(session, files(srv, "adm"))
    assert not [href for href in found if "imports" in href], found
    for path in ("imports/", f"imports/{uai}/"):
        assert session.request("PROPFIND", files(srv, "adm", path),
                               headers={"Depth": "0"}).status_code == 404
    assert session.put(files(srv, "adm", f"imports/{uai}/eleves.csv"),
                       data=b"nom;prenom\n").status_code in (404, 409)
    listed = session.request("PROPFIND", f"{srv.dav_url}/imports/{uai}/",
                             headers={"Depth": "1"})
    assert b"eleves.csv" not in listed.content


def test_folder_etags_change_up_to_the_synced_root(srv: Server) -> None:
    session = srv.session("prof")
    session.request("MKCOL", files(srv, "prof", "porte-documents/deep"))
    session.request("MKCOL", files(srv, "prof", "porte-documents/deep/er"))
    session.request("MKCOL", files(srv, "prof", "porte-documents/beside"))
    paths = ("", "porte-documents/", "porte-documents/deep/", "porte-documents/deep/er/")

    def tags() -> dict[str, str | None]:
        return {p: listing(session, files(srv, "prof", p), depth="0")[
            "/remote.php/dav/files/prof/" + p][DAV + "getetag"] for p in paths} | {
            "beside": listing(session, files(srv, "prof", "porte-documents/beside/"),
                              depth="0")["/remote.php/dav/files/prof/porte-documents/beside/"][
                DAV + "getetag"]}

    before = tags()
    assert before == tags()
    # Written through /dav/: the same folders, the same ETags.
    assert session.put(srv.documents_url + "/deep/er/f.txt", data=b"x").status_code == 201
    after = tags()
    assert all(after[p] != before[p] for p in paths) and after["beside"] == before["beside"]
    assert srv.session("red").put(rubric_url(srv, "labo", "/r.txt"),
                                  data=b"r").status_code == 201
    assert tags()[""] != after[""]  # a file in one of prof's rubrics changes prof's root


def test_a_visitor_reads_only_and_a_writer_adds(srv: Server) -> None:
    assert srv.session("prof").put(rubric_url(srv, "labo", "/public.txt"),
                                   data=b"p").status_code == 201
    visitor = listing(srv.session("eleve"), files(srv, "eleve", "rubriques/labo/"))
    base = "/remote.php/dav/files/eleve/rubriques/labo/"
    assert visitor[base][OC + "permissions"] == "G"
    assert visitor[base + "public.txt"][OC + "permissions"] == "G"
    writer = listing(srv.session("red"), files(srv, "red", "rubriques/labo/"))
    assert "CK" in (writer["/remote.php/dav/files/red/rubriques/labo/"][OC + "permissions"]
                    or "")
    assert srv.session("eleve").put(files(srv, "eleve", "rubriques/labo/x.txt"),
                                    data=b"x").status_code == 403


# --- chunked uploads ------------------------------------------------------------------

def uploads(srv: Server, login: str, path: str = "") -> str:
    return f"{srv.base_url}/remote.php/dav/uploads/{login}/" + path.lstrip("/")


def _used(srv: Server, login: str) -> int:
    with srv.app() as app:
        figures = app.store.usage(space_id(srv, login))
    assert figures is not None
    return figures.used


def _reserved(srv: Server, login: str) -> int:
    with srv.app() as app:
        figures = app.store.usage(space_id(srv, login))
    assert figures is not None
    return figures.reserved


def test_a_chunked_upload_lands_whole_and_is_charged_once(srv: Server) -> None:
    session = srv.session("prof")
    data = bytes(range(256)) * 1200  # 300 KiB
    used = _used(srv, "prof")
    assert session.request("MKCOL", uploads(srv, "prof", "4242"),
                           headers={"OC-Total-Length": str(len(data))}).status_code == 201
    assert _reserved(srv, "prof") == len(data)
    for start in range(0, len(data), 100_000):
        put = session.put(uploads(srv, "prof", f"4242/{start:016d}"),
                          data=data[start:start + 100_000])
        assert put.status_code == 201
    listed = listing(session, uploads(srv, "prof", "4242/"))
    assert len(listed) == 5 and all(p.get(DAV + "getcontentlength") for h, p in
                                    listed.items() if not h.endswith("/"))
    assert session.get(uploads(srv, "prof", "4242/0000000000000000")).status_code == 403
    sha1 = hashlib.sha1(data).hexdigest()
    moved = session.request("MOVE", uploads(srv, "prof", "4242/.file"), headers={
        "Destination": files(srv, "prof", "porte-documents/gros fichier.bin"),
        "OC-Total-Length": str(len(data)), "X-OC-Mtime": "1600000000",
        "OC-Checksum": f"SHA1:{sha1}"})
    assert moved.status_code == 201, moved.text
    assert moved.headers["OC-FileId"] and moved.headers["OC-ETag"] == f'"{sha1}"'
    assert moved.headers["X-OC-MTime"] == "accepted"
    got = session.get(files(srv, "prof", "porte-documents/gros fichier.bin"))
    assert got.content == data
    assert _used(srv, "prof") == used + len(data) and _reserved(srv, "prof") == 0
    assert session.request("PROPFIND", uploads(srv, "prof", "4242"),
                           headers={"Depth": "0"}).status_code == 404


def test_v2_names_the_destination_first_and_is_refused_early(srv: Server) -> None:
    """Nextcloud's v2 sends the Destination with the MKCOL: the space it is bound for
    is charged, and a visitor's upload to a rubric is refused before any chunk."""
    session = srv.session("eleve")
    refused = session.request("MKCOL", uploads(srv, "eleve", "v2-visitor"), headers={
        "OC-Total-Length": "10",
        "Destination": files(srv, "eleve", "rubriques/labo/nope.bin")})
    assert refused.status_code == 403
    manager = srv.session("prof")
    before = _reserved(srv, "rubric:labo")
    made = manager.request("MKCOL", uploads(srv, "prof", "v2-manager"), headers={
        "OC-Total-Length": "10", "Destination": files(srv, "prof", "rubriques/labo/v2.bin")})
    assert made.status_code == 201
    assert _reserved(srv, "rubric:labo") == before + 10
    assert manager.put(uploads(srv, "prof", "v2-manager/1"), data=b"0123456789",
                       headers={"Destination": files(srv, "prof", "rubriques/labo/v2.bin")}
                       ).status_code == 201
    assert manager.request("MOVE", uploads(srv, "prof", "v2-manager/.file"), headers={
        "Destination": files(srv, "prof", "rubriques/labo/v2.bin")}).status_code == 201
    assert _reserved(srv, "rubric:labo") == before


def test_a_file_over_quota_is_507_before_any_chunk_and_leaves_nothing(srv: Server) -> None:
    cli_ok(srv, "quota", "set", "red", "1MiB")
    session = srv.session("red")
    answer = session.request("MKCOL", uploads(srv, "red", "trop-gros"),
                             headers={"OC-Total-Length": str(2 * 2**20)})
    assert answer.status_code == 507 and b"quota-not-exceeded" in answer.content
    assert _reserved(srv, "red") == 0
    assert session.request("PROPFIND", uploads(srv, "red", "trop-gros"),
                           headers={"Depth": "0"}).status_code == 404


@pytest.mark.parametrize("total", ["9" * 30, "9" * 5000, "²", "-1"])
def test_a_total_no_storage_holds_is_400_naming_the_header(srv: Server, total: str) -> None:
    """Past 2**63 (the databases' BIGINT: SQLite refused it with OverflowError) or past
    int()'s 4,300 digits, OC-Total-Length was a 500 with a traceback."""
    session = srv.session("red")
    answer = session.request("MKCOL", uploads(srv, "red", f"absurde-{len(total)}"),
                             headers={"OC-Total-Length": total})
    assert answer.status_code == 400 and b"OC-Total-Length" in answer.content
    assert _reserved(srv, "red") == 0
    log = srv.log_path.read_text() if srv.log_path.exists() else ""
    assert "Traceback" not in log


def test_chunks_past_the_total_and_bad_checksums_are_refused_and_keep_the_upload(
        srv: Server) -> None:
    session = srv.session("prof")
    assert session.request("MKCOL", uploads(srv, "prof", "strict"),
                           headers={"OC-Total-Length": "6"}).status_code == 201
    assert session.put(uploads(srv, "prof", "strict/1"), data=b"abc").status_code == 201
    assert session.put(uploads(srv, "prof", "strict/2"), data=b"defg").status_code == 400
    assert session.put(uploads(srv, "prof", "strict/2"), data=b"def").status_code == 201
    damaged = session.request("MOVE", uploads(srv, "prof", "strict/.file"), headers={
        "Destination": files(srv, "prof", "porte-documents/strict.txt"),
        "OC-Checksum": "MD5:" + hashlib.md5(b"other").hexdigest()})
    assert damaged.status_code == 400
    assert session.get(files(srv, "prof", "porte-documents/strict.txt")).status_code == 404
    done = session.request("MOVE", uploads(srv, "prof", "strict/.file"), headers={
        "Destination": files(srv, "prof", "porte-documents/strict.txt")})
    assert done.status_code == 201
    assert session.get(files(srv, "prof", "porte-documents/strict.txt")).content == b"abcdef"


def test_a_cancelled_upload_frees_its_space(srv: Server) -> None:
    session = srv.session("prof")
    reserved = _reserved(srv, "prof")
    assert session.request("MKCOL", uploads(srv, "prof", "abandon"),
                           headers={"OC-Total-Length": "5000"}).status_code == 201
    assert session.put(uploads(srv, "prof", "abandon/1"), data=b"z" * 2000).status_code == 201
    assert _reserved(srv, "prof") == reserved + 5000
    assert srv.session("eleve").request("DELETE", uploads(srv, "prof", "abandon")
                                        ).status_code == 404  # not theirs
    assert session.request("DELETE", uploads(srv, "prof", "abandon")).status_code == 204
    assert _reserved(srv, "prof") == reserved


def test_an_abandoned_upload_expires_and_frees_its_space(srv: Server) -> None:
    """No clock is waited for: the sweep runs at instants placed around the upload's
    recorded end (what the server's sweeper does when that time comes)."""
    from providers import uploads as store_uploads

    session = srv.session("prof")
    reserved = _reserved(srv, "prof")
    assert session.request("MKCOL", uploads(srv, "prof", "oublie"),
                           headers={"OC-Total-Length": "4000"}).status_code == 201
    assert session.put(uploads(srv, "prof", "oublie/1"), data=b"o" * 4000).status_code == 201
    listed = cli_ok(srv, "uploads", "list")
    assert "oublie" in listed and "4000" in listed
    with srv.app() as app:
        upload = next(u for u in store_uploads.all_uploads(app.store) if u.name == "oublie")
        assert "oublie" not in [u.name for u in
                                store_uploads.sweep(app.store, upload.expires - 1)]
        assert "oublie" in [u.name for u in
                            store_uploads.sweep(app.store, upload.expires + 1)]
    assert _reserved(srv, "prof") == reserved
    assert session.request("PROPFIND", uploads(srv, "prof", "oublie"),
                           headers={"Depth": "0"}).status_code == 404
    assert "oublie" not in cli_ok(srv, "uploads", "list")
    assert "0 expired" in cli_ok(srv, "uploads", "sweep")
    assert "fsck: clean" in cli_ok(srv, "fsck")
