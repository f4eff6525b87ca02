"""iCalendar feeds of bookings (issue 6) against a real server: the user's and a
resource's bookings parse with the icalendar library, keep their school wall-clock
times across a daylight-saving change, and answer only to a current secret whose
owner may still see the resource."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import requests
from lxml import html

import acl
from tests.conftest import PASSWORD, Server, school_today
from tests.integration.test_web_booking import Api, add_resource, new, srv  # noqa: F401
from tests.web import WebClient, csrf_token

pytestmark = pytest.mark.time_sensitive  # dates relative to the clock

PARIS = ZoneInfo("Europe/Paris")


def _next_spring_change(today: date) -> date:
    """The next last Sunday of March (Europe/Paris goes to summer time) whose Friday
    before is after today (a booking on it is still in the future)."""
    for year in (today.year, today.year + 1):
        day = date(year, 3, 31)
        day -= timedelta(days=(day.weekday() - 6) % 7)
        if day - timedelta(days=2) > today:
            return day
    raise AssertionError("unreachable")


def _feed_urls(server: Server, login: str, page: str) -> list[str]:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    answer = client.get(page)
    assert answer.status_code == 200, answer.text
    return [str(v) for v in html.fromstring(answer.text).xpath(
        "//input[contains(@class, 'feed-url')]/@value")]


def _events(url: str) -> list[icalendar.Event]:
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/calendar")
    assert "private" in answer.headers["Cache-Control"]
    cal = icalendar.Calendar.from_ical(answer.content)
    assert any(tz["TZID"] == "Europe/Paris" for tz in cal.walk("VTIMEZONE"))
    return list(cal.walk("VEVENT"))


def test_feeds_keep_school_time_across_daylight_saving(srv: Server) -> None:  # noqa: F811
    room = add_resource(srv, name="Salle informatique 2", location="Bâtiment B")
    change = _next_spring_change(school_today())
    friday, monday = change - timedelta(days=2), change + timedelta(days=1)
    ann = Api(srv, "ann")
    for day in (friday, monday):
        start = datetime.combine(day, time(10)).isoformat()
        end = datetime.combine(day, time(11)).isoformat()
        answer = ann.post("/bookings", new(room, start, end, purpose="Recherche CDI"))
        assert answer.status_code == 201, answer.text

    mine_url, = _feed_urls(srv, "ann", "/booking/mes-reservations")
    resource_url, = _feed_urls(srv, "ann", f"/booking/ressources/{room}")
    assert mine_url.startswith(srv.base_url + "/booking/ical/")

    for url in (mine_url, resource_url):
        events = [e for e in _events(url) if e["SUMMARY"] == "Salle informatique 2"]
        starts = sorted(e.decoded("DTSTART") for e in events)
        assert [s.date() for s in starts] == [friday, monday]
        # 10:00 in Paris on both sides of the change: 09:00 UTC, then 08:00 UTC.
        assert [s.astimezone(PARIS).time() for s in starts] == [time(10), time(10)]
        assert [s.utcoffset() for s in starts] == [timedelta(hours=1), timedelta(hours=2)]
        assert all(str(e["LOCATION"]) == "Bâtiment B" for e in events)
        assert all("Recherche CDI" in str(e["DESCRIPTION"]) for e in events)
        assert len({str(e["UID"]) for e in events}) == 2


def test_a_feed_answers_only_to_a_current_secret_of_someone_who_may_see(
        srv: Server) -> None:  # noqa: F811
    room = add_resource(srv, name="Salle feed")
    mine_url, = _feed_urls(srv, "bea", "/booking/mes-reservations")
    resource_url, = _feed_urls(srv, "bea", f"/booking/ressources/{room}")
    assert requests.get(mine_url, timeout=30).status_code == 200
    assert requests.get(mine_url + "x", timeout=30).status_code == 404
    assert requests.get(mine_url.replace("/ical/", "/ical/x"), timeout=30).status_code == 404

    # A student's secret does not open a domain booked by teachers only.
    student_mine, = _feed_urls(srv, "ben", "/booking/mes-reservations")
    student_resource = student_mine.replace("mes-reservations.ics",
                                            f"ressources/{room}.ics")
    assert requests.get(student_resource, timeout=30).status_code == 403

    # Renewing the secret: the old links stop working at once, the new ones work.
    client = WebClient(srv)
    assert client.login("bea", PASSWORD).status_code == 302
    page = client.get("/booking/mes-reservations")
    renewed = client.post("/booking/ical/renouveler", {"csrf_token": csrf_token(page.text)})
    assert renewed.status_code == 302
    assert requests.get(mine_url, timeout=30).status_code == 404
    assert requests.get(resource_url, timeout=30).status_code == 404
    new_mine, = _feed_urls(srv, "bea", "/booking/mes-reservations")
    assert new_mine != mine_url and requests.get(new_mine, timeout=30).status_code == 200

    # Renewing needs the CSRF token; a disabled account's links stop working.
    assert client.post("/booking/ical/renouveler", {}).status_code == 403
    with srv.transaction() as s:
        acl.disable_user(s, "bea")
    assert requests.get(new_mine, timeout=30).status_code == 404
