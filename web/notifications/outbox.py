"""Sending the outbox: e-mail copies of notifications, away from any request.

Every server process runs one :class:`OutboxSender` thread (``davserver serve``), and
``davserver notifications send`` runs :meth:`OutboxSender.flush` once. Several senders
may look at the same outbox: a message is *claimed* by one conditional UPDATE (due,
pending, not claimed by a live sender) that only one of them can win, so it is sent
once. A sender that dies mid-send leaves a claim that lapses after a lease (a few
SMTP timeouts); the message is then tried again (at least once delivery).

A failed attempt is logged and the message retried after ``smtp.retry_delay`` seconds,
then twice as long each time (exponential backoff), until ``smtp.max_attempts``; then
it is marked ``failed``. A message that cannot be written, or a recipient the SMTP
server refuses for good (5xx), fails at once.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from davserver import clock
from davserver.config import SmtpConfig
from davserver.db import Database

from . import mail
from .models import Notification, OutboxMessage, OutboxStatus
from .services import on_mail_queued

log = logging.getLogger(__name__)
BATCH = 100
MAX_BACKOFF = 24 * 3600.0  # seconds: a day between tries at most


@dataclass
class FlushReport:
    """What one pass over the outbox did (message counts)."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _permanent(exc: BaseException) -> bool:
    """Retrying cannot help: a message that cannot be written (``ValueError``, e.g. an
    address with a line break), or every recipient refused with a 5xx code (RFC 5321
    §4.2.1)."""
    if isinstance(exc, ValueError):
        return True
    return isinstance(exc, smtplib.SMTPRecipientsRefused) and bool(exc.recipients) and all(
        500 <= code < 600 for code, _msg in exc.recipients.values())


class OutboxSender:
    """Sends due outbox messages through ``smtp`` (links made absolute with
    ``base_url``). :meth:`flush` for one pass, :meth:`start`/:meth:`stop` for the
    background thread. Thread-safe; several instances, in one process or many, share
    an outbox safely (module docstring)."""

    def __init__(self, db: Database, smtp: SmtpConfig, base_url: str | None) -> None:
        self.db, self.smtp, self.base_url = db, smtp, base_url
        # Long enough for connect, STARTTLS, login and DATA, each up to the timeout.
        self.lease = timedelta(seconds=smtp.timeout * 4 + 30)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._unhook: Callable[[], None] | None = None

    def _due_ids(self, now: datetime) -> list[int]:
        with self.db.transaction(write=False) as s:
            return list(s.scalars(select(OutboxMessage.id).where(self._claimable(now))
                                  .order_by(OutboxMessage.next_attempt, OutboxMessage.id)
                                  .limit(BATCH)))

    @staticmethod
    def _claimable(now: datetime) -> ColumnElement[bool]:
        return and_(OutboxMessage.status == OutboxStatus.pending,
                    OutboxMessage.next_attempt <= now,
                    or_(OutboxMessage.claimed_until.is_(None),
                        OutboxMessage.claimed_until <= now))

    def claim(self, message_id: int, now: datetime) -> str | None:
        """Take the message for this sender (one conditional UPDATE, counting the
        attempt); returns the claim's token, or None when another sender has it or it
        is not due."""
        token = str(uuid.uuid4())
        with self.db.transaction() as s:
            result = s.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id,
                                            self._claimable(now))
                .values(claim_token=token, claimed_until=now + self.lease,
                        attempts=OutboxMessage.attempts + 1)
                .execution_options(synchronize_session=False))
        return token if getattr(result, "rowcount", 0) == 1 else None

    def _finish(self, message_id: int, token: str, **values: object) -> None:
        with self.db.transaction() as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                                  OutboxMessage.claim_token == token)
                      .values(claim_token=None, claimed_until=None, **values)
                      .execution_options(synchronize_session=False))

    def deliver(self, message_id: int) -> OutboxStatus | None:
        """Claim, send and record one message; returns its new status (``pending``: to
        be retried), or None when it was not ours to send."""
        token = self.claim(message_id, clock.now())
        if token is None:
            return None
        with self.db.transaction(write=False) as s:
            row = s.get_one(OutboxMessage, message_id)
            note = s.get_one(Notification, row.notification_id)
            to_address, attempts = row.to_address, row.attempts
        try:
            msg = mail.compose(note, to_address, self.smtp.from_address or "",
                               self.base_url)
            mail.send(msg, self.smtp)
        except (OSError, ValueError) as exc:  # smtplib.SMTPException is an OSError
            return self._failed(message_id, token, attempts, exc)
        self._finish(message_id, token, status=OutboxStatus.sent, last_error="",
                     sent_at=clock.now())
        log.info("notification e-mail #%d sent to %s", message_id, to_address)
        return OutboxStatus.sent

    def _failed(self, message_id: int, token: str, attempts: int,
                exc: BaseException) -> OutboxStatus:
        error = f"{type(exc).__name__}: {exc}"[:500]
        if attempts >= self.smtp.max_attempts or _permanent(exc):
            log.error("notification e-mail #%d failed for good after %d attempt(s): %s",
                      message_id, attempts, error)
            self._finish(message_id, token, status=OutboxStatus.failed, last_error=error)
            return OutboxStatus.failed
        delay = min(self.smtp.retry_delay * 2 ** (attempts - 1), MAX_BACKOFF)
        log.warning("notification e-mail #%d: attempt %d failed (%s); next in %.1f s",
                    message_id, attempts, error, delay)
        self._finish(message_id, token, last_error=error,
                     next_attempt=clock.now() + timedelta(seconds=delay))
        return OutboxStatus.pending

    def flush(self) -> FlushReport:
        """One pass: try every message due now, once each (up to 100)."""
        report = FlushReport()
        for message_id in self._due_ids(clock.now()):
            status = self.deliver(message_id)
            if status == OutboxStatus.sent:
                report.sent += 1
            elif status == OutboxStatus.failed:
                report.failed += 1
            elif status == OutboxStatus.pending:
                report.retrying += 1
        return report

    def _seconds_to_next(self) -> float:
        with self.db.transaction(write=False) as s:
            due = s.scalar(select(func.min(OutboxMessage.next_attempt)).where(
                OutboxMessage.status == OutboxStatus.pending))
        poll = self.smtp.poll_interval
        if due is None:
            return poll
        if due.tzinfo is None:  # min() skips the column type's result processing
            due = due.replace(tzinfo=UTC)
        return max(0.0, min(poll, (due - clock.now()).total_seconds()))

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.smtp.poll_interval
            try:
                report = self.flush()
                wait = 0.0 if report.sent + report.retrying + report.failed >= BATCH \
                    else self._seconds_to_next()
            except Exception:  # the database away for a moment: log, try again later
                log.exception("notification sender: pass failed")
            self._wake.wait(wait)
            self._wake.clear()

    def start(self) -> None:
        """Start the background thread (a daemon: it never holds the process up)."""
        if self._thread is not None:
            return
        self._unhook = on_mail_queued(self._wake.set)
        self._thread = threading.Thread(target=self._run, name="notification-sender",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait up to ``timeout`` seconds (a send in
        progress is not cut; its claim lapses if the process exits first)."""
        if self._unhook is not None:
            self._unhook()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
