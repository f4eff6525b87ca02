"""``davserver notifications send``: send the e-mails of notifications that are due,
once, then exit (for a systemd timer or cron, or when no server runs).
``davserver notifications purge [--older-than DAYS] [--unread-too]``: delete the
notifications read (or, with ``--unread-too``, all) created more than DAYS days ago
(default 180), with their e-mail copies; copies still waiting to be sent stay.

Safe beside running servers: each message is claimed by one sender only
(``web.notifications.outbox``). Exit status of ``send``: 0 when nothing failed for
good, 1 when some message was marked failed, 2 when ``smtp.enabled`` is false;
``purge``: 0, or 2 for a negative DAYS.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from davserver import clock
from davserver.config import Config
from davserver.db import Database


def cmd_notifications(config: Config, args: argparse.Namespace) -> int:
    """Run one ``notifications`` action; returns the exit status."""
    if args.action == "purge":
        return _purge(config, args.older_than, args.unread_too)
    from web.notifications import OutboxSender  # heavy (Flask): only when it runs

    if not config.smtp.enabled:
        print("davserver: e-mail is off (smtp.enabled: false in "
              f"{config.source}): nothing to send", file=sys.stderr)
        return 2
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.effective_database_url)
    try:
        db.create_schema()
        report = OutboxSender(db, config.smtp, config.web.base_url).flush()
    finally:
        db.dispose()
    print(f"notifications: {report.sent} sent, {report.retrying} to retry later, "
          f"{report.failed} failed")
    return 1 if report.failed else 0


def _purge(config: Config, days: int, unread_too: bool) -> int:
    from web.notifications import purge_old

    if days < 0:
        print(f"davserver: --older-than must be 0 or more days, not {days}", file=sys.stderr)
        return 2
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.effective_database_url)
    try:
        db.create_schema()
        with db.transaction() as s:
            gone, copies = purge_old(s, clock.now() - timedelta(days=days),
                                     unread_too=unread_too)
    finally:
        db.dispose()
    print(f"notifications: {gone} deleted, with {copies} e-mail copies")
    return 0
