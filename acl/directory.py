"""What a people import reads, whatever the source: one model that every reader fills
(:mod:`acl.sources`) and the synchronisation applies to a school
(:mod:`acl.people_sync`).

A file becomes a :class:`Batch`: the people it lists (:class:`Person`), the classes,
groups and subjects it declares, the teaching services it gives, and what it rejected.
A person carries only what the source says (:attr:`Person.carries`): an attribute the
source does not carry is left as it is in the database (a manual change stays), and an
AAF *Delta* modification carries just the attributes it replaces.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from .models import Profile


class Attr(enum.StrEnum):
    """An attribute a record may carry."""

    names = "names"
    email = "email"
    birth_date = "birth_date"
    classes = "classes"
    groups = "groups"
    subjects = "subjects"
    children = "children"
    functions = "functions"


@dataclass(frozen=True)
class Where:
    """Where a record is: its file, line (1-based) and, in XML, its element."""

    file: str
    line: int | None = None
    element: str | None = None

    def __str__(self) -> str:
        place = self.file + (f":{self.line}" if self.line else "")
        return place + (f" ({self.element})" if self.element else "")

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "element": self.element}


@dataclass(frozen=True)
class Ref:
    """A reference to a person: a record of the same run (``key``), or someone already
    known (``ids``: kind → value; or ``login``), or, for sources without ids, a
    student of the school by name (and class or birth date when known)."""

    key: str | None = None
    ids: tuple[tuple[str, str], ...] = ()
    login: str | None = None
    last_name: str = ""
    first_name: str = ""
    group: str | None = None
    birth_date: date | None = None

    def describe(self) -> str:
        if self.login:
            return repr(self.login)
        if self.ids:
            return ", ".join(f"{kind} {value}" for kind, value in self.ids)
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return repr(name) + (f" ({self.group})" if self.group else "")


@dataclass
class Person:
    """One person of a source. ``key`` is unique within a run (``aaf:2605692``,
    ``csv:lea.girard``); ``ids`` are the external ids to keep on the account (kind →
    value, :class:`acl.models.ExternalId`); ``login`` is given by sources that name
    accounts (our CSV), else the import makes one. ``subjects`` are subject codes;
    ``children`` references to students. ``deleted``: an AAF deleteRequest (the person
    left the school). ``update_only``: an AAF modification, which updates an account
    but never makes one; with ``joins`` False it does not even make the account a
    member of the school (someone the record does not place here). ``add_children``:
    links to add, none taken away (a Delta names only the children it changes)."""

    key: str
    profile: Profile
    where: Where
    last_name: str = ""
    first_name: str = ""
    display_name: str = ""
    email: str | None = None
    birth_date: date | None = None
    ids: dict[str, str] = field(default_factory=dict)
    login: str | None = None
    classes: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    children: tuple[Ref, ...] = ()
    functions: tuple[str, ...] = ()
    carries: frozenset[Attr] = frozenset()
    deleted: bool = False
    update_only: bool = False
    joins: bool = True
    add_children: bool = False

    def who(self) -> str:
        """How messages name the person: their login when the source gives it, else
        their name."""
        return self.login or self.name()

    def name(self) -> str:
        """The display name: given, else "Prénom Nom", else the key."""
        return (self.display_name
                or " ".join(p for p in (self.first_name, self.last_name) if p) or self.key)


@dataclass(frozen=True)
class SubjectInfo:
    """A subject a source declares: its code (the one people and services use), name,
    and national code when known."""

    code: str
    name: str
    bcn_code: str | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """A teaching service: a class or group × a subject code × teachers (person keys);
    ``kind`` ``class`` or ``group`` says which the name is."""

    group: str
    subject: str
    teachers: tuple[str, ...]
    where: Where
    kind: str = "group"


@dataclass(frozen=True)
class Rejection:
    """A record left out, where it is, whom it names (a login, a name or an id), why,
    and the person's profile when known."""

    where: Where
    who: str
    reason: str
    profile: Profile | None = None
    """The person's profile when the record says it."""

    @property
    def line(self) -> int | None:
        return self.where.line

    @property
    def login(self) -> str:
        return self.who

    def __str__(self) -> str:
        return f"{self.where}: {self.who!r}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        return {**self.where.as_dict(), "who": self.who, "reason": self.reason,
                "profile": self.profile.value if self.profile else None}


@dataclass
class Batch:
    """What one file gave. ``profiles`` are the profiles it lists in full (people of
    those profiles absent from it have left); empty for a partial file (an AAF Delta).
    ``error`` set: the file could not be read, nothing of it is imported.
    ``school_uai`` and ``school_name``: the school the file says it is for."""

    name: str
    format: str
    encoding: str | None = None
    description: str = ""
    details: str = ""
    """What else the reader found (a CSV file's delimiter)."""
    people: list[Person] = field(default_factory=list)
    classes: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    subjects: list[SubjectInfo] = field(default_factory=list)
    services: list[ServiceSpec] = field(default_factory=list)
    profiles: frozenset[Profile] = frozenset()
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    school_uai: str | None = None
    school_name: str | None = None
    seen: list[Ref] = field(default_factory=list)
    """Every person the file names, rejected ones included: none of them is a leaver."""
    depends_on: list[str] = field(default_factory=list)
    """Names of batches without which this one is refused too (AAF relatives are
    placed in the school by the students' file)."""


def fold(text: str) -> str:
    """``text`` for comparing names: accents and case dropped, every run of other
    characters (spaces, hyphens, apostrophes) one space."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text)
                    if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain.lower()).split())


def header_key(text: str) -> str:
    """A column header as Open ENT NG compares them (``ProfileColumnsMapper.cleanKey``):
    byte order marks, case, accents, spaces and punctuation dropped (``" Cycle"`` and
    ``Prénom resp. légal1`` become ``cycle`` and ``prenomresplegal1``)."""
    return fold(text.replace("\ufeff", "")).replace(" ", "")


def display_name(first: str, last: str) -> str:
    """"Prénom Nom" from a source's names (either may be empty)."""
    return " ".join(p for p in (first.strip(), last.strip()) if p)
