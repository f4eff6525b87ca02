"""``davserver notifications send``: send the e-mails of notifications that are due,
once, then exit (for a systemd timer or cron, or when no server runs).

Safe beside running servers: each message is claimed by one sender only
(``web.notifications.outbox``). Exit status: 0 when nothing failed for good, 1 when
some message was marked failed, 2 when ``smtp.enabled`` is false.
"""

from __future__ import annotations

import argparse
import sys

from davserver.config import Config
from davserver.db import Database


def cmd_notifications(config: Config, args: argparse.Namespace) -> int:
    """Run one ``notifications`` action; returns the exit status."""
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
