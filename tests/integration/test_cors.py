"""CORS for browser WebDAV apps (``dav.cors_origins``), with a real browser.

A page served from an allowed origin (a small static server on another loopback
port) drives ``/dav/`` with ``fetch`` in headless Chromium, as KeeWeb or Obsidian's
remotely-save do: the browser sends its own preflights, and the script must read
the answers' ``DAV``, ``ETag``, ``Lock-Token`` and ``Content-Range``. The same script
from an origin that is not listed is blocked by the browser. The headers themselves
are checked with plain requests too (preflight without credentials, 401s, the short
GET way, no CORS header for another origin).
"""

from __future__ import annotations

import base64
import os
import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import Server, running_server

# One database is enough: CORS headers and a browser's fetch; the drive's SQL is tested on both
# (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clients, pytest.mark.one_database]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]
OBSIDIAN = "app://obsidian.md"
NEEDED_HEADERS = {"authorization", "depth", "destination", "overwrite", "if", "lock-token",
                  "timeout", "content-type", "if-match", "if-none-match", "range"}
EXPOSED = {"dav", "etag", "lock-token", "content-range", "content-length"}
LOCKINFO = ('<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
            "<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
            "<D:owner><D:href>web app</D:href></D:owner></D:lockinfo>")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """No access log on the test's output."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two static sites on loopback ports (two origins): ``app`` is allowed, ``other``
    is not. Each serves an empty ``index.html``."""
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text("<!doctype html><title>app</title>")
    sites, servers = {}, []
    for name in ("app", "other"):
        httpd = ThreadingHTTPServer(("127.0.0.1", _free_port()),
                                    partial(_Quiet, directory=str(root)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        sites[name] = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield sites
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           pages: dict[str, str]) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("cors"),
                        extra_env={"DAVSERVER_DAV__CORS_ORIGINS": f"{pages['app']}, {OBSIDIAN}"},
                        users={"alice": "teacher"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def _names(value: str) -> set[str]:
    return {v.strip().lower() for v in value.split(",") if v.strip()}


# --- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PROPFIND", "PUT", "LOCK", "MOVE", "DELETE"])
def test_preflight_from_an_allowed_origin_needs_no_credentials(server: Server,
                                                               method: str) -> None:
    reply = requests.options(server.documents_url + "/notes.md", headers={
        "Origin": OBSIDIAN, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, depth, x-custom-thing"})
    assert reply.status_code == 200
    assert reply.headers["Access-Control-Allow-Origin"] == OBSIDIAN
    assert method.lower() in _names(reply.headers["Access-Control-Allow-Methods"])
    allowed = _names(reply.headers["Access-Control-Allow-Headers"])
    assert allowed >= NEEDED_HEADERS
    assert "x-custom-thing" in allowed  # what the preflight names is allowed too
    assert "origin" in _names(reply.headers["Vary"])
    assert "Access-Control-Allow-Credentials" not in reply.headers
    assert "WWW-Authenticate" not in reply.headers


def test_answers_to_an_allowed_origin_carry_cors_headers(server: Server) -> None:
    session = server.session("alice")
    url = server.documents_url + "/cors.txt"
    assert session.put(url, data=b"hello").status_code == 201
    session.get(url)  # credentials now remembered: the next GET takes the short way
    for reply in (requests.request("PROPFIND", server.documents_url + "/",
                                   headers={"Origin": OBSIDIAN}),  # 401
                  session.request("PROPFIND", url, headers={"Origin": OBSIDIAN,
                                                            "Depth": "0"}),
                  session.get(url, headers={"Origin": OBSIDIAN}),
                  session.get(url + "-absent", headers={"Origin": OBSIDIAN}),
                  session.get(f"{server.base_url}/dav/%ff",
                              headers={"Origin": OBSIDIAN})):
        assert reply.status_code in (401, 207, 200, 404, 400), reply.status_code
        assert reply.headers.get("Access-Control-Allow-Origin") == OBSIDIAN, reply.status_code
        assert _names(reply.headers["Access-Control-Expose-Headers"]) >= EXPOSED
        assert "origin" in _names(reply.headers["Vary"])
        assert "Access-Control-Allow-Credentials" not in reply.headers


def test_another_origin_gets_no_cors_header(server: Server) -> None:
    other = "https://evil.example"
    preflight = requests.options(server.dav_url + "/", headers={
        "Origin": other, "Access-Control-Request-Method": "PROPFIND"})
    answer = server.session("alice").request("PROPFIND", server.dav_url + "/",
                                             headers={"Origin": other, "Depth": "0"})
    assert answer.status_code == 207
    for reply in (preflight, answer):
        assert not [h for h in reply.headers if h.lower().startswith("access-control-")]
        assert "origin" in _names(reply.headers["Vary"])  # the answer depends on it


# --- a real browser -----------------------------------------------------------------------

SCRIPT = """async ([base, auth, lockinfo]) => {
  const h = (more) => Object.assign({Authorization: auth}, more || {});
  const file = base + '/porte-documents/from-browser.txt';
  const out = {};
  let r = await fetch(base + '/porte-documents/', {method: 'PROPFIND',
                                                  headers: h({Depth: '1'})});
  out.propfind = [r.status];
  r = await fetch(base + '/porte-documents/', {method: 'OPTIONS', headers: h()});
  out.options = [r.status, r.headers.get('DAV')];
  r = await fetch(file, {method: 'PUT', headers: h({'Content-Type': 'text/plain'}),
                         body: 'written by a web app'});
  out.put = [r.status, r.headers.get('ETag')];
  r = await fetch(file, {method: 'PUT', headers: h({'If-Match': '"stale"'}), body: 'x'});
  out.stale = [r.status];
  r = await fetch(file, {headers: h({Range: 'bytes=0-6'})});
  out.range = [r.status, r.headers.get('Content-Range'), await r.text()];
  r = await fetch(file, {method: 'LOCK', headers: h({'Content-Type': 'application/xml',
                         Depth: '0', Timeout: 'Second-60'}), body: lockinfo});
  const token = r.headers.get('Lock-Token');
  out.lock = [r.status, token];
  r = await fetch(file, {method: 'UNLOCK', headers: h({'Lock-Token': token})});
  out.unlock = [r.status];
  r = await fetch(file, {method: 'MOVE', headers: h({Destination: base +
                         '/porte-documents/moved.txt', Overwrite: 'T'})});
  out.move = [r.status];
  r = await fetch(base + '/porte-documents/', {method: 'PROPFIND'});
  out.anonymous = [r.status, r.headers.get('WWW-Authenticate')];
  return out;
}"""


def test_a_web_app_on_an_allowed_origin_uses_the_drive(server: Server, pages: dict[str, str],
                                                       browser: Browser) -> None:
    auth = "Basic " + base64.b64encode(f"alice:{server.users['alice']}".encode()).decode()
    page = browser.new_page()
    try:
        page.goto(pages["app"] + "/index.html")
        out = page.evaluate(SCRIPT, [server.dav_url, auth, LOCKINFO])
    finally:
        page.close()
    assert out["propfind"] == [207]
    assert out["options"][0] == 200 and out["options"][1].replace(" ", "") == "1,2"
    assert out["put"][0] == 201 and out["put"][1].startswith('"')
    assert out["stale"] == [412]
    assert out["range"] == [206, "bytes 0-6/20", "written"]
    assert out["lock"][0] == 200 and out["lock"][1].startswith("<opaquelocktoken:")
    assert out["unlock"] == [204]
    assert out["move"] == [201]
    assert out["anonymous"] == [401, 'Basic realm="ENT", charset="UTF-8"']


def test_a_page_of_another_origin_is_blocked_by_the_browser(
        server: Server, pages: dict[str, str], browser: Browser) -> None:
    page = browser.new_page()
    try:
        page.goto(pages["other"] + "/index.html")
        outcome = page.evaluate("""async (url) => {
            try { const r = await fetch(url, {method: 'PROPFIND', headers: {Depth: '0'}});
                  return 'answered ' + r.status; }
            catch (e) { return 'blocked: ' + e.name; } }""", server.dav_url + "/")
    finally:
        page.close()
    assert outcome == "blocked: TypeError"
