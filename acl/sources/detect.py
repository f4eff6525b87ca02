"""What a file is, from its content (never its name): which people export, or which
other kind of file, so that a wrong file gets a sentence saying what it looks like.

XML is told by its root element (``ficAlimMENESR``: AAF, with its category from the
first record; ``STS_EDT``: STS-web), CSV by its header line (compared as Open ENT NG
does, :func:`acl.directory.header_key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from davserver.errors import BadRequest

from ..directory import header_key
from ..people_csv import decode

HEAD = 64 * 1024
FORMATS = ("aaf", "siecle", "onde", "sts", "csv")
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*)[\s/>]")
_SKIP = re.compile(rb"^\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>)\s*", re.S)
_CATEGORY = re.compile(rb'"categorie[A-Za-z]*"\s*>\s*<value>\s*([A-Za-z]+)')
_CATEGORIES = {"MatEducNat": "MatiereEducNat", "MefEducNat": "MefEducNat"}
_TIMETABLE = ("use `davserver import timetable` for timetables")


@dataclass(frozen=True)
class Detected:
    """``format`` one of :data:`FORMATS`, or None with ``hint`` saying what the file
    looks like; ``detail`` names the part (an AAF category, an ONDE file)."""

    format: str | None
    detail: str = ""
    hint: str = ""


def _root(head: bytes) -> bytes | None:
    text = head.removeprefix(b"\xef\xbb\xbf")
    while (skipped := _SKIP.match(text)) and skipped.end() > 0:
        text = text[skipped.end():]
    found = _ROOT.match(text.lstrip())
    return found.group(1) if found else None


def _xml(head: bytes) -> Detected:
    root = _root(head)
    if root == b"ficAlimMENESR":
        found = _CATEGORY.search(head)
        category = found.group(1).decode() if found else ""
        return Detected("aaf", _CATEGORIES.get(category, category))
    if root == b"STS_EDT":
        return Detected("sts", "STS-web")
    hints = {
        b"EDT_STS": "the file EDT sends to STS-web (EDT_STS, emp_sts_*.xml), not the "
                    "STS-web export: give sts_emp_<UAI>_<year>.xml",
        b"TABLE": "an EDT timetable export (EXP_COURS.xml): " + _TIMETABLE,
        b"BEE_ELEVES": "a SIECLE XML export (ElevesSansAdresses.xml), which this version "
                       "does not read: give the SIECLE CSV extraction of the students",
        b"BEE_RESPONSABLES": "a SIECLE XML export (ResponsablesAvecAdresses.xml), which "
                             "this version does not read: give the SIECLE CSV extraction "
                             "(students with their legal representatives)",
        b"BEE_NOMENCLATURES": "SIECLE's nomenclatures, not people",
    }
    if root in hints:
        return Detected(None, hint=hints[root])
    if root is None:
        return Detected(None, hint="XML without a root element (empty or cut short?)")
    return Detected(None, hint=f"an XML file of an unknown kind (root element "
                               f"<{root.decode(errors='replace')}>)")


def csv_kind(keys: list[str]) -> Detected:
    """What a CSV header (its :func:`header_key` keys) is."""
    have = set(keys)
    if have & {"login", "identifiant"}:
        return Detected("csv", "people CSV")
    if {"nomeleve", "prenomeleve"} <= have:
        return Detected("onde", "students")
    if "directeur" in have and "classe" in have:
        return Detected("onde", "teachers")
    if "nomresponsable" in have and have & {"prenomenfant", "nomdefamilleenfant"}:
        return Detected("onde", "relatives")
    if have & {"jour", "day"} and have & {"heure", "debut", "start"}:
        return Detected(None, hint="a timetable (a day and an hour per row): " + _TIMETABLE)
    names = have & {"nom", "nomdefamille", "nomdusage"}
    firsts = have & {"prenom", "prenom1"}
    if names and firsts and (have & {"division", "codestructure", "classe", "classes", "ine"}
                             or any("resp" in k for k in have)):
        return Detected("siecle", "students")
    shown = ", ".join(k for k in keys if k)[:200]
    return Detected(None, hint=f"a CSV file whose columns are not a known export "
                               f"(columns: {shown or 'none'})")


def detect(path: Path) -> Detected:
    """What the file at ``path`` is (module docstring)."""
    with open(path, "rb") as f:
        head = f.read(HEAD)
    if not head.strip():
        return Detected(None, hint="an empty file")
    if head.startswith(b"%PDF"):
        return Detected(None, hint="a PDF document, not an export")
    if head.startswith(b"PK\x03\x04"):
        return Detected(None, hint="an archive inside an archive: unpack it first")
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if body.startswith(b"<"):
        return _xml(head)
    if body.upper().startswith(b"BEGIN:VCALENDAR"):
        return Detected(None, hint="an iCalendar file (a timetable or holidays): "
                                   + _TIMETABLE)
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Detected(None, hint="a binary file (or UTF-16 without its byte order mark: "
                                   "save it as UTF-8)")
    cut = head if len(head) < HEAD else head[:head.rfind(b"\n") + 1] or head
    try:
        text, _ = decode(cut)
    except BadRequest:  # its reader will name the undecodable byte and its line
        seen = _header_kind(cut.decode("latin-1"))
        return seen if seen.format else Detected("csv", "people CSV")
    return _header_kind(text)


def _header_kind(text: str) -> Detected:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(";,\t", key=first.count)
    return csv_kind([header_key(cell.strip().strip('"')) for cell in first.split(delimiter)])
