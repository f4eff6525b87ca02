"""``davserver versions list|restore|purge``: earlier versions of files (issue 23).

Forms::

    davserver versions list LOGIN|rubric:SLUG PATH [--json]
    davserver versions restore LOGIN|rubric:SLUG PATH VERSION_ID
    davserver versions purge [--older-than DAYS]

``list`` shows the versions of the file at PATH in LOGIN's porte-documents or in a
rubric's shared folders, newest first (id, when it was made, by whom, size, ETag);
``restore`` makes version VERSION_ID (an id ``list`` shows) the file's content again,
the current content becoming a version; ``purge`` thins every file's versions by the
rule (``providers/versions.py``) and, with ``--older-than DAYS``, purges the versions
made more than DAYS days ago. Times are printed in UTC.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from davserver import clock
from davserver.config import Config
from davserver.errors import DomainError, NotFound

if TYPE_CHECKING:
    from providers import NodeInfo, Store

DAY = 86400  # seconds


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``versions`` command to the top-level subparsers."""
    versions = sub.add_parser("versions", help="earlier versions of files: list, restore, "
                              "purge").add_subparsers(dest="action", required=True)
    listing = versions.add_parser("list", help="list a file's versions", parents=[common])
    listing.add_argument("space", metavar="LOGIN|rubric:SLUG")
    listing.add_argument("path", metavar="PATH", help="the file's path in that space")
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    restore = versions.add_parser("restore", help="make a version the file's content again",
                                  parents=[common])
    restore.add_argument("space", metavar="LOGIN|rubric:SLUG")
    restore.add_argument("path", metavar="PATH")
    restore.add_argument("version", type=int, metavar="VERSION_ID")
    purge = versions.add_parser("purge", help="thin every file's versions, purge old ones",
                                parents=[common])
    purge.add_argument("--older-than", type=float, metavar="DAYS",
                       help="also purge versions made more than DAYS days ago")


def cmd_versions(config: Config, args: argparse.Namespace) -> int:
    """Run one ``versions`` action; returns the exit status."""
    from davserver.app import create_app

    app = create_app(config)
    try:
        if args.action == "list":
            return _list(app.store, args)
        if args.action == "restore":
            return _restore(app.store, args)
        days = args.older_than
        if days is not None and (days < 0 or days != days):
            raise DomainError(f"--older-than must be 0 or more days, not {days}")
        return _purge(app.store, days)
    finally:
        app.close()


def _file(store: Store, target: str, path: str) -> NodeInfo:
    from davserver.quota_cli import _space_of

    space = _space_of(store, target)[0]
    node = store.resolve(space.id, "/" + path.strip("/"))
    if node is None or node.is_collection:
        raise NotFound(f"no file {path!r} in {target}")
    return node


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _list(store: Store, args: argparse.Namespace) -> int:
    import acl
    from providers import versions

    node = _file(store, args.space, args.path)
    found = versions.versions_of(store, node.id)
    with store.db.transaction(write=False) as s:
        logins = acl.logins_of(s, {v.made_by for v in found if v.made_by is not None})
    rows = [{"id": v.id, "made_at": _utc(v.made_at), "made_by": logins.get(v.made_by or -1),
             "size": v.size, "etag": v.etag, "modified": _utc(v.modified)} for v in found]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(f"{'id':>6}  {'made at (UTC)':<20}  {'by':<14} {'size':>11}  etag")
    for r in rows:
        print(f"{r['id']:>6}  {r['made_at']:<20}  {r['made_by'] or '-':<14} "
              f"{r['size']:>11}  {r['etag']}")
    return 0


def _restore(store: Store, args: argparse.Namespace) -> int:
    from providers import versions

    node = _file(store, args.space, args.path)
    found = versions.version(store, args.version)
    if found is None or found.node_id != node.id:
        raise NotFound(f"no version {args.version} of {args.path!r} (see davserver "
                       "versions list)")
    restored = versions.restore(store, found.id, made_by=None)
    print(f"restored version {found.id} of {args.space} {restored.written_path} "
          f"({restored.size} bytes); the replaced content is a version in its turn")
    return 0


def _purge(store: Store, days: float | None) -> int:
    from providers import versions

    cutoff = None if days is None else clock.time() - days * DAY
    count, freed = versions.purge(store, older_than=cutoff)
    print(f"purged {count} version(s), {freed} bytes freed")
    return 0
