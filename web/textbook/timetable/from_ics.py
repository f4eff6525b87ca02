"""Reading a timetable exported as iCalendar (RFC 5545) by timetable software.

One VEVENT is one lesson or, with a weekly RRULE, a weekly (``INTERVAL=1``) or
fortnightly (``INTERVAL=2``, weeks A/B) series. Mapping (README "Importing the
timetable"): SUMMARY the subject code; DESCRIPTION lines ``Classe: 4B`` (or
``Groupe:``, ``Class:``, ``Group:``) and ``Professeur: login[, login]`` (or
``Professeurs:``, ``Enseignant:``, ``Teacher:``); LOCATION the room; DTSTART/DTEND
with a TZID, in UTC, or floating (the school's time zone); EXDATE skips occurrences.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from davserver.errors import BadRequest

from .entries import Entry, EventTimes, Rejected, TimetableFile, split_logins

if TYPE_CHECKING:  # icalendar is imported when a file is read: 3 MiB and 90 ms at start
    from icalendar import Component

KEYS = {"classe": "group", "groupe": "group", "class": "group", "group": "group",
        "professeur": "teachers", "professeurs": "teachers", "enseignant": "teachers",
        "enseignants": "teachers", "teacher": "teachers", "teachers": "teachers"}
_LINE = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(.*?)\s*$")


def _event_lines(text: str) -> list[int]:
    """1-based line numbers of each ``BEGIN:VEVENT``, in file order."""
    return [n for n, line in enumerate(text.splitlines(), 1)
            if line.strip().upper() == "BEGIN:VEVENT"]


def _described(description: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in description.splitlines():
        m = _LINE.match(line)
        if m and m.group(1).lower() in KEYS:
            found.setdefault(KEYS[m.group(1).lower()], m.group(2))
    return found


def _moment(event: Component, name: str) -> datetime:
    if name not in event:
        raise BadRequest(f"no {name}")
    value = event.decoded(name)
    if not isinstance(value, datetime):
        raise BadRequest(f"{name} {value} is a whole day, not a lesson time")
    return value


def _times(event: Component) -> EventTimes:
    start, end = _moment(event, "DTSTART"), _moment(event, "DTEND")
    if end <= start:
        raise BadRequest("DTEND is not after DTSTART")
    rule = event.get("RRULE")
    text, interval = None, 1
    if rule is not None:
        if [str(f).upper() for f in rule.get("FREQ", [])] != ["WEEKLY"]:
            raise BadRequest("RRULE is not FREQ=WEEKLY")
        interval = int((rule.get("INTERVAL") or [1])[0])
        if interval not in (1, 2):
            raise BadRequest("RRULE INTERVAL is not 1 (every week) or 2 (weeks A/B)")
        text = rule.to_ical().decode()
    exdates: list[datetime] = []
    for value in _as_list(event.get("EXDATE")):
        exdates.extend(d.dt for d in value.dts if isinstance(d.dt, datetime))
    return EventTimes(start, end, text, tuple(exdates), interval == 2)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _entry(line: int, event: Component) -> Entry:
    subject = str(event.get("SUMMARY", "")).strip()
    if not subject:
        raise BadRequest("empty SUMMARY (the subject code)")
    described = _described(str(event.get("DESCRIPTION", "")))
    if not described.get("group"):
        raise BadRequest("no 'Classe: …' line in DESCRIPTION")
    teachers = split_logins(described.get("teachers", ""))
    if not teachers:
        raise BadRequest("no 'Professeur: …' line in DESCRIPTION")
    times = _times(event)
    return Entry(line, described["group"], subject, teachers,
                 str(event.get("LOCATION", "")).strip(), times=times)


def read_ics(data: bytes) -> TimetableFile:
    """Every VEVENT as an entry or a rejected row (line of its ``BEGIN:VEVENT``).
    Raises ``BadRequest`` for data that is not iCalendar."""
    from icalendar import Calendar

    text = data.decode("utf-8-sig", errors="replace")
    try:
        calendar = Calendar.from_ical(text)
    except ValueError as exc:
        raise BadRequest(f"not an iCalendar file: {exc}") from exc
    result = TimetableFile("ics")
    lines = _event_lines(text)
    for index, event in enumerate(calendar.walk("VEVENT")):
        line = lines[index] if index < len(lines) else 0
        try:
            result.entries.append(_entry(line, event))
        except (BadRequest, ValueError, TypeError) as exc:
            reason = exc.message if isinstance(exc, BadRequest) else f"bad event: {exc}"
            result.rejected.append(Rejected(line, reason))
    return result


def read_holidays(data: bytes) -> list[tuple[str, date, date]]:
    """Holiday periods ``(name, first day, last day)`` of an iCalendar file: each
    VEVENT's SUMMARY, DTSTART and DTEND (exclusive, RFC 5545 §3.6.1, so the last day
    is the day before; a timed DTEND counts its own day). Raises ``BadRequest``."""
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(data.decode("utf-8-sig", errors="replace"))
    except ValueError as exc:
        raise BadRequest(f"not an iCalendar file: {exc}") from exc
    periods = []
    for event in calendar.walk("VEVENT"):
        start = event.decoded("DTSTART")
        end = event.decoded("DTEND") if "DTEND" in event else start
        first = start.date() if isinstance(start, datetime) else start
        day = timedelta(days=1)
        if isinstance(end, datetime):
            last = end.date() if end.time() != datetime.min.time() else end.date() - day
        else:
            last = end - day if end > first else first
        periods.append((str(event.get("SUMMARY", "vacances")), first, max(first, last)))
    return periods
