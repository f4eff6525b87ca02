"""Readers of the people exports a French school has (``docs/admin.md``, "Importing
people"): each file's format is detected from its content (:mod:`.detect`), then read
by its reader into :class:`~acl.directory.Batch` objects:

* :mod:`.aaf`: AAF 2D XML (``ficAlimMENESR``), Complet then Delta files;
* :mod:`.siecle`: SIECLE's CSV extraction of students and legal representatives;
* :mod:`.onde`: ONDE's CSV extractions (students, teachers, relatives; primary schools);
* :mod:`.sts`: STS-web's ``sts_emp_<UAI>_<year>.xml`` (teachers, subjects, services);
* :mod:`.ours`: our own people CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from davserver.errors import DomainError

from ..directory import Batch
from ..people_csv import read_people
from . import aaf, onde, siecle, sts
from .detect import FORMATS, Detected, detect
from .inputs import BadInput, Input
from .ours import batch_of
from .text import read_csv_bytes

Progress = Callable[[str, int, int], None]
"""Called with (stage, done, total): ``read`` per file, ``apply`` per person."""


@dataclass
class SchoolContext:
    """The school a run imports into, as readers need it (``id`` None: not added
    yet). ``aaf_id``: its AAF structure id, learnt from an EtabEducNat file."""

    id: int | None
    name: str
    uai: str | None
    aaf_id: str | None


@dataclass
class Found:
    """The run's files with what each is, and the schools they name (UAI → name)."""

    files: list[tuple[Input, Detected]] = field(default_factory=list)
    schools: dict[str, str | None] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def hints(files: list[Input], forced: str = "auto") -> Found:
    """Detect each file (``forced``: one format for all) and the schools the files
    name. A named file that is not a people export raises :class:`BadInput` saying
    what it looks like; one found in a folder or archive is skipped with a note."""
    if forced != "auto" and forced not in FORMATS:
        raise BadInput(f"unknown format {forced!r}: auto, " + ", ".join(FORMATS))
    found = Found()
    for item in files:
        seen = detect(item.path)
        if forced != "auto" and seen.format != forced:
            seen = Detected(forced, seen.detail)
        if seen.format is None:
            message = f"{item.name}: this looks like {seen.hint}"
            if not item.found:
                raise BadInput(message)
            found.skipped.append(message + " (skipped)")
            continue
        found.files.append((item, seen))
        if seen.format == "aaf" and seen.detail == "EtabEducNat":
            found.schools.update(aaf.structures(item))
        elif seen.format == "sts":
            found.schools.update(sts.school_of(item))
    if not found.files:
        raise BadInput("no people export among the files: " + "; ".join(found.skipped))
    return found


def read_batches(found: Found, school: SchoolContext,
                 progress: Progress | None = None) -> list[Batch]:
    """Read every file of ``found`` for ``school``, AAF files together (they refer to
    each other), the others one by one. ``progress`` is called once per file."""
    report = progress
    total = len(found.files)
    batches: list[Batch] = []
    aaf_files = [(i, d) for i, d in found.files if d.format == "aaf"]
    if aaf_files:
        batches += aaf.read(aaf_files, school)
    for done, (item, seen) in enumerate(found.files, 1):
        if seen.format == "csv":
            batches.append(_ours(item))
        elif seen.format == "siecle":
            batches.append(siecle.read(item))
        elif seen.format == "onde":
            batches.append(onde.read(item, seen.detail))
        elif seen.format == "sts":
            batches.append(sts.read(item, school.uai))
        if report is not None:
            report("read", done, total)
    for note in found.skipped:
        if batches:
            batches[0].warnings.append(note)
    return batches


def _ours(item: Input) -> Batch:
    try:
        return batch_of(item.name, read_people(read_csv_bytes(item)))
    except DomainError as exc:  # the file's own problem: it is refused, others go on
        return Batch(item.name, "csv", error=f"{item.name}: {exc.message}")


__all__ = ["BadInput", "Found", "Input", "Progress", "SchoolContext", "hints",
           "read_batches"]
