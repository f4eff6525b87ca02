"""The one model every timetable format is read into (issue 24, "School data in").

A :class:`Course` is a subject, its teachers, the classes or groups it is for, a room,
and either a weekly :class:`Slot` (weekday, start, duration, every week or week A/B:
EDT, UDT, our CSV) or dated :class:`EventTimes` (iCalendar exports: PRONOTE's one event
per lesson, our own events and weekly series). :mod:`.apply` turns courses into the
lessons (séances) of the school year. Reading checks each record on its own; what needs
the directory (unknown class, teacher) is checked when applying.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from ..models import Week


@dataclass(frozen=True)
class Where:
    """Where a record sits: the file's name, its 1-based ``line`` and, in XML, the
    ``element`` (``<Cours numero="12">``)."""

    file: str
    line: int | None = None
    element: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line:
            parts.append(f"line {self.line}")
        if self.element:
            parts.append(self.element)
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"file": self.file}
        if self.line:
            found["line"] = self.line
        if self.element:
            found["element"] = self.element
        return found


@dataclass(frozen=True)
class Rejected:
    """A record left out, ``where`` it is and why (``reason``, English, names the
    value that was wrong)."""

    where: Where
    reason: str

    @property
    def line(self) -> int:
        return self.where.line or 0

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {**self.where.as_dict(), "reason": self.reason}


_INITIALS = re.compile(r"^(?P<last>.+?)\s+(?P<initials>(?:[^\W\d_]{1,2}\.?-?)+\.)$")
_CIVILITY = {"m", "m.", "mr", "mr.", "mme", "mme.", "mlle", "mlle.", "monsieur", "madame",
             "mademoiselle"}


@dataclass(frozen=True)
class TeacherRef:
    """A teacher as a file names them (``text``, for messages): by ``login`` (our CSV
    and iCalendar), by family and given names (EDT's ``PROF_NOM``/``PROF_PRENOM``), by
    one "NOM PRÉNOM" string in any order (UDT; ``last`` holds it whole, ``first`` is
    empty), or by family name and ``initials`` (PRONOTE's "NOM I.")."""

    text: str
    login: str = ""
    last: str = ""
    first: str = ""
    initials: str = ""

    @classmethod
    def of_login(cls, login: str) -> TeacherRef:
        return cls(login, login=login)

    @classmethod
    def of_names(cls, last: str, first: str) -> TeacherRef:
        return cls(f"{last} {first}".strip(), last=last.strip(), first=first.strip())

    @classmethod
    def of_initials(cls, text: str) -> TeacherRef:
        """PRONOTE's "NOM I." (also "LE GALL J.-P.", "M. NOM", "NOM Prénom")."""
        words = text.split()
        if len(words) > 1 and words[0].lower() in _CIVILITY:
            words = words[1:]  # "M. DUPONT", "Mme FREDOUILLE Corinne"
        bare = " ".join(words)
        m = _INITIALS.match(bare)
        if m:
            return cls(text.strip(), last=m.group("last"), initials=m.group("initials"))
        return cls(text.strip(), last=bare)


@dataclass(frozen=True)
class Slot:
    """A weekly place in the timetable: ``weekday`` 0 (Monday) to 6, wall-clock
    ``start`` in the school's time zone, ``duration``, and ``week`` A or B for a
    fortnightly course (None: every week)."""

    weekday: int
    start: time
    duration: timedelta
    week: Week | None = None

    @property
    def end(self) -> time:
        moment = datetime.combine(date(2000, 1, 3), self.start) + self.duration
        return moment.time()


@dataclass(frozen=True)
class EventTimes:
    """Dated times of an iCalendar event: ``start``/``end`` aware, ``rule`` an RFC 5545
    RRULE value (None: one lesson), ``exdates`` the occurrences it leaves out,
    ``fortnightly`` for ``INTERVAL=2``, ``cancelled`` for a cancelled lesson
    (PRONOTE's "Cours annulé", ``STATUS:CANCELLED``), ``line`` of its ``BEGIN:VEVENT``
    and ``key`` its stable id (PRONOTE's UID without the export stamp)."""

    start: datetime
    end: datetime
    rule: str | None = None
    exdates: tuple[datetime, ...] = ()
    fortnightly: bool = False
    cancelled: bool = False
    line: int = 0
    key: str = ""

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


@dataclass
class Course:
    """One course of the timetable (see the module's docstring). ``subject`` is a code
    (EDT's ``MAT_CODE``, UDT's ``Matière``, our files) or, when ``subject_is_label``,
    a subject's full name (PRONOTE: "MATHEMATIQUES"), matched against codes and names;
    ``subject_name`` the full name when the file has both. ``audiences``: the names of
    the classes or groups, one lesson in each one's textbook; ``fallbacks``: other
    audiences to try, in order, when one of them is not in the directory (UDT's group,
    then its regroupement, then its divisions). ``key``: the file's id of the course
    (EDT ``NUMERO``, PRONOTE ``Cours-<id>``), for messages."""

    where: Where
    subject: str
    teachers: tuple[TeacherRef, ...]
    audiences: tuple[str, ...]
    room: str = ""
    slot: Slot | None = None
    events: tuple[EventTimes, ...] = ()
    subject_name: str = ""
    subject_is_label: bool = False
    key: str = ""
    fallbacks: tuple[tuple[str, ...], ...] = ()

    def label(self) -> str:
        who = ", ".join(self.audiences) or "?"
        return f"{self.subject} {who}"


@dataclass
class Timetable:
    """What a file held: ``courses`` to import, ``rejected`` records, ``warnings``
    (records ignored on purpose, e.g. UDT's meal rows), ``kind`` (``edt``, ``udt``,
    ``pronote``, ``csv``, ``ics``). ``school_wide``: the file is the whole school's
    timetable (EDT, UDT, our CSV), so a course absent from it is gone; otherwise
    (one teacher's or class's calendar) only its own courses are compared, within
    ``span`` (first and last dates it covers) when known. ``origin``: which lessons
    are this file's to move and delete on a re-import: ``school`` for a school-wide
    file, else the calendar's own ("pronote:DUPONT Marc")."""

    kind: str
    file: str
    courses: list[Course] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    school_wide: bool = True
    span: tuple[date, date] | None = None
    records: int = 0
    origin: str = "school"

    def reject(self, where: Where, reason: str) -> None:
        self.rejected.append(Rejected(where, reason))


def split_logins(cell: str) -> tuple[str, ...]:
    """Teacher logins of a cell separated by ``|`` or ``,`` (blanks dropped)."""
    return tuple(p.strip() for p in cell.replace("|", ",").split(",") if p.strip())
