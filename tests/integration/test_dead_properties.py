"""Dead properties are user data inside the quota (issue 18, finding 3;
``providers/properties.py``): PROPPATCH is charged, refused with 507 over the limits
(1 KiB a name, 64 KiB a value, 1 MiB a resource) or the quota (``quota-not-exceeded``),
all or nothing; COPY charges the copy's properties, a purge frees them; a PROPPATCH
body is bounded before it is parsed; PROPFIND answers big listings with bounded memory;
``fsck`` counts property bytes.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import update

import acl
from providers.models import Node
from providers.properties import entry_bytes, total_bytes
from quotas.ledger import SpaceUsage
from tests.conftest import Server, running_server

NS = "urn:example:props"
LIMIT = 600_000  # bytes of alice's porte-documents
KIB = 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("props"),
                        users={"alice": "teacher", "bob": "teacher"}) as srv:
        srv.cli("quota", "set", "alice", str(LIMIT))
        yield srv


def _space(server: Server, login: str = "alice") -> int:
    with server.app() as app:
        with app.db.transaction(write=False) as s:
            user = acl.find_user(s, login)
        assert user is not None
        return app.store.ensure_space("documents", user.id).id


def _used(server: Server, login: str = "alice") -> int:
    with server.app() as app:
        figures = app.store.usage(_space(server, login))
        assert figures is not None
        return figures.used


def _proppatch(server: Server, url: str, sets: dict[str, str], removes: tuple[str, ...] = (),
               login: str = "alice") -> tuple[int, str]:
    parts = [f'<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" '
             f'xmlns:x="{NS}">']
    if sets:
        parts.append("<D:set><D:prop>")
        parts += [f"<x:{name}>{value}</x:{name}>" for name, value in sets.items()]
        parts.append("</D:prop></D:set>")
    if removes:
        parts.append("<D:remove><D:prop>")
        parts += [f"<x:{name}/>" for name in removes]
        parts.append("</D:prop></D:remove>")
    parts.append("</D:propertyupdate>")
    response = server.session(login).request(
        "PROPPATCH", url, data="".join(parts).encode(),
        headers={"Content-Type": "application/xml"}, timeout=60)
    return response.status_code, response.text


def _stored(server: Server, url: str) -> int:
    """Bytes the dead properties of the file at ``url`` count, from what is stored."""
    name = url.rsplit("/", 1)[1]
    with server.app() as app:
        node = app.store.resolve(_space(server), f"/{name}")
        assert node is not None
        return total_bytes(app.store.read_props(node.id))


def _new_file(server: Server, login: str = "alice", data: bytes = b"0123456789") -> str:
    url = f"{server.dav_url}/porte-documents/p-{uuid.uuid4().hex[:8]}.txt"
    assert server.session(login).put(url, data=data).status_code == 201
    return url


def _empty(server: Server) -> None:
    """Alice's porte-documents emptied and its trash purged."""
    with server.app() as app:
        root = app.store.resolve(_space(server), "")
        assert root is not None
        for node in app.store.children(root):
            app.store.delete(node)
    server.empty_trash()


@pytest.fixture
def clean(server: Server) -> Iterator[Server]:
    _empty(server)
    yield server
    _empty(server)


def test_proppatch_is_charged_and_removal_frees(clean: Server) -> None:
    url = _new_file(clean)
    before = _used(clean)
    value = "v" * 10_000
    assert _proppatch(clean, url, {"note": value})[0] == 207
    stored = _stored(clean, url)
    assert entry_bytes(f"{{{NS}}}note", value) < stored < len(value) + 200
    assert _used(clean) == before + stored
    shown = clean.cli("quota", "show", "alice").stdout
    assert f"{(before + stored) / 1024:.1f} KiB" in shown, shown  # was 0.0 KiB (issue 18)
    got = clean.session("alice").request(
        "PROPFIND", url, headers={"Depth": "0"},
        data=f'<D:propfind xmlns:D="DAV:"><D:prop><x:note xmlns:x="{NS}"/></D:prop>'
             "</D:propfind>")
    assert value in got.text
    assert _proppatch(clean, url, {}, removes=("note",))[0] == 207
    assert _used(clean) == before


@pytest.mark.parametrize(("sets", "limit"), [
    ({"big": "b" * (64 * KIB + 1)}, "64 KiB"),
    ({"n" * 1100: "x"}, "1 KiB"),
])
def test_a_property_over_its_limit_is_refused_whole(clean: Server, sets: dict[str, str],
                                                    limit: str) -> None:
    """A value over 64 KiB or a name over 1 KiB: 507 for the whole PROPPATCH, a message
    naming the limit, and the other property of the request is not stored either."""
    url = _new_file(clean)
    before = _used(clean)
    status, text = _proppatch(clean, url, {"small": "ok", **sets})
    assert status == 507, text
    assert limit in text
    assert _used(clean) == before
    got = clean.session("alice").request("PROPFIND", url, headers={"Depth": "0"})
    assert "small" not in got.text


def test_one_resource_holds_at_most_a_mebibyte(clean: Server) -> None:
    """Sixteen values of 62 KiB fit (992 KiB); the seventeenth is refused naming
    the 1 MiB limit. Bob's space (the default quota) so the quota is not what stops it."""
    url = _new_file(clean, "bob")
    for i in range(16):
        assert _proppatch(clean, url, {f"p{i}": "q" * (62 * KIB)}, login="bob")[0] == 207
    status, text = _proppatch(clean, url, {"p16": "q" * (62 * KIB)}, login="bob")
    assert status == 507, text
    assert "1 MiB" in text
    assert clean.session("bob").delete(url).status_code == 204


def test_properties_crossing_the_quota_get_507_quota_not_exceeded(clean: Server) -> None:
    """Alice's 600 KB: ten properties of 60 KiB on several files fill it; the PROPPATCH
    that would cross it answers 507 with RFC 4331's precondition, and nothing of it
    is stored (all or nothing)."""
    urls = [_new_file(clean) for _ in range(3)]
    stored = 0
    refused = None
    for i in range(12):
        status, text = _proppatch(clean, urls[i % 3], {f"a{i}": "w" * (30 * KIB),
                                                       f"b{i}": "w" * (30 * KIB)})
        if status == 507:
            refused = text
            break
        assert status == 207
        stored += 2
    assert refused is not None, "the quota was never reached"
    assert "quota-not-exceeded" in refused
    used = _used(clean)
    assert used <= LIMIT
    assert used + 2 * 30 * KIB > LIMIT
    listing = clean.session("alice").request("PROPFIND", urls[stored // 2 % 3],
                                             headers={"Depth": "0"}).content
    # By element, not by text: "a9" may well be found inside an ETag's hex digits.
    names = {element.tag for element in etree.fromstring(listing).iter()}
    assert not names & {f"{{{NS}}}a{stored // 2}", f"{{{NS}}}b{stored // 2}"}, names
    assert f"{{{NS}}}a{stored // 2 - 3}" in names  # the file's earlier ones are there


def test_copy_charges_the_copys_properties_and_purge_frees_them(clean: Server) -> None:
    url = _new_file(clean)
    value = "c" * 50_000
    assert _proppatch(clean, url, {"note": value})[0] == 207
    one = _used(clean)
    copy = url.replace(".txt", "-copy.txt")
    dav = clean.session("alice")
    assert dav.request("COPY", url, headers={"Destination": copy}).status_code == 201
    assert _used(clean) == 2 * one
    assert value in dav.request("PROPFIND", copy, headers={"Depth": "0"}).text
    assert dav.delete(copy).status_code == 204
    assert clean.empty_trash() == 1
    assert _used(clean) == one


def test_a_huge_proppatch_body_is_refused_before_it_is_read(clean: Server) -> None:
    """100 MB announced: 413 at once, before a byte of the body is sent or parsed."""
    url = _new_file(clean)
    path = url.removeprefix(clean.base_url)
    token = base64.b64encode(f"alice:{clean.users['alice']}".encode()).decode()
    head = (f"PROPPATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{clean.port}\r\n"
            f"Authorization: Basic {token}\r\nContent-Type: application/xml\r\n"
            "Content-Length: 104857600\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", clean.port), timeout=10) as s:
        s.sendall(head)
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 "), answer


def _memory_kib(server: Server, field: str) -> int:
    """The server process's resident memory (``VmRSS``) or its peak since the last
    :func:`_reset_peak` (``VmHWM``), in KiB (Linux)."""
    assert server.proc is not None
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith(field + ":")))


def _reset_peak(server: Server) -> None:
    """Start measuring the peak anew (``clear_refs`` 5 resets ``VmHWM`` to ``VmRSS``)."""
    assert server.proc is not None
    Path(f"/proc/{server.proc.pid}/clear_refs").write_text("5")


def test_listing_a_folder_full_of_properties_keeps_memory_bounded(tmp_path: Path) -> None:
    """40 files with about 1 MiB of dead properties each (40 MiB): an allprop PROPFIND
    of the folder answers them all (41 MB of XML), and the server's peak memory grows
    by less than 24 MiB (the properties are read 2 MiB at a time and the answer
    spooled to disk; holding them all, as before, took 87 MiB, growing with the
    folder).
    WsgiDAV's own PROPFIND (``propname``), which builds its answer in memory, is
    refused with 507 for such a folder.

    Takes about 30 s: 40 MiB of properties are written first, 640 PROPPATCHes."""
    with running_server(tmp_path, users={"alice": "teacher"}) as srv:
        folder = f"{srv.documents_url}/full"
        dav = srv.session("alice")
        assert dav.request("MKCOL", folder).status_code == 201
        value = "z" * (63 * KIB)
        for i in range(40):
            url = f"{folder}/f{i:02}.txt"
            assert dav.put(url, data=b"x").status_code == 201
            body = ('<D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:example:props"><D:set>'
                    "<D:prop>" + "".join(f"<x:p{k}>{value}</x:p{k}>" for k in range(16))
                    + "</D:prop></D:set></D:propertyupdate>")
            assert dav.request("PROPPATCH", url, data=body.encode()).status_code == 207
        _reset_peak(srv)
        before = _memory_kib(srv, "VmRSS")
        listing = dav.request("PROPFIND", folder + "/", headers={"Depth": "1"})
        grown = _memory_kib(srv, "VmHWM") - before
        assert listing.status_code == 207
        assert len(listing.content) > 40 * 16 * 63 * KIB
        assert listing.text.count("<D:response>") == 41
        assert grown < 24 * 1024, f"the server's peak grew by {grown} KiB for one listing"
        propname = dav.request("PROPFIND", folder + "/", headers={"Depth": "1"},
                               data=b'<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>')
        assert propname.status_code == 507, propname.text[:300]
        assert "dead properties" in propname.text


def test_fsck_counts_property_bytes_and_repair_settles_them(tmp_path: Path) -> None:
    """Data written before properties counted: a node's recorded property size and its
    space's usage both short of its properties. ``fsck`` names both; ``--repair``
    settles them, and ``fsck`` is clean after."""
    with running_server(tmp_path, users={"alice": "teacher"}) as srv:
        url = _new_file(srv)
        assert _proppatch(srv, url, {"note": "n" * 5000})[0] == 207
        real = _used(srv)
        srv.stop()
        with srv.transaction() as s:
            s.execute(update(Node).where(Node.props_bytes > 0).values(props_bytes=0))
            s.execute(update(SpaceUsage).where(SpaceUsage.space_id == _space(srv))
                      .values(used_bytes=10))
        found = srv.cli("fsck", check=False)
        assert found.returncode == 1
        assert "dead properties of node" in found.stdout
        assert f"ledger 10 bytes, files and properties {real} bytes" in found.stdout
        repaired = srv.cli("fsck", "--repair", check=False)
        assert repaired.returncode == 0, repaired.stdout
        assert "fsck: clean" in srv.cli("fsck").stdout
        assert _used(srv) == real


def test_litmus_style_props_still_work(clean: Server) -> None:
    """Setting, reading and removing ordinary properties is unchanged (curl)."""
    url = _new_file(clean)
    status, _text = _proppatch(clean, url, {"colour": "blue", "size": "3"})
    assert status == 207
    reply = subprocess.run(
        ["curl", "-s", "-u", f"alice:{clean.users['alice']}", "-X", "PROPFIND", "-H",
         "Depth: 0", url], capture_output=True, text=True, check=True)
    assert "blue" in reply.stdout and ">3<" in reply.stdout
