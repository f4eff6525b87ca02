"""AAF 2D files (*annuaire fédérateur*, ``ficAlimMENESR`` XML), as académies deliver
them to secondary schools' ENTs: one file per category (``EtabEducNat`` structures,
``MatiereEducNat`` subjects, ``Eleve`` students, ``PersRelEleve`` relatives,
``PersEducNat`` staff; ``MefEducNat`` is not needed), numbered ``_0000``, ``_0001``...
for big ones; *Complet* files list everyone, *Delta* files carry ``addRequest``,
``modifyRequest`` (attributes replaced) and ``deleteRequest`` records.

Reading: lxml, iteratively (``iterparse``; a delivery covers every school of an
académie), with the DTD not loaded, entities not expanded and the network off; each
file's own XML declaration gives its encoding (UTF-8 without one). A file that is not
well-formed (cut short, a wrong encoding) is refused whole, naming the line.

Values (Open ENT NG's feeder and Laclasse's synchroniser read them the same way):
multi-valued attributes repeat ``<value>``; references carry the structure's id in
front, ``$``-separated: ``ENTEleveClasses`` ``52006$4B``, ``ENTAuxEnsClassesMatieres``
``52006$4B$061300`` (structure, class, subject's national code),
``ENTPersonFonctions`` ``52006$DIR$DIRECTION$D0010$CHEF D'ETABLISSEMENT``,
``ENTElevePersRelEleve`` ``relative id$link$financial$legal$contact$payment``. Only
the fourth field ``1`` makes a legal representative, who gets a parent account (Open
ENT NG's rule; ``2`` is a *personne en charge*). A person belongs to the school when
one of their references names its structure (found by its UAI in EtabEducNat, or
remembered from an earlier import); a staff member's profile there comes from their
functions there (DIR: head; ENS, DOC: teacher; others: staff) or, without any, from
``ENTPersonCategorieEnseignant``, ``PersEducNatPresenceDevantEleves`` and their
services. Complet files come first, then Delta files by the date in their name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

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
from .detect import Detected
from .inputs import Input

if TYPE_CHECKING:
    from . import SchoolContext

CATEGORIES = ("EtabEducNat", "MatiereEducNat", "MefEducNat", "Eleve", "PersRelEleve",
              "PersEducNat")
_REQUESTS = ("addRequest", "modifyRequest", "deleteRequest")
_DATE_IN_NAME = re.compile(r"_(\d{8})_")
STAFF_PROFILES = frozenset({Profile.teacher, Profile.staff, Profile.head})
_PROFILE_OF = {"Eleve": Profile.student, "PersRelEleve": Profile.parent}
_PLACING = frozenset({"ENTAuxEnsClasses", "ENTAuxEnsGroupes", "ENTAuxEnsClassesMatieres",
                      "ENTAuxEnsGroupesMatieres", "ENTPersonFonctions",
                      "ENTPersonStructRattach"})
"""Staff attributes that place a person in structures: a modification of them that no
longer names the school takes the person out of it."""


class AafFileError(Exception):
    """A file that cannot be read (not well-formed XML, a wrong encoding)."""


@dataclass
class Record:
    """One request of a file: ``op`` add, modify or delete; ``attrs`` name → values
    (all of them for an add, the replaced ones for a modify)."""

    op: str
    id: str
    category: str
    attrs: dict[str, list[str]]
    line: int

    def one(self, name: str) -> str:
        values = self.attrs.get(name) or []
        return values[0] if values else ""

    def many(self, name: str) -> list[str]:
        return list(dict.fromkeys(self.attrs.get(name) or []))


def _values(attr: etree._Element) -> list[str]:
    return [v.text.strip() for v in attr.iterfind("value") if v.text and v.text.strip()]


def records(item: Input, category: str = "") -> Iterator[Record]:
    """The requests of one AAF file, in order (module docstring for how it is read).
    Raises :class:`AafFileError` naming the line where the file stops being XML."""
    try:
        for _, elem in etree.iterparse(str(item.path), events=("end",), tag=_REQUESTS,
                                       resolve_entities=False, no_network=True,
                                       load_dtd=False, remove_comments=True,
                                       remove_pis=True, huge_tree=False):
            yield _record(elem, category)
            elem.clear()
            parent = elem.getparent()
            while parent is not None and elem.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 0)
        raise AafFileError(f"line {line}: not well-formed XML ({exc.msg}): the file is "
                           "cut short or damaged; nothing of it was imported") from None
    except OSError as exc:
        raise AafFileError(f"cannot read: {exc}") from None


def _record(elem: etree._Element, category: str) -> Record:
    op = {"addRequest": "add", "modifyRequest": "modify", "deleteRequest": "delete"}[
        str(elem.tag)]
    attrs: dict[str, list[str]] = {}
    for attr in elem.iterfind("attributes/attr"):
        attrs[attr.get("name", "")] = _values(attr)
    for mod in elem.iterfind("modifications/modification"):
        attrs[mod.get("name", "")] = _values(mod)
    for attr in elem.iterfind("operationalAttributes/attr"):
        if (attr.get("name") or "").startswith("categorie"):
            category = (_values(attr) or [category])[0]
            category = {"MatEducNat": "MatiereEducNat"}.get(category, category)
    category = (attrs.get("categoriePersonne") or [category])[0]
    ident = (elem.findtext("identifier/id") or "").strip()
    return Record(op, ident, category, attrs, elem.sourceline or 0)


# --- structures ----------------------------------------------------------------------


@dataclass
class Structure:
    """An EtabEducNat record: the structure id (jointure), UAI, name, and the classes
    and groups it declares (code → label)."""

    id: str
    uai: str
    name: str
    classes: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)


def _structure(rec: Record) -> Structure:
    name = rec.one("ENTStructureNomCourant").replace("$", " ").strip()
    name = re.sub(r"-ac-[A-Z\- ]+$", "", name).strip()
    uai = (rec.one("ENTStructureUAI") or rec.one("ENTEtablissementUAI")).upper()
    out = Structure(rec.one("ENTStructureJointure") or rec.id, uai, name or uai)
    for attr, target in (("ENTStructureClasses", out.classes),
                         ("ENTStructureGroupes", out.groups)):
        for value in rec.many(attr):
            code, _, label = value.partition("$")
            if code.strip():
                target[code.strip()] = label.split("$")[0].strip() or code.strip()
    return out


def structures(item: Input) -> dict[str, str | None]:
    """UAI → name of the structures of an EtabEducNat file (empty when unreadable:
    the reader reports it)."""
    try:
        return {s.uai: s.name for s in (_structure(r) for r in records(item, "EtabEducNat")
                                        if r.op != "delete") if s.uai}
    except AafFileError:
        return {}


# --- people --------------------------------------------------------------------------


def _parse_date(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


def _mine(values: list[str], structure: str, parts: int = 2) -> list[list[str]]:
    """The values of ``values`` that name ``structure`` first, split on ``$``."""
    out = []
    for value in values:
        split = value.split("$")
        if split[0].strip() == structure and len(split) >= parts:
            out.append([p.strip() for p in split])
    return out


@dataclass
class _Run:
    """Reading one AAF set for one school."""

    school: SchoolContext
    structure: Structure | None = None
    subjects: dict[str, str] = field(default_factory=dict)
    legal: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    """relative id → keys of this school's students whose legal representative they are"""
    relatives_read: set[str] = field(default_factory=set)
    complete_students: bool = False
    seen_add: dict[str, Where] = field(default_factory=dict)


def _names(person: Person, rec: Record) -> None:
    person.last_name = rec.one("sn") or rec.one("ENTPersonNomPatro")
    person.first_name = rec.one("givenName")
    person.display_name = display_name(person.first_name, person.last_name)


def _common(rec: Record, where: Where, profile: Profile, carries: set[Attr]) -> Person:
    person = Person(key=f"aaf:{rec.id}", profile=profile, where=where,
                    ids={"aaf": rec.id})
    if rec.op == "add" or {"sn", "givenName"} & rec.attrs.keys():
        _names(person, rec)
        carries.add(Attr.names)
    if "mail" in rec.attrs:
        person.email = rec.one("mail") or None
        carries.add(Attr.email)
    if "ENTPersonDateNaissance" in rec.attrs:
        person.birth_date = _parse_date(rec.one("ENTPersonDateNaissance"))
        carries.add(Attr.birth_date)
    return person


def _student(run: _Run, rec: Record, where: Where, batch: Batch) -> Person | None:
    sid = run.structure.id if run.structure else ""
    classes = [p[1] for p in _mine(rec.many("ENTEleveClasses"), sid)]
    groups = [p[1] for p in _mine(rec.many("ENTEleveGroupes"), sid)]
    attached = rec.one("ENTPersonStructRattach") == sid
    ours = bool(classes or groups or attached)
    if rec.op == "modify" and not ours and not {"ENTEleveClasses", "ENTPersonStructRattach"} \
            & rec.attrs.keys():
        return _partial(rec, where, Profile.student) if _changes_names(rec) else None
    if not ours:  # a modification that takes the student out of the school
        return Person(key=f"aaf:{rec.id}", profile=Profile.student, where=where,
                      ids={"aaf": rec.id}, deleted=True) if rec.op == "modify" else None
    carries: set[Attr] = set()
    person = _common(rec, where, Profile.student, carries)
    person.update_only = rec.op == "modify"
    if rec.op == "add" and not person.last_name:
        batch.rejected.append(Rejection(where, rec.id, "a student without a name (sn)",
                                                Profile.student))
        return None
    ine = rec.one("ENTEleveINE")
    if ine:
        person.ids["ine"] = ine.upper()
    if "ENTEleveClasses" in rec.attrs or rec.op == "add":
        person.classes = tuple(dict.fromkeys(classes))
        carries.add(Attr.classes)
    if "ENTEleveGroupes" in rec.attrs or rec.op == "add":
        person.groups = tuple(dict.fromkeys(groups))
        carries.add(Attr.groups)
    for klass in person.classes:
        if run.structure and run.structure.classes and klass not in run.structure.classes:
            batch.warnings.append(f"{where}: class {klass!r} is not among the classes "
                                  f"EtabEducNat declares for {run.school.uai}")
    for relative in _legal_relatives(rec):
        run.legal[relative].append(person.key)
    person.carries = frozenset(carries)
    return person


def _legal_relatives(rec: Record) -> list[str]:
    """Ids of the student's legal representatives (module docstring); files older than
    ``ENTElevePersRelEleve`` list them in ``ENTEleveAutoriteParentale``."""
    links = rec.many("ENTElevePersRelEleve")
    if links:
        return [p[0] for p in (v.split("$") for v in links) if len(p) >= 4 and p[3] == "1"]
    return rec.many("ENTEleveAutoriteParentale")


def _changes_names(rec: Record) -> bool:
    return bool({"sn", "givenName", "mail", "ENTPersonDateNaissance"} & rec.attrs.keys())


def _partial(rec: Record, where: Where, profile: Profile) -> Person:
    """A Delta modification of someone the school may know: updates, never creates."""
    carries: set[Attr] = set()
    person = _common(rec, where, profile, carries)
    person.carries = frozenset(carries)
    person.update_only, person.joins = True, False
    return person


def _staff_profile(rec: Record, sid: str, functions: list[list[str]], teaches: bool) -> Profile:
    codes = {f[1].upper() for f in functions if len(f) > 1}
    if "DIR" in codes or _mine(rec.many("ENTEnsFonctionDir"), sid, 1):
        return Profile.head
    if codes & {"ENS", "DOC"}:
        return Profile.teacher
    if codes:
        return Profile.staff
    category = rec.one("ENTPersonCategorieEnseignant").upper()
    if category in ("O", "N"):
        return Profile.teacher if category == "O" else Profile.staff
    if rec.one("PersEducNatPresenceDevantEleves").upper() == "O" or teaches:
        return Profile.teacher
    return Profile.staff


def _staff(run: _Run, rec: Record, where: Where, batch: Batch) -> Person | None:
    sid = run.structure.id if run.structure else ""
    services = [(p[1], p[2], Profile.teacher) for p in
                _mine(rec.many("ENTAuxEnsClassesMatieres"), sid, 3)]
    group_services = [(p[1], p[2]) for p in _mine(rec.many("ENTAuxEnsGroupesMatieres"), sid, 3)]
    classes = [p[1] for p in _mine(rec.many("ENTAuxEnsClasses"), sid)] + [
        s[0] for s in services]
    groups = [p[1] for p in _mine(rec.many("ENTAuxEnsGroupes"), sid)] + [
        g for g, _ in group_services]
    functions = _mine(rec.many("ENTPersonFonctions"), sid, 2)
    ours = bool(classes or groups or functions or rec.one("ENTPersonStructRattach") == sid
                or _mine(rec.many("ENTAuxEnsClassesPrincipal"), sid))
    if not ours:
        if rec.op == "modify" and _PLACING & rec.attrs.keys():
            return Person(key=f"aaf:{rec.id}", profile=Profile.teacher, where=where,
                          ids={"aaf": rec.id}, deleted=True)
        if rec.op == "modify" and _changes_names(rec):
            return _partial(rec, where, Profile.teacher)
        return None
    profile = _staff_profile(rec, sid, functions, bool(services or group_services))
    carries: set[Attr] = set()
    person = _common(rec, where, profile, carries)
    person.update_only = rec.op == "modify"
    if rec.op == "add" and not person.last_name:
        batch.rejected.append(Rejection(where, rec.id, "a person without a name (sn)"))
        return None
    person.classes = tuple(dict.fromkeys(classes))
    person.groups = tuple(dict.fromkeys(groups))
    person.subjects = tuple(dict.fromkeys([s[1] for s in services]
                                          + [s for _, s in group_services]))
    person.functions = tuple(dict.fromkeys(
        (f[4] if len(f) > 4 and f[4] else f[2] if len(f) > 2 else f[1]) for f in functions))
    carries |= {Attr.classes, Attr.groups, Attr.subjects, Attr.functions}
    person.carries = frozenset(carries)
    for klass, subject, _ in services:
        batch.services.append(ServiceSpec(klass, subject, (person.key,), where, "class"))
    for group, subject in group_services:
        batch.services.append(ServiceSpec(group, subject, (person.key,), where, "group"))
    return person


def _relative(run: _Run, rec: Record, where: Where) -> Person | None:
    children = run.legal.get(rec.id)
    if rec.op == "modify" and not children:
        return _partial(rec, where, Profile.parent) if _changes_names(rec) else None
    if not children:
        return None
    carries: set[Attr] = set()
    person = _common(rec, where, Profile.parent, carries)
    person.children = tuple(Ref(key=k) for k in dict.fromkeys(children))
    person.carries = frozenset(carries | ({Attr.children} if run.complete_students else set()))
    person.add_children = not run.complete_students
    run.relatives_read.add(rec.id)
    return person


# --- one set -------------------------------------------------------------------------


def _is_delta(item: Input) -> bool:
    """A Delta file: so named, or with modifications or deletions near its start."""
    if "delta" in item.name.lower():
        return True
    with open(item.path, "rb") as f:
        head = f.read(64 * 1024)
    return b"<modifyRequest" in head or b"<deleteRequest" in head


def _order(item: Input, seen: Detected, delta: bool) -> tuple[int, str, str]:
    """Sort key: Complet before Delta, Deltas by the date in their name, categories in
    dependency order."""
    dated = _DATE_IN_NAME.search(item.name)
    order = CATEGORIES.index(seen.detail) if seen.detail in CATEGORIES else len(CATEGORIES)
    return (1 if delta else 0, dated.group(1) if delta and dated else "",
            f"{order}{item.name}")


def read(files: list[tuple[Input, Detected]], school: SchoolContext) -> list[Batch]:
    """The batches of an AAF set for ``school`` (module docstring), Complet first. The
    structures and subjects are read first; then each file of people is read as a
    stream, keeping only this school's people. A set that does not name the school (no
    EtabEducNat record with its UAI, and no id remembered from an earlier import) gives
    batches with an error."""
    deltas = {item.name: _is_delta(item) for item, _ in files}
    ordered = sorted(files, key=lambda f: _order(f[0], f[1], deltas[f[0].name]))
    run = _Run(school)
    errors = _find_structure(run, ordered)
    run.complete_students = any(seen.detail == "Eleve" and not deltas[item.name]
                                for item, seen in ordered)
    batches = [_batch(run, item, seen, deltas[item.name], errors.get(item.name))
               for item, seen in ordered]
    _absent_relatives(run, batches)
    students = [b.name for b in batches if b.description == "AAF Eleve (Complet)"]
    for batch in batches:
        if batch.description.startswith("AAF PersRelEleve"):
            batch.depends_on = list(students)
    return batches


def _find_structure(run: _Run, files: list[tuple[Input, Detected]]) -> dict[str, str]:
    """Read the structures and subjects (small files); the errors by file name."""
    errors = {}
    for item, seen in files:
        if seen.detail not in ("EtabEducNat", "MatiereEducNat"):
            continue
        try:
            for rec in records(item, seen.detail):
                if rec.category == "EtabEducNat" and rec.op != "delete":
                    found = _structure(rec)
                    if (run.school.uai and found.uai == run.school.uai) or (
                            run.school.aaf_id and found.id == run.school.aaf_id):
                        run.structure = found
                elif rec.category == "MatiereEducNat" and rec.op != "delete":
                    code = rec.one("ENTMatJointure") or rec.id
                    run.subjects[code] = rec.one("ENTLibelleMatiere") or code
        except AafFileError as exc:
            errors[item.name] = f"{item.name}: {exc}"
    if run.structure is None and run.school.aaf_id:
        run.structure = Structure(run.school.aaf_id, run.school.uai or "", run.school.name)
    if run.structure is not None:
        run.school.aaf_id = run.structure.id
    return errors


def _batch(run: _Run, item: Input, seen: Detected, delta: bool, error: str | None) -> Batch:
    category = seen.detail
    batch = Batch(item.name, "aaf", description=f"AAF {category} "
                  f"({'Delta' if delta else 'Complet'})", error=error)
    if error:
        return batch
    if run.structure is None:
        batch.error = (f"{item.name}: the AAF files do not name school "
                       f"{run.school.uai or run.school.name} (no EtabEducNat record with its "
                       "UAI): add the EtabEducNat file, or choose another school")
        return batch
    if category == "EtabEducNat":
        batch.classes, batch.groups = dict(run.structure.classes), dict(run.structure.groups)
    if category == "MatiereEducNat" or category == "PersEducNat":
        batch.subjects = [SubjectInfo(code, name, code) for code, name in run.subjects.items()]
    if category == "MefEducNat":
        batch.warnings.append(f"{item.name}: MefEducNat is not needed (formations are not "
                              "kept): skipped")
    if category in ("Eleve", "PersRelEleve", "PersEducNat") and not delta:
        batch.profiles = frozenset({"Eleve": {Profile.student},
                                    "PersRelEleve": {Profile.parent},
                                    "PersEducNat": STAFF_PROFILES}[category])
    if category in ("Eleve", "PersRelEleve", "PersEducNat") or not category:
        try:
            _people(run, batch, records(item, category))
        except AafFileError as exc:  # nothing of a file that stops being XML
            batch.error = f"{item.name}: {exc}"
            dropped = {p.key for p in batch.people}
            for relative, children in list(run.legal.items()):
                run.legal[relative] = [k for k in children if k not in dropped]
            batch.people, batch.services, batch.seen, batch.rejected = [], [], [], []
    return batch


def _people(run: _Run, batch: Batch, recs: Iterable[Record]) -> None:
    readers = {"Eleve": _student, "PersEducNat": _staff}
    for rec in recs:
        where = Where(batch.name, rec.line, f"{rec.op}Request {rec.category} {rec.id}")
        if rec.category not in ("Eleve", "PersRelEleve", "PersEducNat"):
            continue
        if not rec.id:
            batch.rejected.append(Rejection(where, "?", "a record without an identifier id",
                                            _PROFILE_OF.get(rec.category)))
            continue
        if rec.op == "delete":
            batch.people.append(Person(key=f"aaf:{rec.id}", profile=Profile.student,
                                       where=where, ids={"aaf": rec.id}, deleted=True))
            continue
        if rec.op == "add":
            first = run.seen_add.get(rec.id)
            if first is not None:
                batch.rejected.append(Rejection(where, rec.id, f"id {rec.id} is also the "
                                                f"record at {first}: one record per person",
                                                _PROFILE_OF.get(rec.category)))
                continue
            run.seen_add[rec.id] = where
        person = (readers[rec.category](run, rec, where, batch) if rec.category in readers
                  else _relative(run, rec, where))
        if person is not None:
            batch.people.append(person)
            batch.seen.append(Ref(key=person.key, ids=(("aaf", rec.id),)))


def _absent_relatives(run: _Run, batches: list[Batch]) -> None:
    """Legal representatives the students name but no PersRelEleve file of the run has:
    in a complete run, reported (no account); in a Delta or a run without relatives,
    their existing accounts get the links (never a new account)."""
    has_relatives = any(b.description.startswith("AAF PersRelEleve") for b in batches)
    students = next((b for b in batches if b.description.startswith("AAF Eleve")
                     and b.error is None), None)
    if students is None:
        return
    for relative, children in run.legal.items():
        if relative in run.relatives_read or not children:
            continue
        if has_relatives and run.complete_students:
            students.warnings.append(
                f"legal representative {relative} of {len(children)} student(s) "
                f"(ENTElevePersRelEleve, e.g. {children[0]}) is not in the PersRelEleve "
                "file(s): no parent account")
            continue
        person = Person(key=f"aaf:{relative}", profile=Profile.parent,
                        where=Where(students.name, None, f"PersRelEleve {relative}"),
                        ids={"aaf": relative},
                        children=tuple(Ref(key=k) for k in dict.fromkeys(children)),
                        carries=frozenset(), update_only=True, add_children=True)
        students.people.append(person)
