"""Real-client cases of ``shared/cases/client-interop.md``, driven with real clients.

Each test replays one case's ``sh`` block against a live ``davserver serve`` in a
fresh folder: curl for the curl lines, a raw socket for Finder's chunked framing
(BUG-03), rclone for sync (BUG-05). The ``# ->`` comments of the document are the
assertions. BUG-14 and BUG-15 (quota) live with the quota work.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.conftest import Server
from tests.curl import Curl

pytestmark = pytest.mark.clients

FINDER_UA = "WebDAVFS/3.0.0 (03008000) Darwin/22.1.0 (x86_64)"
DAV = "{DAV:}"


@pytest.fixture
def curl(server: Server, tmp_path: Path) -> Curl:
    return Curl(server, tmp_path)


def hrefs(xml: bytes) -> list[str]:
    return [h.text or "" for h in ET.fromstring(xml).iter(f"{DAV}href")]


def prop_text(xml: bytes, name: str) -> str | None:
    """Text of the first ``DAV:<name>`` property in a multistatus."""
    element = ET.fromstring(xml).find(f".//{DAV}{name}")
    return None if element is None else (element.text or "")


def split_url(url: str) -> tuple[str, str]:
    """(scheme://host:port, path) as the prelude's HOST and DPATH."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", parts.path


# --- BUG-01: Windows Explorer creates a file -------------------------------------------


def test_bug01_explorer_zero_byte_put_lock_put_unlock(curl: Curl, folder: str,
                                                      tmp_path: Path) -> None:
    f = f"{folder}/New%20Text%20Document.txt"
    (tmp_path / "w.txt").write_bytes(b"hello from explorer")
    options = curl("-X", "OPTIONS", f"{folder}/")
    assert "2" in [v.strip() for v in options.headers.get("dav", "").split(",")], options.headers
    allow = {v.strip().upper() for v in options.headers.get("allow", "").split(",")}
    assert {"LOCK", "UNLOCK"} <= allow, options.headers
    assert curl.code("-X", "PROPFIND", "-H", "Depth: 0", f) == 404
    assert curl.code("-X", "PUT", "-H", "Content-Length: 0",
                     "-A", "Microsoft-WebDAV-MiniRedir/10.0.19045", f) == 201
    status, token = curl.lock(f)
    assert status == 200
    assert token.startswith("opaquelocktoken:"), token
    assert curl.code("-T", str(tmp_path / "w.txt"), f) == 423
    assert curl.code("-T", str(tmp_path / "w.txt"), "-H", f"If: (<{token}>)", f) == 204
    assert curl.code("-X", "UNLOCK", "-H", f"Lock-Token: <{token}>", f) == 204
    get = curl(f)
    assert (get.status, get.body) == (200, b"hello from explorer")
    assert curl.code("-X", "DELETE", f) == 204


WIN32_PROPS = ('<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" '
               'xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>'
               "<Z:Win32CreationTime>Mon, 15 Jan 2024 10:00:00 GMT</Z:Win32CreationTime>"
               "<Z:Win32LastAccessTime>Mon, 15 Jan 2024 10:00:01 GMT</Z:Win32LastAccessTime>"
               "<Z:Win32LastModifiedTime>Mon, 15 Jan 2024 10:00:02 GMT</Z:Win32LastModifiedTime>"
               "<Z:Win32FileAttributes>00000020</Z:Win32FileAttributes>"
               "</D:prop></D:set></D:propertyupdate>")


def test_bug01_explorer_full_access_log_sequence(curl: Curl, folder: str,
                                                 tmp_path: Path) -> None:
    """The whole MiniRedir log of alexbakker/webdav-provider#14:
    PROPFIND 404, PUT 201, LOCK 200, PROPPATCH 207, HEAD, PUT 204, PROPPATCH 207, UNLOCK 204."""
    f = f"{folder}/Nouveau%20document.txt"
    ua = ("-A", "Microsoft-WebDAV-MiniRedir/10.0.19045")
    (tmp_path / "w.txt").write_bytes(b"compte rendu")
    assert curl.code(*ua, "-X", "PROPFIND", "-H", "Depth: 0", f) == 404
    assert curl.code(*ua, "-X", "PUT", "-H", "Content-Length: 0", f) == 201
    status, token = curl.lock(f)
    assert status == 200
    if_hdr = ("-H", f"If: (<{token}>)")
    patch = ("-X", "PROPPATCH", "-H", "Content-Type: text/xml; charset=\"utf-8\"",
             "--data", WIN32_PROPS, f)
    first = curl(*ua, *if_hdr, *patch)
    assert first.status == 207
    assert re.findall(r"HTTP/1\.1 (\d{3})", first.text) == ["200"] * len(
        re.findall(r"HTTP/1\.1 \d{3}", first.text)), first.text
    assert curl.code(*ua, "-I", f) == 200
    assert curl.code(*ua, *if_hdr, "-T", str(tmp_path / "w.txt"), f) == 204
    assert curl(*ua, *if_hdr, *patch).status == 207
    assert curl.code(*ua, "-X", "UNLOCK", "-H", f"Lock-Token: <{token}>", f) == 204
    assert curl(f).body == b"compte rendu"


# --- BUG-02: lock tokens honoured whichever thread answers -------------------------------


def test_bug02_lock_put_unlock_thirty_times(curl: Curl, folder: str, tmp_path: Path) -> None:
    f = f"{folder}/bug02.txt"
    data = tmp_path / "b02.txt"
    data.write_bytes(b"x")
    assert curl.code("-T", str(data), f) == 201
    lines = Counter()
    for _ in range(30):
        status, token = curl.lock(f)
        a = curl.code("-T", str(data), "-H", f"If: (<{token}>)", f)
        b = curl.code("-X", "UNLOCK", "-H", f"Lock-Token: <{token}>", f)
        lines[f"{status} {a} {b}"] += 1
    assert lines == {"200 204 204": 30}


def test_bug02_parallel_lock_put_unlock(curl: Curl, folder: str) -> None:
    rid = uuid.uuid4().hex[:8]

    def one(i: int) -> str:
        f = f"{folder}/b02-{rid}-{i}.txt"
        curl("-X", "PUT", "-H", "Content-Length: 0", f)
        _, token = curl.lock(f)
        a = curl.code("-X", "PUT", "--data-binary", "ok", "-H", f"If: (<{token}>)", f)
        b = curl.code("-X", "UNLOCK", "-H", f"Lock-Token: <{token}>", f)
        return f"{a} {b}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        lines = Counter(pool.map(one, range(1, 17)))
    assert lines == {"204 204": 16}


# --- BUG-03: chunked PUT ---------------------------------------------------------------


def test_bug03_chunked_put_with_finder_hint(curl: Curl, folder: str, tmp_path: Path) -> None:
    data = os.urandom(3_000_000)
    (tmp_path / "r3m.bin").write_bytes(data)
    assert curl.code("-T", str(tmp_path / "r3m.bin"), "-H", "Transfer-Encoding: chunked",
                     "-H", "X-Expected-Entity-Length: 3000000", "-A", FINDER_UA,
                     f"{folder}/bug03.bin") == 201
    assert curl(f"{folder}/bug03.bin").body == data
    # Overwriting the same way answers 204 with the new bytes.
    (tmp_path / "small.bin").write_bytes(b"second version")
    assert curl.code("-T", str(tmp_path / "small.bin"), "-H", "Transfer-Encoding: chunked",
                     "-A", FINDER_UA, f"{folder}/bug03.bin") == 204
    assert curl(f"{folder}/bug03.bin").body == b"second version"


def finder_put(server: Server, path: str, data: bytes, csize: int = 32771) -> str:
    """Finder's framing: Expect: 100-continue, X-Expected-Entity-Length, odd chunk sizes.
    Returns the final status line."""
    user = "alice"
    auth = base64.b64encode(f"{user}:{server.users[user]}".encode()).decode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall((f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                   f"Authorization: Basic {auth}\r\nUser-Agent: {FINDER_UA}\r\n"
                   f"Transfer-Encoding: chunked\r\nX-Expected-Entity-Length: {len(data)}\r\n"
                   "Expect: 100-continue\r\n\r\n").encode())
        s.settimeout(1.5)  # wait briefly for "100 Continue"
        try:
            first = s.recv(4096)
        except TimeoutError:
            first = b""
        s.settimeout(15)
        if first.startswith(b"HTTP/1.1 100"):
            first = first.split(b"\r\n\r\n", 1)[1]
        if first:
            return first.split(b"\r\n")[0].decode()  # a final answer before the body
        body = b"".join(b"%x\r\n" % len(data[i:i + csize]) + data[i:i + csize] + b"\r\n"
                        for i in range(0, len(data), csize)) + b"0\r\n\r\n"
        s.sendall(body)
        return s.recv(4096).split(b"\r\n")[0].decode()


def test_bug03_finder_raw_framing(server: Server, curl: Curl, folder: str) -> None:
    path = urlsplit(folder).path
    data = os.urandom(100_000)
    assert finder_put(server, path + "/bug03-finder.bin", data) == "HTTP/1.1 201 Created"
    assert finder_put(server, path + "/bug03-empty.bin", b"") == "HTTP/1.1 201 Created"
    for name, size in (("bug03-finder.bin", 100_000), ("bug03-empty.bin", 0)):
        reply = curl("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/{name}")
        assert reply.status == 207
        assert prop_text(reply.body, "getcontentlength") == str(size)
    assert curl(f"{folder}/bug03-finder.bin").body == data


def test_bug03_malformed_chunked_body_is_400_without_residue(server: Server, curl: Curl,
                                                             folder: str) -> None:
    """A malformed chunked body: 400 (not 500), and no stub file."""
    path = urlsplit(folder).path + "/bug03-bad.bin"
    auth = base64.b64encode(f"alice:{server.users['alice']}".encode()).decode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as s:
        s.sendall((f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                   f"Authorization: Basic {auth}\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\nzz-not-hex\r\nworld\r\n0\r\n\r\n").encode())
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    status_line = answer.split(b"\r\n")[0].decode()
    assert status_line.startswith("HTTP/1.1 400"), answer[:500]
    # The rest of the bad body must not be parsed as a second request.
    assert answer.count(b"HTTP/1.1 ") == 1, answer
    assert curl.code("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/bug03-bad.bin") == 404


# --- BUG-05: MKCOL/PUT statuses for sync clients, rclone -------------------------------


def test_bug05_mkcol_and_put_statuses(curl: Curl, folder: str) -> None:
    assert curl.code("-X", "MKCOL", f"{folder}/bug05/") == 201
    assert curl.code("-X", "MKCOL", f"{folder}/bug05/") == 405
    assert curl.code("-X", "MKCOL", f"{folder}/bug05/x/y/") == 409
    assert curl.code("-X", "PUT", "--data-binary", "z", f"{folder}/bug05/x/y/f.txt") == 409
    assert curl.code("-X", "PUT", "--data-binary", "z", f"{folder}/bug05/file") == 201
    assert curl.code("-X", "MKCOL", f"{folder}/bug05/file/") == 405
    assert curl.code("-X", "MKCOL", "-H", "Content-Type: application/xml", "--data", "<x/>",
                     f"{folder}/bug05/withbody/") == 415
    assert curl.code("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/bug05/withbody/") == 404


def rclone(server: Server, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``rclone ARGS...`` with an empty config file; ``REMOTE`` in an argument is replaced
    by the on-the-fly remote for alice's documents root."""
    conf = tmp_path / "rclone.conf"
    conf.write_text("")
    env = {**os.environ, "RCLONE_CONFIG": str(conf)}
    obscured = subprocess.run(["rclone", "obscure", server.users["alice"]], env=env,
                              capture_output=True, text=True, check=True).stdout.strip()

    def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
        remote = f":webdav,url='{url}',user=alice,pass={obscured},vendor=other:"
        return subprocess.run(
            ["rclone", "--retries", "1", "--low-level-retries", "2", "--contimeout", "10s",
             "--timeout", "60s", *(a.replace("REMOTE", remote) for a in args)],
            env=env, capture_output=True, text=True, timeout=180, check=False)

    return run


@pytest.mark.one_database  # a real client (rclone)
def test_bug05_rclone_copy_nested_tree(server: Server, curl: Curl, folder: str,
                                       tmp_path: Path) -> None:
    assert curl.code("-X", "MKCOL", f"{folder}/bug05/") == 201
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    (src / "a" / "b" / "c.txt").write_text("hi\n")
    (src / "top.txt").write_text("yo\n")
    run = rclone(server, tmp_path)
    copied = run("copy", str(src), "REMOTEbug05/r", url=folder)
    assert copied.returncode == 0, copied.stderr
    checked = run("check", "--size-only", str(src), "REMOTEbug05/r", url=folder)
    assert checked.returncode == 0, checked.stderr
    assert "0 differences found" in checked.stderr
    assert curl(f"{folder}/bug05/r/a/b/c.txt").body == b"hi\n"
    # A second copy re-issues MKCOL on existing folders: still fine (rclone#3513).
    again = run("copy", str(src), "REMOTEbug05/r", url=folder)
    assert again.returncode == 0, again.stderr


# --- BUG-06: Overwrite ------------------------------------------------------------------


def test_bug06_overwrite_statuses(curl: Curl, folder: str) -> None:
    host, dpath = split_url(folder)
    assert curl.code("-X", "PUT", "--data-binary", "AAA", f"{folder}/bug06-a.txt") == 201
    assert curl.code("-X", "PUT", "--data-binary", "BBB", f"{folder}/bug06-b.txt") == 201
    dest_b = ("-H", f"Destination: {host}{dpath}/bug06-b.txt")
    assert curl.code("-X", "MOVE", *dest_b, "-H", "Overwrite: F", f"{folder}/bug06-a.txt") == 412
    assert curl(f"{folder}/bug06-b.txt").body == b"BBB"
    assert curl.code("-X", "COPY", *dest_b, "-H", "Overwrite: F", f"{folder}/bug06-a.txt") == 412
    assert curl(f"{folder}/bug06-b.txt").body == b"BBB"
    assert curl.code("-X", "MOVE", *dest_b, "-H", "Overwrite: T", f"{folder}/bug06-a.txt") == 204
    assert curl(f"{folder}/bug06-b.txt").body == b"AAA"
    assert curl.code("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/bug06-a.txt") == 404
    assert curl.code("-X", "COPY", "-H", f"Destination: {host}{dpath}/bug06-c.txt",
                     f"{folder}/bug06-b.txt") == 201
    assert curl.code("-X", "MKCOL", f"{folder}/bug06-dir/") == 201
    assert curl.code("-X", "PUT", "--data-binary", "1", f"{folder}/bug06-dir/m.txt") == 201
    assert curl.code("-X", "MOVE", "-H", f"Destination: {host}{dpath}/bug06-c.txt",
                     "-H", "Overwrite: T", f"{folder}/bug06-dir/") == 204
    assert curl.code("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/bug06-c.txt/m.txt") == 207
    assert curl(f"{folder}/bug06-c.txt/m.txt").body == b"1"


# --- BUG-08: complete listing or explicit refusal --------------------------------------


def test_bug08_depth_infinity_complete_or_403(curl: Curl, folder: str) -> None:
    for sub in ("bug08/", "bug08/a/", "bug08/a/b/"):
        assert curl.code("-X", "MKCOL", f"{folder}/{sub}") == 201
    assert curl.code("-X", "PUT", "--data-binary", "x", f"{folder}/bug08/a/b/deep.txt") == 201
    for depth in ("infinity", None):
        extra = ("-H", f"Depth: {depth}") if depth else ()
        reply = curl("-X", "PROPFIND", *extra, f"{folder}/bug08/")
        deep = b"deep.txt" in reply.body
        finite = b"propfind-finite-depth" in reply.body
        assert (reply.status, deep, finite) in ((207, True, False), (403, False, True)), (
            depth, reply.status, reply.text[:500])
    assert curl.code("-X", "PROPFIND", "-H", "Depth: 2", f"{folder}/bug08/") == 400
    listing = curl("-X", "PROPFIND", "-H", "Depth: 1", f"{folder}/bug08/")
    assert listing.status == 207
    assert b"deep.txt" not in listing.body
    assert any(h.rstrip("/").endswith("/bug08/a") for h in hrefs(listing.body))


def test_bug08_default_refuses_infinity_with_precondition(curl: Curl, folder: str) -> None:
    """The shipped default (dav.propfind_infinity: false): 403 + DAV:propfind-finite-depth."""
    reply = curl("-X", "PROPFIND", "-H", "Depth: infinity", f"{folder}/")
    assert reply.status == 403
    root = ET.fromstring(reply.body)
    assert root.tag == f"{DAV}error"
    assert root.find(f"{DAV}propfind-finite-depth") is not None


# --- BUG-09: names and Destination decoding --------------------------------------------

BUG09_NAMES = ["a%20b%20(1).txt", "c%23d.txt", "e%2Bf.txt", "g+h.txt", "i%25j.txt",
               "k%3Bl.txt", "m%25%32%30n.txt"]
URI_PATH = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")


def test_bug09_special_names_round_trip(curl: Curl, folder: str) -> None:
    assert curl.code("-X", "MKCOL", f"{folder}/bug09/") == 201
    for name in BUG09_NAMES:
        assert curl.code("-X", "PUT", "--data-binary", name, f"{folder}/bug09/{name}") == 201, name
    listing = curl("-X", "PROPFIND", "-H", "Depth: 1", f"{folder}/bug09/")
    assert listing.status == 207
    members = [h for h in hrefs(listing.body) if not h.endswith("/")]
    for href in members:
        assert URI_PATH.fullmatch(urlsplit(href).path), f"href is not a valid URI: {href!r}"
    assert sorted(unquote(h.rsplit("/", 1)[-1]) for h in members) == [
        "a b (1).txt", "c#d.txt", "e+f.txt", "g+h.txt", "i%j.txt", "k;l.txt", "m%20n.txt"]
    assert curl(f"{folder}/bug09/m%25%32%30n.txt").body == b"m%25%32%30n.txt"
    assert curl(f"{folder}/bug09/g+h.txt").body == b"g+h.txt"
    assert curl(f"{folder}/bug09/e%2Bf.txt").body == b"e%2Bf.txt"


def test_bug09_destination_decoded_once_after_parsing(curl: Curl, folder: str) -> None:
    host, dpath = split_url(folder)
    assert curl.code("-X", "MKCOL", f"{folder}/bug09/") == 201
    assert curl.code("-X", "PUT", "--data-binary", "c", f"{folder}/bug09/c%23d.txt") == 201
    assert curl.code("-X", "MOVE", "-H", f"Destination: {host}{dpath}/bug09/q%3F1.txt",
                     f"{folder}/bug09/c%23d.txt") == 201
    assert curl.code("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/bug09/q%3F1.txt") == 207
    assert curl.code("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/bug09/q") == 404
    assert curl.code("-X", "MOVE", "-H", f"Destination: {host}{dpath}/bug09/r%2523.txt",
                     f"{folder}/bug09/q%3F1.txt") == 201
    reply = curl("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/bug09/r%2523.txt")
    assert reply.status == 207
    assert unquote(hrefs(reply.body)[0].rsplit("/", 1)[-1]) == "r%23.txt"
    assert curl(f"{folder}/bug09/r%2523.txt").body == b"c"


def test_bug09_too_long_name_is_client_error_without_residue(curl: Curl, folder: str) -> None:
    assert curl.code("-X", "MKCOL", f"{folder}/bug09/") == 201
    long_name = "a" * 300 + ".txt"
    status = curl.code("-X", "PUT", "--data-binary", "x", f"{folder}/bug09/{long_name}")
    assert 400 <= status < 500, status
    after = curl.code("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/bug09/{long_name}")
    assert 400 <= after < 500, after
    listing = curl("-X", "PROPFIND", "-H", "Depth: 1", f"{folder}/bug09/")
    assert len(hrefs(listing.body)) == 1, listing.text  # the folder itself only


# --- BUG-11: davfs2 save sequence ------------------------------------------------------


def test_bug11_davfs2_lock_unmapped_then_if_match(curl: Curl, folder: str,
                                                  tmp_path: Path) -> None:
    f = f"{folder}/bug11.txt"
    status, token = curl.lock(f)
    assert status == 201
    assert token.startswith("opaquelocktoken:"), token
    found = curl("-X", "PROPFIND", "-H", "Depth: 0", f)
    assert found.status == 207
    assert prop_text(found.body, "getcontentlength") == "0"
    e0 = curl.etag(f)
    assert re.fullmatch(r'"[^"]+"', e0), e0
    assert prop_text(found.body, "getetag") == e0
    (tmp_path / "a5").write_bytes(b"AAAAA")
    (tmp_path / "b5").write_bytes(b"BBBBB")
    if_hdr = ("-H", f"If: (<{token}>)")
    assert curl.code("-T", str(tmp_path / "a5"), *if_hdr, "-H", f"If-Match: {e0}", f) == 204
    e1 = curl.etag(f)
    assert curl.code("-T", str(tmp_path / "b5"), *if_hdr, "-H", f"If-Match: {e1}", f) == 204
    e2 = curl.etag(f)
    assert e1 != e2, "same-size rewrite in the same second must change the ETag"
    assert prop_text(curl("-X", "PROPFIND", "-H", "Depth: 0", f).body, "getetag") == e2
    assert curl.code("-T", str(tmp_path / "a5"), *if_hdr, "-H", f"If-Match: {e1}", f) == 412
    assert curl(f).body == b"BBBBB"
    assert curl.code("-X", "UNLOCK", "-H", f"Lock-Token: <{token}>", f) == 204
