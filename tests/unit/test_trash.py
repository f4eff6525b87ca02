"""The trash in the store (issue 8): constant queries, no byte moved, the same name
twice, the live tree untouched, restore and purge; and who sees which trash
(``acl.trash_view``), walked cell by cell."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import update

import quotas
from acl import Role, SpaceRef, Standing, TrashView, sees_trashed, trash_view
from davserver.db import Database
from davserver.errors import Conflict, InsufficientStorage, NotFound, PreconditionFailed
from providers import LocalBlobStore, SpaceInfo, Store, fsck, trash, versions
from providers.models import TrashItem
from providers.properties import entry_bytes
from tests.unit.conftest import (
    blob_files,
    count_queries,
    read,
    set_limit,
    trashed,
    used,
    write,
)
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
    assert counter.count <= 12, counter.statements
    assert store.resolve(space.id, "/big") is None
    assert store.resolve(space.id, "/big/sub0") is None
    assert blob_files(blob_root) == files
    # Issue 17: a delete frees its bytes at once; the trash holds them apart.
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (0, before)
    assert before == item.size
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
    # "one", replaced by a file, is a version of it (issue 23), not a trash item
    assert trash.entries(store, space.id) == []
    node = store.resolve(space.id, "/a.txt")
    assert node is not None
    [kept] = versions.versions_of(store, node.id)
    with store.open_blob(kept.blob_key) as f:
        assert f.read() == b"one"
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
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (0, 5)
    assert used(store.db, other.id) == 0
    set_limit(store.db, other.id, None)
    trash.restore(store, item.id, other.id, "/restored")
    assert read(store, other.id, "/restored/e/f") == b"12345"
    assert (used(store.db, space.id), used(store.db, other.id)) == (0, 5)
    assert trashed(store.db, space.id) == 0
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
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (4, 4)
    assert trash.purge(store, [item.id, 99999]) == 4
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (4, 0)
    assert read(store, space.id, "/b") == b"aaaa"  # its blob stays
    item = store.delete(store.resolve(space.id, "/b"), deleted_by=None)  # type: ignore[arg-type]
    assert trash.empty(store, space.id) == 4
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (0, 0)
    assert not [f for f in blob_files(blob_root) if f.startswith("objects/")]
    assert fsck(store).clean


# --- the trash and the quota (issue 17) ------------------------------------------


def _trash_names(store: Store, space_id: int) -> list[str]:
    return [e.name for e in trash.entries(store, space_id)]


def test_a_delete_frees_room_at_once(store: Store, space: SpaceInfo) -> None:
    set_limit(store.db, space.id, 10)
    write(store, space.id, "/full", b"x" * 10)
    with pytest.raises(InsufficientStorage):
        write(store, space.id, "/more", b"y")
    store.delete(store.resolve(space.id, "/full"), deleted_by=None)  # type: ignore[arg-type]
    # The deleted bytes were past the trash's share (5 of 10): purged at once.
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (0, 0)
    write(store, space.id, "/more", b"y" * 10)
    assert used(store.db, space.id) == 10
    assert fsck(store).clean


def test_the_trash_keeps_its_share_oldest_first(store: Store, space: SpaceInfo,
                                                caplog: pytest.LogCaptureFixture) -> None:
    set_limit(store.db, space.id, 100)  # the trash may hold 50 bytes
    for name in ("old", "mid", "new"):
        write(store, space.id, f"/{name}", b"x" * 20)
    for name in ("old", "mid"):
        store.delete(store.resolve(space.id, f"/{name}"), deleted_by=None)  # type: ignore[arg-type]
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (20, 40)
    with caplog.at_level("INFO", logger="providers.trash"):
        store.delete(store.resolve(space.id, "/new"), deleted_by=None)  # type: ignore[arg-type]
    assert _trash_names(store, space.id) == ["mid", "new"]  # "old" went first
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (0, 40)
    lines = [r.getMessage() for r in caplog.records if "purged" in r.getMessage()]
    assert len(lines) == 1 and "1 item(s), 20 bytes" in lines[0] and "share" in lines[0]
    [purge] = trash.purges(store, space.id, since=0)
    assert (purge.items, purge.size, purge.reason) == (1, 20, "share")
    assert fsck(store).clean


def test_a_write_that_needs_the_room_purges_the_oldest(store: Store,
                                                       space: SpaceInfo) -> None:
    set_limit(store.db, space.id, 100)
    for i in range(4):
        write(store, space.id, f"/t{i}", b"x" * 10)
        store.delete(store.resolve(space.id, f"/t{i}"), deleted_by=None)  # type: ignore[arg-type]
    write(store, space.id, "/live", b"y" * 60)
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (60, 40)
    write(store, space.id, "/more", b"z" * 25)  # 60 + 25 + 40 > 100: 25 bytes of trash go
    assert _trash_names(store, space.id) == ["t3"]
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (85, 10)
    [purge] = trash.purges(store, space.id, since=0)
    assert (purge.items, purge.size, purge.reason) == (3, 30, "room")
    with pytest.raises(InsufficientStorage):  # the trash never makes the quota larger
        write(store, space.id, "/too-much", b"w" * 16)
    assert _trash_names(store, space.id) == ["t3"]  # a refused write purges nothing
    assert fsck(store).clean


def test_a_reservation_makes_room_in_its_own_transaction(store: Store,
                                                         space: SpaceInfo) -> None:
    set_limit(store.db, space.id, 100)
    for i in range(3):
        write(store, space.id, f"/t{i}", b"x" * 15)
        store.delete(store.resolve(space.id, f"/t{i}"), deleted_by=None)  # type: ignore[arg-type]
    assert trashed(store.db, space.id) == 45
    held = store.reserve(space.id, 70)
    figures = held.figures
    assert figures is not None and figures.reserved == 70
    assert _trash_names(store, space.id) == ["t1", "t2"]  # 70 + 45 > 100: the oldest went
    assert figures.used + figures.reserved + trashed(store.db, space.id) <= 100
    store.release(space.id, held)


def test_a_dead_uploads_reservation_goes_before_any_trash_item(store: Store,
                                                                space: SpaceInfo) -> None:
    """Issues 17 and 18 together: bytes still reserved by an upload whose process died
    (its lease held by an ended process of this host) are given back before a write
    purges the trash to make room; the item a user may still restore stays."""
    set_limit(store.db, space.id, 100)
    write(store, space.id, "/kept", b"k" * 30)
    store.delete(store.resolve(space.id, "/kept"), deleted_by=None)  # type: ignore[arg-type]
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    with store.db.transaction() as s:
        quotas.reserve(s, space.id, 40, store.policy)
        s.add(quotas.UploadLease(space_id=space.id, nbytes=40,
                                 host=quotas.this_process().host, pid=int(ended.stdout),
                                 token="ended", expires=quotas.leases.now() + 3600))
    before = store.usage(space.id)
    assert before is not None and (before.used, before.reserved, before.trash) == (0, 40, 30)
    write(store, space.id, "/live", b"l" * 50)  # 50 + 40 + 30 > 100; 50 + 30 fits
    after = store.usage(space.id)
    assert after is not None and (after.used, after.reserved, after.trash) == (50, 0, 30)
    assert _trash_names(store, space.id) == ["kept"]
    assert trash.purges(store, space.id, since=0) == []
    assert fsck(store).clean, fsck(store).lines()


def test_dead_properties_go_to_the_trash_and_back(store: Store, space: SpaceInfo) -> None:
    """A deleted file's dead properties leave the used bytes with it, count in its
    trash item's size (what a purge frees, a restore charges), and fsck checks the
    item's size against its content."""
    name, value = "{urn:x}note", '<note xmlns="urn:x">été</note>'
    props = entry_bytes(name, value)
    store.make_collection(space.id, "/d")
    write(store, space.id, "/d/a.txt", b"a" * 10)
    node = store.resolve(space.id, "/d/a.txt")
    assert node is not None
    store.patch_dead_props(node, {name: value})
    assert used(store.db, space.id) == 10 + props
    item = store.delete(store.resolve(space.id, "/d"), deleted_by=None)  # type: ignore[arg-type]
    assert item.size == 10 + props
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (0, 10 + props)
    assert fsck(store).clean, fsck(store).lines()
    trash.restore(store, item.id, space.id, "/d")
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (10 + props, 0)
    restored = store.resolve(space.id, "/d/a.txt")
    assert restored is not None and dict(restored.dead_props) == {name: value}
    item = store.delete(store.resolve(space.id, "/d"), deleted_by=None)  # type: ignore[arg-type]
    with store.db.transaction() as s:  # an item's size recorded without its properties
        s.execute(update(TrashItem).where(TrashItem.id == item.id).values(size=10))
    report = fsck(store)
    assert report.item_drift == [(item.id, 10, 10 + props)], report.lines()
    fsck(store, repair=True)
    assert fsck(store).clean, fsck(store).lines()
    assert trash.purge(store, [item.id]) == 10 + props
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (0, 0)


def test_a_restore_fits_while_the_trash_lives_within_the_quota(store: Store,
                                                                space: SpaceInfo) -> None:
    """Live files, reservations and trash never pass the limit together, so an item
    restored to its space always fits; only a limit lowered since refuses it."""
    set_limit(store.db, space.id, 100)
    write(store, space.id, "/kept", b"k" * 30)
    item = store.delete(store.resolve(space.id, "/kept"), deleted_by=None)  # type: ignore[arg-type]
    write(store, space.id, "/live", b"l" * 70)
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (70, 30)
    trash.restore(store, item.id, space.id, "/kept")
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (100, 0)
    item = store.delete(store.resolve(space.id, "/kept"), deleted_by=None)  # type: ignore[arg-type]
    set_limit(store.db, space.id, 90)  # an administrator lowers the quota
    with pytest.raises(InsufficientStorage):
        trash.restore(store, item.id, space.id, "/kept")
    assert (used(store.db, space.id), trashed(store.db, space.id)) == (70, 30)
    write(store, space.id, "/live", b"l" * 50)  # smaller: needs no room, frees some
    assert trash.entry(store, item.id) is not None  # 50 + 30 <= 90: nothing purged
    write(store, space.id, "/live2", b"m" * 11)  # 61 + 30 > 90: the item goes
    assert trash.entry(store, item.id) is None
    assert fsck(store).clean


def test_a_zero_share_keeps_nothing(db: Database, blob_root: Path) -> None:
    store = Store(db, LocalBlobStore(blob_root), quotas.QuotaPolicy(trash_share=0.0))
    space = store.ensure_space("rubric", rubric_id=7)
    write(store, space.id, "/a", b"abc")
    store.delete(store.resolve(space.id, "/a"), deleted_by=None)  # type: ignore[arg-type]
    assert trash.entries(store, space.id) == []
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


_RACE_EXPECTED = (InsufficientStorage, NotFound, PreconditionFailed, Conflict)


def _race_writer(store: Store, space_id: int, n: int, errors: list[BaseException]) -> None:
    """Five writes of 6,000 bytes, every other one deleted again."""
    for j in range(5):
        try:
            write(store, space_id, f"/w{n}-{j}", b"w" * 6_000)
            node = store.resolve(space_id, f"/w{n}-{j}") if j % 2 else None
            if node is not None:
                store.delete(node, deleted_by=None)
        except _RACE_EXPECTED:
            pass
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)


def _race_restorer(store: Store, space_id: int, n: int,
                   errors: list[BaseException]) -> None:
    """Restore every other trash item (those a purge took meanwhile: 404)."""
    for item in trash.entries(store, space_id)[n::2]:
        try:
            trash.restore(store, item.id, space_id, f"/back-{item.id}")
        except _RACE_EXPECTED:
            pass
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)


def test_the_trash_makes_room_under_parallel_writes_deletes_and_restores(
        store: Store, space: SpaceInfo) -> None:
    """The quota holds under races (issue 17): uploads that need the trash's room,
    deletes that overfill it and restores run at once, on SQLite (one writer at a
    time) and on PostgreSQL (the ledger row taken first by every change of trash
    items: no deadlock, no item restored and purged at once). Afterwards live and
    trash bytes match the ledger and stay within the limit."""
    limit = 100_000
    set_limit(store.db, space.id, limit)
    for i in range(10):
        write(store, space.id, f"/old{i}", bytes([i]) * 5_000)
        store.delete(store.resolve(space.id, f"/old{i}"), deleted_by=None)  # type: ignore[arg-type]
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_race_writer, args=(store, space.id, n, errors))
               for n in range(6)]
    threads += [threading.Thread(target=_race_restorer, args=(store, space.id, n, errors))
                for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    figures = store.usage(space.id)
    assert figures is not None and figures.reserved == 0
    assert figures.used + figures.trash <= limit and figures.trash <= limit // 2, figures
    assert fsck(store).clean, fsck(store).lines()
