"""Invariants of the node/blob store (DESIGN.md, "Storage model") on a real database
and a real blob directory: no mock of either.

Run on SQLite, and again on PostgreSQL when ``DAVSERVER_DATABASE_URL`` points at one.
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select, update
from wsgidav.lock_man.lock_manager import LockManager

import quotas
from davserver import clock
from davserver.db import Database
from davserver.errors import BadRequest, Conflict, Forbidden, InsufficientStorage
from providers import LocalBlobStore, SpaceInfo, SqlLockStorage, Store, fsck, versions
from providers.models import Blob, DavLock, Node
from providers.names import validate_name
from tests.unit.conftest import (
    blob_files,
    count_queries,
    destroy,
    read,
    set_limit,
    used,
    write,
)

# --- helpers ---------------------------------------------------------------


def blob_rows(db: Database) -> set[str]:
    with db.transaction(write=False) as s:
        return set(s.scalars(select(Blob.key)))


def real_usage(store: Store, space_id: int) -> int:
    root = store.resolve(space_id, "")
    assert root is not None
    return sum(n.size for n in store.descendants(root) if not n.is_collection)


def fill_folder(store: Store, space: SpaceInfo, path: str, count: int) -> None:
    """``count`` members through the store's own API: files that share one blob
    (COPY), and a sub-folder every tenth member."""
    store.make_collection(space.id, path)
    write(store, space.id, f"{path}/f0000.txt", b"member")
    first = store.resolve(space.id, f"{path}/f0000.txt")
    assert first is not None
    for i in range(1, count):
        if i % 10 == 0:
            store.make_collection(space.id, f"{path}/d{i:04d}")
        else:
            store.copy(first, space.id, f"{path}/f{i:04d}.txt", recursive=False)


# --- query counts ----------------------------------------------------------


def test_resolve_is_one_query(store: Store, space: SpaceInfo) -> None:
    store.make_collection(space.id, "/a")
    store.make_collection(space.id, "/a/b")
    write(store, space.id, "/a/b/c.txt", b"deep")
    store.resolve(space.id, "")  # warm the pool: connecting is not a query
    for path in ("", "/a", "/a/b", "/a/b/c.txt", "/a/missing", "/nothing/at/all"):
        with count_queries(store.db) as counter:
            store.resolve(space.id, path)
        assert counter.count == 1, (path, counter.statements)


@pytest.mark.parametrize("depth", [1, 2, 32, 33, 40])
def test_resolve_chain_is_one_query_at_any_depth(store: Store, space: SpaceInfo,
                                                 depth: int) -> None:
    """Paths up to ``CACHED_DEPTHS`` deep take a statement of their own, deeper ones
    the general statement: the same chain either way, in one query."""
    folders = "".join(f"/d{i}" for i in range(depth - 1))
    for i in range(1, depth):
        store.make_collection(space.id, "".join(f"/d{j}" for j in range(i)))
    write(store, space.id, f"{folders}/file.txt", b"deep")
    for path, found in ((f"{folders}/file.txt", depth + 1), (f"{folders}/missing", depth)):
        with count_queries(store.db) as counter:
            chain = store.resolve_chain(space.id, path)
        assert counter.count == 1, counter.statements
        assert [n.path for n in chain] == [""] + [
            "".join(f"/d{j}" for j in range(i)) for i in range(1, depth)] + (
            [f"{folders}/file.txt"] if found > depth else [])
        assert [n.is_collection for n in chain] == [True] * depth + [False] * (found - depth)


@pytest.mark.parametrize("members", [5, 500])
def test_children_is_one_query_whatever_the_member_count(
    store: Store, space: SpaceInfo, members: int
) -> None:
    fill_folder(store, space, "/big", members)
    folder = store.resolve(space.id, "/big")
    assert folder is not None
    with count_queries(store.db) as counter:
        children = store.children(folder)
    assert len(children) == members
    assert counter.count == 1, counter.statements
    assert [c.name for c in children] == sorted(c.name for c in children)
    files = [c for c in children if not c.is_collection]
    assert files and all(c.blob_key is not None for c in files)  # joined in that query


def test_children_and_descendants_counts_do_not_grow(store: Store, space: SpaceInfo) -> None:
    fill_folder(store, space, "/small", 5)
    fill_folder(store, space, "/large", 500)
    counts = {}
    for path in ("/small", "/large"):
        node = store.resolve(space.id, path)
        assert node is not None
        with count_queries(store.db) as c1:
            store.children(node)
        with count_queries(store.db) as c2:
            store.descendants(node)
        counts[path] = (c1.count, c2.count)
    assert counts["/small"] == counts["/large"] == (1, 1)


# --- move / rename ---------------------------------------------------------


def test_move_folder_changes_no_blob(store: Store, space: SpaceInfo, blob_root: Path) -> None:
    store.make_collection(space.id, "/src")
    store.make_collection(space.id, "/src/sub")
    store.make_collection(space.id, "/dst")
    contents = {"/src/a.txt": b"alpha", "/src/sub/b.bin": bytes(range(256)) * 40,
                "/src/sub/c.txt": b""}
    before = {p: write(store, space.id, p, data).blob_key for p, data in contents.items()}
    files_before = blob_files(blob_root)
    usage_before = used(store.db, space.id)

    src = store.resolve(space.id, "/src")
    assert src is not None
    store.move(src, space.id, "/dst/renamed")

    assert blob_files(blob_root) == files_before
    assert store.resolve(space.id, "/src") is None
    for old_path, data in contents.items():
        new_path = old_path.replace("/src", "/dst/renamed", 1)
        assert store.resolve(space.id, old_path) is None
        node = store.resolve(space.id, new_path)
        assert node is not None, new_path
        assert node.blob_key == before[old_path]
        assert node.path == new_path
        assert read(store, space.id, new_path) == data
    moved = store.resolve(space.id, "/dst/renamed")
    assert moved is not None and moved.name == "renamed"
    assert {n.path for n in store.descendants(moved)} == {
        "/dst/renamed/a.txt", "/dst/renamed/sub", "/dst/renamed/sub/b.bin",
        "/dst/renamed/sub/c.txt"}
    sub = store.resolve(space.id, "/dst/renamed/sub")
    assert sub is not None and sub.parent_id == moved.id
    assert {c.name for c in store.children(sub)} == {"b.bin", "c.txt"}
    assert used(store.db, space.id) == usage_before == real_usage(store, space.id)
    assert fsck(store).clean


def test_rename_file_and_folder_in_place(store: Store, space: SpaceInfo,
                                         blob_root: Path) -> None:
    store.make_collection(space.id, "/f")
    write(store, space.id, "/f/x.txt", b"x content")
    files_before = blob_files(blob_root)
    node = store.resolve(space.id, "/f/x.txt")
    assert node is not None
    store.move(node, space.id, "/f/y.txt")
    assert store.resolve(space.id, "/f/x.txt") is None
    assert read(store, space.id, "/f/y.txt") == b"x content"
    folder = store.resolve(space.id, "/f")
    assert folder is not None
    store.move(folder, space.id, "/g")
    assert read(store, space.id, "/g/y.txt") == b"x content"
    assert blob_files(blob_root) == files_before


def test_move_does_not_touch_a_sibling_sharing_the_prefix(store: Store,
                                                          space: SpaceInfo) -> None:
    store.make_collection(space.id, "/a")
    store.make_collection(space.id, "/ab")
    write(store, space.id, "/a/1.txt", b"1")
    write(store, space.id, "/ab/2.txt", b"2")
    a = store.resolve(space.id, "/a")
    assert a is not None
    store.move(a, space.id, "/z")
    assert read(store, space.id, "/ab/2.txt") == b"2"
    assert read(store, space.id, "/z/1.txt") == b"1"


def test_move_into_itself_is_forbidden(store: Store, space: SpaceInfo) -> None:
    store.make_collection(space.id, "/a")
    store.make_collection(space.id, "/a/b")
    a = store.resolve(space.id, "/a")
    assert a is not None
    with pytest.raises(Forbidden):
        store.move(a, space.id, "/a/b/a")  # the destination is inside the source
    after = store.resolve(space.id, "/a/b")
    assert after is not None and after.parent_id == a.id  # no cycle, tree intact
    b = store.resolve(space.id, "/a/b")
    assert b is not None
    with pytest.raises(Forbidden):
        store.move(b, space.id, "/a")  # the destination contains the source


def test_move_over_existing_file_releases_its_blob(store: Store, space: SpaceInfo,
                                                   blob_root: Path) -> None:
    write(store, space.id, "/src.txt", b"new")
    victim = write(store, space.id, "/dst.txt", b"old old old")
    src = store.resolve(space.id, "/src.txt")
    assert src is not None
    store.move(src, space.id, "/dst.txt")
    assert read(store, space.id, "/dst.txt") == b"new"
    # the replaced content is a version (issue 23) until its versions are purged
    assert victim.blob_key in blob_rows(store.db)
    assert versions.purge(store, older_than=clock.time() + 1) == (1, 11)
    assert victim.blob_key not in blob_rows(store.db)
    assert not any(victim.blob_key in f for f in blob_files(blob_root))
    assert used(store.db, space.id) == 3 == real_usage(store, space.id)


# --- copy -------------------------------------------------------------------


def test_copy_shares_blobs(store: Store, space: SpaceInfo, blob_root: Path) -> None:
    store.make_collection(space.id, "/src")
    original = write(store, space.id, "/src/doc.txt", b"shared content")
    files_before = blob_files(blob_root)
    src = store.resolve(space.id, "/src")
    assert src is not None
    store.copy(src, space.id, "/copy", recursive=True)
    copied = store.resolve(space.id, "/copy/doc.txt")
    assert copied is not None
    assert copied.blob_key == original.blob_key
    assert copied.etag == original.etag
    assert blob_files(blob_root) == files_before  # no byte copied

    destroy(store, src)
    assert store.resolve(space.id, "/src/doc.txt") is None
    assert read(store, space.id, "/copy/doc.txt") == b"shared content"
    assert blob_files(blob_root) == files_before  # still referenced by the copy
    assert used(store.db, space.id) == len(b"shared content") == real_usage(store, space.id)
    assert fsck(store).clean


def test_copy_depth_zero_copies_the_folder_only(store: Store, space: SpaceInfo) -> None:
    store.make_collection(space.id, "/src")
    write(store, space.id, "/src/a.txt", b"a")
    src = store.resolve(space.id, "/src")
    assert src is not None
    store.copy(src, space.id, "/shallow", recursive=False)
    shallow = store.resolve(space.id, "/shallow")
    assert shallow is not None and shallow.is_collection
    assert store.children(shallow) == []
    assert used(store.db, space.id) == 1 == real_usage(store, space.id)


def test_overwriting_a_copy_keeps_the_original(store: Store, space: SpaceInfo,
                                               blob_root: Path) -> None:
    write(store, space.id, "/a.txt", b"first")
    a = store.resolve(space.id, "/a.txt")
    assert a is not None
    store.copy(a, space.id, "/b.txt", recursive=False)
    write(store, space.id, "/b.txt", b"second")
    assert read(store, space.id, "/a.txt") == b"first"
    assert read(store, space.id, "/b.txt") == b"second"
    assert len(blob_files(blob_root)) == 2
    assert fsck(store).clean


def test_deleting_the_last_reference_removes_the_blob_file(
    store: Store, space: SpaceInfo, blob_root: Path
) -> None:
    info = write(store, space.id, "/only.txt", b"to be deleted")
    assert info.blob_key is not None
    path = LocalBlobStore(blob_root).path_of(info.blob_key)
    assert path.is_file()
    a = store.resolve(space.id, "/only.txt")
    assert a is not None
    store.copy(a, space.id, "/twin.txt", recursive=False)
    destroy(store, a)
    assert path.is_file()  # the twin still uses it
    twin = store.resolve(space.id, "/twin.txt")
    assert twin is not None
    destroy(store, twin)
    assert not path.exists()
    assert info.blob_key not in blob_rows(store.db)
    assert blob_files(blob_root) == set()


def test_a_write_recreates_a_fan_out_folder_removed_by_hand(store: Store, space: SpaceInfo,
                                                           blob_root: Path) -> None:
    # The store remembers which objects/<2 hex> folders it made; one removed while
    # serving (a restore by hand) must not make every later write into it fail.
    blobs = store.blobs
    assert isinstance(blobs, LocalBlobStore)
    for sub in range(256):
        blobs.ensure_dir(blobs.objects_dir / f"{sub:02x}")
    for sub in blobs.objects_dir.iterdir():
        sub.rmdir()
    info = write(store, space.id, "/after.txt", b"still written")
    assert read(store, space.id, "/after.txt") == b"still written"
    assert blob_files(blob_root) == {f"objects/{info.blob_key[:2]}/{info.blob_key}"}


def test_overwrite_removes_the_old_blob_file(store: Store, space: SpaceInfo,
                                             blob_root: Path) -> None:
    old = write(store, space.id, "/f.txt", b"version 1")
    new = write(store, space.id, "/f.txt", b"version 2!")
    assert old.blob_key != new.blob_key
    assert old.id == new.id  # same node, new content
    # the old content is a version (issue 23) until its versions are purged
    assert len(blob_files(blob_root)) == 2
    versions.purge(store, older_than=clock.time() + 1)
    assert blob_files(blob_root) == {f"objects/{new.blob_key[:2]}/{new.blob_key}"}
    assert blob_rows(store.db) == {new.blob_key}


def test_deleting_a_folder_removes_every_blob_below(store: Store, space: SpaceInfo,
                                                    blob_root: Path) -> None:
    store.make_collection(space.id, "/d")
    store.make_collection(space.id, "/d/e")
    write(store, space.id, "/d/1", b"1")
    write(store, space.id, "/d/e/2", b"22")
    write(store, space.id, "/keep", b"333")
    d = store.resolve(space.id, "/d")
    assert d is not None
    destroy(store, d)
    assert len(blob_files(blob_root)) == 1
    assert store.resolve(space.id, "/d/e/2") is None
    assert used(store.db, space.id) == 3


def test_the_space_root_cannot_be_deleted_or_moved(store: Store, space: SpaceInfo) -> None:
    root = store.resolve(space.id, "")
    assert root is not None
    with pytest.raises(Conflict):
        store.delete(root)
    with pytest.raises(Conflict):
        store.move(root, space.id, "/elsewhere")


# --- usage ledger -------------------------------------------------------------


def test_ledger_equals_sum_of_sizes_after_a_mix(store: Store, space: SpaceInfo,
                                                blob_root: Path) -> None:
    other = store.ensure_space("rubric", rubric_id=2)
    s = space.id
    store.make_collection(s, "/docs")
    store.make_collection(s, "/docs/sub")
    write(store, s, "/docs/a", b"a" * 1000)
    write(store, s, "/docs/sub/b", b"b" * 2500)
    write(store, s, "/docs/a", b"a" * 10)           # overwrite smaller
    write(store, s, "/docs/sub/b", b"b" * 4000)     # overwrite larger
    write(store, s, "/empty", b"")
    store.create_empty(s, "/locked-null")
    assert used(store.db, s) == real_usage(store, s) == 4010

    docs = store.resolve(s, "/docs")
    assert docs is not None
    store.copy(docs, s, "/docs-copy", recursive=True)            # +4010
    assert used(store.db, s) == real_usage(store, s) == 8020
    sub = store.resolve(s, "/docs-copy/sub")
    assert sub is not None
    store.move(sub, s, "/moved-sub")                             # same space: unchanged
    assert used(store.db, s) == real_usage(store, s) == 8020
    moved = store.resolve(s, "/moved-sub")
    assert moved is not None
    store.move(moved, other.id, "/from-docs")                    # to another space
    assert used(store.db, s) == real_usage(store, s) == 4020
    assert used(store.db, other.id) == real_usage(store, other.id) == 4000
    a = store.resolve(s, "/docs/a")
    assert a is not None
    store.copy(a, other.id, "/a-copy", recursive=False)          # cross-space copy
    assert used(store.db, other.id) == real_usage(store, other.id) == 4010
    b = store.resolve(s, "/docs/sub/b")
    assert b is not None
    store.copy(b, s, "/docs/a", recursive=False)                 # copy over a file
    assert used(store.db, s) == real_usage(store, s) == 4000 + 4000 + 10
    copy_root = store.resolve(s, "/docs-copy")
    assert copy_root is not None
    destroy(store, copy_root)                            # delete a folder, empty trash
    assert used(store.db, s) == real_usage(store, s) == 8000
    victim = store.resolve(s, "/docs/sub")
    assert victim is not None
    a_now = store.resolve(s, "/docs/a")
    assert a_now is not None
    store.move(a_now, s, "/docs/sub")                            # move over a folder
    assert used(store.db, s) == real_usage(store, s) == 4000
    report = fsck(store)
    assert report.clean, report.lines()


def test_a_write_over_the_limit_is_refused_and_changes_nothing(
    store: Store, blob_root: Path
) -> None:
    space = store.ensure_space("rubric", rubric_id=3, limit_bytes=100)
    write(store, space.id, "/fits", b"x" * 60)
    before = blob_files(blob_root)
    with pytest.raises(InsufficientStorage) as caught:
        write(store, space.id, "/too-much", b"y" * 41)
    assert caught.value.status == 507
    assert blob_files(blob_root) == before
    assert store.resolve(space.id, "/too-much") is None
    assert used(store.db, space.id) == 60
    write(store, space.id, "/just-fits", b"z" * 40)
    assert used(store.db, space.id) == 100
    with pytest.raises(InsufficientStorage):
        store.copy(store.resolve(space.id, "/fits"), space.id, "/copy",  # type: ignore[arg-type]
                   recursive=False)
    assert store.resolve(space.id, "/copy") is None
    assert used(store.db, space.id) == 100 == real_usage(store, space.id)


# --- crash windows --------------------------------------------------------------


def test_commit_failing_in_the_transaction_keeps_old_content(
    store: Store, space: SpaceInfo, db: Database, blob_root: Path
) -> None:
    """(a) The blob is finished, the commit transaction fails (quota charge refused
    inside it): the old bytes stay, the new blob is gone."""
    old = write(store, space.id, "/report.odt", b"old bytes")
    before = blob_files(blob_root)
    set_limit(db, space.id, 20)
    writer = store.new_writer()
    writer.write(b"N" * 100)
    info = writer.finish()
    assert LocalBlobStore(blob_root).path_of(info.key).is_file()
    with pytest.raises(InsufficientStorage):
        store.commit_write(space.id, "/report.odt", info)
    assert read(store, space.id, "/report.odt") == b"old bytes"
    node = store.resolve(space.id, "/report.odt")
    assert node is not None
    assert node.etag == old.etag and node.blob_key == old.blob_key and node.size == 9
    assert blob_files(blob_root) == before
    assert info.key not in blob_rows(db)
    assert used(db, space.id) == 9
    assert fsck(store).clean


def test_commit_under_a_deleted_parent_discards_the_blob(
    store: Store, space: SpaceInfo, blob_root: Path
) -> None:
    store.make_collection(space.id, "/gone")
    keep = write(store, space.id, "/keep.txt", b"keep")
    writer = store.new_writer()
    writer.write(b"late upload")
    info = writer.finish()
    gone = store.resolve(space.id, "/gone")
    assert gone is not None
    store.delete(gone)  # meanwhile, another client deleted the folder
    with pytest.raises(Conflict):
        store.commit_write(space.id, "/gone/late.txt", info)
    assert blob_files(blob_root) == {f"objects/{keep.blob_key[:2]}/{keep.blob_key}"}
    assert store.resolve(space.id, "/gone/late.txt") is None
    assert fsck(store).clean


@pytest.mark.parametrize("bad", ["a\x00b", "x" * 256, "..", "."],
                         ids=["nul", "256-bytes", "dotdot", "dot"])
def test_commit_with_an_invalid_name_discards_the_blob(
    store: Store, space: SpaceInfo, blob_root: Path, bad: str
) -> None:
    writer = store.new_writer()
    writer.write(b"content")
    info = writer.finish()
    with pytest.raises(BadRequest):
        store.commit_write(space.id, "/" + bad, info)
    assert blob_files(blob_root) == set()
    assert fsck(store).clean


def test_commit_onto_a_folder_is_conflict_and_discards_the_blob(
    store: Store, space: SpaceInfo, blob_root: Path
) -> None:
    store.make_collection(space.id, "/folder")
    writer = store.new_writer()
    writer.write(b"content")
    info = writer.finish()
    with pytest.raises(Conflict):
        store.commit_write(space.id, "/folder", info)
    assert blob_files(blob_root) == set()
    node = store.resolve(space.id, "/folder")
    assert node is not None and node.is_collection


def test_aborted_writer_leaves_nothing(store: Store, space: SpaceInfo,
                                       blob_root: Path) -> None:
    """(b) A client abort: nothing in the blob directory, finished or not."""
    write(store, space.id, "/existing", b"before")
    before = blob_files(blob_root)
    writer = store.new_writer()
    writer.write(b"partial " * 10000)
    assert blob_files(blob_root) != before  # a temporary file exists while streaming
    writer.abort()
    writer.abort()  # safe twice
    assert blob_files(blob_root) == before
    assert read(store, space.id, "/existing") == b"before"
    assert fsck(store).clean


def test_finished_but_uncommitted_blob_is_an_orphan_fsck_removes(
    store: Store, space: SpaceInfo, blob_root: Path
) -> None:
    """(c) A crash between finishing the blob and the commit: an orphan blob file."""
    kept = write(store, space.id, "/kept.txt", b"kept")
    writer = store.new_writer()
    writer.write(b"never committed")
    orphan = writer.finish()  # ... and the process dies here

    report = fsck(store)
    assert not report.clean
    assert report.orphan_files == [orphan.key]
    assert report.dangling == [] and report.unreferenced_rows == []
    assert any(orphan.key in line for line in report.lines())
    assert LocalBlobStore(blob_root).path_of(orphan.key).is_file()  # not repaired yet

    repaired = fsck(store, repair=True)
    assert repaired.orphan_files == [orphan.key]
    assert not LocalBlobStore(blob_root).path_of(orphan.key).exists()
    assert fsck(store).clean
    assert read(store, space.id, "/kept.txt") == b"kept"
    assert blob_files(blob_root) == {f"objects/{kept.blob_key[:2]}/{kept.blob_key}"}


def test_unfinished_upload_is_reported_and_removed(store: Store, space: SpaceInfo,
                                                   blob_root: Path) -> None:
    writer = store.new_writer()
    writer.write(b"half a file")  # the process dies mid-stream: neither finish nor abort
    report = fsck(store)
    assert report.unfinished_uploads == 1 and not report.clean
    assert fsck(store, repair=True).unfinished_uploads == 1
    assert fsck(store).clean
    assert blob_files(blob_root) == set()


def test_fsck_reports_drift_and_dangling(store: Store, space: SpaceInfo, db: Database,
                                         blob_root: Path) -> None:
    lost = write(store, space.id, "/lost.txt", b"lost content")
    write(store, space.id, "/fine.txt", b"fine")
    LocalBlobStore(blob_root).delete(lost.blob_key)  # e.g. a disk restored from backup
    with db.transaction() as s:
        quotas.set_used(s, space.id, 12345)
    report = fsck(store)
    assert report.dangling == [lost.blob_key]
    assert report.usage_drift == [(space.id, 12345, 16)]
    fsck(store, repair=True)
    after = fsck(store)
    assert after.usage_drift == []
    assert after.dangling == [lost.blob_key]  # content lost: reported, never "repaired"
    assert store.resolve(space.id, "/lost.txt") is not None


def test_fsck_reports_blobs_of_the_wrong_size_and_leaves_them(
        store: Store, space: SpaceInfo, blob_root: Path) -> None:
    """A blob file cut short or grown on disk (damaged storage) is reported with both
    sizes; ``repair`` neither deletes nor changes it (a backup restores it), and the
    check stays unclean until the file is restored."""
    cut = write(store, space.id, "/cut.txt", b"0123456789" * 10)
    grown = write(store, space.id, "/grown.txt", b"abc")
    write(store, space.id, "/fine.txt", b"fine")
    blobs = LocalBlobStore(blob_root)
    with blobs.path_of(cut.blob_key).open("r+b") as f:
        f.truncate(40)
    with blobs.path_of(grown.blob_key).open("ab") as f:
        f.write(b"defg")
    report = fsck(store)
    assert not report.clean and report.needs_restore
    assert report.wrong_size == sorted([(cut.blob_key, 100, 40), (grown.blob_key, 3, 7)])
    assert report.dangling == [] and report.orphan_files == [] and report.usage_drift == []
    assert (f"blob of the wrong size (content damaged): {cut.blob_key}: 40 bytes on disk, "
            "100 recorded") in report.lines()
    damaged = {k: blobs.path_of(k).read_bytes() for k in (cut.blob_key, grown.blob_key)}
    assert fsck(store, repair=True).wrong_size == report.wrong_size
    assert {k: blobs.path_of(k).read_bytes() for k in damaged} == damaged  # left as found
    assert fsck(store).wrong_size == report.wrong_size
    blobs.path_of(cut.blob_key).write_bytes(b"0123456789" * 10)  # restored from a backup
    blobs.path_of(grown.blob_key).write_bytes(b"abc")
    assert fsck(store).clean


# --- names ----------------------------------------------------------------------


def test_a_name_is_stored_as_written_and_found_in_either_form(store: Store,
                                                                space: SpaceInfo) -> None:
    """Issue 17: the NFD spelling comes back in the listing; NFC finds it too, and
    the two forms never make twins."""
    nfc = "Élève café.txt"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    node = write(store, space.id, "/" + nfd, b"accents")  # macOS sends NFD
    assert node.name == nfd and node.written_path == "/" + nfd
    assert node.path == "/" + nfc  # the key it resolves by
    assert store.resolve(space.id, "/" + nfd) == store.resolve(space.id, "/" + nfc)
    assert read(store, space.id, "/" + nfc) == b"accents"
    again = write(store, space.id, "/" + nfc, b"accents 2")  # same file, not a twin
    assert again.id == node.id and again.name == nfd  # a write keeps the spelling
    root = store.resolve(space.id, "")
    assert root is not None
    assert [c.name.encode() for c in store.children(root)] == [nfd.encode()]
    folder = store.make_collection(space.id, "/" + unicodedata.normalize("NFD", "Année"))
    assert folder.name == unicodedata.normalize("NFD", "Année")
    with pytest.raises(Conflict):
        store.make_collection(space.id, "/Année")
    write(store, space.id, "/Année/" + nfc, b"in NFD folder, NFC name")
    inside = store.resolve(space.id, "/" + unicodedata.normalize("NFD", "Année/") + nfd)
    assert inside is not None and inside.name == nfc
    assert inside.written_path == "/" + unicodedata.normalize("NFD", "Année") + "/" + nfc
    assert [n.written_path for n in store.descendants(folder)] == [inside.written_path]
    assert store.resolve_chain(space.id, "/Année/" + nfd)[-1].id == inside.id


def test_a_move_that_only_respells_a_name_keeps_the_node(store: Store,
                                                         space: SpaceInfo) -> None:
    nfc, nfd = "Noël", unicodedata.normalize("NFD", "Noël")
    folder = store.make_collection(space.id, "/" + nfc)
    file = write(store, space.id, f"/{nfc}/élève.txt", b"kept")
    store.move(folder, space.id, "/" + nfd)
    moved = store.resolve(space.id, "/" + nfc)
    assert moved is not None and moved.id == folder.id and moved.name == nfd
    below = store.resolve(space.id, f"/{nfc}/élève.txt")
    assert below is not None and below.id == file.id
    assert below.written_path == f"/{nfd}/élève.txt"
    assert read(store, space.id, f"/{nfd}/élève.txt") == b"kept"
    store.move(below, space.id, f"/{nfd}/" + unicodedata.normalize("NFD", "élève.txt"))
    again = store.resolve(space.id, f"/{nfc}/élève.txt")
    assert again is not None and again.name == unicodedata.normalize("NFD", "élève.txt")
    with pytest.raises(Forbidden):  # the very same spelling: onto itself
        store.move(again, space.id, again.written_path)
    with pytest.raises(Forbidden):  # a copy onto itself, in the other spelling
        store.copy(again, space.id, f"/{nfc}/élève.txt", recursive=False)
    assert used(store.db, space.id) == 4


def test_copy_and_move_keep_written_names_below(store: Store, space: SpaceInfo) -> None:
    nfd = unicodedata.normalize("NFD", "Été")
    store.make_collection(space.id, "/" + nfd)
    write(store, space.id, f"/{nfd}/" + unicodedata.normalize("NFD", "déjà.txt"), b"x")
    src = store.resolve(space.id, "/Été")
    assert src is not None
    store.copy(src, space.id, "/Copie " + nfd, recursive=True)
    store.move(src, space.id, "/Déplacé")
    copied = store.resolve(space.id, "/Copie Été/déjà.txt")
    moved = store.resolve(space.id, "/Déplacé/déjà.txt")
    assert copied is not None and moved is not None
    assert copied.written_path == "/Copie " + nfd + "/" + unicodedata.normalize("NFD",
                                                                                 "déjà.txt")
    assert moved.written_path == "/Déplacé/" + unicodedata.normalize("NFD", "déjà.txt")


def test_name_limits(store: Store, space: SpaceInfo) -> None:
    ok = "é" * 127 + "x"  # 255 bytes of UTF-8
    assert len(ok.encode()) == 255
    store.make_collection(space.id, "/" + ok)
    too_long = "é" * 128  # 256 bytes
    with pytest.raises(BadRequest):
        store.make_collection(space.id, "/" + too_long)
    with pytest.raises(BadRequest):
        store.make_collection(space.id, "/" + "x" * 256)
    with pytest.raises(BadRequest):
        store.make_collection(space.id, "/nul\x00name")
    with pytest.raises(BadRequest):
        store.create_empty(space.id, "/nul\x00name")
    for bad in ("a/b", "nul\x00", "", ".", "..", "y" * 256, "tab\there", "bell\x07",
                "del\x7f", "c1\x85", "c1\x9f", "back\\slash", "line\nbreak"):
        with pytest.raises(BadRequest):
            validate_name(bad)
    for good in ("ok name.txt", "[ ] { } ^ ` | \" < > %", "\xa0nbsp", "emoji 😀.txt",
                 unicodedata.normalize("NFD", "é")):
        assert validate_name(good) == good  # as written, never normalised


@pytest.mark.parametrize("bad", ["a\x01b.txt", "cr\rname", "win\\dows.txt", "c1\x80"])
def test_a_bad_new_name_stores_nothing(store: Store, space: SpaceInfo, bad: str) -> None:
    with pytest.raises(BadRequest, match="control character|backslash"):
        write(store, space.id, "/" + bad, b"never stored")
    with pytest.raises(BadRequest):
        store.make_collection(space.id, "/" + bad)
    src = write(store, space.id, "/good.txt", b"good")
    with pytest.raises(BadRequest):
        store.move(src, space.id, "/" + bad)
    with pytest.raises(BadRequest):
        store.copy(src, space.id, "/" + bad, recursive=False)
    root = store.resolve(space.id, "")
    assert root is not None and [c.name for c in store.children(root)] == ["good.txt"]
    assert used(store.db, space.id) == 4
    assert fsck(store).clean


def test_a_name_stored_before_the_rules_stays_readable_and_renamable(
        store: Store, space: SpaceInfo) -> None:
    """A name with a control character or a backslash from before issue 17: read,
    overwritten, renamed to a valid name (not to another bad one), listed by fsck."""
    write(store, space.id, "/legacy.txt", b"old")
    with store.db.transaction() as s:
        s.execute(update(Node).where(Node.path == "/legacy.txt").values(
            name="bad\x01\\name.txt", written_name="bad\x01\\name.txt",
            path="/bad\x01\\name.txt", written_path="/bad\x01\\name.txt"))
    bad = store.resolve(space.id, "/bad\x01\\name.txt")
    assert bad is not None and read(store, space.id, bad.path) == b"old"
    report = fsck(store)
    assert report.bad_names == [(space.id, "/bad\x01\\name.txt", report.bad_names[0][2])]
    assert "backslash" in report.bad_names[0][2]
    assert not report.clean
    assert any(r"bad\x01\\name.txt" in line for line in report.lines()), report.lines()
    write(store, space.id, bad.path, b"rewritten")  # its own name: no new name given
    with pytest.raises(BadRequest):
        store.move(bad, space.id, "/still\\bad.txt")
    store.move(bad, space.id, "/good name.txt")
    assert read(store, space.id, "/good name.txt") == b"rewritten"
    assert fsck(store).clean


def test_sibling_names_are_unique(store: Store, space: SpaceInfo) -> None:
    store.make_collection(space.id, "/dup")
    with pytest.raises(Conflict):
        store.make_collection(space.id, "/dup")
    write(store, space.id, "/file", b"f")
    with pytest.raises(Conflict):
        store.make_collection(space.id, "/file")
    with pytest.raises(Conflict):
        write(store, space.id, "/dup", b"cannot replace a folder")
    with pytest.raises(Conflict):
        store.make_collection(space.id, "/no/parent")
    root = store.resolve(space.id, "")
    assert root is not None
    assert [c.name for c in store.children(root)] == ["dup", "file"]
    # the same name in different folders is fine
    store.make_collection(space.id, "/dup/dup")
    write(store, space.id, "/dup/file", b"g")


def test_ensure_space_is_idempotent(store: Store, owner_id: int) -> None:
    a = store.ensure_space("documents", owner_id=owner_id)
    b = store.ensure_space("documents", owner_id=owner_id)
    assert a == b and a.owner_id == owner_id and a.kind == "documents"
    assert store.ensure_space("binder", owner_id=owner_id).id != a.id
    root = store.resolve(a.id, "")
    assert root is not None and root.is_collection and root.parent_id is None


def test_dead_properties_persist(store: Store, space: SpaceInfo) -> None:
    write(store, space.id, "/p.txt", b"p")
    node = store.resolve(space.id, "/p.txt")
    assert node is not None
    value = '<color xmlns="http://example.com/ns">red</color>'
    store.patch_dead_props(node, {"{http://example.com/ns}color": value})
    again = store.resolve(space.id, "/p.txt")
    assert again is not None and again.dead_props == {"{http://example.com/ns}color": value}
    write(store, space.id, "/p.txt", b"new content")  # an overwrite keeps them
    again = store.resolve(space.id, "/p.txt")
    assert again is not None and "{http://example.com/ns}color" in again.dead_props
    store.patch_dead_props(again, {"{http://example.com/ns}color": None})
    final = store.resolve(space.id, "/p.txt")
    assert final is not None and final.dead_props == {}


def test_etag_is_the_sha1_and_changes_with_content(store: Store, space: SpaceInfo) -> None:
    a = write(store, space.id, "/e.txt", b"one")
    assert a.etag == hashlib.sha1(b"one").hexdigest() == a.sha1
    assert a.md5 == hashlib.md5(b"one").hexdigest()
    b = write(store, space.id, "/e.txt", b"two")
    assert b.etag != a.etag
    empty = store.create_empty(space.id, "/empty")
    assert empty.size == 0 and empty.etag == hashlib.sha1(b"").hexdigest()
    assert read(store, space.id, "/empty") == b""


# --- lock storage ----------------------------------------------------------------


def _lock(**kw: object) -> dict[str, object]:
    lock: dict[str, object] = {"root": None, "type": "write", "scope": "exclusive",
                               "depth": "infinity", "owner": b"<owner>alice</owner>",
                               "timeout": 3600, "principal": "alice"}
    lock.update(kw)
    return lock


def test_lock_create_get_refresh_delete(db: Database) -> None:
    locks = SqlLockStorage(db)
    lock = locks.create("/7/docs/a.txt/", _lock())
    token = lock["token"]
    assert isinstance(token, str) and token
    assert lock["root"] == "/7/docs/a.txt"
    got = locks.get(token)
    assert got is not None
    assert got["root"] == "/7/docs/a.txt" and got["scope"] == "exclusive"
    assert got["owner"] == b"<owner>alice</owner>" and got["principal"] == "alice"
    assert got["depth"] == "infinity" and got["type"] == "write"
    assert got["timeout"] == 3600
    assert abs(got["expire"] - (time.time() + 3600)) < 60  # wall clock: a lock's timeout

    refreshed = locks.refresh(token, timeout=60)
    assert refreshed["timeout"] == 60
    expire = locks.get(token)["expire"]  # type: ignore[index]
    assert abs(expire - (time.time() + 60)) < 30  # wall clock: a lock's timeout

    assert locks.delete(token) is True
    assert locks.get(token) is None
    assert locks.delete(token) is False
    with pytest.raises(ValueError):
        locks.refresh(token, timeout=60)


def test_lock_timeouts_are_capped(db: Database) -> None:
    locks = SqlLockStorage(db, max_timeout=600)
    infinite = locks.create("/1/a", _lock(timeout=-1))
    assert infinite["timeout"] == 600
    huge = locks.create("/1/b", _lock(timeout=10**9))
    assert huge["timeout"] == 600
    assert locks.refresh(huge["token"], timeout=-1)["timeout"] == 600


def test_lock_list_root_and_children(db: Database) -> None:
    locks = SqlLockStorage(db)
    root = locks.create("/5/docs", _lock(depth="0"))["token"]
    child = locks.create("/5/docs/sub/file.txt", _lock(scope="shared"))["token"]
    deep = locks.create("/5/docs/sub/deeper/x", _lock(scope="shared"))["token"]
    sibling = locks.create("/5/docs2/y", _lock())["token"]  # shares the text prefix
    other_space = locks.create("/6/docs/z", _lock())["token"]

    def tokens(path: str, *, root_: bool, children: bool) -> set[str]:
        return set(locks.get_lock_list(path, include_root=root_, include_children=children,
                                       token_only=True))

    assert tokens("/5/docs", root_=True, children=False) == {root}
    assert tokens("/5/docs/", root_=True, children=False) == {root}
    assert tokens("/5/docs", root_=False, children=True) == {child, deep}
    assert tokens("/5/docs", root_=True, children=True) == {root, child, deep}
    assert tokens("/5/docs/sub", root_=True, children=True) == {child, deep}
    assert tokens("/5/docs", root_=False, children=False) == set()
    assert tokens("/5", root_=False, children=True) == {root, child, deep, sibling}
    assert sibling not in tokens("/5/docs", root_=True, children=True)
    assert other_space not in tokens("/5", root_=True, children=True)
    full = locks.get_lock_list("/5/docs/sub/file.txt", include_root=True,
                               include_children=False, token_only=False)
    assert len(full) == 1 and full[0]["token"] == child and full[0]["scope"] == "shared"


def test_expired_locks_are_not_returned(db: Database) -> None:
    locks = SqlLockStorage(db)
    live = locks.create("/1/live", _lock())["token"]
    dead = locks.create("/1/dead", _lock())["token"]
    with db.transaction() as s:
        s.execute(update(DavLock).where(DavLock.token == dead)
                  .values(expire=time.time() - 1))  # wall clock: a lock's timeout
    assert locks.get(dead) is None
    assert locks.get(live) is not None
    assert locks.get_lock_list("/1", include_root=True, include_children=True,
                               token_only=True) == [live]
    assert locks.get_lock_list("/1/dead", include_root=True, include_children=False,
                               token_only=True) == []
    locks.cleanup()
    with db.transaction(write=False) as s:
        assert set(s.scalars(select(DavLock.token))) == {live}


def test_locks_survive_a_new_process(db: Database) -> None:
    """Another Database on the same URL (a restart, or a second worker) sees the lock."""
    token = SqlLockStorage(db).create("/3/f", _lock())["token"]
    other = Database(db.url)
    try:
        got = SqlLockStorage(other).get(token)
        assert got is not None and got["root"] == "/3/f"
    finally:
        other.dispose()


def test_wsgidav_lock_manager_over_sql_storage(db: Database) -> None:
    """The storage satisfies WsgiDAV's LockManager: conflicts are seen across managers."""
    first = LockManager(SqlLockStorage(db))
    second = LockManager(SqlLockStorage(db))  # another server process
    lock = first.acquire(url="/9/docs/a.txt", lock_type="write", lock_scope="exclusive",
                         lock_depth="0", lock_owner=b"<owner/>", timeout=3600,
                         principal="alice", token_list=[])
    assert second.is_url_locked("/9/docs/a.txt")
    assert second.get_lock(lock["token"], key="root") == "/9/docs/a.txt"
    from wsgidav.dav_error import DAVError

    with pytest.raises(DAVError) as caught:
        second.acquire(url="/9/docs/a.txt", lock_type="write", lock_scope="exclusive",
                       lock_depth="0", lock_owner=b"<owner/>", timeout=3600,
                       principal="bob", token_list=[])
    assert caught.value.value == 423
    assert [lk["token"] for lk in second.get_indirect_url_lock_list("/9/docs/a.txt")] == [
        lock["token"]]
    second.release(lock["token"])
    assert not first.is_url_locked("/9/docs/a.txt")


def test_bytes_written_in_memory_leave_no_reservation_nor_lease(store: Store,
                                                                 space: SpaceInfo) -> None:
    """``write_bytes`` (the demo's files, the imports' reports) ends its reservation's
    lease at commit: nothing is left for the sweeper to give back later."""
    from quotas.leases import UploadLease

    info = store.write_bytes(space.id, "/rapport.txt", b"x" * 100_000)
    assert info.size == 100_000
    figures = store.usage(space.id)
    assert figures is not None and figures.reserved == 0
    with store.db.transaction(write=False) as s:
        assert s.query(UploadLease).count() == 0
