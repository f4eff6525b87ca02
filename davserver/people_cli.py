"""``davserver import people FILE.csv``: users, classes, groups, subjects and parents
from a school administration export (``docs/admin.md``, "Importing people"; rules in
:mod:`acl.people_import` and :mod:`acl.people_csv`).

Output: rejected rows and warnings on standard error (``line N: 'login': reason``);
the summary, leavers and, without ``--passwords``, the new accounts' initial
passwords on standard output. A progress bar (rich) is drawn on standard error
only when it is a terminal. Exit status: 0 every row imported, 1 some rows
rejected (the others imported, or nothing with ``--strict``), 2 a file that
cannot be read (missing columns, encoding, no rows) or a passwords file that
exists already: nothing imported.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import acl
from davserver import journal
from davserver.config import Config
from davserver.db import Database
from davserver.errors import DomainError


class _Rollback(Exception):
    """Leaves the import's transaction without committing (dry run, strict refusal)."""

    def __init__(self, report: acl.ImportReport) -> None:
        super().__init__("rolled back")
        self.report = report


def _fail(message: str) -> int:
    print(f"davserver: {message}", file=sys.stderr)
    return 2


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A callable advancing a progress bar on standard error, when it is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress("importing", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task("import", total=total)
        yield lambda: bar.advance(task)


def _open_passwords(path: str) -> TextIO:
    """A new file only its owner may read (0600); an existing one is never
    overwritten: it may hold passwords not handed out yet."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def _write_accounts(out: TextIO, accounts: list[acl.NewAccount], delimiter: str) -> None:
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["login", "password", "name", "classes"])
    for a in accounts:
        writer.writerow([a.login, a.password, a.display_name, "|".join(a.classes)])


def _run(db: Database, people: acl.PeopleFile, args: argparse.Namespace) -> acl.ImportReport:
    with _progress(len(people.rows)) as advance:
        try:
            with db.transaction() as s:
                school_id, _ = acl.import_school(s, args.school)
                report = acl.import_people(s, people, school_id, strict=args.strict,
                                           progress=advance)
                if args.dry_run or not report.applied:
                    raise _Rollback(report)
                journal.record(s, journal.Kind.import_, place=args.file, school_id=school_id,
                               details={"what": "people", "created": len(report.created),
                                        "updated": len(report.updated),
                                        "disabled": len(report.disabled),
                                        "rejected": len(report.rejected)})
        except _Rollback as done:
            report = done.report
    return report


def _print_report(report: acl.ImportReport, args: argparse.Namespace) -> None:
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for r in report.rejected:
        print(f"line {r.line}: {r.login!r}: {r.reason}", file=sys.stderr)
    if report.disabled:
        print("disabled (absent from the file, files kept): " + ", ".join(report.disabled))
    print(f"school {report.school!r}: created {len(report.created)}, updated "
          f"{len(report.updated)}, disabled {len(report.disabled)}, unchanged "
          f"{len(report.unchanged)}, rejected {len(report.rejected)}")
    if not report.applied:
        print(f"strict: {len(report.rejected)} row(s) rejected, nothing imported")
    elif args.dry_run:
        print("dry run: nothing was changed")


def cmd_import(config: Config, args: argparse.Namespace) -> int:
    """Run ``import people``; returns the exit status (module docstring)."""
    try:
        people = acl.read_people(Path(args.file).read_bytes())
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}")
    except DomainError as exc:
        return _fail(f"{args.file}: {exc}")
    print(f"{args.file}: {people.encoding}, delimiter {people.delimiter!r}, "
          f"{len(people.rows) + len(people.rejected)} row(s)")
    passwords = None
    if args.passwords and not args.dry_run:
        try:
            passwords = _open_passwords(args.passwords)
        except OSError as exc:
            return _fail(f"cannot create {args.passwords}: {exc.strerror or exc} "
                         "(an existing passwords file is never overwritten)")
    try:
        report = _import(config, people, args)
    except BaseException:
        _discard(passwords, args.passwords)
        raise
    _print_report(report, args)
    _hand_out(report, passwords, args)
    return 1 if report.rejected else 0


def _import(config: Config, people: acl.PeopleFile,
            args: argparse.Namespace) -> acl.ImportReport:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.effective_database_url)
    try:
        db.create_schema()
        return _run(db, people, args)
    finally:
        db.dispose()


def _discard(passwords: TextIO | None, path: str) -> None:
    if passwords is not None:
        passwords.close()
        os.unlink(path)


def _hand_out(report: acl.ImportReport, passwords: TextIO | None,
              args: argparse.Namespace) -> None:
    """The new accounts' initial passwords: to ``--passwords``, else to stdout; none
    when nothing was written (dry run, strict refusal)."""
    if passwords is not None and not report.applied:
        _discard(passwords, args.passwords)
    elif passwords is not None:
        with passwords:
            _write_accounts(passwords, report.accounts, ";")
        print(f"initial passwords of {len(report.accounts)} new account(s) in "
              f"{args.passwords}")
    elif report.applied and not args.dry_run and report.accounts:
        print("new accounts and their initial passwords (shown once):")
        _write_accounts(sys.stdout, report.accounts, "\t")
