"""WebDAV locks in the file manager (issue 18): who holds a lock on a folder or one of
its files and since when, and "Déverrouiller" for who may remove it.

A lock is removed here by its holder, or by whoever holds ``unlock`` on the locked
file or folder (``acl``: the space's owner, a rubric's moderators and managers), as
an ``UNLOCK`` with the holder's token would over WebDAV; the holder is notified
(:mod:`.lock_notice`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from providers import relative_path

from .places import Place, Refusal, access, locate, lock_key, settings

SCOPES = {"exclusive": "exclusif", "shared": "partagé"}


@dataclass(frozen=True)
class LockBadge:
    """One lock as the page shows it: its holder's login, when it was taken (local
    time, empty for locks older than that record), its scope in French, and its
    token when the user may remove it (else None)."""

    holder: str
    since: str
    scope: str
    token: str | None
    below: bool = False  # a depth-infinity lock held on a folder above this page's


def _badge(lock: dict[str, Any], place: Place | None, zone: ZoneInfo,
           below: bool = False) -> LockBadge:
    me = access().principal.login
    mine = lock["principal"] == me
    may = mine or (place is not None and place.allowed("unlock"))
    since = (f"{datetime.fromtimestamp(lock['created'], zone):%d/%m/%Y %H:%M}"
             if lock.get("created") else "")
    return LockBadge(lock["principal"], since, SCOPES.get(lock["scope"], lock["scope"]),
                     lock["token"] if may else None, below)


def locks_around(folder: Place) -> list[dict[str, Any]]:
    """The unexpired locks on ``folder``, above it and below it, in one query:
    expired ones are purged on the way, with the empty files their LOCKs left (so
    read this before listing the folder)."""
    locks = settings().locks
    return [] if locks is None else locks.around(lock_key(folder.space, folder.dav_path))


def badges(folder: Place, members: list[Place], found: list[dict[str, Any]],
           zone: ZoneInfo) -> tuple[list[LockBadge], dict[str, list[LockBadge]]]:
    """Of the locks ``found`` by :func:`locks_around`: those on ``folder`` itself and
    the depth-infinity ones above it, and those on each member, by name."""
    here: list[LockBadge] = []
    by_name: dict[str, list[LockBadge]] = {}
    places = {m.node.path: m for m in members}
    for lock in sorted(found, key=lambda x: x.get("created") or 0):
        path = relative_path(lock["root"], folder.space.kind)
        if path == folder.node.path:
            here.append(_badge(lock, folder, zone))
        elif path in places:
            by_name.setdefault(places[path].node.name, []).append(
                _badge(lock, places[path], zone))
        elif lock["depth"] == "infinity" and (folder.node.path + "/").startswith(path + "/"):
            above = next((p for p in folder.ancestors() if p.node.path == path), None)
            here.append(_badge(lock, above, zone, below=True))
    return here, by_name


def unlock(folder: Place, token: str) -> tuple[str, str]:
    """Remove the lock ``token`` from a page of its space: its holder may, and whoever
    holds ``unlock`` on what it locks. Returns (the locked item's name, the holder's
    login). Raises ``Refusal``: 404 for a lock that is gone (released or expired) or
    not in this space, 403 for who may not remove it."""
    locks = settings().locks
    lock = locks.get(token.strip()) if locks is not None and token.strip() else None
    if locks is None or lock is None or lock.get("space_id") != folder.space.id:
        raise Refusal(404, _("Ce verrou n'existe plus : il a été levé ou il a expiré."))
    place = locate(folder.top + relative_path(lock["root"], folder.space.kind))
    me = access().principal
    if lock["principal"] != me.login and not place.allowed("unlock"):
        raise Refusal(403, _("Seuls %(holder)s, le propriétaire de l'espace et les "
                             "modérateurs ou gestionnaires de la rubrique peuvent lever "
                             "ce verrou.", holder=lock["principal"]))
    locks.break_lock(lock["token"], broken_by=me.id)
    return place.name, lock["principal"]
