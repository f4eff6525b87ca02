"""The Nextcloud and ownCloud sync clients (``nextcloudcmd`` 3.7, ``owncloudcmd`` 2.11:
the engines of their desktop apps, headless) keep a teacher's folders in sync with a
real server: a first sync both ways of a real tree (accents, NFD, emoji, an empty
file, a 50 MB file sent in chunks), edits on both sides, a conflict that loses
nothing, a deep folder renamed and moved without a byte sent again, a delete undone
from the trash, a file over quota refused cleanly, modification times kept, a second
run that transfers nothing, and a rubric where the user may only read.

One server for the module, its request lines (INFO) read from its log to see what
each run transferred. Each client run is a fresh process with its own HOME.

Run on both databases, unlike litmus and rclone: the clients upload several files of
one space at once, so their writers queue on the folder ETags of one space root
(``FOR UPDATE`` on PostgreSQL) and on its quota ledger.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.conftest import Server, running_server

from .rubric_kit import Person, add_people, cli_ok, rubric_url, space_id
from .test_rclone import BIG_SIZE, _real_files, _write_big_file

pytestmark = pytest.mark.clients

NEXTCLOUDCMD = shutil.which("nextcloudcmd") or "/usr/bin/nextcloudcmd"
OWNCLOUDCMD = shutil.which("owncloudcmd") or "/usr/bin/owncloudcmd"
TIMEOUT = 300  # seconds for one client run
MTIME = 1_700_000_000  # 2023-11-14T22:13:20Z: every local file gets its own second after it
# Names a school's files carry: accents, an emoji, punctuation, NFD (macOS), nested.
NAMES = [
    "résumé du cours.txt",
    "fête 🎉 de fin d'année.txt",
    "C# et C++ notes.txt",
    "100% réussite & Tom.txt",
    "niveau 1/niveau 2 é/niveau 3 #/tout au fond.txt",
    unicodedata.normalize("NFD", "Noël élève à l'école.txt"),
]
EMPTY = "vide/fichier vide.txt"
BIG = "vidéos/gros fichier (50 Mo).bin"
REQUEST = re.compile(r'"(GET|HEAD|PUT|MKCOL|MOVE|COPY|DELETE|PROPFIND|PROPPATCH) (/[^"]*)"')
TRANSFERS = ("GET", "PUT", "MOVE", "COPY", "MKCOL", "DELETE")


def _require(binary: str, package: str) -> None:
    """Skip where the client is not installed, except in CI, where that is a failure."""
    if os.path.exists(binary) and os.access(binary, os.X_OK):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{binary} is required in CI (apt-get install {package})")
    pytest.skip(f"{binary} is not installed (apt-get install {package})")


@dataclass
class Run:
    """One client run: its exit status, its output, and the server's request lines
    during it as (method, provider path)."""

    code: int
    output: str
    requests: list[tuple[str, str]]

    def transfers(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] in TRANSFERS]


class SyncClient:
    """``nextcloudcmd`` or ``owncloudcmd`` for one user, with its own HOME."""

    def __init__(self, server: Server, kind: str, login: str, home: Path) -> None:
        self.server, self.kind, self.login = server, kind, login
        home.mkdir(parents=True, exist_ok=True)
        self.exclude = home / "exclude.lst"  # owncloudcmd finds no system list without it
        self.exclude.write_text("")
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("OWNCLOUD_", "NEXTCLOUD_"))}
        self.env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                         "XDG_DATA_HOME": str(home / ".local"), "QT_QPA_PLATFORM": "offscreen"})

    def sync(self, local: Path, remote: str = "") -> Run:
        """One sync of ``local`` with ``remote`` (a folder of the drive, "" the root)."""
        local.mkdir(parents=True, exist_ok=True)
        base = [NEXTCLOUDCMD if self.kind == "nextcloud" else OWNCLOUDCMD,
                "--non-interactive", "--exclude", str(self.exclude), "-u", self.login,
                "-p", self.server.users[self.login]]
        if self.kind == "nextcloud":
            cmd = [*base, *(["--path", "/" + remote] if remote else []), str(local),
                   self.server.base_url + "/"]
        else:  # ownCloud: the folder follows its DAV address
            cmd = [*base, str(local), f"{self.server.base_url}/remote.php/webdav/{remote}"]
        assert self.server.log_path is not None
        start = self.server.log_path.stat().st_size
        try:
            done = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                                  timeout=TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{self.kind} did not finish in {TIMEOUT} s: {exc.stderr!r}")
        with self.server.log_path.open("rb") as log:
            log.seek(start)
            lines = log.read().decode("utf-8", "replace")
        return Run(done.returncode, done.stdout + done.stderr, REQUEST.findall(lines))


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """prof (teacher) and eleve (student); rubric ``labo`` managed by prof, visited by
    eleve. Request lines are logged (INFO) to see what each run transferred."""
    with running_server(tmp_path_factory.mktemp("sync-clients"),
                        extra_env={"DAVSERVER_LOGGING__LEVEL": "INFO"}) as server:
        add_people(server, [Person("prof", "teacher"), Person("eleve", "student"),
                            Person("autre", "teacher")])
        cli_ok(server, "rubric", "add", "labo", "--name", "Laboratoire")
        cli_ok(server, "rubric", "grant", "labo", "manager", "--user", "prof")
        cli_ok(server, "rubric", "grant", "labo", "visitor", "--user", "eleve")
        yield server


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (the clients' own files left out) by NFC relative
    path, with its bytes; a name present twice (in NFC and in NFD) fails."""
    found = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith((".sync_", "._sync_", ".owncloudsync")) \
                and "/.sync_" not in rel and not rel.endswith(".lst"):
            key = unicodedata.normalize("NFC", rel)
            assert key not in found, f"{rel!r} is there twice (NFC and NFD)"
            found[key] = path.read_bytes()
    return found


def mtimes(root: Path) -> dict[str, int]:
    return {unicodedata.normalize("NFC", p.relative_to(root).as_posix()): int(p.stat().st_mtime)
            for p in root.rglob("*") if p.is_file() and not p.name.startswith((".sync_",
                                                                              "._sync_"))}


def make_tree(root: Path) -> dict[str, bytes]:
    """The teacher's files: real bytes under awkward names, an empty file, a file over
    50 MB; each file dated a whole second of its own, in the past."""
    real = _real_files()
    for rel in NAMES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(next(real), root / rel)
    (root / EMPTY).parent.mkdir(parents=True, exist_ok=True)
    (root / EMPTY).write_bytes(b"")
    (root / BIG).parent.mkdir(parents=True, exist_ok=True)
    _write_big_file(root / BIG)
    for i, path in enumerate(sorted(p for p in root.rglob("*") if p.is_file())):
        os.utime(path, (MTIME + i, MTIME + i))
    return tree(root)


def remote(srv: Server, login: str, path: str) -> requests.Response:
    return srv.session(login).get(f"{srv.dav_url}/{quote(path)}")


def remote_mtime(srv: Server, login: str, path: str) -> int:
    answer = srv.session(login).request("PROPFIND", f"{srv.dav_url}/{quote(path)}",
                                        headers={"Depth": "0"})
    assert answer.status_code == 207, (path, answer.status_code)
    found = re.search(rb"<D:getlastmodified>([^<]+)<", answer.content)
    assert found, answer.text
    return int(parsedate_to_datetime(found.group(1).decode()).timestamp())


def file_ids(srv: Server, login: str, folder: str) -> dict[str, str]:
    """oc:fileid of everything below ``folder`` (one level), by name."""
    body = (b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org'
            b'/ns"><d:prop><oc:fileid/></d:prop></d:propfind>')
    answer = srv.session(login).request("PROPFIND", f"{srv.dav_url}/{quote(folder)}/",
                                        data=body, headers={"Depth": "1"})
    assert answer.status_code == 207
    pairs = re.findall(rb"<D:href>([^<]+)</D:href>.*?<fileid[^>]*>(\d+)<", answer.content,
                       re.DOTALL)
    return {h.decode().rstrip("/").rsplit("/", 1)[-1]: i.decode() for h, i in pairs}


# --- nextcloudcmd ---------------------------------------------------------------------

def test_nextcloud_first_sync_both_ways_then_nothing_to_do(srv: Server, tmp_path: Path
                                                           ) -> None:
    """Up: every file arrives byte for byte with its date, the 50 MB one in chunks
    (MKCOL of an upload folder, chunk PUTs, one MOVE of ``.file``), the NFD name once.
    Down: a second computer gets the same tree and dates. Then neither run has
    anything left to send."""
    _require(NEXTCLOUDCMD, "nextcloud-desktop-cmd")
    client = SyncClient(srv, "nextcloud", "prof", tmp_path / "home")
    up = tmp_path / "poste-1"
    files = make_tree(up / "porte-documents" / "cours")
    dates = mtimes(up / "porte-documents" / "cours")
    first = client.sync(up)
    assert first.code == 0, first.output[-3000:]
    methods = [m for m, p in first.requests if p.startswith("/.uploads/")]
    assert "MKCOL" in methods and "PUT" in methods and methods[-1] == "MOVE", \
        "the 50 MB file was not sent in chunks"
    for rel, data in files.items():
        got = remote(srv, "prof", f"porte-documents/cours/{rel}")
        assert got.status_code == 200, rel
        assert hashlib.sha1(got.content).digest() == hashlib.sha1(data).digest(), rel
        assert remote_mtime(srv, "prof", f"porte-documents/cours/{rel}") == dates[rel], rel
    with srv.app() as app:  # the chunks are gone, nothing is reserved
        figures = app.store.usage(space_id(srv, "prof"))
        assert figures is not None and figures.reserved == 0
    # The synced root has the three spaces, and nothing else came down.
    assert {p.name for p in up.iterdir() if not p.name.startswith(".")} == {
        "porte-documents", "rubriques", "classeur"}
    again = client.sync(up)
    assert again.code == 0 and again.transfers() == [], again.transfers()
    assert tree(up / "porte-documents" / "cours") == files  # the NFD name, once

    down = tmp_path / "poste-2"
    other = SyncClient(srv, "nextcloud", "prof", tmp_path / "home-2")
    fetched = other.sync(down)
    assert fetched.code == 0, fetched.output[-3000:]
    assert tree(down / "porte-documents" / "cours") == files
    assert mtimes(down / "porte-documents" / "cours") == dates
    assert other.sync(down).transfers() == []


def test_nextcloud_one_space_edits_both_ways_and_a_conflict(srv: Server, tmp_path: Path
                                                            ) -> None:
    """``--path /porte-documents``: a local edit goes up, a server edit comes down; the
    same file changed on both sides keeps both (the server's under its name, the local
    one as a conflict copy), and the server's is never overwritten."""
    _require(NEXTCLOUDCMD, "nextcloud-desktop-cmd")
    client = SyncClient(srv, "nextcloud", "prof", tmp_path / "home")
    local = tmp_path / "docs"
    (local / "edits").mkdir(parents=True)
    for name in ("local.txt", "server.txt", "both.txt"):
        (local / "edits" / name).write_text(f"v1 of {name}\n")
    assert client.sync(local, "porte-documents").code == 0
    (local / "edits" / "local.txt").write_text("v2 written here\n")
    (local / "edits" / "both.txt").write_text("v2 written here\n")
    os.utime(local / "edits" / "local.txt", (MTIME + 500, MTIME + 500))
    session = srv.session("prof")
    for name in ("server.txt", "both.txt"):
        assert session.put(f"{srv.documents_url}/edits/{name}",
                           data=b"v2 written on the server\n").status_code == 204
    run = client.sync(local, "porte-documents")
    assert remote(srv, "prof", "porte-documents/edits/local.txt").content == \
        b"v2 written here\n"
    assert remote_mtime(srv, "prof", "porte-documents/edits/local.txt") == MTIME + 500
    assert (local / "edits" / "server.txt").read_bytes() == b"v2 written on the server\n"
    assert remote(srv, "prof", "porte-documents/edits/both.txt").content == \
        b"v2 written on the server\n"
    assert (local / "edits" / "both.txt").read_bytes() == b"v2 written on the server\n"
    conflicts = [p for p in (local / "edits").iterdir() if "conflicted copy" in p.name]
    assert len(conflicts) == 1, (list((local / "edits").iterdir()), run.output[-2000:])
    assert conflicts[0].read_bytes() == b"v2 written here\n"


def test_nextcloud_renames_and_moves_a_deep_folder_without_sending_it_again(
        srv: Server, tmp_path: Path) -> None:
    """Renamed on the computer: one MOVE, no PUT, the ids kept. Moved on the server:
    the computer moves its copy, no GET."""
    _require(NEXTCLOUDCMD, "nextcloud-desktop-cmd")
    client = SyncClient(srv, "nextcloud", "prof", tmp_path / "home")
    local = tmp_path / "docs"
    deep = local / "classe" / "3e B" / "trimestre 1" / "évaluations"
    deep.mkdir(parents=True)
    for i in range(5):
        (deep / f"devoir {i}.pdf").write_bytes(os.urandom(20000 + i))
    assert client.sync(local, "porte-documents").code == 0
    before = file_ids(srv, "prof", "porte-documents/classe/3e B/trimestre 1/évaluations")
    (local / "classe" / "3e B").rename(local / "classe" / "3e B (2025)")
    renamed = client.sync(local, "porte-documents")
    assert renamed.code == 0, renamed.output[-2000:]
    assert [m for m, _ in renamed.transfers()] == ["MOVE"], renamed.transfers()
    assert file_ids(srv, "prof", "porte-documents/classe/3e B (2025)/trimestre 1/évaluations"
                    ) == before
    moved = srv.session("prof").request(
        "MOVE", f"{srv.documents_url}/{quote('classe/3e B (2025)/trimestre 1')}",
        headers={"Destination": f"{srv.documents_url}/{quote('archives 2025')}"})
    assert moved.status_code == 201
    followed = client.sync(local, "porte-documents")
    assert followed.code == 0, followed.output[-2000:]
    assert not [t for t in followed.transfers() if t[0] in ("GET", "PUT")], followed.transfers()
    assert sorted(p.name for p in (local / "archives 2025" / "évaluations").iterdir()) == [
        f"devoir {i}.pdf" for i in range(5)]
    assert not (local / "classe" / "3e B (2025)" / "trimestre 1").exists()


def test_nextcloud_a_delete_is_undone_from_the_trash(srv: Server, tmp_path: Path) -> None:
    _require(NEXTCLOUDCMD, "nextcloud-desktop-cmd")
    client = SyncClient(srv, "nextcloud", "prof", tmp_path / "home")
    local = tmp_path / "docs"
    (local / "corbeille-test").mkdir(parents=True)
    (local / "corbeille-test" / "précieux.odt").write_bytes(b"ne pas perdre")
    assert client.sync(local, "porte-documents").code == 0
    (local / "corbeille-test" / "précieux.odt").unlink()
    gone = client.sync(local, "porte-documents")
    assert ("DELETE", "/porte-documents/corbeille-test/précieux.odt") in gone.requests
    assert remote(srv, "prof", "porte-documents/corbeille-test/précieux.odt"
                  ).status_code == 404
    listed = cli_ok(srv, "trash", "list", "--space", "prof")
    item = next(line.split()[0] for line in listed.splitlines() if "précieux.odt" in line)
    cli_ok(srv, "trash", "restore", item)
    back = client.sync(local, "porte-documents")
    assert back.code == 0
    assert (local / "corbeille-test" / "précieux.odt").read_bytes() == b"ne pas perdre"


def test_nextcloud_a_file_over_quota_is_refused_and_nothing_is_half_written(
        srv: Server, tmp_path: Path) -> None:
    """autre has 1 MiB: a 3 MB file (sent in chunks) and a 1.5 MB one (one PUT) are
    refused with 507; the server keeps nothing of them, reserves nothing, and the
    computer keeps them; a small file beside them goes up."""
    _require(NEXTCLOUDCMD, "nextcloud-desktop-cmd")
    cli_ok(srv, "quota", "set", "autre", "1MiB")
    client = SyncClient(srv, "nextcloud", "autre", tmp_path / "home")
    client.env["OWNCLOUD_CHUNK_SIZE"] = str(2_000_000)  # chunks for the 3 MB file
    local = tmp_path / "docs"
    local.mkdir()
    big, single = os.urandom(3_000_000), os.urandom(1_500_000)
    (local / "trop gros.bin").write_bytes(big)
    (local / "un peu gros.bin").write_bytes(single)
    (local / "petit.txt").write_text("ça passe\n")
    run = client.sync(local, "porte-documents")
    assert run.code != 0  # the client reports the refusal
    assert any(p.startswith("/.uploads/") for m, p in run.requests if m == "MKCOL")
    for name in ("trop gros.bin", "un peu gros.bin"):
        assert remote(srv, "autre", f"porte-documents/{name}").status_code == 404
    assert remote(srv, "autre", "porte-documents/petit.txt").content == "ça passe\n".encode()
    with srv.app() as app:
        figures = app.store.usage(space_id(srv, "autre"))
    assert figures is not None and figures.reserved == 0
    assert figures.used == len("ça passe\n".encode())
    assert (local / "trop gros.bin").read_bytes() == big
    assert (local / "un peu gros.bin").read_bytes() == single
    assert "fsck: clean" in cli_ok(srv, "fsck")


def test_nextcloud_in_a_rubric_a_visitor_reads_and_writes_nothing(srv: Server,
                                                                  tmp_path: Path) -> None:
    """eleve visits ``labo``: its files come down; a file eleve adds there stays on
    the computer and is never sent (the folder's permissions say no), and what eleve
    deletes there comes back."""
    _require(NEXTCLOUDCMD, "nextcloud-desktop-cmd")
    assert srv.session("prof").put(rubric_url(srv, "labo", "/consignes.pdf"),
                                   data=b"consignes").status_code == 201
    client = SyncClient(srv, "nextcloud", "eleve", tmp_path / "home")
    local = tmp_path / "labo"
    assert client.sync(local, "rubriques/labo").code == 0
    assert (local / "consignes.pdf").read_bytes() == b"consignes"
    (local / "mon travail.txt").write_text("à rendre\n")
    (local / "consignes.pdf").unlink()
    run = client.sync(local, "rubriques/labo")
    assert not [t for t in run.requests if t[0] in ("PUT", "MKCOL", "DELETE", "MOVE")], \
        run.requests
    assert (local / "mon travail.txt").read_text() == "à rendre\n"  # kept, not lost
    assert (local / "consignes.pdf").read_bytes() == b"consignes"  # restored
    assert srv.session("prof").get(rubric_url(srv, "labo", "/mon travail.txt")
                                   ).status_code == 404


# --- owncloudcmd ------------------------------------------------------------------------

def test_owncloud_syncs_both_ways_in_chunks_and_follows_a_rename(srv: Server,
                                                                 tmp_path: Path) -> None:
    """ownCloud's engine (chunking "NG"): up with the big file in chunks, down on a
    second computer, a rename without sending again, then nothing to do."""
    _require(OWNCLOUDCMD, "owncloud-client-cmd")
    client = SyncClient(srv, "owncloud", "prof", tmp_path / "home")
    up = tmp_path / "poste-1"
    files = make_tree(up)
    first = client.sync(up, "classeur")
    assert first.code == 0, first.output[-3000:]
    assert [m for m, p in first.requests if p.startswith("/.uploads/")][-1:] == ["MOVE"]
    for rel, data in files.items():
        assert remote(srv, "prof", f"classeur/{rel}").content == data, rel
    assert client.sync(up, "classeur").transfers() == []
    down = tmp_path / "poste-2"
    other = SyncClient(srv, "owncloud", "prof", tmp_path / "home-2")
    assert other.sync(down, "classeur").code == 0
    assert {k: v for k, v in tree(down).items() if not k.startswith("Remises/")} == files
    (down / "vidéos").rename(down / "films")
    renamed = other.sync(down, "classeur")
    assert [m for m, _ in renamed.transfers()] == ["MOVE"], renamed.transfers()
    assert len(remote(srv, "prof", "classeur/films/gros fichier (50 Mo).bin").content) \
        == BIG_SIZE
