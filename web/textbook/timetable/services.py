"""The entry points of the school-data imports (issue 24): :func:`import_timetable`
and :func:`import_holidays`, used by ``davserver import timetable|holidays`` and by
anything else that brings files in (a drop folder, a web page): a file's name and
bytes, a school, options, an optional progress callback; a report back.

Each call is one transaction on the database: all or nothing per file (``partial``
imports the good records of a timetable and rejects the others), nothing at all on a
dry run. A file that cannot be read at all raises ``BadRequest`` (its message says
why, and which command reads the file when it is another kind); a school that does
not exist, ``NotFound``. Every import that changes something is recorded by
:func:`journal`, in its transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver import journal as davserver_journal
from davserver.db import Database
from davserver.errors import BadRequest

from ..models import Holiday, SchoolYear
from ..services import Period, current_school_year, holidays_of, set_school_year, zone
from .apply import Progress, TimetableReport, apply_timetable
from .courses import Timetable
from .detect import FORMATS, detect_format
from .school_calendar import SchoolCalendar, public_holidays
from .school_holidays import read_dataset, year_calendar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportSource:
    """A file to import: its ``name`` (for messages only: the format comes from the
    content) and its bytes."""

    name: str
    data: bytes

    @classmethod
    def from_path(cls, path: str | Path) -> ImportSource:
        """Read a file; raises ``OSError``."""
        return cls(Path(path).name, Path(path).read_bytes())


@dataclass
class TimetableOptions:
    """How to import a timetable. ``today``: the import date in the school's time zone
    (re-imports change lessons from that day on; the caller's clock, never read
    here). ``format``: ``auto`` or one of :data:`~.detect.FORMATS`. ``week_a``: a day of
    a week A (stored with the year; default the stored one, else the year's first
    school week). ``year_start``/``year_end``: set the school year first (both).
    ``holidays``: replace the school's holiday periods first."""

    today: date
    format: str = "auto"
    partial: bool = False
    dry_run: bool = False
    week_a: date | None = None
    year_start: date | None = None
    year_end: date | None = None
    holidays: list[Period] | None = None


def read_timetable(data: bytes, name: str, format: str = "auto") -> Timetable:
    """The courses of a timetable file of ``format`` (``auto``: detected from the
    content). Raises ``BadRequest`` for a file that cannot be read as such, naming
    what it looks like when it is another kind of file."""
    from .from_csv import read_csv
    from .from_edt import read_edt
    from .from_ics import read_ics
    from .from_pronote import read_pronote
    from .from_udt import read_udt

    kind = detect_format(data) if format == "auto" else format
    readers = {"edt": read_edt, "udt": read_udt, "pronote": read_pronote, "csv": read_csv,
               "ics": read_ics}
    if kind not in readers:
        raise BadRequest(f"unknown format {format!r} (auto, {', '.join(FORMATS)})")
    return readers[kind](data, name)


class _Rollback(Exception):
    """Leaves an import's transaction without committing (dry run, refusal)."""


def school_of(session: Session, ref: str | None) -> acl.School:
    """The school named by UAI or name, or the only one. Raises ``NotFound`` for an
    unknown one and ``BadRequest`` when there is none or several and no ``ref``."""
    if ref:
        return session.get_one(acl.School, acl.find_school(session, ref))
    schools = list(session.scalars(select(acl.School).order_by(acl.School.name).limit(20)))
    if not schools:
        raise BadRequest("no school yet: add one with `davserver school add`, or import "
                         "people first")
    if len(schools) > 1:
        raise BadRequest("several schools: choose one with --school UAI ("
                         + ", ".join(s.uai or repr(s.name) for s in schools) + ")")
    return schools[0]


def _label(school: acl.School) -> str:
    return f"{school.name} ({school.uai})" if school.uai else school.name


def _year(session: Session, school: acl.School, options: TimetableOptions) -> SchoolYear:
    if options.year_start and options.year_end:
        return set_school_year(session, school.id, options.year_start, options.year_end,
                               school.time_zone)
    if options.year_start or options.year_end:
        raise BadRequest("give both --year-start and --year-end")
    year = current_school_year(session, school.id)
    if year is None:
        raise BadRequest("no school year known: import the ministry's calendar first "
                         "(`davserver import holidays`), or give --year-start and "
                         "--year-end")
    year.time_zone = school.time_zone
    return year


def calendar_of(session: Session, school: acl.School, year: SchoolYear,
                week_a: date | None = None) -> SchoolCalendar:
    """The school calendar of ``year`` (its holidays, the school's public holidays,
    week A from ``week_a`` or the year's stored anchor)."""
    return SchoolCalendar.build(year.start, year.end, holidays_of(session, school.id),
                                school.uai, week_a or year.week_a)


def import_timetable(db: Database, source: ImportSource, school: str | None,
                     options: TimetableOptions,
                     progress: Progress | None = None) -> TimetableReport:
    """Import a timetable file into a school (UAI or name; None: the only one), in one
    transaction (module docstring). The report says what was done; ``applied`` false
    means nothing was written. Raises ``BadRequest`` for a file that cannot be read
    (wrong kind, truncated XML, unreadable encoding), no school year, a bad
    ``week_a``; ``NotFound`` for an unknown school."""
    try:
        timetable = read_timetable(source.data, source.name, options.format)
    except BadRequest as exc:
        raise BadRequest(f"{source.name}: {exc.message}") from exc
    report = TimetableReport(dry_run=options.dry_run)
    try:
        with db.transaction() as session:
            found = school_of(session, school)
            report.school = _label(found)
            year = _year(session, found, options)
            if options.holidays is not None:
                _replace_periods(session, found.id, year, options.holidays)
            calendar = calendar_of(session, found, year, options.week_a)
            if options.week_a:
                year.week_a = options.week_a
            if not holidays_of(session, found.id):
                report.warnings.append("the school has no holidays: lessons are laid on "
                                       "every week of the year (`davserver import "
                                       "holidays` first)")
            apply_timetable(session, timetable, found.id, year, calendar, options.today,
                            partial=options.partial, progress=progress, report=report)
            if options.dry_run or not report.applied:
                raise _Rollback()
            journal(session, "timetable", found.id, report.as_dict())
    except _Rollback:
        report.applied = False
    return report


def _replace_periods(session: Session, school_id: int, year: SchoolYear,
                     periods: list[Period]) -> int:
    """Make ``periods`` the holidays of the school within ``year`` (those of other
    years stay). Returns how many periods were dropped."""
    for period in periods:
        if period.end < period.start:
            raise BadRequest(f"holiday {period.name!r} ends ({period.end}) before it "
                             f"starts ({period.start})")
    old = list(session.scalars(select(Holiday).where(
        Holiday.school_id == school_id, Holiday.end >= year.start,
        Holiday.start <= year.end)))
    for row in old:
        session.delete(row)
    session.add_all(Holiday(school_id=school_id, name=p.name[:200], start=p.start,
                            end=p.end) for p in periods)
    session.flush()
    return len(old)


@dataclass
class HolidayOptions:
    """How to import the ministry's calendar: ``today`` (the caller's clock) picks the
    school year when ``year`` ("2025-2026") is not given; ``dry_run``."""

    today: date
    year: str | None = None
    dry_run: bool = False


@dataclass
class HolidayReport:
    """What a holiday import did: the school ``year`` and its first and last days of
    classes, the holiday ``periods`` (days off), the ``public_holidays`` of the year
    (computed, not stored), and the records left out."""

    file: str = ""
    school: str = ""
    zone: str = ""
    year: str = ""
    first_day: date | None = None
    last_day: date | None = None
    periods: list[Period] = field(default_factory=list)
    public_holidays: dict[date, str] = field(default_factory=dict)
    replaced: int = 0
    duplicates: int = 0
    teachers_only: int = 0
    other_zones: int = 0
    applied: bool = False
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "school": self.school, "zone": self.zone, "year": self.year,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "holidays": [{"name": p.name, "first": p.start.isoformat(),
                          "last": p.end.isoformat()} for p in self.periods],
            "public_holidays": {d.isoformat(): n for d, n in self.public_holidays.items()},
            "replaced": self.replaced, "duplicates": self.duplicates,
            "teachers_only": self.teachers_only, "other_zones": self.other_zones,
            "applied": self.applied, "dry_run": self.dry_run, "warnings": self.warnings,
        }


def import_holidays(db: Database, source: ImportSource, school: str | None,
                    options: HolidayOptions,
                    progress: Progress | None = None) -> HolidayReport:
    """Import the ministry's calendar (JSON or iCalendar) for a school: keep its zone's
    records of one school year, set the year's first and last days of classes (when
    the file says them) and replace the year's holiday periods. Raises ``BadRequest``
    for a file that is not the calendar, a school without a holiday zone, a file
    without that zone or year, or a year whose first day the file does not give and
    that is not stored yet; ``NotFound`` for an unknown school."""
    report = HolidayReport(file=source.name, dry_run=options.dry_run)
    step = progress or (lambda _stage, _done, _total: None)
    try:
        with db.transaction() as session:
            found = school_of(session, school)
            report.school = _label(found)
            if not found.holiday_zone:
                raise BadRequest(f"{report.school} has no holiday zone: set it with "
                                 "`davserver school set UAI --zone A|B|C`")
            report.zone = found.holiday_zone
            try:
                dataset = read_dataset(source.data, source.name, found.time_zone)
                calendar = year_calendar(dataset, found.holiday_zone, options.year,
                                         options.today)
            except BadRequest as exc:
                raise BadRequest(f"{source.name}: {exc.message}") from exc
            step("holidays", 1, 2)
            report.year, report.periods = calendar.label, calendar.periods
            report.duplicates, report.teachers_only = calendar.duplicates, calendar.teachers_only
            report.other_zones = calendar.other_zones
            year = _holiday_year(session, found, calendar.label, calendar.first,
                                 calendar.last, report)
            report.first_day, report.last_day = year.start, year.end
            report.public_holidays = public_holidays(year.start, year.end, found.uai)
            report.replaced = _replace_periods(session, found.id, year, calendar.periods)
            report.applied = True
            step("holidays", 2, 2)
            if options.dry_run:
                raise _Rollback()
            journal(session, "holidays", found.id, report.as_dict())
    except _Rollback:
        report.applied = False
    return report


def _holiday_year(session: Session, school: acl.School, label: str, first: date | None,
                  last: date | None, report: HolidayReport) -> SchoolYear:
    stored = session.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id,
                                                     SchoolYear.label == label))
    first = first or (stored.start if stored else None)
    last = last or (stored.end if stored else None)
    if first is None or last is None:
        missing = "first day (the end of the summer before it)" if first is None \
            else "last day (the start of its summer)"
        raise BadRequest(f"{report.file}: the file does not give the {missing} of "
                         f"{label}: import the whole dataset (every school year)")
    if stored is not None and (stored.start, stored.end) != (first, last):
        report.warnings.append(f"school year {label} was {stored.start} to {stored.end}: "
                               f"now {first} to {last}")
    return set_school_year(session, school.id, first, last, school.time_zone)


def journal(session: Session, what: str, school_id: int, details: dict[str, Any]) -> None:
    """The one place where an import that changes something is recorded, in its own
    transaction (committed with it, never on a dry run or a refusal): a log line
    (``web.textbook.timetable.services``, INFO) and an event of the security journal
    (``davserver audit``), whose place is the file's name."""
    counts = {k: v for k, v in details.items()
              if isinstance(v, int) and not isinstance(v, bool) and v}
    log.info("import %s into school %d from %s: %s", what, school_id,
             details.get("file", "?"),
             ", ".join(f"{k} {v}" for k, v in counts.items()) or "nothing changed")
    davserver_journal.record(session, davserver_journal.Kind.import_,
                             place=str(details.get("file", "")) or None, school_id=school_id,
                             details={"what": what, **counts})


def today_in(time_zone: str, now: datetime) -> date:
    """The date of ``now`` (aware) in ``time_zone``: what callers pass as ``today``."""
    return now.astimezone(zone(time_zone)).date()


__all__ = ["HolidayOptions", "HolidayReport", "ImportSource", "TimetableOptions",
           "TimetableReport", "calendar_of", "import_holidays", "import_timetable",
           "journal", "read_timetable", "school_of", "today_in"]
