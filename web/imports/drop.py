"""The drop folder: files put in a school's imports folder (``/dav/imports/<UAI>/``,
:mod:`providers.drop_folder`) are imported in the background with the code of the
commands (issue 24, "A drop folder, because we are a WebDAV server").

* **When.** :data:`providers.file_dropped` queues the file; once the school's folder
  has been quiet for ``imports.drop_delay`` seconds, everything dropped meanwhile is
  imported together (an AAF delivery arrives as several files that refer to each
  other; a client that writes a file twice, empty then whole, is imported once).
* **What is skipped**: the reports and password files the server writes there, hidden
  and temporary files of clients (``.name``, ``~$name``, ``name~``, ``.part``,
  ``.tmp``), empty files, files gone by the time their turn comes.
* **Reports.** Beside each file, ``<file>.report.txt`` (for people) and
  ``<file>.report.json`` (the run's report, as on the web page); a file that cannot be
  read gets a report saying why, and nothing is changed. New accounts' initial
  passwords go to ``<file>.import-<run id>.passwords.csv`` beside it (the folder is its school's
  administrators' only). The school's administrators are notified with a link to the
  run's page, and the import is in the security journal (its author: who put the file).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

import acl
from davserver import clock
from davserver.errors import DomainError
from providers import Store, drop_folder

from ..notifications import NotificationKind, notify_many
from .models import ImportRun, RunSource, RunState
from .runs import RunOptions, summary
from .services import Imports

log = logging.getLogger(__name__)

REPORT_SUFFIXES = (".report.txt", ".report.json", ".passwords.csv")
_TEMPORARY = (".part", ".tmp", ".crdownload", "~")


def skipped(name: str) -> bool:
    """Whether a file of the imports folder is left alone: the server's own reports,
    hidden and temporary files of clients (module docstring)."""
    lowered = name.lower()
    return (lowered.endswith(REPORT_SUFFIXES) or lowered.endswith(_TEMPORARY)
            or name.startswith((".", "~$", "~")) or lowered in ("thumbs.db", "desktop.ini"))


class DropFolder:
    """Receives :data:`providers.file_dropped` for one store and imports what schools
    drop, through ``imports``' worker (module docstring)."""

    def __init__(self, imports: Imports, app: Any) -> None:
        self.imports = imports
        self.app = app
        self._lock = threading.Lock()
        self._pending: dict[int, dict[str, tuple[int, int | None]]] = {}
        self._timers: dict[int, threading.Timer] = {}

    def received(self, store: Store, *, school_id: int, space_id: int, path: str,
                 node_id: int, author_id: int | None) -> None:
        """Queue a dropped file (the signal's receiver; never blocks the request)."""
        if skipped(path.rsplit("/", 1)[-1]):
            return
        with self._lock:
            self._pending.setdefault(school_id, {})[path] = (space_id, author_id)
            timer = self._timers.pop(school_id, None)
            if timer is not None:
                timer.cancel()
            timer = threading.Timer(self.imports.drop_delay, self._quiet, (school_id,))
            timer.daemon = True
            self._timers[school_id] = timer
            timer.start()

    def resume(self) -> int:
        """Queue what the imports folders hold without an up-to-date report (dropped
        while no server ran, or before one stopped); returns how many files. Called
        once by ``davserver serve`` at start-up: two processes starting together may
        both import such a file, which a re-import makes harmless (it finds the same
        accounts and lessons)."""
        waiting = [w for w in drop_folder.waiting_files(self.imports.store, ".report.json")
                   if not skipped(w.path.rsplit("/", 1)[-1])]
        for w in waiting:
            self.received(self.imports.store, school_id=w.school_id, space_id=w.space_id,
                          path=w.path, node_id=w.node_id, author_id=w.author_id)
        if waiting:
            log.info("imports folders: %d file(s) without a report queued", len(waiting))
        return len(waiting)

    def _quiet(self, school_id: int) -> None:
        with self._lock:
            self._timers.pop(school_id, None)
            batch = self._pending.pop(school_id, {})
        if batch:
            self.imports.submit(self.run, school_id, batch)

    def run(self, school_id: int, batch: dict[str, tuple[int, int | None]]) -> None:
        """Import the files of ``batch`` (path → (space id, author id)) together."""
        store = self.imports.store
        files: list[tuple[str, bytes]] = []
        paths: list[str] = []
        space_id = next(iter(batch.values()))[0]
        author_id = next((a for _s, a in batch.values() if a is not None), None)
        for path in sorted(batch):
            node = store.resolve(space_id, path)
            if node is None or node.is_collection or node.size == 0:
                continue
            try:
                with store.open_blob(node.blob_key) as f:
                    files.append((node.name, f.read()))
            except FileNotFoundError:  # overwritten meanwhile: its new content comes next
                continue
            paths.append(path)
        if not files:
            return
        with self.imports.db.transaction() as s:
            school = s.get_one(acl.School, school_id)
            place = "/imports/" + (school.uai or str(school_id))
            run = ImportRun(school_id=school_id, user_id=author_id, source=RunSource.dav,
                            state=RunState.applying, files=[n for n, _ in files],
                            place=place + "/", options={}, created=clock.now())
            s.add(run)
            s.flush()
            run_id = run.id
            user = _principal(s, author_id)
        with self.imports._as(user, "dav"):
            report, accounts = self.imports.run(run_id, school_id, files, RunOptions(
                today=self.imports.today(school_id)))
        if report is None:
            report = {"parts": [], "totals": {}, "failed": len(files), "dry_run": False,
                      "error": "erreur interne : voir le journal du serveur"}
        if accounts:
            report["passwords"] = write_passwords(self.imports, school_id,
                                                  f"{paths[0][1:]}.import-{run_id}", accounts)
        self._write_reports(space_id, paths, report)
        state = RunState.failed if report.get("failed") == len(files) else RunState.done
        with self.imports.db.transaction() as s:
            row = s.get_one(ImportRun, run_id)
            row.report, row.state, row.finished = report, state, clock.now()
            errors = [p["error"] for p in report["parts"] if p.get("error")]
            if errors:
                row.error = "; ".join(errors)[:2000]
            self._notify(s, school_id, run_id, [n for n, _ in files], report)

    def _write_reports(self, space_id: int, paths: list[str], report: dict[str, Any]) -> None:
        text = report_text(report).encode("utf-8")
        data = json.dumps(report, ensure_ascii=False, indent=1).encode("utf-8")
        for path in paths:
            for suffix, body in ((".report.txt", text), (".report.json", data)):
                try:
                    drop_folder.write_beside(self.imports.store, space_id, path + suffix,
                                             body)
                except DomainError as exc:  # full, or the file's folder gone
                    log.warning("cannot write %s%s: %s", path, suffix, exc)

    def _notify(self, s: Any, school_id: int, run_id: int, names: list[str],
                report: dict[str, Any]) -> None:
        admins = [u for u, in s.execute(select(acl.UserSchool.user_id).where(
            acl.UserSchool.school_id == school_id, acl.UserSchool.left_at.is_(None),
            acl.UserSchool.profile.in_(acl.IMPORT_PROFILES)))]
        if not admins:
            return
        with self.app.app_context(), force_locale(self.app.config.get(
                "BABEL_DEFAULT_LOCALE", "fr")):
            subject = _("Import de %(files)s : %(summary)s", files=", ".join(names)[:80],
                        summary=summary(report))
        notify_many(s, admins, NotificationKind.import_done, subject,
                    link=f"/imports/{run_id}")


def _principal(s: Any, user_id: int | None) -> acl.Principal | None:
    if user_id is None:
        return None
    user = s.get(acl.User, user_id)
    return None if user is None else acl.Principal(user.id, user.login, user.display_name,
                                                   user.profile)


def write_passwords(imports: Imports, school_id: int, stem: str,
                    accounts: list[acl.NewAccount]) -> str | None:
    """Write the new accounts' initial passwords to ``<stem>.passwords.csv`` in the
    school's imports folder (its administrators' only: they hand them out); returns
    the file's path under ``/dav``, or None when it could not be written (logged)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["login", "password", "name", "classes", "profile"])
    for a in accounts:
        writer.writerow([a.login, a.password, a.display_name, "|".join(a.classes),
                         a.profile.value])
    space = drop_folder.drop_space(imports.store, school_id)
    path = f"/{stem}.passwords.csv"
    try:
        drop_folder.write_beside(imports.store, space.id, path,
                                 out.getvalue().encode("utf-8-sig"))
    except DomainError as exc:
        log.warning("cannot write %s: %s", path, exc)
        return None
    with imports.db.transaction(write=False) as s:
        uai = s.get_one(acl.School, school_id).uai
    return f"/dav/{drop_folder.IMPORTS}/{uai}{path}"


def where_of(r: dict[str, Any]) -> str:
    """Where a rejected record was, in French: ``file, ligne N (element)``."""
    place = str(r.get("file") or "")
    if r.get("line"):
        place += f", ligne {r['line']}"
    if r.get("element"):
        place += f" ({r['element']})"
    return place


def _figures(kind: str, data: dict[str, Any]) -> list[str]:
    """The lines of one part's figures: counts by profile for people, the report's
    numbers and names for a timetable or the holidays."""
    lines = []
    if kind == "people" and data:
        for key in ("created", "updated", "moved", "disabled"):
            counts = data.get(key) or {}
            if counts:
                lines.append(f"{key}: " + ", ".join(f"{p} {n}" for p, n in counts.items()))
        lines += [f"refusé : {f['refused']}" for f in data.get("files", []) if f.get("refused")]
    elif kind in ("timetable", "holidays") and data:
        shown = {k: v for k, v in data.items() if isinstance(v, int | str) and v
                 and not isinstance(v, bool)}
        lines.append(", ".join(f"{k}: {v}" for k, v in shown.items()))
    return lines


def report_text(report: dict[str, Any]) -> str:
    """A run's report as plain text for the school's IT staff (the ``.report.txt``
    beside a dropped file)."""
    lines = [f"Import du {clock.now():%Y-%m-%d %H:%M} UTC : {summary(report)}", ""]
    for part in report.get("parts", []):
        lines.append(f"== {part['kind']} : {', '.join(part['files'])}")
        if part.get("error"):
            lines.append(f"Illisible, rien n'a été importé : {part['error']}")
        data = part.get("report") or {}
        lines += _figures(part["kind"], data)
        for r in data.get("rejected", []):
            lines.append(f"rejeté : {where_of(r)} : {r.get('who', '')} : {r.get('reason', '')}")
        for w in data.get("warnings", []):
            lines.append(f"attention : {w}")
        if data and not data.get("applied"):
            lines.append("Rien de ce fichier n'a été importé.")
        lines.append("")
    if report.get("passwords"):
        lines.append(f"Mots de passe initiaux des nouveaux comptes : {report['passwords']}")
    return "\n".join(lines) + "\n"
