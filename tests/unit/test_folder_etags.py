"""Folder ETags change whenever anything below them changes (providers/folder_etags.py),
through every write of the store: content, new folders, deletes, moves in and out
(across spaces too), copies, restores, property changes, a lock-null file's removal.
Folders beside the change keep theirs. One statement does it at any depth, and
writers in sibling folders of one space do not deadlock on PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest

from providers import SpaceInfo, Store, trash
from tests.unit.conftest import count_queries, write

DEEP = "/a/b/c/d"


def etags(store: Store, space: SpaceInfo, *paths: str) -> dict[str, str | None]:
    found = {}
    for path in paths:
        node = store.resolve(space.id, path)
        assert node is not None, path
        found[path] = node.etag
    return found


def tree(store: Store, space: SpaceInfo) -> None:
    for path in ("/a", "/a/b", "/a/b/c", DEEP, "/side", "/a/other"):
        store.make_collection(space.id, path)


ABOVE = ("", "/a", "/a/b", "/a/b/c", DEEP)
BESIDE = ("/side", "/a/other")


def assert_changed(before: dict[str, str | None], after: dict[str, str | None],
                   changed: tuple[str, ...]) -> None:
    for path, tag in after.items():
        assert tag, f"{path} has no ETag"
        if path in changed:
            assert tag != before[path], f"{path} kept its ETag"
        else:
            assert tag == before[path], f"{path} changed its ETag"


def test_every_folder_has_an_etag_and_a_write_changes_each_one_above(
        store: Store, space: SpaceInfo) -> None:
    tree(store, space)
    before = etags(store, space, *ABOVE, *BESIDE)
    assert len(set(before.values())) >= 2  # not one token for everything
    write(store, space.id, DEEP + "/cours.pdf", b"v1")
    after = etags(store, space, *ABOVE, *BESIDE)
    assert_changed(before, after, ABOVE)
    # The same again: new content, new ETags; the file's own is its content's SHA-1.
    write(store, space.id, DEEP + "/cours.pdf", b"v2")
    assert_changed(after, etags(store, space, *ABOVE, *BESIDE), ABOVE)
    file = store.resolve(space.id, DEEP + "/cours.pdf")
    assert file is not None and file.etag == file.sha1


def test_new_folders_deletes_and_restores_change_the_folders_above(
        store: Store, space: SpaceInfo) -> None:
    tree(store, space)
    before = etags(store, space, *ABOVE, *BESIDE)
    store.make_collection(space.id, DEEP + "/new")
    after = etags(store, space, *ABOVE, *BESIDE)
    assert_changed(before, after, ABOVE)
    node = store.resolve(space.id, DEEP + "/new")
    assert node is not None
    item = store.delete(node, deleted_by=None)
    restored = etags(store, space, *ABOVE, *BESIDE)
    assert_changed(after, restored, ABOVE)
    trash.restore(store, item.id, space.id, DEEP + "/new")
    assert_changed(restored, etags(store, space, *ABOVE, *BESIDE), ABOVE)


def test_a_move_changes_both_sides_and_not_the_moved_folder(
        store: Store, space: SpaceInfo) -> None:
    tree(store, space)
    write(store, space.id, DEEP + "/f.txt", b"x")
    moved = store.resolve(space.id, DEEP)
    assert moved is not None
    before = etags(store, space, *ABOVE, *BESIDE)
    store.move(moved, space.id, "/side/d")
    after = etags(store, space, "", "/a", "/a/b", "/a/b/c", "/side/d", *BESIDE)
    # The folders it left and the one it joined change; the moved one does not (a
    # client recognises it by its id and its unchanged ETag: nothing to list again).
    assert after["/side/d"] == before[DEEP]
    for path in ("", "/a", "/a/b", "/a/b/c", "/side"):
        assert after[path] != before[path], path
    assert after["/a/other"] == before["/a/other"]


def test_a_move_to_another_space_changes_both_spaces(store: Store, space: SpaceInfo) -> None:
    other = store.ensure_space("rubric", rubric_id=2)
    tree(store, space)
    store.make_collection(other.id, "/in")
    write(store, space.id, DEEP + "/f.txt", b"x")
    node = store.resolve(space.id, DEEP + "/f.txt")
    assert node is not None
    before = etags(store, space, *ABOVE) | {f"other{p}": t for p, t in
                                            etags(store, other, "", "/in").items()}
    store.move(node, other.id, "/in/f.txt")
    after = etags(store, space, *ABOVE) | {f"other{p}": t for p, t in
                                           etags(store, other, "", "/in").items()}
    assert all(after[k] != before[k] for k in before), (before, after)


def test_a_copy_changes_the_destination_side_and_gives_copied_folders_new_etags(
        store: Store, space: SpaceInfo) -> None:
    tree(store, space)
    source = store.resolve(space.id, "/a/b")
    assert source is not None
    before = etags(store, space, "", "/a", "/side", "/a/b", DEEP)
    store.copy(source, space.id, "/side/b", recursive=True)
    after = etags(store, space, "", "/a", "/side", "/a/b", DEEP, "/side/b", "/side/b/c/d")
    assert after[""] != before[""] and after["/side"] != before["/side"]
    assert after["/a/b"] == before["/a/b"] and after[DEEP] == before[DEEP]  # the source
    assert after["/side/b"] != before["/a/b"] and after["/side/b/c/d"] != before[DEEP]


@pytest.mark.parametrize("change", ["dead property", "modification time", "publication"])
def test_property_changes_change_the_folders_above_and_a_folder_itself(
        store: Store, space: SpaceInfo, change: str) -> None:
    tree(store, space)
    write(store, space.id, DEEP + "/f.txt", b"x")
    for target, changed in ((DEEP + "/f.txt", ABOVE), (DEEP, ABOVE)):
        node = store.resolve(space.id, target)
        assert node is not None
        before = etags(store, space, *ABOVE, *BESIDE)
        if change == "dead property":
            store.patch_dead_props(node, {"{urn:x}note": "<note xmlns='urn:x'>1</note>"})
        elif change == "modification time":
            store.set_modified(node, 1_600_000_000.0)
        else:
            store.set_published(node, False)
        assert_changed(before, etags(store, space, *ABOVE, *BESIDE), changed)


def test_one_statement_at_any_depth(store: Store, space: SpaceInfo) -> None:
    """The ancestors' ETags cost one UPDATE whatever the depth: a write 20 folders deep
    runs as many statements as one at the root."""
    path = ""
    for i in range(20):
        path += f"/d{i}"
        store.make_collection(space.id, path)
    write(store, space.id, "/warm.txt", b"x")  # compile once
    write(store, space.id, path + "/warm.txt", b"x")
    counts = []
    for target in ("/f.txt", path + "/f.txt"):
        writer = store.new_writer()
        writer.write(b"content")
        blob = writer.finish()
        with count_queries(store.db) as counter:
            store.commit_write(space.id, target, blob)
        counts.append(counter.count)
        assert sum("UPDATE nodes SET etag" in s for s in counter.statements) == 1
    assert counts[0] == counts[1], counts


def test_writers_in_sibling_folders_neither_deadlock_nor_lose_a_write(
        store: Store, space: SpaceInfo) -> None:
    """Four threads write into four sibling folders of one space at once (on
    PostgreSQL each transaction locks the same space root and folders above): every
    write lands, and the root's ETag ends different from where it started."""
    store.make_collection(space.id, "/classe")
    for i in range(4):
        store.make_collection(space.id, f"/classe/eleve{i}")
    start = etags(store, space, "")[""]
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for n in range(15):
                write(store, space.id, f"/classe/eleve{i}/copie{n}.txt", f"{i}-{n}".encode())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for i in range(4):
        folder = store.resolve(space.id, f"/classe/eleve{i}")
        assert folder is not None and len(store.children(folder)) == 15
    assert etags(store, space, "")[""] != start


def test_root_etags_by_space_in_one_query(store: Store, space: SpaceInfo) -> None:
    other = store.ensure_space("rubric", rubric_id=3)
    store.root_etags([space.id, other.id])  # the roots' ids are read once
    with count_queries(store.db) as counter:
        found = store.root_etags([space.id, other.id])
    assert counter.count == 1
    assert found == {space.id: etags(store, space, "")[""],
                     other.id: etags(store, other, "")[""]}
    write(store, other.id, "/x.txt", b"x")
    assert store.root_etags([other.id])[other.id] != found[other.id]


def test_subtree_sizes_of_a_folders_members(store: Store, space: SpaceInfo) -> None:
    tree(store, space)
    write(store, space.id, DEEP + "/f.txt", b"12345")
    write(store, space.id, "/a/other/g.txt", b"123")
    write(store, space.id, "/a/h.txt", b"1")
    a = store.resolve(space.id, "/a")
    assert a is not None
    with count_queries(store.db) as counter:
        sizes = store.subtree_sizes(a)
    assert counter.count == 1
    assert sizes == {"b": 5, "other": 3, "h.txt": 1}


def test_a_lock_null_file_removed_changes_the_folders_above(
        store: Store, space: SpaceInfo) -> None:
    """A LOCK on a new name made an empty file, and no lock was granted: the file goes,
    and a sync client that saw it learns so from the folders' ETags."""
    from providers import SqlLockStorage

    tree(store, space)
    node = store.create_empty(space.id, DEEP + "/lock-null.txt")
    locks = SqlLockStorage(store.db)
    locks.note_created(node.id, f"/{space.id}/x{DEEP}/lock-null.txt")
    before = etags(store, space, *ABOVE, *BESIDE)
    locks.discard_created()
    assert store.resolve(space.id, DEEP + "/lock-null.txt") is None
    assert_changed(before, etags(store, space, *ABOVE, *BESIDE), ABOVE)
