"""The trash in the store (issue 8): constant queries, no byte moved, the same name
twice, the live tree untouched, restore and purge; and who sees which trash
(``acl.trash_view``), walked cell by cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from acl import Role, SpaceRef, Standing, TrashView, sees_trashed, trash_view
from davserver.errors import Conflict, InsufficientStorage, NotFound, PreconditionFailed
from providers import SpaceInfo, Store, fsck, trash
from tests.unit.conftest import blob_files, count_queries, read, set_limit, used, write
from tests.unit.test_store import fill_folder

ME, OTHER = 1, 2


@pytest.mark.parametrize("members", [5, 300])
def test_delete_is_a_constant_number_of_queries_and_moves_no_byte(
    store: Store, space: SpaceInfo, blob_root: Path, members: int
) -> None:
    fill_folder(store, space, "/big", members)
    before = used(store.db, space.id)
    files = blob_files(blob_root)
    folder = store.resolve(space.id, "/big")
    assert folder is not None
    with count_queries(store.db) as counter:
        item = store.delete(folder, deleted_by=None)
    # whatever the member count; one of them gives the folders above new ETags
    assert counter.count <= 10, counter.statements
    assert store.resolve(space.id, "/big") is None
    assert store.resolve(space.id, "/big/sub0") is None
    assert blob_files(blob_root) == files
    assert used(store.db, space.id) == before == item.size
    assert trash.trashed_node(store, item) is not None
    assert fsck(store).clean


def test_the_same_name_deleted_twice_is_kept_twice(store: Store, space: SpaceInfo) -> None:
    write(store, space.id, "/a.txt", b"one")
    first = store.delete(store.resolve(space.id, "/a.txt"), deleted_by=None)  # type: ignore[arg-type]
    write(store, space.id, "/a.txt", b"two")
    second = store.delete(store.resolve(space.id, "/a.txt"), deleted_by=None)  # type: ignore[arg-type]
    assert [e.id for e in trash.entries(store, space.id)] == [first.id, second.id]
    assert first.name == second.name == "a.txt" and first.original_path == "/a.txt"
    trash.restore(store, first.id, space.id, "/a.txt")
    assert read(store, space.id, "/a.txt") == b"one"
    with pytest.raises(PreconditionFailed):
        trash.restore(store, second.id, space.id, "/a.txt")
    trash.restore(store, second.id, space.id, "/a.txt", overwrite=True)
    assert read(store, space.id, "/a.txt") == b"two"
    assert [e.name for e in trash.entries(store, space.id)] == ["a.txt"]  # "one", replaced
    assert fsck(store).clean


def test_the_live_tree_never_shows_the_trash(store: Store, space: SpaceInfo) -> None:
    store.make_collection(space.id, "/d")
    write(store, space.id, "/d/x", b"x")
    write(store, space.id, "/keep", b"k")
    store.delete(store.resolve(space.id, "/d"), deleted_by=None)  # type: ignore[arg-type]
    root = store.resolve(space.id, "")
    assert root is not None
    assert [n.path for n in store.descendants(root)] == ["/keep"]
    assert [n.name for n in store.children(root)] == ["keep"]
    with pytest.raises(Conflict):
        store.delete(root)


def test_restore_keeps_its_tree_and_moves_the_charge(store: Store, space: SpaceInfo) -> None:
    other = store.ensure_space("rubric", rubric_id=2)
    store.make_collection(space.id, "/d")
    store.make_collection(space.id, "/d/e")
    write(store, space.id, "/d/e/f", b"12345")
    item = store.delete(store.resolve(space.id, "/d"), deleted_by=None)  # type: ignore[arg-type]
    set_limit(store.db, other.id, 4)
    with pytest.raises(InsufficientStorage):
        trash.restore(store, item.id, other.id, "/restored")
    assert (used(store.db, space.id), used(store.db, other.id)) == (5, 0)
    set_limit(store.db, other.id, None)
    trash.restore(store, item.id, other.id, "/restored")
    assert read(store, other.id, "/restored/e/f") == b"12345"
    assert (used(store.db, space.id), used(store.db, other.id)) == (0, 5)
    with pytest.raises(NotFound):
        trash.restore(store, item.id, other.id, "/again")
    assert fsck(store).clean


def test_purge_frees_bytes_and_removes_unshared_blobs(store: Store, space: SpaceInfo,
                                                      blob_root: Path) -> None:
    write(store, space.id, "/a", b"aaaa")
    a = store.resolve(space.id, "/a")
    assert a is not None
    store.copy(a, space.id, "/b", recursive=False)  # shares the blob
    item = store.delete(a, deleted_by=None)
    assert trash.purge(store, [item.id, 99999]) == 4
    assert used(store.db, space.id) == 4
    assert read(store, space.id, "/b") == b"aaaa"  # its blob stays
    item = store.delete(store.resolve(space.id, "/b"), deleted_by=None)  # type: ignore[arg-type]
    assert trash.empty(store, space.id) == 4
    assert used(store.db, space.id) == 0
    assert not [f for f in blob_files(blob_root) if f.startswith("objects/")]
    assert fsck(store).clean


# --- who sees which trash ----------------------------------------------------------

# role on the rubric → the view (issue 8: a moderator or manager restores what a
# member deleted; a writer sees only their own deleted items)
VIEW_BY_ROLE = {
    None: TrashView.NONE,
    "visitor": TrashView.NONE,
    "writer": TrashView.OWN,
    "publisher": TrashView.OWN,
    "moderator": TrashView.ALL,
    "manager": TrashView.ALL,
}


@pytest.mark.parametrize(("role", "view"), VIEW_BY_ROLE.items())
def test_rubric_trash_view_by_role(role: str | None, view: TrashView) -> None:
    standing = Standing(ME, SpaceRef("rubric", None), Role(role) if role else None)
    assert trash_view(standing) is view
    assert sees_trashed(standing, ME) is (view is not TrashView.NONE)
    assert sees_trashed(standing, OTHER) is (view is TrashView.ALL)
    assert sees_trashed(standing, None) is (view is TrashView.ALL)


def test_a_folder_moderator_only_sees_their_own_deletions() -> None:
    standing = Standing(ME, SpaceRef("rubric", None), None, {5: Role.moderator})
    assert trash_view(standing) is TrashView.OWN
    assert trash_view(Standing(ME, SpaceRef("rubric", None), None, {5: Role.visitor})) \
        is TrashView.NONE


@pytest.mark.parametrize("kind", ["documents", "binder"])
def test_personal_trash_is_the_owners(kind: str) -> None:
    assert trash_view(Standing(ME, SpaceRef(kind, ME))) is TrashView.ALL
    assert trash_view(Standing(OTHER, SpaceRef(kind, ME))) is TrashView.NONE
    assert not sees_trashed(Standing(OTHER, SpaceRef(kind, ME)), OTHER)



def test_a_trash_listing_reads_the_top_nodes_in_one_query(store: Store,
                                                          space: SpaceInfo) -> None:
    for i in range(30):
        write(store, space.id, f"/f{i}", b"x" * i)
        store.delete(store.resolve(space.id, f"/f{i}"), deleted_by=None)  # type: ignore[arg-type]
    items = trash.entries(store, space.id)
    with count_queries(store.db) as counter:
        nodes = trash.top_nodes(store, items)
    assert counter.count == 1, counter.statements
    assert sorted(n.size for n in nodes.values()) == list(range(30))
    assert {i.id: i.name for i in items} == {k: n.name for k, n in nodes.items()}
