"""Real clients on rubric folders (issue 4, "Tests"): litmus passes in full for a
manager; a visitor's PUT is refused and leaves nothing behind (no node, no blob file,
no usage); a writer syncs a folder with rclone and a visitor's rclone sees none of it
until a moderator publishes it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Server, running_server

from .rubric_kit import (
    Person,
    add_people,
    cli_ok,
    members,
    mkcol,
    node,
    put,
    quota_show,
    rubric_url,
    used_bytes,
)
from .test_litmus import LITMUS, SUITES, _normalise, _require_litmus
from .test_rclone import TRANSFER_FLAGS, Rclone, _require_rclone

pytestmark = pytest.mark.clients

PEOPLE = [Person("gest", "staff"), Person("red", "teacher"), Person("vis", "student")]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Rubric ``labo``: gest manages, red writes, vis visits."""
    with running_server(tmp_path_factory.mktemp("rclients")) as server:
        add_people(server, PEOPLE)
        cli_ok(server, "rubric", "add", "labo", "--name", "Laboratoire")
        for role, login in (("manager", "gest"), ("writer", "red"), ("visitor", "vis")):
            cli_ok(server, "rubric", "grant", "labo", role, "--user", login)
        yield server


def blob_files(srv: Server) -> set[str]:
    return {p.name for p in (srv.data_dir / "blobs" / "objects").rglob("*") if p.is_file()}


@pytest.mark.one_database  # a real client (litmus)
def test_litmus_passes_on_a_rubric_folder_for_a_manager(srv: Server, tmp_path: Path) -> None:
    _require_litmus()
    assert mkcol(srv.session("gest"), rubric_url(srv, "labo", "/litmus")) == 201
    proc = subprocess.run(
        [LITMUS, "--keep-going", rubric_url(srv, "labo", "/litmus") + "/", "gest",
         srv.users["gest"]],
        cwd=tmp_path, env=dict(os.environ, TESTS=" ".join(SUITES)), capture_output=True,
        timeout=300)
    lines = _normalise(proc.stdout.decode(errors="replace") + "\n"
                       + proc.stderr.decode(errors="replace"))
    summaries = [line for line in lines if "<- summary for" in line]
    assert len(summaries) == len(SUITES), "\n".join(lines)
    clean = [line for line in summaries if " 0 failed." in line
             and "warning" not in line and "skipped" not in line]
    assert proc.returncode == 0 and clean == summaries, "\n".join(lines)


def test_a_visitors_put_is_refused_and_leaves_nothing(srv: Server) -> None:
    visitor = srv.session("vis")
    assert put(srv.session("gest"), rubric_url(srv, "labo", "/existant.txt"), b"v1\n") == 201
    blobs, shown = blob_files(srv), quota_show(srv, "rubric:labo")
    used = used_bytes(srv, "rubric:labo")
    body = b"intrusion\n" * 1000
    assert put(visitor, rubric_url(srv, "labo", "/nouveau.txt"), body) == 403
    assert put(visitor, rubric_url(srv, "labo", "/existant.txt"), body) == 403
    # Chunked, without Content-Length: refused the same.
    response = visitor.put(rubric_url(srv, "labo", "/chunked.txt"), data=iter([body]))
    assert response.status_code == 403
    assert visitor.request("MKCOL", rubric_url(srv, "labo", "/dossier/")).status_code == 403
    for path in ("/nouveau.txt", "/chunked.txt", "/dossier"):
        assert node(srv, "rubric:labo", path) is None, path
    assert visitor.get(rubric_url(srv, "labo", "/existant.txt")).content == b"v1\n"
    assert blob_files(srv) == blobs
    assert not list((srv.data_dir / "blobs" / "tmp").iterdir())
    assert quota_show(srv, "rubric:labo") == shown
    assert used_bytes(srv, "rubric:labo") == used


def test_a_refused_chunked_put_does_not_spill_into_the_next_request(srv: Server) -> None:
    """A chunked body refused before it was read is not taken for the next request on
    the same keep-alive connection (it was: the next request got 400)."""
    visitor = srv.session("vis")
    for url in (rubric_url(srv, "labo", "/refus.txt"),  # 403: visitor
                srv.documents_url + "/absent/refus.txt"):  # 409: no such folder
        response = visitor.put(url, data=iter([b"PROPFIND / HTTP/1.1\r\n\r\n" * 50]))
        assert response.status_code in (403, 409), response.status_code
        assert response.headers.get("Connection") == "close"
        assert members(visitor, rubric_url(srv, "labo")) != 400
        assert visitor.get(rubric_url(srv, "labo", "/refus.txt")).status_code == 404


@pytest.mark.one_database  # a real client (rclone)
def test_rclone_sync_by_a_writer_stays_hidden_from_a_visitor_until_published(
        srv: Server, tmp_path: Path) -> None:
    _require_rclone()
    local = tmp_path / "sortie"
    (local / "photos").mkdir(parents=True)
    (local / "programme.txt").write_text("programme de la sortie\n")
    (local / "photos" / "groupe.txt").write_text("photo de groupe\n")
    rclone = Rclone(tmp_path / "rclone")
    base = srv.dav_url + "/rubriques/labo"
    for login in ("red", "vis"):
        rclone.add_webdav_remote(login, base, login, srv.users[login], "other")
    assert mkcol(srv.session("gest"), rubric_url(srv, "labo", "/sorties")) == 201

    rclone.run("sync", str(local), "red:sorties/mars", *TRANSFER_FLAGS)
    mine = rclone.run("lsf", "-R", "red:sorties", *TRANSFER_FLAGS).stdout.split()
    assert sorted(mine) == ["mars/", "mars/photos/", "mars/photos/groupe.txt",
                            "mars/programme.txt"]
    seen = rclone.run("lsf", "-R", "vis:sorties", *TRANSFER_FLAGS).stdout.split()
    assert seen == []
    assert members(srv.session("vis"), rubric_url(srv, "labo", "/sorties")) == set()

    for path in ("/sorties/mars", "/sorties/mars/programme.txt"):
        cli_ok(srv, "rubric", "publish", "labo", path)
    seen = rclone.run("lsf", "-R", "vis:sorties", *TRANSFER_FLAGS).stdout.split()
    assert sorted(seen) == ["mars/", "mars/programme.txt"]  # photos/ still waits
    down = tmp_path / "vu"
    rclone.run("copy", "vis:sorties", str(down), *TRANSFER_FLAGS)
    assert (down / "mars" / "programme.txt").read_text() == "programme de la sortie\n"
    assert not (down / "mars" / "photos").exists()
    # A second sync by the writer changes nothing it need not (no error either).
    rclone.run("sync", str(local), "red:sorties/mars", *TRANSFER_FLAGS)
