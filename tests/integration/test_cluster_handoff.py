"""Large downloads handed to nginx (``X-Accel-Redirect``, ``providers/handoff.py``):
the same answer as the server's own, header for header and byte for byte.

Two clusters of one server process behind nginx, one after the other: blobs in a
directory (nginx sends them with sendfile) and in SeaweedFS (nginx fetches the object
through a signed URL).
For each, a file over ``accel_redirect.min_size`` is read straight from the server
process and through nginx: a whole GET on both of the server's GET paths (the short
path, for credentials it verified recently, and WsgiDAV's, for a first request), a
``Range``, an ``If-None-Match`` that matches (304) and one that does not. Each cluster
takes about 15 s to start; the S3 one's process is restarted (about 5 s) for WsgiDAV's
way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, select

from deploy import local_cluster as lc
from providers.models import Blob, Node
from tests.conftest import PASSWORD
from tests.integration.cluster_kit import Running, cluster

# One database is enough: the cluster runs its own PostgreSQL whatever the run's
# (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clients, pytest.mark.one_database]

BODY = os.urandom(3 * 2**20 + 17)  # over the cluster's min_size of 256 KiB
IGNORED = {"date", "server", "connection", "keep-alive", "transfer-encoding"}


ClusterOf = Callable[[str, dict[str, Any] | None], Running]


@pytest.fixture(scope="module")
def cluster_of(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterOf]:
    """``cluster_of(blobs, extra_config)``: a cluster of one process with that blob
    store, alice and her large file. One runs at a time: another blob store stops the
    one before; other configuration restarts its process."""
    current: list[Any] = []  # [blobs, context manager, Running, extra_config]

    def stop() -> None:
        if current:
            manager = current[1]
            current.clear()
            manager.__exit__(None, None, None)

    def get(blobs: str, extra: dict[str, Any] | None) -> Running:
        if current and current[0] == blobs:
            up: Running = current[2]
            if current[3] != extra:
                lc.write_config(up.state, extra)
                lc.kill_davserver(up.state, 1)
                lc.restart_davserver(up.state, 1)
                current[3] = extra
            return up
        stop()
        manager: AbstractContextManager[Running] = cluster(
            tmp_path_factory.mktemp(f"handoff-{blobs}") / "c", processes=1, blobs=blobs,
            extra_config=extra)
        up = manager.__enter__()
        current.extend([blobs, manager, up, extra])
        up.add_user("alice")
        put = up.session("alice").put(up.url + "/dav/porte-documents/gros.bin", data=BODY)
        assert put.status_code == 201, put.text
        return up

    try:
        yield get
    finally:
        stop()


@pytest.fixture(scope="module", params=["local", "s3", "s3-wsgidav"])
def running(request: pytest.FixtureRequest, cluster_of: ClusterOf) -> Running:
    """``s3-wsgidav``: no credential cache (``auth.cache_ttl: 0``), so every GET takes
    WsgiDAV's way instead of the short path."""
    blobs, _, way = request.param.partition("-")
    return cluster_of(blobs, {"auth": {"cache_ttl": 0}} if way == "wsgidav" else None)


def _headers(reply: requests.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in reply.headers.items() if k.lower() not in IGNORED}


def _both(up: Running, **headers: str) -> tuple[requests.Response, requests.Response]:
    """The same GET straight to the server process, then through nginx."""
    path = "/dav/porte-documents/gros.bin"
    auth = ("alice", PASSWORD)
    direct = requests.get(up.direct(1) + path, auth=auth, headers=headers, timeout=60)
    proxied = requests.get(up.url + path, auth=auth, headers=headers, timeout=60)
    return direct, proxied


def test_the_server_hands_a_large_file_over_only_when_nginx_asks(running: Running) -> None:
    path = running.direct(1) + "/dav/porte-documents/gros.bin"
    alice = running.session("alice")
    asked = alice.get(path, headers={"X-Sendfile-Type": "X-Accel-Redirect"})
    assert asked.status_code == 200 and asked.content == b""
    assert asked.headers["X-Accel-Redirect"].startswith("/_blobs/")
    plain = alice.get(path)
    assert "X-Accel-Redirect" not in plain.headers and plain.content == BODY


def test_a_whole_file_is_the_same_both_ways(running: Running) -> None:
    direct, proxied = _both(running)
    assert direct.status_code == proxied.status_code == 200
    assert direct.content == proxied.content == BODY
    assert _headers(direct) == _headers(proxied)
    assert _headers(proxied)["content-security-policy"] == "sandbox"
    assert _headers(proxied)["x-content-type-options"] == "nosniff"


def test_a_range_is_the_same_both_ways(running: Running) -> None:
    direct, proxied = _both(running, Range="bytes=1000-1999")
    assert direct.status_code == proxied.status_code == 206
    assert direct.content == proxied.content == BODY[1000:2000]
    assert _headers(direct) == _headers(proxied)
    assert proxied.headers["Content-Range"] == f"bytes 1000-1999/{len(BODY)}"


def test_a_fresh_copy_gets_the_same_304_both_ways(running: Running) -> None:
    etag = running.session("alice").head(
        running.direct(1) + "/dav/porte-documents/gros.bin").headers["ETag"]
    direct, proxied = _both(running, **{"If-None-Match": etag})
    assert direct.status_code == proxied.status_code == 304
    assert direct.content == proxied.content == b""
    assert _headers(direct) == _headers(proxied)


def test_a_stale_copy_gets_the_whole_file_both_ways(running: Running) -> None:
    direct, proxied = _both(running, **{"If-None-Match": '"autre"',
                                        "If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    assert direct.status_code == proxied.status_code == 200
    assert direct.content == proxied.content == BODY
    assert _headers(direct) == _headers(proxied)


def test_a_lost_blob_is_an_error_not_a_short_body(running: Running) -> None:
    """The stored size is checked before the hand-over: a blob cut short answers 500
    saying so through nginx; straight from the server, a file this big has its
    connection closed where the bytes end (providers/damage.py)."""
    alice = running.session("alice")
    url = running.url + "/dav/porte-documents/abime.bin"
    assert alice.put(url, data=BODY).status_code in (201, 204)  # 204: the s3 cluster again
    engine = create_engine(running.state.database_url.replace("postgresql://",
                                                              "postgresql+psycopg://"))
    with engine.connect() as c:
        blob_key = c.execute(select(Blob.key).join(Node, Node.blob_id == Blob.id)
                             .where(Node.name == "abime.bin")).scalar_one()
    engine.dispose()
    _damage(running, blob_key)
    reply = alice.get(running.url + "/dav/porte-documents/abime.bin")
    assert reply.status_code == 500
    assert "damaged" in reply.text
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        alice.get(running.direct(1) + "/dav/porte-documents/abime.bin")


def _damage(up: Running, key: str) -> None:
    """Cut the blob ``key`` to half its size, in the directory or the bucket."""
    if up.state.blobs == "local":
        path = up.state.path / "blobs" / "objects" / key[:2] / key
        with open(path, "r+b") as f:
            f.truncate(len(BODY) // 2)
        return
    import boto3
    from botocore.config import Config as BotoConfig

    from deploy import local_cluster as lc

    access, secret = lc.s3_keys(up.state)
    client = boto3.client("s3", endpoint_url=up.state.s3_endpoint, region_name="us-east-1",
                          aws_access_key_id=access, aws_secret_access_key=secret,
                          config=BotoConfig(s3={"addressing_style": "path"}))
    client.put_object(Bucket=lc.BUCKET, Key=f"blobs/{key[:2]}/{key}",
                      Body=BODY[: len(BODY) // 2])


class _Address:
    """What :class:`tests.web.WebClient` needs of a server: its base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


def test_a_file_manager_download_is_the_same_both_ways(running: Running) -> None:
    """The browser's download (``/documents/...``): the same headers
    (``Content-Disposition``, ``Cache-Control``, CSP, ``nosniff``, validators) and bytes
    from nginx as from the server; a fresh copy's 304 too."""
    from tests.web import WebClient

    answers = []
    for base in (running.direct(1), running.url):
        browser = WebClient(_Address(base))  # type: ignore[arg-type]
        assert browser.login("alice", PASSWORD).status_code == 302
        whole = browser.get("/documents/porte-documents/gros.bin")
        fresh = browser.get("/documents/porte-documents/gros.bin",
                            headers={"If-None-Match": whole.headers["ETag"]})
        answers.append((whole, fresh))
    (direct, direct_304), (proxied, proxied_304) = answers
    assert direct.status_code == proxied.status_code == 200
    assert direct.content == proxied.content == BODY
    ignored = {"content-length", "vary", "set-cookie"}  # werkzeug streams it chunked
    assert ({k: v for k, v in _headers(direct).items() if k not in ignored}
            == {k: v for k, v in _headers(proxied).items() if k not in ignored})
    assert proxied.headers["Content-Disposition"].startswith("attachment;")
    assert direct_304.status_code == proxied_304.status_code == 304
