"""``davserver app-password add|list|revoke``: app passwords for drives and sync
clients, for IT staff helping someone set up a device (:mod:`acl.app_passwords`).

Forms::

    davserver app-password add LOGIN --label NAME [--json]
    davserver app-password list LOGIN [--json]
    davserver app-password revoke LOGIN ID

``add`` prints the new password once, on its own line (or as ``secret`` in JSON):
nothing can show it again. ``list`` shows each one's id, label, creation, last use
(UTC) and last client address, never the secret. ``revoke`` stops it at once in every
server process. Both changes are journaled with the command's system user as actor.
Exit status 1 for an unknown login or id, a bad or duplicate label.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import acl
from davserver.config import Config
from davserver.errors import NotFound


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``app-password`` command group to the top-level subparsers."""
    group = sub.add_parser("app-password", help="passwords for drives and sync clients, "
                           "one per device").add_subparsers(dest="action", required=True)
    add = group.add_parser("add", help="make one (printed once)", parents=[common])
    add.add_argument("login", metavar="LOGIN")
    add.add_argument("--label", required=True, metavar="NAME",
                     help='the device, e.g. "Explorateur au collège"')
    add.add_argument("--json", action="store_true", help="JSON for scripts")
    listing = group.add_parser("list", help="a user's app passwords", parents=[common])
    listing.add_argument("login", metavar="LOGIN")
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    revoke = group.add_parser("revoke", help="stop one at once", parents=[common])
    revoke.add_argument("login", metavar="LOGIN")
    revoke.add_argument("id", type=int, metavar="ID", help="its id, from list")


def _utc(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _user(session: Any, login: str) -> acl.Principal:
    principal = acl.find_user(session, login)
    if principal is None:
        raise NotFound(f"no user {login!r}")
    return principal


def cmd_app_password(config: Config, args: argparse.Namespace) -> int:
    """Run one ``app-password`` action; returns the exit status (errors are
    ``DomainError`` s, which ``davserver.cli`` prints with status 1)."""
    from davserver.cli import open_database

    db = open_database(config)
    try:
        if args.action == "add":
            with db.transaction() as s:
                row, secret = acl.create_app_password(s, _user(s, args.login), args.label)
                info = {"id": row.id, "label": row.label, "secret": secret}
            if args.json:
                print(json.dumps(info, indent=2, ensure_ascii=False))
            else:
                print(f"app password {info['id']} of {args.login} ({info['label']}), "
                      "shown once:")
                print(secret)
            return 0
        if args.action == "list":
            with db.transaction(write=False) as s:
                rows = acl.app_passwords_of(s, _user(s, args.login).id)
            _print(rows, args.json)
            return 0
        with db.transaction() as s:
            gone = acl.revoke_app_password(s, _user(s, args.login).id, args.id)
        print(f"revoked app password {gone.id} of {args.login} ({gone.label})")
        return 0
    finally:
        db.dispose()


def _print(rows: list[acl.AppPasswordInfo], as_json: bool) -> None:
    if as_json:
        print(json.dumps([{"id": r.id, "label": r.label, "created": _utc(r.created),
                           "last_used": _utc(r.last_used), "last_address": r.last_address}
                          for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        print("no app passwords")
        return
    print("id\tlabel\tcreated\tlast used\tlast address")
    for r in rows:
        print(f"{r.id}\t{r.label}\t{_utc(r.created)}\t{_utc(r.last_used) or '-'}\t"
              f"{r.last_address or '-'}")
