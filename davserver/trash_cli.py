"""``davserver trash list|restore|purge``: the trash of every space, for IT staff.

Forms::

    davserver trash list [--user LOGIN | --space LOGIN|rubric:SLUG] [--json]
    davserver trash restore ID [--to [LOGIN:|rubric:SLUG:]/PATH]
    davserver trash purge [--older-than DAYS | --all]

``list --user LOGIN`` shows what LOGIN deleted, in any space; ``--space`` one
space's trash (a login names that user's porte-documents). ``restore`` puts an
item back at its original path, or at ``--to`` (a path in the same space, or in
the space named before the colon); an existing name there is refused (exit 1).
``purge`` destroys items deleted more than ``trash.retention_days`` ago (or
``--older-than DAYS``, or ``--all``) and frees their quota: run it daily (``docs/admin.md``).
Times are printed in UTC.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from davserver import clock
from davserver.config import Config
from davserver.errors import BadRequest, DomainError, NotFound

if TYPE_CHECKING:
    from providers import Store, TrashEntry

DAY = 86400  # seconds


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``trash`` command to the top-level subparsers."""
    trash = sub.add_parser("trash", help="deleted items: list, restore, purge"
                           ).add_subparsers(dest="action", required=True)
    listing = trash.add_parser("list", help="list deleted items", parents=[common])
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--user", metavar="LOGIN", help="what LOGIN deleted")
    which.add_argument("--space", metavar="LOGIN|rubric:SLUG", help="one space's trash")
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    restore = trash.add_parser("restore", help="put a deleted item back", parents=[common])
    restore.add_argument("id", type=int, metavar="ID")
    restore.add_argument("--to", metavar="PATH", help="/PATH in its space, or "
                         "LOGIN:/PATH or rubric:SLUG:/PATH (default: where it was)")
    purge = trash.add_parser("purge", help="destroy old deleted items", parents=[common])
    age = purge.add_mutually_exclusive_group()
    age.add_argument("--older-than", type=float, metavar="DAYS",
                     help="default: trash.retention_days of the configuration")
    age.add_argument("--all", action="store_true", help="every item, whatever its age")


def cmd_trash(config: Config, args: argparse.Namespace) -> int:
    """Run one ``trash`` action; returns the exit status."""
    from davserver.app import create_app

    app = create_app(config)
    try:
        if args.action == "list":
            return _list(app.store, args)
        if args.action == "restore":
            return _restore(app.store, args)
        days = 0.0 if args.all else (args.older_than if args.older_than is not None
                                     else float(config.trash.retention_days))
        if days < 0 or days != days:  # a negative age would purge what was just deleted
            raise DomainError(f"--older-than must be 0 or more days, not {args.older_than}")
        return _purge(app.store, days)
    finally:
        app.close()


def _space_labels(store: Store) -> dict[int, str]:
    import acl

    with store.db.transaction(write=False) as s:
        logins = {p.id: p.login for p, _disabled in acl.list_users(s)}
        slugs = {r.id: r.slug for r in acl.list_rubrics(s)}
    labels = {}
    for space in store.spaces():
        if space.kind == "rubric":
            labels[space.id] = f"rubric:{slugs.get(space.rubric_id or -1, '?')}"
        else:
            labels[space.id] = f"{logins.get(space.owner_id or -1, '?')} ({space.kind})"
    return labels


def _user_id(store: Store, login: str) -> int:
    import acl

    with store.db.transaction(write=False) as s:
        principal = acl.find_user(s, login)
    if principal is None:
        raise NotFound(f"no user {login!r}")
    return principal.id


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row(item: TrashEntry, labels: dict[int, str], logins: dict[int, str]) -> dict[str, Any]:
    return {"id": item.id, "space": labels.get(item.space_id, str(item.space_id)),
            "original_path": item.original_path, "folder": item.is_collection,
            "size": item.size, "deleted_by": logins.get(item.deleted_by or -1),
            "deleted_at": _utc(item.deleted_at)}


def _list(store: Store, args: argparse.Namespace) -> int:
    import acl
    from davserver.quota_cli import _space_of
    from providers import trash

    if args.space:
        found = trash.entries(store, _space_of(store, args.space)[0].id)
    elif args.user:
        found = trash.entries(store, deleted_by=_user_id(store, args.user))
    else:
        found = trash.entries(store)
    with store.db.transaction(write=False) as s:
        logins = acl.logins_of(s, {i.deleted_by for i in found if i.deleted_by is not None})
    rows = [_row(i, _space_labels(store), logins) for i in found]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(f"{'id':>6}  {'deleted at (UTC)':<20}  {'by':<14} {'size':>11}  space / original path")
    for r in rows:
        kind = "/" if r["folder"] else ""
        print(f"{r['id']:>6}  {r['deleted_at']:<20}  {r['deleted_by'] or '?':<14} "
              f"{r['size']:>11}  {r['space']} {r['original_path']}{kind}")
    return 0


def _restore(store: Store, args: argparse.Namespace) -> int:
    from davserver.quota_cli import _space_of
    from providers import trash

    item = trash.entry(store, args.id)
    if item is None:
        raise NotFound(f"no item {args.id} in the trash (see davserver trash list)")
    space_id, path = item.space_id, item.original_path
    if args.to:
        target, sep, rest = args.to.partition(":/")
        if args.to.startswith("/"):
            path = args.to
        elif sep:
            space_id, path = _space_of(store, target)[0].id, "/" + rest
        else:
            raise BadRequest(f"--to {args.to!r}: give /PATH, LOGIN:/PATH or rubric:SLUG:/PATH")
    node = trash.restore(store, item.id, space_id, path.rstrip("/"))
    where = _space_labels(store).get(space_id, space_id)
    print(f"restored {item.id} to {where} {node.written_path}")
    return 0


def _purge(store: Store, days: float) -> int:
    from providers import trash

    gone = trash.purge_older(store, clock.time() - days * DAY)
    print(f"purged {len(gone)} item(s) deleted more than {days:g} day(s) ago, "
          f"{sum(i.size for i in gone)} bytes freed")
    return 0
