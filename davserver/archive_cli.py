"""``davserver archive textbooks --year 2025-2026 [--school NAME] [--output DIR]``:
the year-end PDF archive of the cahier de textes (issue 7; :mod:`web.textbook.archive`).

Writes one PDF per teaching service into ``DIR/<school>/<year>/`` (default ``DIR``:
``<data_dir>/archives``), made read-only; a progress bar on standard error when it is
a terminal, each file's path on standard output. Exit status: 0 done, 1 an unknown
school or year, or an archive already there (it is written once, never replaced).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import acl
from davserver.config import Config
from davserver.db import Database


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``archive`` command to the top-level subparsers."""
    archive = sub.add_parser("archive", help="year-end archives").add_subparsers(
        dest="action", required=True)
    books = archive.add_parser("textbooks", help="one PDF per teaching service of a school "
                               "year (README: Year-end archive)", parents=[common])
    books.add_argument("--year", required=True, metavar="LABEL", help="e.g. 2025-2026")
    books.add_argument("--school", metavar="NAME", help="default: the only school")
    books.add_argument("--output", metavar="DIR", help="default: DATA_DIR/archives")


def cmd_archive(config: Config, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from web.textbook import archive

    db = Database(config.effective_database_url)
    try:
        db.create_schema()
        with db.transaction(write=False) as s:
            school_id, school = acl.import_school(s, args.school) if args.school is None \
                else (acl.find_school(s, args.school), args.school)
            year = archive.school_year(s, school_id, args.year)
            base = Path(args.output or config.data_dir / "archives")
            folder = base / archive.slug(school, "school") / year.label
            if folder.exists():
                print(f"davserver: {folder} exists: an archive is written once, never "
                      "replaced", file=sys.stderr)
                return 1
            total = len(archive.services_of_school(s, school_id))
            console = Console(stderr=True)
            with Progress("archiving", BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn(), console=console, transient=True,
                          disable=not console.is_terminal) as bar:
                task = bar.add_task("archive", total=total)
                for path in archive.archive_school(s, school_id, year, folder,
                                                   lambda _name: bar.advance(task)):
                    print(path, flush=True)
    finally:
        db.dispose()
    return 0
