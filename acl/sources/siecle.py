"""SIECLE's CSV extraction of a secondary school's students (*Extractions > Élèves*),
with up to two legal representatives per row: ``;``, Latin-1, French headers that
vary with the columns the secretary picked (``Nom de famille`` or ``Nom``, ``Prénom
1``, ``Date de naissance``, ``INE``, ``Division`` or ``Code Structure``, ``Nom de
famille resp. légal1``, ``Prénom resp. légal1``, ``Courriel resp. légal1``...).

Headers are compared as Open ENT NG does (case, accents, spaces and punctuation
dropped). A representative's columns say ``resp``, ``représentant`` or ``légal`` and
end with their number, 1 or 2. The representatives are legal ones (SIECLE's
*responsables légaux*): each becomes a parent account, one per person across the
file (the same names and the same e-mail, mobile or address: a parent of siblings
appears on each child's row), linked to each of their children. The file lists the
school's students and their representatives in full: students and parents absent
from it have left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from davserver.errors import DomainError

from ..directory import Attr, Batch, Person, Ref, Rejection, Where, display_name, fold
from ..models import Profile
from ..people_csv import values
from .inputs import Input
from .text import Table, cell, read_table

LAST = ("nomdusage", "nomdefamille", "nom", "nomeleve")
FIRST = ("prenom1", "prenom", "prenomeleve")
BIRTH = ("datedenaissance", "datenaissance", "neele", "datenaiss")
INE = ("ine", "numeronational", "identifiantnational", "numeroine", "nine", "noine")
CLASS = ("division", "codestructure", "classe", "classes", "libelleclasse", "structure")
GROUPS = ("groupes", "groupe", "regroupements", "regroupement")
EMAIL = ("courriel", "mail", "email", "courrieleleve")
_REP = re.compile(r"^(?P<field>[a-z0-9]*?)(resp|representant)[a-z]*?(?P<n>[12])$")
_FIELDS = (("nomdusage", "usage"), ("nomdefamille", "last"), ("nom", "last"),
           ("prenom", "first"), ("courriel", "email"), ("mail", "email"),
           ("email", "email"), ("telportable", "mobile"), ("portable", "mobile"),
           ("telephoneportable", "mobile"), ("ligne1adresse", "address"),
           ("adresse", "address"), ("codepostal", "postcode"))


def parse_date(text: str) -> date | None:
    """A date written ``dd/mm/yyyy`` (SIECLE) or ``yyyy-mm-dd`` (ONDE); None when empty.
    Raises ``ValueError`` naming a value of another shape."""
    text = text.strip()
    if not text:
        return None
    for shape in ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y"):
        try:
            return datetime.strptime(text, shape).date()
        except ValueError:
            pass
    raise ValueError(f"birth date {text!r} is not a date (dd/mm/yyyy)")


def representative_columns(table: Table) -> dict[int, dict[str, int]]:
    """Representative number → field → column position (module docstring)."""
    out: dict[int, dict[str, int]] = {}
    for at, key in enumerate(table.keys):
        found = _REP.match(key) if ("resp" in key or "representant" in key) else None
        if found is None:
            continue
        prefix = found.group("field")
        name = next((f for start, f in _FIELDS if prefix.startswith(start)), None)
        if name is not None:
            out.setdefault(int(found.group("n")), {}).setdefault(name, at)
    return out


@dataclass
class _Parents:
    """The file's representatives, one per person."""

    batch: Batch
    by_key: dict[tuple[str, ...], Person] = field(default_factory=dict)
    with_email: bool = False

    def add(self, row: list[str], cols: dict[str, int], child: Person, where: Where) -> None:
        last = cell(row, cols.get("usage")) or cell(row, cols.get("last"))
        first = cell(row, cols.get("first"))
        if not last and not first:
            return
        email = cell(row, cols.get("email")) or None
        contact = fold(email or "") or re.sub(r"\D", "", cell(row, cols.get("mobile"))) \
            or fold(cell(row, cols.get("address")) + " " + cell(row, cols.get("postcode")))
        key = (fold(last), fold(first), contact)
        parent = self.by_key.get(key)
        if parent is None:
            carries = {Attr.names, Attr.children} | ({Attr.email} if "email" in cols else set())
            parent = Person(key=f"siecle-parent:{self.batch.name}:{len(self.by_key) + 1}",
                            profile=Profile.parent, where=where, last_name=last,
                            first_name=first, display_name=display_name(first, last),
                            email=email, carries=frozenset(carries))
            self.by_key[key] = parent
            self.batch.people.append(parent)
            self.batch.seen.append(Ref(key=parent.key))
        if all(ref.key != child.key for ref in parent.children):
            parent.children = (*parent.children, Ref(key=child.key))


def _student(table: Table, line: int, row: list[str], name: str) -> Person:
    last = cell(row, table.column(*LAST))
    first = cell(row, table.column(*FIRST))
    if not last or not first:
        raise ValueError("a student without a last name or a first name")
    birth_at = table.column(*BIRTH)
    klass = cell(row, table.column(*CLASS))
    carries = {Attr.names, Attr.classes}
    carries |= {Attr.birth_date} if birth_at is not None else set()
    email_at = table.column(*EMAIL)
    carries |= {Attr.email} if email_at is not None else set()
    groups_at = table.column(*GROUPS)
    carries |= {Attr.groups} if groups_at is not None else set()
    person = Person(key=f"siecle:{name}:{line}", profile=Profile.student,
                    where=Where(name, line), last_name=last, first_name=first,
                    display_name=display_name(first, last),
                    birth_date=parse_date(cell(row, birth_at)), email=cell(row, email_at) or None,
                    classes=(klass,) if klass else (), groups=values(cell(row, groups_at)),
                    carries=frozenset(carries))
    ine = cell(row, table.column(*INE)).upper()
    if ine:
        if not re.fullmatch(r"[0-9A-Z]{10,11}", ine):
            raise ValueError(f"INE {ine!r} is not a national student number (11 characters)"
                             + (": a spreadsheet turned it into a number?" if "E+" in ine
                                or "," in ine else ""))
        person.ids["ine"] = ine
    return person


def read(item: Input, detail: str = "") -> Batch:
    """The batch of one SIECLE CSV extraction (module docstring)."""
    batch = Batch(item.name, "siecle", description="SIECLE students' extraction (CSV)",
                  profiles=frozenset({Profile.student, Profile.parent}))
    try:
        table = read_table(item)
    except DomainError as exc:
        batch.error = f"{item.name}: {exc.message}"
        return batch
    batch.encoding, batch.details = table.encoding, f"delimiter {table.delimiter!r}"
    if table.column(*LAST) is None or table.column(*FIRST) is None:
        batch.error = (f"{item.name}: no student name columns (Nom de famille, Prénom 1; "
                       f"the header has {', '.join(h.strip() for h in table.header)})")
        return batch
    reps = representative_columns(table)
    if not reps:
        batch.warnings.append(f"{item.name}: no legal representative columns (Nom de "
                              "famille resp. légal1...): no parent accounts")
    parents = _Parents(batch)
    for line, row in table.rows:
        where = Where(item.name, line)
        try:
            student = _student(table, line, row, item.name)
        except ValueError as exc:
            who = " ".join(cell(row, table.column(*c)) for c in (FIRST, LAST)).strip()
            batch.rejected.append(Rejection(where, who or "?", str(exc), Profile.student))
            batch.seen.append(Ref(ids=(("ine", cell(row, table.column(*INE)).upper()),)))
            continue
        batch.people.append(student)
        batch.seen.append(Ref(key=student.key))
        for number in sorted(reps):
            parents.add(row, reps[number], student, where)
    return batch
