"""Lock-null files: the empty file a LOCK on an unmapped URL creates (RFC 4918 §7.3;
davfs2 does this before every new file) while it has received no content (issue 17).

Such a file is removed when no lock was granted for it, when its lock ends (UNLOCK,
expiry, a break: unless other locks remain on it, which inherit the mark) or when
its first PUT fails (507, 403, a broken body), so no 0-byte file is left behind. The
mark is ``dav_locks.lock_null_node``; a successful PUT clears it. A file made by a
real PUT, even of 0 bytes (Windows Explorer, case BUG-01), never has it.

:class:`LockNullFiles` is a part of :class:`~.locks.SqlLockStorage`, kept apart.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from wsgidav.lock_man.lock_manager import normalize_lock_root

from davserver.db import Database

from .folder_etags import ancestors, touch
from .models import DavLock, Node


class LockNullFiles:
    """The lock storage's book-keeping of lock-null files (see the module docstring).
    Needs ``db``, ``_local`` (a ``threading.local``), :meth:`snapshot_locks` and a
    ``now()`` clock from the storage."""

    db: Database
    _local: threading.local

    def snapshot_locks(self) -> list[dict[str, Any]] | None:
        """The locks of this thread's request snapshot (see the storage)."""
        raise NotImplementedError

    @staticmethod
    def _now() -> float:
        """The storage's clock (``providers.locks.now``)."""
        raise NotImplementedError

    def note_created(self, node_id: int, root: str) -> None:
        """This thread's LOCK request just created the empty file ``node_id`` at the
        lock root ``root``: the lock it grants records it (lock-null, see the module
        docstring); if none is granted, :meth:`discard_created` removes it."""
        self._local.created = (node_id, normalize_lock_root(root))

    def _take_created(self, root: str) -> int | None:
        noted = getattr(self._local, "created", None)
        if noted is None or noted[1] != root:
            return None
        self._local.created = None
        return int(noted[0])

    def discard_created(self) -> None:
        """End of a LOCK request: the file it created but no lock records (the lock
        was refused) is removed, unless a lock is rooted there meanwhile (another
        client's LOCK on the same new name won)."""
        noted = getattr(self._local, "created", None)
        self._local.created = None
        if noted is None:
            return
        node_id, root = noted
        with self.db.transaction() as s:
            if s.scalar(select(DavLock.token).where(DavLock.root == root,
                                                    DavLock.expire >= self._now()).limit(1)):
                return
            self._remove_empty_file(s, node_id)

    def _remove_empty_file(self, s: Session, node_id: int) -> None:
        """Delete a file that never received content (no blob, 0 bytes): nothing to
        free in the quota ledger or the blob store; the folders above it get new
        ETags (after the lock rows, :mod:`.folder_etags`)."""
        empty = (Node.id == node_id, Node.is_collection.is_(False), Node.size == 0,
                 Node.blob_id.is_(None))
        found = s.execute(select(Node.space_id, Node.path).where(*empty)).first()
        if found is None:
            return
        touch(s, found.space_id, ancestors(found.path),
              sqlite=self.db.engine.dialect.name == "sqlite")
        s.execute(delete(Node).where(*empty).execution_options(synchronize_session=False))

    def _end_lock_null(self, s: Session, ended: list[Any]) -> None:
        """The locks ``ended`` (rows, already deleted in ``s``) are gone: a lock-null
        file one of them created goes too, unless other locks remain on it (they
        inherit the mark)."""
        moment = self._now()
        for row in ended:
            if row.lock_null_node is None:
                continue
            others = list(s.scalars(select(DavLock.token).where(
                DavLock.root == row.root, DavLock.expire >= moment)))
            if others:
                s.execute(update(DavLock).where(DavLock.token.in_(others))
                          .values(lock_null_node=row.lock_null_node))
            else:
                self._remove_empty_file(s, row.lock_null_node)

    def _lock_null_known(self, node_id: int) -> bool:
        """Whether a lock of this request's snapshot marks ``node_id`` as lock-null
        (True without a snapshot: the database is asked instead)."""
        locks = self.snapshot_locks()
        return locks is None or any(lock["lock_null_node"] == node_id for lock in locks)

    def content_arrived(self, node_id: int) -> None:
        """A PUT gave the file ``node_id`` its content: it is no longer lock-null. No
        query unless the request's snapshot shows a lock-null lock on it."""
        if not self._lock_null_known(node_id):
            return
        with self.db.transaction() as s:
            s.execute(update(DavLock).where(DavLock.lock_null_node == node_id)
                      .values(lock_null_node=None))

    def upload_failed(self, node_id: int) -> bool:
        """The first PUT of the lock-null file ``node_id`` failed (507, 403, a broken
        connection): the file and the locks on it are removed, so the name is free
        again. Returns whether it was lock-null. No query unless the request's
        snapshot shows a lock-null lock on it."""
        if not self._lock_null_known(node_id):
            return False
        with self.db.transaction() as s:
            roots = set(s.scalars(select(DavLock.root).where(
                DavLock.lock_null_node == node_id)))
            if not roots:
                return False
            s.execute(delete(DavLock).where(DavLock.root.in_(roots)))
            self._remove_empty_file(s, node_id)
        return True
