"""The server starts, authenticates, stores a file and serves it back."""

from __future__ import annotations

import pytest

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


def test_a_classroom_connecting_at_once_is_served(server: Server) -> None:
    """120 connections opened in the same instant (thirty machines, four each, at 8:00,
    each machine its own loopback address as on a school's network) are all queued
    and answered: none is reset (server.listen_backlog), none is over the cap of
    connections per address (server.max_connections_per_address)."""
    import socket
    import threading

    barrier = threading.Barrier(120)
    answers: list[bytes] = []

    def visit(machine: int) -> None:
        barrier.wait()
        with socket.create_connection(("127.0.0.1", server.port), timeout=60,
                                      source_address=(f"127.0.0.{10 + machine}", 0)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answers.append(sock.recv(12))

    threads = [threading.Thread(target=visit, args=(n // 4,)) for n in range(120)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert answers.count(b"HTTP/1.1 200") == 120


def test_credentials_in_latin1_or_malformed_get_401_or_pass_never_500(server: Server) -> None:
    """RFC 7617 leaves the charset open; older Windows and Java clients send ISO-8859-1.
    WsgiDAV alone answered 500 and echoed the password in the error page."""
    import base64

    import requests

    server.add_user("zoe", profile="student", password="clé-secrète-42")
    url = server.documents_url + "/"

    def with_header(raw: bytes) -> requests.Response:
        value = "Basic " + base64.b64encode(raw).decode()
        return requests.request("PROPFIND", url, headers={"Authorization": value,
                                                          "Depth": "0"})

    assert with_header("zoe:clé-secrète-42".encode()).status_code == 207
    assert with_header("zoe:clé-secrète-42".encode("latin-1")).status_code == 207
    refused = with_header("zoe:mauvais-clé".encode("latin-1"))
    assert refused.status_code == 401 and "mauvais" not in refused.text
    for header in ("Basic !!!not-base64!!!", "Basic " + base64.b64encode(b"no-colon").decode()):
        answer = requests.get(url, headers={"Authorization": header})
        assert answer.status_code == 401, header


@pytest.mark.one_database  # headers and error pages
def test_answers_name_no_software_version(server: Server) -> None:
    """Issue 18 §7: the ``Server`` header and the error pages say "davserver" at most,
    never WsgiDAV's or cheroot's name, version or the server's clock, whether the
    refusal comes from authentication, WsgiDAV, our providers or cheroot's parser."""
    import re
    import socket

    import requests

    s = server.session("alice")
    url = server.documents_url
    answers = [requests.get(url + "/"),                                  # 401
               s.get(url + "/absent.txt"),                               # 404
               s.request("MKCOL", url + "/no/such/parent"),              # 409
               s.request("PROPFIND", url + "/", headers={"Depth": "2"}),  # 400
               s.get(url + "/")]                                         # 403, a folder
    assert [a.status_code for a in answers] == [401, 404, 409, 400, 403]
    for answer in answers:
        assert answer.headers["Server"] == "davserver", answer.headers
        assert not re.search(r"wsgidav|cheroot|\d+\.\d+\.\d+|\d\d:\d\d",
                             answer.text, re.IGNORECASE), answer.text
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/9.9\r\nHost: x\r\n\r\n")  # cheroot refuses it
        raw = sock.recv(4096).decode("latin-1")
    assert raw.startswith("HTTP/1.1 505"), raw
    assert not re.search(r"wsgidav|cheroot|\d+\.\d+\.\d+", raw, re.IGNORECASE), raw
