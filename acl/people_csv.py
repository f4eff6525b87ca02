"""Reading a people CSV file (``davserver import people``): encoding, delimiter,
columns and the checks one row allows on its own.

The file is the usual export of a French school's administration software
(SIECLE, ONDE, EDT...) reshaped to one person per row; the section "Importing
people" of ``docs/admin.md`` documents it. Rules:

* Encoding: UTF-16 when the file starts with its byte order mark, else UTF-8 (with
  or without BOM) decoded strictly, else Windows-1252, the superset of Latin-1 that
  spreadsheets write on Windows. No guessing library: valid UTF-8 is UTF-8, and every
  other French export is Windows-1252 or Latin-1, whose accented letters coincide.
* Delimiter: ``;``, ``,`` or tab, found by :class:`csv.Sniffer` on the header line
  (header names never contain one); quoting as spreadsheets write it (``"``).
* Header names are matched without case, accents or surrounding spaces, in French
  or English (:data:`HEADERS`); unknown columns are ignored with a warning.
* Multi-valued cells (classes, groups, subjects, children) separate values with
  ``|`` or ``,`` (quote such a cell in a comma-delimited file).
"""

from __future__ import annotations

import codecs
import csv
import enum
import io
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from davserver.errors import BadRequest, DomainError

from .models import Profile
from .people import _check_login


class Column(enum.StrEnum):
    """A column the import understands (its English code name)."""

    login = "login"
    last_name = "last_name"
    first_name = "first_name"
    profile = "profile"
    classes = "classes"
    groups = "groups"
    subjects = "subjects"
    children = "children"
    email = "email"


REQUIRED = (Column.login, Column.last_name, Column.first_name, Column.profile)

#: Accepted header names, compared after :func:`_key` (lower case, no accents).
HEADERS: dict[str, Column] = {
    "login": Column.login, "identifiant": Column.login,
    "nom": Column.last_name, "last_name": Column.last_name,
    "prenom": Column.first_name, "first_name": Column.first_name,
    "profil": Column.profile, "profile": Column.profile,
    "classe": Column.classes, "classes": Column.classes, "class": Column.classes,
    "groupes": Column.groups, "groups": Column.groups,
    "matieres": Column.subjects, "subjects": Column.subjects,
    "enfants": Column.children, "children": Column.children,
    "email": Column.email, "mail": Column.email, "courriel": Column.email,
}

#: Profile cell values, compared after :func:`_key`: French, then the code names.
PROFILES: dict[str, Profile] = {
    "eleve": Profile.student, "enseignant": Profile.teacher,
    "professeur": Profile.teacher, "parent": Profile.parent,
    "responsable": Profile.parent, "personnel": Profile.staff,
    "direction": Profile.head, "administrateur": Profile.admin,
    "inspecteur": Profile.inspector, **{p.value: p for p in Profile},
}

#: Profiles that may list subjects (what they teach or inspect).
SUBJECT_PROFILES = frozenset({Profile.teacher, Profile.inspector})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LIMITS = {"display name": 200, "email": 254, "class or group name": 100,
           "subject code": 32}


class MissingColumns(DomainError):
    """The header lacks required columns: nothing can be imported (exit status 2)."""

    status = 400


@dataclass(frozen=True)
class Rejected:
    """A row left out: its line number in the file (1 = header), login, why."""

    line: int
    login: str
    reason: str


@dataclass(frozen=True)
class PersonRow:
    """One accepted row. Multi-valued cells are tuples (empty when the cell or the
    column is empty; :attr:`PeopleFile.columns` tells which columns exist)."""

    line: int
    login: str
    display_name: str
    profile: Profile
    email: str | None
    classes: tuple[str, ...]
    groups: tuple[str, ...]
    subjects: tuple[str, ...]
    children: tuple[str, ...]
    first_name: str = ""
    last_name: str = ""


@dataclass
class PeopleFile:
    """A decoded file: the rows that passed the per-row checks, the rejected ones,
    every login the file mentions (rejected rows included: their people are not
    leavers), and notes for the operator."""

    encoding: str
    delimiter: str
    columns: frozenset[Column]
    rows: list[PersonRow] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    logins: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


def _key(text: str) -> str:
    """Lower case, accents removed, inner spaces and hyphens as ``_``."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text)
                    if not unicodedata.combining(c))
    return re.sub(r"[\s\-]+", "_", plain.strip().lower())


def decode(data: bytes) -> tuple[str, str]:
    """``(text, encoding name)`` of a file's bytes (module docstring for the rule).
    Raises ``BadRequest`` naming the line of a byte that no rule can decode."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "UTF-16"
    try:
        name = "UTF-8 with BOM" if data.startswith(codecs.BOM_UTF8) else "UTF-8"
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252 (Latin-1)"
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BadRequest(f"line {line}: byte 0x{data[exc.start]:02X} is neither UTF-8 "
                         "nor Windows-1252/Latin-1: save the file as UTF-8") from exc


def _delimiter(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return csv.Sniffer().sniff(header, delimiters=";,\t").delimiter
    except csv.Error:
        return ";"  # one column only: the missing-columns error says what is wrong


def _header(cells: list[str], out: PeopleFile) -> list[Column | None]:
    """Columns by position; raises ``MissingColumns`` or ``BadRequest``."""
    columns: list[Column | None] = []
    for cell in cells:
        column = HEADERS.get(_key(cell))
        if column is None and cell.strip():
            out.warnings.append(f"column {cell.strip()!r} ignored (not a known column)")
        if column is not None and column in columns:
            raise BadRequest(f"column {column.value!r} appears twice in the header")
        columns.append(column)
    missing = [c.value for c in REQUIRED if c not in columns]
    if missing:
        raise MissingColumns(
            "missing required column(s): " + ", ".join(missing) + " (header has: "
            + ", ".join(c.strip() for c in cells if c.strip()) + "; docs/admin.md, "
            "\"Importing people\", lists the names accepted)")
    return columns


def values(cell: str) -> tuple[str, ...]:
    """The values of a multi-valued cell, split on ``|`` and ``,``, stripped, empty
    ones dropped, duplicates removed (first occurrence kept)."""
    return tuple(dict.fromkeys(v.strip() for v in re.split(r"[|,]", cell) if v.strip()))


def _profile(cell: str) -> Profile:
    found = PROFILES.get(_key(cell))
    if found is None:
        accepted = "élève, enseignant, parent, personnel, direction, admin, inspecteur"
        codes = ", ".join(p.value for p in Profile)
        raise BadRequest(f"unknown profile {cell.strip()!r} (one of: {accepted}; or {codes})")
    return found


def _check_lengths(row: PersonRow) -> None:
    named = [("display name", row.display_name), ("email", row.email or "")]
    named += [("class or group name", n) for n in row.classes + row.groups]
    named += [("subject code", c) for c in row.subjects]
    for what, text in named:
        if len(text) > _LIMITS[what]:
            raise BadRequest(f"{what} longer than {_LIMITS[what]} characters: {text[:40]!r}...")


def _check_profile_cells(row: PersonRow) -> None:
    if row.profile is Profile.student and len(row.classes) > 1:
        raise BadRequest(f"a student belongs to one class, not {len(row.classes)} "
                         f"({', '.join(row.classes)})")
    if row.subjects and row.profile not in SUBJECT_PROFILES:
        raise BadRequest(f"subjects are listed for teachers and inspectors only, "
                         f"not for profile {row.profile.value!r}")
    if row.children and row.profile is not Profile.parent:
        raise BadRequest(f"children are listed on parent rows only, "
                         f"not for profile {row.profile.value!r}")
    if row.login in row.children:
        raise BadRequest("a parent cannot be their own child")


def _row(cells: dict[Column, str], line: int) -> PersonRow:
    """One row's values; raises ``BadRequest`` with the reason it is rejected."""
    login = cells.get(Column.login, "")
    if not login:
        raise BadRequest("empty login")
    _check_login(login)
    email = cells.get(Column.email) or None
    if email is not None and not _EMAIL.match(email):
        raise BadRequest(f"invalid email {email!r}")
    name = " ".join(p for p in (cells.get(Column.first_name), cells.get(Column.last_name)) if p)
    row = PersonRow(
        line=line, login=login, display_name=name or login,
        profile=_profile(cells.get(Column.profile, "")), email=email,
        classes=values(cells.get(Column.classes, "")),
        groups=values(cells.get(Column.groups, "")),
        subjects=values(cells.get(Column.subjects, "")),
        children=values(cells.get(Column.children, "")),
        first_name=cells.get(Column.first_name, ""), last_name=cells.get(Column.last_name, ""),
    )
    _check_profile_cells(row)
    _check_lengths(row)
    return row


def _cells(raw: list[str], columns: list[Column | None]) -> dict[Column, str]:
    extra = [c for c in raw[len(columns):] if c.strip()]
    if extra:
        raise BadRequest(f"{len(raw)} cells but the header has {len(columns)} columns")
    return {col: unicodedata.normalize("NFC", cell.strip())
            for col, cell in zip(columns, raw, strict=False) if col is not None}


def _reject_duplicates(out: PeopleFile) -> None:
    lines: dict[str, list[int]] = defaultdict(list)
    for row in out.rows:
        lines[row.login].append(row.line)
    for r in out.rejected:
        if r.login in lines:
            lines[r.login].append(r.line)
    twice = {login: sorted(ls) for login, ls in lines.items() if len(ls) > 1}
    for row in [r for r in out.rows if r.login in twice]:
        where = ", ".join(str(n) for n in twice[row.login])
        out.rejected.append(Rejected(row.line, row.login,
                                     f"login {row.login!r} appears on lines {where}"))
    out.rows = [r for r in out.rows if r.login not in twice]


def read_people(data: bytes) -> PeopleFile:
    """Decode and check a people CSV file's bytes (module docstring for the format).

    Returns the accepted rows and the rejected ones with their line numbers; the
    rows are not compared with the database yet (:func:`acl.import_people` does).
    Raises ``MissingColumns`` when required columns are absent, ``BadRequest`` when
    the file cannot be decoded, has a column twice or no data row.
    """
    text, encoding = decode(data)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    out = PeopleFile(encoding, delimiter, frozenset())
    columns = _header(header, out)
    out.columns = frozenset(c for c in columns if c is not None)
    at = columns.index(Column.login)
    seen = False
    try:
        for raw in reader:
            if not any(cell.strip() for cell in raw):
                continue
            seen = True
            login = unicodedata.normalize("NFC", raw[at].strip() if len(raw) > at else "")
            out.logins.add(login)
            try:
                out.rows.append(_row(_cells(raw, columns), reader.line_num))
            except BadRequest as exc:
                out.rejected.append(Rejected(reader.line_num, login, exc.message))
    except csv.Error as exc:
        raise BadRequest(f"line {reader.line_num}: unreadable CSV ({exc})") from exc
    if not seen:
        raise BadRequest("the file has a header but no rows: nothing to import "
                         "(an empty file would make every imported user a leaver)")
    _reject_duplicates(out)
    out.rejected.sort(key=lambda r: r.line)
    return out
