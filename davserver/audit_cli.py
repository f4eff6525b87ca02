"""``davserver audit``: the security journal, for IT staff and the school's head.

Forms::

    davserver audit [--since DATE] [--until DATE] [--user LOGIN] [--place TEXT]
                    [--kind KIND ...] [--limit N] [--json]
    davserver audit purge [--older-than DAYS]

The first prints events newest first (times in UTC): by or about ``--user`` (who
acted, or whose account or share it was), whose place contains ``--place``, from
``--since`` (included) to ``--until`` (excluded), each ``YYYY-MM-DD`` or an ISO 8601
time (UTC unless it names its offset). ``purge`` deletes events older than
``journal.retention_days`` (or ``--older-than DAYS``), and with them the throttle's
failure counts idle for a day and expired web sessions: run it daily.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import acl
from davserver import clock, journal
from davserver.config import Config
from davserver.errors import BadRequest

DAY = 86400.0  # seconds


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date or time: {text!r} (YYYY-MM-DD or 2026-09-01T08:00)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``audit`` command (and ``audit purge``) to the top-level subparsers."""
    audit = sub.add_parser("audit", help="the security journal: read it, purge it",
                           parents=[common])
    audit.add_argument("--since", type=_when, metavar="DATE")
    audit.add_argument("--until", type=_when, metavar="DATE")
    audit.add_argument("--user", metavar="LOGIN", help="by or about this login")
    audit.add_argument("--place", metavar="TEXT", help="place containing TEXT")
    audit.add_argument("--kind", action="append", default=[],
                       choices=[k.value for k in journal.Kind], help="only this kind "
                       "(repeat for several)")
    audit.add_argument("--limit", type=int, default=1000, metavar="N",
                       help="at most N events (default 1000)")
    audit.add_argument("--json", action="store_true", help="JSON for scripts")
    actions = audit.add_subparsers(dest="action")
    purge = actions.add_parser("purge", help="delete events older than the retention",
                               parents=[common])
    purge.add_argument("--older-than", type=float, metavar="DAYS",
                       help="default: journal.retention_days of the configuration")


def cmd_audit(config: Config, args: argparse.Namespace) -> int:
    """Run ``audit`` or ``audit purge``; returns the exit status."""
    from davserver.cli import open_database

    db = open_database(config)
    try:
        if args.action == "purge":
            return _purge(db, config, args)
        where = journal.EventFilter(since=args.since, until=args.until, person=args.user,
                                    place=args.place, kinds=tuple(args.kind))
        with db.transaction(write=False) as s:
            rows = journal.events(s, where, limit=max(1, args.limit))
        if args.json:
            print(json.dumps([r.as_json() for r in rows], indent=2, ensure_ascii=False))
        else:
            for r in rows:
                print(_line(r))
            if not rows:
                print("no events")
        return 0
    finally:
        db.dispose()


def _line(r: journal.EventRow) -> str:
    parts = [r.at.strftime("%Y-%m-%d %H:%M:%S"), r.kind, r.outcome,
             r.actor_login or "-", r.address or "-", r.via or "-"]
    if r.target:
        parts.append(f"target={r.target}")
    if r.place:
        parts.append(f"place={r.place}")
    if r.details:
        parts.append(json.dumps(r.details, ensure_ascii=False, sort_keys=True))
    return "\t".join(parts)


def _purge(db: Any, config: Config, args: argparse.Namespace) -> int:
    days = args.older_than if args.older_than is not None \
        else float(config.journal.retention_days)
    if not days >= 0:
        raise BadRequest(f"--older-than must be 0 or more days, not {args.older_than}")
    now = clock.time()
    with db.transaction() as s:
        events = journal.purge(s, clock.now() - timedelta(days=days))
        throttles = acl.forget_stale_throttles(s, now - DAY)
        sessions = acl.purge_expired_sessions(s, now)
    print(f"purged {events} journal event(s) older than {days:g} day(s), "
          f"{throttles} idle throttle row(s), {sessions} expired session(s)")
    return 0
