"""File versions in the store (issue 23): every change of content keeps the old blob,
thinning by Nextcloud's rule on a controlled clock, the quota share and its purge
order, renames, MOVE and COPY onto a file, the trash round trip, restores."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import quotas
from davserver import clock
from davserver.db import Database
from davserver.errors import Conflict, InsufficientStorage, NotFound
from providers import LocalBlobStore, SpaceInfo, Store, fsck, trash, versions
from tests.conftest import pinned
from tests.unit.conftest import blob_files, read, set_limit, used, write


def figures(store: Store, space_id: int) -> quotas.Usage:
    found = store.usage(space_id)
    assert found is not None
    return found


def later(seconds: float) -> None:
    """Move this process's clock on by ``seconds`` (no sleep)."""
    clock.set_shift(clock.shift() + timedelta(seconds=seconds))


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    with pinned("2026-12-06T08:00+00:00"):
        yield


def history(store: Store, space_id: int, path: str) -> list[bytes]:
    node = store.resolve(space_id, path)
    assert node is not None
    out = []
    for v in versions.versions_of(store, node.id):
        with store.open_blob(v.blob_key) as f:
            out.append(f.read())
    return out


# --- the rule, as a pure function ---------------------------------------------------

NOW = 1_800_000_000.0


def test_thinning_keeps_one_per_step_of_each_interval() -> None:
    # One version a second for the last 2 minutes, newest first at NOW - 1.
    times = [(i, NOW - i) for i in range(1, 121)]
    kept = sorted(NOW - t for i, t in times if i not in versions.thinned(times, NOW))
    # the first second's; the newest of each 2-second slot in the first 10 s, of
    # each 10-second slot in the first minute, of each minute after (NOW is on a
    # minute: slots end on ages 2, 4... 10, 20... 60, 120)
    assert kept == [1, 2, 3, 5, 7, 9, 11, 21, 31, 41, 51, 61]


def test_thinning_of_days_and_weeks() -> None:
    day = 86400.0
    # one version every 6 hours over 60 days
    times = [(i, NOW - i * day / 4) for i in range(1, 241)]
    drop = versions.thinned(times, NOW)
    kept = sorted((NOW - t) / day for i, t in times if i not in drop)
    within_day = [k for k in kept if k <= 1]
    assert within_day == [0.25, 0.5, 0.75, 1.0]  # 6 h apart: all kept (step 1 h)
    # one a day (slots are days of the clock: one more where an interval starts)
    month = [k for k in kept if 1 < k <= 30]
    assert 29 <= len(month) <= 31
    assert len({int((NOW - k * day) // day) for k in month}) == len(month)
    after = [k for k in kept if k > 30]  # one a week
    assert 4 <= len(after) <= 6
    assert len({int((NOW - k * day) // (7 * day)) for k in after}) == len(after)


def test_thinning_again_later_keeps_what_it_kept() -> None:
    """Thinning at every save (as the store does) keeps a history: a file saved every
    6 s for ten minutes keeps about one version a minute, and each thinning keeps a
    subset of what the previous one kept, plus the new version."""
    kept: list[tuple[int, float]] = []
    for k in range(100):
        now = NOW + 6 * k
        before = {i for i, _t in kept}
        kept.append((k, now))
        drop = versions.thinned(kept, now)
        kept = [v for v in kept if v[0] not in drop]
        assert {i for i, _t in kept} - {k} <= before
    ages = sorted(NOW + 6 * 99 - t for _i, t in kept)
    assert 13 <= len(ages) <= 17, ages
    old = [a for a in ages if a > 60]
    assert all(b - a >= 54 for a, b in zip(old, old[1:], strict=False))


def test_thinning_keeps_everything_already_spread_and_nothing_twice() -> None:
    assert versions.thinned([], NOW) == set()
    assert versions.thinned([(1, NOW)], NOW) == set()
    # two versions made in the same second: the older goes
    assert versions.thinned([(1, NOW - 0.5), (2, NOW - 0.2)], NOW) == {1}
    assert versions.step_at(0.5) == 1 and versions.step_at(86400 * 365) == 604800


# --- making versions ----------------------------------------------------------------

def test_every_overwrite_keeps_the_old_blob_without_copying(
        store: Store, space: SpaceInfo, blob_root: Path) -> None:
    write(store, space.id, "/a.txt", b"one")
    later(3600)
    write(store, space.id, "/a.txt", b"two!")
    files = blob_files(blob_root)
    later(3600)
    write(store, space.id, "/a.txt", b"three")
    assert read(store, space.id, "/a.txt") == b"three"
    assert history(store, space.id, "/a.txt") == [b"two!", b"one"]
    assert len(blob_files(blob_root)) == len(files) + 1  # only the new content's file
    f = figures(store, space.id)
    assert (f.used, f.versions) == (5, 7)  # versions are not in the used bytes
    node = store.resolve(space.id, "/a.txt")
    assert node is not None
    first = versions.versions_of(store, node.id)[-1]
    assert (first.size, first.etag) == (3, hashlib.sha1(b"one").hexdigest())
    assert first.made_at == pytest.approx(clock.time() - 3600, abs=5)
    assert fsck(store).clean


def test_the_same_bytes_and_empty_contents_make_no_version(
        store: Store, space: SpaceInfo) -> None:
    write(store, space.id, "/a.txt", b"")
    later(60)
    write(store, space.id, "/a.txt", b"same")
    later(60)
    write(store, space.id, "/a.txt", b"same")
    assert history(store, space.id, "/a.txt") == []
    assert fsck(store).clean


def test_a_sync_client_saving_ten_times_a_minute_is_thinned(
        store: Store, space: SpaceInfo) -> None:
    for i in range(60):  # ten minutes, a save every 6 seconds
        write(store, space.id, "/doc.odt", b"draft %d" % i)
        later(6)
    node = store.resolve(space.id, "/doc.odt")
    assert node is not None
    made = [v.made_at for v in versions.versions_of(store, node.id)]
    # the first minute: a few; then one a minute: about 14 instead of 59
    assert 10 <= len(made) <= 16, len(made)
    ages = sorted(clock.time() - t for t in made)
    old = [a for a in ages if a > 70]
    assert all(b - a >= 59 for a, b in zip(old, old[1:], strict=False))
    f = figures(store, space.id)
    assert f.versions == sum(v.size for v in versions.versions_of(store, node.id))
    assert fsck(store).clean


def test_renames_and_moves_keep_versions_and_move_onto_hands_them_over(
        store: Store, space: SpaceInfo) -> None:
    write(store, space.id, "/a.txt", b"a1")
    later(100)
    write(store, space.id, "/a.txt", b"a2")
    store.make_collection(space.id, "/d")
    node = store.resolve(space.id, "/a.txt")
    assert node is not None
    store.move(node, space.id, "/d/b.txt")
    assert history(store, space.id, "/d/b.txt") == [b"a1"]
    later(100)
    write(store, space.id, "/c.txt", b"c1")
    later(100)
    c = store.resolve(space.id, "/c.txt")
    assert c is not None
    store.move(c, space.id, "/d/b.txt")  # onto it: a2 becomes a version
    assert read(store, space.id, "/d/b.txt") == b"c1"
    assert history(store, space.id, "/d/b.txt") == [b"a2", b"a1"]
    later(100)
    write(store, space.id, "/e.txt", b"e1")
    e = store.resolve(space.id, "/e.txt")
    assert e is not None
    later(100)
    store.copy(e, space.id, "/d/b.txt", recursive=False)  # COPY onto it too
    assert history(store, space.id, "/d/b.txt") == [b"c1", b"a2", b"a1"]
    assert history(store, space.id, "/e.txt") == []
    f = figures(store, space.id)
    assert (f.used, f.versions) == (4, 6)
    assert fsck(store).clean


def test_moving_to_another_space_takes_the_version_bytes(store: Store,
                                                         space: SpaceInfo) -> None:
    other = store.ensure_space("rubric", rubric_id=2)
    write(store, space.id, "/a.txt", b"old")
    later(100)
    write(store, space.id, "/a.txt", b"new")
    node = store.resolve(space.id, "/a.txt")
    assert node is not None
    store.move(node, other.id, "/a.txt")
    assert history(store, other.id, "/a.txt") == [b"old"]
    assert (figures(store, space.id).versions, figures(store, other.id).versions) == (0, 3)
    assert fsck(store).clean


def test_versions_go_to_the_trash_and_back_and_are_purged_with_the_file(
        store: Store, space: SpaceInfo, blob_root: Path) -> None:
    write(store, space.id, "/a.txt", b"v1")
    later(100)
    write(store, space.id, "/a.txt", b"v2")
    node = store.resolve(space.id, "/a.txt")
    assert node is not None
    item = store.delete(node)
    assert len(versions.versions_of(store, node.id)) == 1
    trash.restore(store, item.id, space.id, "/a.txt")
    assert history(store, space.id, "/a.txt") == [b"v1"]
    item = store.delete(store.resolve(space.id, "/a.txt"))  # type: ignore[arg-type]
    trash.purge(store, [item.id])
    assert versions.versions_of(store, node.id) == []
    assert figures(store, space.id).versions == 0
    assert blob_files(blob_root) == set()
    assert fsck(store).clean


def test_a_trash_restore_onto_a_file_keeps_the_replaced_content(
        store: Store, space: SpaceInfo) -> None:
    write(store, space.id, "/a.txt", b"deleted")
    item = store.delete(store.resolve(space.id, "/a.txt"))  # type: ignore[arg-type]
    later(100)
    write(store, space.id, "/a.txt", b"written since")
    trash.restore(store, item.id, space.id, "/a.txt", overwrite=True)
    assert read(store, space.id, "/a.txt") == b"deleted"
    assert history(store, space.id, "/a.txt") == [b"written since"]
    assert trash.entries(store, space.id) == []
    assert (figures(store, space.id).used, figures(store, space.id).versions) == (7, 13)
    assert fsck(store).clean


# --- restoring ----------------------------------------------------------------------

def test_restoring_a_version_makes_the_current_content_a_version(
        store: Store, space: SpaceInfo) -> None:
    write(store, space.id, "/a.txt", b"first")
    later(100)
    write(store, space.id, "/a.txt", b"second!")
    node = store.resolve(space.id, "/a.txt")
    assert node is not None
    [v] = versions.versions_of(store, node.id)
    later(100)
    restored = versions.restore(store, v.id, made_by=None)
    assert restored.etag == v.etag and restored.size == 5
    assert read(store, space.id, "/a.txt") == b"first"
    assert history(store, space.id, "/a.txt") == [b"second!"]
    f = figures(store, space.id)
    assert (f.used, f.versions) == (5, 7)
    with pytest.raises(NotFound):
        versions.restore(store, v.id, made_by=None)  # it is the content now
    assert fsck(store).clean


def test_a_restore_over_quota_is_507_and_changes_nothing(
        store: Store, space: SpaceInfo, db: Database) -> None:
    write(store, space.id, "/a.txt", b"x" * 600)
    later(100)
    write(store, space.id, "/a.txt", b"y" * 10)
    write(store, space.id, "/b.txt", b"z" * 300)
    set_limit(db, space.id, 1000)  # share 500: the 600-byte version is over it...
    node = store.resolve(space.id, "/a.txt")
    assert node is not None
    [v] = versions.versions_of(store, node.id)
    set_limit(db, space.id, None)
    with db.transaction() as s:  # ...so put a limit the restore cannot meet
        quotas.set_limit(s, space.id, 700)
    before = figures(store, space.id)
    with pytest.raises(InsufficientStorage):
        versions.restore(store, v.id, made_by=None)
    assert figures(store, space.id) == before
    assert read(store, space.id, "/a.txt") == b"y" * 10
    assert [x.id for x in versions.versions_of(store, node.id)] == [v.id]


def test_a_version_of_a_trashed_file_cannot_be_restored(store: Store,
                                                        space: SpaceInfo) -> None:
    write(store, space.id, "/a.txt", b"1")
    later(100)
    write(store, space.id, "/a.txt", b"2")
    node = store.resolve(space.id, "/a.txt")
    assert node is not None
    [v] = versions.versions_of(store, node.id)
    store.delete(node)
    with pytest.raises(Conflict):
        versions.restore(store, v.id, made_by=None)
    with pytest.raises(NotFound):
        versions.restore(store, 99999, made_by=None)


# --- quota --------------------------------------------------------------------------

def test_versions_past_their_share_go_oldest_first(db: Database, blob_root: Path) -> None:
    store = Store(db, LocalBlobStore(blob_root), quotas.QuotaPolicy(versions_share=0.3))
    space = store.ensure_space("rubric", rubric_id=1, limit_bytes=1000)
    for i in range(5):  # 100-byte contents, a day apart: none thinned
        write(store, space.id, "/a.txt", bytes([65 + i]) * 100)
        later(86400 * 2)
    node = store.resolve(space.id, "/a.txt")
    assert node is not None
    # 4 versions of 100 bytes, 300 allowed: the oldest (A) went
    assert history(store, space.id, "/a.txt") == [b"D" * 100, b"C" * 100, b"B" * 100]
    f = figures(store, space.id)
    assert (f.used, f.versions, f.versions_limit) == (100, 300, 300)
    assert fsck(store).clean


def test_a_write_needing_room_purges_versions_before_the_trash(
        store: Store, space: SpaceInfo, db: Database) -> None:
    set_limit(db, space.id, 1000)
    write(store, space.id, "/gone.txt", b"g" * 200)
    store.delete(store.resolve(space.id, "/gone.txt"))  # type: ignore[arg-type]
    for i in range(3):
        write(store, space.id, "/a.txt", bytes([65 + i]) * 150)
        later(86400 * 2)
    assert history(store, space.id, "/a.txt") == [b"B" * 150, b"A" * 150]
    # live 150, trash 200, versions 300: a 400-byte file needs 50 bytes of room
    write(store, space.id, "/big.bin", b"b" * 400)
    f = figures(store, space.id)
    assert history(store, space.id, "/a.txt") == [b"B" * 150]  # the oldest went
    assert len(trash.entries(store, space.id)) == 1  # the trash was not touched
    assert (f.used, f.trash, f.versions) == (550, 200, 150)
    # the current content is never purged: a write needing everything takes the
    # versions, then the trash, never the file
    write(store, space.id, "/huge.bin", b"h" * 450)
    f = figures(store, space.id)
    assert (f.used, f.trash, f.versions) == (1000, 0, 0)
    assert read(store, space.id, "/a.txt") == b"C" * 150
    assert used(db, space.id) == 1000
    assert fsck(store).clean


def test_purge_by_age_and_by_the_rule(store: Store, space: SpaceInfo) -> None:
    for i in range(4):
        write(store, space.id, "/a.txt", b"%d" % i)
        later(86400 * 10)
    node = store.resolve(space.id, "/a.txt")
    assert node is not None
    assert len(versions.versions_of(store, node.id)) == 3
    count, freed = versions.purge(store, older_than=clock.time() - 86400 * 15)
    assert (count, freed) == (2, 2)
    assert history(store, space.id, "/a.txt") == [b"2"]
    assert versions.purge(store) == (0, 0)
    assert fsck(store).clean
