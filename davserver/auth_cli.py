"""``davserver auth throttle list|reset``: the sign-in throttle, for IT staff.

Forms::

    davserver auth throttle list [LOGIN] [--json]
    davserver auth throttle reset LOGIN [--address ADDRESS]

``list`` shows each login and client address with consecutive failed sign-ins, how
many, the last one and, while it lasts, until when it is refused (UTC). ``reset``
forgets them (all of LOGIN's addresses, or one), so that a teacher locked out by a
pupil's typing signs in at once; it is journaled. Exit status 1 when there was
nothing to reset.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import acl
from davserver import clock, journal
from davserver.config import Config


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``auth`` command group to the top-level subparsers."""
    auth = sub.add_parser("auth", help="sign-in: the throttle of failed sign-ins"
                          ).add_subparsers(dest="action", required=True)
    throttle = auth.add_parser("throttle", help="failed sign-ins per login and address"
                               ).add_subparsers(dest="throttle_action", required=True)
    listing = throttle.add_parser("list", help="logins and addresses with failures",
                                  parents=[common])
    listing.add_argument("login", nargs="?", metavar="LOGIN", help="this login only")
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    reset = throttle.add_parser("reset", help="forget a login's failures",
                                parents=[common])
    reset.add_argument("login", metavar="LOGIN")
    reset.add_argument("--address", help="from this client address only")


def _utc(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def cmd_auth(config: Config, args: argparse.Namespace) -> int:
    """Run one ``auth throttle`` action; returns the exit status."""
    from davserver.cli import open_database

    db = open_database(config)
    try:
        if args.throttle_action == "list":
            with db.transaction(write=False) as s:
                rows = acl.throttles(s, args.login)
            _print(rows, args.json)
            return 0
        with db.transaction() as s:
            count = acl.reset_throttle(s, args.login, args.address)
            if count:
                journal.record(s, journal.Kind.user_changed, target=args.login,
                               details={"action": "throttle reset",
                                        "address": args.address or "all"})
        where = f" from {args.address}" if args.address else ""
        if not count:
            print(f"no failed sign-ins recorded for {args.login}{where}")
            return 1
        print(f"reset {count} throttle row(s) of {args.login}{where}")
        return 0
    finally:
        db.dispose()


def _print(rows: list[acl.ThrottleInfo], as_json: bool) -> None:
    now = clock.time()
    if as_json:
        print(json.dumps([{"login": r.login, "address": r.address, "failures": r.failures,
                           "last_failure": _utc(r.last_failure),
                           "refused_until": _utc(r.blocked_until)
                           if r.blocked_until and r.blocked_until > now else None}
                          for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        print("no failed sign-ins recorded")
        return
    print("login\taddress\tfailures\tlast failure\trefused until")
    for r in rows:
        refused = _utc(r.blocked_until) if r.blocked_until and r.blocked_until > now \
            else "-"
        print(f"{r.login}\t{r.address}\t{r.failures}\t{_utc(r.last_failure)}\t{refused}")
