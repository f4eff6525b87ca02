"""Notifications (issue 7) against a real server process: booking decisions and rubric
invitations notify, the header count and the list follow, marking read is per user and
CSRF-protected, and e-mail copies reach a real SMTP server (aiosmtpd) through the
server's background sender, even one that was down when the action happened.
A Playwright check in Chromium watches the header count."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import time as time_of_day
from datetime import timedelta

import pytest
from lxml import html
from playwright.sync_api import Browser, expect
from sqlalchemy import select

import acl
from davserver import clock
from tests.conftest import PASSWORD, Server, running_server, wait_until
from tests.integration.test_web_auth import assert_french
from tests.integration.test_web_browser import browser, sign_in
from tests.smtp import SilentListener, SmtpSink, free_port
from tests.web import WebClient, browser_context, csrf_token
from web import booking
from web.notifications import Notification, NotificationKind, OutboxMessage, OutboxStatus

__all__ = ["browser"]  # the Chromium fixture, shared with the sign-in tests

USERS = {"ann": "teacher", "bea": "teacher", "eve": "teacher", "gest": "staff"}
ADDRESSES = {"ann": "ann@example.fr", "bea": "bea@example.fr", "gest": "gest@example.fr"}
MINE = "/booking/mes-reservations"


def smtp_env(port: int, timeout: float = 5) -> dict[str, str]:
    return {"DAVSERVER_SMTP__ENABLED": "true", "DAVSERVER_SMTP__HOST": "127.0.0.1",
            "DAVSERVER_SMTP__PORT": str(port), "DAVSERVER_SMTP__SECURITY": "none",
            "DAVSERVER_SMTP__FROM_ADDRESS": "ent@example.fr",
            "DAVSERVER_SMTP__TIMEOUT": str(timeout), "DAVSERVER_SMTP__RETRY_DELAY": "0.5",
            "DAVSERVER_SMTP__POLL_INTERVAL": "1",
            "DAVSERVER_WEB__BASE_URL": "https://ent.example.fr"}


def set_up_school(srv: Server, logins: dict[str, str]) -> int:
    """The users (login → profile; addresses from ``ADDRESSES``), in one transaction
    rather than a command each; a domain managed by ``gest`` and a room that needs
    validation. Returns the room's id."""
    with srv.transaction() as s:
        school = acl.ensure_school(s, "Collège Jean Moulin")
        for login, profile in logins.items():
            acl.create_user(s, login, PASSWORD, profile, email=ADDRESSES.get(login),
                            school_id=school)
            srv.users[login] = PASSWORD
        users = {u.login: u for u in s.scalars(select(acl.User))}
        domain = booking.ResourceDomain(school_id=school, name="Salles", opens=time_of_day(8),
                                        closes=time_of_day(18), weekdays="01234")
        domain.profiles.append(booking.DomainProfile(profile=acl.Profile.teacher))
        domain.managers.append(users["gest"])
        s.add(domain)
        s.flush()
        room = booking.Resource(domain_id=domain.id, kind=booking.ResourceKind.place,
                                name="Salle de réunion", quantity=1, needs_validation=True)
        s.add(room)
        s.flush()
        return room.id


def pending_request(srv: Server, room: int, login: str, days: int = 20) -> int:
    """A pending booking of ``room`` by ``login`` (id), as the booking form makes."""
    with srv.transaction() as s:
        user = acl.find_user(s, login)
        assert user is not None
        start = clock.now().replace(hour=9, minute=0, second=0, microsecond=0) \
            + timedelta(days=days)
        row = booking.Booking(resource_id=room, booked_by=user.id, start=start,
                              end=start + timedelta(hours=1),
                              status=booking.BookingStatus.pending)
        s.add(row)
        s.flush()
        return row.id


def signed_in(srv: Server, login: str) -> WebClient:
    client = WebClient(srv)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def refuse(manager: WebClient, booking_id: int, reason: str) -> None:
    queue = manager.get("/booking/validation")
    answer = manager.post(f"/booking/reservations/{booking_id}/refuser",
                          {"csrf_token": csrf_token(queue.text), "reason": reason})
    assert answer.status_code == 303, answer.text


def header_count(client: WebClient) -> int:
    badge = html.fromstring(client.get("/booking/").text).xpath(
        'string(//a[@class="notifications-link"]/span[contains(@class, "notification-count")])')
    return int(badge or 0)


def listed(client: WebClient) -> list[html.HtmlElement]:
    page = client.get("/notifications/")
    assert page.status_code == 200
    return html.fromstring(page.text).xpath("//li[@data-notification]")


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("notifications"),
                        smtp_env(sink.port)) as server:
        server.room = set_up_school(server, USERS)  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def gest(srv: Server) -> WebClient:
    return signed_in(srv, "gest")


@pytest.mark.time_sensitive
def test_a_refusal_is_listed_counted_and_mailed(srv: Server, sink: SmtpSink,
                                                gest: WebClient) -> None:
    ann = signed_in(srv, "ann")
    before = header_count(ann)
    refuse(gest, pending_request(srv, srv.room, "ann"), "Conseil de classe")  # type: ignore[attr-defined]
    assert header_count(ann) == before + 1
    newest = listed(ann)[0]
    assert newest.get("class") == "unread"
    assert newest.get("data-kind") == NotificationKind.booking_refused.value
    assert "Réservation refusée : Salle de réunion" in newest.text_content()
    assert "Motif : Conseil de classe" in newest.text_content()
    assert wait_until(lambda: sink.to("ann@example.fr"), timeout=15)
    (mail,) = sink.to("ann@example.fr")
    assert mail.mail_from == "ent@example.fr"
    assert mail.message["Subject"].startswith("[ENT] Réservation refusée : Salle de réunion")
    body = mail.message.get_content()
    assert "Motif : Conseil de classe" in body
    assert f"https://ent.example.fr{MINE}" in body


@pytest.mark.time_sensitive
def test_unticked_preference_means_no_mail_but_the_notification(
        srv: Server, sink: SmtpSink, gest: WebClient) -> None:
    bea = signed_in(srv, "bea")
    page = bea.get("/notifications/preferences")
    assert_french(page.text)
    assert html.fromstring(page.text).xpath('//input[@name="email"]/@checked')
    assert "Recevoir les notifications" in page.text
    saved = bea.post("/notifications/preferences", {"csrf_token": csrf_token(page.text)})
    assert saved.status_code == 303
    page = bea.get("/notifications/preferences")
    assert not html.fromstring(page.text).xpath('//input[@name="email"]/@checked')
    validated = pending_request(srv, srv.room, "bea", days=21)  # type: ignore[attr-defined]
    queue = gest.get("/booking/validation")
    assert gest.post("/booking/validation", {"csrf_token": csrf_token(queue.text),
                                             "ids": str(validated)}).status_code == 303
    (note,) = listed(bea)
    assert note.get("data-kind") == NotificationKind.booking_validated.value
    with srv.transaction() as s:
        assert s.scalars(select(OutboxMessage).where(
            OutboxMessage.to_address == "bea@example.fr")).all() == []
    assert sink.to("bea@example.fr") == []


@pytest.mark.time_sensitive
def test_marking_read_one_all_and_only_ones_own(srv: Server, gest: WebClient) -> None:
    eve = signed_in(srv, "eve")  # no address: notifications only
    for days in (22, 23, 24):
        refuse(gest, pending_request(srv, srv.room, "eve", days), "Travaux")  # type: ignore[attr-defined]
    assert header_count(eve) == 3
    first, second, _third = (int(li.get("data-notification")) for li in listed(eve))
    token = csrf_token(eve.get("/notifications/").text)
    assert eve.post(f"/notifications/{first}/lue", {}).status_code == 403  # no CSRF token
    assert header_count(eve) == 3
    ann = signed_in(srv, "ann")
    ann_token = csrf_token(ann.get("/notifications/").text)
    for action in ("lue", "ouvrir"):
        refused = ann.post(f"/notifications/{first}/{action}", {"csrf_token": ann_token})
        assert refused.status_code == 404
    assert header_count(eve) == 3
    assert eve.post(f"/notifications/{first}/lue", {"csrf_token": token}).status_code == 303
    assert header_count(eve) == 2
    opened = eve.post(f"/notifications/{second}/ouvrir", {"csrf_token": token})
    assert opened.status_code == 303 and opened.headers["Location"] == MINE
    assert header_count(eve) == 1
    assert eve.post("/notifications/tout-lu", {"csrf_token": token}).status_code == 303
    assert header_count(eve) == 0
    assert [li.get("class") for li in listed(eve)] == ["read"] * 3
    assert_french(eve.get("/notifications/").text)
    assert eve.post("/notifications/999999/lue", {"csrf_token": token}).status_code == 404


def test_invitations_from_the_page_and_the_cli_notify(srv: Server) -> None:
    with srv.transaction() as s:
        for slug, name in (("club", "Club théâtre"), ("chorale", "Chorale")):
            acl.add_rubric(s, slug, name)
            acl.grant(s, slug, "manager", user="ann")
    ann = signed_in(srv, "ann")
    manage = ann.get("/rubriques/club/gestion/invitations")  # the Invitations tab
    form = html.fromstring(manage.text).xpath(
        '//form[@action="/rubriques/club/gestion/invitations"]')[0]
    token = form.xpath('.//input[contains(@name, "csrf_token")]')[0]
    answer = ann.post("/rubriques/club/gestion/invitations",
                      {token.get("name"): token.get("value"), "invite-role": "writer",
                       "invite-login": "gest"})
    assert answer.status_code == 303, answer.text
    srv.cli("rubric", "invite", "chorale", "visitor", "gest", "--by", "ann")
    with srv.transaction() as s:
        gest_id = acl.find_user(s, "gest").id  # type: ignore[union-attr]
        notes = s.scalars(select(Notification).where(
            Notification.user_id == gest_id,
            Notification.kind == NotificationKind.rubric_invitation)
            .order_by(Notification.id)).all()
        assert [n.subject for n in notes] == ["Invitation à la rubrique « Club théâtre »",
                                              "Invitation à la rubrique « Chorale »"]
        assert {n.link for n in notes} == {"/invitations/"}
        assert "ann vous invite comme rédacteur" in notes[0].body
        assert "ann vous invite comme visiteur" in notes[1].body
        assert len(s.scalars(select(OutboxMessage).where(
            OutboxMessage.notification_id.in_([n.id for n in notes]))).all()) == 2


def test_anonymous_visitors_are_sent_to_sign_in(srv: Server) -> None:
    client = WebClient(srv)
    assert client.get("/notifications/").status_code == 302
    assert "notifications-link" not in client.get("/").text


@pytest.mark.one_database  # a browser walk, checked over HTTP on both
@pytest.mark.clients
@pytest.mark.time_sensitive
def test_the_header_count_in_chromium(browser: Browser, srv: Server,  # noqa: F811
                                      gest: WebClient) -> None:
    with browser_context(browser, srv.base_url) as context:
        page = context.new_page()
        page.goto("/login?next=/notifications/")
        sign_in(page, "ann", PASSWORD)
        page.get_by_role("button", name="Tout marquer comme lu").click()
        badge = page.locator(".notifications-link .notification-count")
        expect(badge).to_have_count(0)
        refuse(gest, pending_request(srv, srv.room, "ann", days=25), "Examens")  # type: ignore[attr-defined]
        page.reload()
        expect(badge).to_have_text("1")
        page.get_by_role("link", name="Notifications").click()
        expect(page.locator("li.unread .subject")).to_contain_text("Réservation refusée")
        page.get_by_role("button", name="Marquer comme lue").click()
        expect(badge).to_have_count(0)
        expect(page.locator("li.unread")).to_have_count(0)


@pytest.mark.time_sensitive
def test_mail_waits_for_an_smtp_server_that_is_down(tmp_path: pytest.TempPathFactory) -> None:
    """The SMTP server hangs (accepts, never answers): the refusal still answers at
    once; the sender's attempt times out and is logged; the message is sent once the
    server is back on the same port."""
    port = free_port()
    silent = SilentListener(port)
    env = {**smtp_env(port, timeout=3), "DAVSERVER_LOGGING__LEVEL": "INFO"}
    with running_server(tmp_path, env) as srv:
        room = set_up_school(srv, {"ann": "teacher", "gest": "staff"})
        gest = signed_in(srv, "gest")
        request = pending_request(srv, room, "ann")
        started = time.monotonic()
        refuse(gest, request, "Salle prise")
        assert time.monotonic() - started < 3  # less than one SMTP timeout

        with srv.app() as app:
            def outbox() -> OutboxMessage:
                with app.db.transaction(write=False) as s:
                    return s.scalars(select(OutboxMessage)).one()

            assert wait_until(lambda: outbox().attempts >= 1 and outbox().last_error, 15)
            assert outbox().status == OutboxStatus.pending
            silent.close()
            with SmtpSink(port) as sink:
                assert wait_until(lambda: sink.to("ann@example.fr"), timeout=20)
                assert wait_until(lambda: outbox().status == OutboxStatus.sent, 5)
            assert len(sink.received) == 1 and outbox().attempts >= 2
        log = srv.log_path.read_text()  # type: ignore[union-attr]
        assert "notification e-mail #1: attempt 1 failed" in log
