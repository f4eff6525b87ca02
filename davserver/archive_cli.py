"""``davserver archive textbooks --year 2025-2026 [--school NAME] [--output DIR]``:
the year-end PDF archive of the cahier de textes (issue 7; :mod:`web.textbook.archive.services`).

Writes one PDF per teaching service into the school's archive space, folder
``<year>/`` (``/dav/archives/<year>/`` for the head; :mod:`web.textbook.archive.space`),
or, with ``--output DIR``, into ``DIR/<school>/<year>/`` on disk, made read-only.
A progress bar on standard error when it is a terminal, each file's name (or path)
on standard output. Exit status: 0 done, 1 an unknown school or year, or an archive
already there (it is written once, never replaced).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import acl
from davserver.config import Config


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``archive`` command to the top-level subparsers."""
    archive = sub.add_parser("archive", help="year-end archives").add_subparsers(
        dest="action", required=True)
    books = archive.add_parser("textbooks", help="one PDF per teaching service of a school "
                               "year (docs/admin.md: Year-end archive)", parents=[common])
    books.add_argument("--year", required=True, metavar="LABEL", help="e.g. 2025-2026")
    books.add_argument("--school", metavar="NAME", help="default: the only school")
    books.add_argument("--before-end", action="store_true",
                       help="archive a year that is not over yet (written once, never "
                            "replaced)")
    books.add_argument("--output", metavar="DIR",
                       help="write to this folder on disk instead of the school's "
                            "archive space (/dav/archives/)")


def cmd_archive(config: Config, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from davserver.app import create_app
    from web.textbook.archive import services as archive
    from web.textbook.archive import space as archive_space

    app = create_app(config)
    try:
        with app.db.transaction(write=False) as s:
            school_id, school = acl.import_school(s, args.school) if args.school is None \
                else (acl.find_school(s, args.school), args.school)
            year = archive.school_year(s, school_id, args.year)
            write: Callable[[Callable[[str], None]], Iterator[Any]]
            if args.output:
                folder = Path(args.output) / archive.slug(school, "school") / year.label
                if folder.exists():
                    print(f"davserver: {folder} exists: an archive is written once, never "
                          "replaced", file=sys.stderr)
                    return 1

                def write(progress: Callable[[str], None]) -> Iterator[Any]:
                    return archive.archive_school(s, school_id, year, folder, progress)
            else:
                def write(progress: Callable[[str], None]) -> Iterator[Any]:
                    return archive_space.archive_into_space(
                        app.store, s, school_id, year, before_end=args.before_end,
                        progress=progress)
            total = len(archive.services_of_school(s, school_id))
            console = Console(stderr=True)
            with Progress("archiving", BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn(), console=console, transient=True,
                          disable=not console.is_terminal) as bar:
                task = bar.add_task("archive", total=total)
                for written in write(lambda _name: bar.advance(task)):
                    print(written, flush=True)
            if not args.output:
                print(f"archived in /dav/archives/{year.label}/", flush=True)
    finally:
        app.close()
    return 0
