"""``davserver uploads list|sweep``: the chunked uploads of the sync apps, for IT staff.

Forms::

    davserver uploads list [--json]
    davserver uploads sweep

``list`` shows every upload in progress (a big file the Nextcloud or ownCloud apps
send in pieces): its owner, how many bytes came of how many, what it holds in the
quota, and when it expires. ``sweep`` cancels those past their expiry (no piece for
``sync.upload_expiry`` seconds) at once: their pieces are deleted and the space they
held is freed. The server does the same by itself every few minutes. Times are
printed in UTC.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import acl
from davserver.config import Config


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``uploads`` command to the top-level subparsers."""
    uploads = sub.add_parser("uploads", help="chunked uploads of the sync apps: list, "
                             "sweep").add_subparsers(dest="action", required=True)
    listing = uploads.add_parser("list", help="uploads in progress", parents=[common])
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    uploads.add_parser("sweep", help="cancel expired uploads now and free their space",
                       parents=[common])


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cmd_uploads(config: Config, args: argparse.Namespace) -> int:
    """Run one ``uploads`` action; returns the exit status."""
    from davserver.app import create_app
    from providers import uploads

    app = create_app(config)
    try:
        if args.action == "sweep":
            gone = uploads.sweep(app.store)
            print(f"{len(gone)} expired upload(s) cancelled, "
                  f"{sum(u.reserved for u in gone)} reserved bytes freed")
            return 0
        found = uploads.all_uploads(app.store)
        received = uploads.chunk_bytes(app.store, (u.id for u in found))
        with app.db.transaction(write=False) as s:
            logins = acl.logins_of(s, {u.owner_id for u in found})
        rows = [{"owner": logins.get(u.owner_id, "?"), "name": u.name,
                 "received": received.get(u.id, 0), "total": u.total,
                 "reserved": u.reserved, "started": _utc(u.created),
                 "expires": _utc(u.expires)} for u in found]
    finally:
        app.close()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(f"{'owner':<16} {'received':>12} {'of':>12} {'reserved':>12}  "
          f"{'expires (UTC)':<20} name")
    for r in rows:
        total = "?" if r["total"] is None else str(r["total"])
        print(f"{r['owner']:<16} {r['received']:>12} {total:>12} {r['reserved']:>12}  "
              f"{r['expires']:<20} {r['name']}")
    return 0
