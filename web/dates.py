"""The range of dates the web layer accepts from users (pages and JSON API).

A date typed in a URL or a form is checked to lie between :data:`EARLIEST` and
:data:`LATEST` before any arithmetic: ``9999-12-31`` plus a week overflows Python's
``date`` (a 500 otherwise), and a booking or a lesson thousands of years away is
a typo, never a school's plan.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeVar

from davserver.errors import BadRequest

EARLIEST = date(1970, 1, 1)
LATEST = date(2199, 12, 31)
Day = TypeVar("Day", date, datetime)


def supported(value: Day, text: str | None = None) -> Day:
    """``value`` (a date, or a datetime by its date) when within
    [:data:`EARLIEST`, :data:`LATEST`]; else ``BadRequest`` in French naming ``text``
    (what the user typed) or the value."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise BadRequest(f"Date « {text or value.isoformat()} » hors des dates prises en "
                         f"charge ({EARLIEST.year} à {LATEST.year}).")
    return value
