"""Bad input, driven with curl and raw sockets against a live ``davserver serve``.

Each bad request gets the RFC's status and a short message; nothing changes on disk
or in the database (the folder's whole tree, listed with PROPFIND and read with GET,
is the same afterwards); and the server keeps serving (that listing succeeds).
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.conftest import Server
from tests.curl import Curl, Reply, raw_http

pytestmark = pytest.mark.clients

DAV = "{DAV:}"
MIB = 1024 * 1024
ORIGINAL = b"original content, must survive"
DEAD_PROP = ('<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" '
             'xmlns:Z="urn:ent:test"><D:set><D:prop><Z:color>blue</Z:color></D:prop></D:set>'
             "</D:propertyupdate>")
LOCKINFO = ('<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
            "<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
            "<D:owner><D:href>tester</D:href></D:owner></D:lockinfo>")


@pytest.fixture
def curl(server: Server, tmp_path: Path) -> Curl:
    return Curl(server, tmp_path)


def assert_refused(reply: Reply, *statuses: int) -> None:
    """The status is one of ``statuses``, with a short message and no traceback."""
    assert reply.status in statuses, (reply.status, reply.text[:800])
    assert len(reply.body) < 2048, f"error body of {len(reply.body)} bytes"
    assert b"Traceback" not in reply.body


# --- the tree before and after ----------------------------------------------------------


def snapshot(curl: Curl, url: str) -> dict[str, str]:
    """Every member under ``url`` (a collection, with trailing slash), recursively:
    href → its PROPFIND allprop response (properties, lock discovery, dead properties)
    and, for files, the SHA-1 of GET. Fails if the server does not answer."""
    reply = curl("-X", "PROPFIND", "-H", "Depth: 1", url)
    assert reply.status == 207, (url, reply.status, reply.text[:500])
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    found: dict[str, str] = {}
    for response in ET.fromstring(reply.body).iter(f"{DAV}response"):
        href = response.findtext(f"{DAV}href") or ""
        found[href] = ET.tostring(response, encoding="unicode")
        if href == urlsplit(url).path:
            continue
        if href.endswith("/"):
            found.update(snapshot(curl, origin + href))
        else:
            got = curl(origin + href)
            assert got.status == 200, (href, got.status)
            found[href] += " sha1=" + hashlib.sha1(got.body).hexdigest()
    return found


@dataclass
class Tree:
    """A folder holding ``target.txt`` (with a dead property) and ``sub/inner.txt``, and
    its snapshot when the test began."""

    curl: Curl
    url: str
    baseline: dict[str, str]

    def unchanged(self) -> None:
        assert snapshot(self.curl, self.url + "/") == self.baseline, "the tree changed"


def _make_tree(curl: Curl) -> str:
    url = f"{curl.server.documents_url}/bad-{uuid.uuid4().hex[:10]}"
    assert curl.code("-X", "MKCOL", url + "/") == 201
    assert curl.code("-X", "PUT", "--data-binary", ORIGINAL.decode(), f"{url}/target.txt") == 201
    assert curl.code("-X", "PROPPATCH", "--data", DEAD_PROP, f"{url}/target.txt") == 207
    assert curl.code("-X", "MKCOL", f"{url}/sub/") == 201
    assert curl.code("-X", "PUT", "--data-binary", "inner", f"{url}/sub/inner.txt") == 201
    return url


@pytest.fixture(scope="module")
def _trees() -> dict[str, tuple[str, dict[str, str]]]:
    return {}


@pytest.fixture
def tree(curl: Curl, _trees: dict[str, tuple[str, dict[str, str]]]) -> Tree:
    """The module's tree, built again only when a test changed it (a server bug), so
    that one failure does not cascade; tests end with ``tree.unchanged()``."""
    cached = _trees.get("tree")
    if cached is not None and snapshot(curl, cached[0] + "/") == cached[1]:
        return Tree(curl, *cached)
    url = _make_tree(curl)
    _trees["tree"] = (url, snapshot(curl, url + "/"))
    return Tree(curl, *_trees["tree"])


def absent(curl: Curl, url: str) -> bool:
    return curl.code("-X", "PROPFIND", "-H", "Depth: 0", url) == 404


# --- malformed XML ----------------------------------------------------------------------

XML_TARGETS = {"PROPFIND": "target.txt", "PROPPATCH": "target.txt", "LOCK": "new-locked.txt"}
MALFORMED = ['<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>',
             "this is not XML at all",
             '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"></D:propfind>']


@pytest.mark.one_database  # HTTP and XML parsing
@pytest.mark.parametrize("body", MALFORMED, ids=["truncated", "not-xml", "mismatched"])
@pytest.mark.parametrize("method", list(XML_TARGETS))
def test_malformed_xml_is_400(curl: Curl, tree: Tree, method: str, body: str) -> None:
    url = f"{tree.url}/{XML_TARGETS[method]}"
    reply = curl("-X", method, "-H", "Depth: 0", "-H", "Content-Type: application/xml",
                 "--data-binary", body, url)
    assert_refused(reply, 400)
    tree.unchanged()


def test_malformed_lock_on_existing_file_takes_no_lock(curl: Curl, tree: Tree) -> None:
    assert_refused(curl("-X", "LOCK", "-H", "Content-Type: application/xml",
                        "--data-binary", MALFORMED[0], f"{tree.url}/target.txt"), 400)
    tree.unchanged()


# --- entities: billion laughs, external entity -------------------------------------------

_ROOTS = {
    "PROPFIND": ('<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/><Z:x xmlns:Z="urn:z">'
                 "{ref}</Z:x></D:prop></D:propfind>"),
    "PROPPATCH": ('<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:ent:test"><D:set><D:prop>'
                  "<Z:expanded>{ref}</Z:expanded></D:prop></D:set></D:propertyupdate>"),
    "LOCK": ('<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
             "<D:locktype><D:write/></D:locktype><D:owner>{ref}</D:owner></D:lockinfo>"),
}
_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                     for i in range(1, 10))
           + "]>")
_EXTERNAL = '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
ENTITY_ATTACKS = {"billion-laughs": (_LAUGHS, "&lol9;"), "external": (_EXTERNAL, "&xxe;")}


def entity_body(method: str, attack: str, encoding: str) -> bytes:
    dtd, ref = ENTITY_ATTACKS[attack]
    text = (f'<?xml version="1.0" encoding="{encoding}"?>' + dtd
            + _ROOTS[method].format(ref=ref))
    return text.encode("utf-16") if encoding == "UTF-16" else text.encode("utf-8")


@pytest.mark.one_database  # HTTP and XML parsing
@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16"])
@pytest.mark.parametrize("attack", list(ENTITY_ATTACKS))
@pytest.mark.parametrize("method", list(XML_TARGETS))
def test_entity_declarations_are_refused_unexpanded(curl: Curl, tree: Tree, tmp_path: Path,
                                                    method: str, attack: str,
                                                    encoding: str) -> None:
    """Any DTD is refused (400), in whatever encoding the XML declares; nothing is
    expanded, stored or echoed."""
    body = tmp_path / "attack.xml"
    body.write_bytes(entity_body(method, attack, encoding))
    url = f"{tree.url}/{XML_TARGETS[method]}"
    reply = curl("-X", method, "-H", "Depth: 0",
                 "-H", f"Content-Type: application/xml; charset={encoding.lower()}",
                 "--data-binary", f"@{body}", url)
    assert b"lollol" not in reply.body
    assert b"root:" not in reply.body
    tree.unchanged()  # nothing stored, no lock-null file, before the status itself
    assert_refused(reply, 400)


# --- bodies over 1 MiB --------------------------------------------------------------------


def big_xml(method: str, size: int) -> bytes:
    """A well-formed ``method`` body of ``size`` bytes (padded with a comment)."""
    empty = {"PROPFIND": '<D:propfind xmlns:D="DAV:"><D:allprop/>{pad}</D:propfind>',
             "PROPPATCH": ('<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:ent:test"><D:set>'
                           "<D:prop><Z:big>x</Z:big></D:prop></D:set>{pad}</D:propertyupdate>"),
             "LOCK": LOCKINFO.split("?>", 1)[1].replace("</D:lockinfo>", "{pad}</D:lockinfo>")}
    head = '<?xml version="1.0" encoding="utf-8"?>' + empty[method]
    fill = size - len(head.format(pad="<!---->"))
    return head.format(pad="<!--" + "x" * fill + "-->").encode()


@pytest.mark.one_database  # HTTP and XML parsing
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("method", list(XML_TARGETS))
def test_xml_body_over_1mib_is_413(curl: Curl, tree: Tree, tmp_path: Path, method: str,
                                   framing: str) -> None:
    body = tmp_path / "big.xml"
    body.write_bytes(big_xml(method, MIB + 1))
    assert body.stat().st_size == MIB + 1
    chunked = ("-H", "Transfer-Encoding: chunked") if framing == "chunked" else ()
    url = f"{tree.url}/{XML_TARGETS[method]}"
    # A second request follows on the same curl handle: it must get a real answer,
    # never the rest of the refused body parsed as a request.
    reply = subprocess.run(
        ["curl", "-s", "-u", f"alice:{curl.server.users['alice']}", "-X", method,
         "-H", "Depth: 0", "-H", "Content-Type: application/xml", *chunked,
         "--data-binary", f"@{body}", "-o", str(tmp_path / "first"), "-w", "%{http_code} ",
         url, "--next", "-s", "-u", f"alice:{curl.server.users['alice']}", "-X", "PROPFIND",
         "-H", "Depth: 0", "-o", "/dev/null", "-w", "%{http_code}", f"{tree.url}/"],
        capture_output=True, text=True, timeout=60, check=False)
    first = (tmp_path / "first").read_bytes()
    assert reply.stdout.split() == ["413", "207"], (reply.stdout, first[:500])
    assert len(first) < 2048 and b"Traceback" not in first
    tree.unchanged()


@pytest.mark.one_database  # HTTP and XML parsing
def test_xml_body_at_the_limit_is_served(curl: Curl, tree: Tree, tmp_path: Path) -> None:
    body = tmp_path / "limit.xml"
    body.write_bytes(big_xml("PROPFIND", MIB))
    reply = curl("-X", "PROPFIND", "-H", "Depth: 0", "--data-binary", f"@{body}",
                 f"{tree.url}/target.txt")
    assert reply.status == 207
    tree.unchanged()


# --- Depth, Overwrite ---------------------------------------------------------------------


@pytest.mark.one_database  # HTTP and XML parsing
@pytest.mark.parametrize("depth", ["2", "-1", "one", "1,0", "infinity2", "0x1"])
def test_bad_depth_is_400(curl: Curl, tree: Tree, depth: str) -> None:
    assert_refused(curl("-X", "PROPFIND", "-H", f"Depth: {depth}", f"{tree.url}/"), 400)
    assert_refused(curl("-X", "COPY", "-H", f"Depth: {depth}", "-H",
                        f"Destination: {tree.url}/copy-of-sub/", f"{tree.url}/sub/"), 400)
    assert_refused(curl("-X", "LOCK", "-H", f"Depth: {depth}", "--data", LOCKINFO,
                        f"{tree.url}/sub/"), 400)
    tree.unchanged()


@pytest.mark.one_database  # HTTP and XML parsing
@pytest.mark.parametrize("value", ["X", "yes", "TF", "0"])
def test_bad_overwrite_is_400(curl: Curl, tree: Tree, value: str) -> None:
    for method in ("COPY", "MOVE"):
        for dest in ("sub/inner.txt", "new-name.txt"):
            reply = curl("-X", method, "-H", f"Destination: {tree.url}/{dest}",
                         "-H", f"Overwrite: {value}", f"{tree.url}/target.txt")
            assert_refused(reply, 400)
    tree.unchanged()


# --- paths and names ----------------------------------------------------------------------


@pytest.mark.one_database  # HTTP and XML parsing
@pytest.mark.parametrize("method,tail", [
    ("PUT", "/sub/../evil.txt"),
    ("PUT", "/sub/./evil.txt"),
    ("PUT", "/sub/%2e%2e/evil.txt"),
    ("PUT", "/sub/%2E%2E/%2E%2E/evil.txt"),
    ("MKCOL", "/sub/../evil/"),
    ("GET", "/sub/../target.txt"),
    ("DELETE", "/sub/../target.txt"),
    ("PROPFIND", "/../../../../etc/passwd"),
])
def test_dot_segments_are_400(curl: Curl, tree: Tree, method: str, tail: str) -> None:
    extra = ("--data-binary", "evil") if method == "PUT" else ()
    reply = curl("--path-as-is", "-X", method, "-H", "Depth: 0", *extra, tree.url + tail)
    assert_refused(reply, 400)
    assert absent(curl, f"{tree.url}/evil.txt")
    documents = tree.url.rsplit("/", 1)[0]
    assert absent(curl, f"{documents}/evil.txt")
    tree.unchanged()


@pytest.mark.parametrize("name", ["a%00b.txt", "a%2Fb.txt", "a%2fb.txt", "sub%2Finner2.txt",
                                  "%00"])
def test_encoded_nul_or_slash_in_a_name_is_400(curl: Curl, tree: Tree, name: str) -> None:
    assert_refused(curl("-X", "PUT", "--data-binary", "x", f"{tree.url}/{name}"), 400)
    assert_refused(curl("-X", "MKCOL", f"{tree.url}/{name}/"), 400)
    assert absent(curl, f"{tree.url}/sub/inner2.txt")
    tree.unchanged()


@pytest.mark.parametrize("name", ["a%00b.txt", "sub%2Finner2.txt", "a%2Fb.txt"])
def test_encoded_nul_or_slash_in_destination_name_is_400(curl: Curl, tree: Tree,
                                                         name: str) -> None:
    """RFC 3986 §2.2: an encoded reserved character is data, never a delimiter, so
    ``sub%2Finner2.txt`` names one member whose name holds a '/', which cannot exist."""
    for method in ("COPY", "MOVE"):
        reply = curl("-X", method, "-H", f"Destination: {tree.url}/{name}",
                     f"{tree.url}/target.txt")
        assert_refused(reply, 400)
    tree.unchanged()


NAME_256 = "a" * 256
NAME_256_UTF8 = "%C3%A9" * 128  # 128 × "é": 128 characters, 256 bytes of UTF-8


@pytest.mark.parametrize("name", [NAME_256, NAME_256_UTF8, "c" * 5000],
                         ids=["256-ascii", "256-bytes-utf8", "5000"])
def test_name_over_255_bytes_is_4xx_with_nothing_created(curl: Curl, tree: Tree,
                                                         name: str) -> None:
    client_error = tuple(range(400, 500))
    url = f"{tree.url}/{name}"
    assert_refused(curl("-X", "PUT", "--data-binary", "x", url), *client_error)
    assert_refused(curl("-X", "MKCOL", url + "/"), *client_error)
    assert_refused(curl("-X", "LOCK", "--data", LOCKINFO, url), *client_error)
    for method in ("COPY", "MOVE"):
        assert_refused(curl("-X", method, "-H", f"Destination: {url}",
                            f"{tree.url}/target.txt"), *client_error)
    tree.unchanged()


def test_name_of_255_bytes_is_accepted(curl: Curl, folder: str) -> None:
    for name in ("b" * 255, "%C3%A9" * 127 + "x"):
        assert curl.code("-X", "PUT", "--data-binary", "ok", f"{folder}/{name}") == 201
        assert curl(f"{folder}/{name}").body == b"ok"
        listed = curl("-X", "PROPFIND", "-H", "Depth: 0", f"{folder}/{name}")
        href = ET.fromstring(listed.body).findtext(f".//{DAV}href") or ""
        assert len(unquote(href).rsplit("/", 1)[-1].encode()) == 255


# --- COPY and MOVE that cannot be done ---------------------------------------------------


@pytest.mark.parametrize("method", ["COPY", "MOVE"])
@pytest.mark.parametrize("source", ["target.txt", "sub/", "sub"])
@pytest.mark.parametrize("overwrite", [None, "T", "F"])
def test_copy_move_onto_itself_is_403(curl: Curl, tree: Tree, method: str, source: str,
                                      overwrite: str | None) -> None:
    """RFC 4918 §9.8.5, §9.9.4: source and destination are the same resource → 403."""
    extra = ("-H", f"Overwrite: {overwrite}") if overwrite else ()
    reply = curl("-X", method, "-H", f"Destination: {tree.url}/{source}", *extra,
                 f"{tree.url}/{source}")
    assert_refused(reply, 403)
    tree.unchanged()


@pytest.mark.parametrize("method", ["COPY", "MOVE"])
@pytest.mark.parametrize("dest", ["sub/deeper/", "sub/inner.txt/x/", "sub/deeper"])
def test_copy_move_into_own_descendant_is_refused(curl: Curl, tree: Tree, method: str,
                                                  dest: str) -> None:
    reply = curl("-X", method, "-H", f"Destination: {tree.url}/{dest}", f"{tree.url}/sub/")
    assert_refused(reply, 403, 409)
    tree.unchanged()


def test_copy_move_into_own_descendant_with_overwrite(curl: Curl, tree: Tree) -> None:
    """Overwrite: T onto an existing member of itself must not delete the source."""
    for method in ("COPY", "MOVE"):
        reply = curl("-X", method, "-H", f"Destination: {tree.url}/sub/inner.txt",
                     "-H", "Overwrite: T", f"{tree.url}/sub/")
        assert_refused(reply, 403, 409)
    tree.unchanged()


@pytest.mark.one_database  # HTTP and XML parsing
@pytest.mark.parametrize("dest", ["http://other.example.org/dav/porte-documents/x.txt",
                                  "http://127.0.0.1:1/dav/porte-documents/x.txt"])
def test_destination_on_another_host_is_502(curl: Curl, tree: Tree, dest: str) -> None:
    for method in ("COPY", "MOVE"):
        assert_refused(curl("-X", method, "-H", f"Destination: {dest}",
                            f"{tree.url}/target.txt"), 502)
    assert absent(curl, f"{tree.url.rsplit('/', 1)[0]}/x.txt")
    tree.unchanged()


# --- missing parent -----------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("-X", "PUT", "--data-binary", "x", "{t}/missing/f.txt"),
    ("-X", "PUT", "--data-binary", "x", "{t}/missing/deeper/f.txt"),
    ("-X", "PUT", "--data-binary", "x", "{t}/target.txt/child.txt"),
    ("-X", "MKCOL", "{t}/missing/new/"),
    ("-X", "MKCOL", "{t}/target.txt/new/"),
    ("-X", "COPY", "-H", "Destination: {t}/missing/f.txt", "{t}/target.txt"),
    ("-X", "MOVE", "-H", "Destination: {t}/missing/f.txt", "{t}/target.txt"),
    ("-X", "LOCK", "--data", LOCKINFO, "{t}/missing/f.txt"),
], ids=["put", "put-deep", "put-under-file", "mkcol", "mkcol-under-file", "copy", "move",
        "lock"])
def test_missing_parent_is_409(curl: Curl, tree: Tree, args: tuple[str, ...]) -> None:
    """RFC 4918 §9.7.1, §9.3.1, §9.8.5, §9.9.4, §9.10.4: intermediate collection missing."""
    assert_refused(curl(*(a.replace("{t}", tree.url) for a in args)), 409)
    assert absent(curl, f"{tree.url}/missing/")
    tree.unchanged()


# --- uploads cut short ---------------------------------------------------------------------


def cut_put(server: Server, path: str, framing: str) -> str | None:
    """PUT announcing 1 000 000 bytes (or chunked), send 300 000 (or a chunk and a half),
    then stop: the client shuts its side (the server reads end of file, as after a
    close), and this reads whatever the server answers until it closes. Returns the
    status line, or None if the server closed without answering."""
    auth = base64.b64encode(f"alice:{server.users['alice']}".encode()).decode()
    head = (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Authorization: Basic {auth}\r\nContent-Type: application/octet-stream\r\n")
    if framing == "content-length":
        data = head.encode() + b"Content-Length: 1000000\r\n\r\n" + b"z" * 300_000
    else:
        data = (head.encode() + b"Transfer-Encoding: chunked\r\n\r\n"
                + b"10000\r\n" + b"z" * 0x10000 + b"\r\n10000\r\n" + b"z" * 1000)
    answer = raw_http(server, data)
    return answer.split(b"\r\n", 1)[0].decode() if answer else None


def assert_cut_refused(status_line: str | None) -> None:
    """No answer (the client is gone), or a client error: never success, never 500."""
    if status_line is not None:
        code = int(status_line.split()[1])
        assert 400 <= code < 500, status_line


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_put_cut_short_keeps_old_content(server: Server, curl: Curl, tree: Tree,
                                         framing: str) -> None:
    status = cut_put(server, urlsplit(f"{tree.url}/target.txt").path, framing)
    assert curl(f"{tree.url}/target.txt").body == ORIGINAL, status
    assert_cut_refused(status)
    tree.unchanged()


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_put_cut_short_creates_nothing(server: Server, curl: Curl, tree: Tree,
                                       framing: str) -> None:
    status = cut_put(server, urlsplit(f"{tree.url}/cut.bin").path, framing)
    assert absent(curl, f"{tree.url}/cut.bin"), status
    assert_cut_refused(status)
    tree.unchanged()


def test_fsck_after_cut_uploads(server: Server, curl: Curl, folder: str) -> None:
    """After interrupted uploads, ``fsck --repair`` (server idle) leaves ``fsck`` clean;
    no content was lost on the way."""
    assert curl.code("-X", "PUT", "--data-binary", ORIGINAL.decode(), f"{folder}/old.bin") == 201
    for framing in ("content-length", "chunked"):
        for name in ("old.bin", f"new-{framing}.bin"):
            cut_put(server, urlsplit(f"{folder}/{name}").path, framing)
    # cut_put returns once the server closed the connection: the uploads are over.
    first = server.cli("fsck", check=False)
    assert "missing blob" not in first.stdout, first.stdout
    repaired = server.cli("fsck", "--repair", check=False)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    final = server.cli("fsck", check=False)
    assert final.returncode == 0, final.stdout + final.stderr
    assert "fsck: clean" in final.stdout
    assert curl(f"{folder}/old.bin").body == ORIGINAL
    assert absent(curl, f"{folder}/new-chunked.bin")
    assert absent(curl, f"{folder}/new-content-length.bin")


# --- active content is sandboxed ----------------------------------------------------------


@pytest.mark.one_database  # HTTP and XML parsing
@pytest.mark.parametrize("name,content", [
    ("page.html", b"<html><body><script>alert(document.cookie)</script></body></html>"),
    ("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    ("page.htm", b"<script>alert(2)</script>"),
    ("noext", b"<html><script>alert(3)</script></html>"),
])
def test_active_content_is_sandboxed(curl: Curl, folder: str, name: str,
                                     content: bytes) -> None:
    assert curl.code("-X", "PUT", "--data-binary", content.decode(), f"{folder}/{name}") == 201
    for args in ((), ("-I",), ("-H", "Range: bytes=0-9")):
        reply = curl(*args, f"{folder}/{name}")
        assert reply.status in (200, 206)
        assert "sandbox" in reply.headers.get("content-security-policy", ""), reply.headers
        assert reply.headers.get("x-content-type-options") == "nosniff", reply.headers


# --- the drive's root and the spaces' roots ------------------------------------------------


@pytest.mark.parametrize("args", [("-X", "DELETE"), ("-X", "PUT", "--data", "x"),
                                  ("-X", "MKCOL"), ("-X", "MOVE", "-H", "Destination: {d}"),
                                  ("-X", "COPY", "-H", "Destination: {d}")],
                         ids=["DELETE", "PUT", "MKCOL", "MOVE", "COPY"])
def test_writes_on_the_drive_root_are_refused_whole(curl: Curl, tree: Tree,
                                                    args: tuple[str, ...]) -> None:
    """``/dav/`` only lists the spaces: a write there is 403/405 and touches nothing
    (a DELETE used to walk into the spaces and empty them before failing)."""
    dest = f"{curl.server.documents_url}/moved-root"
    reply = curl(*(a.format(d=dest) for a in args), curl.server.dav_url + "/")
    assert_refused(reply, 403, 405)
    assert absent(curl, dest + "/")
    tree.unchanged()


def test_moving_a_file_onto_the_drive_root_is_refused(curl: Curl, tree: Tree) -> None:
    reply = curl("-X", "MOVE", "-H", f"Destination: {curl.server.dav_url}/",
                 f"{tree.url}/target.txt")
    assert_refused(reply, 403, 409)
    tree.unchanged()


def test_deleting_a_space_root_with_a_locked_member_deletes_nothing(
        server: Server, tmp_path: Path) -> None:
    """RFC 4918 §9.6.1 lets a DELETE stop at a locked member; a space's root is not
    deletable at all, so the answer is 409 at once and every member stays."""
    login = f"root-{uuid.uuid4().hex[:8]}"
    server.add_user(login)
    own = Curl(server, tmp_path, user=login)
    docs = server.documents_url
    for name in ("a.txt", "b.txt"):
        assert own.code("-X", "PUT", "--data", name, f"{docs}/{name}") == 201
    assert own.code("-X", "MKCOL", f"{docs}/D/") == 201
    assert own.code("-X", "PUT", "--data", "c", f"{docs}/D/c.txt") == 201
    status, _token = own.lock(f"{docs}/b.txt")
    assert status == 200
    assert_refused(own("-X", "DELETE", docs + "/"), 409)
    for name in ("a.txt", "b.txt", "D/c.txt"):
        assert own.code(f"{docs}/{name}") == 200, name


@pytest.mark.one_database  # HTTP and XML parsing
@pytest.mark.parametrize("path", ["/dav/%ff", "/dav/porte-documents/a%ffb.txt",
                                  "/dav/porte-documents/%c3"])
def test_a_path_that_is_not_utf8_is_400(curl: Curl, path: str) -> None:
    """A bad %-escape used to end the connection without an answer (and two
    tracebacks in the log), even before signing in."""
    reply = curl("-X", "PUT", "--data", "x", curl.server.base_url + path)
    assert_refused(reply, 400)
    assert "UTF-8" in reply.text
    anonymous = raw_http(curl.server, f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                         "Connection: close\r\n\r\n".encode())
    assert anonymous.startswith(b"HTTP/1.1 400"), anonymous[:200]
