"""``davserver lock list|break``: WebDAV locks, for IT staff (issue 18).

Forms::

    davserver lock list [--space LOGIN|binder:LOGIN|rubric:SLUG] [--json]
    davserver lock break TOKEN|PLACE

``list`` shows every active lock (or one space's), oldest first: its token, holder,
scope, depth, when it was taken and when it ends (UTC), and its place (marked when
it is the empty file the LOCK itself made, removed when the lock ends). A place is
written ``LOGIN:/PATH`` (that user's porte-documents), ``binder:LOGIN:/PATH`` (their
classeur) or ``rubric:SLUG:/PATH`` (a rubric's shared folders; ``/`` is the root),
as ``break`` takes it. ``break`` removes one lock by its token, or every lock held
on a place; the holders are notified. Exit status 1 when there was nothing to break.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import acl
from davserver.config import Config
from davserver.errors import BadRequest, NotFound

if TYPE_CHECKING:
    from providers import SpaceInfo, SqlLockStorage, Store

TOKEN_PREFIX = "opaquelocktoken:"


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``lock`` command to the top-level subparsers."""
    lock = sub.add_parser("lock", help="WebDAV locks: list, break"
                          ).add_subparsers(dest="action", required=True)
    listing = lock.add_parser("list", help="list active locks", parents=[common])
    listing.add_argument("--space", metavar="LOGIN|binder:LOGIN|rubric:SLUG",
                         help="one space's locks")
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    brk = lock.add_parser("break", help="remove a lock (its holder is notified)",
                          parents=[common])
    brk.add_argument("target", metavar="TOKEN|PLACE",
                     help="a lock token, or LOGIN:/PATH, binder:LOGIN:/PATH, "
                     "rubric:SLUG:/PATH")


def cmd_lock(config: Config, args: argparse.Namespace) -> int:
    """Run one ``lock`` action; returns the exit status."""
    from davserver.app import create_app

    app = create_app(config)  # also connects the web layer's notification receiver
    try:
        locks = app.locks
        if args.action == "list":
            return _list(app.store, locks, args.space, args.json)
        return _break(app.store, locks, args.target)
    finally:
        app.close()


def _space(store: Store, spec: str) -> SpaceInfo:
    """The space of ``LOGIN``, ``binder:LOGIN`` or ``rubric:SLUG``."""
    kind, _sep, name = spec.rpartition(":") if spec.startswith(("binder:", "rubric:")) \
        else ("documents", "", spec)
    with store.db.transaction(write=False) as s:
        if kind == "rubric":
            return store.ensure_space("rubric", rubric_id=acl.get_rubric(s, name).id)
        user = acl.find_user(s, name)
    if user is None:
        raise NotFound(f"no user {name!r}")
    if kind == "binder" and not acl.has_binder(user.profile):
        raise NotFound(f"{name} has no classeur (teachers only)")
    return store.ensure_space(kind, owner_id=user.id, profile=user.profile.value)


def _labels(store: Store) -> dict[int, tuple[str, str]]:
    """Space id → (kind, how a place in it is written before ``:/``)."""
    with store.db.transaction(write=False) as s:
        logins = {p.id: p.login for p, _disabled in acl.list_users(s)}
        slugs = {r.id: r.slug for r in acl.list_rubrics(s)}
    labels = {}
    for space in store.spaces():
        if space.kind == "rubric":
            labels[space.id] = (space.kind, f"rubric:{slugs.get(space.rubric_id or -1, '?')}")
        elif space.kind == "binder":
            labels[space.id] = (space.kind, f"binder:{logins.get(space.owner_id or -1, '?')}")
        else:
            labels[space.id] = (space.kind, logins.get(space.owner_id or -1, space.kind))
    return labels


def _utc(epoch: float | None) -> str:
    if epoch is None:
        return "?"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row(lock: dict[str, Any], labels: dict[int, tuple[str, str]]) -> dict[str, Any]:
    from providers import relative_path

    kind, label = labels.get(lock["space_id"] or -1, ("?", "?"))
    path = relative_path(lock["root"], kind) or "/"
    return {"token": lock["token"], "place": f"{label}:{path}", "holder": lock["principal"],
            "scope": lock["scope"], "depth": lock["depth"], "since": _utc(lock["created"]),
            "expires": _utc(lock["expire"]),
            "created_by_lock": lock["lock_null_node"] is not None}


def _list(store: Store, locks: SqlLockStorage, space: str | None, as_json: bool) -> int:
    found = locks.active(_space(store, space).id if space else None)
    labels = _labels(store)
    rows = [_row(lock, labels) for lock in found]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(f"{'since (UTC)':<20}  {'expires (UTC)':<20}  {'holder':<14} {'scope':<9} "
          f"{'depth':<8} place / token")
    for r in rows:
        empty = "  (empty: made by this LOCK)" if r["created_by_lock"] else ""
        print(f"{r['since']:<20}  {r['expires']:<20}  {r['holder']:<14} {r['scope']:<9} "
              f"{r['depth']:<8} {r['place']}{empty}\n{'':>74}{r['token']}")
    if not rows:
        print("(no active lock)")
    return 0


def _break(store: Store, locks: SqlLockStorage, target: str) -> int:
    from providers import relative_path

    labels = _labels(store)
    if target.startswith(TOKEN_PREFIX):
        lock = locks.break_lock(target, broken_by=None)
        if lock is None:
            raise NotFound(f"no active lock {target} (released or expired?)")
        print(f"broken: {_row(lock, labels)['place']} (held by {lock['principal']})")
        return 0
    spec, sep, path = target.partition(":/")
    if not sep:
        raise BadRequest(f"{target!r}: give a lock token, or LOGIN:/PATH, "
                         "binder:LOGIN:/PATH or rubric:SLUG:/PATH")
    space = _space(store, spec)
    rel = "".join("/" + unicodedata.normalize("NFC", s) for s in path.split("/") if s)
    broken = [lock for lock in locks.active(space.id)
              if relative_path(lock["root"], space.kind) == rel]
    if not broken:
        raise NotFound(f"no active lock on {spec}:/{path.strip('/')}")
    for lock in broken:
        if locks.break_lock(lock["token"], broken_by=None) is not None:
            print(f"broken: {lock['token']} (held by {lock['principal']})")
    return 0
