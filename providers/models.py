"""Tables of the node/blob store (DESIGN.md, "Storage model").

* ``spaces``: one root of files with an owner (documents, binder) or a rubric.
* ``nodes``: one row per file or folder. ``written_name`` is its name exactly as the
  client wrote it, ``name`` its key (NFC, :func:`providers.names.name_key`), the
  form names are compared in; ``(parent_id, name)`` is unique, so two spellings of
  one name never sit side by side. ``path`` is the materialised path of keys inside
  the space (``""`` for the root, ``/a/b`` below it) so that resolving a path is one
  query; ``written_path`` the same path as written, for what is shown (issue 17).
* ``trash_purges``: trash items purged to make room (shown in the trash page).
* ``blobs``: immutable content; several nodes may share one (COPY).
* ``file_versions``: earlier contents of a file (issue 23), each holding its blob.

Times are UTC seconds since the epoch (float). Sizes are bytes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from davserver.db import Base


class Space(Base):
    __tablename__ = "spaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "documents:<user id>", "binder:<user id>", "rubric:<rubric id>": one space each.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rubric_id: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[float] = mapped_column(Float)


class Blob(Base):
    __tablename__ = "blobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha1: Mapped[str] = mapped_column(String(40))
    md5: Mapped[str] = mapped_column(String(32))
    created: Mapped[float] = mapped_column(Float)


class Node(Base):
    __tablename__ = "nodes"
    __table_args__ = (
        UniqueConstraint("parent_id", "name"),
        # Hash on PostgreSQL: a btree entry cannot hold a long deep path.
        Index("ix_nodes_path", "path", postgresql_using="hash"),
        # A space's nodes; and a rubric's latest contributions, its files newest first,
        # read in order (providers.contributions) instead of sorting the whole space.
        # (Migration 0028 dropped the index on space_id alone that this one begins with:
        # SQLite, without statistics, preferred it to the folders' partial index.)
        Index("ix_nodes_space_modified", "space_id", "modified"),
        # A space's folders without its files (a rubric's access tabs, Store.folders):
        # partial, so that file writes do not maintain it. No path in it: a btree entry
        # on PostgreSQL cannot hold a long deep path.
        Index("ix_nodes_space_folders", "space_id",
              sqlite_where=text("is_collection = 1"), postgresql_where=text("is_collection")),
        Index("ix_nodes_blob", "blob_id"),
        # Ids are never reused (SQLite reuses the highest deleted rowid otherwise):
        # a folder's grants (acl) refer to it by id.
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id"))
    name: Mapped[str] = mapped_column(Text)  # NFC key, compared
    path: Mapped[str] = mapped_column(Text)  # keys, resolved
    written_name: Mapped[str] = mapped_column(Text)  # as the client wrote it, shown
    written_path: Mapped[str] = mapped_column(Text)  # written names, shown
    is_collection: Mapped[bool] = mapped_column(Boolean)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    content_type: Mapped[str | None] = mapped_column(String(255))
    etag: Mapped[str | None] = mapped_column(String(64))
    sha1: Mapped[str | None] = mapped_column(String(40))
    md5: Mapped[str | None] = mapped_column(String(32))
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    created: Mapped[float] = mapped_column(Float)
    modified: Mapped[float] = mapped_column(Float)
    dead_props: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Bytes of dead_props as they count in the quota (providers/properties.py).
    props_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Who added the file or folder, and whether it is published (rubric spaces: a
    # writer's additions wait for a moderator). Personal spaces: owner, published.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published: Mapped[bool] = mapped_column(Boolean, default=True)


class TrashItem(Base):
    """One deleted file or folder kept in its space's trash (issue 8, "corbeille").

    The deleted node and everything below it stay in ``nodes`` (same space, same
    blobs, counted in the space's trash bytes, not in its used bytes); the top node
    leaves the live tree: no parent, path ``#trash/<item id>`` (live paths are ``""``
    or start with ``/``, so no live path resolves to it), members below it re-pathed
    the same way. ``name`` and ``original_path`` (space-relative) are as the client
    wrote them (rows from before issue 17: in NFC); ``deleted_by`` is a user id,
    ``deleted_at`` UTC epoch seconds, ``size`` the bytes of the whole subtree."""

    __tablename__ = "trash_items"
    __table_args__ = (
        Index("ix_trash_space", "space_id"),
        Index("ix_trash_deleted_at", "deleted_at"),
        # The id is part of the trashed nodes' paths: never reused.
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"))
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"), unique=True)
    name: Mapped[str] = mapped_column(Text)
    original_path: Mapped[str] = mapped_column(Text)
    is_collection: Mapped[bool] = mapped_column(Boolean)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deleted_at: Mapped[float] = mapped_column(Float)


class TrashPurge(Base):
    """Trash items of a space purged by the server to make room (issue 17): when a
    write needed the room, or the trash passed its share of the quota
    (``trash.max_share``), the oldest items went first. One row per purge: when
    (UTC epoch seconds), how many items, how many bytes, and ``reason`` (``room``:
    a write needed it; ``share``: the trash was over its share)."""

    __tablename__ = "trash_purges"
    __table_args__ = (Index("ix_trash_purges_space", "space_id", "purged_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"))
    purged_at: Mapped[float] = mapped_column(Float)
    items: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(16))


class DavLock(Base):
    """A WebDAV lock (RFC 4918 §6), shared by every server process.

    ``root`` is the locked resource's ref-URL (``/<space id>/<provider path>``,
    quoted, as the client spelled it); ``principal`` the holder's login; ``created``
    and ``expire`` UTC epoch seconds; ``timeout`` seconds. ``space_id`` is the space
    of ``root`` (None for rows made before it was recorded). ``lock_null_node`` is
    the id of the empty file this lock's LOCK created on an unmapped URL while that
    file has received no content (RFC 4918 §7.3; issue 17: removed when the lock ends
    or its first PUT fails), else None."""

    __tablename__ = "dav_locks"
    token: Mapped[str] = mapped_column(String(128), primary_key=True)
    root: Mapped[str] = mapped_column(Text, index=True)
    type: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    depth: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(Text)
    principal: Mapped[str] = mapped_column(String(200), index=True)
    timeout: Mapped[float] = mapped_column(Float)
    expire: Mapped[float] = mapped_column(Float, index=True)
    created: Mapped[float | None] = mapped_column(Float)
    space_id: Mapped[int | None] = mapped_column(Integer, index=True)
    lock_null_node: Mapped[int | None] = mapped_column(Integer, index=True)


class FileVersion(Base):
    """An earlier content of a file (issue 23): when a write, a MOVE or COPY onto it,
    a trash restore onto it or a version restore replaced it, the old blob was kept
    here instead of being freed (no byte copied).

    ``node_id`` is the file (live or in the trash; deliberately no foreign key: a
    MOVE or COPY onto a file hands the replaced node's versions to the node that
    replaces it inside one transaction, after the old node is gone); ``space_id`` the
    space whose ledger counts its bytes as *version bytes* (never in the used bytes).
    ``blob_id`` the content (never NULL: empty contents are not kept), ``size``
    bytes, ``etag`` (the content's SHA-1, as the file had), ``md5``,
    ``content_type``; ``modified`` the content's own modification time and
    ``made_at`` when it became a version (UTC epoch seconds, :mod:`davserver.clock`),
    which dates, names and thins it; ``made_by`` the user whose change replaced it
    (None: the server or a command)."""

    __tablename__ = "file_versions"
    __table_args__ = (
        Index("ix_file_versions_node", "node_id", "made_at"),
        Index("ix_file_versions_space", "space_id", "made_at"),
        Index("ix_file_versions_blob", "blob_id"),
        # A version id names one content for ever (CLI, restores): never reused.
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(Integer)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"))
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"))
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(64))
    md5: Mapped[str | None] = mapped_column(String(32))
    content_type: Mapped[str | None] = mapped_column(String(255))
    modified: Mapped[float] = mapped_column(Float)
    made_at: Mapped[float] = mapped_column(Float)
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
