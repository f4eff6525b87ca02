"""A teacher's hand-ins over WebDAV, read-only (issue 7): ``/dav/classeur/Remises/
<service>/<homework>/<student>/<file>`` with real HTTP requests against a real
server. The binder root lists ``Remises`` beside the teacher's own files; every
write inside is 403; another teacher sees no service there, a student has no binder.

People, lessons and homework: :mod:`tests.integration.handin_kit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, unquote

import pytest
from lxml import etree

from tests.conftest import IN_TERM, Server
from tests.integration.handin_kit import hand_in, handin_server
from tests.integration.oversight_kit import signed_in

pytestmark = pytest.mark.clock(IN_TERM)

IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with handin_server(tmp_path_factory.mktemp("dav-handins"), IDS) as server:
        assert hand_in(signed_in(server, "ben"), IDS["HW_OPEN"], "copie de ben.txt",
                       b"la copie").status_code == 201
        mine = server.session("ann").put(server.dav_url + "/classeur/cours.txt", data=b"cours")
        assert mine.status_code == 201
        yield server


def members(server: Server, login: str, path: str, body: bytes = b"") -> list[str]:
    """Names listed by PROPFIND Depth 1 at ``path`` (under /dav/), the folder left out."""
    answer = server.session(login).request("PROPFIND", server.dav_url + quote(path),
                                           headers={"Depth": "1"}, data=body)
    assert answer.status_code == 207, answer.text
    hrefs = etree.fromstring(answer.content).findall(".//{DAV:}href")
    names = [unquote(h.text or "").rstrip("/").rsplit("/", 1)[-1] for h in hrefs]
    return names[1:]


def file_path() -> str:
    return f"/classeur/Remises/MATHS 4B/Rédaction ({IDS['HW_OPEN']})/ben/copie de ben.txt"


def test_the_binder_root_lists_remises_beside_the_teachers_files(srv: Server) -> None:
    assert members(srv, "ann", "/classeur/") == ["cours.txt", "Remises"]
    named = (b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/>'
             b'<D:resourcetype/></D:prop></D:propfind>')
    assert members(srv, "ann", "/classeur/", named) == ["cours.txt", "Remises"]
    assert members(srv, "ann", "/classeur/Remises/") == ["MATHS 4B"]
    assert f"Rédaction ({IDS['HW_OPEN']})" in members(srv, "ann", "/classeur/Remises/MATHS 4B/")
    folder = file_path().rsplit("/", 2)[0] + "/"
    assert members(srv, "ann", folder) == ["ben"]


def test_the_teacher_reads_a_handed_in_file(srv: Server) -> None:
    answer = srv.session("ann").get(srv.dav_url + quote(file_path()))
    assert answer.status_code == 200 and answer.content == b"la copie"


BODIES = {
    "PROPPATCH": b'<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z">'
                 b'<D:set><D:prop><Z:note>x</Z:note></D:prop></D:set></D:propertyupdate>',
    "LOCK": b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
            b'</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    "MKCOL": b"", "DELETE": b"", "MOVE": b"", "COPY": b"",
}


@pytest.mark.parametrize(("method", "where", "headers"), [
    ("PUT", "/classeur/Remises/MATHS 4B/nouveau.txt", {}),
    ("MKCOL", "/classeur/Remises/dossier/", {}),
    ("DELETE", "FILE", {}),
    ("PROPPATCH", "FILE", {}),
    ("LOCK", "FILE", {}),
    ("MOVE", "FILE", {"Destination": "/dav/classeur/vole.txt"}),
    ("COPY", "/classeur/cours.txt", {"Destination": "/dav/classeur/Remises/cours.txt"}),
])
def test_writes_inside_are_refused(srv: Server, method: str, where: str,
                                   headers: dict[str, str]) -> None:
    path = file_path() if where == "FILE" else where
    answer = srv.session("ann").request(method, srv.dav_url + quote(path),
                                        data=BODIES.get(method, b"x"), headers=headers)
    assert answer.status_code == 403, (method, answer.status_code, answer.text)
    assert srv.session("ann").get(srv.dav_url + quote(file_path())).content == b"la copie"
    assert members(srv, "ann", "/classeur/") == ["cours.txt", "Remises"]


def test_other_people_see_nothing_of_it(srv: Server) -> None:
    assert members(srv, "carl", "/classeur/Remises/") == []
    assert srv.session("carl").get(srv.dav_url + quote(file_path())).status_code == 404
    assert srv.session("ben").get(srv.dav_url + quote(file_path())).status_code == 404


def etag(server: Server, login: str, path: str) -> str:
    """``getetag`` of the folder at ``path`` (under /dav/), as a sync client polls it."""
    body = (b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/>'
            b"</D:prop></D:propfind>")
    answer = server.session(login).request("PROPFIND", server.dav_url + quote(path),
                                           headers={"Depth": "0"}, data=body)
    assert answer.status_code == 207, answer.text
    found = etree.fromstring(answer.content).findtext(".//{DAV:}getetag")
    assert found and found.startswith('"'), found
    return found


def test_a_new_hand_in_changes_the_etags_a_sync_client_polls(srv: Server) -> None:
    """A sync client of the binder lists ``Remises`` again only when the ETags above
    it change: a hand-in must change them, from the drive's root down to the
    student's folder; asking twice without a change gives the same."""
    folders = ("/", "/classeur/", "/classeur/Remises/", "/classeur/Remises/MATHS 4B/",
               file_path().rsplit("/", 1)[0] + "/")
    before = {f: etag(srv, "ann", f) for f in folders}
    assert before == {f: etag(srv, "ann", f) for f in folders}
    assert hand_in(signed_in(srv, "ben"), IDS["HW_OPEN"], "annexe.txt",
                   b"une annexe").status_code == 201
    after = {f: etag(srv, "ann", f) for f in folders}
    assert all(after[f] != before[f] for f in folders), (before, after)
