"""``davserver notifications send`` (one pass over the outbox, for a timer) and the
start-up check of the ``smtp`` section, as real processes."""

from __future__ import annotations

from pathlib import Path

import acl
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
