"""rclone round trips through the webdav backend: a tree of real files with awkward
names goes up to alice's porte-documents and comes back byte for byte.

``vendor=other`` is the plain WebDAV path; ``vendor=owncloud`` adds ``X-OC-Mtime`` on
upload (modification times must survive) and ``oc:checksums`` on listings (``rclone
check`` compares SHA1/MD5 hashes instead of sizes only).
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from tests.conftest import Server

# One database is enough: a real client's round trip over the store, which the store's
# tests check on both (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clients, pytest.mark.one_database]

RCLONE = shutil.which("rclone") or "/usr/bin/rclone"
TIMEOUT = 300  # seconds for one rclone command
BIG_SIZE = 50 * 1024 * 1024 + 12345  # just over 50 MB
MIN_FILES = 200

# Names a school's files really carry; each gets the bytes of a real file.
AWKWARD_NAMES = [
    "résumé du cours.txt",
    "français/leçon à réviser.txt",
    "C# et C++ notes.txt",
    "100% réussite.txt",
    "a+b=c.txt",
    "Tom & Jerry.txt",
    "l'élève d'à côté.txt",
    "fête 🎉 de fin d'année.txt",
    "  espaces  au milieu.txt",
    "[brouillon] v2 ; final=1 @prof.txt",
    "ça, c'est #1 & 50% + 🎓/à lire.txt",
    # Nested at least four levels deep, with awkward folder names on the way.
    "niveau 1/niveau 2 é/niveau 3 #/niveau 4 %/niveau 5 & fin/tout au fond.txt",
    "niveau 1/niveau 2 é/niveau 3 #/niveau 4 %/voisin + 1.txt",
    "niveau 1/niveau 2 é/Ça marche'.txt",
    # Given in NFD (decomposed accents): the server keeps them as written (issue 17).
    unicodedata.normalize("NFD", "Noël élève à l'école.txt"),
    unicodedata.normalize("NFD", "décomposé/Gaëlle présentation.txt"),
]
EMPTY_NAME = "vide/fichier vide.txt"
BIG_NAME = "vidéos/gros fichier #1 (50 Mo+).bin"


# --- the tool -----------------------------------------------------------------


def _require_rclone() -> None:
    """Skip where rclone is not installed, except in CI, where that is a failure."""
    if os.path.exists(RCLONE) and os.access(RCLONE, os.X_OK):
        return
    if os.environ.get("CI"):
        pytest.fail(f"rclone is required in CI but {RCLONE} is missing "
                    "(apt-get install rclone)")
    pytest.skip("rclone is not installed (apt-get install rclone)")


class Rclone:
    """rclone with a private config file, cache dir and bounded run time."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.config = home / "rclone.conf"
        self.config.write_text("")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
        self.env.update({
            "RCLONE_CONFIG": str(self.config),
            "RCLONE_CACHE_DIR": str(home / "cache"),
            "HOME": str(home),  # nothing may land in the real ~/.config or ~/.cache
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
        })

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [RCLONE, *args]
        try:
            proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                                  timeout=TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"rclone {' '.join(args)} did not finish within {TIMEOUT} s\n"
                        f"stderr:\n{_text(exc.stderr)}")
        if check and proc.returncode != 0:
            print(proc.stderr)
            pytest.fail(f"rclone {' '.join(args)} exited {proc.returncode}\n"
                        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def add_webdav_remote(self, name: str, url: str, user: str, password: str,
                          vendor: str) -> None:
        obscured = self.run("obscure", password).stdout.strip()
        with self.config.open("a") as fh:
            fh.write(f"[{name}]\ntype = webdav\nurl = {url}\nvendor = {vendor}\n"
                     f"user = {user}\npass = {obscured}\n\n")


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


# Every command fails on the first real error instead of retrying it away.
TRANSFER_FLAGS = ("--transfers", "4", "--checkers", "8", "--retries", "1",
                  "--low-level-retries", "1", "--contimeout", "10s", "--timeout", "120s",
                  "--stats", "0", "-v")


# --- the source tree ----------------------------------------------------------


def _real_files() -> Iterator[Path]:
    """Readable regular files already on the machine, mixed kinds (text, gzip, ELF,
    images, config) and sizes (bytes to 2 MB), in a stable order."""
    sources = [  # (folder, pattern, how many at most)
        (Path("/usr/share/common-licenses"), "*", 20),
        (Path("/usr/share/doc"), "*/copyright", 50),
        (Path("/usr/share/doc"), "*/changelog.Debian.gz", 50),
        (Path("/usr/share/doc"), "*/README*", 20),
        (Path("/usr/bin"), "*", 70),
        (Path("/usr/share/pixmaps"), "*", 10),
        (Path("/etc"), "*.conf", 20),
        (Path("/usr/share/doc"), "*/*", 1000),  # whatever else, should the above be few
    ]
    seen: set[Path] = set()
    for root, pattern, limit in sources:
        taken = 0
        for path in sorted(root.glob(pattern)):
            if taken >= limit:
                break
            try:
                if (path not in seen and path.is_file() and not path.is_symlink()
                        and 0 < path.stat().st_size <= 2 * 1024 * 1024
                        and os.access(path, os.R_OK)):
                    seen.add(path)
                    taken += 1
                    yield path
            except OSError:
                continue


def _write_big_file(dest: Path) -> None:
    """Just over 50 MB of real bytes: /usr/bin's programs one after another."""
    sources = [p for p in sorted(Path("/usr/bin").iterdir())
               if p.is_file() and not p.is_symlink() and os.access(p, os.R_OK)]
    assert sources, "no readable file in /usr/bin to build the big file from"
    written = 0
    with dest.open("wb") as out:
        while written < BIG_SIZE:
            for src in sources:
                data = src.read_bytes()[: BIG_SIZE - written]
                out.write(data)
                written += len(data)
                if written >= BIG_SIZE:
                    break


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """At least 200 real files of mixed kinds and sizes, awkward names, one empty, one
    over 50 MB; every file has a distinct whole-second mtime in the past."""
    root = tmp_path_factory.mktemp("rclone-src") / "arbre"
    root.mkdir()
    real = _real_files()

    def place(rel: str) -> None:
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(next(real), dest)

    for rel in AWKWARD_NAMES:
        place(rel)
    (root / EMPTY_NAME).parent.mkdir(parents=True, exist_ok=True)
    (root / EMPTY_NAME).write_bytes(b"")
    (root / BIG_NAME).parent.mkdir(parents=True, exist_ok=True)
    _write_big_file(root / BIG_NAME)

    # The bulk: real files under their own names, spread over a few folders.
    count = len(_files(root))
    used_names: set[str] = set()
    folders = ["docs", "licences", "programmes", "divers/sous-dossier", "élèves/3e B"]
    for index, src in enumerate(real):
        if count >= MIN_FILES + 20:
            break
        name = src.name if src.parent.parent != Path("/usr/share/doc") else (
            f"{src.parent.name}.{src.name}")
        folder = folders[index % len(folders)]
        rel = f"{folder}/{name}"
        if rel in used_names:
            continue
        used_names.add(rel)
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        count += 1

    files = _files(root)
    assert len(files) >= MIN_FILES, f"only {len(files)} source files"
    base = 1_500_000_000  # 2017-07-14, well in the past
    for i, rel in enumerate(sorted(files)):
        stamp = base + i * 86_399
        os.utime(files[rel], (stamp, stamp))
    return root


def _files(root: Path) -> dict[str, Path]:
    """Files under ``root`` by relative path, exactly as spelled on disk: the server
    gives names back as they were written, NFD included (issue 17)."""
    found: dict[str, Path] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            found[path.relative_to(root).as_posix()] = path
    return found


# --- the round trips ----------------------------------------------------------


def _remote_path(server: Server, folder: str) -> str:
    prefix = server.documents_url + "/"
    assert folder.startswith(prefix)
    return unquote(folder[len(prefix):])


def _round_trip(server: Server, folder: str, tmp_path: Path, source: Path,
                vendor: str) -> tuple[Rclone, str, Path]:
    """Copy ``source`` up into ``folder`` and back into an empty local dir; assert
    every file came back byte-identical. Returns (rclone, remote, download dir)."""
    _require_rclone()
    rclone = Rclone(tmp_path / "rclone")
    rclone.add_webdav_remote("ent", server.documents_url, "alice", server.users["alice"],
                             vendor)
    remote = f"ent:{_remote_path(server, folder)}"

    rclone.run("copy", str(source), remote, *TRANSFER_FLAGS)

    down = tmp_path / "retour"
    down.mkdir()
    rclone.run("copy", remote, str(down), *TRANSFER_FLAGS)

    sent, got = _files(source), _files(down)
    assert len(got) == len(sent), (
        f"{len(sent)} files sent, {len(got)} came back\n"
        f"missing: {sorted(set(sent) - set(got))}\nextra: {sorted(set(got) - set(sent))}")
    assert set(got) == set(sent)
    different = [rel for rel in sent if not filecmp.cmp(sent[rel], got[rel], shallow=False)]
    assert not different, f"content changed in the round trip: {different}"
    # The server holds the names themselves (rclone's webdav encoding is identity for
    # these vendors), as written: a plain client finds each file at its
    # percent-encoded URL, in the spelling it was sent in or in the other one.
    session = server.session("alice")
    for rel in AWKWARD_NAMES:
        for spelling in {rel, unicodedata.normalize("NFC", rel)}:
            response = session.get(f"{folder}/{quote(spelling)}")
            assert response.status_code == 200, (spelling, response.status_code)
            assert response.content == sent[rel].read_bytes(), spelling
    big = got[BIG_NAME]
    assert big.stat().st_size == BIG_SIZE
    assert got[EMPTY_NAME].stat().st_size == 0
    return rclone, remote, down


def test_rclone_round_trip_plain_webdav(server: Server, folder: str, tmp_path: Path,
                                        source_tree: Path) -> None:
    _round_trip(server, folder, tmp_path, source_tree, "other")


def test_rclone_round_trip_owncloud_keeps_mtimes_and_checksums(
        server: Server, folder: str, tmp_path: Path, source_tree: Path) -> None:
    rclone, remote, down = _round_trip(server, folder, tmp_path, source_tree, "owncloud")

    # rclone sent X-OC-Mtime on every PUT and set the downloaded files' mtimes from
    # the server's getlastmodified: both must be the source's, to the second.
    sent, got = _files(source_tree), _files(down)
    wrong = {rel: (int(sent[rel].stat().st_mtime), int(got[rel].stat().st_mtime))
             for rel in sent
             if int(sent[rel].stat().st_mtime) != int(got[rel].stat().st_mtime)}
    assert not wrong, (f"{len(wrong)} modification times not kept (sent, got): "
                       f"{dict(list(wrong.items())[:10])}")

    # The listing's oc:checksums are the content's SHA1 and MD5, for every file.
    listing = json.loads(rclone.run("lsjson", "-R", "--files-only", "--hash", remote,
                                    *TRANSFER_FLAGS).stdout)
    hashes = {entry["Path"]: entry.get("Hashes") or {} for entry in listing}
    assert set(hashes) == set(sent)
    bad_hashes = {}
    for rel, path in sent.items():
        data = path.read_bytes()
        expected = {"sha1": hashlib.sha1(data).hexdigest(),
                    "md5": hashlib.md5(data).hexdigest()}
        if {k: hashes[rel].get(k) for k in expected} != expected:
            bad_hashes[rel] = (hashes[rel], expected)
    assert not bad_hashes, f"wrong or missing oc:checksums (got, expected): {bad_hashes}"

    # With vendor=owncloud the listing carries oc:checksums: rclone check compares
    # hashes, and every one of them must have been comparable.
    check = rclone.run("check", str(source_tree), remote,
                       *TRANSFER_FLAGS, check=False)
    print("\n".join(line for line in check.stderr.splitlines() if "NOTICE" in line))
    assert check.returncode == 0, f"rclone check exited {check.returncode}:\n{check.stderr}"
    assert re.search(r"\b0 differences found", check.stderr), check.stderr
    assert "could not be checked" not in check.stderr, check.stderr
    assert re.search(rf"\b{len(sent)} matching files", check.stderr), check.stderr


def test_rclone_bisync_twice_with_nfd_names_needs_no_resync(
        server: Server, folder: str, tmp_path: Path) -> None:
    """Issue 17: with one NFD name, the second bisync ended in "path1 and path2 are
    out of sync" (the listing came back in NFC), and every run needed --resync. The
    names must come back as written: a second and a third run, without --resync,
    find nothing to do; a change on either side then goes across."""
    _require_rclone()
    rclone = Rclone(tmp_path / "rclone")
    rclone.add_webdav_remote("ent", server.documents_url, "alice", server.users["alice"],
                             "owncloud")
    remote = f"ent:{_remote_path(server, folder)}"
    local = tmp_path / "local"
    names = [unicodedata.normalize("NFD", "Noël élève.txt"),
             unicodedata.normalize("NFD", "décomposé") + "/" + unicodedata.normalize(
                 "NFD", "Gaëlle.txt"), "déjà composé.txt", "plain.txt"]
    for i, rel in enumerate(names):
        (local / rel).parent.mkdir(parents=True, exist_ok=True)
        (local / rel).write_bytes(f"contenu {i}\n".encode())
        os.utime(local / rel, (1_500_000_000 + i, 1_500_000_000 + i))
    workdir = ("--workdir", str(tmp_path / "bisync"))
    rclone.run("bisync", str(local), remote, "--resync", *workdir, *TRANSFER_FLAGS)
    for run in ("second", "third"):
        again = rclone.run("bisync", str(local), remote, *workdir, *TRANSFER_FLAGS,
                           check=False)
        assert again.returncode == 0, f"{run} bisync failed:\n{again.stderr}"
        assert "out of sync" not in again.stderr and "resync" not in again.stderr.lower(), \
            again.stderr
    listed = {entry["Path"] for entry in json.loads(
        rclone.run("lsjson", "-R", "--files-only", remote, *TRANSFER_FLAGS).stdout)}
    assert listed == set(names), [n.encode() for n in listed ^ set(names)]
    # A change on each side goes across on the next run, still without --resync.
    # (bisync sees a change by its modification time: fixed ones, later than the
    # first, so that the outcome never depends on the second the test runs in)
    (local / names[0]).write_bytes(b"changed here\n")
    os.utime(local / names[0], (1_600_000_000, 1_600_000_000))
    session = server.session("alice")
    assert session.put(f"{folder}/{quote(names[3])}", data=b"changed there\n",
                       headers={"X-OC-Mtime": "1600000001"}).status_code == 204
    rclone.run("bisync", str(local), remote, *workdir, *TRANSFER_FLAGS)
    assert (local / names[3]).read_bytes() == b"changed there\n"
    assert session.get(f"{folder}/{quote(names[0])}").content == b"changed here\n"
    assert sorted(_files(local)) == sorted(names)
