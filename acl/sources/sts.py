"""STS-web's export for timetable software, ``sts_emp_<UAI>_<year>.xml`` (root
``STS_EDT``): the school's teaching staff, subjects, classes (divisions), groups and
teaching services. (``EDT_STS``, the file EDT sends back to STS-web, is another.)

* ``PARAMETRES/UAJ`` is the school's UAI (an attribute ``CODE`` or the text): a file
  of another school is refused.
* ``NOMENCLATURES/MATIERES/MATIERE[@CODE]``: the national code (``061300``), with
  ``CODE_GESTION`` (``MATHS``, the code timetables use), ``LIBELLE_LONG``.
* ``DONNEES/INDIVIDUS/INDIVIDU[@ID][@TYPE]``: ``NOM_USAGE``, ``PRENOM``,
  ``DATE_NAISSANCE`` (``yyyy-mm-dd``), ``FONCTION`` (``ENS`` teaching, ``DOC``
  documentation: teachers; ``DIR``: head; others staff). The id of an ``epp``
  individual is the académie's and is kept as is (a teacher of two schools has the
  same); a ``local`` one is the school's, kept with its UAI in front.
* ``DONNEES/STRUCTURE/DIVISIONS/DIVISION[@CODE]`` and ``GROUPES/GROUPE[@CODE]``
  (``DIVISIONS_APPARTENANCE``): each ``SERVICES/SERVICE[@CODE_MATIERE]`` names its
  ``ENSEIGNANTS/ENSEIGNANT[@ID]``; teachers join the classes and groups they teach.

Read with lxml, the DTD not loaded, entities not expanded, the network off. The file
lists the teachers in full: teachers absent from it have left.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from lxml import etree

from ..directory import (
    Attr,
    Batch,
    Person,
    Ref,
    Rejection,
    ServiceSpec,
    SubjectInfo,
    Where,
    display_name,
)
from ..models import Profile
from .inputs import Input

_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False,
                   "huge_tree": False, "remove_comments": True}
_UAJ = re.compile(rb"<UAJ(?:\s+CODE\s*=\s*[\"']([0-9A-Za-z]{8})[\"'][^>]*)?>\s*([0-9A-Za-z]{8})?")
_PROFILES = {"ENS": Profile.teacher, "DOC": Profile.teacher, "DIR": Profile.head}


def _parse(item: Input) -> etree._ElementTree:
    parser = etree.XMLParser(**_PARSER_OPTIONS)  # type: ignore[arg-type]
    return etree.parse(str(item.path), parser)


def school_of(item: Input) -> dict[str, str | None]:
    """The UAI the file is for (``PARAMETRES/UAJ``), with no name; empty if absent."""
    with open(item.path, "rb") as f:
        found = _UAJ.search(f.read(64 * 1024))
    uai = (found.group(1) or found.group(2)) if found else None
    return {uai.decode().upper(): None} if uai else {}


def _text(elem: etree._Element, path: str) -> str:
    return " ".join((elem.findtext(path) or "").split())


def _birth(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date() if text else None
    except ValueError:
        return None


def _subjects(root: etree._Element) -> dict[str, SubjectInfo]:
    out = {}
    for m in root.iterfind("NOMENCLATURES/MATIERES/MATIERE"):
        code = (m.get("CODE") or "").strip()
        short = _text(m, "CODE_GESTION") or code
        name = _text(m, "LIBELLE_LONG") or _text(m, "LIBELLE_COURT") or short
        if code:
            out[code] = SubjectInfo(short, name, code if re.fullmatch(r"\d{6}", code) else None)
    return out


def _people(root: etree._Element, batch: Batch, uai: str) -> dict[str, Person]:
    people: dict[str, Person] = {}
    for ind in root.iterfind("DONNEES/INDIVIDUS/INDIVIDU"):
        ident = (ind.get("ID") or "").strip()
        where = Where(batch.name, ind.sourceline, f"INDIVIDU {ident}")
        last = _text(ind, "NOM_USAGE") or _text(ind, "NOM_PATRONYMIQUE")
        first = _text(ind, "PRENOM")
        if not ident or not last:
            batch.rejected.append(Rejection(where, display_name(first, last) or "?",
                                            "an individual without an ID or a name",
                                            Profile.teacher))
            continue
        if ident in people:
            batch.rejected.append(Rejection(where, display_name(first, last), f"ID {ident} "
                                            f"is also {people[ident].where}", Profile.teacher))
            continue
        local = (ind.get("TYPE") or "epp").lower() == "local"
        function = _text(ind, "FONCTION").upper()
        people[ident] = Person(
            key=f"sts:{ident}", profile=_PROFILES.get(function, Profile.staff if function
                                                      else Profile.teacher),
            where=where, last_name=last, first_name=first,
            display_name=display_name(first, last), birth_date=_birth(_text(ind,
                                                                            "DATE_NAISSANCE")),
            ids={"sts": f"{uai}:{ident}" if local else ident},
            carries=frozenset({Attr.names, Attr.birth_date, Attr.classes, Attr.groups,
                               Attr.subjects}))
    return people


def _services(root: etree._Element, batch: Batch, people: dict[str, Person],
              subjects: dict[str, SubjectInfo]) -> None:
    taught: dict[str, dict[str, list[str]]] = {k: {"classes": [], "groups": [], "subjects": []}
                                               for k in people}
    for path, kind in (("DONNEES/STRUCTURE/DIVISIONS/DIVISION", "classes"),
                       ("DONNEES/STRUCTURE/GROUPES/GROUPE", "groups")):
        for unit in root.iterfind(path):
            code = " ".join((unit.get("CODE") or "").split())
            if not code:
                continue
            label = _text(unit, "LIBELLE_LONG") or code
            (batch.classes if kind == "classes" else batch.groups)[code] = label
            for service in unit.iterfind("SERVICES/SERVICE"):
                national = (service.get("CODE_MATIERE") or "").strip()
                subject = subjects[national].code if national in subjects else national
                teachers = []
                for teacher in service.iterfind("ENSEIGNANTS/ENSEIGNANT"):
                    ident = (teacher.get("ID") or "").strip()
                    if ident not in people:
                        batch.warnings.append(f"{batch.name}:{teacher.sourceline}: teacher "
                                              f"{ident} of {code} is not among INDIVIDUS")
                        continue
                    teachers.append(people[ident].key)
                    taught[ident][kind].append(code)
                    taught[ident]["subjects"].append(subject)
                if teachers and subject:
                    batch.services.append(ServiceSpec(
                        code, subject, tuple(teachers), Where(batch.name, service.sourceline),
                        "class" if kind == "classes" else "group"))
    for ident, person in people.items():
        person.classes = tuple(dict.fromkeys(taught[ident]["classes"]))
        person.groups = tuple(dict.fromkeys(taught[ident]["groups"]))
        person.subjects = tuple(dict.fromkeys(taught[ident]["subjects"]))


def read(item: Input, uai: str | None) -> Batch:
    """The batch of one STS-web file for the school ``uai`` (module docstring)."""
    batch = Batch(item.name, "sts", description="STS-web export (sts_emp)",
                  profiles=frozenset({Profile.teacher}))
    try:
        root = _parse(item).getroot()
    except etree.XMLSyntaxError as exc:
        batch.error = (f"{item.name}: line {exc.lineno}: not well-formed XML ({exc.msg}): "
                       "the file is cut short or damaged")
        return batch
    batch.encoding = root.getroottree().docinfo.encoding
    named = next(iter(school_of(item)), None)
    if named and uai and named != uai:
        batch.error = (f"{item.name}: this STS-web export is for school {named}, "
                       f"not {uai}")
        return batch
    subjects = _subjects(root)
    batch.subjects = list(subjects.values())
    people = _people(root, batch, uai or named or "")
    _services(root, batch, people, subjects)
    batch.people = list(people.values())
    batch.seen = [Ref(key=p.key, ids=tuple(p.ids.items())) for p in batch.people]
    return batch
