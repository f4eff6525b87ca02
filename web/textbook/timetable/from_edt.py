"""Reading EDT's text export of courses, ``EXP_COURS.xml`` (Index Education; notes
§2.1).

Made in EDT by *Imports/Exports > TXT/CSV/XML/SQL > Exporter un fichier texte*, data
type *Cours*, format *XML*, "Nom complet des groupes et des parties" ticked. The root
is ``<TABLE nom="Cours">``; each ``<Cours numero="n">`` (or ``<Cours_annuels>``) has
the children ``NUMERO`` (the course's number), ``DUREE`` (``1h00``), ``FREQUENCE``
(``H`` every week, ``Q1``/``Q2`` one week out of two; older EDTs write ``ALT.``, newer
ones repeat it as ``ALTERNANCE``), ``MAT_CODE``, ``MAT_LIBELLE``, ``PROF_NOM``,
``PROF_PRENOM`` (co-teaching: several names separated by commas, in the same order in
both), ``CLASSE``, ``SALLE``, ``JOUR`` (``mardi``), ``H.DEBUT`` (``  13h30``, padded),
``CO-ENS.``, ``MODALITE``/``MOD.``, ``POND.``, ``EFFECTIF``.

``CLASSE`` lists the course's classes and groups, separated by commas, in EDT's
notation: ``4B`` a class, ``[4 ARTS2]`` a group (followed, with full names, by the parts
of classes it gathers: ``[4 ARTS2]<4 B> <SIECLE> 4 ARTS2``), ``<3D> <Dédoublement> 3D
GR2`` the part "3D GR2" of class 3D. Each class, group or part is one textbook.
"""

from __future__ import annotations

from dataclasses import replace

from davserver.errors import BadRequest

from .courses import Course, Slot, TeacherRef, Timetable, Where
from .detect import parse_xml
from .text import parse_clock, parse_duration, parse_week, parse_weekday


def split_outside_brackets(cell: str) -> list[str]:
    """``cell`` split on its commas that are outside ``[...]`` and ``<...>``."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in cell:
        if char in "[<":
            depth += 1
        elif char in "]>":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def audiences_of(cell: str) -> tuple[str, ...]:
    """The classes, groups and parts of classes named by EDT's ``CLASSE`` (or
    PRONOTE's ``Groupe``/``Partie de classe``), once each, in order: ``[G]...`` → G,
    ``<C> <partition> P`` → P (or C when no part is named), anything else as written."""
    found: list[str] = []
    for item in split_outside_brackets(cell):
        if item.startswith("["):
            name = item[1:item.find("]")] if "]" in item else item[1:]
        elif item.startswith("<"):
            tail = item[item.rfind(">") + 1:].strip()
            name = tail or item[1:item.find(">")]
        else:
            name = item
        name = " ".join(name.split())
        if name and name not in found:
            found.append(name)
    return tuple(found)


def teachers_of(last: str, first: str) -> tuple[TeacherRef, ...]:
    """``PROF_NOM``/``PROF_PRENOM`` → the course's teachers (co-teaching: names
    separated by commas, in the same order in both cells)."""
    lasts = [n.strip() for n in last.split(",")]
    firsts = [n.strip() for n in first.split(",")]
    found = []
    for index, name in enumerate(lasts):
        if name:
            given = firsts[index] if index < len(firsts) else ""
            found.append(TeacherRef.of_names(name, given))
    return tuple(found)


def _fields(element: object) -> dict[str, str]:
    found: dict[str, str] = {}
    for child in element:  # type: ignore[attr-defined]
        if isinstance(child.tag, str):
            found.setdefault(child.tag.upper(), (child.text or "").strip())
    return found


def _course(where: Where, fields: dict[str, str]) -> Course | str:
    """The course of one ``<Cours>``, or the reason it is left out on purpose (no
    class: a supervisor's permanence; no teacher)."""
    subject = fields.get("MAT_CODE") or fields.get("MAT_LIBELLE", "")
    if not subject:
        raise BadRequest("no subject (MAT_CODE and MAT_LIBELLE empty)")
    for name in ("JOUR", "H.DEBUT", "DUREE"):
        if not fields.get(name):
            raise BadRequest(f"no {name}")
    frequency = fields.get("FREQUENCE") or fields.get("ALTERNANCE") or fields.get("ALT.", "")
    slot = Slot(parse_weekday(fields["JOUR"]), parse_clock(fields["H.DEBUT"]),
                parse_duration(fields["DUREE"]), parse_week(frequency))
    audiences = audiences_of(fields.get("CLASSE", ""))
    teachers = teachers_of(fields.get("PROF_NOM", ""), fields.get("PROF_PRENOM", ""))
    if not audiences:
        return f"{where}: {subject} has no class or group (CLASSE empty): left out"
    if not teachers:
        return f"{where}: {subject} {', '.join(audiences)} has no teacher: left out"
    return Course(where, fields.get("MAT_CODE") or subject, teachers, audiences,
                  fields.get("SALLE", ""), slot=slot,
                  subject_name=fields.get("MAT_LIBELLE", ""), key=fields.get("NUMERO", ""))


def _merge(first: Course, other: Course) -> Course:
    teachers = first.teachers + tuple(t for t in other.teachers if t not in first.teachers)
    audiences = first.audiences + tuple(a for a in other.audiences
                                        if a not in first.audiences)
    return replace(first, teachers=teachers, audiences=audiences)


def read_edt(data: bytes, name: str = "EXP_COURS.xml") -> Timetable:
    """Every ``<Cours>`` as a course, a rejected element, or a warning (no class, no
    teacher). Rows of one ``NUMERO`` at the same time are one course (their teachers and
    classes gathered); an id (``numero``) seen twice is rejected the second time.
    Raises ``BadRequest`` for a file that is not well-formed XML or not EDT's courses."""
    root = parse_xml(data)
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag.upper() != "TABLE":
        raise BadRequest(f"the root element is <{tag}>, not EDT's <TABLE nom=\"Cours\">")
    result = Timetable("edt", name)
    seen: dict[str, int] = {}
    by_slot: dict[tuple[object, ...], int] = {}
    for element in root:
        if not isinstance(element.tag, str):
            continue
        if element.tag not in ("Cours", "Cours_annuels"):
            result.warnings.append(f"{name}, line {element.sourceline}: <{element.tag}> is "
                                   "not a course: left out")
            continue
        result.records += 1
        ident = element.get("numero") or ""
        fields = _fields(element)
        label = f'<{element.tag} numero="{ident}">' if ident else f"<{element.tag}>"
        where = Where(name, element.sourceline, label)
        if ident and ident in seen:
            result.reject(where, f"duplicate id: numero {ident} already at line {seen[ident]}")
            continue
        if ident:
            seen[ident] = element.sourceline or 0
        try:
            course = _course(where, fields)
        except BadRequest as exc:
            result.reject(where, exc.message)
            continue
        if isinstance(course, str):
            result.warnings.append(course)
            continue
        key = (course.key, course.slot, course.subject) if course.key else None
        if key is not None and key in by_slot:
            index = by_slot[key]
            result.courses[index] = _merge(result.courses[index], course)
            continue
        if key is not None:
            by_slot[key] = len(result.courses)
        result.courses.append(course)
    return result
