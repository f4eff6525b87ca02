"""Blobs held outside the node tree (``Store.hold_blob``, ``free_blob``; issue 7:
hand-ins) and the holder registry ``davserver fsck`` reads, on a real database and
a real blob directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from davserver import clock
from davserver.db import Database
from davserver.errors import InsufficientStorage
from providers import SpaceInfo, Store, fsck, register_blob_holder, versions
from tests.unit.conftest import blob_files, destroy, set_limit, used, write

HELD: dict[int, tuple[int, int]] = {}  # blob id → (space id, bytes), the test's "table"


@pytest.fixture(autouse=True)
def holder() -> Iterator[None]:
    register_blob_holder(
        "tests.held", lambda _s: set(HELD),
        lambda _s: {sp: sum(n for s2, n in HELD.values() if s2 == sp)
                    for sp, _n in HELD.values()})
    yield
    HELD.clear()


def hold(store: Store, space: SpaceInfo, data: bytes, announced: int | None) -> int:
    reserved = store.reserve(space.id, announced or 0)
    writer = store.new_writer(reserved)
    writer.write(data)
    blob = writer.finish()
    try:
        with store.db.transaction() as s:
            blob_id = store.hold_blob(s, space.id, blob, reserved)
    except BaseException:
        store.discard_blob(blob, space.id, reserved)
        raise
    HELD[blob_id] = (space.id, len(data))
    return blob_id


def test_a_held_blob_is_charged_counted_by_fsck_and_freed(
        store: Store, space: SpaceInfo, db: Database, blob_root: Path) -> None:
    blob_id = hold(store, space, b"copie", announced=5)
    assert used(db, space.id) == 5 and store.usage(space.id).reserved == 0  # type: ignore[union-attr]
    assert fsck(store).clean
    with store.db.transaction(write=False) as s:
        key = store.blob_keys(s, [blob_id])[blob_id]
    with store.open_blob(key) as content:
        assert content.read() == b"copie"

    del HELD[blob_id]  # a holder that forgets its blob: fsck says so
    report = fsck(store)
    assert report.unreferenced_rows == [key] and report.usage_drift == [(space.id, 5, 0)]
    HELD[blob_id] = (space.id, 5)

    del HELD[blob_id]  # the holder deletes its row first (free_blob's contract)
    with store.db.transaction() as s:
        keys = store.free_blob(s, space.id, blob_id, 5)
    store.delete_blob_files(keys)
    assert keys == [key] and used(db, space.id) == 0
    assert not [f for f in blob_files(blob_root) if f.endswith(key)]
    assert fsck(store).clean


def test_a_hold_over_the_limit_leaves_nothing(store: Store, space: SpaceInfo, db: Database,
                                              blob_root: Path) -> None:
    set_limit(db, space.id, 3)
    before = blob_files(blob_root)
    with pytest.raises(InsufficientStorage):  # the length was not announced
        hold(store, space, b"trop long", announced=None)
    assert used(db, space.id) == 0 and store.usage(space.id).reserved == 0  # type: ignore[union-attr]
    assert blob_files(blob_root) == before and fsck(store).clean


def shared_from_node(store: Store, space: SpaceInfo, path: str, data: bytes) -> tuple[int, str]:
    """What an attachment picked from a porte-documents does: hold the file's blob
    without a charge (the file's node counts it)."""
    node = write(store, space.id, path, data)
    with store.db.transaction(write=False) as s:
        blob_id = store.blob_id_of(s, node.blob_key)
    assert blob_id is not None
    HELD[blob_id] = (space.id, 0)
    return blob_id, node.blob_key


@pytest.mark.parametrize("how", ["delete and purge", "overwrite"])
def test_a_node_blob_a_holder_shares_outlives_the_node(
        store: Store, space: SpaceInfo, db: Database, blob_root: Path, how: str) -> None:
    blob_id, key = shared_from_node(store, space, "/cours.pdf", b"partage")
    if how == "overwrite":
        write(store, space.id, "/cours.pdf", b"autre contenu")
        # the replaced content is a version (issue 23): purged, the holder keeps it
        assert versions.purge(store, older_than=clock.time() + 1) == (1, 7)
    else:
        destroy(store, store.resolve(space.id, "/cours.pdf"))
    with store.db.transaction(write=False) as s:
        assert store.blob_keys(s, [blob_id]) == {blob_id: key}
    with store.open_blob(key) as content:
        assert content.read() == b"partage"
    assert fsck(store).clean

    del HELD[blob_id]  # the last holder row goes: the blob with it
    with store.db.transaction() as s:
        keys = store.free_blob(s, None, blob_id, 7)
    store.delete_blob_files(keys)
    assert keys == [key] and not [f for f in blob_files(blob_root) if f.endswith(key)]
    assert fsck(store).clean
