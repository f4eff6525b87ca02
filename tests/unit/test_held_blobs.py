"""Blobs held outside the node tree (``Store.hold_blob``, ``free_blob``; issue 7:
hand-ins) and the holder registry ``davserver fsck`` reads, on a real database and
a real blob directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from davserver.db import Database
from davserver.errors import InsufficientStorage
from providers import SpaceInfo, Store, fsck, register_blob_holder
from tests.unit.conftest import blob_files, set_limit, used

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
    reserved = announced or 0
    store.reserve(space.id, reserved)
    writer = store.new_writer()
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

    with store.db.transaction() as s:
        keys = store.free_blob(s, space.id, blob_id, 5)
    del HELD[blob_id]
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
