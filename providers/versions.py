"""Earlier versions of files (issue 23): every change of a file's content keeps the
old content, at no byte cost.

What makes a version: a write over a file (PUT, a web upload, a chunked upload's
assembly: :meth:`providers.store.Store.commit_write`), a MOVE or COPY onto it
(:meth:`Store.move`, :meth:`Store.copy`), a trash restore onto it
(:func:`providers.trash.restore`) and the restore of a version (:func:`restore`).
The version is a ``file_versions`` row pointing at the old blob: nothing is copied,
and the blob stays while a node, a version or another holder points at it (this
module registers itself as a blob holder, :mod:`providers.holders`, so ``fsck`` and
``Store._release_blobs`` know). Empty contents and rewrites of the same bytes (same
SHA-1) make no version.

A version belongs to its file's node, live or in the trash: renames and moves keep
them (the node stays), a delete takes them to the trash with the file and a restore
brings them back; purging the file purges them (:func:`drop_nodes`). A MOVE or COPY
onto a file, or a trash restore onto it, hands the replaced file's versions to the
file that replaces it (:func:`hand_over`).

Thinning (the intervals of Nextcloud's ``files_versions``, :func:`thinned`):
counting back from now, one version in the first second, one per 2 seconds in the
first 10 seconds, one per 10 seconds in the first minute, one per minute in the first
hour, one per hour in the first 24 hours, one per day in the first 30 days, one per
week after that. It runs on a file's versions whenever one is
added, and over every file with ``davserver versions purge``.

Quota: version bytes count apart from the used bytes (``space_usage.version_bytes``,
never in ``quota-used-bytes``), within ``versions.max_share`` of the space's limit,
and live files, reservations, trash and versions together within the limit: past
either, the oldest versions of the space go first (:func:`make_room`, called by
:meth:`Store.make_room` before the trash's). The current content is never a version,
so never purged.

Times are UTC epoch seconds read through :mod:`davserver.clock`; sizes are bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session

import quotas
from davserver import clock
from davserver.errors import Conflict, NotFound

from .folder_etags import ancestors, touch
from .holders import register_blob_holder
from .models import Blob, FileVersion, Node
from .store import NodeInfo, Store

log = logging.getLogger(__name__)

# (the interval ends this many seconds back from now, or None: never; keep one
# version per this many seconds inside it). Nextcloud's table, with the first second
# of its documentation in front.
INTERVALS: tuple[tuple[int | None, int], ...] = (
    (1, 1),
    (10, 2),
    (60, 10),
    (3600, 60),
    (86400, 3600),
    (30 * 86400, 86400),
    (None, 7 * 86400),
)

# Versions read at a time when choosing what to purge for room (oldest first).
_BATCH = 200


@dataclass(frozen=True)
class VersionInfo:
    """One earlier content of a file: ``id`` (the version id of the CLI and of
    restores), ``node_id`` its file, ``space_id``, ``blob_key`` (None if its blob is
    gone), ``size`` bytes, ``etag`` (unquoted SHA-1), ``md5``, ``content_type``,
    ``modified`` (the content's modification time), ``made_at`` (when it became a
    version), ``made_by`` (user id or None)."""

    id: int
    node_id: int
    space_id: int
    blob_key: str | None
    size: int
    etag: str
    md5: str | None
    content_type: str | None
    modified: float
    made_at: float
    made_by: int | None


_COLUMNS = (FileVersion.id, FileVersion.node_id, FileVersion.space_id, Blob.key,
            FileVersion.size, FileVersion.etag, FileVersion.md5, FileVersion.content_type,
            FileVersion.modified, FileVersion.made_at, FileVersion.made_by)


def _info(row: Any) -> VersionInfo:
    return VersionInfo(int(row[0]), int(row[1]), int(row[2]), row[3], int(row[4]), row[5],
                       row[6], row[7], float(row[8]), float(row[9]), row[10])


def _select() -> Any:
    return select(*_COLUMNS).outerjoin(Blob, Blob.id == FileVersion.blob_id)


# --- the rule ----------------------------------------------------------------------

def step_at(age: float) -> int:
    """The thinning step (seconds) for a version ``age`` seconds old (:data:`INTERVALS`)."""
    for ends, step in INTERVALS:
        if ends is None or age <= ends:
            return step
    return INTERVALS[-1][1]


def thinned(versions: Iterable[tuple[int, float]], now: float) -> set[int]:
    """The ids to drop among ``versions`` (``(id, made_at)`` pairs, any order) by
    the thinning rule (:data:`INTERVALS`) at ``now`` (UTC epoch seconds): a version
    ``age`` seconds old falls in the slot ``made_at // step`` of its interval's step,
    and each slot keeps its newest version.

    Nextcloud's intervals and steps, on slots fixed to the clock rather than counted
    from the newest version kept (Nextcloud's ``getAutoExpireList``): thinning runs at
    every save, and Nextcloud's way, run again at each of a sync client's saves six
    seconds apart, never keeps more than three versions (its chain of kept versions
    restarts each time). Steps divide one another (1, 2, 10, 60, 3600, 86400,
    604800), so a slot of an older interval is a union of slots of the younger one:
    what a thinning keeps, a later one keeps unless a newer version shares its
    coarser slot."""
    newest: dict[tuple[int, int], tuple[float, int]] = {}
    for version_id, made_at in versions:
        step = step_at(now - made_at)
        slot = (step, int(made_at // step))
        held = newest.get(slot)
        if held is None or (made_at, version_id) > held:
            newest[slot] = (made_at, version_id)
    kept = {version_id for _made_at, version_id in newest.values()}
    return {version_id for version_id, _made_at in versions} - kept


# --- the blob holder ---------------------------------------------------------------

def _referenced(s: Session) -> set[int]:
    return set(s.scalars(select(FileVersion.blob_id).distinct()))


def _holds(s: Session, ids: set[int]) -> set[int]:
    return set(s.scalars(select(FileVersion.blob_id).where(FileVersion.blob_id.in_(ids))
                         .distinct()))


# Version bytes are not used bytes: fsck's usage sums get nothing from here, and
# compare the version bytes on their own (:func:`bytes_by_space`).
register_blob_holder("file_versions", _referenced, lambda _s: {}, _holds,
                     columns=(FileVersion.blob_id,))


def bytes_by_space(s: Session) -> dict[int, int]:
    """The bytes of every space's versions, by space id (one query; ``fsck``)."""
    return {int(space): int(total or 0) for space, total in s.execute(
        select(FileVersion.space_id, func.sum(FileVersion.size))
        .group_by(FileVersion.space_id))}


def orphans(s: Session) -> list[int]:
    """Ids of versions whose file no longer exists (``fsck``: none should)."""
    return list(s.scalars(select(FileVersion.id).where(
        ~select(Node.id).where(Node.id == FileVersion.node_id).exists())
        .order_by(FileVersion.id)))


def forget(s: Session, store: Store, version_ids: Sequence[int]) -> None:
    """Delete versions by id in the caller's transaction (``fsck --repair``: versions
    whose file is gone), freeing their version bytes; their blobs become orphans
    that the same repair removes."""
    rows: list[Any] = []
    for chunk in _chunks(list(version_ids)):
        rows += s.execute(select(FileVersion.id, FileVersion.space_id, FileVersion.blob_id,
                                 FileVersion.size).where(FileVersion.id.in_(chunk))).all()
    _delete_rows(s, store, rows)


# --- making versions (inside the store's write transactions) -----------------------

def keep(s: Session, store: Store, *, node_id: int, space_id: int, blob_id: int | None,
         size: int, etag: str | None, md5: str | None, content_type: str | None,
         modified: float, made_by: int | None, d_used: int = 0,
         thin: bool = True) -> quotas.Usage | None:
    """Keep a file's content that is being replaced as a version of ``node_id``, in
    the caller's write transaction: the blob ``blob_id`` of ``size`` bytes stays
    (no copy) and its bytes enter the space's version bytes, together with a change
    of ``d_used`` used bytes (the caller's own charge, 0 if made apart). Empty
    content (no blob, or 0 bytes) is not kept. With ``thin``, the file's versions are
    thinned (:func:`thinned`). Returns the space's figures after it (None: nothing
    changed), for :meth:`Store.make_room`."""
    figures = None
    if blob_id is not None and size > 0:
        s.add(FileVersion(node_id=node_id, space_id=space_id, blob_id=blob_id, size=size,
                          etag=etag or "", md5=md5, content_type=content_type,
                          modified=modified, made_at=clock.time(), made_by=made_by))
        s.flush()
        figures = quotas.to_versions(s, space_id, size, store.policy, d_used=d_used)
    elif d_used:
        figures = quotas.charge(s, space_id, d_used, store.policy)
    if thin:
        figures = thin_file(s, store, node_id) or figures
    return figures


def hand_over(s: Session, store: Store, old_node: int, new_node: int) -> quotas.Usage | None:
    """The versions of ``old_node`` (a file replaced by a MOVE, COPY or restore onto
    it, gone in this transaction) become ``new_node``'s, and are thinned together
    with its own. Returns the figures of the last space changed (None: nothing)."""
    if old_node == new_node:
        return thin_file(s, store, new_node)
    s.execute(update(FileVersion).where(FileVersion.node_id == old_node)
              .values(node_id=new_node).execution_options(synchronize_session=False))
    return thin_file(s, store, new_node)


def change_space(s: Session, store: Store, node_ids: Sequence[int], src_space: int,
                 dst_space: int) -> quotas.Usage | None:
    """The versions of ``node_ids`` follow their files from ``src_space`` to
    ``dst_space`` (a MOVE or trash restore into another space): their bytes leave
    the one's version bytes for the other's (never refused: the destination makes
    room). Returns the destination's figures (None: no version moved)."""
    if src_space == dst_space or not node_ids:
        return None
    total = 0
    for chunk in _chunks(list(node_ids)):
        cond = (FileVersion.node_id.in_(chunk)) & (FileVersion.space_id == src_space)
        total += int(s.scalar(select(func.coalesce(func.sum(FileVersion.size), 0))
                              .where(cond)) or 0)
        s.execute(update(FileVersion).where(cond).values(space_id=dst_space)
                  .execution_options(synchronize_session=False))
    if not total:
        return None
    quotas.to_versions(s, src_space, -total, store.policy)
    return quotas.to_versions(s, dst_space, total, store.policy)


def drop_nodes(s: Session, store: Store, node_ids: Sequence[int]) -> list[int]:
    """Purge every version of ``node_ids`` (files destroyed for good: a trash purge,
    a folder replaced by a MOVE or COPY), freeing their version bytes. Returns their
    blob ids for the caller to release with the nodes' own
    (``Store._release_blobs``, after the nodes are deleted)."""
    rows: list[Any] = []
    for chunk in _chunks(list(node_ids)):
        rows += s.execute(select(FileVersion.id, FileVersion.space_id, FileVersion.blob_id,
                                 FileVersion.size)
                          .where(FileVersion.node_id.in_(chunk))).all()
    return _delete_rows(s, store, rows)[0]


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    """``ids`` in lists short enough for one ``IN`` (SQLite's parameter limit)."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _delete_rows(s: Session, store: Store,
                 rows: Sequence[Any]) -> tuple[list[int], quotas.Usage | None]:
    """Delete versions given as (id, space id, blob id, size) rows; free their version
    bytes. Returns their blob ids (to release) and the figures of the last space."""
    if not rows:
        return [], None
    freed: dict[int, int] = {}
    for chunk in _chunks([int(r[0]) for r in rows]):
        s.execute(delete(FileVersion).where(FileVersion.id.in_(chunk))
                  .execution_options(synchronize_session=False))
    for row in rows:
        freed[int(row[1])] = freed.get(int(row[1]), 0) + int(row[3])
    figures = None
    for space_id, nbytes in sorted(freed.items()):
        figures = quotas.to_versions(s, space_id, -nbytes, store.policy)
    return [int(r[2]) for r in rows], figures


def _release_after_commit(s: Session, store: Store, blob_ids: list[int]) -> None:
    """Release blobs nothing holds any more; their files go after commit."""
    keys = store._release_blobs(s, blob_ids)
    if keys:
        event.listen(s, "after_commit", lambda _session: store._delete_blob_files(keys),
                     once=True)


def thin_file(s: Session, store: Store, node_id: int) -> quotas.Usage | None:
    """Thin the versions of one file by the rule (:func:`thinned`) now. Returns the
    figures after the purge (None: nothing purged)."""
    rows = s.execute(select(FileVersion.id, FileVersion.made_at)
                     .where(FileVersion.node_id == node_id)).all()
    drop = thinned([(int(r[0]), float(r[1])) for r in rows], clock.time())
    if not drop:
        return None
    gone = s.execute(select(FileVersion.id, FileVersion.space_id, FileVersion.blob_id,
                            FileVersion.size).where(FileVersion.id.in_(drop))).all()
    blob_ids, figures = _delete_rows(s, store, gone)
    _release_after_commit(s, store, blob_ids)
    return figures


def make_room(store: Store, s: Session, space_id: int,
              figures: quotas.Usage) -> quotas.Usage:
    """Purge the oldest versions of a space until ``figures.versions_excess`` bytes
    are freed, in the caller's write transaction (which holds the space's ledger
    row: ``figures`` came from its last quota change). One INFO line; blob files go
    after commit. Returns the figures after it."""
    excess = figures.versions_excess
    if excess <= 0:
        return figures
    reason = "share" if figures.versions - figures.versions_limit >= excess else "room"
    chosen: list[Any] = []
    total, offset = 0, 0
    query = (select(FileVersion.id, FileVersion.space_id, FileVersion.blob_id,
                    FileVersion.size)
             .where(FileVersion.space_id == space_id)
             .order_by(FileVersion.made_at, FileVersion.id))
    while total < excess:
        batch = s.execute(query.offset(offset).limit(_BATCH)).all()
        if not batch:
            break
        offset += len(batch)
        for row in batch:
            chosen.append(row)
            total += int(row[3])
            if total >= excess:
                break
    blob_ids, after = _delete_rows(s, store, chosen)
    _release_after_commit(s, store, blob_ids)
    log.info("versions of space %d: %d version(s), %d bytes, purged to make room (%s: "
             "versions %d of %d bytes allowed, used %d, reserved %d, trash %d, limit %d)",
             space_id, len(chosen), total, reason, figures.versions,
             figures.versions_limit, figures.used, figures.reserved, figures.trash,
             figures.limit)
    return after or figures


# --- reading -----------------------------------------------------------------------

def versions_of(store: Store, node_id: int) -> list[VersionInfo]:
    """The versions of a file, newest first. One query."""
    with store.db.transaction(write=False) as s:
        return [_info(r) for r in s.execute(
            _select().where(FileVersion.node_id == node_id)
            .order_by(FileVersion.made_at.desc(), FileVersion.id.desc()))]


def version(store: Store, version_id: int) -> VersionInfo | None:
    """One version by id, or None (purged, or never made)."""
    with store.db.transaction(write=False) as s:
        row = s.execute(_select().where(FileVersion.id == version_id)).first()
        return _info(row) if row is not None else None


# --- restoring and purging ---------------------------------------------------------

def restore(store: Store, version_id: int, *, made_by: int | None) -> NodeInfo:
    """Make version ``version_id`` its file's content again, in one transaction: the
    current content becomes a version in its turn (by ``made_by``), the restored one
    stops being one. The file's modification time is now (clients see a change).

    Raises ``NotFound`` (404) for a version purged or never made,
    ``Conflict`` (409) when its file is in the trash (restore the file first), and
    ``InsufficientStorage`` (507) when the restored content does not fit beside the
    live files (nothing changes then)."""
    with store.db.transaction() as s:
        first = s.execute(select(FileVersion.node_id).where(FileVersion.id == version_id)
                          ).first()
        if first is None:
            raise NotFound(f"no version {version_id} (purged, or never made)")
        node = s.get(Node, first[0])
        if node is None:
            raise NotFound(f"the file of version {version_id} is gone")
        if node.path.startswith("#"):
            raise Conflict("the file is in the trash: restore it first")
        touch(s, node.space_id, ancestors(node.path), sqlite=store.sqlite)
        quotas.lock(s, [node.space_id])
        row = s.scalar(select(FileVersion).where(FileVersion.id == version_id)
                       .execution_options(populate_existing=True))
        if row is None:
            raise NotFound(f"no version {version_id} (purged meanwhile)")
        old = (node.blob_id, int(node.size or 0), node.sha1, node.md5, node.content_type,
               node.modified)
        restored_size = int(row.size)
        s.execute(update(Node).where(Node.id == node.id).values(
            blob_id=row.blob_id, size=restored_size, sha1=row.etag, etag=row.etag,
            md5=row.md5, content_type=row.content_type, modified=clock.time())
            .execution_options(synchronize_session=False))
        s.delete(row)
        s.flush()
        # The restored content leaves the version bytes for the used bytes, the
        # replaced one the other way: one conditional UPDATE (507: nothing changed).
        figures = quotas.to_versions(s, node.space_id, -restored_size, store.policy,
                                     d_used=restored_size - old[1])
        kept = keep(s, store, node_id=node.id, space_id=node.space_id, blob_id=old[0],
                    size=old[1], etag=old[2], md5=old[3], content_type=old[4],
                    modified=old[5], made_by=made_by)
        if old[0] is not None and old[1] == 0:  # an empty content is not kept
            _release_after_commit(s, store, [old[0]])
        store.make_room(s, node.space_id, kept or figures)
        space_id, path = node.space_id, node.path
    found = store.resolve(space_id, path)
    if found is None:
        raise NotFound("the file is gone")
    return found


def purge(store: Store, *, older_than: float | None = None,
          space_id: int | None = None) -> tuple[int, int]:
    """Thin every file's versions by the rule now and, with ``older_than`` (UTC epoch
    seconds), purge the versions made before it; of one space or all, one transaction
    per space. Returns (versions purged, bytes freed)."""
    with store.db.transaction(write=False) as s:
        query = select(FileVersion.space_id).distinct()
        if space_id is not None:
            query = query.where(FileVersion.space_id == space_id)
        spaces = sorted(int(x) for x in s.scalars(query))
    count = freed = 0
    for space in spaces:
        with store.db.transaction() as s:
            quotas.lock(s, [space])
            rows = s.execute(select(FileVersion.id, FileVersion.node_id,
                                    FileVersion.made_at, FileVersion.space_id,
                                    FileVersion.blob_id, FileVersion.size)
                             .where(FileVersion.space_id == space)).all()
            now = clock.time()
            by_node: dict[int, list[tuple[int, float]]] = {}
            for r in rows:
                by_node.setdefault(int(r[1]), []).append((int(r[0]), float(r[2])))
            drop: set[int] = set()
            for versions in by_node.values():
                drop |= thinned(versions, now)
            if older_than is not None:
                drop |= {int(r[0]) for r in rows if float(r[2]) < older_than}
            gone = [(r[0], r[3], r[4], r[5]) for r in rows if int(r[0]) in drop]
            blob_ids, _figures = _delete_rows(s, store, gone)
            _release_after_commit(s, store, blob_ids)
            count += len(gone)
            freed += sum(int(r[3]) for r in gone)
    return count, freed
