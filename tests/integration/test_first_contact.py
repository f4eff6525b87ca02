"""A client's first contact with a live server, before and while it signs in.

* Windows' WebDAV redirector sends ``OPTIONS`` without credentials and gives the
  drive up on a 401: 200 with ``DAV: 1,2``, ``MS-Author-Via`` and ``Allow``, the same
  for every path under ``/dav/`` (existing or not), while every other method still
  asks for credentials.
* ``OPTIONS /``, ``OPTIONS *`` and ``PROPFIND /`` (the bare server address given to
  "Map network drive" and other clients) find ``/dav/``; ``GET /`` stays the web page.
* The 401 challenge names its charset (RFC 7617 §2.1); UTF-8 and ISO-8859-1
  credentials both sign in.
* A HEAD answer never carries a body, errors included, so the next answer on the
  connection is read right.
* CORS is off by default: no ``Access-Control-*`` header anywhere.
"""

from __future__ import annotations

import base64
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import Server
from tests.curl import Curl

# One database is enough: HTTP answers before and at sign-in (OPTIONS, the root, charsets)
# (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clients, pytest.mark.one_database]

DAV = "{DAV:}"
ACCENTED = "mot-de-passé-42"
MINIREDIR = "Microsoft-WebDAV-MiniRedir/10.0.19045"
ALL_METHODS = {"OPTIONS", "GET", "HEAD", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "MKCOL",
               "COPY", "MOVE", "LOCK", "UNLOCK"}


@pytest.fixture(scope="module")
def accented(server: Server) -> str:
    """A user whose password has an ``é``."""
    server.add_user("chloe", profile="student", password=ACCENTED)
    return "chloe"


@pytest.fixture
def curl(server: Server, tmp_path: Path) -> Curl:
    return Curl(server, tmp_path)


def anonymous(method: str, url: str, headers: dict[str, str] | None = None,
              data: str | None = None) -> requests.Response:
    """A request without credentials, as the Windows redirector sends its first ones."""
    return requests.request(method, url, headers={"User-Agent": MINIREDIR, **(headers or {})},
                            data=data)


def comparable(reply: requests.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    return (reply.status_code, sorted((k.lower(), v) for k, v in reply.headers.items()
                                      if k.lower() != "date"), reply.content)


# --- Windows: OPTIONS without credentials ---------------------------------------------------


def test_anonymous_options_answers_the_same_for_every_path(server: Server, curl: Curl,
                                                           folder: str) -> None:
    assert curl.code("-X", "PUT", "--data-binary", "x", f"{folder}/real.txt") == 201
    paths = ["/dav", "/dav/", "/dav/porte-documents/", urlsplit(folder).path + "/real.txt",
             "/dav/porte-documents/absent/deeper/x.txt", "/dav/rubriques/nope/",
             "/dav/corbeille/"]
    answers = [anonymous("OPTIONS", server.base_url + path) for path in paths]
    first = answers[0]
    assert first.status_code == 200
    assert first.headers["DAV"].replace(" ", "") == "1,2"
    assert first.headers["MS-Author-Via"] == "DAV"
    assert {m.strip() for m in first.headers["Allow"].split(",")} == ALL_METHODS
    assert "WWW-Authenticate" not in first.headers
    for path, reply in zip(paths, answers, strict=True):
        assert comparable(reply) == comparable(first), path


@pytest.mark.parametrize("method", ["PROPFIND", "GET", "HEAD", "PUT", "DELETE", "MKCOL",
                                    "PROPPATCH", "COPY", "MOVE", "LOCK", "UNLOCK"])
def test_every_other_method_still_needs_credentials(server: Server, method: str) -> None:
    reply = anonymous(method, server.documents_url + "/x.txt",
                      headers={"Destination": server.documents_url + "/y.txt"})
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="ENT", charset="UTF-8"'


def test_options_with_credentials_describes_the_resource(curl: Curl, folder: str) -> None:
    """Signed in, OPTIONS is WsgiDAV's, per resource (a folder takes no PUT)."""
    reply = curl("-X", "OPTIONS", f"{folder}/")
    assert reply.status == 200
    allow = {m.strip() for m in reply.headers["allow"].split(",")}
    assert "PROPFIND" in allow and "PUT" not in allow


def test_windows_first_contact_sequence(server: Server, curl: Curl, folder: str) -> None:
    """The redirector's order: anonymous OPTIONS, anonymous PROPFIND (401), then the
    same PROPFIND with the credentials the user typed."""
    assert anonymous("OPTIONS", server.dav_url + "/").status_code == 200
    assert anonymous("PROPFIND", server.dav_url + "/", headers={"Depth": "0"}
                     ).status_code == 401
    reply = curl("-X", "PROPFIND", "-H", "Depth: 1", "-A", MINIREDIR, server.dav_url + "/")
    assert reply.status == 207
    assert any(h.endswith("/porte-documents/")
               for h in (e.text or "" for e in ET.fromstring(reply.body).iter(DAV + "href")))


# --- the server's root ----------------------------------------------------------------------


def test_options_on_the_root_is_a_dav_answer(server: Server) -> None:
    reply = anonymous("OPTIONS", server.base_url + "/")
    assert reply.status_code == 200
    assert reply.headers["DAV"].replace(" ", "") == "1,2"
    assert reply.headers["MS-Author-Via"] == "DAV"
    assert "PROPFIND" in reply.headers["Allow"]


def test_options_asterisk_is_the_same_dav_answer(server: Server) -> None:
    """``OPTIONS *`` (RFC 9110 §9.3.7: the server as a whole), sent by older Windows."""
    answer = _exchange(server, b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.1 200"), head
    assert "\r\nDAV: 1,2\r\n" in head and "\r\nMS-Author-Via: DAV\r\n" in head


@pytest.mark.parametrize("depth", ["0", "1", "infinity", None])
def test_propfind_on_the_root_lists_the_drive(server: Server, depth: str | None) -> None:
    headers = {"Depth": depth} if depth else {}
    reply = anonymous("PROPFIND", server.base_url + "/", headers=headers)
    assert reply.status_code == 207, reply.text
    tree = ET.fromstring(reply.content)
    hrefs = [e.text for e in tree.iter(DAV + "href")]
    assert hrefs == (["/"] if depth == "0" else ["/", "/dav/"])
    for response in tree.iter(DAV + "response"):
        assert response.find(f".//{DAV}resourcetype/{DAV}collection") is not None


def test_propfind_on_the_root_answers_named_properties(server: Server) -> None:
    body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:x">'
            "<D:prop><D:resourcetype/><D:getlastmodified/><Z:color/></D:prop></D:propfind>")
    reply = anonymous("PROPFIND", server.base_url + "/", data=body, headers={"Depth": "1"})
    assert reply.status_code == 207
    tree = ET.fromstring(reply.content)
    statuses = {(ps.findtext(DAV + "status"), child.tag)
                for ps in tree.iter(DAV + "propstat") for child in ps.find(DAV + "prop")}
    assert ("HTTP/1.1 200 OK", DAV + "resourcetype") in statuses
    assert ("HTTP/1.1 404 Not Found", DAV + "getlastmodified") in statuses
    assert ("HTTP/1.1 404 Not Found", "{urn:x}color") in statuses


def test_propfind_on_the_root_with_bad_xml_is_400(server: Server) -> None:
    reply = anonymous("PROPFIND", server.base_url + "/", data="<D:propfind")
    assert reply.status_code == 400
    assert "Malformed XML" in reply.text


def test_the_root_page_stays_for_browsers(server: Server) -> None:
    reply = requests.get(server.base_url + "/", allow_redirects=False)
    assert reply.status_code in (200, 302, 303)
    assert "text/html" in reply.headers.get("Content-Type", "") or reply.is_redirect
    assert "DAV" not in reply.headers


# --- credentials --------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_accented_password_in_either_charset_signs_in(server: Server, accented: str,
                                                      tmp_path: Path, encoding: str) -> None:
    token = base64.b64encode(f"{accented}:{ACCENTED}".encode(encoding)).decode()
    reply = Curl(server, tmp_path, user="alice")(
        "-X", "PROPFIND", "-H", "Depth: 0", "-H", f"Authorization: Basic {token}",
        server.documents_url + "/")
    assert reply.status == 207


def test_wrong_accented_password_gets_the_challenge(server: Server, accented: str) -> None:
    reply = requests.request("PROPFIND", server.documents_url + "/",
                             auth=(accented, "mot-de-passe-42"))
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="ENT", charset="UTF-8"'


# --- HEAD answers have no body --------------------------------------------------------------


def _exchange(server: Server, *requests_: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(b"".join(requests_))
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer


def test_head_errors_carry_no_body_and_keep_the_connection(server: Server,
                                                           folder: str) -> None:
    """HEAD of a folder (403) and HEAD without credentials (401), then an OPTIONS on the
    same connection: exactly three status lines, the last one the OPTIONS' 200."""
    auth = base64.b64encode(f"alice:{server.users['alice']}".encode()).decode()
    path = urlsplit(folder).path + "/"
    answer = _exchange(
        server,
        f"HEAD {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\r\n".encode(),
        f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        b"OPTIONS /dav/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    lines = [line for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]
    assert [line[9:12] for line in lines] == [b"403", b"401", b"200"], answer[:2000]
    assert b"<html" not in answer.lower()


# --- CORS off by default --------------------------------------------------------------------


def test_no_cors_header_without_configured_origins(server: Server, curl: Curl) -> None:
    origin = "https://app.keeweb.info"
    preflight = requests.options(server.dav_url + "/", headers={
        "Origin": origin, "Access-Control-Request-Method": "PROPFIND"})
    signed = curl("-X", "PROPFIND", "-H", "Depth: 0", "-H", f"Origin: {origin}",
                  server.documents_url + "/")
    assert signed.status == 207
    for headers in (preflight.headers, signed.headers):
        assert not [h for h in headers if h.lower().startswith("access-control-")]
        assert "Origin" not in headers.get("Vary", headers.get("vary", ""))
