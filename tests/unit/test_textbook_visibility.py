"""Quiet hours (issue 5): homework given in the evening or at the weekend shows at the
end of the quiet period, in the school's wall-clock time, across a DST change."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from davserver.config import TextbookConfig
from web.textbook import release_time

# One database is enough: a pure function
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

PARIS = ZoneInfo("Europe/Paris")
QUIET = TextbookConfig()  # 20:00–07:00 and weekends


@pytest.mark.parametrize(("given", "shows"), [
    (datetime(2026, 11, 30, 12, 0), datetime(2026, 11, 30, 12, 0)),   # Monday noon
    (datetime(2026, 11, 30, 21, 30), datetime(2026, 12, 1, 7, 0)),    # Monday evening
    (datetime(2026, 12, 1, 6, 15), datetime(2026, 12, 1, 7, 0)),      # Tuesday dawn
    (datetime(2026, 12, 4, 20, 0), datetime(2026, 12, 7, 7, 0)),      # Friday 20:00
    (datetime(2026, 12, 5, 10, 0), datetime(2026, 12, 7, 7, 0)),      # Saturday
    (datetime(2027, 3, 27, 15, 0), datetime(2027, 3, 29, 7, 0)),      # DST weekend
])
def test_homework_given_in_quiet_hours_shows_at_their_end(given: datetime,
                                                          shows: datetime) -> None:
    released = release_time(given.replace(tzinfo=PARIS), QUIET, PARIS)
    assert released.astimezone(PARIS).replace(tzinfo=None) == shows


def test_settings_change_the_window() -> None:
    evening = datetime(2026, 11, 30, 21, 30, tzinfo=PARIS)
    assert release_time(evening, TextbookConfig(quiet_hours=False), PARIS) == evening
    late = TextbookConfig(quiet_start=time(22), quiet_end=time(6, 30), quiet_weekends=False)
    assert release_time(evening, late, PARIS) == evening
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=PARIS)
    assert release_time(saturday, late, PARIS) == saturday
    day_window = TextbookConfig(quiet_start=time(12), quiet_end=time(14))
    assert release_time(datetime(2026, 11, 30, 13, 0, tzinfo=PARIS), day_window,
                        PARIS).astimezone(PARIS).time() == time(14)
