"""Which locks conflict, for a new lock and for a write (RFC 4918 §6.1, §6.2, §7), and
the WsgiDAV lock manager that applies these rules over :class:`~.locks.SqlLockStorage`.

WsgiDAV 4.4's own manager (``wsgidav.lock_man.lock_manager``) differs on shared
locks (``shared/notes/wsgidav-4.4.md`` §3.1, case BUG-13): a write needs the token
of *every* lock on the resource, so two holders of shared locks each get 423 with
their own token; and a new depth-infinity lock conflicts with any lock below it,
shared or not. Here:

* a new lock conflicts with an existing one on the same resource, on a folder above
  it with depth infinity, or (new depth infinity) below it, unless both are shared;
* a write is allowed when every lock covering the resource (on it, or depth
  infinity above it) is one whose token the request submits and whose holder makes
  it, or is shared while the request submits one such shared lock (RFC 4918 §6.2:
  any holder of a shared lock may write); a depth-infinity write (DELETE or MOVE of a
  folder) also needs the token of every lock below.

Lock dicts are WsgiDAV's (``root``, ``scope``, ``depth``, ``principal``, ``token``…);
roots are normalised ref-URLs (``/a/b``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wsgidav import util
from wsgidav.dav_error import HTTP_LOCKED, DAVError, DAVErrorCondition
from wsgidav.lock_man.lock_manager import LockManager, normalize_lock_root

Lock = dict[str, Any]


def _covers(root: str, url: str, depth: str) -> bool:
    """Does a lock rooted at ``root`` with ``depth`` cover the resource ``url``?"""
    return root == url or (depth == "infinity" and url.startswith(root.rstrip("/") + "/"))


def lock_conflicts(existing: Iterable[Lock], url: str, scope: str, depth: str) -> list[str]:
    """Roots of the ``existing`` locks that a new ``scope``/``depth`` lock on ``url``
    would conflict with (RFC 4918 §6.1: an exclusive lock conflicts with any other
    lock of the resources it covers, a shared lock with exclusive ones only)."""
    below = url.rstrip("/") + "/"
    found = []
    for lock in existing:
        overlaps = (_covers(lock["root"], url, lock["depth"])
                    or (depth == "infinity" and lock["root"].startswith(below)))
        if overlaps and not (lock["scope"] == "shared" and scope == "shared"):
            found.append(lock["root"])
    return found


def write_conflicts(covering: Iterable[Lock], below: Iterable[Lock], tokens: Iterable[str],
                    principal: str) -> list[str]:
    """Roots of the locks that stop ``principal``, who submits ``tokens``, from
    changing a resource: ``covering`` are the locks on it and the depth-infinity
    locks above it, ``below`` the locks under it (empty for a depth-0 write)."""
    submitted = set(tokens)

    def held(lock: Lock) -> bool:
        return lock["token"] in submitted and lock["principal"] == principal

    covering = list(covering)
    holds_shared = any(held(lock) and lock["scope"] == "shared" for lock in covering)
    found = [lock["root"] for lock in covering
             if not held(lock) and not (holds_shared and lock["scope"] == "shared")]
    found += [lock["root"] for lock in below if not held(lock)]
    return found


def conflict_error(roots: list[str]) -> DAVError:
    """423 Locked with ``DAV:no-conflicting-lock`` naming ``roots`` (RFC 4918 §9.10.6)."""
    condition = DAVErrorCondition("{DAV:}no-conflicting-lock")
    for root in dict.fromkeys(roots):
        condition.add_href(root)
    return DAVError(HTTP_LOCKED, err_condition=condition)


class EntLockManager(LockManager):
    """WsgiDAV's lock manager with the rules of this module, whose LOCK is checked and
    stored in one database transaction (:meth:`SqlLockStorage.acquire`), so that two
    server processes never grant conflicting locks (issue 21)."""

    def acquire(self, *, url: str, lock_type: str, lock_scope: str, lock_depth: str,
                lock_owner: bytes, timeout: float | None, principal: str,
                token_list: list[str]) -> Lock:
        """Grant a lock or raise ``DAVError`` (423 on a conflict; see the storage for
        the per-user limit). This process's writes in progress (WsgiDAV's guard
        against a LOCK granted while a PUT body streams in) conflict too."""
        url = normalize_lock_root(url)
        self._lock.acquire_read()
        try:
            busy = [w for w, count in self._active_writes.items()
                    if count and (w == url or (lock_depth == "infinity"
                                               and util.is_child_uri(url, w)))]
        finally:
            self._lock.release()
        if busy:
            raise conflict_error(busy)
        lock = {"root": url, "type": lock_type, "scope": lock_scope, "depth": lock_depth,
                "owner": lock_owner, "timeout": timeout, "principal": principal}
        return self.storage.acquire(url, lock)  # type: ignore[no-any-return]

    def _get_write_conflicts(self, url: str, depth: str, token_list: list[str],
                             principal: str) -> DAVErrorCondition:
        """Conflicts of a write to ``url`` (see :func:`write_conflicts`); WsgiDAV's
        ``check_write_permission`` and write transactions call this."""
        url = normalize_lock_root(url)
        covering: list[Lock] = []
        current: str | None = url
        while current:
            for lock in self.storage.get_lock_list(current, include_root=True,
                                                   include_children=False, token_only=False):
                if _covers(lock["root"], url, lock["depth"]):
                    covering.append(lock)
            current = util.get_uri_parent(current)
        below: list[Lock] = []
        if depth == "infinity":
            below = self.storage.get_lock_list(url, include_root=False, include_children=True,
                                               token_only=False)
        condition = DAVErrorCondition("{DAV:}no-conflicting-lock")
        for root in dict.fromkeys(write_conflicts(covering, below, token_list, principal)):
            condition.add_href(root)
        return condition

    def release(self, token: str) -> None:
        """UNLOCK: the lock ends (an empty file its LOCK created goes with it)."""
        self.storage.release(token)

    def remove_all_locks_from_url(self, url: str, *, recursive: bool = False) -> None:
        """The resource was deleted, moved or replaced: its locks go, and nothing else
        (the file a LOCK created moves or is deleted with them)."""
        for token in self.storage.get_lock_list(normalize_lock_root(url), include_root=True,
                                                include_children=recursive, token_only=True):
            self.storage.delete(token)
