"""The node/blob store: every file operation of every space, each in one transaction.

Invariants (DESIGN.md, "Storage model"):

* resolving a path is one query (``nodes.path`` is materialised);
* listing a folder is one query whatever its member count;
* MOVE and rename update rows only, never bytes; COPY shares blobs;
* a write streams into a new blob first, then one transaction points the node at
  it and settles the usage ledger: a failure at any moment leaves the old or the new
  content, never half a file, and at worst an orphan blob that ``fsck`` removes.

Paths given to the store are space-relative: ``""`` is the space root, ``/a/b`` a
member, in any Unicode normalisation form: the store resolves them by their key
(NFC, :func:`providers.names.path_key`), and a new name is stored as written
(issue 17; :mod:`providers.names`). ``NodeInfo.path`` is the key path,
``NodeInfo.name`` and ``NodeInfo.written_path`` the spelling to show.

Quota: deleted items leave the used bytes for the trash bytes (``providers.trash``),
replaced contents for the version bytes (``providers.versions``: every change of a
file's content keeps the old blob as a version); whenever a change leaves the
versions or the trash past their share, or the limit short of room for live files,
reservations, trash and versions together, the oldest versions, then the oldest
trash items are purged in the same transaction (:meth:`Store.make_room`).
"""

from __future__ import annotations

import functools
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

from sqlalchemy import (
    Text,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import quotas
from davserver import clock, journal
from davserver.db import READ_CACHE_KEY_CHARS, Database, run_rows, table_of
from davserver.errors import Conflict, Forbidden, NotFound

from . import holders
from .blobs import BlobInfo, BlobStore, BlobWriter
from .content_types import bare_type_sql, sniff
from .contributions import announce_published
from .folder_etags import ancestors, around, new_tag, touch, touch_spaces
from .journaling import shared_event
from .models import Blob, DavLock, Node, Space
from .names import name_key, parent_of, path_key, validate_name
from .properties import DeadProps, patched

if TYPE_CHECKING:
    from .trash import TrashEntry

log = logging.getLogger(__name__)

# Above this many blob files, a delete leaves their removal to a background thread.
SYNC_BLOB_DELETES = 32
_janitor: ThreadPoolExecutor | None = None
_janitor_lock = threading.Lock()


def _blob_janitor() -> ThreadPoolExecutor:
    """The one thread of this process that removes blob files after the answer
    (joined at interpreter exit, so a clean stop finishes its work)."""
    global _janitor
    with _janitor_lock:
        if _janitor is None:
            _janitor = ThreadPoolExecutor(1, thread_name_prefix="blob-delete")
        return _janitor


EMPTY_SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


class NodeInfo(NamedTuple):
    """A snapshot of one node, detached from any session (immutable).

    ``name`` is as the client wrote it (shown in listings and hrefs); ``path`` is
    the key path (names in NFC) that resolves it, for comparisons; ``written_path``
    the path as written, for what is shown. ``etag`` is unquoted and strong (the
    content's SHA-1), None for collections.
    A named tuple, not a dataclass: a listing of 10,000 members makes 10,000 of them,
    and a frozen dataclass takes seven times as long to build (issue 9).
    """

    id: int
    space_id: int
    parent_id: int | None
    name: str
    path: str
    is_collection: bool
    size: int
    content_type: str | None
    etag: str | None
    sha1: str | None
    md5: str | None
    blob_key: str | None
    created: float
    modified: float
    dead_props: Mapping[str, str] = MappingProxyType({})  # read-only; a dict when read
    author_id: int | None = None
    published: bool = True
    written_path: str = ""


@dataclass(frozen=True)
class Stamp:
    """Who adds nodes and in which publication state (rubric spaces: a writer's
    additions wait for a moderator, see ``acl.publishes_at_once``)."""

    author_id: int | None
    published: bool = True
    # The space's kind when the caller knows it: a write to a space that is not a
    # rubric's then skips reading it (a new file there is nobody's contribution).
    space_kind: str | None = None


@dataclass(frozen=True)
class SpaceInfo:
    """A space: its kind, its owner (personal spaces) or its rubric (rubric spaces)."""

    id: int
    kind: str
    owner_id: int | None
    rubric_id: int | None = None


# Reads that run on every request select plain columns in NodeInfo's order, built
# once with bound parameters: no ORM objects, no statement construction per call.
_NODE_TABLE, _BLOB_TABLE = table_of(Node), table_of(Blob)
_NODES, _BLOBS = _NODE_TABLE.c, _BLOB_TABLE.c
_INFO_COLUMNS = (_NODES.id, _NODES.space_id, _NODES.parent_id, _NODES.written_name,
                 _NODES.path, _NODES.is_collection, _NODES.size, _NODES.content_type,
                 _NODES.etag, _NODES.sha1, _NODES.md5, _BLOBS.key, _NODES.created,
                 _NODES.modified,
                 _NODES.props_bytes,  # the properties themselves are read when needed
                 _NODES.author_id, _NODES.published, _NODES.written_path)
_WITH_BLOB = _NODE_TABLE.outerjoin(_BLOB_TABLE, _NODES.blob_id == _BLOBS.id)
# ``space_id + 0`` (here and in _NODE_AT) keeps the planner off the space index,
# which SQLite picks for ``space_id = ? AND path = ?`` without statistics: a scan
# of the whole space per lookup. The path index (btree on SQLite, hash on
# PostgreSQL) finds the one row.
_RESOLVE = (select(*_INFO_COLUMNS).select_from(_WITH_BLOB)
            .where(_NODES.space_id + 0 == bindparam("space_id"),
                   _NODES.path == bindparam("path")))
_CHAIN = (select(*_INFO_COLUMNS).select_from(_WITH_BLOB)
          .where(_NODES.space_id + 0 == bindparam("space_id"),
                 _NODES.path.in_(bindparam("paths", expanding=True))))
# Paths up to this depth resolve through a statement of their own (below); deeper
# ones, rare, through _CHAIN. Bounds what Database.read_rows keeps compiled.
CACHED_DEPTHS = 32
# Paths looked up in one statement by Store.resolve_many: under SQLite's oldest bound
# of 999 parameters.
RESOLVE_BATCH = 500


@functools.cache
def _move_below_statement(sqlite: bool, to_other_space: bool) -> Any:
    """UPDATE giving every node below a moved folder its new path (``new_root`` then
    what follows the old root, from character ``cut``) and written path
    (``new_written_root`` then what follows the old one, from ``written_cut``; a
    rename that only changes a name's spelling changes these alone); with
    ``to_other_space`` also
    its space ``dst_space``, author ``new_author`` and state ``new_published`` (left
    out otherwise: an indexed column in SET costs an index write per row). The
    subtree is the nodes of ``src_space`` whose path starts with ``prefix``, with on
    SQLite the index range ``lo`` ≤ path < ``hi`` of :func:`below`."""
    prefix = bindparam("prefix", type_=Text)
    cond = func.substr(_NODES.path, 1, func.length(prefix)) == prefix
    if sqlite:
        cond = and_(_NODES.space_id + 0 == bindparam("src_space"),
                    _NODES.path >= bindparam("lo"), _NODES.path < bindparam("hi"), cond)
    else:
        cond = and_(_NODES.space_id == bindparam("src_space"), cond)
    values: dict[str, Any] = {
        "path": bindparam("new_root", type_=Text) + func.substr(_NODES.path, bindparam("cut")),
        "written_path": bindparam("new_written_root", type_=Text)
        + func.substr(_NODES.written_path, bindparam("written_cut"))}
    if to_other_space:
        values.update(space_id=bindparam("dst_space"), author_id=bindparam("new_author"),
                      published=bindparam("new_published"))
    return update(_NODE_TABLE).where(cond).values(values)


@functools.cache
def _chain_statement(depth: int) -> Any:
    """The nodes at ``depth + 1`` given paths of a space (:meth:`Store.resolve_chain`),
    for ``depth`` ≤ :data:`CACHED_DEPTHS`: one statement per depth, built once, with
    plain parameters ``p0`` … (an expanding ``IN`` list is re-rendered on every call)."""
    paths: list[Any] = [bindparam(f"p{i}") for i in range(depth + 1)]
    return (select(*_INFO_COLUMNS).select_from(_WITH_BLOB)
            .where(_NODES.space_id + 0 == bindparam("space_id"), _NODES.path.in_(paths)))


@dataclass(frozen=True)
class WriteContext:
    """What a PUT needs to know of its space besides the nodes of its path, read by
    the same query (:meth:`Store.resolve_for_write`): ``locked``, whether any WebDAV
    lock row names the space (or no space: rows older than ``dav_locks.space_id``),
    expired ones included; ``figures``, the space's quota figures (None: no ledger
    row, which refuses growth)."""

    space_id: int
    locked: bool
    figures: quotas.Usage | None


# Whether any lock row may concern a space: uncorrelated, so both databases evaluate
# it once per statement (an index probe on dav_locks.space_id).
_SPACE_LOCKED = exists().where(or_(DavLock.space_id == bindparam("space_id"),
                                   DavLock.space_id.is_(None)))


def _write_chain_statement(depth: int, policy: quotas.QuotaPolicy) -> Any:
    """:func:`_chain_statement` with, on every row, :data:`_SPACE_LOCKED` and the
    space's quota figures (``space_usage`` joined by its primary key)."""
    ledger = table_of(quotas.SpaceUsage)
    paths: list[Any] = [bindparam(f"p{i}") for i in range(depth + 1)]
    return (select(*_INFO_COLUMNS, _SPACE_LOCKED.label("space_locked"),
                   *quotas.figures_columns(policy))
            .select_from(_WITH_BLOB.outerjoin(ledger,
                                              ledger.c.space_id == _NODES.space_id))
            .where(_NODES.space_id + 0 == bindparam("space_id"), _NODES.path.in_(paths)))


_NODE_AT = select(Node).where(Node.space_id + 0 == bindparam("space_id"),
                              Node.path == bindparam("path"))
_CHILDREN = (select(*_INFO_COLUMNS).select_from(_WITH_BLOB)
             .where(_NODES.parent_id == bindparam("parent_id")).order_by(_NODES.name))

# The write of a file's content (:meth:`Store._commit_write`), the hot path of every
# PUT: plain statements built once, no ORM unit of work. First the folder at
# ``parent_path`` and the member whose key is ``name`` in it, if any, in one query.
_PARENT, _MEMBER = _NODE_TABLE.alias("parent"), _NODE_TABLE.alias("member")
_WRITE_TARGET = (
    select(_PARENT.c.id, _PARENT.c.path, _PARENT.c.is_collection, _MEMBER.c.id,
           _MEMBER.c.is_collection, _MEMBER.c.size, _MEMBER.c.blob_id, _MEMBER.c.created,
           _MEMBER.c.props_bytes, _MEMBER.c.author_id,
           _PARENT.c.written_path, _MEMBER.c.written_name, _MEMBER.c.sha1, _MEMBER.c.md5,
           _MEMBER.c.content_type, _MEMBER.c.modified)
    .select_from(_PARENT.outerjoin(_MEMBER, and_(_MEMBER.c.parent_id == _PARENT.c.id,
                                                 _MEMBER.c.name == bindparam("name"))))
    .where(_PARENT.c.space_id + 0 == bindparam("space"),
           _PARENT.c.path == bindparam("parent_path")))
# Run on the cursor (davserver.db.run_rows): every column is given, none is left to a
# Python-side default.
_INSERT_BLOB = (insert(_BLOB_TABLE)
                .values({c: bindparam(c) for c in ("key", "size", "sha1", "md5", "created")})
                .returning(_BLOBS.id))
_CONTENT_COLUMNS = ("published", "size", "blob_id", "sha1", "md5", "etag", "content_type",
                    "modified")
_INSERT_NODE = (insert(_NODE_TABLE)
                .values({c: bindparam(c) for c in (
                    "space_id", "parent_id", "name", "path", "written_name", "written_path",
                    "is_collection", "created", "dead_props", "props_bytes", "author_id",
                    *_CONTENT_COLUMNS)})
                .returning(_NODES.id))
_UPDATE_CONTENT = (update(_NODE_TABLE).where(_NODES.id == bindparam("node"))
                   .values({c: bindparam(c) for c in _CONTENT_COLUMNS}))
# The content an overwrite replaces, read again under the row's lock: on PostgreSQL two
# PUTs of one file (from two processes) both read it before either commits, and the
# second would release the blob the first just wrote and charge the wrong growth.
_LOCKED_CONTENT = (select(_NODES.size, _NODES.blob_id, _NODES.sha1, _NODES.md5,
                          _NODES.content_type, _NODES.modified)
                   .where(_NODES.id == bindparam("node")).with_for_update())
# What MOVE runs (:meth:`Store.move`): is anything at the destination, then the new
# place of the moved node and of every node below it, built once.
_ID_AT = select(_NODES.id).where(_NODES.space_id + 0 == bindparam("space_id"),
                                 _NODES.path == bindparam("path"))
_MOVE_ROOT = (update(_NODE_TABLE).where(_NODES.id == bindparam("node"))
              .values(parent_id=bindparam("parent"), name=bindparam("name"),
                      written_name=bindparam("written_name"), path=bindparam("new_root"),
                      written_path=bindparam("new_written_root"),
                      space_id=bindparam("dst_space")))
_free_blobs: tuple[int, Any] = (-1, None)  # (holders' generation, statement)


def _free_blobs_statement() -> Any:
    """``DELETE`` of the ``blobs`` rows among the ids ``:ids`` that no node and no
    holder with declared columns points at, ``RETURNING`` their keys: one statement
    decides and frees (issue 22; it was a query for the nodes and one per holder,
    then the delete). Built again when a holder registers."""
    global _free_blobs
    generation, statement = _free_blobs
    if generation != holders.generation() or statement is None:
        generation = holders.generation()
        statement = (delete(Blob)
                     .where(Blob.id.in_(bindparam("ids", expanding=True)),
                            ~select(literal_column("1")).where(Node.blob_id == Blob.id).exists(),
                            *holders.unheld_conditions(Blob.id))
                     .returning(Blob.key)
                     .execution_options(synchronize_session=False))
        _free_blobs = (generation, statement)
    return statement


def _info(node: Node, blob_key: str | None) -> NodeInfo:
    """NodeInfo of a node just created (its properties are in hand)."""
    return NodeInfo(
        node.id, node.space_id, node.parent_id, node.written_name, node.path,
        node.is_collection, node.size, node.content_type, node.etag, node.sha1, node.md5,
        blob_key, node.created, node.modified, dict(node.dead_props or {}), node.author_id,
        node.published if node.published is not None else True, node.written_path,
    )


_NO_PROPS: Mapping[str, str] = MappingProxyType({})


def _props_field(node_id: int, nbytes: int | None,
                 load: Callable[[int], dict[str, str]]) -> Mapping[str, str]:
    """A node's ``dead_props``: none, or read when first looked at
    (:class:`providers.properties.DeadProps`)."""
    return DeadProps(node_id, int(nbytes), load) if nbytes else _NO_PROPS


def _row_info(row: Any, load: Callable[[int], dict[str, str]]) -> NodeInfo:
    """NodeInfo from a row of ``_INFO_COLUMNS``; ``load`` reads a node's dead
    properties (``Store.read_props``) if they are ever looked at."""
    fields = list(row)
    fields[14] = _props_field(fields[0], fields[14], load)
    fields[5] = bool(fields[5])  # SQLite's driver gives 0 and 1 (Database.read_rows)
    fields[16] = True if fields[16] is None else bool(fields[16])
    return NodeInfo(*fields)


def _chain_of(prefixes: list[str], nodes: Iterable[NodeInfo]) -> list[NodeInfo]:
    """The nodes at ``prefixes`` (root first) among ``nodes``, up to the first missing."""
    found = {info.path: info for info in nodes}
    chain = []
    for prefix in prefixes:
        if prefix not in found:
            break
        chain.append(found[prefix])
    return chain


def _kept_as_version(old: tuple[Any, ...], sha1: str) -> bool:
    """Whether an overwrite keeps the content it replaces, ``old`` (blob id, size,
    SHA-1, …), as a version: not when it was empty or is the new content (``sha1``)."""
    return old[0] is not None and old[1] > 0 and old[2] != sha1


def _parse_props(value: Any) -> dict[str, str]:
    """The ``dead_props`` column as a dict (SQLite hands JSON over as text)."""
    if isinstance(value, str):
        value = json.loads(value) if value not in ("{}", "null") else None
    return dict(value or {})


_SOURCE = Node.__table__.alias("source")


def _copy_props(c: Any, from_id: int, to_id: int) -> None:
    """Copy a node's dead properties to another node, inside the database."""
    c.execute(update(_NODE_TABLE).where(_NODES.id == to_id).values(
        dead_props=select(_SOURCE.c.dead_props).where(_SOURCE.c.id == from_id)
        .scalar_subquery(),
        props_bytes=select(_SOURCE.c.props_bytes).where(_SOURCE.c.id == from_id)
        .scalar_subquery()))


def charged_bytes() -> Any:
    """SQL expression of the bytes a node counts in its space's usage: its content
    and its dead properties (:mod:`providers.properties`)."""
    return _NODES.size + _NODES.props_bytes


def _holder_gone(tag: str) -> bool:
    """Has the process named by a temporary file's holder tag ended (this host only)?"""
    holder = quotas.Holder.from_tag(tag)
    return holder is not None and holder.is_gone()


def below(prefix: str, *, sqlite: bool) -> Any:
    """SQL condition: ``nodes.path`` starts with ``prefix`` (which ends with ``/``).

    On SQLite a range on the path index comes with it: under its BINARY collation
    every path starting with ``prefix`` sorts between ``prefix`` and ``prefix`` with
    its last ``/`` turned into ``0``, so a MOVE or DELETE reads its subtree instead
    of every node of the space. Not on PostgreSQL, whose collation may not sort
    bytewise (and whose path index is a hash)."""
    cond = func.substr(Node.path, 1, len(prefix)) == prefix
    if sqlite:
        cond = and_(Node.path >= prefix, Node.path < prefix[:-1] + "0", cond)
    return cond


def space_is(space_id: int, *, sqlite: bool) -> Any:
    """SQL condition on ``nodes.space_id``; on SQLite written so that the planner
    does not prefer the space index to the path index (see ``_RESOLVE``)."""
    return (Node.space_id + 0 == space_id) if sqlite else (Node.space_id == space_id)


def below_table(prefix: str, *, sqlite: bool) -> Any:
    """:func:`below` on the ``nodes`` table's columns (for Core statements)."""
    cond = func.substr(_NODES.path, 1, len(prefix)) == prefix
    if sqlite:
        cond = and_(_NODES.path >= prefix, _NODES.path < prefix[:-1] + "0", cond)
    return cond


def space_is_table(space_id: int, *, sqlite: bool) -> Any:
    """:func:`space_is` on the ``nodes`` table's columns (for Core statements)."""
    return (_NODES.space_id + 0 == space_id) if sqlite else (_NODES.space_id == space_id)


def _subtree(space_id: int, path: str, *, sqlite: bool = False) -> Any:
    """SQL condition: the node at ``path`` and every node below it (for the root:
    the live tree, without the trash, whose paths start with ``#``)."""
    if path == "":
        return and_(Node.space_id == space_id,
                    (Node.path == "") | (func.substr(Node.path, 1, 1) == "/"))
    return and_(space_is(space_id, sqlite=sqlite),
                (Node.path == path) | below(path + "/", sqlite=sqlite))


class Store:
    """Files and folders of every space over one :class:`Database` and one :class:`BlobStore`."""

    def __init__(self, db: Database, blobs: BlobStore,
                 policy: quotas.QuotaPolicy | None = None, *,
                 lease_seconds: float | None = None) -> None:
        self.db = db
        self.blobs = blobs
        self.policy = policy or quotas.QuotaPolicy()
        # How long an upload's reservation lasts without renewal (quotas.leases).
        self.lease_seconds = lease_seconds or quotas.lease_seconds(60.0)
        # Space key → its row. A space keeps its id and is never deleted, so what was
        # read once stays true: every request resolves its path with one query.
        self._spaces: dict[str, SpaceInfo] = {}
        self._roots: dict[int, int] = {}  # space id → its root node's id
        self._write_chains: dict[int, Any] = {}  # depth → _write_chain_statement
        self.sqlite = db.engine.dialect.name == "sqlite"

    # --- spaces -------------------------------------------------------------

    def ensure_space(self, kind: str, owner_id: int | None = None,
                     rubric_id: int | None = None, limit_bytes: int | None = None,
                     profile: str | None = None, school_id: int | None = None) -> SpaceInfo:
        """Return the space of that kind and owner (or rubric, or school for a school's
        ``archive``), creating it and its root folder and ledger row on first use.
        Safe under concurrent first calls. ``profile`` (the owner's) picks the default
        limit; ``limit_bytes`` sets an explicit one at creation."""
        scope = next((i for i in (rubric_id, school_id) if i is not None), owner_id)
        key = f"{kind}:{scope}"
        if key in self._spaces:
            return self._spaces[key]
        with self.db.transaction(write=False) as s:
            found = s.scalar(select(Space).where(Space.key == key))
            if found is not None:
                info = SpaceInfo(found.id, found.kind, found.owner_id, found.rubric_id)
                self._spaces[key] = info
                return info
        try:
            with self.db.transaction() as s:
                now = clock.time()
                space = Space(key=key, kind=kind, owner_id=owner_id, rubric_id=rubric_id,
                              created=now)
                s.add(space)
                s.flush()
                s.add(Node(space_id=space.id, parent_id=None, name="", path="",
                           written_name="", written_path="", is_collection=True, size=0,
                           created=now, modified=now, etag=new_tag(), dead_props={}))
                quotas.open_account(s, space.id, kind, profile)
                if limit_bytes is not None:
                    quotas.set_limit(s, space.id, limit_bytes)
                return SpaceInfo(space.id, space.kind, space.owner_id, space.rubric_id)
        except IntegrityError:
            return self.ensure_space(kind, owner_id, rubric_id, limit_bytes, profile)

    @staticmethod
    def space_in(session: Session, space_id: int) -> SpaceInfo | None:
        """The space ``space_id`` read in the caller's transaction (None if absent)."""
        found = session.get(Space, space_id)
        if found is None:
            return None
        return SpaceInfo(found.id, found.kind, found.owner_id, found.rubric_id)

    def spaces(self) -> list[SpaceInfo]:
        """Every space, ordered by id."""
        with self.db.transaction(write=False) as s:
            return [SpaceInfo(r.id, r.kind, r.owner_id, r.rubric_id)
                    for r in s.scalars(select(Space).order_by(Space.id))]

    def all_usage(self) -> dict[int, quotas.Usage]:
        """Quota figures of every space, by space id (one query)."""
        with self.db.transaction(write=False) as s:
            return quotas.all_usage(s, self.policy)

    def set_limit(self, space_id: int, limit_bytes: int | None) -> None:
        """Set a space's explicit limit in bytes (None: back to the default)."""
        with self.db.transaction() as s:
            quotas.set_limit(s, space_id, limit_bytes)

    def usage(self, space_id: int) -> quotas.Usage | None:
        """The space's quota figures (None: unknown, which refuses growth)."""
        with self.db.reading() as c:
            return quotas.usage(c, space_id, self.policy)

    def reserve(self, space_id: int, nbytes: int) -> quotas.Reservation:
        """Hold ``nbytes`` for an upload before its body is read, under a lease of
        this process (:mod:`quotas.leases`), in one transaction that also reads the
        space's figures after it (``.figures``, None: unknown). Raises
        ``InsufficientStorage`` (507) if they do not fit. Hand the result to
        :meth:`new_writer` (which renews the lease while bytes come), then to
        :meth:`commit_write` or :meth:`hold_blob`, or :meth:`release`."""
        if nbytes <= 0:  # nothing to hold: a read, which does not wait for writers
            return quotas.Reservation(0, None, self.usage(space_id))
        with self.db.transaction() as s:
            reservation = quotas.lease(s, space_id, nbytes, self.policy,
                                       self.lease_seconds)
            reservation.figures = self.make_room(s, space_id, reservation.figures)
            return reservation

    def make_room(self, s: Session, space_id: int,
                  figures: quotas.Usage | None) -> quotas.Usage | None:
        """After a quota change in the caller's write transaction ``s`` (``figures``:
        the space's figures it returned), purge the oldest versions of the space's
        files while they are past their share or the limit lacks room for live files,
        reservations, trash and versions together (:func:`providers.versions.make_room`),
        then the oldest trash items while the trash is past its share or the room is
        still lacking (:func:`providers.trash.make_room`): same transaction, blob files
        removed after commit. Returns the space's figures after it.

        Reserved bytes of uploads that are gone (:mod:`quotas.leases`: expired, or
        held by an ended process of this host) are given back first: they would
        otherwise take the room of versions and trash items a user can still restore."""
        if figures is None or (figures.trash_excess <= 0 and figures.versions_excess <= 0):
            return figures
        if figures.reserved and figures.used + figures.reserved + figures.trash \
                + figures.versions > figures.limit and quotas.reclaim(s, space_id):
            figures = quotas.usage(s, space_id, self.policy)
            if figures is None or (figures.trash_excess <= 0
                                   and figures.versions_excess <= 0):
                return figures
        if figures.versions_excess > 0:
            from . import versions  # versions build on this module

            figures = versions.make_room(self, s, space_id, figures)
        if figures.trash_excess > 0:
            from .trash import make_room  # the trash builds on this module

            make_room(self, s, space_id, figures)
        return figures

    def release(self, space_id: int, nbytes: int) -> None:
        """Give back what :meth:`reserve` held, for an upload that failed."""
        if nbytes > 0:
            with self.db.transaction() as s:
                quotas.release(s, space_id, nbytes)

    def renew(self, reserved: int) -> None:
        """Keep a moving upload's lease alive: one small write every
        ``quotas.leases.RENEW_SECONDS`` at most, whatever the number of blocks."""
        if isinstance(reserved, quotas.Reservation) and reserved.due():
            assert reserved.lease_id is not None
            with self.db.transaction() as s:
                quotas.leases.renew(s, reserved.lease_id, self.lease_seconds)

    def reclaim_leftovers(self) -> tuple[int, int]:
        """Give back the reservations of uploads that are gone (expired leases, and
        this host's ended processes') and remove their temporary files (this host's
        ended processes', and any file left alone longer than a lease). Run at start-up
        and periodically by ``davserver serve``; another live process's uploads are
        never touched. Returns (bytes given back, files removed)."""
        with self.db.transaction() as s:
            freed = quotas.reclaim(s)
        removed = self.blobs.remove_abandoned(_holder_gone, self.lease_seconds)
        return sum(freed.values()), removed

    # --- reading ------------------------------------------------------------

    def resolve(self, space_id: int, path: str) -> NodeInfo | None:
        """The node at ``path`` (any normalisation form) in the space, or None. One
        query."""
        if "\x00" in path:  # never stored; PostgreSQL text cannot even hold it
            return None
        path = path_key(path)
        with self.db.reading() as c:
            row = c.execute(_RESOLVE, {"space_id": space_id, "path": path}).first()
            return _row_info(row, self.read_props) if row else None

    def resolve_many(self, space_id: int, paths: Iterable[str]) -> dict[str, NodeInfo]:
        """The nodes at ``paths`` (any normalisation form) in the space, by the key of
        their path (:func:`path_key`); a path with nothing there is left out. One
        query for every :data:`RESOLVE_BATCH` paths (the path index, as
        :meth:`resolve`)."""
        keys = sorted({path_key(p) for p in paths if "\x00" not in p})
        found: dict[str, NodeInfo] = {}
        with self.db.reading() as c:
            for start in range(0, len(keys), RESOLVE_BATCH):
                for row in c.execute(_CHAIN, {"space_id": space_id,
                                              "paths": keys[start:start + RESOLVE_BATCH]}):
                    info = _row_info(row, self.read_props)
                    found[info.path] = info
        return found

    def resolve_chain(self, space_id: int, path: str) -> list[NodeInfo]:
        """The nodes from the space root down to ``path``, root first, in one query.
        Shorter than the path's depth + 1 when a segment is missing (the last node
        is then not the one asked for: compare its ``path`` with ``path_key(path)``).
        Answered from this process's memory when no commit has begun since the same
        chain was read (:meth:`Database.read_rows`, ``cached``; paths of at most
        :data:`~davserver.db.READ_CACHE_KEY_CHARS` characters): a small GET makes no
        query then. The nodes' authors and publication states decide rights
        (moderation, "writers remove their own things"): they are as fresh as an
        uncached read's for every write made through ``Database.transaction``."""
        if "\x00" in path:
            return []
        path = path_key(path)
        segments = path.split("/")[1:] if path else []
        prefixes = [""] + ["/" + "/".join(segments[:i + 1]) for i in range(len(segments))]
        if len(segments) <= CACHED_DEPTHS:
            params: dict[str, Any] = {f"p{i}": prefix for i, prefix in enumerate(prefixes)}
            params["space_id"] = space_id
            short = len(path) <= READ_CACHE_KEY_CHARS  # see there: rows by path length
            rows: Any = self.db.read_rows(_chain_statement(len(segments)), params,
                                          cached=(space_id, path) if short else None)
        else:
            with self.db.reading() as c:
                rows = c.execute(_CHAIN, {"space_id": space_id, "paths": prefixes}).all()
        return _chain_of(prefixes, (_row_info(r, self.read_props) for r in rows))

    def resolve_for_write(self, space_id: int, path: str
                          ) -> tuple[list[NodeInfo], WriteContext | None]:
        """:meth:`resolve_chain` for a PUT, with the :class:`WriteContext` of the space
        read by the same query (None when nothing of the path was found, or for paths
        deeper than :data:`CACHED_DEPTHS`, which resolve as usual): a PUT to a space
        without locks then needs no lock query, and a small one no quota read, before
        its write transaction (issue 22)."""
        if "\x00" in path:
            return [], None
        key = path_key(path)
        segments = key.split("/")[1:] if key else []
        if len(segments) > CACHED_DEPTHS:
            return self.resolve_chain(space_id, path), None
        statement = self._write_chains.get(len(segments))
        if statement is None:
            statement = _write_chain_statement(len(segments), self.policy)
            self._write_chains[len(segments)] = statement
        prefixes = [""] + ["/" + "/".join(segments[:i + 1]) for i in range(len(segments))]
        params: dict[str, Any] = {f"p{i}": prefix for i, prefix in enumerate(prefixes)}
        params["space_id"] = space_id
        rows = self.db.read_rows(statement, params)
        if not rows:
            return [], None
        width = len(_INFO_COLUMNS)
        first = rows[0]
        figures = (quotas.figures_of(first[width + 1:], self.policy)
                   if first[width + 1] is not None else None)
        context = WriteContext(space_id, bool(first[width]), figures)
        return _chain_of(prefixes, (_row_info(r[:width], self.read_props) for r in rows)), \
            context

    def root_etags(self, space_ids: Iterable[int]) -> dict[int, str]:
        """The ETag of each space's root folder, by space id (a space without one is
        left out): one query by primary key (the roots' ids are read once per process,
        a space keeps its root for ever)."""
        wanted = set(space_ids)
        missing = wanted - self._roots.keys()
        with self.db.reading() as c:
            if missing:
                self._roots.update((space, node) for space, node in c.execute(
                    select(_NODES.space_id, _NODES.id).where(
                        (_NODES.space_id + 0 if self.sqlite else _NODES.space_id).in_(missing),
                        _NODES.path == "")))
            ids = {self._roots[s]: s for s in wanted if s in self._roots}
            if not ids:
                return {}
            rows = c.execute(select(_NODES.id, _NODES.etag).where(_NODES.id.in_(ids)))
            return {ids[node]: etag or "" for node, etag in rows}

    def children(self, node: NodeInfo) -> list[NodeInfo]:
        """Members of a folder, ordered by name. One query."""
        with self.db.reading() as c:
            return [_row_info(r, self.read_props)
                    for r in c.execute(_CHILDREN, {"parent_id": node.id})]

    def children_page(self, node: NodeInfo, *, offset: int, limit: int,
                      content_types: Iterable[str] | None = None,
                      ) -> tuple[list[NodeInfo], int]:
        """A page of a folder's members, ordered by name (then id, so that pages never
        overlap): the ``limit`` members after the first ``offset``, and how many there
        are in all. ``content_types`` (lower case, without parameters): when given, the
        sub-folders and the files of those types only; a stored type is compared as
        :func:`.content_types.bare_type` makes it (without its case, blanks and
        parameters: ``Image/PNG;\tx=1`` is ``image/png``), the rule a caller filtering
        the page again in Python must use for ``total`` to count what it shows.
        Two queries, a count and the page, that read no more rows than the page
        however many members the folder holds (the editor's porte-documents picker)."""
        where: list[Any] = [_NODES.parent_id == node.id]
        if content_types is not None:
            wanted = sorted(set(content_types))
            ctype = bare_type_sql(_NODES.content_type)
            where.append(or_(_NODES.is_collection, ctype.in_(wanted),
                             *(ctype.like(f"{t};%") for t in wanted)))
        count = select(func.count()).select_from(_NODE_TABLE).where(*where)
        page = (select(*_INFO_COLUMNS).select_from(_WITH_BLOB).where(*where)
                .order_by(_NODES.name, _NODES.id).offset(max(offset, 0))
                .limit(max(limit, 0)))
        with self.db.reading() as c:
            total = int(c.execute(count).scalar() or 0)
            rows = [_row_info(r, self.read_props) for r in c.execute(page)] \
                if offset < total and limit > 0 else []
        return rows, total

    def subtree_sizes(self, folder: NodeInfo) -> dict[str, int]:
        """Bytes below each member of ``folder``, by the member's last path segment
        (a file: its size; a folder: everything below it, trash excluded), in one
        aggregate query over the folder's subtree (``oc:size``, :mod:`.oc_props`)."""
        prefix = folder.path + "/"
        cut = len(prefix) + 1
        rest = func.substr(_NODES.path, cut)
        if self.sqlite:
            slash = func.instr(rest, "/")
            first: Any = func.substr(rest, 1, case((slash == 0, func.length(rest)),
                                                   else_=slash - 1))
        else:
            first = func.split_part(rest, "/", 1)
        query = (select(first, func.sum(_NODES.size))
                 .where(space_is_table(folder.space_id, sqlite=self.sqlite),
                        below_table(prefix, sqlite=self.sqlite))
                 .group_by(first))
        with self.db.reading() as c:
            return {name: int(total or 0) for name, total in c.execute(query)}

    def descendants(self, node: NodeInfo) -> list[NodeInfo]:
        """Every node below ``node`` (not itself), ordered by path. One query."""
        with self.db.transaction(write=False) as s:
            rows = s.execute(
                select(*_INFO_COLUMNS).select_from(_WITH_BLOB)
                .where(_subtree(node.space_id, node.path, sqlite=self.sqlite), Node.id != node.id)
                .order_by(Node.path)
            ).all()
            return [_row_info(r, self.read_props) for r in rows]

    def folders(self, space_id: int, *, first: int,
                including: Iterable[int] = ()) -> dict[int, str]:
        """Live folders of a space (neither its root nor the trash), node id → path as
        written: the ``first`` of them by written path, and the folders of ``including``
        (node ids; those not live are left out) wherever they sort. One query that
        reads folders only and answers at most ``first + len(including)`` rows, however
        many files the space holds (a rubric's access tabs: the folder field's choices
        and the folders its grants name)."""
        wanted = sorted(set(including))
        order: list[Any] = [_NODES.written_path, _NODES.id]
        if wanted:
            order.insert(0, case((_NODES.id.in_(wanted), 0), else_=1))
        if first + len(wanted) <= 0:
            return {}
        query = (select(_NODES.id, _NODES.written_path)
                 # Bare is_collection (``= 1`` on SQLite): the partial index's own term.
                 .where(_NODES.space_id == space_id, _NODES.is_collection,
                        func.substr(_NODES.path, 1, 1) == "/")
                 .order_by(*order).limit(first + len(wanted)))
        with self.db.reading() as c:
            return {node_id: path for node_id, path in c.execute(query)}

    def open(self, node: NodeInfo) -> BinaryIO:
        """Open a file's content for reading (seekable)."""
        if node.blob_key is None:
            return io.BytesIO(b"")
        return self.blobs.open(node.blob_key)

    # --- creating -----------------------------------------------------------

    def _parent(self, s: Session, space_id: int, path: str) -> tuple[Node, str]:
        """The folder that would hold ``path`` and the new member's name as written
        (validated). Raises ``BadRequest`` (400) for a name that cannot be given,
        ``Conflict`` (409) without that folder."""
        parent_path, name = parent_of(path)
        name = validate_name(name)
        if "\x00" in parent_path:  # never stored; PostgreSQL text cannot even hold it
            raise Conflict("the parent folder does not exist")
        parent = s.scalar(_NODE_AT, {"space_id": space_id, "path": path_key(parent_path)})
        if parent is None or not parent.is_collection:
            raise Conflict("the parent folder does not exist")
        return parent, name

    def make_collection(self, space_id: int, path: str, mtime: float | None = None,
                        stamp: Stamp | None = None) -> NodeInfo:
        """Create a folder (by ``stamp``'s author, in its state). Raises ``Conflict``
        (409) without parent, ``BadRequest`` for a bad name, ``Conflict`` if the name is
        taken."""
        stamp = stamp or Stamp(None)
        try:
            with self.db.transaction() as s:
                tag = touch(s, space_id, ancestors(path), sqlite=self.sqlite)
                parent, name = self._parent(s, space_id, path)
                now = clock.time()
                node = Node(space_id=space_id, parent_id=parent.id, name=name_key(name),
                            path=parent.path + "/" + name_key(name), written_name=name,
                            written_path=parent.written_path + "/" + name,
                            is_collection=True, size=0,
                            created=now, modified=mtime or now, etag=tag, dead_props={},
                            author_id=stamp.author_id, published=stamp.published)
                s.add(node)
                s.flush()
                return _info(node, None)
        except IntegrityError as exc:
            raise Conflict("a member with that name already exists") from exc

    def create_empty(self, space_id: int, path: str, stamp: Stamp | None = None) -> NodeInfo:
        """Create a 0-byte file (LOCK on an unmapped URL, RFC 4918 §7.3)."""
        return self.commit_write(space_id, path, None, stamp=stamp)

    def new_writer(self, reserved: int = 0) -> BlobWriter:
        """Start streaming new content; pass the finished info to :meth:`commit_write`.
        ``reserved`` (what :meth:`reserve` returned) has its lease renewed while
        blocks are written."""
        writer = self.blobs.writer()
        if isinstance(reserved, quotas.Reservation) and reserved.lease_id is not None:
            writer.progress = functools.partial(self.renew, reserved)
        return writer

    def commit_write(self, space_id: int, path: str, blob: BlobInfo | None,
                     *, mtime: float | None = None, reserved: int = 0,
                     stamp: Stamp | None = None,
                     within: Callable[[Session], None] | None = None) -> NodeInfo:
        """Point the file at ``path`` (created if missing) at a finished blob, in one
        transaction with the usage charge (which releases ``reserved`` bytes held by
        :meth:`reserve`). ``blob=None`` means empty content. A new file gets
        ``stamp``'s author; new content gets its publication state. ``within`` runs in
        the same transaction before the file and its charge (a chunked upload gives
        back its reservation and forgets itself there, :mod:`providers.uploads`).

        A new file's name is validated and stored as written; an existing file (found
        by its key, in any spelling) keeps its name. On any failure the new blob is
        deleted, the reservation released and the old content stays. Raises
        ``Conflict`` (409: missing parent, or a folder there), ``BadRequest``,
        ``InsufficientStorage`` (507).
        """
        try:
            try:
                info, old_key = self._commit_write(space_id, path, blob, mtime, reserved,
                                                   stamp or Stamp(None), within)
            except IntegrityError:  # a concurrent PUT created the name first: overwrite it
                info, old_key = self._commit_write(space_id, path, blob, mtime, reserved,
                                                   stamp or Stamp(None), within)
        except BaseException:
            self._discard_blob(blob)
            self.release(space_id, reserved)
            raise
        if old_key is not None:
            self._delete_blob_files([old_key])
        return info

    def write_bytes(self, space_id: int, path: str, data: bytes,
                    stamp: Stamp | None = None) -> NodeInfo:
        """Store ``data`` (bytes in memory: a report, a demo file) at ``path`` of the
        space, replacing what is there, charged like an upload: :meth:`reserve`, the
        blob, :meth:`commit_write`, the reservation's lease ended at commit (or on
        failure). Raises what :meth:`reserve` and :meth:`commit_write` raise
        (``InsufficientStorage``, ``Conflict``); nothing is left half-written."""
        reserved = self.reserve(space_id, len(data))
        writer = self.new_writer(reserved)
        try:
            writer.write(data)
            blob = writer.finish()
        except BaseException:
            writer.abort()
            self.release(space_id, reserved)
            raise
        return self.commit_write(space_id, path, blob, reserved=reserved, stamp=stamp)

    def _discard_blob(self, blob: BlobInfo | None) -> None:
        if blob is not None:
            self.blobs.delete(blob.key)

    def _commit_write(self, space_id: int, path: str, blob: BlobInfo | None,
                      mtime: float | None, reserved: int, stamp: Stamp,
                      within: Callable[[Session], None] | None = None,
                      ) -> tuple[NodeInfo, str | None]:
        now = clock.time()
        parent_path, name = parent_of(path)
        if "\x00" in path:  # never stored (PostgreSQL text cannot hold it): no lookup
            validate_name(name)
            raise Conflict("the parent folder does not exist")
        # Sniffed before the write transaction: libmagic takes milliseconds, and
        # SQLite writers take turns.
        content_type = sniff(blob.head if blob else b"", name)
        size = blob.size if blob else 0
        sha1 = blob.sha1 if blob else EMPTY_SHA1
        md5 = blob.md5 if blob else EMPTY_MD5
        modified = mtime if mtime is not None else now
        # Everything that does not need the database is ready before the transaction:
        # SQLite writers take turns, and its statements run on the cursor (run_rows).
        target = {"space": space_id, "parent_path": path_key(parent_path),
                  "name": name_key(name)}
        new_blob = ({"key": blob.key, "size": blob.size, "sha1": blob.sha1, "md5": blob.md5,
                     "created": now} if blob is not None else None)
        content = {"published": stamp.published, "size": size, "blob_id": None,
                   "sha1": sha1, "md5": md5, "etag": sha1,
                   "content_type": content_type, "modified": modified}
        touched = ancestors(path)
        with self.db.transaction() as s:
            c = s.connection()  # plain statements: no ORM unit of work on this path
            touch(c, space_id, touched, sqlite=self.sqlite)
            if within is not None:
                within(s)
            rows = run_rows(c, _WRITE_TARGET, target)
            found = rows[0] if rows else None
            if found is None or not found[2]:
                raise Conflict("the parent folder does not exist")
            parent_id, parent_path, parent_written = found[0], found[1], found[10]
            node_id, old_size, old_blob_id = found[3], found[5] or 0, found[6]
            old_content = tuple(found[12:16])  # sha1, md5, content type, modified
            if node_id is not None and found[4]:
                raise Conflict("a folder has that name")
            if node_id is None:
                validate_name(name)  # an existing file keeps its name, even a bad one
            else:
                name = found[11]  # its spelling stays: a write changes content only
            if new_blob is not None:
                content["blob_id"] = run_rows(c, _INSERT_BLOB, new_blob)[0][0]
            if node_id is None:
                created, props_bytes, author_id = now, 0, stamp.author_id
                node_id = run_rows(c, _INSERT_NODE, {
                    "space_id": space_id, "parent_id": parent_id, "name": name_key(name),
                    "path": parent_path + "/" + name_key(name), "written_name": name,
                    "written_path": parent_written + "/" + name, "is_collection": False,
                    "created": now, "dead_props": {}, "props_bytes": 0,
                    "author_id": author_id, **content})[0][0]
                if stamp.published:  # a new file readers see: a rubric's contribution
                    announce_published(s, space_id, node_id,
                                       parent_path + "/" + name_key(name),
                                       kind=stamp.space_kind)
            else:
                created, props_bytes, author_id = found[7], found[8], found[9]
                if not self.sqlite:  # SQLite's writers take turns (BEGIN IMMEDIATE)
                    locked_rows = run_rows(c, _LOCKED_CONTENT, {"node": node_id})
                    if not locked_rows:  # deleted meanwhile: the PUT makes it again
                        raise Conflict("the file was deleted during the upload; send it "
                                       "again")
                    locked = locked_rows[0]
                    old_size, old_blob_id = locked[0] or 0, locked[1]
                    old_content = tuple(locked[2:])
                run_rows(c, _UPDATE_CONTENT, {"node": node_id, **content})
            figures, old_blob_id = self._charge_write(
                s, node_id, space_id, (old_blob_id, old_size, *old_content), sha1,
                stamp.author_id, size - old_size, reserved)
            self.make_room(s, space_id, figures)
            # A copy, a version or an attachment may still hold the replaced blob.
            old_key = next(iter(self._release_blobs(s, [old_blob_id])), None)
        info = NodeInfo(node_id, space_id, parent_id, name,
                        parent_path + "/" + name_key(name), False, size, content_type,
                        sha1, sha1, md5, blob.key if blob else None, created, modified,
                        _props_field(node_id, props_bytes, self.read_props), author_id,
                        stamp.published, parent_written + "/" + name)
        return info, old_key

    def _charge_write(self, s: Session, node_id: int, space_id: int,
                      old: tuple[Any, ...], sha1: str, made_by: int | None, delta: int,
                      reserved: int) -> tuple[quotas.Usage | None, int | None]:
        """In a write's transaction: charge its ``delta`` bytes, settling ``reserved``
        (:func:`quotas.settle`), and keep the replaced content ``old`` as a version
        (:meth:`_keep_replaced`). With nothing held, the charge joins the version's
        UPDATE of the ledger: one statement instead of two. Returns what
        :meth:`_keep_replaced` returns."""
        if reserved or getattr(reserved, "lease_id", None) is not None \
                or not _kept_as_version(old, sha1):
            figures = quotas.settle(s, space_id, delta, reserved, self.policy)
            return self._keep_replaced(s, node_id, space_id, old, sha1, made_by, figures)
        return self._keep_replaced(s, node_id, space_id, old, sha1, made_by, None,
                                   d_used=delta)

    def _keep_replaced(self, s: Session, node_id: int, space_id: int,
                       old: tuple[Any, ...], sha1: str, made_by: int | None,
                       figures: quotas.Usage | None, d_used: int = 0,
                       ) -> tuple[quotas.Usage | None, int | None]:
        """In an overwrite's transaction: the replaced content ``old`` (blob id, size,
        SHA-1, MD5, type, modification time) becomes a version of the file (issue 23,
        :func:`providers.versions.keep`) unless it is empty or the new content's
        ``sha1`` is the same (:func:`_kept_as_version`); ``d_used``, the write's own
        charge in bytes when it was not settled apart, is charged with it. Returns the
        space's figures after it (``figures`` when nothing changed) and the old
        blob's id if it is still to be released (None: the version holds it)."""
        blob_id, size, old_sha1, md5, content_type, modified = old
        if not _kept_as_version(old, sha1):
            assert not d_used, "a charge needs a version to join"
            return figures, blob_id
        from . import versions  # versions build on this module

        kept = versions.keep(s, self, node_id=node_id, space_id=space_id, blob_id=blob_id,
                             size=size, etag=old_sha1, md5=md5, content_type=content_type,
                             modified=modified, made_by=made_by, d_used=d_used)
        return kept or figures, None

    # --- blobs held outside the node tree (providers.holders) ------------------

    def hold_blob(self, s: Session, space_id: int, blob: BlobInfo, reserved: int) -> int:
        """Record a finished blob charged to ``space_id`` without a node (a hand-in), in
        the caller's write transaction ``s``, so that the holder's own row and the
        charge commit together or not at all: inserts the ``blobs`` row and settles
        ``blob.size`` bytes against the ``reserved`` bytes held by :meth:`reserve`.
        Returns the ``blobs`` row id. Raises ``InsufficientStorage`` (507) when the
        real size no longer fits; on any failure the caller calls
        :meth:`discard_blob`. The holder must be registered with
        :func:`providers.holders.register_blob_holder`, or ``fsck`` calls the blob an
        orphan."""
        row = Blob(key=blob.key, size=blob.size, sha1=blob.sha1, md5=blob.md5,
                   created=clock.time())
        s.add(row)
        s.flush()
        self.make_room(s, space_id, quotas.settle(s, space_id, blob.size, reserved,
                                                  self.policy))
        return row.id

    @staticmethod
    def record_blob(s: Session, blob: BlobInfo) -> int:
        """Insert the ``blobs`` row of a finished blob in the caller's transaction, charged
        to nothing (the chunk of an upload, under the upload's reservation: its holder
        is registered, :mod:`providers.uploads`). Returns the row id."""
        row = Blob(key=blob.key, size=blob.size, sha1=blob.sha1, md5=blob.md5,
                   created=clock.time())
        s.add(row)
        s.flush()
        return row.id

    def release_blobs(self, s: Session, blob_ids: Iterable[int | None]) -> list[str]:
        """Delete the ``blobs`` rows among ``blob_ids`` that nothing references any more,
        in the caller's transaction (delete the referencing rows and flush first);
        returns the keys whose files to remove with :meth:`delete_blob_files` after
        commit."""
        return self._release_blobs(s, blob_ids)

    def discard_blob(self, blob: BlobInfo | None, space_id: int, reserved: int) -> None:
        """Undo what a failed :meth:`hold_blob` left outside the rolled-back
        transaction: remove the blob's file and give back the ``reserved`` bytes."""
        self._discard_blob(blob)
        self.release(space_id, reserved)

    def free_blob(self, s: Session, space_id: int | None, blob_id: int,
                  size: int) -> list[str]:
        """Forget a held blob in the caller's write transaction: ``size`` bytes are
        freed in ``space_id``'s ledger (None: nothing was charged, e.g. an attachment
        sharing a node's blob) and the ``blobs`` row deleted unless a node or another
        holder row shares it (delete the caller's row and flush first). Returns the
        keys whose files to remove with :meth:`delete_blob_files` after commit."""
        if space_id is not None:
            quotas.charge(s, space_id, -size, self.policy)
        return self._release_blobs(s, [blob_id])

    def delete_blob_files(self, keys: Iterable[str]) -> None:
        """Remove the files of blobs the database no longer has (after the commit that
        forgot them; a failure is left for ``fsck``)."""
        self._delete_blob_files(keys)

    @staticmethod
    def blob_keys(s: Session, blob_ids: Iterable[int]) -> dict[int, str]:
        """Keys of held blobs by ``blobs`` row id (one query; unknown ids left out)."""
        ids = set(blob_ids)
        if not ids:
            return {}
        return dict(s.execute(select(Blob.id, Blob.key).where(Blob.id.in_(ids))).all())

    @staticmethod
    def blob_id_of(s: Session, key: str) -> int | None:
        """The ``blobs`` row id of a node's blob (``NodeInfo.blob_key``), in the
        caller's transaction, for a holder that shares it instead of copying bytes;
        None when the blob is gone (its file deleted or overwritten meanwhile)."""
        return s.scalar(select(Blob.id).where(Blob.key == key))

    def open_blob(self, key: str | None) -> BinaryIO:
        """Open a held blob for reading (None: empty content). Raises
        ``FileNotFoundError`` when its file is lost."""
        return self.blobs.open(key) if key is not None else io.BytesIO(b"")

    # --- deleting -----------------------------------------------------------

    def delete(self, node: NodeInfo, *, deleted_by: int | None = None) -> TrashEntry:
        """Delete a file or a folder with everything below it into its space's trash
        (``deleted_by``: the user's id), in one transaction; its bytes leave the used
        bytes for the trash bytes. The one delete of DAV and the browser: see
        :func:`providers.trash.move_to_trash` for the contract."""
        from .trash import move_to_trash  # the trash builds on this module

        return move_to_trash(self, node, deleted_by=deleted_by)

    def _delete_subtree(self, s: Session, space_id: int, path: str,
                        freed: list[int] | None = None) -> list[str]:
        """Delete the subtree at ``path``; return the keys of blobs to remove after
        commit. Its bytes are freed in the ledger, or, when ``freed`` is given, added
        to it for the caller to settle together with what replaces them."""
        from . import versions  # versions build on this module

        cond = _subtree(space_id, path, sqlite=self.sqlite)
        total = s.scalar(select(func.coalesce(func.sum(charged_bytes()), 0)).where(cond)) or 0
        files = s.execute(select(Node.id, Node.blob_id).where(cond, ~Node.is_collection)).all()
        blob_ids: list[int | None] = [b for _i, b in files if b is not None]
        blob_ids += versions.drop_nodes(s, self, [i for i, _b in files])
        # One statement for the whole subtree: the parent_id foreign key is checked at
        # the end of the statement, when parents and children are gone together.
        s.execute(delete(Node).where(cond).execution_options(synchronize_session=False))
        if freed is None:
            quotas.charge(s, space_id, -int(total), self.policy)
        else:
            freed.append(int(total))
        return self._release_blobs(s, blob_ids)

    def _release_blobs(self, s: Session, blob_ids: Iterable[int | None]) -> list[str]:
        """Delete blob rows no node and no registered holder references any more (an
        attachment picked from a porte-documents keeps its bytes when the file goes);
        return their keys, whose files the caller removes after commit. One statement
        (:func:`_free_blobs_statement`), plus one query per holder that declared no
        columns (:func:`providers.holders.held_among`)."""
        ids = {i for i in blob_ids if i is not None}
        if ids:
            ids -= holders.held_among(s, ids, undeclared_only=True)
        if not ids:
            return []
        return list(s.scalars(_free_blobs_statement(), {"ids": sorted(ids)}))

    def _delete_blob_files(self, keys: Iterable[str]) -> None:
        """Remove the files of blobs the database no longer has. Past
        :data:`SYNC_BLOB_DELETES` files this happens after the answer, on one
        background thread: removing a just-written (fsynced) file costs milliseconds
        on ext4, 2 s for a folder of 1,000. Until then ``fsck`` reports them as
        orphans, harmlessly (the database is already consistent)."""
        keys = list(keys)
        if len(keys) <= SYNC_BLOB_DELETES:
            self._unlink_blobs(keys)
        else:
            _blob_janitor().submit(self._unlink_blobs, keys)

    def _unlink_blobs(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self.blobs.delete(key)
            except OSError:  # left for fsck; the database is already consistent
                log.warning("could not delete blob %s; fsck --repair will", key)

    # --- copy and move ------------------------------------------------------

    def _prepare_destination(self, s: Session, src: NodeInfo, space_id: int, path: str,
                             freed: list[int], *, respelling: bool = False,
                             made_by: int | None = None,
                             ) -> tuple[Node, str, list[str], int | None]:
        """Check the destination's parent and clear what stands at ``path``; the bytes
        it held are added to ``freed`` (charged with the incoming ones: only net growth
        counts against the limit). A file replaced by a file keeps its content as a
        version (by ``made_by``, issue 23), and its id is returned for the caller to
        hand its versions to the file that replaces it
        (:func:`providers.versions.hand_over`). Returns the parent, the new name as
        written, the blob keys to remove after commit and that id (or None). With
        ``respelling`` (a MOVE), ``path`` may be the source itself spelled another
        way (same key: NFC and NFD, issue 17): nothing is cleared, the name's
        spelling changes."""
        key = path_key(path)
        if space_id == src.space_id:
            if respelling and key == src.path and parent_of(path)[1] != src.name:
                return *self._parent(s, space_id, path), [], None
            if (src.path + "/").startswith(key + "/"):
                raise Forbidden("the destination contains the source")
            if (key + "/").startswith(src.path + "/"):
                raise Forbidden("the destination is inside the source")
        parent, name = self._parent(s, space_id, path)
        target = parent.path + "/" + name_key(name)
        there = s.connection().execute(
            select(_NODES.id, _NODES.is_collection, _NODES.blob_id, _NODES.size, _NODES.sha1,
                   _NODES.md5, _NODES.content_type, _NODES.modified, _NODES.props_bytes)
            .where(_NODES.space_id + 0 == space_id, _NODES.path == target)).first()
        if there is None:
            return parent, name, [], None  # nothing stands there (a MOVE's usual case)
        if not there[1] and not src.is_collection:
            from . import versions  # versions build on this module

            versions.keep(s, self, node_id=there[0], space_id=space_id, blob_id=there[2],
                          size=int(there[3] or 0), etag=there[4], md5=there[5],
                          content_type=there[6], modified=there[7], made_by=made_by,
                          thin=False)
            s.execute(delete(Node).where(Node.id == there[0])
                      .execution_options(synchronize_session=False))
            freed.append(int(there[3] or 0) + int(there[8] or 0))  # its properties too
            keys = [] if there[3] else self._release_blobs(s, [there[2]])
            return parent, name, keys, there[0]
        keys = self._delete_subtree(s, space_id, target, freed)
        return parent, name, keys, None

    def copy(self, src: NodeInfo, dst_space: int, dst_path: str, *, recursive: bool,
             stamp: Stamp | None = None, only: set[int] | None = None) -> None:
        """Copy a file or folder (``recursive``: with its members) to ``dst_path``,
        replacing what is there. Blobs are shared, not copied; the destination space
        is charged the full size. The copies are ``stamp``'s (author and state);
        ``only`` limits the copy to these node ids (what the user may read). One
        transaction."""
        stamp = stamp or Stamp(None)
        with self.db.transaction() as s:
            tag = touch(s, dst_space, ancestors(dst_path), sqlite=self.sqlite)
            freed: list[int] = []
            parent, name, keys, replaced = self._prepare_destination(
                s, src, dst_space, dst_path, freed, made_by=stamp.author_id)
            new_root = parent.path + "/" + name_key(name)
            new_written_root = parent.written_path + "/" + name
            # Rows without their dead properties: the database copies those itself
            # (one UPDATE per node that has some), never through this process's memory.
            columns = (_NODES.id, _NODES.parent_id, _NODES.name, _NODES.path,
                       _NODES.written_name, _NODES.written_path,
                       _NODES.is_collection, _NODES.size, _NODES.content_type, _NODES.etag,
                       _NODES.sha1, _NODES.md5, _NODES.blob_id, _NODES.modified,
                       _NODES.props_bytes)
            c = s.connection()
            rows = list(c.execute(select(*columns).where(_NODES.id == src.id)))
            root = rows[0]
            if recursive and src.is_collection:
                rows += [r for r in c.execute(select(*columns).where(
                    _subtree(src.space_id, src.path, sqlite=self.sqlite), Node.id != src.id))
                    if only is None or r.id in only]
            rows.sort(key=lambda r: r.path.count("/"))  # parents before their members
            new_ids: dict[int, int] = {}
            total = 0
            for row in rows:
                is_root = row.id == src.id
                node = Node(
                    space_id=dst_space,
                    parent_id=parent.id if is_root else new_ids[row.parent_id or 0],
                    name=name_key(name) if is_root else row.name,
                    path=new_root + row.path[len(root.path):],
                    written_name=name if is_root else row.written_name,
                    written_path=new_written_root + row.written_path[len(root.written_path):],
                    is_collection=row.is_collection, size=row.size,
                    content_type=row.content_type,
                    etag=tag if row.is_collection else row.etag, sha1=row.sha1, md5=row.md5,
                    blob_id=row.blob_id, created=clock.time(), modified=row.modified,
                    dead_props={}, props_bytes=0,
                    author_id=stamp.author_id, published=stamp.published,
                )
                s.add(node)
                s.flush()
                new_ids[row.id] = node.id
                if row.props_bytes:
                    _copy_props(c, row.id, node.id)
                total += row.size + (row.props_bytes or 0)
            if replaced is not None:
                from . import versions  # versions build on this module

                versions.hand_over(s, self, replaced, new_ids[src.id])
            self.make_room(s, dst_space, quotas.charge(s, dst_space, total - sum(freed),
                                                       self.policy)
                           or (quotas.usage(s, dst_space, self.policy)
                               if replaced is not None else None))
            if stamp.published:  # readers see it at once: a rubric's contribution
                announce_published(s, dst_space, new_ids[src.id], new_root)
        self._delete_blob_files(keys)

    def move(self, src: NodeInfo, dst_space: int, dst_path: str,
             stamp: Stamp | None = None) -> None:
        """Move or rename a file or folder to ``dst_path``, replacing what is there.
        Rows are updated; no byte is copied. Usage moves with the files when the space
        changes, and the moved nodes take ``stamp`` (author and state) then; inside a
        space they keep theirs. ``dst_path`` may be the node's own path spelled another
        way (NFC and NFD): the name's spelling changes. One transaction."""
        if src.parent_id is None:
            raise Conflict("the root of a space cannot be moved")
        restamp: dict[str, Any] = {}
        if dst_space != src.space_id:
            stamp = stamp or Stamp(None)
            restamp = {"new_author": stamp.author_id, "new_published": stamp.published}
        with self.db.transaction() as s:
            c = s.connection()  # plain statements built once (a MOVE is one rename)
            touch_spaces(c, _by_space((src.space_id, ancestors(src.path)),
                                      (dst_space, ancestors(dst_path))), sqlite=self.sqlite)
            freed: list[int] = []
            parent, name, keys, replaced = self._prepare_destination(
                s, src, dst_space, dst_path, freed, respelling=True,
                made_by=stamp.author_id if stamp else None)
            new_root = parent.path + "/" + name_key(name)
            new_written_root = parent.written_path + "/" + name
            old_written = src.written_path or c.execute(
                select(_NODES.written_path).where(_NODES.id == src.id)).scalar_one()
            moved = 0
            from . import versions  # versions build on this module

            if dst_space != src.space_id:
                moved = int(s.scalar(select(func.coalesce(func.sum(charged_bytes()), 0))
                                     .where(_subtree(src.space_id, src.path,
                                                     sqlite=self.sqlite))) or 0)
                quotas.charge(s, src.space_id, -moved, self.policy)
                versions.change_space(s, self, list(s.scalars(select(Node.id).where(
                    _subtree(src.space_id, src.path, sqlite=self.sqlite),
                    ~Node.is_collection))), src.space_id, dst_space)
            if replaced is not None:
                versions.hand_over(s, self, replaced, src.id)
            self.make_room(s, dst_space, quotas.charge(s, dst_space, moved - sum(freed),
                                                       self.policy)
                           or (quotas.usage(s, dst_space, self.policy)
                               if replaced is not None else None))
            if src.is_collection:
                prefix = src.path + "/"
                c.execute(_move_below_statement(self.sqlite, bool(restamp)), {
                    "src_space": src.space_id, "prefix": prefix, "lo": prefix,
                    "hi": prefix[:-1] + "0", "new_root": new_root,
                    "cut": len(src.path) + 1, "new_written_root": new_written_root,
                    "written_cut": len(old_written) + 1, "dst_space": dst_space,
                    **restamp})
            c.execute(_MOVE_ROOT, {"node": src.id, "parent": parent.id,
                                   "name": name_key(name), "written_name": name,
                                   "new_root": new_root, "new_written_root": new_written_root,
                                   "dst_space": dst_space})
            if restamp:
                c.execute(update(Node).where(Node.id == src.id).values(
                    author_id=restamp["new_author"], published=restamp["new_published"]))
                if restamp["new_published"]:  # arrives from another space, visible
                    announce_published(s, dst_space, src.id, new_root)
        self._delete_blob_files(keys)

    # --- properties ---------------------------------------------------------

    def set_modified(self, node: NodeInfo, mtime: float) -> None:
        """Set the modification time (UTC epoch seconds), as sync clients ask."""
        with self.db.transaction() as s:
            self._touch_around(s, node)
            s.execute(update(Node).where(Node.id == node.id).values(modified=mtime))

    def set_published(self, node: NodeInfo, published: bool) -> None:
        """Publish or unpublish one file or folder (rubric moderation); journaled."""
        with self.db.transaction() as s:
            self._touch_around(s, node)
            s.execute(update(Node).where(Node.id == node.id).values(published=published))
            shared_event(s, journal.Kind.publish if published else journal.Kind.withdraw,
                         node.space_id, node.path)
            if published and not node.published and not node.is_collection:
                announce_published(s, node.space_id, node.id, node.path)

    def patch_dead_props(self, node: NodeInfo, changes: Mapping[str, str | None]) -> None:
        """Set (XML string) or remove (None) dead properties, by Clark name, in one
        transaction that charges their growth to the space (they are user data) and,
        like any growth, purges the oldest trash items if it needs their room
        (:meth:`make_room`).

        Raises ``PropertyLimit`` (507: a name over 1 KiB, a value over 64 KiB, or the
        resource's properties over 1 MiB, :mod:`providers.properties`),
        ``InsufficientStorage`` (507, ``quota-not-exceeded``), ``NotFound``."""
        with self.db.transaction() as s:
            self._touch_around(s, node)
            c = s.connection()
            row = c.execute(select(_NODES.space_id, type_coerce(_NODES.dead_props, Text),
                                   _NODES.props_bytes).where(_NODES.id == node.id)).first()
            if row is None:
                raise NotFound("the resource is gone")
            props, size = patched(_parse_props(row[1]), changes)
            self.make_room(s, row[0], quotas.charge(s, row[0], size - int(row[2] or 0),
                                                    self.policy))
            c.execute(update(_NODE_TABLE).where(_NODES.id == node.id)
                      .values(dead_props=props, props_bytes=size))

    def read_props(self, node_id: int) -> dict[str, str]:
        """A node's dead properties (Clark name → XML of the element); {} if gone."""
        return self.dead_props_of([node_id]).get(node_id, {})

    def dead_props_of(self, node_ids: Iterable[int]) -> dict[int, dict[str, str]]:
        """The dead properties of these nodes, by id, in one query (a listing reads
        them a bounded batch at a time: see ``providers.propfind``)."""
        ids = list(node_ids)
        if not ids:
            return {}
        with self.db.reading() as c:
            rows = c.execute(select(_NODES.id, type_coerce(_NODES.dead_props, Text))
                             .where(_NODES.id.in_(ids)))
            return {r[0]: _parse_props(r[1]) for r in rows}

    def props_bytes_below(self, node: NodeInfo, *, depth: str) -> int:
        """Bytes of the dead properties of ``node`` and of its members (``depth``
        "1") or its whole subtree ("infinity"): what a listing of them would hold.
        One query."""
        if depth == "0" or not node.is_collection:
            return int(getattr(node.dead_props, "nbytes", 0))
        if depth == "1":
            cond = (_NODES.id == node.id) | (_NODES.parent_id == node.id)
        else:
            cond = _subtree(node.space_id, node.path, sqlite=self.sqlite)
        with self.db.reading() as c:
            return int(c.execute(select(func.coalesce(func.sum(_NODES.props_bytes), 0))
                                 .where(cond)).scalar() or 0)

    def _touch_around(self, s: Session, node: NodeInfo) -> None:
        """A property of ``node`` changes: new ETags for the folders above it, and for
        itself when it is a folder (:mod:`providers.folder_etags`)."""
        touch(s, node.space_id, around(node.path, itself=node.is_collection),
              sqlite=self.sqlite)


def _by_space(*changes: tuple[int, list[str]]) -> dict[int, list[str]]:
    """Paths by space id, from ``(space id, paths)`` pairs that may name a space twice."""
    merged: dict[int, list[str]] = {}
    for space_id, paths in changes:
        merged.setdefault(space_id, []).extend(paths)
    return merged
