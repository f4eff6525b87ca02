"""The imports of this server process: one background worker, the staged uploads of
the web page, the progress of running imports, and the runs' rows.

**One worker per process.** Imports run one at a time on a thread of their own
(:class:`Imports`), never in a request: a 100 MB AAF delivery takes half a minute.
Two processes may run one each; each import is its own transaction, as for the
commands.

**Progress** is kept in this process's memory (stage, done, total by run id): the
import's own transaction holds SQLite's write turn while it applies, so writing its
progress to the database would wait for itself. A page served by another process of
the same deployment shows "en cours" without figures.

**Staging.** The web page's files wait for the admin's "apply" under
``<data_dir>/imports/<run id>/`` (owner-only), and are removed once applied or
discarded; a staged run left more than :data:`STALE_AFTER` seconds is discarded by the
next upload.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import acl
from davserver import clock, journal
from davserver.db import Database, rows_matched
from davserver.errors import BadRequest, Conflict, NotFound
from providers import Store

from ..textbook import today_in
from .models import RUNNING, ImportRun, RunSource, RunState
from .runs import RunOptions, part_of, run_files, totals

log = logging.getLogger(__name__)

STALE_AFTER = 24 * 3600.0
"""Seconds after which a checked run nobody applied is discarded (its files removed)."""
MAX_FILES = 50
"""Files one upload may hold (an AAF delivery is a dozen, or one zip)."""


class Imports:
    """The imports of this process (module docstring). ``staging``: where uploads
    wait (created owner-only on first use); ``drop_delay``: seconds a school's imports
    folder must stay quiet before what was dropped there is imported together."""

    def __init__(self, db: Database, store: Store, staging: Path,
                 drop_delay: float = 3.0) -> None:
        self.db = db
        self.store = store
        self.staging = staging
        self.drop_delay = drop_delay
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imports")
        self._lock = threading.Lock()
        self._progress: dict[int, tuple[str, int, int]] = {}

    # --- progress ------------------------------------------------------------

    def progress_of(self, run_id: int) -> tuple[str, int, int] | None:
        """(stage, done, total) of a run this process is running, else None."""
        with self._lock:
            return self._progress.get(run_id)

    def _step(self, run_id: int) -> Any:
        def step(stage: str, done: int, total: int) -> None:
            with self._lock:
                self._progress[run_id] = (stage, done, total)
        return step

    def submit(self, work: Any, *args: Any) -> None:
        """Run ``work(*args)`` on the worker; its exceptions are logged, not lost."""
        def guarded() -> None:
            try:
                work(*args)
            except Exception:
                log.exception("import work failed")
        self._executor.submit(guarded)

    # --- the web page's runs -----------------------------------------------------

    def folder(self, run_id: int) -> Path:
        return self.staging / str(run_id)

    def start_check(self, school_id: int, user: acl.Principal,
                    files: list[tuple[str, Any]], options: dict[str, Any]) -> int:
        """Stage uploaded files (name, readable stream) for ``school_id`` and start
        their dry run; returns the run's id. ``options``: ``partial`` (bool),
        ``week_a`` (ISO date or None). Raises ``BadRequest`` for no file or too many."""
        if not files:
            raise BadRequest("Choisissez au moins un fichier à importer.")
        if len(files) > MAX_FILES:
            raise BadRequest(f"Au plus {MAX_FILES} fichiers par import (ou une archive zip).")
        self._forget_stale()
        with self.db.transaction() as s:
            run = ImportRun(school_id=school_id, user_id=user.id, source=RunSource.web,
                            state=RunState.checking, files=[n for n, _ in files],
                            options=options, created=clock.now())
            s.add(run)
            s.flush()
            run_id = run.id
        folder = self.folder(run_id)
        try:
            self.staging.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.mkdir(mode=0o700)
            for index, (_name, stream) in enumerate(files):
                with open(folder / str(index), "xb") as out:
                    shutil.copyfileobj(stream, out, 1 << 20)
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            self._finish(run_id, RunState.failed, error=f"stockage impossible : {exc}")
            raise
        self.submit(self._run_web, run_id, user, True)
        return run_id

    def start_apply(self, run_id: int, school_id: int, user: acl.Principal) -> None:
        """Apply a checked run (once: a second click finds it applying). Raises
        ``NotFound`` for a run of another school, ``Conflict`` for one not checked."""
        with self.db.transaction() as s:
            self._own(s, run_id, school_id)
            moved = rows_matched(s.execute(update(ImportRun).where(
                ImportRun.id == run_id, ImportRun.state == RunState.checked).values(
                state=RunState.applying, user_id=user.id)))
        if not moved:
            raise Conflict("Cet import n'attend pas de confirmation.")
        self.submit(self._run_web, run_id, user, False)

    def discard(self, run_id: int, school_id: int) -> None:
        """Give up a checked run: its files are removed, nothing is imported."""
        with self.db.transaction() as s:
            self._own(s, run_id, school_id)
            moved = rows_matched(s.execute(update(ImportRun).where(
                ImportRun.id == run_id, ImportRun.state == RunState.checked).values(
                state=RunState.discarded, finished=clock.now())))
        if not moved:
            raise Conflict("Cet import n'attend pas de confirmation.")
        shutil.rmtree(self.folder(run_id), ignore_errors=True)

    @staticmethod
    def _own(s: Session, run_id: int, school_id: int) -> ImportRun:
        run = s.get(ImportRun, run_id)
        if run is None or run.school_id != school_id:
            raise NotFound("Cet import n'existe pas.")
        return run

    def _forget_stale(self) -> None:
        """Discard checked runs left unapplied for :data:`STALE_AFTER` seconds."""
        limit = clock.now().timestamp() - STALE_AFTER
        with self.db.transaction() as s:
            old = [r for r in s.scalars(select(ImportRun).where(
                ImportRun.state == RunState.checked, ImportRun.source == RunSource.web))
                if r.created.timestamp() < limit]
            for run in old:
                run.state, run.finished = RunState.discarded, clock.now()
        for run in old:
            shutil.rmtree(self.folder(run.id), ignore_errors=True)

    def _staged(self, run_id: int, names: list[str]) -> list[tuple[str, bytes]]:
        folder = self.folder(run_id)
        return [(name, (folder / str(i)).read_bytes()) for i, name in enumerate(names)]

    def _run_web(self, run_id: int, user: acl.Principal, dry_run: bool) -> None:
        with self.db.transaction(write=False) as s:
            run = s.get_one(ImportRun, run_id)
            school_id, names, options = run.school_id, list(run.files), dict(run.options)
        try:
            files = self._staged(run_id, names)
        except OSError as exc:
            self._finish(run_id, RunState.failed,
                         error=f"les fichiers déposés sont introuvables ({exc.strerror})")
            return
        week_a = date.fromisoformat(options["week_a"]) if options.get("week_a") else None
        with self._as(user, "web"):
            report, accounts = self.run(run_id, school_id, files, RunOptions(
                today=self.today(school_id), dry_run=dry_run,
                partial=bool(options.get("partial")), week_a=week_a))
        if report is None:
            return
        if accounts:
            from .drop import write_passwords
            report["passwords"] = write_passwords(self, school_id, f"import-{run_id}",
                                                  accounts)
        if dry_run:
            self._finish(run_id, RunState.checked, preview=report)
        else:
            self._finish(run_id, RunState.done, report=report)
            shutil.rmtree(self.folder(run_id), ignore_errors=True)

    # --- shared --------------------------------------------------------------------

    def today(self, school_id: int) -> date:
        """The import date: today in the school's time zone."""
        with self.db.transaction(write=False) as s:
            zone = s.get_one(acl.School, school_id).time_zone
        return today_in(zone, clock.now())

    @contextmanager
    def _as(self, user: acl.Principal | None, via: str) -> Iterator[None]:
        """The journal's origin for the events of a run: who asked, and how."""
        with journal.request_context(None, via):
            if user is not None:
                journal.bind(who=user.login, who_id=user.id)
            yield

    def run(self, run_id: int, school_id: int, files: list[tuple[str, bytes]],
            options: RunOptions) -> tuple[dict[str, Any] | None, list[acl.NewAccount]]:
        """Import ``files`` for run ``run_id`` with its progress; a failure of ours
        (not of the files) marks the run failed and returns (None, [])."""
        try:
            return run_files(self.db, school_id, files, options, self._step(run_id))
        except Exception as exc:
            log.exception("import run %d failed", run_id)
            self._finish(run_id, RunState.failed, error=f"erreur interne : {exc}")
            return None, []
        finally:
            with self._lock:
                self._progress.pop(run_id, None)

    def _finish(self, run_id: int, state: RunState, *, preview: dict[str, Any] | None = None,
                report: dict[str, Any] | None = None, error: str | None = None) -> None:
        with self.db.transaction() as s:
            run = s.get_one(ImportRun, run_id)
            run.state = state
            if preview is not None:
                run.preview = preview
            if report is not None:
                run.report = report
            if error is not None:
                run.error = error
            if state != RunState.checked:
                run.finished = clock.now()


def record_command_run(db: Database, school_id: int, kind: str, files: list[str],
                       report: dict[str, Any], by: str | None = None) -> int:
    """Put an import made by a ``davserver import`` command in the school's history
    (the imports page lists every import, whatever its way in): ``kind`` ``people``,
    ``timetable`` or ``holidays``, ``report`` its ``--json`` report, ``by`` the system
    user who ran it. Returns the run's id."""
    part = part_of(kind, files, report)
    shown = {"dry_run": False, "parts": [part], "totals": totals([part]), "failed": 0}
    with db.transaction() as s:
        run = ImportRun(school_id=school_id, source=RunSource.cli, state=RunState.done,
                        files=files, options={"by": by} if by else {}, report=shown,
                        created=clock.now(), finished=clock.now())
        s.add(run)
        s.flush()
        return run.id


def runs_of(s: Session, school_id: int, limit: int = 50) -> list[ImportRun]:
    """The school's runs, newest first."""
    return list(s.scalars(select(ImportRun).where(ImportRun.school_id == school_id)
                          .order_by(ImportRun.id.desc()).limit(limit)))


def is_running(run: ImportRun) -> bool:
    """Whether a run is still at work (checking or applying)."""
    return run.state in RUNNING


def staging_dir(data_dir: Path) -> Path:
    """Where the web page's uploads wait: ``<data_dir>/imports``."""
    return Path(os.fspath(data_dir)) / "imports"
