"""The full DAV stack in-process (WSGI, no socket): a PROPFIND Depth 1 listing costs
the same number of database queries whatever the member count (DESIGN.md,
"Storage model"), for the properties rclone asks and for allprop with
``lockdiscovery`` (one lock query per listing, not per member)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from werkzeug.test import Client

import acl
from davserver.app import create_app
from davserver.config import Config
from tests.unit.conftest import count_queries

RCLONE_PROPS = (b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/>'
                b"<d:getlastmodified/><d:getcontentlength/><d:resourcetype/></d:prop>"
                b"</d:propfind>")


@pytest.fixture
def client(tmp_path: Path) -> Client:
    config = Config(data_dir=tmp_path / "data")
    app = create_app(config)
    with app.db.transaction() as s:
        acl.create_user(s, "alice", "password-alice", "teacher")
    client = Client(app.wsgi)
    client.app_handle = app  # type: ignore[attr-defined]
    return client


def _auth() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(b"alice:password-alice").decode()}


def _fill(client: Client, folder: str, members: int) -> None:
    assert client.open(f"/dav/porte-documents/{folder}/", method="MKCOL",
                       headers=_auth()).status_code == 201
    for i in range(members):
        response = client.put(f"/dav/porte-documents/{folder}/f{i}.txt", data=b"x" * i,
                              headers=_auth())
        assert response.status_code == 201
    # one member is locked, so lockdiscovery has something to find
    lock = (b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
            b"</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>")
    assert client.open(f"/dav/porte-documents/{folder}/f0.txt", method="LOCK", data=lock,
                       headers=_auth()).status_code == 200


def _listing_queries(client: Client, folder: str, body: bytes | None) -> int:
    db = client.app_handle.db  # type: ignore[attr-defined]
    with count_queries(db) as counter:
        response = client.open(f"/dav/porte-documents/{folder}/", method="PROPFIND",
                               data=body, headers={**_auth(), "Depth": "1"})
    assert response.status_code == 207
    return counter.count


@pytest.mark.parametrize("body", [RCLONE_PROPS, None], ids=["rclone-props", "allprop"])
def test_depth1_listing_costs_constant_queries(client: Client, body: bytes | None) -> None:
    _fill(client, "small", 3)
    _fill(client, "large", 60)
    small = _listing_queries(client, "small", body)
    large = _listing_queries(client, "large", body)
    assert small == large, (small, large)
    assert small <= 12
