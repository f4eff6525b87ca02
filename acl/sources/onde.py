"""ONDE's CSV extractions (primary schools; ex-Base Élèves 1er degré): three files,
ISO-8859-1, ``;``, every field quoted, CRLF, dates ``yyyy-mm-dd``.

* students (``Nom Elève``, ``Nom d'usage Elève``, ``Prénom Elève``, ``Date
  naissance``, ``" Cycle"`` with a leading space, ``Niveau``, ``Classe``...);
* teachers (``Civilité``, ``Nom usage``, ``Nom``, ``Prénom``, ``Courriel``...,
  ``Directeur`` ``oui``/``non``, ``Classe``): the director gets the head profile;
* relatives (thirteen columns about the person, then a block of four per child,
  ``Nom d'usage enfant``, ``Nom de famille enfant``, ``Prénom enfant``, ``Classes
  enfants``, repeated: rows have as many blocks as children, the header three).

Headers are compared as Open ENT NG does. ONDE gives no ids: students are found
again by names and birth date, teachers by names, relatives through their children;
a child is the student of the run (or of the school) with those names in that class.
Each file lists its profile in full.
"""

from __future__ import annotations

from davserver.errors import DomainError

from ..directory import Attr, Batch, Person, Ref, Rejection, Where, display_name
from ..models import Profile
from ..people_csv import values
from .inputs import Input
from .siecle import parse_date
from .text import Table, cell, read_table

_BLOCK = ("nomdusageenfant", "nomdefamilleenfant", "prenomenfant", "classesenfants")


def _students(table: Table, batch: Batch) -> None:
    last_at, usage_at = table.column("nomeleve"), table.column("nomdusageeleve")
    first_at, birth_at = table.column("prenomeleve"), table.column("datenaissance",
                                                                   "datedenaissance")
    class_at, ine_at = table.column("classe", "niveau"), table.column("ine")
    batch.profiles = frozenset({Profile.student})
    for line, row in table.rows:
        where = Where(batch.name, line)
        last = cell(row, usage_at) or cell(row, last_at)
        first = cell(row, first_at)
        try:
            if not last or not first:
                raise ValueError("a student without a last name or a first name")
            birth = parse_date(cell(row, birth_at))
        except ValueError as exc:
            batch.rejected.append(Rejection(where, display_name(first, last) or "?", str(exc),
                                            Profile.student))
            continue
        klass = cell(row, class_at)
        person = Person(key=f"onde:{batch.name}:{line}", profile=Profile.student,
                        where=where, last_name=last, first_name=first,
                        display_name=display_name(first, last), birth_date=birth,
                        classes=(klass,) if klass else (),
                        carries=frozenset({Attr.names, Attr.birth_date, Attr.classes}))
        if cell(row, ine_at):
            person.ids["ine"] = cell(row, ine_at).upper()
        batch.people.append(person)
        batch.seen.append(Ref(key=person.key))


def _teachers(table: Table, batch: Batch) -> None:
    batch.profiles = frozenset({Profile.teacher, Profile.head})
    email_at = table.column("courriel", "mail", "email")
    for line, row in table.rows:
        where = Where(batch.name, line)
        last = cell(row, table.column("nomusage")) or cell(row, table.column("nom"))
        first = cell(row, table.column("prenom"))
        if not last:
            batch.rejected.append(Rejection(where, first or "?", "a teacher without a name",
                                            Profile.teacher))
            continue
        head = cell(row, table.column("directeur")).lower() in ("oui", "o", "yes", "1")
        person = Person(key=f"onde:{batch.name}:{line}",
                        profile=Profile.head if head else Profile.teacher, where=where,
                        last_name=last, first_name=first,
                        display_name=display_name(first, last),
                        email=cell(row, email_at) or None,
                        classes=values(cell(row, table.column("classe"))),
                        carries=frozenset({Attr.names, Attr.classes}
                                          | ({Attr.email} if email_at is not None else set())))
        batch.people.append(person)
        batch.seen.append(Ref(key=person.key))


def _relatives(table: Table, batch: Batch) -> None:
    batch.profiles = frozenset({Profile.parent})
    start = min((table.keys.index(k) for k in _BLOCK[:2] if k in table.keys), default=None)
    email_at = table.column("courriel", "mail", "email")
    for line, row in table.rows:
        where = Where(batch.name, line)
        last = cell(row, table.column("nomusageresponsable")) or cell(
            row, table.column("nomresponsable"))
        first = cell(row, table.column("prenomresponsable"))
        children = []
        for at in range(start if start is not None else len(row), len(row), len(_BLOCK)):
            block = [cell(row, at + i) for i in range(len(_BLOCK))]
            child_last, child_first = block[0] or block[1], block[2]
            if child_last or child_first:
                children.append(Ref(last_name=child_last, first_name=child_first,
                                    group=block[3].split(",")[0].strip() or None))
        if not last or not children:
            batch.rejected.append(Rejection(where, display_name(first, last) or "?",
                                            "a relative without a name" if not last
                                            else "a relative without any child",
                                            Profile.parent))
            continue
        person = Person(key=f"onde:{batch.name}:{line}", profile=Profile.parent,
                        where=where, last_name=last, first_name=first,
                        display_name=display_name(first, last),
                        email=cell(row, email_at) or None, children=tuple(children),
                        carries=frozenset({Attr.names, Attr.children}
                                          | ({Attr.email} if email_at is not None else set())))
        batch.people.append(person)
        batch.seen.append(Ref(key=person.key))


def read(item: Input, detail: str) -> Batch:
    """The batch of one ONDE file; ``detail`` says which (``students``, ``teachers``,
    ``relatives``: :func:`acl.sources.detect.csv_kind`)."""
    batch = Batch(item.name, "onde", description=f"ONDE {detail} (CSV)")
    try:
        table = read_table(item)
    except DomainError as exc:
        batch.error = f"{item.name}: {exc.message}"
        return batch
    batch.encoding, batch.details = table.encoding, f"delimiter {table.delimiter!r}"
    {"students": _students, "teachers": _teachers, "relatives": _relatives}.get(
        detail, _students)(table, batch)
    return batch
