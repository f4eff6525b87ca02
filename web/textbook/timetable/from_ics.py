"""Reading a timetable in our own iCalendar layout (RFC 5545), and what every
iCalendar reader here shares (:func:`parse_calendar`).

One VEVENT is one lesson or, with a weekly RRULE, a weekly (``INTERVAL=1``) or
fortnightly (``INTERVAL=2``, weeks A/B) series. Mapping (``docs/admin.md``, "Importing
the timetable"): SUMMARY the subject code; DESCRIPTION lines ``Classe: 4B`` (or
``Groupe:``, ``Class:``, ``Group:``) and ``Professeur: login[, login]`` (or
``Professeurs:``, ``Enseignant:``, ``Teacher:``); LOCATION the room; DTSTART/DTEND
with a TZID, in UTC, or floating (the school's time zone); EXDATE skips occurrences.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from davserver.errors import BadRequest

from .courses import Course, EventTimes, TeacherRef, Timetable, Where, split_logins

if TYPE_CHECKING:  # icalendar is imported when a file is read: 3 MiB and 90 ms at start
    from icalendar import Calendar, Component

KEYS = {"classe": "group", "groupe": "group", "class": "group", "group": "group",
        "professeur": "teachers", "professeurs": "teachers", "enseignant": "teachers",
        "enseignants": "teachers", "teacher": "teachers", "teachers": "teachers"}
_LINE = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(.*?)\s*$")
_FOLD = re.compile(rb"\r?\n[ \t]")


def unfold(data: bytes) -> str:
    """The text of an iCalendar file with its folded lines joined (RFC 5545 §3.1).
    Joined as bytes, before decoding: PRONOTE folds at 75 octets, inside a UTF-8
    character too (notes §2.3). UTF-8 (BOM or not); bytes that are not UTF-8 are
    read as Windows-1252."""
    joined = _FOLD.sub(b"", data.removeprefix(b"\xef\xbb\xbf"))
    try:
        return joined.decode("utf-8")
    except UnicodeDecodeError:
        return joined.decode("cp1252", errors="replace")


def event_lines(data: bytes) -> list[int]:
    """1-based line numbers of each ``BEGIN:VEVENT`` in the file as written (before
    unfolding), in file order."""
    return [n for n, line in enumerate(data.split(b"\n"), 1)
            if line.strip().upper() == b"BEGIN:VEVENT"]


def parse_calendar(data: bytes) -> Calendar:
    """The VCALENDAR of ``data``. Raises ``BadRequest`` for data that is not
    iCalendar, with the parser's reason."""
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(unfold(data))
    except (ValueError, IndexError, KeyError) as exc:
        raise BadRequest(f"not an iCalendar file: {exc}") from exc
    if not isinstance(calendar, Calendar):
        raise BadRequest("not an iCalendar file: no VCALENDAR")
    return calendar


def _described(description: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in description.splitlines():
        m = _LINE.match(line)
        if m and m.group(1).lower() in KEYS:
            found.setdefault(KEYS[m.group(1).lower()], m.group(2))
    return found


def moment(event: Component, name: str) -> datetime:
    """The timed value of ``name`` (DTSTART, DTEND). Raises ``BadRequest`` when it is
    missing or a whole day."""
    if name not in event:
        raise BadRequest(f"no {name}")
    value = event.decoded(name)
    if not isinstance(value, datetime):
        raise BadRequest(f"{name} {value} is a whole day, not a lesson time")
    return value


def _times(event: Component, line: int) -> EventTimes:
    start, end = moment(event, "DTSTART"), moment(event, "DTEND")
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
    for value in as_list(event.get("EXDATE")):
        exdates.extend(d.dt for d in value.dts if isinstance(d.dt, datetime))
    cancelled = str(event.get("STATUS", "")).upper() == "CANCELLED"
    return EventTimes(start, end, text, tuple(exdates), interval == 2, cancelled, line,
                      str(event.get("UID", "")))


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _course(where: Where, event: Component) -> Course:
    subject = str(event.get("SUMMARY", "")).strip()
    if not subject:
        raise BadRequest("empty SUMMARY (the subject code)")
    described = _described(str(event.get("DESCRIPTION", "")))
    if not described.get("group"):
        raise BadRequest("no 'Classe: …' line in DESCRIPTION")
    teachers = split_logins(described.get("teachers", ""))
    if not teachers:
        raise BadRequest("no 'Professeur: …' line in DESCRIPTION")
    times = _times(event, where.line or 0)
    return Course(where, subject, tuple(TeacherRef.of_login(t) for t in teachers),
                  (described["group"],), str(event.get("LOCATION", "")).strip(),
                  events=(times,), key=times.key)


def read_ics(data: bytes, name: str = "timetable.ics") -> Timetable:
    """Every VEVENT as a course or a rejected event (line of its ``BEGIN:VEVENT``).
    A UID seen twice is rejected the second time. Raises ``BadRequest`` for data that
    is not iCalendar."""
    calendar = parse_calendar(data)
    calname = str(calendar.get("X-WR-CALNAME", "")).strip()
    result = Timetable("ics", name, school_wide=False, origin=f"ics:{calname}"[:120])
    lines = event_lines(data)
    seen: dict[str, int] = {}
    for index, event in enumerate(calendar.walk("VEVENT")):
        where = Where(name, lines[index] if index < len(lines) else None)
        result.records += 1
        uid = str(event.get("UID", "")).strip()
        if uid and uid in seen:
            result.reject(where, f"duplicate UID {uid!r} (first at line {seen[uid]})")
            continue
        if uid:
            seen[uid] = where.line or 0
        try:
            result.courses.append(_course(where, event))
        except (BadRequest, ValueError, TypeError) as exc:
            reason = exc.message if isinstance(exc, BadRequest) else f"bad event: {exc}"
            result.reject(where, reason)
    return result


def read_holidays(data: bytes) -> list[tuple[str, date, date]]:
    """Holiday periods ``(name, first day, last day)`` of an iCalendar file in our
    layout (``import timetable --holidays``): each VEVENT's SUMMARY, DTSTART and DTEND
    (exclusive, RFC 5545 §3.6.1, so the last day is the day before; a timed DTEND
    counts its own day). Raises ``BadRequest``."""
    calendar = parse_calendar(data)
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
