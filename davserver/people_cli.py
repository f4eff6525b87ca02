"""``davserver import people FILE…``: a school's people from the exports of the
national systems (AAF, SIECLE, ONDE, STS-web) or our own CSV (``docs/admin.md``,
"Importing people"; the work is :func:`acl.import_people`).

Output: per file, its format and size; rejected records and warnings on standard
error (``FILE, line N (element): 'who': reason``); the summary, leavers and, without
``--passwords``, the new accounts' initial passwords on standard output. With
``--json``, standard output is one JSON object (the report, and the new accounts
unless ``--passwords`` or ``--dry-run``) and nothing else. A progress bar (rich) is
drawn on standard error only when it is a terminal. Exit status: 0 everything
imported; 1 records rejected or a file refused for them (the other files imported,
or nothing with ``--strict``), or a school that cannot be told; 2 an input that
cannot be read (a missing file, a bad archive, a file of another kind, a file cut
short or in an unexpected encoding), or a passwords file that exists already.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import acl
from acl.sources import BadInput
from davserver.config import Config
from davserver.db import Database, open_database
from davserver.errors import DomainError

FORMATS = ["auto", "aaf", "siecle", "onde", "sts", "csv"]


def add_arguments(people: argparse.ArgumentParser) -> None:
    """The options of ``import people`` (the parser is built in ``davserver.cli``)."""
    people.add_argument("files", nargs="+", metavar="FILE",
                        help="export files, folders of them, or zip archives")
    people.add_argument("--school", metavar="UAI|NAME",
                        help="default: the school the files name, or the only one")
    people.add_argument("--format", choices=FORMATS, default="auto",
                        help="the files' format (default: detected from each file's "
                        "content)")
    people.add_argument("--passwords", metavar="FILE", help="write new users' initial "
                        "passwords to this new file (mode 0600) instead of printing them")
    people.add_argument("--partial", action="store_true", help="import a file's good "
                        "records even when some are rejected (default: the whole file "
                        "is refused)")
    people.add_argument("--strict", action="store_true",
                        help="any rejected record in any file: import nothing")
    people.add_argument("--dry-run", action="store_true", help="report, change nothing")
    people.add_argument("--json", action="store_true",
                        help="print the report as one JSON object")


def _fail(message: str) -> int:
    print(f"davserver: {message}", file=sys.stderr)
    return 2


@contextlib.contextmanager
def _progress() -> Iterator[acl.people_import.Progress]:
    """A progress callback drawing a bar on standard error, when it is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True)
    labels = {"read": "reading", "apply": "importing"}
    with Progress("{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield advance


def _open_passwords(path: str) -> TextIO:
    """A new file only its owner may read (0600); an existing one is never
    overwritten: it may hold passwords not handed out yet."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def _write_accounts(out: TextIO, accounts: list[acl.NewAccount], delimiter: str) -> None:
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["login", "password", "name", "classes", "profile"])
    for a in accounts:
        writer.writerow([a.login, a.password, a.display_name, "|".join(a.classes),
                         a.profile.value])


def _where(r: Any) -> str:
    place = r.where.file + (f", line {r.where.line}" if r.where.line else "")
    return place + (f" ({r.where.element})" if r.where.element else "")


def _counts(report: acl.ImportReport, logins: list[str]) -> str:
    return ", ".join(f"{p} {n}" for p, n in report.by_profile(logins).items()) or "none"


def _print_files(report: acl.ImportReport) -> None:
    for f in report.files:
        shown = ", ".join(p for p in (f.description, f.encoding, f.details) if p)
        print(f"{f.name}: {shown}, {f.records} record(s)")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for r in report.rejected:
        print(f"{_where(r)}: {r.who!r}: {r.reason}", file=sys.stderr)
    for f in report.files:
        if f.error or f.refused:
            print(f"davserver: {f.error or f.refused}", file=sys.stderr)


def _print_report(report: acl.ImportReport, args: argparse.Namespace) -> None:
    _print_files(report)
    if report.disabled:
        print("disabled (absent from the file, files kept): " + ", ".join(report.disabled))
    print(f"school {report.school!r}: created {len(report.created)}, updated "
          f"{len(report.updated)}, disabled {len(report.disabled)}, unchanged "
          f"{len(report.unchanged)}, rejected {len(report.rejected)}, moved "
          f"{len(report.moved)}, parent links {report.parent_links}")
    for label, logins in (("created", report.created), ("updated", report.updated),
                          ("moved", report.moved), ("disabled", report.disabled)):
        if logins:
            print(f"  {label}: {_counts(report, logins)}")
    if report.rejected:
        print("  rejected: " + ", ".join(f"{p} {n}" for p, n in
                                          report.rejected_by_profile().items()))
    if report.services:
        print("  teaching services: " + ", ".join(f"{k} {v}" for k, v in
                                                  report.services.items()))
    if not report.applied:
        print(f"strict: {len(report.rejected)} row(s) rejected, nothing imported")
    elif args.dry_run:
        print("dry run: nothing was changed")


def _status(report: acl.ImportReport) -> int:
    if any(f.error for f in report.files):
        return 2
    return 1 if report.rejected or not all(f.applied for f in report.files) else 0


def cmd_import(config: Config, args: argparse.Namespace) -> int:
    """Run ``import people``; returns the exit status (module docstring)."""
    passwords = None
    if args.passwords and not args.dry_run:
        try:
            passwords = _open_passwords(args.passwords)
        except OSError as exc:
            return _fail(f"cannot create {args.passwords}: {exc.strerror or exc} "
                         "(an existing passwords file is never overwritten)")
    try:
        report = _import(config, args)
    except BadInput as exc:
        _discard(passwords, args.passwords)
        return _fail(exc.message)
    except DomainError:  # which school: the caller's mistake (exit status 1)
        _discard(passwords, args.passwords)
        raise
    except BaseException:
        _discard(passwords, args.passwords)
        raise
    if args.json:
        out = report.as_json()
        if passwords is None and report.applied and not args.dry_run:
            out["accounts"] = [{"login": a.login, "password": a.password,
                                "name": a.display_name, "profile": a.profile.value,
                                "classes": list(a.classes)} for a in report.accounts]
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        _print_report(report, args)
    _hand_out(report, passwords, args)
    return _status(report)


def _import(config: Config, args: argparse.Namespace) -> acl.ImportReport:
    import web.textbook  # noqa: F401  (registers where teaching services are stored)

    db = open_database(config)
    try:
        with _progress() as advance:
            options = acl.ImportOptions(format=args.format, dry_run=args.dry_run,
                                        partial=args.partial, strict=args.strict,
                                        progress=advance)
            report = acl.import_people(db, args.files, args.school, options)
        if report.applied and not args.dry_run and any(f.applied for f in report.files):
            _record(db, report)
        return report
    finally:
        db.dispose()


def _record(db: Database, report: acl.ImportReport) -> None:
    """The import in the school's history on the imports page (``/imports/``)."""
    from davserver import journal
    from web.imports import record_command_run

    with db.transaction(write=False) as s:
        school_id = acl.find_school(s, report.school_uai or report.school)
    record_command_run(db, school_id, "people", [f.name for f in report.files],
                       report.as_json(), journal.origin().who)


def _discard(passwords: TextIO | None, path: str) -> None:
    if passwords is not None:
        passwords.close()
        os.unlink(path)


def _hand_out(report: acl.ImportReport, passwords: TextIO | None,
              args: argparse.Namespace) -> None:
    """The new accounts' initial passwords: to ``--passwords``, else to stdout (in the
    JSON with ``--json``); none when nothing was written (dry run, strict refusal)."""
    if passwords is not None and not report.applied:
        _discard(passwords, args.passwords)
    elif passwords is not None:
        with passwords:
            _write_accounts(passwords, report.accounts, ";")
        if not args.json:
            print(f"initial passwords of {len(report.accounts)} new account(s) in "
                  f"{args.passwords}")
    elif report.applied and not args.dry_run and report.accounts and not args.json:
        print("new accounts and their initial passwords (shown once):")
        _write_accounts(sys.stdout, report.accounts, "\t")
