"""Folder ETags that change when anything below them changes (ETag propagation).

A sync client (the Nextcloud and ownCloud apps, rclone's bisync) asks the ETag of
the folder it keeps in sync, every few seconds, and lists a folder again only when
its ETag changed: a folder's ETag must change whenever anything in its subtree does
(a write, a delete, a move in or out, a property change, a restore). File ETags are
the content's SHA-1 (:mod:`providers.store`); a folder's is an opaque token in the
same ``nodes.etag`` column, replaced by a new one each time.

**How.** Every transaction of the store that changes the live tree calls
:func:`touch` *first*, with the space-relative paths whose ancestors changed: one
UPDATE gives the folders from the space root down to each changed node's parent
(and, for a folder whose own properties changed, that folder) one new token, found
by the path index (the paths are materialised, so a path's ancestors are known
without a query). The cost is one statement per write, whatever the depth.

**Concurrency.** On PostgreSQL the rows are locked in path order (a sub-SELECT
``ORDER BY path FOR UPDATE``) and before any other row of the transaction, so two
writers of one space, even in sibling folders, queue on the space root instead of
deadlocking: each takes the ancestors first, root first, then its own rows, then the
space's ledger row (which already made writes of one space take turns at commit).
A transaction changing two spaces touches them in space-id order. Lock rows
(``dav_locks``) are the one exception: a transaction that removes locks removes
them before touching (:mod:`providers.trash`, :mod:`providers.lock_null`), and no
writer holding a space root waits for a lock row. On SQLite writers already take
turns (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Text, bindparam, select, update
from sqlalchemy.orm import Session

from davserver.db import run_rows, table_of

from .models import Node
from .names import path_key

_NODES = Node.__table__.c


def new_tag() -> str:
    """A fresh folder ETag (unquoted, strong): 16 random hex digits."""
    return secrets.token_hex(8)


def composite(parts: Iterable[str]) -> str:
    """The ETag of a folder made of others (the drive's root, ``rubriques/``, the
    binder root with its read-only folders): a digest of their ETags and names in
    order, so it changes when any of them does."""
    return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()[:16]


def ancestors(path: str) -> list[str]:
    """The space-relative paths of the folders above ``path``, root (``""``) first;
    none for the root itself."""
    if not path:
        return []
    segments = path.split("/")[1:]
    return [""] + ["/" + "/".join(segments[:i]) for i in range(1, len(segments))]


def around(path: str, *, itself: bool = False) -> list[str]:
    """The folders whose ETag a change at ``path`` changes: its ancestors, and with
    ``itself`` the folder at ``path`` too (its own properties changed)."""
    return [*ancestors(path), path] if itself else ancestors(path)


# Paths up to this many are touched by a statement of their own, run on the cursor
# (db.run_rows: a write's turn is held shorter); more, rare, through an IN list.
CACHED_PATHS = 32


@functools.cache
def _statement(sqlite: bool, count: int = 0) -> Any:
    """``UPDATE nodes SET etag = :tag`` on the nodes of ``:space`` at ``:paths`` (with
    ``count``, at ``:p0`` … instead: plain parameters); on PostgreSQL through a
    sub-SELECT that locks them in path order."""
    space = _NODES.space_id + 0 if sqlite else _NODES.space_id  # see store._RESOLVE
    paths: Any = ([bindparam(f"p{i}", type_=Text) for i in range(count)] if count
                  else bindparam("paths", expanding=True))
    chosen = (select(_NODES.id)
              .where(space == bindparam("space"), _NODES.path.in_(paths)))
    if not sqlite:
        chosen = chosen.order_by(_NODES.path).with_for_update()
    return update(table_of(Node)).where(_NODES.id.in_(chosen)).values(etag=bindparam("tag"))


def touch(session: Session | Connection, space_id: int, paths: Iterable[str], *,
          sqlite: bool, tag: str | None = None) -> str:
    """Give the folders at ``paths`` of the space (space-relative, as written or as
    keys; duplicates and missing ones are fine) the ETag ``tag`` (default: a new
    one), in the caller's transaction, before it changes any other row (see the
    module docstring). Returns the tag."""
    tag = tag or new_tag()
    # Paths compare by their key (NFC, :func:`.names.path_key`), as the ``path``
    # column holds them; one holding NUL names nothing (never stored).
    wanted = sorted({path_key(p) for p in paths if "\x00" not in p})
    if wanted:
        connection = session.connection() if isinstance(session, Session) else session
        if len(wanted) <= CACHED_PATHS:
            run_rows(connection, _statement(sqlite, len(wanted)),
                     {"space": space_id, "tag": tag,
                      **{f"p{i}": p for i, p in enumerate(wanted)}})
        else:
            connection.execute(_statement(sqlite), {"space": space_id, "paths": wanted,
                                                    "tag": tag})
    return tag


def touch_spaces(session: Session | Connection, changes: Mapping[int, Iterable[str]], *,
                 sqlite: bool) -> str:
    """:func:`touch` for several spaces (space id → paths), in space-id order, with one
    tag. Returns it."""
    tag = new_tag()
    for space_id in sorted(changes):
        touch(session, space_id, changes[space_id], sqlite=sqlite, tag=tag)
    return tag
