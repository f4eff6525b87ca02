"""Chunked uploads (Nextcloud's chunking "v2" and ownCloud's "NG"): a big file comes
in numbered pieces, each its own request, and is assembled when the client says so.

The protocol (``developer_manual/client_apis/WebDAV/chunking.rst`` of
nextcloud/documentation; the clients' ``propagateuploadng.cpp``): MKCOL of an upload
folder ``/remote.php/dav/uploads/<login>/<transfer id>`` (``OC-Total-Length``: the
file's size; v2 adds the ``Destination``), PUT of each chunk into it (any names:
they are assembled in numeric order, v2's ``1``…``10000`` and NG's zero-padded byte
offsets alike), then MOVE of its ``.file`` to the destination. A client resuming an
interrupted upload lists the folder (PROPFIND) and sends only what is missing; it
may DELETE a chunk or the whole folder.

Here (the DAV side is :mod:`.uploads_dav`):

* an upload is one ``chunked_uploads`` row, per user and transfer id; each chunk a
  blob of the blob store (a ``blobs`` row, so ``fsck`` knows it: the blobs are
  registered with :func:`providers.holders.register_blob_holder`) and an
  ``upload_chunks`` row;
* **quota**: MKCOL reserves ``OC-Total-Length`` (its growth over the file it
  replaces when the ``Destination`` is known) in the space it is bound for, with the
  same conditional UPDATE as any upload (``quotas.reserve``): a file that cannot fit
  is refused with 507 before its first chunk. Without ``Destination`` (NG) the
  user's porte-documents holds it until the MOVE, as Nextcloud's own uploads folder
  does. A chunk without a total reserves its own size. The reservation is given
  back in the transaction that charges the assembled file (chunks never count in
  ``quota-used-bytes``, and never twice), or when the upload is cancelled or
  expires. :func:`reserved_by_space` tells ``fsck`` what the open uploads hold;
* the chunks are assembled by streaming them into one new blob, block by block
  (never the whole file in memory), hashed on the way; the node then points at it
  in one transaction (:meth:`providers.store.Store.commit_write`) that also
  releases the reservation and forgets the upload;
* **expiry**: each chunk pushes the upload's end ``upload_expiry`` seconds further
  (config ``sync.upload_expiry``, 24 h like Nextcloud's); :func:`sweep` cancels what
  has expired: its chunks' blobs go and its reservation is freed. The server runs it
  periodically (``davserver.cli``), and so does ``davserver uploads sweep``.

Times are UTC epoch seconds (:func:`now`); sizes bytes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

import quotas
from davserver import clock
from davserver.db import Base
from davserver.errors import BadRequest, Conflict, DomainError, NotFound

from .blobs import BlobInfo, BlobWriter
from .holders import register_blob_holder
from .models import Blob
from .store import NodeInfo, Store

log = logging.getLogger(__name__)

MAX_CHUNKS = 10000
"""Nextcloud's v2 limit on chunks per upload."""
ASSEMBLE_BLOCK = 1024 * 1024
"""Bytes copied at a time when chunks are assembled."""


class LengthRequired(DomainError):
    """411: the chunk's size must be announced (RFC 9110 §15.5.12)."""

    status = 411


def now() -> float:
    """UTC epoch seconds: the clock of upload expiries (:mod:`davserver.clock`, so that
    tests and the shifted-clock pass move it with every other date)."""
    return clock.time()


class ChunkedUpload(Base):
    """An upload in progress: ``name`` is the client's transfer id (unique per
    ``owner_id``); ``reserved`` bytes are held in ``space_id``'s ledger; ``total`` the
    announced ``OC-Total-Length`` (None: unknown); ``destination`` the provider path
    named at MKCOL (v2), if any; ``created`` and ``expires`` UTC epoch seconds."""

    __tablename__ = "chunked_uploads"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(255))
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"))
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int | None] = mapped_column(BigInteger)
    destination: Mapped[str | None] = mapped_column(Text)
    created: Mapped[float] = mapped_column(Float)
    expires: Mapped[float] = mapped_column(Float, index=True)


class UploadChunk(Base):
    """One chunk of an upload: its ``name`` in the upload folder, its blob and size."""

    __tablename__ = "upload_chunks"
    upload_id: Mapped[int] = mapped_column(ForeignKey("chunked_uploads.id"),
                                           primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True)
class UploadInfo:
    """A snapshot of one upload (see :class:`ChunkedUpload`)."""

    id: int
    owner_id: int
    name: str
    space_id: int
    reserved: int
    total: int | None
    destination: str | None
    created: float
    expires: float


@dataclass(frozen=True)
class ChunkInfo:
    """One chunk: ``name``, ``size`` in bytes, ``blob_key``."""

    name: str
    size: int
    blob_key: str


def _info(row: ChunkedUpload) -> UploadInfo:
    return UploadInfo(row.id, row.owner_id, row.name, row.space_id, int(row.reserved),
                      None if row.total is None else int(row.total), row.destination,
                      row.created, row.expires)


def chunk_order(name: str) -> tuple[int, int | str]:
    """Assembly order: numeric names by value (v2's ``1``…``10000``, NG's padded byte
    offsets), others after them by name (Nextcloud sorts them as text)."""
    return (0, int(name)) if name.isdecimal() else (1, name)


# --- starting, reading, cancelling -------------------------------------------------

def begin(store: Store, owner_id: int, name: str, *, space_id: int, reserve: int,
          total: int | None, destination: str | None, lifetime: float) -> UploadInfo:
    """Open the upload ``name`` of user ``owner_id``, holding ``reserve`` bytes in
    ``space_id``'s ledger, in one transaction. Raises ``InsufficientStorage`` (507)
    when they do not fit, ``Conflict`` when the user already has an upload of that
    name (MKCOL on an existing folder: 405 for the DAV side)."""
    moment = now()
    try:
        with store.db.transaction() as s:
            quotas.reserve(s, space_id, reserve, store.policy)
            row = ChunkedUpload(owner_id=owner_id, name=name, space_id=space_id,
                                reserved=max(0, reserve), total=total,
                                destination=destination, created=moment,
                                expires=moment + lifetime)
            s.add(row)
            s.flush()
            return _info(row)
    except IntegrityError as exc:
        raise Conflict(f"an upload named {name!r} is already open") from exc


def find(store: Store, owner_id: int, name: str) -> UploadInfo | None:
    """The user's open upload ``name`` (None: none, or expired)."""
    with store.db.transaction(write=False) as s:
        row = s.scalar(select(ChunkedUpload).where(ChunkedUpload.owner_id == owner_id,
                                                   ChunkedUpload.name == name,
                                                   ChunkedUpload.expires > now()))
        return _info(row) if row is not None else None


def open_uploads(store: Store, owner_id: int) -> list[UploadInfo]:
    """The user's open uploads, by name."""
    with store.db.transaction(write=False) as s:
        return [_info(r) for r in s.scalars(
            select(ChunkedUpload).where(ChunkedUpload.owner_id == owner_id,
                                        ChunkedUpload.expires > now())
            .order_by(ChunkedUpload.name))]


def chunks(store: Store, upload_id: int) -> list[ChunkInfo]:
    """The chunks of an upload, in assembly order (one query)."""
    with store.db.reading() as c:
        rows = c.execute(select(UploadChunk.name, UploadChunk.size, Blob.key)
                         .join(Blob, Blob.id == UploadChunk.blob_id)
                         .where(UploadChunk.upload_id == upload_id)).all()
    return sorted((ChunkInfo(n, int(size), key) for n, size, key in rows),
                  key=lambda c: chunk_order(c.name))


def cancel(store: Store, upload_id: int) -> None:
    """Forget an upload: its chunks' blobs go, its reservation is freed (DELETE of
    the upload folder). An upload already gone is no error."""
    with store.db.transaction() as s:
        keys = _forget(s, store, upload_id, release=True)
    store.delete_blob_files(keys)


def _forget(s: Session, store: Store, upload_id: int, *, release: bool) -> list[str]:
    """Delete an upload's rows and chunk blobs in ``s``; with ``release``, give back
    its reservation. Returns the blob keys whose files go after commit."""
    row = s.get(ChunkedUpload, upload_id, with_for_update=True)
    if row is None:
        return []
    blob_ids = list(s.scalars(select(UploadChunk.blob_id)
                              .where(UploadChunk.upload_id == upload_id)))
    s.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload_id))
    if release:
        quotas.release(s, row.space_id, int(row.reserved))
    s.delete(row)
    s.flush()
    return store.release_blobs(s, blob_ids)


# --- chunks -------------------------------------------------------------------------

def room_for_chunk(store: Store, upload: UploadInfo, name: str,
                   announced: int | None) -> tuple[int, int]:
    """Before a chunk's body is read: ``(reserved, cap)``, the bytes this chunk
    reserved on its own (an upload without a total: a ``quotas.Reservation`` under a
    lease; give it to :func:`add_chunk`, or back with ``store.release``) and the most
    bytes it may have. With a total,
    the chunks together may not pass it (400 past it); without one the chunk
    reserves its announced size (507 when it does not fit, 411 when it announces
    none). Raises ``BadRequest`` past :data:`MAX_CHUNKS` chunks."""
    with store.db.reading() as c:
        count, stored = c.execute(
            select(func.count(), func.coalesce(func.sum(UploadChunk.size), 0))
            .where(UploadChunk.upload_id == upload.id, UploadChunk.name != name)).one()
    if count >= MAX_CHUNKS:
        raise BadRequest(f"an upload has at most {MAX_CHUNKS} chunks")
    if upload.total is not None:
        cap = upload.total - int(stored)
        if announced is not None and announced > cap:
            raise BadRequest(f"this chunk brings the upload past its OC-Total-Length "
                             f"({upload.total} bytes)")
        return 0, max(0, cap)
    if announced is None:
        raise LengthRequired("a chunk of an upload without OC-Total-Length needs a "
                             "Content-Length")
    # A lease while the chunk's body arrives (a process dying mid-chunk leaves no
    # stray bytes); add_chunk ends it as the bytes join the upload's reservation.
    held = store.reserve(upload.space_id, announced)
    return held, announced


def add_chunk(store: Store, upload: UploadInfo, name: str, blob: BlobInfo, *,
              reserved: int, lifetime: float) -> None:
    """Record a finished chunk (replacing one of the same name), add ``reserved`` (what
    :func:`room_for_chunk` held) to the upload's reservation and push its expiry
    ``lifetime`` seconds from now, in one transaction. On failure the blob is removed
    and ``reserved`` given back; raises ``NotFound`` when the upload is gone
    (expired or cancelled meanwhile)."""
    try:
        with store.db.transaction() as s:
            row = s.get(ChunkedUpload, upload.id, with_for_update=True)
            if row is None:
                raise NotFound("the upload is gone (cancelled, finished or expired)")
            old = s.scalar(select(UploadChunk.blob_id).where(
                UploadChunk.upload_id == upload.id, UploadChunk.name == name))
            blob_id = store.record_blob(s, blob)
            if old is not None:
                s.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload.id,
                                                    UploadChunk.name == name))
            s.add(UploadChunk(upload_id=upload.id, name=name, blob_id=blob_id,
                              size=blob.size))
            # The chunk's lease ends: its bytes stay reserved in the ledger, now held by
            # the upload (which lives up to sync.upload_expiry, longer than any lease);
            # 0 when the lease was reclaimed meanwhile (the ledger no longer holds them).
            lease_id = getattr(reserved, "lease_id", None)
            kept = quotas.leases.end(s, lease_id) if lease_id is not None else int(reserved)
            s.execute(update(ChunkedUpload).where(ChunkedUpload.id == upload.id).values(
                reserved=ChunkedUpload.reserved + kept, expires=now() + lifetime))
            s.flush()
            keys = store.release_blobs(s, [old]) if old is not None else []
    except BaseException:
        store.discard_blob(blob, upload.space_id, reserved)
        raise
    store.delete_blob_files(keys)


def remove_chunk(store: Store, upload: UploadInfo, name: str) -> None:
    """DELETE of one chunk (a client discarding what it cannot reuse). Its blob goes;
    the upload's reservation stays (the chunk will come again)."""
    with store.db.transaction() as s:
        blob_id = s.scalar(select(UploadChunk.blob_id).where(
            UploadChunk.upload_id == upload.id, UploadChunk.name == name))
        if blob_id is None:
            raise NotFound(f"no chunk {name!r} in this upload")
        s.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload.id,
                                            UploadChunk.name == name))
        keys = store.release_blobs(s, [blob_id])
    store.delete_blob_files(keys)


# --- finishing ----------------------------------------------------------------------

def assemble(store: Store, upload: UploadInfo) -> BlobInfo:
    """Stream the chunks, in order, into one new blob (hashed on the way), never
    holding more than :data:`ASSEMBLE_BLOCK` bytes. Raises ``BadRequest`` when they
    do not add up to the announced total, ``Conflict`` for an upload without chunks.
    The caller owns the blob: commit it (:func:`finish`) or discard it."""
    found = chunks(store, upload.id)
    if not found:
        raise Conflict("the upload has no chunks yet")
    size = sum(c.size for c in found)
    if upload.total is not None and size != upload.total:
        raise BadRequest(f"the chunks hold {size} bytes, OC-Total-Length said "
                         f"{upload.total}: some are missing")
    writer: BlobWriter = store.new_writer()
    try:
        for chunk in found:
            with store.open_blob(chunk.blob_key) as source:
                while block := source.read(ASSEMBLE_BLOCK):
                    writer.write(block)
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


def finish(store: Store, upload: UploadInfo, space_id: int, path: str, blob: BlobInfo,
           commit: Callable[..., NodeInfo]) -> NodeInfo:
    """Put the assembled ``blob`` at ``path`` of ``space_id`` through ``commit`` (a
    :meth:`Store.commit_write` bound to the file's stamp and time, called with
    ``within=``), in one transaction that also gives back the upload's reservation
    (before the file is charged: the charge replaces it) and forgets the upload and
    its chunks. On failure (507 when the space has no room left, 409, 412…) nothing
    changes: the upload and its chunks stay for the client's next try."""
    keys: list[str] = []

    def within(s: Session) -> None:
        keys.extend(_forget(s, store, upload.id, release=True))

    node = commit(space_id, path, blob, within=within)
    store.delete_blob_files(keys)
    return node


# --- expiry and bookkeeping ------------------------------------------------------------

def sweep(store: Store, moment: float | None = None) -> list[UploadInfo]:
    """Cancel every upload whose expiry is before ``moment`` (UTC epoch seconds; now
    by default): chunks deleted, reservations freed. Returns what was swept."""
    cutoff = now() if moment is None else moment
    with store.db.transaction(write=False) as s:
        expired = [_info(r) for r in s.scalars(
            select(ChunkedUpload).where(ChunkedUpload.expires <= cutoff))]
    for upload in expired:
        cancel(store, upload.id)
    return expired


class Sweeper:
    """A daemon thread of the server that runs :func:`sweep` at start and then every
    ``every`` seconds, until :meth:`stop`. A failed sweep is logged and tried again
    next time."""

    def __init__(self, store: Store, every: float) -> None:
        self.store = store
        self.every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="upload-sweeper",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                gone = sweep(self.store)
                if gone:
                    log.info("%d expired chunked upload(s) cancelled, %d reserved bytes "
                             "freed", len(gone), sum(u.reserved for u in gone))
            except Exception:
                log.exception("sweeping expired chunked uploads failed")
            self._stopped.wait(self.every)


def reserved_by_space(s: Session) -> dict[int, int]:
    """Bytes the open uploads hold, by space id (``fsck``: not stale reservations)."""
    return {int(space): int(total) for space, total in s.execute(
        select(ChunkedUpload.space_id, func.sum(ChunkedUpload.reserved))
        .group_by(ChunkedUpload.space_id))}


def _referenced(s: Session) -> set[int]:
    return set(s.scalars(select(UploadChunk.blob_id)))


def _holds(s: Session, ids: set[int]) -> set[int]:
    return set(s.scalars(select(UploadChunk.blob_id).where(UploadChunk.blob_id.in_(ids))))


def _not_charged(_s: Session) -> dict[int, int]:
    return {}  # chunks live under the upload's reservation, not in the usage


register_blob_holder("chunked uploads", _referenced, _not_charged, _holds,
                     columns=(UploadChunk.blob_id,))


def all_uploads(store: Store) -> list[UploadInfo]:
    """Every upload, expired or not, oldest first (``davserver uploads list``)."""
    with store.db.transaction(write=False) as s:
        return [_info(r) for r in s.scalars(select(ChunkedUpload)
                                            .order_by(ChunkedUpload.created))]


def chunk_bytes(store: Store, upload_ids: Iterable[int]) -> dict[int, int]:
    """Bytes received so far by upload id (one query)."""
    ids = list(upload_ids)
    if not ids:
        return {}
    with store.db.reading() as c:
        return {int(u): int(n) for u, n in c.execute(
            select(UploadChunk.upload_id, func.sum(UploadChunk.size))
            .where(UploadChunk.upload_id.in_(ids)).group_by(UploadChunk.upload_id))}
