"""Chunked uploads at the store (providers/uploads.py): the quota is reserved when the
upload opens and released in the transaction that charges the assembled file, so
chunks never count twice; chunks are assembled in numeric order into one blob;
cancelling and expiry free everything; ``fsck`` counts open uploads as neither stale
reservations nor orphan blobs. Expiry is tested at instants placed around the
upload's recorded end, never by waiting."""

from __future__ import annotations

import hashlib

import pytest

import quotas
from davserver.errors import BadRequest, Conflict, InsufficientStorage, NotFound
from providers import SpaceInfo, Store, fsck, uploads
from tests.unit.conftest import blob_files, read, set_limit, write

HOUR = 3600.0


@pytest.fixture
def documents(store: Store, owner_id: int) -> SpaceInfo:
    space = store.ensure_space("documents", owner_id=owner_id)
    set_limit(store.db, space.id, 1000)
    return space


def figures(store: Store, space: SpaceInfo) -> quotas.Usage:
    found = store.usage(space.id)
    assert found is not None
    return found


def blob(store: Store, data: bytes):  # type: ignore[no-untyped-def]
    writer = store.new_writer()
    writer.write(data)
    return writer.finish()


def put_chunk(store: Store, upload: uploads.UploadInfo, name: str, data: bytes) -> None:
    reserved, cap = uploads.room_for_chunk(store, upload, name, len(data))
    assert len(data) <= cap
    uploads.add_chunk(store, upload, name, blob(store, data), reserved=reserved,
                      lifetime=HOUR)


def test_the_total_is_reserved_at_the_start_and_charged_once_at_the_end(
        store: Store, documents: SpaceInfo, owner_id: int) -> None:
    data = bytes(range(256)) * 3  # 768 bytes
    upload = uploads.begin(store, owner_id, "t1", space_id=documents.id, reserve=len(data),
                           total=len(data), destination=None, lifetime=HOUR)
    assert figures(store, documents).reserved == 768 and figures(store, documents).used == 0
    # NG's zero-padded offsets and v2's numbers sort by value, not as text.
    for name, part in (("0000000000000512", data[512:]), ("0000000000000000", data[:256]),
                       ("0000000000000256", data[256:512])):
        put_chunk(store, upload, name, part)
    assert figures(store, documents).used == 0  # chunks live under the reservation
    assembled = uploads.assemble(store, upload)
    assert assembled.sha1 == hashlib.sha1(data).hexdigest()
    node = uploads.finish(store, upload, documents.id, "/video.bin", assembled,
                          lambda space, path, info, within: store.commit_write(
                              space, path, info, within=within))
    assert read(store, documents.id, "/video.bin") == data
    assert node.size == 768
    found = figures(store, documents)
    assert (found.used, found.reserved, found.limit, found.trash) == (768, 0, 1000, 0)
    assert uploads.find(store, owner_id, "t1") is None
    assert fsck(store).clean  # chunk blobs gone with the upload


def test_an_upload_that_cannot_fit_is_refused_before_its_first_chunk(
        store: Store, documents: SpaceInfo, owner_id: int) -> None:
    with pytest.raises(InsufficientStorage):
        uploads.begin(store, owner_id, "big", space_id=documents.id, reserve=1001,
                      total=1001, destination=None, lifetime=HOUR)
    assert figures(store, documents).reserved == 0
    assert uploads.find(store, owner_id, "big") is None


def test_chunks_may_not_pass_the_total_and_a_missing_one_is_named(
        store: Store, documents: SpaceInfo, owner_id: int) -> None:
    upload = uploads.begin(store, owner_id, "t2", space_id=documents.id, reserve=10,
                           total=10, destination=None, lifetime=HOUR)
    put_chunk(store, upload, "1", b"12345")
    with pytest.raises(BadRequest, match="OC-Total-Length"):
        uploads.room_for_chunk(store, upload, "2", 6)
    with pytest.raises(BadRequest, match="missing"):
        uploads.assemble(store, upload)
    # The same chunk again replaces it (a client resending after a cut).
    put_chunk(store, upload, "1", b"abcde")
    put_chunk(store, upload, "2", b"fghij")
    assert store.open_blob(uploads.assemble(store, upload).key).read() == b"abcdefghij"


def test_a_second_upload_of_the_same_name_is_refused(
        store: Store, documents: SpaceInfo, owner_id: int) -> None:
    uploads.begin(store, owner_id, "same", space_id=documents.id, reserve=0, total=None,
                  destination=None, lifetime=HOUR)
    with pytest.raises(Conflict):
        uploads.begin(store, owner_id, "same", space_id=documents.id, reserve=0,
                      total=None, destination=None, lifetime=HOUR)


def test_without_a_total_each_chunk_reserves_its_size(
        store: Store, documents: SpaceInfo, owner_id: int) -> None:
    upload = uploads.begin(store, owner_id, "t3", space_id=documents.id, reserve=0,
                           total=None, destination=None, lifetime=HOUR)
    with pytest.raises(uploads.LengthRequired):
        uploads.room_for_chunk(store, upload, "1", None)
    put_chunk(store, upload, "1", b"x" * 600)
    assert figures(store, documents).reserved == 600
    with pytest.raises(InsufficientStorage):
        uploads.room_for_chunk(store, upload, "2", 401)
    uploads.cancel(store, upload.id)
    assert figures(store, documents).reserved == 0


def test_a_file_that_no_longer_fits_at_the_end_keeps_the_upload(
        store: Store, documents: SpaceInfo, owner_id: int) -> None:
    """The reservation went to another space's file (NG: the destination was unknown at
    the start), and that space is full: 507, nothing changes, the client may retry."""
    rubric = store.ensure_space("rubric", rubric_id=7)
    set_limit(store.db, rubric.id, 5)
    upload = uploads.begin(store, owner_id, "t4", space_id=documents.id, reserve=10,
                           total=10, destination=None, lifetime=HOUR)
    put_chunk(store, upload, "1", b"0123456789")
    assembled = uploads.assemble(store, upload)
    with pytest.raises(InsufficientStorage):
        uploads.finish(store, upload, rubric.id, "/f.bin", assembled,
                       lambda space, path, info, within: store.commit_write(
                           space, path, info, within=within))
    assert store.resolve(rubric.id, "/f.bin") is None
    assert figures(store, documents).reserved == 10  # still held for the retry
    assert uploads.find(store, owner_id, "t4") is not None
    set_limit(store.db, rubric.id, 100)
    uploads.finish(store, upload, rubric.id, "/f.bin", uploads.assemble(store, upload),
                   lambda space, path, info, within: store.commit_write(
                       space, path, info, within=within))
    assert figures(store, documents).reserved == 0 and figures(store, rubric).used == 10
    assert fsck(store).clean


def test_expired_uploads_are_swept_and_free_everything(
        store: Store, documents: SpaceInfo, owner_id: int, blob_root) -> None:  # type: ignore[no-untyped-def]
    upload = uploads.begin(store, owner_id, "t5", space_id=documents.id, reserve=100,
                           total=100, destination=None, lifetime=HOUR)
    put_chunk(store, upload, "1", b"y" * 40)
    found = uploads.find(store, owner_id, "t5")
    assert found is not None
    end = found.expires  # pushed by the chunk: an hour after it
    assert end >= upload.expires
    report = fsck(store)
    assert report.clean, report.lines()  # an open upload is neither stale nor orphan
    assert uploads.sweep(store, end - 1) == []
    swept = uploads.sweep(store, end + 1)
    assert [u.name for u in swept] == ["t5"]
    assert figures(store, documents).reserved == 0
    assert not [f for f in blob_files(blob_root) if "objects" in f]
    with pytest.raises(NotFound):
        uploads.add_chunk(store, upload, "2", blob(store, b"late"), reserved=0,
                          lifetime=HOUR)
    assert not [f for f in blob_files(blob_root) if "objects" in f]  # the late one too
    assert fsck(store).clean


def test_fsck_repair_keeps_what_open_uploads_hold(
        store: Store, documents: SpaceInfo, owner_id: int) -> None:
    uploads.begin(store, owner_id, "t6", space_id=documents.id, reserve=300, total=300,
                  destination=None, lifetime=HOUR)
    with store.db.transaction() as s:  # bytes held by nothing: a lease's row lost
        quotas.reserve(s, documents.id, 200, store.policy)
    report = fsck(store)
    assert report.stale_reservations == [(documents.id, 200)]
    fsck(store, repair=True)
    assert figures(store, documents).reserved == 300
    assert fsck(store).clean


def test_fsck_counts_open_chunked_uploads_beside_leases(
        store: Store, documents: SpaceInfo, owner_id: int) -> None:
    """Chunked uploads hold their reservation without a lease (they live up to
    ``sync.upload_expiry``, across many requests): fsck counts it as live beside the
    leases of uploads in flight, reports no drift, and ``--repair`` keeps both. A
    chunk of an upload without a total reserves under a lease while its body
    arrives; the lease ends as its bytes join the upload's reservation."""
    uploads.begin(store, owner_id, "t7", space_id=documents.id, reserve=300, total=300,
                  destination=None, lifetime=HOUR)
    open_ended = uploads.begin(store, owner_id, "t8", space_id=documents.id, reserve=0,
                               total=None, destination=None, lifetime=HOUR)
    put_chunk(store, open_ended, "1", b"z" * 100)
    in_flight = store.reserve(documents.id, 50)  # a PUT whose body is arriving
    assert figures(store, documents).reserved == 450
    with store.db.transaction(write=False) as s:
        assert quotas.leases.held(s) == {documents.id: 50}  # the chunk's lease ended
        assert uploads.reserved_by_space(s) == {documents.id: 400}
    report = fsck(store)
    assert report.clean, report.lines()
    assert report.stale_reservations == [] and report.usage_drift == []
    fsck(store, repair=True)
    assert figures(store, documents).reserved == 450
    store.release(documents.id, in_flight)
    assert figures(store, documents).reserved == 400
    assert fsck(store).clean


def test_other_files_are_untouched_by_an_upload(
        store: Store, documents: SpaceInfo, owner_id: int) -> None:
    write(store, documents.id, "/keep.txt", b"keep")
    upload = uploads.begin(store, owner_id, "t7", space_id=documents.id, reserve=4,
                           total=4, destination=None, lifetime=HOUR)
    put_chunk(store, upload, "1", b"new!")
    uploads.cancel(store, upload.id)
    assert read(store, documents.id, "/keep.txt") == b"keep"
    found = figures(store, documents)
    assert (found.used, found.reserved, found.limit, found.trash) == (4, 0, 1000, 0)
