"""File versions against the real server (issue 23): rclone and davfs2 overwrite a
file and its versions appear under ``/dav/versions/``, thinned by the rule on a
controlled clock; rclone copies them out; a COPY restores one; writes there are 403;
the rights table of a rubric; a purged version is 404, a restore over quota 507 with
nothing changed; versions go to the trash with their file and come back.

The server's clock is pinned to Monday 2026-12-07 10:00:02 UTC when it starts, so that
what a test writes in the next minutes falls in one day of the clock; the thinning a
later day would do is then run by ``davserver versions purge`` with this process's
clock moved on (no sleep).
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests

import acl
from davserver import clock
from tests.conftest import Server, pinned, running_server
from tests.integration.rubric_kit import cli, cli_ok, put, rubric_url, transfer, used_bytes

# rclone, davfs2 and curl-like requests against the server (CI's clients phase).
pytestmark = pytest.mark.clients
SLUG = "club-versions"
PROPS = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
         "<D:getlastmodified/><D:getcontentlength/><D:getetag/><D:resourcetype/>"
         "</D:prop></D:propfind>")


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    users = {"alice": "teacher", "writer1": "student", "writer2": "student",
             "moder": "teacher", "reader": "student"}
    with pinned("2026-12-07T10:00:02+00:00"), \
            running_server(tmp_path_factory.mktemp("versions"), users=users) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège test")
            acl.add_rubric(s, SLUG, "Club", school_id=school)
            for login in ("writer1", "writer2"):
                acl.grant(s, SLUG, "publisher", user=login)
            acl.grant(s, SLUG, "moderator", user="moder")
            acl.grant(s, SLUG, "visitor", user="reader")
        yield server


def versions_url(srv: Server, rel: str) -> str:
    return f"{srv.dav_url}/versions/" + quote(rel.strip("/")) + "/"


def listing(session: requests.Session, url: str) -> dict[str, dict[str, str | None]] | int:
    """Members of a collection (PROPFIND Depth 1) with their getlastmodified,
    getcontentlength and getetag, or the status when not 207."""
    response = session.request("PROPFIND", url, data=PROPS,
                               headers={"Depth": "1", "Content-Type": "application/xml"})
    if response.status_code != 207:
        return response.status_code
    own = unquote(urlsplit(url).path).rstrip("/")
    found = {}
    for answer in ET.fromstring(response.content).iter("{DAV:}response"):
        href = unquote(urlsplit(answer.findtext("{DAV:}href") or "").path).rstrip("/")
        if href == own:
            continue
        found[href.rsplit("/", 1)[1]] = {
            child.tag[6:]: child.text for prop in answer.iter("{DAV:}prop") for child in prop
            if child.tag in ("{DAV:}getlastmodified", "{DAV:}getcontentlength",
                             "{DAV:}getetag")}
    return found


def names(session: requests.Session, url: str) -> list[str]:
    found = listing(session, url)
    assert not isinstance(found, int), (url, found)
    return sorted(found)


def purge_as_if(srv: Server, days: float, *args: str) -> str:
    """``davserver versions purge`` with the clock ``days`` days on from now."""
    moment = clock.now() + timedelta(days=days)
    with pinned(moment):
        return cli_ok(srv, "versions", "purge", *args)


def test_rclone_overwrites_and_copies_the_versions_out(srv: Server, tmp_path: Path) -> None:
    from tests.integration.test_rclone import TRANSFER_FLAGS, Rclone, _require_rclone

    _require_rclone()
    rclone = Rclone(tmp_path / "rclone")
    rclone.add_webdav_remote("ent", srv.dav_url, "alice", srv.users["alice"], "other")
    local = tmp_path / "fiche.txt"
    contents = [b"version %d of the worksheet\n" % i * (i + 1) for i in range(4)]
    for data in contents:
        local.write_bytes(data)
        rclone.run("copyto", str(local), "ent:porte-documents/fiche.txt", *TRANSFER_FLAGS)
    alice = srv.session("alice")
    assert alice.get(f"{srv.documents_url}/fiche.txt").content == contents[-1]
    url = versions_url(srv, "porte-documents/fiche.txt")
    found = listing(alice, url)
    assert not isinstance(found, int), found
    # three replaced contents, made seconds apart: the 1 s / 2 s rules keep one at
    # least, never two in one second
    assert 1 <= len(found) <= 3, found
    assert all(n.endswith(".txt") and n.startswith("2026-12-07T10-") for n in found)
    sizes = {int(v["getcontentlength"] or 0) for v in found.values()}
    assert sizes <= {len(c) for c in contents[:3]} and len(contents[2]) in sizes
    newest = max(found)
    assert found[newest]["getetag"] and found[newest]["getlastmodified"]
    # rclone copies them out through PROPFIND and GET
    out = tmp_path / "out"
    rclone.run("copy", "ent:versions/porte-documents/fiche.txt", str(out), *TRANSFER_FLAGS)
    assert sorted(p.name for p in out.iterdir()) == sorted(found)
    assert (out / newest).read_bytes() == contents[2]
    # a day later the rule keeps one a day: the newest of the morning
    purge_as_if(srv, 2)
    assert names(alice, url) == [newest]
    # the CLI lists it too, with its id, size and ETag
    rows = json.loads(cli_ok(srv, "versions", "list", "alice", "/fiche.txt", "--json"))
    assert [r["size"] for r in rows] == [len(contents[2])]
    assert rows[0]["etag"] == found[newest]["getetag"].strip('"')  # type: ignore[union-attr]


def test_davfs2_saves_keep_versions(srv: Server, tmp_path: Path) -> None:
    """davfs2 writes each saved file back with a PUT when it unmounts (three mounts,
    about 15 s)."""
    from tests.integration.test_davfs2 import _cannot_mount, mounted

    reason = _cannot_mount()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"davfs2 must run in CI: {reason}")
        pytest.skip(reason)
    with mounted(srv, "alice", tmp_path / "mnt0") as mnt:
        target = mnt / "porte-documents" / "rapport.txt"
        target.write_bytes(b"premier jet\n")
    for i, text in enumerate((b"second jet\n", b"version finale\n"), 1):
        with mounted(srv, "alice", tmp_path / f"mnt{i}") as mnt:
            (mnt / "porte-documents" / "rapport.txt").write_bytes(text)
    alice = srv.session("alice")
    assert alice.get(f"{srv.documents_url}/rapport.txt").content == b"version finale\n"
    found = names(alice, versions_url(srv, "porte-documents/rapport.txt"))
    assert 1 <= len(found) <= 2, found
    contents = {alice.get(versions_url(srv, "porte-documents/rapport.txt") + n).content
                for n in found}
    assert b"second jet\n" in contents and contents <= {b"premier jet\n", b"second jet\n"}


def test_copy_restores_and_the_replaced_content_becomes_a_version(srv: Server) -> None:
    alice = srv.session("alice")
    file_url = f"{srv.documents_url}/cours.odt"
    assert put(alice, file_url, b"first draft") == 201
    assert put(alice, file_url, b"second draft, longer") == 204
    url = versions_url(srv, "porte-documents/cours.odt")
    [name] = names(alice, url)
    assert name.endswith(".odt")
    got = alice.get(url + name)
    assert (got.status_code, got.content) == (200, b"first draft")
    restored = transfer(alice, "COPY", url + name, file_url)
    assert restored.status_code == 204, restored.text
    assert alice.get(file_url).content == b"first draft"
    contents = {alice.get(url + n).content for n in names(alice, url)}
    assert b"second draft, longer" in contents
    # a COPY elsewhere, and every write under /dav/versions/, is 403
    assert transfer(alice, "COPY", url + name, f"{srv.documents_url}/autre.odt"
                    ).status_code in (403, 404)
    some = url + names(alice, url)[0]
    for method in ("PUT", "DELETE", "PROPPATCH", "LOCK", "MKCOL"):
        assert alice.request(method, some).status_code == 403, method
    assert transfer(alice, "MOVE", some, file_url).status_code == 403
    assert alice.put(url + "nouveau.odt", data=b"x").status_code == 403
    # the drive's root does not list the versions (a client copying it copies none)
    assert "versions" not in names(alice, srv.dav_url + "/")


def test_purged_is_404_and_over_quota_is_507_with_nothing_changed(srv: Server) -> None:
    alice = srv.session("alice")
    file_url = f"{srv.documents_url}/gros.bin"
    big, small = b"B" * 200_000, b"s" * 10
    assert put(alice, file_url, big) == 201
    assert put(alice, file_url, small) == 204
    url = versions_url(srv, "porte-documents/gros.bin")
    [name] = names(alice, url)
    used = used_bytes(srv, "alice")
    cli_ok(srv, "quota", "set", "alice", str(used + 100_000))
    try:
        refused = transfer(alice, "COPY", url + name, file_url)
        assert refused.status_code == 507, refused.text
        assert alice.get(file_url).content == small
        assert names(alice, url) == [name]
    finally:
        cli_ok(srv, "quota", "set", "alice", "default")
    purge_as_if(srv, 0, "--older-than", "0")
    assert names(alice, url) == []
    assert transfer(alice, "COPY", url + name, file_url).status_code == 404
    assert alice.get(file_url).content == small


def test_versions_go_to_the_trash_with_their_file_and_come_back(srv: Server) -> None:
    alice = srv.session("alice")
    file_url = f"{srv.documents_url}/bulletin.txt"
    assert put(alice, file_url, b"v1") == 201
    assert put(alice, file_url, b"v2") == 204
    url = versions_url(srv, "porte-documents/bulletin.txt")
    assert len(names(alice, url)) == 1
    assert alice.delete(file_url).status_code == 204
    assert listing(alice, url) == 404
    back = transfer(alice, "MOVE", f"{srv.dav_url}/corbeille/porte-documents/bulletin.txt",
                    file_url)
    assert back.status_code == 201, back.text
    [name] = names(alice, url)
    assert alice.get(url + name).content == b"v1"
    # a rename keeps them
    moved = f"{srv.documents_url}/bulletin-final.txt"
    assert transfer(alice, "MOVE", file_url, moved).status_code == 201
    assert names(alice, versions_url(srv, "porte-documents/bulletin-final.txt")) == [name]


def test_rubric_rights(srv: Server) -> None:
    """Whoever may change a file sees its versions: a writer their own files,
    moderators every file; a visitor and another writer get 404 (what they may not
    see does not exist for them); a version copied onto another file is 403."""
    w1, w2, moder, reader = (srv.session(u) for u in ("writer1", "writer2", "moder",
                                                      "reader"))
    own = rubric_url(srv, SLUG, "/compte-rendu.txt")
    assert put(w1, own, b"w1 first") == 201
    assert put(w1, own, b"w1 second") == 204
    assert put(w2, rubric_url(srv, SLUG, "/w2.txt"), b"w2 first") == 201
    assert put(w2, rubric_url(srv, SLUG, "/w2.txt"), b"w2 second") == 204
    url = versions_url(srv, f"rubriques/{SLUG}/compte-rendu.txt")
    folder = versions_url(srv, f"rubriques/{SLUG}")
    table = {
        "writer1": (w1, 1, {"compte-rendu.txt"}),
        "moder": (moder, 1, {"compte-rendu.txt", "w2.txt"}),
        "writer2": (w2, 404, {"w2.txt"}),
        "reader": (reader, 404, set()),
    }
    for login, (session, expected, in_folder) in table.items():
        found = listing(session, url)
        assert (len(found) if isinstance(found, dict) else found) == expected, login
        assert set(names(session, folder)) == in_folder, login
    [name] = names(w1, url)
    assert transfer(w2, "COPY", url + name, own).status_code == 404
    assert transfer(reader, "COPY", url + name, own).status_code == 404
    assert w2.get(url + name).status_code == 404
    url2 = versions_url(srv, f"rubriques/{SLUG}/w2.txt")
    [name2] = names(w2, url2)
    assert transfer(w2, "COPY", url2 + name2, own).status_code == 403
    assert transfer(moder, "COPY", url + name, own).status_code == 204
    assert w1.get(own).content == b"w1 first"
    # a visitor may read the file, not its versions; the CLI names the rubric
    assert reader.get(own).content == b"w1 first"
    rows = json.loads(cli_ok(srv, "versions", "list", f"rubric:{SLUG}", "/compte-rendu.txt",
                             "--json"))
    assert [r["made_by"] for r in rows] == ["moder"]
    done = cli(srv, "versions", "restore", f"rubric:{SLUG}", "/compte-rendu.txt", "999999")
    assert done.returncode == 1 and "no version" in done.stderr
    cli_ok(srv, "versions", "restore", f"rubric:{SLUG}", "/compte-rendu.txt",
           str(rows[0]["id"]))
    assert w1.get(own).content == b"w1 second"
