"""Behind a TLS-terminating reverse proxy: a real nginx in front of a live server.

The fixture makes a throw-away self-signed certificate for ``ent.test`` (``openssl``),
and starts nginx on a free loopback port with the configuration that
``docs/deployment.md`` recommends, terminating TLS and passing requests on over plain
HTTP. curl talks to ``https://ent.test:PORT`` (resolved to 127.0.0.1, the
certificate verified), so every ``Destination`` names an https address the server
never sees. Two servers sit behind two ports of the same nginx:

* ``public``: ``server.public_urls`` names the proxy's address; ``X-Forwarded-*`` are
  not trusted;
* ``forwarded``: no public URL, ``server.trust_forwarded_proto: true``: the scheme and
  host come from nginx's ``X-Forwarded-Proto`` and ``X-Forwarded-Host``.

Through both: MOVE and COPY with an https Destination, a LOCK/PUT/UNLOCK round trip
(the ``If`` header's tag naming the https URL), PROPFIND hrefs, and a Destination on
another host still 502.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Server, running_server
from tests.curl import Curl, Reply

# One database is enough: a real proxy's round trip: addresses and headers only
# (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clients, pytest.mark.one_database]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HOST = "ent.test"
DAV = "{DAV:}"

# docs/deployment.md's server block, with test paths and ports.
NGINX_SERVER = """
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {host};
        ssl_certificate {cert};
        ssl_certificate_key {key};

        client_header_timeout 10s;
        client_body_timeout 60s;
        send_timeout 300s;
        limit_conn per_client 100;
        limit_conn_status 503;
        client_max_body_size 0;

        proxy_http_version 1.1;
        proxy_read_timeout 300s;
        proxy_send_timeout 300s;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header Connection "";

        location / {{
            proxy_pass http://127.0.0.1:{upstream};
        }}

        location /dav/ {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_request_buffering off;
        }}
    }}
"""
NGINX_CONF = """
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    limit_conn_zone $binary_remote_addr zone=per_client:10m;
{servers}
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx stopped: {log.read_text() if log.exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nginx did not listen on {port}")


@dataclass
class Proxied:
    """A server behind nginx: ``origin`` is what clients use (https://ent.test:PORT)."""

    server: Server
    origin: str
    curl: Curl
    tls_args: tuple[str, ...]

    def __call__(self, *args: str) -> Reply:
        return self.curl(*self.tls_args, *args)

    @property
    def documents(self) -> str:
        return self.origin + "/dav/porte-documents"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key for ``ent.test``, valid one day."""
    if not Path(NGINX).is_file():
        pytest.skip("nginx is not installed (bash .ci/install-test-deps)")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory,
            tls: tuple[Path, Path]) -> Iterator[dict[str, Proxied]]:
    """Both servers (see the module docstring) behind one nginx."""
    ports = {"public": _free_port(), "forwarded": _free_port()}
    envs = {"public": {"DAVSERVER_SERVER__PUBLIC_URLS": f"https://{HOST}:{ports['public']}"},
            "forwarded": {"DAVSERVER_SERVER__TRUST_FORWARDED_PROTO": "true"}}
    tmp = tmp_path_factory.mktemp("proxy")
    with running_server(tmp / "public", envs["public"], {"alice": "teacher"}) as public, \
            running_server(tmp / "forwarded", envs["forwarded"],
                           {"alice": "teacher"}) as forwarded:
        servers = {"public": public, "forwarded": forwarded}
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(
            user="user root;" if os.geteuid() == 0 else "", tmp=tmp,
            servers="".join(NGINX_SERVER.format(port=ports[n], host=HOST, cert=tls[0],
                                                key=tls[1], upstream=servers[n].port)
                            for n in ports)))
        proc = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(conf), "-e",
                                 str(tmp / "error.log"), "-g", "daemon off;"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for port in ports.values():
                _wait_for_port(port, proc, tmp / "error.log")
            yield {name: Proxied(srv, f"https://{HOST}:{ports[name]}", Curl(srv, tmp),
                                 ("--cacert", str(tls[0]), "--resolve",
                                  f"{HOST}:{ports[name]}:127.0.0.1"))
                   for name, srv in servers.items()}
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(params=["public", "forwarded"])
def via(request: pytest.FixtureRequest, proxied: dict[str, Proxied]) -> Proxied:
    return proxied[request.param]


@pytest.fixture
def folder(via: Proxied) -> str:
    """A new folder (https URL, no trailing slash) in alice's porte-documents."""
    url = f"{via.documents}/p-{uuid.uuid4().hex[:10]}"
    assert via("-X", "MKCOL", url + "/").status == 201
    return url


def hrefs(reply: Reply) -> list[str]:
    return [e.text or "" for e in ET.fromstring(reply.body).iter(DAV + "href")]


def test_move_and_copy_with_an_https_destination(via: Proxied, folder: str) -> None:
    assert via("-X", "PUT", "--data-binary", "through TLS", f"{folder}/a.txt").status == 201
    assert via("-X", "MOVE", "-H", f"Destination: {folder}/b%20c.txt",
               f"{folder}/a.txt").status == 201
    assert via("-X", "COPY", "-H", f"Destination: {folder}/d.txt",
               f"{folder}/b%20c.txt").status == 201
    assert via("-X", "MKCOL", f"{folder}/sub/").status == 201
    assert via("-X", "COPY", "-H", f"Destination: {folder}/sub2/", f"{folder}/sub/").status == 201
    assert via("-X", "MOVE", "-H", f"Destination: {folder}/sub2/e.txt",
               f"{folder}/d.txt").status == 201
    assert via(f"{folder}/sub2/e.txt").body == b"through TLS"
    assert via(f"{folder}/b%20c.txt").body == b"through TLS"
    assert via("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/a.txt").status == 404


def test_an_absolute_path_destination_works_too(via: Proxied, folder: str) -> None:
    path = folder[len(via.origin):]
    assert via("-X", "PUT", "--data-binary", "x", f"{folder}/a.txt").status == 201
    assert via("-X", "MOVE", "-H", f"Destination: {path}/b.txt", f"{folder}/a.txt").status == 201


@pytest.mark.parametrize("host", ["https://elsewhere.example", f"https://{HOST}:1",
                                  f"http://{HOST}", "http://127.0.0.1:1"])
def test_a_destination_on_another_host_stays_502(via: Proxied, folder: str,
                                                 host: str) -> None:
    assert via("-X", "PUT", "--data-binary", "x", f"{folder}/a.txt").status == 201
    path = folder[len(via.origin):]
    for method in ("MOVE", "COPY"):
        assert via("-X", method, "-H", f"Destination: {host}{path}/b.txt",
                   f"{folder}/a.txt").status == 502
    assert via("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/b.txt").status == 404


def test_lock_put_unlock_round_trip(via: Proxied, folder: str) -> None:
    url = f"{folder}/locked.txt"
    status, token = _lock(via, url)
    assert status == 201 and token.startswith("opaquelocktoken:")
    assert via("-X", "PUT", "--data-binary", "no token", url).status == 423
    assert via("-X", "PUT", "--data-binary", "with token", "-H", f"If: (<{token}>)",
               url).status == 204
    # A tagged list names the resource by the URL the client knows (RFC 4918 §10.4.2).
    assert via("-X", "PUT", "--data-binary", "tagged", "-H", f"If: <{url}> (<{token}>)",
               url).status == 204
    assert via("-X", "UNLOCK", "-H", f"Lock-Token: <{token}>", url).status == 204
    assert via(url).body == b"tagged"


def _lock(via: Proxied, url: str) -> tuple[int, str]:
    reply = via("-X", "LOCK", "-H", "Depth: 0", "-H", "Timeout: Second-600",
                "-H", "Content-Type: application/xml", "--data",
                '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
                "<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/>"
                "</D:locktype></D:lockinfo>", url)
    return reply.status, reply.headers.get("lock-token", "").strip("<>")


def test_propfind_hrefs_are_right_for_the_client(via: Proxied, folder: str) -> None:
    assert via("-X", "PUT", "--data-binary", "x", f"{folder}/é t.txt".replace(" ", "%20")
               ).status == 201
    reply = via("-X", "PROPFIND", "-H", "Depth: 1", folder + "/")
    assert reply.status == 207
    path = folder[len(via.origin):]
    assert sorted(hrefs(reply)) == sorted([path + "/", path + "/%C3%A9%20t.txt"])


def test_windows_probes_through_the_proxy(via: Proxied) -> None:
    """OPTIONS without credentials, on the root and on the drive."""
    for url in (via.origin + "/", via.origin + "/dav/"):
        out = subprocess.run(["curl", "-s", "-i", "-X", "OPTIONS", *via.tls_args, url],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        assert out.startswith("HTTP/1.1 200"), out
        assert "\nDAV: 1,2\n" in out, out
