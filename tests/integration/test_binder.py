"""The classeur pédagogique (binder) over WebDAV: ``/dav/classeur/`` is a teacher's
own space, beside their porte-documents, with its own quota (``quotas.binder``,
500 MiB); other profiles have none (not listed, 404). litmus's basic and copymove
suites pass on it."""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.conftest import Server
from tests.integration.test_litmus import LITMUS, PROBLEM, _normalise, _require_litmus

DAV = "{DAV:}"
BINDER_LIMIT = 500 * 2**20  # config.yaml `quotas.binder: 500MiB`
QUOTA_PROPFIND = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
                  "<D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>")


def _member_names(server: Server, login: str, url: str) -> list[str]:
    answer = server.session(login).request("PROPFIND", url, headers={"Depth": "1"})
    assert answer.status_code == 207, answer.text
    hrefs = [unquote(urlsplit(h.text or "").path)
             for h in ET.fromstring(answer.content).iter(DAV + "href")]
    base = unquote(urlsplit(url).path)
    return sorted(h[len(base):].strip("/") for h in hrefs if h.rstrip("/") != base.rstrip("/"))


def _quota(server: Server, login: str, url: str) -> tuple[int, int]:
    answer = server.session(login).request("PROPFIND", url, data=QUOTA_PROPFIND,
                                           headers={"Depth": "0"})
    assert answer.status_code == 207, answer.text
    tree = ET.fromstring(answer.content)
    available = tree.findtext(f".//{DAV}quota-available-bytes")
    used = tree.findtext(f".//{DAV}quota-used-bytes")
    assert available is not None and used is not None, answer.text
    return int(available), int(used)


def test_teachers_see_their_binder_other_profiles_do_not(server: Server) -> None:
    assert _member_names(server, "alice", server.dav_url + "/") == [
        "classeur", "corbeille", "porte-documents", "rubriques"]
    assert _member_names(server, "bob", server.dav_url + "/") == [
        "corbeille", "porte-documents", "rubriques"]
    bob = server.session("bob")
    assert bob.request("PROPFIND", server.dav_url + "/classeur/",
                       headers={"Depth": "0"}).status_code == 404
    # RFC 4918 §9.7.1, §9.3.1: for bob there is no parent collection to write into.
    assert bob.put(server.dav_url + "/classeur/x.txt", data=b"x").status_code == 409
    assert bob.request("MKCOL", server.dav_url + "/classeur/d/").status_code == 409


def test_binder_is_a_separate_space_with_its_own_quota(server: Server) -> None:
    alice = server.session("alice")
    binder = server.dav_url + "/classeur"
    documents_before = _quota(server, "alice", server.documents_url + "/")
    assert alice.request("MKCOL", binder + "/Séquences/").status_code == 201
    body = b"Progression 4e : la proportionnalit\xc3\xa9\n" * 100
    assert alice.put(binder + "/Séquences/progression.txt", data=body).status_code == 201
    assert alice.get(binder + "/Séquences/progression.txt").content == body

    available, used = _quota(server, "alice", binder + "/")
    assert used >= len(body)
    assert available + used == BINDER_LIMIT
    # Nothing of it counts in the porte-documents.
    assert _quota(server, "alice", server.documents_url + "/") == documents_before

    # COPY to the porte-documents and MOVE back: one provider, so across spaces works.
    copy = alice.request("COPY", binder + "/Séquences/progression.txt",
                         headers={"Destination": server.documents_url + "/copie.txt"})
    assert copy.status_code == 201, copy.text
    move = alice.request("MOVE", server.documents_url + "/copie.txt",
                         headers={"Destination": binder + "/copie.txt"})
    assert move.status_code == 201, move.text
    assert alice.get(binder + "/copie.txt").content == body
    assert alice.get(server.documents_url + "/copie.txt").status_code == 404
    # Remises: the read-only hand-ins folder every binder shows (issue 7).
    assert _member_names(server, "alice", binder + "/") == ["Remises", "Séquences",
                                                            "copie.txt"]

    # Private: a student cannot move a file into a teacher's binder either.
    bob = server.session("bob")
    assert bob.put(server.documents_url + "/b.txt", data=b"b").status_code == 201
    refused = bob.request("MOVE", server.documents_url + "/b.txt",
                          headers={"Destination": binder + "/b.txt"})
    assert refused.status_code == 409, refused.text  # RFC 4918 §9.9.4: no such parent
    assert bob.get(server.documents_url + "/b.txt").content == b"b"


@pytest.mark.one_database  # a real client (litmus)
@pytest.mark.clients
def test_litmus_basic_and_copymove_pass_on_the_binder(server: Server, tmp_path: Path) -> None:
    _require_litmus()
    env = dict(os.environ, TESTS="basic copymove")
    proc = subprocess.run(
        [LITMUS, "--keep-going", server.dav_url + "/classeur/", "alice",
         server.users["alice"]],
        cwd=tmp_path, env=env, capture_output=True, timeout=120,
    )
    lines = _normalise(proc.stdout.decode(errors="replace") + "\n"
                       + proc.stderr.decode(errors="replace"))
    summaries = [line for line in lines if "<- summary for" in line]
    problems = [line for line in lines
                if "<- summary for" not in line and PROBLEM.search(line)]
    assert len(summaries) == 2 and all(" 0 failed." in line for line in summaries), \
        "\n".join(lines)
    assert not problems, "\n".join(lines)
