"""Notifications (issue 7) on a real database: what notify() records and queues, the
reading side, and the outbox sender against a real SMTP server (aiosmtpd): one send
per message whatever the number of senders, backoff, failure for good. Configuration
of the ``smtp`` section."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

import acl
from davserver import clock
from davserver.config import ConfigError, SmtpConfig, load_config
from davserver.db import Database
from davserver.errors import NotFound
from tests.smtp import SmtpSink, free_port
from web import notifications
from web.notifications import (
    Notification,
    NotificationKind,
    OutboxMessage,
    OutboxSender,
    OutboxStatus,
    notify,
    notify_many,
)

KIND = NotificationKind.booking_refused


@pytest.fixture
def people(db: Database, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Ids of ``ann`` (address), ``ben`` (address, e-mails unticked), ``cat`` (none)."""
    monkeypatch.setattr(acl.people, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    with db.transaction() as s:
        school = acl.ensure_school(s, "Collège Test")
        ids = {login: acl.create_user(s, login, "secret-password-1", "teacher",
                                      email=email, school_id=school).id
               for login, email in (("ann", "ann@example.fr"), ("ben", "ben@example.fr"),
                                    ("cat", None))}
        notifications.set_wants_email(s, ids["ben"], False)
    return ids


@pytest.fixture
def mail_on() -> Iterator[None]:
    notifications.enable_mail(True)
    yield
    notifications.enable_mail(False)


def outbox(db: Database) -> list[OutboxMessage]:
    with db.transaction(write=False) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def smtp(port: int, **kw: object) -> SmtpConfig:
    return SmtpConfig.model_validate({"enabled": True, "host": "127.0.0.1", "port": port,
                                      "security": "none", "from_address": "ent@example.fr",
                                      "timeout": 5, **kw})


def test_notify_records_and_queues_mail_only_for_who_wants_it(
        db: Database, people: dict[str, int], mail_on: None) -> None:
    with db.transaction() as s:
        notify_many(s, [people["ann"], people["ben"], people["cat"], people["ann"]], KIND,
                    "Réservation\nrefusée", "Motif : examens", "/booking/mes-reservations")
    with db.transaction(write=False) as s:
        notes = {n.user_id: n for n in s.scalars(select(Notification))}
        assert set(notes) == set(people.values())  # ann once, although listed twice
        assert notes[people["ann"]].subject == "Réservation refusée"  # one header line
        assert notes[people["ann"]].school_id is not None
        assert notifications.unread_count(s, people["cat"]) == 1
    queued = outbox(db)
    assert [(m.to_address, m.notification_id) for m in queued] == [
        ("ann@example.fr", notes[people["ann"]].id)]


def test_no_mail_queued_while_smtp_is_off(db: Database, people: dict[str, int]) -> None:
    with db.transaction() as s:
        notify(s, people["ann"], KIND, "Sujet")
    assert outbox(db) == []


def test_a_rolled_back_action_leaves_no_notification(
        db: Database, people: dict[str, int], mail_on: None) -> None:
    with pytest.raises(RuntimeError), db.transaction() as s:
        notify(s, people["ann"], KIND, "Sujet")
        raise RuntimeError("the action failed after notifying")
    with db.transaction(write=False) as s:
        assert notifications.unread_count(s, people["ann"]) == 0
    assert outbox(db) == []


@pytest.mark.parametrize("link", ["https://evil.example/x", "//evil.example/x", "relatif",
                                  "/a\\b", "/a b", "javascript:alert(1)"])
def test_a_link_must_be_a_path_on_this_site(db: Database, people: dict[str, int],
                                            link: str) -> None:
    with pytest.raises(ValueError, match="path on this site"), db.transaction() as s:
        notify(s, people["ann"], KIND, "Sujet", link=link)


def test_bad_recipient_or_subject(db: Database, people: dict[str, int]) -> None:
    with pytest.raises(NotFound), db.transaction() as s:
        notify(s, 999_999, KIND, "Sujet")
    with pytest.raises(ValueError, match="subject"), db.transaction() as s:
        notify(s, people["ann"], KIND, "  \n ")


def test_mark_read_is_per_user(db: Database, people: dict[str, int]) -> None:
    with db.transaction() as s:
        notify_many(s, [people["ann"], people["ben"]], KIND, "Sujet")
        notify(s, people["ann"], KIND, "Autre")
    with db.transaction() as s:
        first, *_ = notifications.notifications_of(s, people["ann"])
        assert first.subject == "Autre"  # newest first
        with pytest.raises(NotFound):
            notifications.mark_read(s, people["ben"], first.id)
        notifications.mark_read(s, people["ann"], first.id)
        assert notifications.unread_count(s, people["ann"]) == 1
        assert notifications.mark_all_read(s, people["ann"]) == 1
        assert notifications.unread_count(s, people["ann"]) == 0
        assert notifications.unread_count(s, people["ben"]) == 1


def _queue(db: Database, user_id: int, count: int) -> None:
    with db.transaction() as s:
        for i in range(count):
            notify(s, user_id, KIND, f"Message {i}", "Corps", "/notifications/")


def test_senders_racing_send_each_message_once(db: Database, people: dict[str, int],
                                               mail_on: None) -> None:
    _queue(db, people["ann"], 12)
    with SmtpSink() as sink:
        senders = [OutboxSender(db, smtp(sink.port), "https://ent.example.fr")
                   for _ in range(4)]
        barrier = threading.Barrier(len(senders))

        def run(sender: OutboxSender) -> None:
            barrier.wait()
            sender.flush()

        threads = [threading.Thread(target=run, args=(x,)) for x in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        subjects = sorted(r.message["Subject"] for r in sink.received)
    assert subjects == sorted(f"[ENT] Message {i}" for i in range(12))
    assert {m.status for m in outbox(db)} == {OutboxStatus.sent}
    body = sink.received[0].message.get_content()
    assert "https://ent.example.fr/notifications/" in body
    assert sink.received[0].message["To"] == "ann@example.fr"


def test_a_claimed_message_is_not_claimed_twice(db: Database, people: dict[str, int],
                                                mail_on: None) -> None:
    _queue(db, people["ann"], 1)
    (message,) = outbox(db)
    sender = OutboxSender(db, smtp(free_port()), None)
    now = clock.now()
    assert sender.claim(message.id, now) is not None
    assert sender.claim(message.id, now) is None
    assert OutboxSender(db, smtp(free_port()), None).claim(message.id, now) is None
    # A sender that died: once its lease lapsed, another may take the message.
    assert sender.claim(message.id, now + sender.lease + timedelta(seconds=1)) is not None


def test_backoff_doubles_then_the_message_fails_for_good(
        db: Database, people: dict[str, int], mail_on: None) -> None:
    _queue(db, people["ann"], 1)
    (message,) = outbox(db)
    sender = OutboxSender(db, smtp(free_port(), max_attempts=3, retry_delay=10), None)
    for attempt, expected_delay in ((1, 10), (2, 20)):
        before = clock.now()
        assert sender.deliver(message.id) == OutboxStatus.pending  # nothing listens
        (row,) = outbox(db)
        assert row.attempts == attempt and "Connection refused" in row.last_error
        delay = (row.next_attempt - before).total_seconds()
        assert expected_delay <= delay < expected_delay + 5
        assert sender.deliver(message.id) is None  # not due yet
        with db.transaction() as s:  # let the time pass
            s.execute(update(OutboxMessage).values(next_attempt=clock.now()))
    assert sender.deliver(message.id) == OutboxStatus.failed
    (row,) = outbox(db)
    assert row.status == OutboxStatus.failed and row.attempts == 3


@pytest.mark.parametrize("address", ["refused@example.fr", "line\nbreak@example.fr"])
def test_a_message_that_cannot_be_delivered_fails_at_once(
        db: Database, people: dict[str, int], mail_on: None, address: str) -> None:
    with db.transaction() as s:
        s.get_one(acl.User, people["ann"]).email = address
    _queue(db, people["ann"], 1)
    (message,) = outbox(db)
    with SmtpSink() as sink:
        report = OutboxSender(db, smtp(sink.port), None).flush()
    assert (report.sent, report.retrying, report.failed) == (0, 0, 1)
    (row,) = outbox(db)
    assert row.status == OutboxStatus.failed and row.attempts == 1, row.last_error
    assert sink.received == []


def test_smtp_configuration_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"smtp\.port"):
        load_config(environ={"DAVSERVER_SMTP__PORT": "99999"})
    with pytest.raises(ConfigError, match=r"smtp\.security"):
        load_config(environ={"DAVSERVER_SMTP__SECURITY": "ssl"})
    with pytest.raises(ConfigError, match=r"smtp\.from_address: .*required"):
        load_config(environ={"DAVSERVER_SMTP__ENABLED": "true"})
    with pytest.raises(ConfigError, match=r"web\.base_url"):
        load_config(environ={"DAVSERVER_WEB__BASE_URL": "ent.example.fr"})
    good = load_config(environ={"DAVSERVER_SMTP__ENABLED": "true",
                                "DAVSERVER_SMTP__FROM_ADDRESS": "ent@example.fr",
                                "DAVSERVER_WEB__BASE_URL": "https://ent.example.fr/"})
    assert good.smtp.enabled and good.web.base_url == "https://ent.example.fr"
