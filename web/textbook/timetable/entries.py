"""A timetable file read into entries (``davserver import timetable``; README
"Importing the timetable"): CSV rows of weekly slots, or iCalendar events as
exported by timetable software. Reading checks each row on its own; what needs the
database (unknown class, teacher) is checked by :mod:`.services`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from ..models import Week
from ..services import WeeklySlot


@dataclass(frozen=True)
class EventTimes:
    """An iCalendar event's times: ``start``/``end`` aware, ``rule`` an RFC 5545 RRULE
    value (None: a single lesson), ``exdates`` the occurrences it leaves out, and
    ``fortnightly`` true for ``INTERVAL=2`` (weeks A/B)."""

    start: datetime
    end: datetime
    rule: str | None = None
    exdates: tuple[datetime, ...] = ()
    fortnightly: bool = False

    def occurrences(self, first: date, last: date,
                    tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
        """(start, end) of every occurrence whose date in ``tz`` is within ``first`` and
        ``last`` (both included); recurrences keep their wall-clock time (RFC 5545
        §3.3.10), so DST changes move nothing."""
        length = self.end - self.start
        if self.rule is None:
            starts = [self.start]
        else:
            limit = datetime.combine(last + timedelta(days=1), datetime.min.time(),
                                     self.start.tzinfo)
            starts = list(rrulestr(self.rule, dtstart=self.start).between(
                self.start, limit, inc=True))
        skipped = set(self.exdates)
        return [(s, s + length) for s in starts
                if s not in skipped and first <= s.astimezone(tz).date() <= last]


@dataclass(frozen=True)
class Entry:
    """One good row: a group × subject × teachers' lessons, either weekly ``slot``
    (CSV) or the event ``times`` (iCalendar). ``line`` is 1-based in the file."""

    line: int
    group: str
    subject: str
    teachers: tuple[str, ...]
    room: str = ""
    week: Week | None = None
    slot: WeeklySlot | None = None
    times: EventTimes | None = None


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


@dataclass
class TimetableFile:
    """What a file held: ``entries`` to import and ``rejected`` rows with reasons;
    ``kind`` is ``csv`` or ``ics``."""

    kind: str
    entries: list[Entry] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def split_logins(cell: str) -> tuple[str, ...]:
    """Teacher logins of a cell separated by ``|`` or ``,`` (blanks dropped)."""
    return tuple(p.strip() for p in cell.replace("|", ",").split(",") if p.strip())


def read_timetable(data: bytes, name: str) -> TimetableFile:
    """Read a timetable: iCalendar when ``name`` ends in ``.ics`` or the data starts
    with ``BEGIN:VCALENDAR``, else CSV. Raises ``BadRequest`` for a file that cannot
    be read at all (encoding, missing columns, not iCalendar)."""
    from .from_csv import read_csv
    from .from_ics import read_ics

    head = data.lstrip(b"\xef\xbb\xbf \r\n\t")[:15].upper()
    if name.lower().endswith(".ics") or head.startswith(b"BEGIN:VCALENDAR"):
        return read_ics(data)
    return read_csv(data)
