"""``davserver import timetable FILE``: teaching services and the school year's lessons
from a timetable export, CSV or iCalendar (``docs/admin.md``, "Importing the timetable"; rules in
:mod:`web.textbook.timetable.services`).

Output: rejected rows on standard error (``line N: reason``), the summary on standard
output. Exit status: 0 every row imported, 1 some rows rejected (the others imported,
or nothing with ``--strict``), 2 a file that cannot be read or no school year known:
nothing imported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.orm import Session

import acl
from davserver import journal
from davserver.config import Config
from davserver.db import Database
from davserver.errors import BadRequest, DomainError
from web import textbook


class _Rollback(Exception):
    """Leaves the import's transaction without committing (dry run, strict refusal)."""


def _fail(message: str) -> int:
    print(f"davserver: {message}", file=sys.stderr)
    return 2


def _year(session: Session, school_id: int, args: argparse.Namespace) -> textbook.SchoolYear:
    if args.year_start and args.year_end:
        return textbook.set_school_year(session, school_id, args.year_start, args.year_end,
                                        args.time_zone)
    if args.year_start or args.year_end:
        raise BadRequest("give both --year-start and --year-end")
    year = textbook.current_school_year(session, school_id)
    if year is None:
        raise BadRequest("no school year known: give --year-start and --year-end")
    return year


def _run(db: Database, timetable: textbook.TimetableFile, holidays: list[textbook.Period],
         args: argparse.Namespace) -> tuple[str, str, textbook.TimetableReport]:
    """(school name, year label, report) of the import, rolled back on a dry run or a
    strict refusal."""
    try:
        with db.transaction() as s:
            school_id, school = acl.import_school(s, args.school)
            year = _year(s, school_id, args)
            if args.holidays:
                textbook.replace_holidays(s, school_id, holidays)
            report = textbook.import_timetable(
                s, timetable, school_id, year, textbook.holidays_of(s, school_id),
                args.week_a or year.start, strict=args.strict)
            label = year.label
            if args.dry_run or not report.applied:
                raise _Rollback()
            journal.record(s, journal.Kind.import_, place=args.file, school_id=school_id,
                           details={"what": "timetable", "year": label,
                                    "rejected": len(report.rejected)})
    except _Rollback:
        pass
    return school, label, report


def _read(args: argparse.Namespace) -> tuple[textbook.TimetableFile, list[textbook.Period]]:
    """The timetable and holidays files; raises ``OSError`` or ``DomainError``."""
    try:
        timetable = textbook.read_timetable(Path(args.file).read_bytes(), args.file)
    except DomainError as exc:
        raise BadRequest(f"{args.file}: {exc}") from exc
    holidays: list[textbook.Period] = []
    if args.holidays:
        try:
            holidays = [textbook.Period(*p) for p in
                        textbook.read_holidays(Path(args.holidays).read_bytes())]
        except DomainError as exc:
            raise BadRequest(f"{args.holidays}: {exc}") from exc
    return timetable, holidays


def cmd_timetable(config: Config, args: argparse.Namespace) -> int:
    """Run ``import timetable``; returns the exit status (module docstring)."""
    try:
        timetable, holidays = _read(args)
    except OSError as exc:
        return _fail(f"cannot read {exc.filename}: {exc.strerror or exc}")
    except DomainError as exc:
        return _fail(str(exc))
    print(f"{args.file}: {timetable.kind}, "
          f"{len(timetable.entries) + len(timetable.rejected)} row(s)")
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.effective_database_url)
    try:
        db.create_schema()
        school, label, report = _run(db, timetable, holidays, args)
    except BadRequest as exc:
        return _fail(str(exc))
    finally:
        db.dispose()
    for r in report.rejected:
        print(f"line {r.line}: {r.reason}", file=sys.stderr)
    print(f"school {school!r}, year {label}: services {len(report.services)}, lessons "
          f"created {report.lessons}, rejected {len(report.rejected)}")
    if not report.applied:
        print(f"strict: {len(report.rejected)} row(s) rejected, nothing imported")
    elif args.dry_run:
        print("dry run: nothing was changed")
    return 1 if report.rejected else 0
