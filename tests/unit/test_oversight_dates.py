"""The dates of an inspector's access (issue 7): first and last day both included,
revocation ending it whatever the dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from web import textbook

# One database is enough: pure functions
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

FIRST, LAST = date(2026, 10, 5), date(2026, 10, 9)


@pytest.mark.parametrize("day,state", [
    (date(2026, 10, 4), "upcoming"), (FIRST, "current"), (date(2026, 10, 7), "current"),
    (LAST, "current"), (date(2026, 10, 10), "ended"),
])
def test_access_state_by_day(day: date, state: str) -> None:
    access = textbook.InspectorAccess(valid_from=FIRST, valid_until=LAST)
    assert textbook.access_state(access, day) == state


def test_revoked_access_is_over_at_once() -> None:
    access = textbook.InspectorAccess(valid_from=FIRST, valid_until=LAST,
                                      revoked=datetime(2026, 10, 6, 9, tzinfo=UTC))
    assert textbook.access_state(access, date(2026, 10, 7)) == "revoked"
    assert textbook.period_text(access) == "du 05/10/2026 au 09/10/2026"
