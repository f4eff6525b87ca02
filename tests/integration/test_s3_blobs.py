"""The S3 blob store (``providers/s3_blobs.py``) against a real S3 server (SeaweedFS):
streamed multipart uploads, ranged reads, the damage check, ``davserver fsck`` and
``davserver blobs migrate --to s3``.

One SeaweedFS for the file (about 3 s to start), each test under its own prefix.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from davserver.config import S3Config
from providers import BlobStoreUnavailable
from providers.damage import DamagedContent, open_checked
from providers.s3_blobs import S3BlobStore
from tests.conftest import running_server, s3_blob_env

# One database is enough: the S3 store holds no SQL; fsck's queries are tested on both
# in unit/test_store.py (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clients, pytest.mark.one_database]
MiB = 2**20


@pytest.fixture
def env() -> dict[str, str]:
    """A fresh prefix in the test process's SeaweedFS, as server configuration."""
    return s3_blob_env()


def _settings(env: dict[str, str], **changes: object) -> S3Config:
    values: dict[str, object] = {
        "endpoint_url": env["DAVSERVER_BLOBS__S3__ENDPOINT_URL"],
        "bucket": env["DAVSERVER_BLOBS__S3__BUCKET"],
        "prefix": env["DAVSERVER_BLOBS__S3__PREFIX"],
        "access_key_id": env["DAVSERVER_BLOBS__S3__ACCESS_KEY_ID"],
        "secret_access_key": env["DAVSERVER_BLOBS__S3__SECRET_ACCESS_KEY"]}
    return S3Config.model_validate(values | changes)


@pytest.fixture
def store(env: dict[str, str]) -> S3BlobStore:
    return S3BlobStore(_settings(env, part_size=5 * MiB, abandoned_after=0))


def test_a_small_blob_is_one_put_a_large_one_parts(store: S3BlobStore) -> None:
    small, large = os.urandom(1000), os.urandom(12 * MiB + 5)
    infos = []
    for body in (small, large):
        writer = store.writer()
        for start in range(0, len(body), 256 * 1024):
            writer.write(body[start:start + 256 * 1024])
        if body is large:  # parts left while the body streamed: at most one in memory
            assert len(writer._parts) == 2 and len(writer._buffer) < 5 * MiB  # type: ignore[attr-defined]
        infos.append(writer.finish())
    assert store.sizes() == {infos[0].key: len(small), infos[1].key: len(large)}
    assert store.count_incomplete() == 0
    with store.open(infos[1].key) as content:
        assert content.read() == large
    with store.open(infos[1].key) as content:  # a range: a GET from there
        content.seek(7 * MiB)
        assert content.read(10) == large[7 * MiB:7 * MiB + 10]
        assert content.tell() == 7 * MiB + 10


class GetCounter:
    """The GetObject requests a boto3 client sends, with their ``Range`` header (None
    for the whole object): a ``before-send`` event hook that records and lets the
    request go to the real S3 server."""

    def __init__(self, store: S3BlobStore) -> None:
        self.ranges: list[str | None] = []
        self._events = store.client.meta.events
        self._events.register("before-send.s3.GetObject", self._record)

    def _record(self, request: Any, **_kw: Any) -> None:
        found = request.headers.get("Range")
        self.ranges.append(found.decode() if isinstance(found, bytes) else found)

    def close(self) -> None:
        self._events.unregister("before-send.s3.GetObject", self._record)


def _big_blob(store: S3BlobStore, body: bytes) -> str:
    writer = store.writer()
    for start in range(0, len(body), 1 * MiB):
        writer.write(body[start:start + 1 * MiB])
    return writer.finish().key


def test_a_range_of_a_big_blob_is_one_ranged_get(store: S3BlobStore) -> None:
    """What WsgiDAV does for ``Range:`` (open, seek, read): one GET from the offset,
    never a GET of the whole object first; a whole read is one GET without a range;
    a seek after reading is one more ranged GET; ``read(0)`` is the GET alone."""
    body = os.urandom(12 * MiB)
    key = _big_blob(store, body)
    counter = GetCounter(store)
    try:
        content = open_checked(lambda: store.open(key), len(body), "/f (space 1)", key)
        assert counter.ranges == []  # opening sends nothing
        content.seek(7 * MiB)
        assert content.read(10) == body[7 * MiB:7 * MiB + 10]
        assert counter.ranges == [f"bytes={7 * MiB}-"]
        content.seek(3 * MiB)
        assert content.read(5) == body[3 * MiB:3 * MiB + 5]
        content.close()
        assert counter.ranges == [f"bytes={7 * MiB}-", f"bytes={3 * MiB}-"]
        counter.ranges.clear()
        with store.open(key) as whole:
            assert whole.read(0) == b"" and counter.ranges == [None]
            assert whole.read() == body
        assert counter.ranges == [None]
    finally:
        counter.close()


def test_a_range_request_to_the_server_is_one_ranged_get(
        env: dict[str, str], tmp_path: Path) -> None:
    """The whole server in-process on the S3 store: a GET with ``Range:`` of a big
    file (answered by WsgiDAV: 206) sends the S3 server one GET, from the offset."""
    import base64

    from werkzeug.test import Client

    import acl
    from davserver.app import create_app
    from davserver.config import load_config

    (tmp_path / "config.yaml").write_text("{}\n")  # the defaults, not ./config.yaml's
    app = create_app(load_config(tmp_path / "config.yaml", environ={
        **env, "DAVSERVER_DATA_DIR": str(tmp_path / "data")}))
    with app.db.transaction() as s:
        ann = acl.create_user(s, "ann", "password-of-ann-42", "teacher").id
    basic = {"Authorization": "Basic " + base64.b64encode(b"ann:password-of-ann-42").decode()}
    body = os.urandom(9 * MiB)
    client = Client(app.wsgi)
    assert client.put("/dav/porte-documents/film.bin", data=body,
                      headers=basic).status_code == 201
    blobs = app.store.blobs
    assert isinstance(blobs, S3BlobStore)
    counter = GetCounter(blobs)
    try:
        answer = client.get("/dav/porte-documents/film.bin",
                            headers={**basic, "Range": f"bytes={8 * MiB}-{8 * MiB + 99}"})
        assert answer.status_code == 206 and answer.data == body[8 * MiB:8 * MiB + 100]
        assert counter.ranges == [f"bytes={8 * MiB}-"]
    finally:
        counter.close()
    # The object lost: the GET, plain (the short way) or ranged (WsgiDAV's), learns it
    # at its first read, before the answer starts: a 500 that says so, no body cut.
    node = app.store.resolve(app.store.ensure_space("documents", owner_id=ann).id, "/film.bin")
    assert node is not None and node.blob_key is not None
    blobs.delete(node.blob_key)
    for extra in ({}, {"Range": "bytes=100-199"}):
        lost = client.get("/dav/porte-documents/film.bin", headers={**basic, **extra})
        assert lost.status_code == 500 and b"missing" in lost.data, (extra, lost.data[:200])
    app.db.dispose()


def test_an_aborted_upload_leaves_nothing(store: S3BlobStore) -> None:
    writer = store.writer()
    writer.write(os.urandom(6 * MiB))
    writer.abort()
    assert store.sizes() == {} and store.count_incomplete() == 0


def test_a_missing_or_cut_object_is_damage(store: S3BlobStore) -> None:
    writer = store.writer()
    writer.write(b"x" * 1000)
    key = writer.finish().key
    with pytest.raises(DamagedContent) as missing:  # at the first read, which GETs
        open_checked(lambda: store.open("0" * 32), 10, "/f (space 1)", "0" * 32).read(10)
    assert missing.value.found is None
    with pytest.raises(FileNotFoundError):  # read(0): the GET alone, for the web page
        store.open("0" * 32).read(0)
    store.client.put_object(Bucket=store.bucket, Key=store.object_name(key), Body=b"x" * 400)
    content = open_checked(lambda: store.open(key), 1000, "/f (space 1)", key)
    with pytest.raises(DamagedContent) as cut:
        content.read(1000)
    assert cut.value.found == 400


def test_an_unreachable_store_is_unavailable(env: dict[str, str]) -> None:
    dead = S3BlobStore(_settings(env, endpoint_url="http://127.0.0.1:9", attempts=1,
                                 connect_timeout=1))
    with pytest.raises(BlobStoreUnavailable):
        dead.open("0" * 32).read(0)
    with pytest.raises(BlobStoreUnavailable):
        dead.writer().finish()
    with pytest.raises(BlobStoreUnavailable):
        dead.ping()


def test_fsck_on_s3_finds_orphans_missing_objects_and_wrong_sizes(
        env: dict[str, str], tmp_path: Path) -> None:
    with running_server(tmp_path, env, {"alice": "teacher"}) as srv:
        alice = srv.session("alice")
        for name in ("a.txt", "b.txt", "c.txt"):
            assert alice.put(f"{srv.documents_url}/{name}", data=name.encode() * 50
                             ).status_code == 201
        assert "fsck: clean" in srv.cli("fsck").stdout
        with srv.app() as app:
            store = app.store.blobs
            assert isinstance(store, S3BlobStore)
            keys = sorted(store.sizes())
            store.client.delete_object(Bucket=store.bucket, Key=store.object_name(keys[0]))
            store.client.put_object(Bucket=store.bucket, Key=store.object_name(keys[1]),
                                    Body=b"short")
            orphan = uuid.uuid4().hex
            store.client.put_object(Bucket=store.bucket, Key=store.object_name(orphan),
                                    Body=b"orphan")
            store.client.put_object(Bucket=store.bucket, Key=store.prefix + ".DS_Store",
                                    Body=b"mac")
        found = srv.cli("fsck", check=False)
        assert found.returncode == 1
        assert f"missing blob (content lost): {keys[0]}" in found.stdout
        assert f"blob of the wrong size (content damaged): {keys[1]}: 5 bytes" in found.stdout
        assert f"orphan blob file: {orphan}" in found.stdout
        assert "foreign file in the blob store): .DS_Store" in found.stdout
        repaired = srv.cli("fsck", "--repair", check=False)
        assert "fsck: repaired" in repaired.stdout
        again = srv.cli("fsck", check=False).stdout
        assert orphan not in again and ".DS_Store" not in again
        assert keys[0] in again  # lost content is reported until a backup restores it


def test_migrate_to_s3_copies_every_blob_and_resumes(env: dict[str, str],
                                                      tmp_path: Path) -> None:
    """A server on the blob directory, its files copied to the bucket (twice: the second
    run copies nothing), then the same server on the bucket serves them."""
    s3_keys = {k: v for k, v in env.items() if k != "DAVSERVER_BLOBS__KIND"}
    with running_server(tmp_path, s3_keys, {"alice": "teacher"}) as srv:
        alice = srv.session("alice")
        bodies = {f"f{i}.bin": os.urandom(1000 * (i + 1)) for i in range(4)}
        bodies["gros.bin"] = os.urandom(6 * MiB)
        for name, body in bodies.items():
            assert alice.put(f"{srv.documents_url}/{name}", data=body).status_code == 201
        first = srv.cli("blobs", "migrate", "--to", "s3")
        assert "5 to copy" in first.stdout and "every blob is in the s3 store" in first.stdout
        second = srv.cli("blobs", "migrate", "--to", "s3")
        assert "5 already in the target, 0 to copy" in second.stdout
        srv.stop()
        srv.env["DAVSERVER_BLOBS__KIND"] = "s3"
        srv.start()
        for name, body in bodies.items():
            got = alice.get(f"{srv.documents_url}/{name}")
            assert (got.status_code, got.content == body) == (200, True), name
        assert "fsck: clean" in srv.cli("fsck").stdout
        refused = srv.cli("blobs", "migrate", "--to", "s3", check=False)
        assert refused.returncode == 1 and "already in the s3 store" in refused.stdout


def test_a_credentials_file_is_read_and_a_bad_one_named(env: dict[str, str],
                                                         tmp_path: Path) -> None:
    good = tmp_path / "creds"
    good.write_text("[ent]\naws_access_key_id = "
                    f"{env['DAVSERVER_BLOBS__S3__ACCESS_KEY_ID']}\naws_secret_access_key = "
                    f"{env['DAVSERVER_BLOBS__S3__SECRET_ACCESS_KEY']}\n")
    settings = S3Config(endpoint_url=env["DAVSERVER_BLOBS__S3__ENDPOINT_URL"],
                        bucket=env["DAVSERVER_BLOBS__S3__BUCKET"], credentials_file=good,
                        profile="ent")
    S3BlobStore(settings).ping()
    from davserver.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="no \\[default\\] section"):
        load_config(environ={"DAVSERVER_BLOBS__KIND": "s3",
                             "DAVSERVER_BLOBS__S3__BUCKET": "ent-blobs",
                             "DAVSERVER_BLOBS__S3__CREDENTIALS_FILE": str(good)})
    with pytest.raises(ConfigError, match="blobs.s3.bucket"):
        load_config(environ={"DAVSERVER_BLOBS__KIND": "s3"})

