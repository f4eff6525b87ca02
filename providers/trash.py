"""The trash (corbeille) of every space: deleting keeps, purging destroys (issue 8).

A delete, over WebDAV or in the browser, calls :func:`move_to_trash`: the node and
its whole subtree leave the live tree in one transaction with a constant number of
statements, as a MOVE does (rows re-pathed, no byte copied). The top node loses its
parent and takes the path ``#trash/<item id>``; its members keep their parents and
names, their paths re-rooted under it. Live paths are ``""`` or start with ``/``, so
no live lookup can reach a trashed node: after a DELETE, PROPFIND and GET of the
path answer 404 as RFC 4918 §9.6 requires. Sibling names stay unique in the live
tree, and the same name deleted twice is kept twice (each top node has its own path
and no parent).

Quota (issue 17, Nextcloud's rule, ``apps/files_trashbin`` ``expire``): a delete
frees space at once. The deleted bytes leave the space's used bytes for its trash
bytes (``quotas.to_trash``), which ``quota-used-bytes`` does not count. The trash
may hold at most ``trash.max_share`` of the space's limit, and live files,
reservations and trash together at most the limit: whenever a change breaks
either rule (a delete that overfills the trash, a write that needs the room),
:func:`make_room` purges the oldest items in the same transaction, records the
purge (:func:`purges`, shown in the trash page) and logs one INFO line. Every
change of existing trash items takes the space's ledger row first (``quotas.lock``,
or the UPDATE of a quota change before a purge to make room), so a purge to make
room never races a restore or a purge by hand; a delete, like a write, changes its
live nodes first and the ledger last, so the two never wait on each other in
opposite orders. :func:`purge` frees trash bytes in the transaction that removes the
rows; blob files go after commit. :func:`restore` charges the destination (507 if
it does not fit beside the live files) and frees the trash bytes, in one
transaction.

Names: items keep the names their nodes had, as written (issue 17); their
``original_path`` is the written path.

Times are UTC epoch seconds; sizes are bytes; paths are space-relative (see
:mod:`providers.store`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import delete, event, func, literal, select, update
from sqlalchemy.orm import Session

import quotas
from davserver import clock, journal
from davserver.errors import Conflict, NotFound, PreconditionFailed

from . import versions
from .folder_etags import ancestors, touch
from .journaling import shared_event
from .models import DavLock, Node, Space, TrashItem, TrashPurge
from .names import name_key, path_key
from .store import (
    _INFO_COLUMNS,
    _NODES,
    _WITH_BLOB,
    NodeInfo,
    Stamp,
    Store,
    _row_info,
    below,
    charged_bytes,
    space_is,
)

log = logging.getLogger(__name__)

TRASH_PREFIX = "#trash/"
# Segments of a provider path before the space-relative part, by space kind
# (``/porte-documents``, ``/classeur``: one; ``/rubriques/<slug>``: two). Lock roots
# are ``/<space id>`` + the provider path (``providers.dav.EntProvider.ref_url``).
_TOP_SEGMENTS = {"rubric": 2}


@dataclass(frozen=True)
class TrashEntry:
    """One deleted item: ``id`` (the trash item's), ``space_id`` it was deleted from,
    ``node_id`` of its (trashed) top node, its ``name`` and ``original_path``
    (space-relative), ``size`` in bytes of the whole subtree (contents and dead
    properties: what it counts in the quota), ``deleted_by`` (user
    id or None), ``deleted_at`` (UTC epoch seconds)."""

    id: int
    space_id: int
    node_id: int
    name: str
    original_path: str
    is_collection: bool
    size: int
    deleted_by: int | None
    deleted_at: float

    @property
    def trash_path(self) -> str:
        """The path of its top node in the space (never a live path)."""
        return trash_root(self.id)


def trash_root(item_id: int) -> str:
    """Path of a trash item's top node inside its space."""
    return f"{TRASH_PREFIX}{item_id}"


def _entry(row: TrashItem) -> TrashEntry:
    return TrashEntry(row.id, row.space_id, row.node_id, row.name, row.original_path,
                      row.is_collection, int(row.size or 0), row.deleted_by, row.deleted_at)


def _sqlite(s: Session) -> bool:
    return s.get_bind().dialect.name == "sqlite"


def _under(s: Session, space_id: int, path: str) -> Any:
    """SQL condition: the nodes strictly below ``path`` in the space."""
    sqlite = _sqlite(s)
    return space_is(space_id, sqlite=sqlite) & below(path + "/", sqlite=sqlite)


def _repath(s: Session, space_id: int, old_root: str, new_root: str,
            written: tuple[str, str], values: dict[str, object] | None = None) -> None:
    """Re-root every node below ``old_root`` at ``new_root`` (key paths), and their
    written paths from ``written[0]`` to ``written[1]`` (one UPDATE)."""
    old_written, new_written = written
    s.execute(update(Node).where(_under(s, space_id, old_root))
              .values(path=literal(new_root) + func.substr(Node.path, len(old_root) + 1),
                      written_path=literal(new_written)
                      + func.substr(Node.written_path, len(old_written) + 1),
                      **(values or {}))
              .execution_options(synchronize_session=False))


def _subtree_size(s: Session, space_id: int, path: str) -> int:
    sqlite = _sqlite(s)
    return int(s.scalar(select(func.coalesce(func.sum(charged_bytes()), 0)).where(
        space_is(space_id, sqlite=sqlite)
        & ((Node.path == path) | below(path + "/", sqlite=sqlite))
    )) or 0)


# --- deleting ----------------------------------------------------------------------

def move_to_trash(store: Store, node: NodeInfo, *, deleted_by: int | None) -> TrashEntry:
    """Delete ``node`` (a live file or folder) into its space's trash, in one
    transaction: rows are re-pathed, bytes stay where they are; they leave the
    space's used bytes for its trash bytes, and when the trash passes its share the
    oldest items are purged (:func:`make_room`; a single item larger than the share
    goes at once). Locks on it and below it are removed with it (RFC 4918 §9.6: a
    deleted resource's locks go).

    Raises ``Conflict`` (409) for a space root, ``NotFound`` (404) if the node is
    no longer live (deleted or moved meanwhile)."""
    if node.parent_id is None:
        raise Conflict("the root of a space cannot be deleted")
    with store.db.transaction() as s:
        _drop_locks(s, node.space_id, path_key(node.path))  # lock rows first (folder_etags)
        touch(s, node.space_id, ancestors(node.path), sqlite=store.sqlite)
        entry, figures = _trash_in(s, store, node.space_id, node.path, deleted_by,
                                   node_id=node.id, locks_dropped=True)
        store.make_room(s, node.space_id, figures)
        return entry


def _trash_in(s: Session, store: Store, space_id: int, path: str, deleted_by: int | None,
              *, node_id: int | None = None, locks_dropped: bool = False,
              ) -> tuple[TrashEntry, quotas.Usage]:
    """Move the live subtree at ``path`` (which must still be node ``node_id`` when
    given) to the trash inside the caller's transaction, which has given its folders
    new ETags (:func:`providers.folder_etags.touch`) first, and removed its locks
    before that when ``locks_dropped`` (else they go here); returns the item and the
    space's figures after its bytes moved to the trash (the caller makes room). The
    ledger row is taken last, by that move, as a write takes it after its nodes."""
    row = s.scalar(select(Node).where(Node.space_id + 0 == space_id,
                                      Node.path == path_key(path)))
    if row is None or row.parent_id is None or node_id not in (None, row.id):
        raise NotFound("the resource is gone (deleted or moved meanwhile)")
    item = TrashItem(space_id=space_id, node_id=row.id, name=row.written_name,
                     original_path=row.written_path, is_collection=row.is_collection,
                     size=_subtree_size(s, space_id, row.path),
                     deleted_by=deleted_by, deleted_at=clock.time())
    s.add(item)
    s.flush()
    new_root = trash_root(item.id)
    if row.is_collection:
        _repath(s, space_id, row.path, new_root, (row.written_path, new_root))
    s.execute(update(Node).where(Node.id == row.id)
              .values(parent_id=None, path=new_root, written_path=new_root)
              .execution_options(synchronize_session=False))
    if not locks_dropped:
        _drop_locks(s, space_id, row.path)
    shared_event(s, journal.Kind.delete, space_id, row.written_path, deleted_by,
                 trash_item=item.id, folder=row.is_collection)
    return _entry(item), quotas.to_trash(s, space_id, int(item.size), store.policy)


def _drop_locks(s: Session, space_id: int, path: str) -> None:
    """Remove the locks of the subtree at ``path`` (three statements)."""
    prefix = quote(f"/{space_id}/")
    skip = _TOP_SEGMENTS.get(s.scalar(select(Space.kind).where(Space.id == space_id)) or "", 1)
    gone = []
    for token, root in s.execute(select(DavLock.token, DavLock.root).where(
            func.substr(DavLock.root, 1, len(prefix)) == prefix)):
        # Lock roots written before issue 17 kept the client's spelling; paths are keys.
        rel = "".join("/" + name_key(s) for s in unquote(root).split("/")[2 + skip:])
        if rel == path or rel.startswith(path + "/"):
            gone.append(token)
    if gone:
        s.execute(delete(DavLock).where(DavLock.token.in_(gone)))


# --- reading -----------------------------------------------------------------------

def entries(store: Store, space_id: int | None = None, *,
            deleted_by: int | None = None) -> list[TrashEntry]:
    """Trash items, oldest deletion first: of one space (or all), and only those
    ``deleted_by`` a user when given. One query."""
    query = select(TrashItem).order_by(TrashItem.deleted_at, TrashItem.id)
    if space_id is not None:
        query = query.where(TrashItem.space_id == space_id)
    if deleted_by is not None:
        query = query.where(TrashItem.deleted_by == deleted_by)
    with store.db.transaction(write=False) as s:
        return [_entry(r) for r in s.scalars(query)]


def entry(store: Store, item_id: int) -> TrashEntry | None:
    """One trash item by id, or None."""
    with store.db.transaction(write=False) as s:
        row = s.get(TrashItem, item_id)
        return _entry(row) if row is not None else None


def top_nodes(store: Store, items: Sequence[TrashEntry]) -> dict[int, NodeInfo]:
    """The top node of each item, by item id, in one query (a trash listing)."""
    if not items:
        return {}
    by_node = {item.node_id: item.id for item in items}
    query = (select(*_INFO_COLUMNS).select_from(_WITH_BLOB)
             .where(_NODES.id.in_(list(by_node))))
    with store.db.reading() as c:
        return {by_node[info.id]: info
                for info in (_row_info(r, store.read_props) for r in c.execute(query))}


def trashed_node(store: Store, item: TrashEntry, rel: str = "") -> NodeInfo | None:
    """The trashed node of ``item`` at ``rel`` below its top (``""``: the top node,
    ``/a/b``: a member of a deleted folder), or None. One query."""
    return store.resolve(item.space_id, item.trash_path + rel)


# --- restoring ---------------------------------------------------------------------

def restore(store: Store, item_id: int, dst_space: int, dst_path: str, *,
            stamp: Stamp | None = None, overwrite: bool = False,
            replaced_by: int | None = None) -> NodeInfo:
    """Put a trash item back at ``dst_path`` of ``dst_space`` (its original place or
    any other; the last segment is the name as written), in one transaction; rows
    change, bytes do not.

    The item's bytes leave the source's trash bytes and are charged to the
    destination's used bytes (``InsufficientStorage``, 507, when they do not fit
    beside its live files: nothing changes); into another space the restored nodes
    take ``stamp`` (author, publication state). An existing member at ``dst_path``
    (in any spelling) is a ``PreconditionFailed`` (412) unless ``overwrite`` (RFC
    4918 §10.6); it is then moved to the trash itself (by ``replaced_by``), so
    nothing is lost. Raises ``NotFound`` for an unknown item (or one purged
    meanwhile), ``Conflict`` (409) without the destination folder, ``BadRequest``
    for a bad name."""
    with store.db.transaction() as s:
        if overwrite:  # what it may replace loses its locks (lock rows first)
            _drop_locks(s, dst_space, path_key(dst_path))
        touch(s, dst_space, ancestors(dst_path), sqlite=store.sqlite)
        source = s.scalar(select(TrashItem.space_id).where(TrashItem.id == item_id))
        if source is None:
            raise NotFound(f"no item {item_id} in the trash")
        quotas.lock(s, [source, dst_space])
        # Read again under the ledger locks: a purge to make room may have taken it.
        row = s.scalar(select(TrashItem).where(TrashItem.id == item_id)
                       .execution_options(populate_existing=True))
        if row is None:
            raise NotFound(f"no item {item_id} in the trash (purged meanwhile)")
        parent, name = store._parent(s, dst_space, dst_path)
        new_root = parent.path + "/" + name_key(name)
        new_written_root = parent.written_path + "/" + name
        replaced = None
        there = s.scalar(select(Node).where(Node.parent_id == parent.id,
                                            Node.name == name_key(name)))
        if there is not None:
            if not overwrite:
                raise PreconditionFailed(f"{new_written_root} already exists")
            if there.is_collection or row.is_collection:
                _trash_in(s, store, dst_space, new_root, replaced_by, locks_dropped=True)
            else:  # a file restored onto a file: the replaced content is a version
                replaced = _replace_file(s, store, there, replaced_by)
        values: dict[str, object] = {}
        if dst_space != row.space_id:
            quotas.drop_trash(s, row.space_id, int(row.size), store.policy)
            figures = quotas.charge(s, dst_space, int(row.size), store.policy)
            versions.change_space(s, store, list(s.scalars(select(Node.id).where(
                Node.space_id == row.space_id, ~Node.is_collection,
                (Node.path == trash_root(row.id))
                | (func.substr(Node.path, 1, len(trash_root(row.id)) + 1)
                   == trash_root(row.id) + "/")))), row.space_id, dst_space)
            values = {"space_id": dst_space}
            if stamp is not None:
                values.update(author_id=stamp.author_id, published=stamp.published)
        else:
            figures = quotas.from_trash(s, dst_space, int(row.size), store.policy)
        old_root = trash_root(row.id)
        _repath(s, row.space_id, old_root, new_root, (old_root, new_written_root), values)
        node_id = row.node_id
        s.delete(row)
        s.flush()
        s.execute(update(Node).where(Node.id == node_id)
                  .values(parent_id=parent.id, name=name_key(name), written_name=name,
                          path=new_root, written_path=new_written_root, **values)
                  .execution_options(synchronize_session=False))
        if replaced is not None:
            versions.hand_over(s, store, replaced, node_id)
            figures = quotas.usage(s, dst_space, store.policy)
        store.make_room(s, dst_space, figures or quotas.usage(s, dst_space, store.policy))
    found = store.resolve(dst_space, new_root)
    assert found is not None
    return found


def _replace_file(s: Session, store: Store, there: Node, replaced_by: int | None) -> int:
    """A live file about to be replaced by a restored one (issue 23): its content
    becomes a version, its node goes (its versions are handed to the restored file by
    the caller) and its bytes (content and dead properties) leave the used bytes.
    Returns its node id."""
    size = int(there.size or 0)
    node_id, blob_id = there.id, there.blob_id
    versions.keep(s, store, node_id=node_id, space_id=there.space_id, blob_id=blob_id,
                  size=size, etag=there.sha1, md5=there.md5,
                  content_type=there.content_type, modified=there.modified,
                  made_by=replaced_by, d_used=-size - int(there.props_bytes or 0),
                  thin=False)
    s.execute(delete(Node).where(Node.id == node_id)
              .execution_options(synchronize_session=False))
    s.expunge(there)
    if not size:
        keys = store._release_blobs(s, [blob_id])
        if keys:
            event.listen(s, "after_commit",
                         lambda _session: store._delete_blob_files(keys), once=True)
    return node_id


# --- purging -----------------------------------------------------------------------

def purge(store: Store, item_ids: Iterable[int]) -> int:
    """Destroy these trash items for good, in one transaction that frees their bytes
    in their spaces' trash bytes; their blob files (those no other node shares) are
    removed after commit. Unknown ids are skipped. Returns the bytes freed."""
    ids = sorted(set(item_ids))
    if not ids:
        return 0
    with store.db.transaction() as s:
        rows = _locked_rows(s, select(TrashItem).where(TrashItem.id.in_(ids)))
        keys, freed = _purge_rows(s, store, rows)
    store._delete_blob_files(keys)
    return freed


def purge_older(store: Store, cutoff: float, space_id: int | None = None) -> list[TrashEntry]:
    """Purge every item deleted before ``cutoff`` (UTC epoch seconds), of one space
    or all; returns what was purged."""
    query = select(TrashItem).where(TrashItem.deleted_at < cutoff)
    if space_id is not None:
        query = query.where(TrashItem.space_id == space_id)
    with store.db.transaction() as s:
        rows = _locked_rows(s, query)
        gone = [_entry(r) for r in rows]
        keys, _freed = _purge_rows(s, store, rows)
    store._delete_blob_files(keys)
    return gone


def _locked_rows(s: Session, query: Any) -> list[TrashItem]:
    """The trash items ``query`` selects, read after their spaces' ledger rows are
    locked (:func:`quotas.lock`: the order every change of trash items follows)."""
    spaces = set(s.scalars(query.with_only_columns(TrashItem.space_id).distinct()))
    quotas.lock(s, spaces)
    return list(s.scalars(query.execution_options(populate_existing=True)))


def empty(store: Store, space_id: int, *, deleted_by: int | None = None) -> int:
    """Empty a space's trash (only ``deleted_by``'s items when given: a rubric
    writer's view of it); returns the bytes freed."""
    return purge(store, [e.id for e in entries(store, space_id, deleted_by=deleted_by)])


def _purge_rows(s: Session, store: Store, rows: Sequence[TrashItem]) -> tuple[list[str], int]:
    """Delete the items' rows and nodes; free their spaces' trash bytes; return blob
    keys to remove after commit and the bytes freed."""
    freed: dict[int, int] = {}
    blob_ids: list[int | None] = []
    for row in rows:
        root = trash_root(row.id)
        cond = (Node.space_id == row.space_id) & (
            (Node.path == root) | (func.substr(Node.path, 1, len(root) + 1) == root + "/"))
        files = s.execute(select(Node.id, Node.blob_id).where(cond, ~Node.is_collection)).all()
        blob_ids += [b for _i, b in files if b is not None]
        blob_ids += versions.drop_nodes(s, store, [i for i, _b in files])
        s.execute(delete(TrashItem).where(TrashItem.id == row.id))
        s.execute(delete(Node).where(cond).execution_options(synchronize_session=False))
        shared_event(s, journal.Kind.purge, row.space_id, row.original_path,
                     trash_item=row.id, size=int(row.size))
        freed[row.space_id] = freed.get(row.space_id, 0) + int(row.size)
    for space_id, nbytes in freed.items():
        quotas.drop_trash(s, space_id, nbytes, store.policy)
    return store._release_blobs(s, blob_ids), sum(freed.values())


# --- making room -------------------------------------------------------------------

# Items read at a time when choosing what to purge (oldest first).
_BATCH = 200


def make_room(store: Store, s: Session, space_id: int, figures: quotas.Usage) -> int:
    """Purge the oldest trash items of a space until ``figures.trash_excess`` bytes
    are freed (``figures``: the space's figures just returned by a quota change in
    the caller's write transaction ``s``, whose ledger row it holds). The purge is
    recorded (:func:`purges`) and logged (INFO, one line); blob files go after
    commit (nothing if the transaction rolls back). Returns the bytes freed.

    Called by :meth:`Store.make_room` after every change that may overfill the trash
    or need its room: a delete, a write, a reservation, a copy or move in, a
    restore."""
    excess = figures.trash_excess
    if excess <= 0:
        return 0
    over_share = figures.trash - figures.trash_limit
    reason = "share" if over_share >= excess else "room"
    chosen: list[TrashItem] = []
    total, offset = 0, 0
    query = (select(TrashItem).where(TrashItem.space_id == space_id)
             .order_by(TrashItem.deleted_at, TrashItem.id))
    while total < excess:
        batch = list(s.scalars(query.offset(offset).limit(_BATCH)))
        if not batch:
            break
        offset += len(batch)
        for row in batch:
            chosen.append(row)
            total += int(row.size)
            if total >= excess:
                break
    if not chosen:
        return 0
    keys, freed = _purge_rows(s, store, chosen)
    now = clock.time()
    s.add(TrashPurge(space_id=space_id, purged_at=now, items=len(chosen), size=freed,
                     reason=reason))
    s.flush()
    log.info("trash of space %d: %d item(s), %d bytes, purged for good to make room (%s: "
             "trash %d of %d bytes allowed, used %d, reserved %d, limit %d)", space_id,
             len(chosen), freed, reason, figures.trash, figures.trash_limit, figures.used,
             figures.reserved, figures.limit)
    if keys:
        event.listen(s, "after_commit", lambda _session: store._delete_blob_files(keys),
                     once=True)
    return freed


@dataclass(frozen=True)
class Purge:
    """Trash items of a space purged by the server to make room: ``at`` (UTC epoch
    seconds), ``items`` purged, ``size`` in bytes, ``reason`` (``room``: a write
    needed it; ``share``: the trash was over its share of the quota)."""

    space_id: int
    at: float
    items: int
    size: int
    reason: str


def purges(store: Store, space_id: int, since: float) -> list[Purge]:
    """The purges made to make room in a space since ``since`` (UTC epoch seconds),
    newest first. One query."""
    with store.db.transaction(write=False) as s:
        rows = s.scalars(select(TrashPurge).where(TrashPurge.space_id == space_id,
                                                  TrashPurge.purged_at >= since)
                         .order_by(TrashPurge.purged_at.desc(), TrashPurge.id.desc()))
        return [Purge(r.space_id, r.purged_at, r.items, int(r.size), r.reason) for r in rows]
