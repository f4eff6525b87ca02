"""Importing a school's people from the national systems' exports and our own CSV
(``davserver import people``; the rules are in ``docs/admin.md``, "Importing people").

:func:`import_people` is the one entry point (the command, and later the drop folder
and the web page): files, folders or zip archives in; the format of each file
detected from its content (:mod:`acl.sources`); every source read into one model
(:mod:`acl.directory`); the school brought in line in one transaction
(:mod:`acl.people_sync`); an :class:`ImportReport` out.

A file is imported whole or not at all: one rejected record refuses the file (its
people are not leavers either), unless ``partial`` asks to leave out the rejected
records only. ``strict``: one rejection anywhere, nothing is imported. ``dry_run``
reports what would happen and changes nothing.

:func:`apply_people` applies one file read by :func:`acl.read_people` in the caller's
transaction, record by record (the former API, kept for scripts and tests).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from davserver import journal
from davserver.db import Database
from davserver.errors import BadRequest, NotFound

from .directory import Batch, Rejection, Where
from .models import Profile, School
from .people_csv import PeopleFile
from .people_sync import NewAccount, Synchronisation, SyncResult
from .schools import add_school, ensure_school, find_school, looks_like_uai
from .sources import Progress, SchoolContext, hints, read_batches
from .sources.inputs import BadInput, gather
from .sources.ours import batch_of

DEFAULT_SCHOOL = "Établissement"

@dataclass
class ImportOptions:
    """How to import. ``format``: ``auto`` (detect each file) or one of ``aaf``,
    ``siecle``, ``onde``, ``sts``, ``csv`` for every file. An import that changes
    something is recorded in the security journal (``davserver audit``) in its own
    transaction."""

    format: str = "auto"
    dry_run: bool = False
    partial: bool = False
    strict: bool = False
    progress: Progress | None = None


@dataclass
class FileReport:
    """One file of the run: its format, what it held, whether it was imported."""

    name: str
    format: str | None
    description: str = ""
    encoding: str | None = None
    details: str = ""
    records: int = 0
    rejected: int = 0
    applied: bool = True
    error: str | None = None
    """The file could not be read, or is not for this school."""
    refused: str | None = None
    """Why a readable file was not imported (its rejections, a file it depends on)."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do). The lists hold logins;
    ``profiles`` gives each one's profile in the school. ``moved``: students whose
    class changed (also in ``updated``). ``left``: people who left the school, among
    whom ``disabled`` are those no other school still has. ``applied`` is False when
    nothing was written (strict refusal)."""

    school: str
    school_uai: str | None = None
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    profiles: dict[str, Profile] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)
    accounts: list[NewAccount] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)
    classes: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    parent_links: int = 0
    services: dict[str, int] = field(default_factory=dict)
    applied: bool = True
    dry_run: bool = False

    def by_profile(self, logins: list[str]) -> dict[str, int]:
        """Counts of ``logins`` by profile (only profiles with some)."""
        return dict(sorted(Counter(self.profiles[login].value for login in logins).items()))

    def counts(self) -> dict[str, int]:
        """How many people were created, updated, moved, disabled and rejected (for the
        security journal)."""
        return {"created": len(self.created), "updated": len(self.updated),
                "moved": len(self.moved), "disabled": len(self.disabled),
                "rejected": len(self.rejected)}

    def rejected_by_profile(self) -> dict[str, int]:
        """Rejected records by profile (``unknown`` when the record does not say it)."""
        return dict(sorted(Counter(r.profile.value if r.profile else "unknown"
                                   for r in self.rejected).items()))

    def as_json(self) -> dict[str, Any]:
        """The report as one JSON object (``--json``): counts by profile, classes and
        groups with their members after the import, rejections with their place."""
        return {
            "school": {"name": self.school, "uai": self.school_uai},
            "dry_run": self.dry_run, "applied": self.applied,
            "created": self.by_profile(self.created),
            "updated": self.by_profile(self.updated),
            "moved": self.by_profile(self.moved),
            "disabled": self.by_profile(self.disabled),
            "left": self.by_profile(self.left),
            "unchanged": self.by_profile(self.unchanged),
            "classes": self.classes, "groups": self.groups,
            "parent_links": self.parent_links, "services": self.services,
            "rejected": [r.as_dict() for r in self.rejected],
            "rejected_by_profile": self.rejected_by_profile(),
            "warnings": self.warnings,
            "files": [f.as_dict() for f in self.files],
        }


# --- the former API: one CSV file, record by record ---------------------------------


def apply_people(session: Session, people: PeopleFile, school_id: int, *,
                 strict: bool = False, name: str = "people.csv",
                 progress: Callable[[], None] | None = None) -> ImportReport:
    """Apply a file read by :func:`acl.read_people` to school ``school_id`` in the
    caller's transaction, leaving out the rejected rows only (``strict``: with any
    rejected row, nothing is written and the report has ``applied`` False)."""
    school = session.get_one(School, school_id)
    batch = batch_of(name, people)
    sync = Synchronisation(session, school_id)
    rejected = sync.prepare([batch])
    report = ImportReport(school.name, school.uai, warnings=list(batch.warnings))
    report.rejected = sorted(batch.rejected + list(rejected.values()),
                             key=lambda r: (r.where.line or 0))
    if strict and report.rejected:
        report.applied = False
        return report
    step = (lambda _done, _total: progress()) if progress is not None else None
    _fill(report, sync.apply([batch], rejected, progress=step), sync)
    return report


def _fill(report: ImportReport, result: SyncResult, sync: Synchronisation) -> None:
    for outcome in result.outcomes:
        report.profiles[outcome.login] = outcome.profile
        {"created": report.created, "updated": report.updated,
         "unchanged": report.unchanged}[outcome.state].append(outcome.login)
        if outcome.moved:
            report.moved.append(outcome.login)
    for login, profile, disabled in result.left:
        report.profiles.setdefault(login, profile)
        report.left.append(login)
        if disabled:
            report.disabled.append(login)
    report.accounts = result.accounts
    report.warnings += result.warnings
    report.services = result.services
    report.classes, report.groups, report.parent_links = sync.figures()


# --- the entry point ---------------------------------------------------------------


def import_school(session: Session, name: str | None = None) -> tuple[int, str]:
    """``(id, name)`` of the school to import into. ``name`` is a UAI or a name
    (:func:`acl.find_school`); a name not known yet is created (a UAI must be added
    first, with its name: ``davserver school add``). Without ``name``: the deployment's
    only school, else a new one named :data:`DEFAULT_SCHOOL`. Raises ``BadRequest``
    when there are several schools and no name, or for an unknown UAI."""
    if name:
        try:
            found = session.get_one(School, find_school(session, name))
        except NotFound:
            if looks_like_uai(name):
                raise BadRequest(f"no school with UAI {name.strip().upper()}: add it "
                                 "first with `davserver school add NAME --uai "
                                 f"{name.strip().upper()}`") from None
            found = session.get_one(School, ensure_school(session, name))
        return found.id, found.name
    schools = list(session.scalars(select(School).order_by(School.name).limit(20)))
    if len(schools) > 1:
        raise BadRequest("several schools: choose one with --school (" +
                         ", ".join(repr(s.name) for s in schools) + ")")
    if not schools:
        return import_school(session, DEFAULT_SCHOOL)
    return schools[0].id, schools[0].name


def _choose_school(session: Session, school: str | int | None,
                   named: dict[str, str | None]) -> SchoolContext:
    """The school to import into and what readers need of it (``id`` None: a school
    the files name by UAI and the deployment lacks, to add with the files' name).
    ``named``: UAI → name of the schools the files name (AAF structures, STS-web)."""
    if isinstance(school, int):
        return _context(session, school)
    if school is None and len(named) > 1:
        known = [i for u in named if (i := _uai_id(session, u)) is not None]
        if len(known) != 1:
            raise BadRequest(f"the files name {len(named)} schools ("
                             + ", ".join(sorted(named)) + "): choose one with --school")
        return _context(session, known[0])
    if school is None and named:
        uai, name = next(iter(named.items()))
        found = _uai_id(session, uai)
        if found is not None:
            return _context(session, found)
        only = list(session.scalars(select(School).limit(2)))
        if len(only) == 1 and only[0].uai is None:  # the one school, made before its UAI
            return SchoolContext(only[0].id, only[0].name, uai, only[0].aaf_id)
        return SchoolContext(None, name or uai, uai, None)
    if school is not None and looks_like_uai(school):
        uai = school.strip().upper()
        if uai in named and _uai_id(session, uai) is None:
            return SchoolContext(None, named[uai] or uai, uai, None)
    if school is None and not session.scalar(select(School.id).limit(1)):
        return SchoolContext(None, DEFAULT_SCHOOL, None, None)
    if school is not None and not looks_like_uai(school):
        try:
            find_school(session, school)
        except NotFound:
            return SchoolContext(None, school, None, None)
    return _context(session, import_school(session, school)[0])


def _context(session: Session, school_id: int) -> SchoolContext:
    row = session.get_one(School, school_id)
    return SchoolContext(row.id, row.name, row.uai, row.aaf_id)


def _add_school(session: Session, context: SchoolContext) -> int:
    """Add the school a run chose but the deployment lacks (:func:`_choose_school`)."""
    if context.uai is not None:
        return add_school(session, context.name, uai=context.uai).id
    return ensure_school(session, context.name)


def _uai_id(session: Session, uai: str) -> int | None:
    return session.scalar(select(School.id).where(School.uai == uai.strip().upper()))


def _refuse(batches: list[Batch], rejected: dict[str, Rejection],
            options: ImportOptions) -> list[Batch]:
    """The batches to apply: a file with an error, or (unless ``partial``) with a
    rejected record, is left out whole, and so is a file that depends on one left out;
    ``strict``: nothing, if anything is rejected or refused."""
    refused = {b.name for b in batches if b.error is not None or (
        not options.partial and (b.rejected or any(p.key in rejected for p in b.people)))}
    while True:
        more = {b.name for b in batches if b.name not in refused
                and any(d in refused for d in b.depends_on)}
        if not more:
            break
        refused |= more
    if options.strict and (refused or rejected or any(b.rejected for b in batches)):
        return []
    return [b for b in batches if b.name not in refused]


class _Rollback(Exception):
    """Leaves the import's transaction without committing (dry run, strict refusal)."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("rolled back")
        self.report = report


def import_people(db: Database, files: Sequence[str | Path | tuple[str, bytes]],
                  school: str | int | None = None,
                  options: ImportOptions | None = None) -> ImportReport:
    """Import people from ``files`` (paths of files, folders or zip archives, or
    ``(name, bytes)`` pairs) into ``school`` (a UAI, a name or an id; None: the school
    the files name, or the only one). Raises :class:`acl.sources.inputs.BadInput` when
    an input cannot be read at all, ``BadRequest`` when the school cannot be told;
    everything else (a file of the wrong kind, a truncated file, bad records) is in the
    report, which the caller turns into an exit status."""
    options = options or ImportOptions()
    with gather(list(files)) as inputs:
        found = hints(inputs.files, options.format)
        with db.transaction(write=False) as s:
            context = _choose_school(s, school, found.schools)
        batches = read_batches(found, context, options.progress)
        try:
            with db.transaction() as s:
                school_id = context.id if context.id is not None else _add_school(s, context)
                report = _run(s, school_id, context, batches, options)
                if options.dry_run or not report.applied:
                    raise _Rollback(report)
                journal.record(s, journal.Kind.import_, school_id=school_id,
                               place=", ".join(Path(str(f)).name for f in files)[:200],
                               details={"what": "people", **report.counts()})
        except _Rollback as done:
            report = done.report
    return report


def _run(s: Session, school_id: int, context: SchoolContext, batches: list[Batch],
         options: ImportOptions) -> ImportReport:
    report = ImportReport(context.name, context.uai, dry_run=options.dry_run)
    sync = Synchronisation(s, school_id)
    rejected = sync.prepare(batches)
    applied = _refuse(batches, rejected, options)
    for batch in batches:
        mine = batch.rejected + [rejected[p.key] for p in batch.people if p.key in rejected]
        report.rejected += mine
        report.warnings += batch.warnings
        refused = None
        if batch.error is None and batch not in applied and not options.strict:
            refused = (f"{batch.name}: refused, nothing of it imported: " + (
                f"{len(mine)} record(s) rejected (--partial imports the others)" if mine
                else "it depends on " + ", ".join(batch.depends_on) + ", refused"))
        report.files.append(FileReport(
            batch.name, batch.format, batch.description, batch.encoding, batch.details,
            len(batch.people) + len(batch.rejected), len(mine), batch in applied,
            batch.error, refused))
    if options.strict and report.rejected:
        report.applied = False
        return report
    row = s.get_one(School, school_id)
    if context.aaf_id is not None:
        row.aaf_id = context.aaf_id
    if row.uai is None and context.uai is not None:  # the files tell the school's UAI
        row.uai = context.uai
    progress = options.progress
    step = (lambda done, total: progress("apply", done, total)) if progress else None
    _fill(report, sync.apply(applied, rejected, everyone=batches, progress=step), sync)
    return report


__all__ = ["DEFAULT_SCHOOL", "BadInput", "FileReport", "ImportOptions", "ImportReport",
           "NewAccount", "Where", "apply_people", "import_people", "import_school"]
