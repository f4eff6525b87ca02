"""``davserver notifications send`` (one pass over the outbox, for a timer) and the
start-up check of the ``smtp`` section, as real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

import acl
from davserver import clock
from tests.conftest import drop_database, make_server
from tests.integration.test_notifications_web import smtp_env
from tests.integration.test_web_config import serve_error
from tests.smtp import SmtpSink
from web import notifications


def test_send_command_flushes_the_outbox_once(tmp_path: Path) -> None:
    with SmtpSink() as sink:
        srv, dbname = make_server(tmp_path, smtp_env(sink.port))
        try:
            with srv.transaction() as s:  # create_app read smtp.enabled: mail is queued
                ann = acl.create_user(s, "ann", "secret-password-1", "teacher",
                                      email="ann@example.fr")
                notifications.notify(s, ann.id, notifications.NotificationKind.quota_warning,
                                     "Porte-documents plein à 90 %", link="/documents/")
            first = srv.cli("notifications", "send")
            assert first.stdout.strip() == "notifications: 1 sent, 0 to retry later, 0 failed"
            assert [r.rcpt_tos for r in sink.received] == [["ann@example.fr"]]
            assert "https://ent.example.fr/documents/" in sink.received[0].message.get_content()
            again = srv.cli("notifications", "send")
            assert again.stdout.startswith("notifications: 0 sent")
            srv.env["DAVSERVER_SMTP__ENABLED"] = "false"
            off = srv.cli("notifications", "send", check=False)
            assert off.returncode == 2 and "smtp.enabled: false" in off.stderr
        finally:
            drop_database(dbname)
        assert len(sink.received) == 1


def test_a_bad_smtp_port_stops_the_server_naming_the_key(tmp_path: Path) -> None:
    done = serve_error(tmp_path, {"DAVSERVER_SMTP__PORT": "70000"})
    assert done.returncode == 2
    assert "DAVSERVER_SMTP__PORT: smtp.port: Input should be less than or equal to 65535" \
        in done.stderr


@pytest.mark.time_sensitive
def test_purge_deletes_old_read_notifications_and_keeps_the_rest(tmp_path: Path) -> None:
    """``notifications purge``: read and older than the cut-off: gone with its e-mail
    copy; unread, recent, or with a copy still to send: kept (``--unread-too`` takes
    the unread old ones as well)."""
    from datetime import timedelta

    from sqlalchemy import func, select

    srv, dbname = make_server(tmp_path)
    old = clock.now() - timedelta(days=200)
    kind = notifications.NotificationKind.quota_warning
    try:
        with srv.transaction() as s:
            ann = acl.create_user(s, "ann", "secret-password-1", "teacher")
            made = {name: notifications.Notification(
                user_id=ann.id, kind=kind, subject=name,
                created=old if name.startswith("old") else clock.now(),
                read_at=None if name == "old-unread" else clock.now())
                for name in ("old-read", "old-unread", "old-read-mail-waiting", "new-read")}
            s.add_all(made.values())
            s.flush()
            s.add(notifications.OutboxMessage(notification_id=made["old-read"].id,
                                              to_address="a@example.fr",
                                              status=notifications.OutboxStatus.sent))
            s.add(notifications.OutboxMessage(notification_id=made["old-read-mail-waiting"].id,
                                              to_address="a@example.fr"))

        def left() -> list[str]:
            with srv.transaction() as s:
                return sorted(s.scalars(select(notifications.Notification.subject)))

        done = srv.cli("notifications", "purge")
        assert done.stdout.strip() == "notifications: 1 deleted, with 1 e-mail copies"
        assert left() == ["new-read", "old-read-mail-waiting", "old-unread"]
        with srv.transaction() as s:
            assert s.scalar(select(func.count(notifications.OutboxMessage.id))) == 1
        assert srv.cli("notifications", "purge", "--older-than", "-1",
                       check=False).returncode == 2
        srv.cli("notifications", "purge", "--unread-too")
        assert left() == ["new-read", "old-read-mail-waiting"]
    finally:
        drop_database(dbname)
