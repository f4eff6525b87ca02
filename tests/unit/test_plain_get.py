"""The short way for a plain GET or HEAD of a file (:class:`providers.PlainGet`), in
process over real SQLite and blob files: which requests take it, and that its answer
is WsgiDAV's, header for header.

Which way answered is read from the request line each writes: the short way on the
``wsgidav`` logger, WsgiDAV's stack on ``wsgidav.wsgidav_app``.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from werkzeug.test import Client

import acl
from davserver.app import create_app
from davserver.config import Config

# One database is enough: its app runs in-process on SQLite whatever the run (Config() defaults)
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

DOCS = "/dav/porte-documents"
HTML = b"<html><script>alert(1)</script></html>"


def _auth(login: str = "alice", password: str = "password-alice") -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": "Basic " + token}


@pytest.fixture
def client(tmp_path: Path) -> Client:
    app = create_app(Config(data_dir=tmp_path / "data"))
    with app.db.transaction() as s:
        acl.create_user(s, "alice", "password-alice", "teacher")
    client = Client(app.wsgi)
    assert client.open(f"{DOCS}/cours/", method="MKCOL", headers=_auth()).status_code == 201
    assert client.put(f"{DOCS}/cours/page.html", data=HTML, headers=_auth()).status_code == 201
    big = bytes(range(256)) * 4096  # 1 MiB: several blocks of 256 KiB
    assert client.put(f"{DOCS}/cours/big.bin", data=big, headers=_auth()).status_code == 201
    return client


def _way(caplog: pytest.LogCaptureFixture) -> str:
    names = [r.name for r in caplog.records if r.name in ("wsgidav", "wsgidav.wsgidav_app")]
    caplog.clear()
    assert len(names) == 1, names
    return "short" if names[0] == "wsgidav" else "wsgidav"


def _comparable(headers: object) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k != "Date"]  # type: ignore[attr-defined]


def test_plain_get_is_answered_short_and_like_wsgidav(
        client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wsgidav")
    url = f"{DOCS}/cours/page.html"
    # An ``If`` header (always true here) sends the request through WsgiDAV: same 200.
    slow = client.get(url, headers={**_auth(), "If": "(Not <DAV:no-lock>)"})
    assert _way(caplog) == "wsgidav"
    fast = client.get(url, headers=_auth())
    assert _way(caplog) == "short"
    assert fast.status_code == slow.status_code == 200
    assert fast.data == slow.data == HTML
    assert _comparable(fast.headers) == _comparable(slow.headers)
    assert fast.headers["Content-Security-Policy"] == "sandbox"  # never runs on our origin
    assert fast.headers["X-Content-Type-Options"] == "nosniff"
    head = client.head(url, headers=_auth())
    assert _way(caplog) == "short"
    assert head.data == b"" and _comparable(head.headers) == _comparable(fast.headers)


@pytest.mark.parametrize(("headers", "status"), [
    ({"If-None-Match": "*"}, 304),                         # RFC 7232 §3.2
    ({"If-Modified-Since": "Sat, 01 Jan 2100 00:00:00 GMT"}, 304),
    ({"If-Match": '"other"'}, 412),
    ({"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, 412),
    ({"If-None-Match": '"other"'}, 200),
    ({"If-Match": "*", "If-Range": '"other"'}, 200),       # no Range: If-Range ignored
], ids=["if-none-match", "if-modified-since", "if-match", "if-unmodified-since",
        "if-none-match-other", "if-range-alone"])
def test_preconditions_are_answered_short_and_like_wsgidav(
        client: Client, caplog: pytest.LogCaptureFixture, headers: dict[str, str],
        status: int) -> None:
    """Conditional GETs stay on the short way, with WsgiDAV's answer (``If`` sends the
    same request its way), header for header."""
    caplog.set_level(logging.INFO, logger="wsgidav")
    url = f"{DOCS}/cours/page.html"
    fast = client.get(url, headers={**_auth(), **headers})
    assert _way(caplog) == "short"
    slow = client.get(url, headers={**_auth(), **headers, "If": "(Not <DAV:no-lock>)"})
    assert _way(caplog) == "wsgidav"
    assert fast.status_code == slow.status_code == status
    assert fast.data == slow.data == (HTML if status == 200 else b"")
    assert _comparable(fast.headers) == _comparable(slow.headers)


def test_a_file_of_several_blocks_streams_whole(client: Client,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wsgidav")
    response = client.get(f"{DOCS}/cours/big.bin", headers=_auth())
    assert _way(caplog) == "short"
    assert response.data == bytes(range(256)) * 4096
    assert response.headers["Content-Length"] == str(1024 * 1024)


@pytest.mark.parametrize(("path", "headers", "status"), [
    ("/cours/page.html", {"If": "(<urn:uuid:0>)"}, 412),  # RFC 4918 §10.4: lock tokens
    ("/cours/page.html", {"Range": "bytes=0-3"}, 206),     # RFC 9110 §14.2
    ("/cours/page.html", {"Range": "bytes=0-3", "If-Range": '"other"'}, 200),
    ("/cours/", {}, 403),                                  # a folder: no listing by GET
    ("/cours/absent.txt", {}, 404),
    ("/cours/page.html", {"Depth": "1"}, 400),
    ("/cours/page.html?logout", {}, 401),                  # WsgiDAV: forget the password
], ids=["if", "range", "if-range", "folder", "missing", "depth", "logout"])
def test_what_the_short_way_leaves_to_wsgidav(
        client: Client, caplog: pytest.LogCaptureFixture, path: str,
        headers: dict[str, str], status: int) -> None:
    caplog.set_level(logging.INFO, logger="wsgidav")
    response = client.get(DOCS + path, headers={**_auth(), **headers})
    assert response.status_code == status, response.data
    assert _way(caplog) == "wsgidav"


def test_a_damaged_blob_is_never_sent_as_whole(client: Client, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """A blob file cut short on disk (damaged storage) gets a 500 naming the problem,
    not a Content-Length the body never reaches (the client would wait for the rest);
    a big one ends with an error after what the file still has."""
    blobs = sorted((tmp_path / "data").rglob("objects/*/*"), key=lambda p: p.stat().st_size)
    small, big = blobs[0], blobs[-1]
    with small.open("r+b") as f:
        f.truncate(5)
    caplog.set_level(logging.INFO, logger="wsgidav")
    response = client.get(f"{DOCS}/cours/page.html", headers=_auth())
    assert response.status_code == 500
    assert b"damaged" in response.data
    assert any("shorter than recorded" in r.getMessage() for r in caplog.records)
    with big.open("r+b") as f:
        f.truncate(300 * 1024)
    with pytest.raises(OSError, match="shorter than recorded"):
        client.get(f"{DOCS}/cours/big.bin", headers=_auth()).get_data()


BIG = bytes(range(256)) * 4096  # the content of big.bin


@pytest.mark.parametrize("first, last", [(0, 9), (262_140, 262_150), (100, 600_000),
                                         (1_048_570, 1_048_575)])
def test_ranges_of_a_file_are_its_bytes(client: Client, first: int, last: int) -> None:
    """``Range`` (WsgiDAV's way) seeks then reads through the size check of
    ``providers.damage``: the bytes asked for, across block boundaries, to the end."""
    response = client.get(f"{DOCS}/cours/big.bin",
                          headers={**_auth(), "Range": f"bytes={first}-{last}"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{len(BIG)}"
    assert response.data == BIG[first:last + 1]


def _blob(tmp_path: Path, smallest: bool) -> Path:
    blobs = sorted((tmp_path / "data").rglob("objects/*/*"), key=lambda p: p.stat().st_size)
    return blobs[0] if smallest else blobs[-1]


@pytest.mark.parametrize("headers", [{"Range": "bytes=0-9"}, {"If": "(Not <DAV:no-lock>)"}],
                         ids=["range", "if"])
def test_a_cut_blob_on_wsgidavs_way_is_a_500_that_says_so(
        client: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        headers: dict[str, str]) -> None:
    """WsgiDAV's way (a range, an ``If`` header) of a small blob file
    cut short: 500 naming the damage before any byte, not a short body."""
    blob = _blob(tmp_path, smallest=True)
    with blob.open("r+b") as f:
        f.truncate(5)
    caplog.set_level(logging.INFO, logger="wsgidav")
    response = client.get(f"{DOCS}/cours/page.html", headers={**_auth(), **headers})
    assert _way(caplog) == "wsgidav"
    assert response.status_code == 500
    assert (f"The content of this file is damaged on the server (5 of {len(HTML)} bytes). "
            "Tell the administrator.") in response.get_data(as_text=True)


@pytest.mark.parametrize(("headers", "way"), [
    ({}, "short"), ({"Range": "bytes=0-9"}, "wsgidav"), ({"If-None-Match": '"x"'}, "short"),
    ({"If": "(Not <DAV:no-lock>)"}, "wsgidav"),
], ids=["plain", "range", "if-none-match", "if"])
def test_a_missing_blob_is_a_500_that_says_so(
        client: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        headers: dict[str, str], way: str) -> None:
    """A blob file deleted from disk: on either way a 500 whose body says the content is
    missing on the server, and one ERROR line naming the file and its blob key."""
    blob = _blob(tmp_path, smallest=True)
    blob.unlink()
    caplog.set_level(logging.INFO, logger="wsgidav")
    response = client.get(f"{DOCS}/cours/page.html", headers={**_auth(), **headers})
    damage = [r for r in caplog.records if r.name == "providers.damage"]
    assert _way(caplog) == way
    assert response.status_code == 500
    assert ("The content of this file is missing on the server (storage damaged). Tell the "
            "administrator.") in response.get_data(as_text=True)
    assert len(damage) == 1 and damage[0].levelno == logging.ERROR
    assert "/porte-documents/cours/page.html" in damage[0].getMessage()
    assert f"blob file {blob.name} missing ({len(HTML)} bytes recorded)" in \
        damage[0].getMessage()


def test_credentials_not_verified_recently_take_wsgidav(
        client: Client, caplog: pytest.LogCaptureFixture) -> None:
    """A wrong password is never answered by the short way (it knows only credentials
    verified within ``auth.cache_ttl``): WsgiDAV's 401, with its challenge."""
    caplog.set_level(logging.INFO, logger="wsgidav")
    wrong = client.get(f"{DOCS}/cours/page.html", headers=_auth(password="wrong"))
    assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers
    assert _way(caplog) == "wsgidav"
    nobody = client.get(f"{DOCS}/cours/page.html")
    assert nobody.status_code == 401
    assert _way(caplog) == "wsgidav"
