"""The server starts, authenticates, stores a file and serves it back."""

from __future__ import annotations

from tests.conftest import Server


def test_put_then_get_roundtrip(server: Server, folder: str) -> None:
    s = server.session("alice")
    assert s.put(f"{folder}/hello.txt", data=b"bonjour").status_code == 201
    response = s.get(f"{folder}/hello.txt")
    assert response.status_code == 200
    assert response.content == b"bonjour"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_wrong_password_is_401(server: Server) -> None:
    response = server.session("alice").get(server.documents_url + "/",
                                           auth=("alice", "wrong-password"))
    assert response.status_code == 401


def test_web_root_explains_mounting(server: Server) -> None:
    response = server.session("alice").get(server.base_url + "/")
    assert response.status_code == 200
    assert "/dav/" in response.text
