"""One import of some files into one school, whatever they hold: the code the web page
and the imports folder share with the commands (issue 24: "imported ... with the same
code and the same rules").

:func:`classify` tells each file's kind from its content: a timetable (EDT, UDT,
PRONOTE, our CSV or iCalendar), the ministry's holiday calendar, or people (AAF, SIECLE,
ONDE, STS-web, our CSV; zip archives too: an AAF delivery comes as one). :func:`run_files`
imports them in the order their data depend on: holidays first (they set the school
year), then people (one :func:`acl.import_people` call for all of them: AAF files refer
to each other), then each timetable (its teachers and classes are in the directory by
then). Each import is its own transaction, all or nothing per file as in the commands;
on a dry run nothing is written, and a timetable is checked against the directory as
it is (people of the same run are not there yet: the report warns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import acl
from davserver import journal
from davserver.db import Database
from davserver.errors import BadRequest, DomainError
from web.textbook import timetable as tt

Progress = Callable[[str, int, int], None]
"""Called with (stage, done, total): ``read``, ``apply`` (people), the timetable's and
the holidays' stages."""

KIND_ORDER = ("holidays", "people", "timetable")


@dataclass(frozen=True)
class Kind:
    """What a file is for: ``people``, ``timetable``, ``holidays``, or ``unknown`` with
    ``why`` saying what it looks like."""

    kind: str
    why: str = ""


def classify(name: str, data: bytes) -> Kind:
    """The kind of a file, from its content (never its name). A file neither a
    timetable nor the holiday calendar is taken for people: their import names what
    it looks like when it is not."""
    try:
        tt.detect_format(data)
        return Kind("timetable")
    except tt.WrongKind as exc:
        if "import holidays" in exc.message:
            return Kind("holidays")
        why = exc.message
    except BadRequest as exc:  # empty, undecodable: say so
        return Kind("unknown", exc.message)
    if "import people" in why or data.startswith(b"PK\x03\x04"):
        return Kind("people")
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return Kind("people")  # an XML the people readers know better (AAF, STS-web)
    return Kind("people") if b";" in data[:4096] or b"," in data[:4096] else Kind(
        "unknown", why)


@dataclass
class RunOptions:
    """``dry_run``; ``partial``: import a file's good records, reject the others;
    ``week_a``: a day of a week A for timetables; ``today``: the import date in the
    school's time zone (the caller's clock)."""

    today: date
    dry_run: bool = False
    partial: bool = False
    week_a: date | None = None


def _people_totals(report: dict[str, Any]) -> dict[str, int]:
    return {key: sum(report.get(key, {}).values())
            for key in ("created", "updated", "moved", "disabled")}


def part_of(kind: str, files: list[str], report: dict[str, Any] | None = None,
          error: str | None = None) -> dict[str, Any]:
    """One import of the run, as JSON: its kind, files, report or error, and the
    figures the confirmation sentence sums."""
    figures: dict[str, int] = {}
    applied = False
    if report is not None:
        applied = bool(report.get("applied"))
        rejected = report.get("rejected", [])
        figures["rejected"] = len(rejected)
        if kind == "people":
            figures.update(_people_totals(report))
        elif kind == "timetable":
            figures.update({k: int(report.get(k, 0)) for k in (
                "courses", "lessons_created", "lessons_moved", "lessons_updated",
                "lessons_cancelled", "lessons_deleted")})
            figures["lessons_kept"] = len(report.get("lessons_kept", []))
        elif kind == "holidays":
            figures["holidays"] = len(report.get("holidays", []))
    return {"kind": kind, "files": files, "report": report, "error": error,
            "applied": applied, "figures": figures}


def _school_ref(db: Database, school_id: int) -> str:
    with db.transaction(write=False) as s:
        school = s.get_one(acl.School, school_id)
        return school.uai or school.name


def _people(db: Database, files: list[tuple[str, bytes]], school_id: int,
            options: RunOptions, progress: Progress | None) -> tuple[dict[str, Any],
                                                                    list[acl.NewAccount]]:
    names = [n for n, _ in files]
    try:
        report = acl.import_people(db, files, school_id, acl.ImportOptions(
            dry_run=options.dry_run, partial=options.partial, progress=progress))
    except DomainError as exc:  # BadInput: nothing could be read; the school
        return part_of("people", names, error=exc.message), []
    data = report.as_json()
    errors = [f.error for f in report.files if f.error]
    part = part_of("people", names, data, "; ".join(errors) or None)
    accounts = report.accounts if report.applied and not options.dry_run else []
    return part, accounts


def _timetable(db: Database, name: str, data: bytes, school: str, options: RunOptions,
               progress: Progress | None, with_people: bool) -> dict[str, Any]:
    try:
        report = tt.import_timetable(db, tt.ImportSource(name, data), school,
                                     tt.TimetableOptions(today=options.today,
                                                         partial=options.partial,
                                                         dry_run=options.dry_run,
                                                         week_a=options.week_a),
                                     progress)
    except DomainError as exc:
        return part_of("timetable", [name], error=exc.message)
    out = report.as_dict()
    if with_people and options.dry_run:
        out["warnings"] = [*out.get("warnings", []), "dry run: the timetable was checked "
                           "against the directory as it is, without the people of this "
                           "import"]
    return part_of("timetable", [name], out)


def _holidays(db: Database, name: str, data: bytes, school: str, options: RunOptions,
              progress: Progress | None) -> dict[str, Any]:
    try:
        report = tt.import_holidays(db, tt.ImportSource(name, data), school,
                                    tt.HolidayOptions(today=options.today,
                                                      dry_run=options.dry_run), progress)
    except DomainError as exc:
        return part_of("holidays", [name], error=exc.message)
    return part_of("holidays", [name], report.as_dict())


def totals(parts: list[dict[str, Any]]) -> dict[str, int]:
    """The figures of every part added up (``created``, ``updated``, ``disabled``,
    ``rejected``, ``lessons_created``...)."""
    out: dict[str, int] = {}
    for part in parts:
        for key, value in part["figures"].items():
            out[key] = out.get(key, 0) + value
    return out


def run_files(db: Database, school_id: int, files: list[tuple[str, bytes]],
              options: RunOptions, progress: Progress | None = None,
              ) -> tuple[dict[str, Any], list[acl.NewAccount]]:
    """Import ``files`` (name, bytes) into ``school_id`` (module docstring). Returns
    the run's report, ``{"dry_run", "parts": [...], "totals": {...}, "failed"}`` (a
    part per import: ``kind``, ``files``, ``report`` as the command's ``--json``
    gives it, ``error`` when the files could not be read, ``applied``, ``figures``),
    and the accounts made with their initial passwords (none on a dry run). A file
    that cannot be read is reported (an ``unknown`` part, with why) and changes
    nothing; the others are imported. Never raises for the files' content."""
    kinds: dict[str, list[tuple[str, bytes]]] = {k: [] for k in KIND_ORDER}
    parts: list[dict[str, Any]] = []
    for name, data in files:
        found = classify(name, data)
        if found.kind == "unknown":
            parts.append(part_of("unknown", [name], error=f"{name}: {found.why}"))
        else:
            kinds[found.kind].append((name, data))
    school = _school_ref(db, school_id)
    accounts: list[acl.NewAccount] = []
    for name, data in kinds["holidays"]:
        parts.append(_holidays(db, name, data, school, options, progress))
    if kinds["people"]:
        part, accounts = _people(db, kinds["people"], school_id, options, progress)
        parts.append(part)
    for name, data in kinds["timetable"]:
        parts.append(_timetable(db, name, data, school, options, progress,
                                bool(kinds["people"])))
    failed = [p for p in parts if p["error"] and not p["report"]]
    if failed and not options.dry_run:
        journal.record_apart(db, journal.Kind.import_, outcome=journal.Outcome.failure,
                             school_id=school_id,
                             place=", ".join(n for p in failed for n in p["files"])[:200],
                             details={"what": "unreadable", "error": failed[0]["error"][:300]})
    return {"dry_run": options.dry_run, "parts": parts, "totals": totals(parts),
            "failed": len(failed)}, accounts


def summary(report: dict[str, Any]) -> str:
    """One line in French for a run's report ("3 créés, 1 mis à jour, 1 désactivé,
    2 rejetés"), as the page and the notification say it."""
    t = report.get("totals", {})
    bits = []
    for key, one, many in (("created", "créé", "créés"), ("updated", "mis à jour",
                                                          "mis à jour"),
                           ("moved", "changé de classe", "changés de classe"),
                           ("disabled", "désactivé", "désactivés"),
                           ("courses", "cours", "cours"),
                           ("lessons_created", "séance créée", "séances créées"),
                           ("lessons_cancelled", "séance annulée", "séances annulées"),
                           ("holidays", "période de vacances", "périodes de vacances"),
                           ("rejected", "rejeté", "rejetés")):
        n = t.get(key, 0)
        if n:
            bits.append(f"{n} {one if n == 1 else many}")
    if report.get("failed"):
        bits.append(f"{report['failed']} fichier(s) illisible(s)")
    return ", ".join(bits) or "aucun changement"
