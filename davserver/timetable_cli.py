"""``davserver import timetable FILE`` and ``davserver import holidays FILE``: a school's
timetable (EDT, UnDeuxTEMPS, PRONOTE, our CSV or iCalendar) and the ministry's school
calendar (``docs/admin.md``, "Importing the timetable" and "Holidays"; rules in
:mod:`web.textbook.timetable`).

Output: rejected records and warnings on standard error (``FILE, line N: reason``),
the summary on standard output, or with ``--json`` the report as one JSON object on
standard output. Exit status: 0 done, every record imported; 1 records rejected
(nothing imported, or with ``--partial`` the others); 2 a file that cannot be read,
an unknown school, no school year, bad usage: nothing imported.

The import date (re-imports change lessons from that day on) is today in the
school's time zone, from this process's clock.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from davserver import clock
from davserver.config import Config
from davserver.db import Database, open_database
from davserver.errors import DomainError
from web import textbook
from web.textbook.timetable import Progress, school_of


def _fail(message: str, args: argparse.Namespace) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"file": args.file, "error": message, "applied": False,
                          "rejected": [{"file": Path(args.file).name, "reason": message}]},
                         ensure_ascii=False, indent=1))
    print(f"davserver: {message}", file=sys.stderr)
    return 2


@contextlib.contextmanager
def _progress() -> Iterator[Progress]:
    """A progress callback drawing a bar on standard error when it is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    console = Console(stderr=True)
    with Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
             console=console, transient=True, disable=not console.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def step(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield step


def _today(db: Database, school: str | None) -> date:
    """Today in the school's time zone (the import date), by this process's clock."""
    with db.transaction(write=False) as session:
        try:
            found = school_of(session, school)
        except DomainError:
            return clock.now().date()  # the import reports the school's problem
        return textbook.today_in(found.time_zone, clock.now())


def _read_holidays(path: str) -> list[textbook.Period]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DomainError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return [textbook.Period(*p) for p in textbook.read_holidays(data)]
    except DomainError as exc:
        raise DomainError(f"{path}: {exc}") from exc


def _print_timetable(report: textbook.TimetableReport, args: argparse.Namespace) -> None:
    for rejected in report.rejected:
        print(rejected, file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for kept in report.kept:
        print(f"kept: lesson {kept.lesson_id} ({kept.service}, "
              f"{kept.start.astimezone(textbook.zone(report.time_zone)):%Y-%m-%d %H:%M}): "
              f"{kept.reason}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
        return
    print(f"{args.file}: {report.format}")
    print(f"school {report.school!r}, year {report.year}: courses {report.courses}, "
          f"services {len(report.services)}, lessons created {report.lessons_created}, "
          f"moved {report.lessons_moved}, updated {report.lessons_updated}, cancelled "
          f"{report.lessons_cancelled}, deleted {report.lessons_deleted}, kept "
          f"{len(report.kept)}, rejected {len(report.rejected)}")
    if report.dry_run:
        print("dry run: nothing was changed")
    elif not report.applied:
        print(f"nothing imported: {len(report.rejected)} record(s) rejected "
              "(--partial imports the others)")


def _record(db: Database, school: str | None, kind: str, name: str,
            report: dict[str, Any]) -> None:
    """The import in the school's history on the imports page (``/imports/``)."""
    from davserver import journal
    from web.imports import record_command_run

    with db.transaction(write=False) as session:
        school_id = school_of(session, school).id
    record_command_run(db, school_id, kind, [name], report, journal.origin().who)


def cmd_timetable(config: Config, args: argparse.Namespace) -> int:
    """Run ``import timetable``; returns the exit status (module docstring)."""
    try:
        source = textbook.ImportSource.from_path(args.file)
        holidays = _read_holidays(args.holidays) if args.holidays else None
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}", args)
    except DomainError as exc:
        return _fail(str(exc), args)
    db = open_database(config)
    try:
        options = textbook.TimetableOptions(
            today=_today(db, args.school), format=args.format, partial=args.partial,
            dry_run=args.dry_run, week_a=args.week_a, year_start=args.year_start,
            year_end=args.year_end, holidays=holidays)
        with _progress() as step:
            report = textbook.import_timetable(db, source, args.school, options, step)
        if report.applied and not report.dry_run:
            _record(db, args.school, "timetable", source.name, report.as_dict())
    except DomainError as exc:
        return _fail(str(exc), args)
    finally:
        db.dispose()
    _print_timetable(report, args)
    return 1 if report.rejected else 0


def cmd_holidays(config: Config, args: argparse.Namespace) -> int:
    """Run ``import holidays``; returns the exit status (module docstring)."""
    try:
        source = textbook.ImportSource.from_path(args.file)
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}", args)
    db = open_database(config)
    try:
        options = textbook.HolidayOptions(today=_today(db, args.school), year=args.year,
                                          dry_run=args.dry_run)
        report = textbook.import_holidays(db, source, args.school, options)
        if report.applied and not report.dry_run:
            _record(db, args.school, "holidays", source.name, report.as_dict())
    except DomainError as exc:
        return _fail(str(exc), args)
    finally:
        db.dispose()
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
        return 0
    print(f"school {report.school!r}, zone {report.zone}, year {report.year}: classes from "
          f"{report.first_day} to {report.last_day}")
    for period in report.periods:
        print(f"  {period.name}: no classes from {period.start} to {period.end}")
    for day, name in report.public_holidays.items():
        print(f"  {name}: public holiday on {day}")
    print(f"holidays {len(report.periods)} (replacing {report.replaced}); left out: "
          f"{report.duplicates} académie copies, {report.teachers_only} for teachers only, "
          f"{report.other_zones} of other zones")
    if report.dry_run:
        print("dry run: nothing was changed")
    return 0


__all__ = ["cmd_holidays", "cmd_timetable"]
