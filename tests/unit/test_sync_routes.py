"""The sync apps' addresses mapped onto ``/dav`` (davserver/sync_routes.py): paths,
``Destination`` and ``If`` tags rewritten, what stays encoded stays encoded, another
user's files refused; and with ``sync.enabled: false`` none of it is served."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

import acl
from davserver.app import create_app
from davserver.config import Config, SyncConfig
from davserver.sync_routes import RouteError, route
from providers import PUBLIC_PATHS_KEY, SYNC_VIEW_KEY, URL_LOGIN_KEY

# Pure rewriting of environs, and an in-process app of Config() defaults (SQLite
# whatever the run): nothing here can differ on PostgreSQL.
pytestmark = pytest.mark.one_database


def environ(path: str, **headers: str) -> dict[str, Any]:
    """A WSGI environ as cheroot makes it (path bytes of UTF-8 as Latin-1 text)."""
    return {"PATH_INFO": path.encode("utf-8").decode("latin-1"), "REQUEST_METHOD": "MOVE",
            **{"HTTP_" + k.upper(): v for k, v in headers.items()}}


def test_files_uploads_and_the_legacy_address() -> None:
    env = environ("/remote.php/dav/files/élise.m/porte-documents/résumé.txt")
    route(env)
    assert env["PATH_INFO"] == "/dav/porte-documents/résumé.txt".encode().decode("latin-1")
    assert env[URL_LOGIN_KEY] == "élise.m" and env[SYNC_VIEW_KEY] == "files"
    assert env[PUBLIC_PATHS_KEY] == [("", "/remote.php/dav/files/élise.m")]
    env = environ("/remote.php/dav/files/bob")
    route(env)
    assert env["PATH_INFO"] == "/dav"
    env = environ("/remote.php/webdav/classeur/")
    route(env)
    assert env["PATH_INFO"] == "/dav/classeur/" and URL_LOGIN_KEY not in env
    env = environ("/remote.php/dav/uploads/bob/123/0001")
    route(env)
    assert env["PATH_INFO"] == "/dav/.uploads/123/0001" and env[SYNC_VIEW_KEY] == "uploads"
    assert env[PUBLIC_PATHS_KEY][0] == ("/.uploads", "/remote.php/dav/uploads/bob")


@pytest.mark.parametrize("path", ["/remote.php/dav/files/", "/remote.php/dav/",
                                  "/remote.php/dav/trashbin/bob/", "/remote.php/caldav/"])
def test_what_is_none_of_them_is_404(path: str) -> None:
    with pytest.raises(RouteError) as refused:
        route(environ(path))
    assert refused.value.status.startswith("404")


def test_destination_and_if_tags_are_rewritten_and_stay_encoded() -> None:
    env = environ("/remote.php/dav/uploads/bob/1/.file",
                  destination="/remote.php/dav/files/bob/porte-documents/a%20%23b%3F.txt",
                  **{"if": '</remote.php/dav/files/bob/porte-documents/a%20%23b%3F.txt> '
                           '(["abc"])'})
    route(env)
    assert env["HTTP_DESTINATION"] == "/dav/porte-documents/a%20%23b%3F.txt"
    assert env["HTTP_IF"] == '</dav/porte-documents/a%20%23b%3F.txt> (["abc"])'
    env = environ("/remote.php/webdav/x", destination="/remote.php/webdav/y%2Fz")
    route(env)
    assert env["HTTP_DESTINATION"] == "/dav/y%2Fz"  # WsgiDAV refuses the encoded slash
    env = environ("/remote.php/dav/files/bob/x", destination="/dav/porte-documents/y")
    route(env)
    assert env["HTTP_DESTINATION"] == "/dav/porte-documents/y"


def test_a_destination_in_another_users_files_is_403() -> None:
    with pytest.raises(RouteError) as refused:
        route(environ("/remote.php/dav/files/bob/x",
                      destination="/remote.php/dav/files/alice/x"))
    assert refused.value.status.startswith("403")


def test_nothing_is_served_when_sync_is_off(tmp_path: Path) -> None:
    app = create_app(Config(data_dir=tmp_path / "data", sync=SyncConfig(enabled=False)))
    with app.db.transaction() as s:
        acl.create_user(s, "bob", "password-bob", "teacher")
    client = Client(app.wsgi)
    auth = {"Authorization": "Basic " + base64.b64encode(b"bob:password-bob").decode()}
    for path in ("/status.php", "/ocs/v1.php/cloud/capabilities"):
        assert client.get(path, headers=auth).status_code == 404
    answer = client.open("/remote.php/dav/files/bob/", method="PROPFIND",
                         headers={**auth, "Depth": "0"})
    assert answer.status_code in (404, 405)  # the web layer's, not a drive
    assert client.open("/dav/", method="PROPFIND", headers={**auth, "Depth": "0"}
                       ).status_code == 207
    app.close()
