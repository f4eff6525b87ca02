"""The full DAV stack in-process (WSGI, no socket): what one request costs in SQL
statements (counted with SQLAlchemy's ``before_cursor_execute`` event), whatever the
size of the folder or the depth of the path (DESIGN.md, "Storage model"; issue 9).

* PROPFIND Depth 1 costs the same for 10 and for 1,000 members, for the properties
  rclone asks, for those the Nextcloud and ownCloud apps ask (``oc:size`` of every
  folder from one aggregate query) and for allprop with ``lockdiscovery`` (one lock
  query per listing);
* resolving a path of depth 20 costs what depth 1 costs, and a small bounded number.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import event
from werkzeug.test import Client

import acl
from davserver import auth
from davserver.app import create_app
from davserver.config import Config
from tests.unit.conftest import count_queries

# One database is enough: its app runs in-process on SQLite whatever the run (Config()
# defaults), and query plans are SQLite's (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

RCLONE_PROPS = (b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/>'
                b"<d:getlastmodified/><d:getcontentlength/><d:resourcetype/></d:prop>"
                b"</d:propfind>")
# What the Nextcloud and ownCloud apps ask of every listing (their discovery phase).
SYNC_APP_PROPS = (
    b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" '
    b'xmlns:nc="http://nextcloud.org/ns"><d:prop><d:resourcetype/><d:getlastmodified/>'
    b"<d:getcontentlength/><d:getetag/><oc:size/><oc:id/><oc:fileid/><oc:downloadURL/>"
    b"<oc:dDC/><oc:permissions/><oc:checksums/><oc:share-types/><nc:has-preview/>"
    b"</d:prop></d:propfind>")
LOCK_BODY = (b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
             b"</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>")
DOCS = "/dav/porte-documents"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Client:
    # The credential generation is read again once a second: on a loaded machine one
    # request in a measured pair would pay that statement. Read once, at the start.
    monkeypatch.setattr(auth, "GENERATION_EVERY", 3600.0)
    config = Config(data_dir=tmp_path / "data")
    app = create_app(config)
    with app.db.transaction() as s:
        principal = acl.create_user(s, "alice", "password-alice", "teacher")
    client = Client(app.wsgi)
    client.app_handle = app  # type: ignore[attr-defined]
    client.user_id = principal.id  # type: ignore[attr-defined]
    return client


def _auth() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(b"alice:password-alice").decode()}


def _fill(client: Client, folder: str, members: int) -> None:
    """A folder of ``members`` files (a few PUT over HTTP, the rest straight into the
    store, which is quicker and ends in the same rows), one of them locked."""
    assert client.open(f"{DOCS}/{folder}/", method="MKCOL", headers=_auth()).status_code == 201
    for i in range(min(members, 3)):
        response = client.put(f"{DOCS}/{folder}/f{i}.txt", data=b"x" * i, headers=_auth())
        assert response.status_code == 201
    store = client.app_handle.store  # type: ignore[attr-defined]
    space = store.ensure_space("documents", owner_id=client.user_id)  # type: ignore[attr-defined]
    for i in range(3, members):
        store.commit_write(space.id, f"/{folder}/f{i}.txt", None)
    store.make_collection(space.id, f"/{folder}/sub")
    # one member is locked, so lockdiscovery has something to find
    assert client.open(f"{DOCS}/{folder}/f0.txt", method="LOCK", data=LOCK_BODY,
                       headers=_auth()).status_code == 200


def _queries(client: Client, method: str, path: str, body: bytes | None = None,
             depth: str = "1") -> tuple[int, bytes]:
    db = client.app_handle.db  # type: ignore[attr-defined]
    with count_queries(db) as counter:
        response = client.open(path, method=method, data=body,
                               headers={**_auth(), "Depth": depth})
    assert response.status_code in (200, 207), response.status
    return counter.count, response.data


@pytest.mark.parametrize("body", [RCLONE_PROPS, None, SYNC_APP_PROPS],
                         ids=["rclone-props", "allprop", "sync-app-props"])
def test_depth1_listing_costs_constant_queries(client: Client, body: bytes | None) -> None:
    _fill(client, "small", 10)
    _fill(client, "large", 1000)
    small, small_xml = _queries(client, "PROPFIND", f"{DOCS}/small/", body)
    large, large_xml = _queries(client, "PROPFIND", f"{DOCS}/large/", body)
    assert small_xml.count(b"<D:response") == 12 and large_xml.count(b"<D:response") == 1002
    assert small == large, (small, large)
    assert small <= 12


def test_path_depth_does_not_add_queries(client: Client) -> None:
    segments = [f"d{i}" for i in range(1, 20)]
    for i in range(len(segments)):
        path = "/".join(segments[: i + 1])
        assert client.open(f"{DOCS}/{path}/", method="MKCOL", headers=_auth()).status_code == 201
    deep = f"{DOCS}/{'/'.join(segments)}/file.txt"  # depth 20 under the space
    shallow = f"{DOCS}/file.txt"
    for url in (deep, shallow):
        assert client.put(url, data=b"content", headers=_auth()).status_code == 201
    for method, depth in (("GET", "0"), ("PROPFIND", "0")):
        at_depth_1, _ = _queries(client, method, shallow, depth=depth)
        at_depth_20, _ = _queries(client, method, deep, depth=depth)
        assert at_depth_20 == at_depth_1, (method, at_depth_1, at_depth_20)
        assert at_depth_20 <= 4, (method, at_depth_20)


def test_resolving_uses_the_path_index(client: Client) -> None:
    """On SQLite, resolving a path and finding a parent look the row up by path, not
    by scanning the space (SQLite picks the space index without statistics)."""
    from providers.store import _NODE_AT, _RESOLVE, _chain_statement

    db = client.app_handle.db  # type: ignore[attr-defined]
    if db.engine.dialect.name != "sqlite":
        pytest.skip("query plans are SQLite's")
    with db.engine.connect() as conn:
        for statement, params in ((_RESOLVE, (0, 1, "/a")), (_NODE_AT, (0, 1, "/a")),
                                  (_chain_statement(2), (0, 1, "", "/a", "/a/b"))):
            sql = str(statement.compile(db.engine))
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
            assert any("ix_nodes_path" in str(row) for row in plan), plan
            assert not any("ix_nodes_space" in str(row) for row in plan), plan


def test_the_sync_apps_address_costs_what_dav_costs(client: Client) -> None:
    """``/remote.php/dav/files/<login>/`` is the same provider: the same statements, and
    the hrefs of the answer in the address the client used."""
    _fill(client, "large", 200)
    dav, _ = _queries(client, "PROPFIND", f"{DOCS}/large/", SYNC_APP_PROPS)
    sync, xml = _queries(client, "PROPFIND",
                         "/remote.php/dav/files/alice/porte-documents/large/", SYNC_APP_PROPS)
    assert sync == dav, (dav, sync)
    assert xml.count(b"<D:href>/remote.php/dav/files/alice/porte-documents/large/") == 202


VERSIONS = "/dav/versions/porte-documents"


def _versioned_folder(client: Client, folder: str, files: int) -> None:
    """A folder of ``files`` files, each written twice (one version each), and a
    sub-folder."""
    assert client.open(f"{DOCS}/{folder}/", method="MKCOL", headers=_auth()).status_code == 201
    assert client.open(f"{DOCS}/{folder}/sub/", method="MKCOL",
                       headers=_auth()).status_code == 201
    for i in range(files):
        for content in (b"first", b"second"):
            response = client.put(f"{DOCS}/{folder}/f{i}.txt", data=content, headers=_auth())
            assert response.status_code in (201, 204)


@pytest.mark.parametrize("body", [RCLONE_PROPS, None], ids=["rclone-props", "allprop"])
def test_a_versions_folder_listing_costs_the_same_for_3_and_30_files(
        client: Client, body: bytes | None) -> None:
    """``/dav/versions/<folder>/`` Depth 1 lists its members from one query for the
    folder's children, not one path resolution a member."""
    _versioned_folder(client, "small", 3)
    _versioned_folder(client, "large", 30)
    small, small_xml = _queries(client, "PROPFIND", f"{VERSIONS}/small/", body)
    large, large_xml = _queries(client, "PROPFIND", f"{VERSIONS}/large/", body)
    assert small_xml.count(b"<D:response") == 5 and large_xml.count(b"<D:response") == 32
    assert b"/f29.txt/" in large_xml and b"/sub/" in large_xml
    assert small == large, (small, large)


@pytest.mark.clock("2026-12-07T10:00 Europe/Paris")
def test_a_files_versions_listing_costs_the_same_for_3_and_30_versions(
        client: Client) -> None:
    """``/dav/versions/<file>/`` Depth 1: the versions from one query. Each write comes
    eight days after the one before (the process's clock moved on, no sleep), so that
    thinning keeps every version."""
    from datetime import timedelta

    from davserver import clock

    for name, count in (("small.txt", 3), ("large.txt", 30)):
        for i in range(count + 1):
            clock.set_shift(clock.shift() + timedelta(days=8))
            response = client.put(f"{DOCS}/{name}", data=b"v%d" % i, headers=_auth())
            assert response.status_code in (201, 204)
    small, small_xml = _queries(client, "PROPFIND", f"{VERSIONS}/small.txt/", RCLONE_PROPS)
    large, large_xml = _queries(client, "PROPFIND", f"{VERSIONS}/large.txt/", RCLONE_PROPS)
    assert small_xml.count(b"<D:response") == 4 and large_xml.count(b"<D:response") == 31
    assert small == large, (small, large)


def _put_cost(client: Client, url: str, body: bytes, headers: dict[str, str] | None = None
              ) -> tuple[int, int, list[str]]:
    """Status, data statements and transactions begun of one PUT."""
    db = client.app_handle.db  # type: ignore[attr-defined]
    begun: list[object] = []

    def _begin(_conn: object) -> None:
        begun.append(_conn)

    event.listen(db.engine, "begin", _begin)
    try:
        with count_queries(db) as counter:
            response = client.put(url, data=body, headers={**_auth(), **(headers or {})})
    finally:
        event.remove(db.engine, "begin", _begin)
    return response.status_code, len(begun), counter.statements


def _warm(client: Client) -> None:
    """The first requests of a process read the user's space once (then cached)."""
    for body in (b"one", b"two"):
        assert client.put(f"{DOCS}/warm.txt", data=body, headers=_auth()).status_code < 300


def test_small_put_costs(client: Client) -> None:
    """A small PUT (issue 22): one query before the write transaction resolves the path
    and reads the space's quota figures and whether it holds any lock; then one write
    transaction. New file: touch the folders' ETags, find the folder and the name,
    insert the blob and the node, charge the ledger. Overwrite: the same, the node
    updated, and the charge and the replaced content's version bytes in one UPDATE,
    with the version row and the file's versions read to thin them."""
    url = f"{DOCS}/cours/a.txt"
    _warm(client)
    assert client.open(f"{DOCS}/cours/", method="MKCOL", headers=_auth()).status_code == 201
    status, transactions, statements = _put_cost(client, url, "Bonjour à tous.\n".encode())
    assert status == 201
    assert transactions == 1, statements
    assert len(statements) == 6, statements
    assert sum(s.lstrip().startswith("SELECT nodes.id") for s in statements) == 1
    status, transactions, statements = _put_cost(client, url, "Bonsoir à tous.\n".encode())
    assert status == 204
    assert transactions == 1, statements
    assert len(statements) == 8, statements
    assert sum("UPDATE space_usage" in s for s in statements) == 1, statements
    assert client.get(url, headers=_auth()).data == "Bonsoir à tous.\n".encode()


def test_an_overwrite_with_the_same_bytes_frees_the_old_blob_in_one_statement(
        client: Client) -> None:
    """A sync app sending a file again unchanged (issue 22): no version is kept, and the
    replaced blob is freed, or kept if anything else still points at it, by one
    ``DELETE … WHERE NOT EXISTS … RETURNING`` (nodes, versions, chunked uploads,
    hand-ins, attachments), not a query for each of them and then the delete."""
    url = f"{DOCS}/same.txt"
    _warm(client)
    body = "Le même texte.\n".encode()
    assert client.put(url, data=body, headers=_auth()).status_code == 201
    status, transactions, statements = _put_cost(client, url, body)
    assert status == 204 and transactions == 1, statements
    holders = ("file_versions", "upload_chunks", "handin_files", "handin_corrections",
               "activity_attachments")
    asking = [s for s in statements if any(f"FROM {table}" in s for table in holders)]
    assert len(asking) == 1 and asking[0].lstrip().startswith("DELETE FROM blobs"), asking
    for table in ("nodes", *holders):
        assert f"FROM {table} " in asking[0], table
    assert len(statements) == 6, statements
    assert client.get(url, headers=_auth()).data == body
    store = client.app_handle.store  # type: ignore[attr-defined]
    from providers import fsck

    assert fsck(store).clean  # the old blob's row went, and its file with it


def test_a_chunked_put_reads_the_quota_with_the_path(client: Client) -> None:
    """A PUT without ``Content-Length`` (``Transfer-Encoding: chunked``: rclone, davfs2
    and the sync apps stream so) uses the quota figures read with its path, as a sized
    small PUT does: the same statements, no reading of ``space_usage`` apart."""
    import io

    _warm(client)
    _, _, sized = _put_cost(client, f"{DOCS}/sized.txt", b"content")
    db = client.app_handle.db  # type: ignore[attr-defined]
    with count_queries(db) as counter:
        response = client.put(f"{DOCS}/chunked.txt", input_stream=io.BytesIO(b"content"),
                              headers={**_auth(), "Transfer-Encoding": "chunked"},
                              environ_overrides={"CONTENT_LENGTH": ""})  # as cheroot
    assert response.status_code == 201, response.data
    assert len(counter.statements) == len(sized), (sized, counter.statements)
    assert not any(s.lstrip().startswith("SELECT space_usage")
                   for s in counter.statements), counter.statements
    assert client.get(f"{DOCS}/chunked.txt", headers=_auth()).data == b"content"


def test_a_lock_in_the_space_is_still_checked(client: Client) -> None:
    """Once the space holds a lock, a PUT reads the locks around its path (one query
    more) and honours them: 423 on the locked file without its token, 204 with it."""
    url = f"{DOCS}/locked.txt"
    _warm(client)
    assert client.put(url, data=b"v1", headers=_auth()).status_code == 201
    status, _, before = _put_cost(client, f"{DOCS}/free.txt", b"free")
    assert status == 201
    locked = client.open(url, method="LOCK", data=LOCK_BODY, headers=_auth())
    assert locked.status_code == 200
    token = locked.headers["Lock-Token"]
    status, _, after = _put_cost(client, f"{DOCS}/free2.txt", b"free")
    assert status == 201
    assert len(after) == len(before) + 1, (before, after)
    assert any("dav_locks" in s for s in after)
    status, _, _ = _put_cost(client, url, b"v2")
    assert status == 423
    status, _, _ = _put_cost(client, url, b"v2", {"If": f"({token})"})
    assert status == 204
    assert client.get(url, headers=_auth()).data == b"v2"


def _node_reads(client: Client, method: str, source: str, destination: str,
                overwrite: str = "F") -> tuple[int, list[str]]:
    """Status and statements of a MOVE or COPY."""
    db = client.app_handle.db  # type: ignore[attr-defined]
    with count_queries(db) as counter:
        response = client.open(source, method=method, headers={
            **_auth(), "Destination": f"http://localhost{destination}",
            "Overwrite": overwrite})
    return response.status_code, counter.statements


@pytest.mark.parametrize("method", ["MOVE", "COPY"])
def test_a_move_or_copy_reads_each_path_once(client: Client, method: str) -> None:
    """MOVE and COPY (RFC 4918 §9.8, §9.9) resolve the source (and the folder above it)
    and the destination (the folder above it, and the name there): what one request's
    queries found is kept for the request (``providers.resources.request_chain``), so
    two path queries, not five, then the write transaction; then onto the copy or move
    it made: 412 without ``Overwrite``, replaced with it (the memo is not believed
    after the first request's write)."""
    _warm(client)
    assert client.open(f"{DOCS}/a/", method="MKCOL", headers=_auth()).status_code == 201
    assert client.open(f"{DOCS}/dest/", method="MKCOL", headers=_auth()).status_code == 201
    for i in range(3):
        assert client.put(f"{DOCS}/a/f{i}.txt", data=b"x", headers=_auth()).status_code == 201
    status, statements = _node_reads(client, method, f"{DOCS}/a/", f"{DOCS}/dest/b/")
    assert status == 201, statements
    # Path look-ups before the write transaction: the chains (the transaction then
    # reads the destination's folder and name again, under its lock).
    chains = [s for s in statements if s.lstrip().startswith("SELECT") and "nodes.path IN (" in s]
    assert len(chains) == 2, chains
    moved = f"{DOCS}/dest/b/f1.txt"
    assert client.get(moved, headers=_auth()).data == b"x"
    # The same again onto what is now there: 412 without Overwrite (RFC 4918 §10.6),
    # replaced with it; each time from one look-up of each path.
    source = f"{DOCS}/a/" if method == "COPY" else f"{DOCS}/dest/b/"
    if method == "MOVE":
        assert client.open(f"{DOCS}/a/", method="MKCOL", headers=_auth()).status_code == 201
        assert client.put(f"{DOCS}/a/g.txt", data=b"y", headers=_auth()).status_code == 201
        source = f"{DOCS}/a/"
    status, statements = _node_reads(client, method, source, f"{DOCS}/dest/b/")
    assert status == 412, statements
    status, statements = _node_reads(client, method, source, f"{DOCS}/dest/b/", "T")
    assert status == 204, statements
    listing = client.open(f"{DOCS}/dest/b/", method="PROPFIND", headers={**_auth(),
                                                                          "Depth": "1"})
    names = {n for n in ("f0.txt", "f1.txt", "f2.txt", "g.txt")
             if f"/dest/b/{n}".encode() in listing.data}
    assert names == ({"f0.txt", "f1.txt", "f2.txt"} if method == "COPY" else {"g.txt"})
