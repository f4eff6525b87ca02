"""davfs2, Linux's WebDAV filesystem (FUSE), on ``/dav/`` of a real server (issue 17).

davfs2 compares the names of a listing with those it knows byte for byte: a file it
created in NFD and got back in NFC "vanished", its content went to the local
``lost+found`` and a 0-byte file stayed on the server. Here a tree of NFC and NFD
names is copied onto the mount, unmounted (davfs2 uploads then), mounted again and
compared: same names to the byte, same bytes, nothing in ``lost+found``. A copy over
the quota leaves nothing on the server (davfs2 LOCKs the new name first, which
creates an empty file, RFC 4918 §7.3, then its PUT gets 507). ``df`` on the mount
reads the quota of ``/dav/``.

Needs root, ``/dev/fuse`` and davfs2 (``bash .ci/install-test-deps``). Where one is
missing the tests skip saying which, except in CI (``CI`` set), where that fails.
davfs2 1.7.0 (Debian 12) on Linux 6.16 and later answers ``EINVAL`` to every
directory read unless ``buf_size`` is at least 64 (alisarctl/davfs2#22, fixed in
1.7.2): the configuration sets it. Each mount and unmount takes a few seconds:
about 30 s for the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import Server, running_server
from tests.integration.test_client_cases_17 import listing_names

# A real client's round trip over the store, whose names, quota and lock-null files
# test_client_cases_17 checks on both databases (docs/development.md).
pytestmark = [pytest.mark.clients, pytest.mark.one_database]

MOUNT = shutil.which("mount.davfs") or "/sbin/mount.davfs"
NFD = [unicodedata.normalize("NFD", n) for n in ("Élève été.txt", "Noël", "Année 2026")]
TREE = {
    NFD[0]: b"decomposed name\n",
    "Déjà composé.txt": b"composed name\n",
    f"{NFD[1]}/{unicodedata.normalize('NFD', 'crèche.odt')}": b"in an NFD folder\n" * 50,
    f"{NFD[1]}/plain.txt": b"plain\n",
    f"Été/{NFD[2]}/profond.txt": b"deep\n" * 1000,
    "한국어 파일.txt": b"hangul, precomposed\n",
    unicodedata.normalize("NFD", "한국어 자모.txt"): b"hangul, decomposed into jamo\n",
}


def _cannot_mount() -> str | None:
    """Why davfs2 cannot mount here, or None."""
    if not os.path.exists(MOUNT):
        return "davfs2 is not installed (bash .ci/install-test-deps)"
    if os.geteuid() != 0:
        return "mounting needs root (mount.davfs is run by the test, without sudo)"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing (no FUSE in this machine or container)"
    return None


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    reason = _cannot_mount()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"davfs2 must run in CI: {reason}")
        pytest.skip(reason)
    with running_server(tmp_path_factory.mktemp("davfs2"),
                        users={"dora": "teacher", "olga": "student"}) as server:
        yield server


@contextmanager
def mounted(server: Server, user: str, work: Path) -> Iterator[Path]:
    """``/dav/`` of ``server`` mounted with davfs2 as ``user``; unmounting waits for
    davfs2 to upload what it holds (umount.davfs)."""
    mountpoint = work / "mnt"
    mountpoint.mkdir(parents=True, exist_ok=True)
    # mount.davfs drops root for the davfs2 user, which must reach its cache: not
    # below pytest's private tmp directory.
    cache = Path(tempfile.mkdtemp(prefix="davfs2-cache-"))
    try:  # as Debian makes /var/cache/davfs2
        shutil.chown(cache, "root", "davfs2")
        cache.chmod(0o775)
    except LookupError:
        cache.chmod(0o777)
    (work / "cache").symlink_to(cache)
    conf = work / "davfs2.conf"
    conf.write_text(f"use_locks 1\nbuf_size 64\ncache_dir {cache}\ndelay_upload 0\n")
    done = subprocess.run(
        ["mount", "-t", "davfs", f"{server.dav_url}/", str(mountpoint), "-o", f"conf={conf}"],
        input=f"{user}\n{server.users[user]}\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"mount -t davfs failed: {done.stderr}"
    try:
        yield mountpoint
    finally:
        gone = subprocess.run(["umount", str(mountpoint)], capture_output=True, text=True,
                              timeout=120)
        assert gone.returncode == 0, f"umount failed: {gone.stderr}"
        shutil.rmtree(cache, ignore_errors=True)


def _tree(root: Path) -> dict[bytes, bytes]:
    """Every file below ``root``: its relative path as bytes → its content."""
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            found[os.fsencode(path.relative_to(root))] = path.read_bytes()
    return found


def test_a_tree_of_nfc_and_nfd_names_survives_a_remount(srv: Server, tmp_path: Path) -> None:
    source = tmp_path / "source"
    for rel, data in TREE.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
    with mounted(srv, "dora", tmp_path / "first") as mnt:
        shutil.copytree(source, mnt / "porte-documents" / "arbre")
    # On the server: each name as davfs2 wrote it, byte for byte.
    session = srv.session("dora")
    top = listing_names(session, f"{srv.documents_url}/arbre/")
    assert sorted(n.encode() for n in top) == sorted(
        {rel.split("/")[0].encode() for rel in TREE})
    with mounted(srv, "dora", tmp_path / "second") as mnt:
        assert _tree(mnt / "porte-documents" / "arbre") == _tree(source)
        assert sorted(os.listdir(mnt / "lost+found")) == []


def test_a_copy_over_the_quota_leaves_nothing_on_the_server(srv: Server,
                                                            tmp_path: Path) -> None:
    """davfs2 LOCKs the new name (an empty file) and its PUT gets 507: the empty file
    goes, the file that fits stays, the ledger counts it alone, fsck is clean and the
    log holds no traceback. Takes about 20 s: one mount, then an unmount, which waits
    until davfs2 is done with the upload the server refused."""
    srv.cli("quota", "set", "olga", "200KiB")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(300 * 1024))
    session = srv.session("olga")
    with mounted(srv, "olga", tmp_path / "m") as mnt:
        stats = os.statvfs(mnt)
        free = stats.f_bavail * stats.f_frsize
        assert 150 * 1024 < free <= 200 * 1024 + stats.f_frsize, (free, stats)
        shutil.copyfile(big, mnt / "porte-documents" / "trop gros.bin")
        (mnt / "porte-documents" / "petit.txt").write_bytes(b"fits")
    names = listing_names(session, f"{srv.documents_url}/")
    assert names == ["petit.txt"], names  # no 0-byte "trop gros.bin"
    used = srv.cli("quota", "show", "olga").stdout
    assert "4 B" in used, used
    fsck = srv.cli("fsck", check=False)
    assert fsck.returncode == 0, fsck.stdout
    assert "Traceback" not in (srv.log_path.read_text() if srv.log_path else "")


def test_df_on_the_mount_reads_the_quota(srv: Server, tmp_path: Path) -> None:
    """``df`` showed 0 free and 100 % used on ``/dav/``, whose quota properties were
    empty: it shows the porte-documents' room now."""
    srv.cli("quota", "set", "dora", "10MiB")
    with mounted(srv, "dora", tmp_path / "m") as mnt:
        done = subprocess.run(["df", "-B1", "--output=size,avail", str(mnt)],
                              capture_output=True, text=True, timeout=30, check=True)
    size, avail = (int(x) for x in done.stdout.split()[-2:])
    assert 9 * 2**20 < avail <= size <= 11 * 2**20, done.stdout
