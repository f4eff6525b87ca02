"""Reading UnDeuxTEMPS's CSV export of the timetable (notes §2.2).

Made in UDT (profil concepteur) by *Recherche > Emploi du temps > Rechercher >
Exporter*, CSV chosen in *Outils/Préférences*. Columns, in this order, with or without
their header line: ``Jour;Heure;Div;Matière;Professeur;Salle;Groupe;Regroup;Eff;Mo;
Freq;Aire;`` (a trailing ``;``). Windows-1252 usually; UTF-8 with or without BOM too.

* One row per hour and per division: ``Lundi;8H;6 E;EPS;DUPONT PIERRE;GYMNA;;;16;CG;;;``.
  ``Heure`` is the start of a one-hour sequence (``8H``, ``8H30``, ``08h00``), or a
  range (``12h00-13h30``). Consecutive hours of the same course (same day, subject,
  teachers, classes, room and week) are one course (``9H`` and ``10H`` make a 2-hour
  course).
* The rows of one slot that differ only by division (a *regroupement*: ``Regroup``
  names it, or the same room and teacher) or only by teacher (co-teaching) are one
  course: it is for the group ``Groupe`` (a subdivision), else ``Regroup``, else its
  divisions. When that group is not in the directory, the next one is tried (warned).
* Meal rows (``Matière`` ``REPAS``, demi-pension, cantine...) and rows without a
  teacher or a class are left out, with a warning.
* ``Freq``: empty every week; A/B (``Q1``/``Q2``, ``1``/``2``...) one week out of two;
  any other code is refused (each school names its own: notes §3).
* Excel turns a division ``2E1`` into ``2,00E+01``: turned back, with a warning.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from davserver.errors import BadRequest

from ..models import Week
from .courses import Course, Slot, TeacherRef, Timetable, Where
from .text import decode_text, fold, parse_clock, parse_week, parse_weekday

COLUMNS = ("jour", "heure", "div", "matiere", "professeur", "salle", "groupe", "regroup",
           "eff", "mo", "freq", "aire")
_MEALS = ("repas", "dejeuner", "demi-pension", "demi pension", "cantine", "restauration",
          "self", "pause meridienne", "dp")
_EXCEL = re.compile(r"^(\d+),0*E\+0*(\d+)$", re.IGNORECASE)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class _Row:
    line: int
    weekday: int
    start: time
    end: time
    div: str
    subject: str
    teacher: str
    room: str
    group: str
    regroup: str
    week: Week | None


def _columns(header: list[str]) -> dict[str, int] | None:
    """Column indexes from a header line, or None when the first line is data."""
    folded = [fold(c) for c in header]
    if sum(1 for c in folded if c in COLUMNS) < 5:
        return None
    return {name: folded.index(name) for name in COLUMNS if name in folded}


def _hours(cell: str) -> tuple[time, time]:
    text = cell.strip().lower()
    if "-" in text:
        first, _sep, last = text.partition("-")
        start, end = parse_clock(first), parse_clock(last)
        if end <= start:
            raise BadRequest(f"hours {cell.strip()!r} end before they start")
        return start, end
    start = parse_clock(text)
    end = (datetime.combine(datetime(2000, 1, 3), start) + HOUR).time()
    if end <= start:
        raise BadRequest(f"hour {cell.strip()!r} runs past midnight")
    return start, end


def _is_meal(subject: str) -> bool:
    folded = fold(subject).strip(" '.")
    return folded in _MEALS or folded.startswith("repas")


def _row(line: int, cells: dict[str, str], warnings: list[str], where: Where) -> _Row | None:
    subject = cells["matiere"]
    if _is_meal(subject):
        warnings.append(f"{where}: meal row ({subject}) left out")
        return None
    div = cells["div"]
    m = _EXCEL.match(div)
    if m:
        div = f"{m.group(1)}E{m.group(2)}"
        warnings.append(f"{where}: division {cells['div']!r} (turned into a number by "
                        f"a spreadsheet) read as {div!r}")
    if not subject:
        raise BadRequest("no subject (Matière empty)")
    if not cells["jour"] or not cells["heure"]:
        raise BadRequest("no day or hour (Jour, Heure)")
    weekday = parse_weekday(cells["jour"])
    start, end = _hours(cells["heure"])
    week = parse_week(cells["freq"])
    if not cells["professeur"]:
        warnings.append(f"{where}: {subject} {div} has no teacher: left out")
        return None
    if not (div or cells["groupe"] or cells["regroup"]):
        warnings.append(f"{where}: {subject} ({cells['professeur']}) has no class or "
                        "group: left out")
        return None
    return _Row(line, weekday, start, end, div, subject, cells["professeur"],
                cells["salle"], cells["groupe"], cells["regroup"], week)


def _audiences(rows: list[_Row]) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The course's audience and the ones to try after it, in order: the group, the
    group within its regroupement or division, the regroupement, the divisions."""
    divs = tuple(dict.fromkeys(r.div for r in rows if r.div))
    group, regroup = rows[0].group, rows[0].regroup
    choices: list[tuple[str, ...]] = []
    if group:
        choices.append((group,))
        if regroup:
            choices.append((f"{regroup} {group}",))
        if len(divs) == 1 and not group.startswith(divs[0]):
            choices.append((f"{divs[0]} {group}",))
    if regroup:
        choices.append((regroup,))
    if divs:
        choices.append(divs)
    unique = list(dict.fromkeys(choices))
    return unique[0], tuple(unique[1:])


def _components(rows: list[_Row]) -> list[list[_Row]]:
    """Rows of one slot without a regroupement, split into courses: rows sharing a
    division (co-teaching) or a teacher (several divisions taught together) are one."""
    groups: list[list[_Row]] = []
    for row in rows:
        joined = [g for g in groups if any(r.div == row.div or r.teacher == row.teacher
                                           for r in g)]
        merged = [row] + [r for g in joined for r in g]
        groups = [g for g in groups if g not in joined] + [merged]
    return [sorted(g, key=lambda r: r.line) for g in groups]


def _gather(rows: list[_Row], name: str) -> list[Course]:
    """Rows of one slot → courses (regroupements and co-teaching gathered), then
    consecutive hours of one course → one course."""
    slots: dict[tuple[object, ...], list[_Row]] = {}
    for row in rows:
        key = (row.weekday, row.start, row.end, fold(row.subject), fold(row.room),
               fold(row.group), fold(row.regroup), row.week)
        slots.setdefault(key, []).append(row)
    courses = []
    for same in slots.values():
        for part in ([same] if same[0].regroup else _components(same)):
            teachers = tuple(dict.fromkeys(r.teacher for r in part))
            audiences, fallbacks = _audiences(part)
            first = part[0]
            day = datetime(2000, 1, 3)
            slot = Slot(first.weekday, first.start, datetime.combine(day, first.end)
                        - datetime.combine(day, first.start), first.week)
            courses.append(Course(Where(name, first.line), first.subject,
                                  tuple(TeacherRef(t, last=t) for t in teachers),
                                  audiences, first.room, slot=slot, fallbacks=fallbacks))
    return _join_hours(courses)


def _join_hours(courses: list[Course]) -> list[Course]:
    def identity(c: Course) -> tuple[object, ...]:
        assert c.slot is not None
        return (c.slot.weekday, fold(c.subject), c.teachers, c.audiences, fold(c.room),
                c.slot.week)

    ordered = sorted(courses, key=lambda c: (c.slot.weekday, c.slot.start) if c.slot
                     else (0, time()))
    joined: list[Course] = []
    last_of: dict[tuple[object, ...], int] = {}
    for course in ordered:
        assert course.slot is not None
        key = identity(course)
        index = last_of.get(key)
        if index is not None:
            previous = joined[index]
            assert previous.slot is not None
            if previous.slot.end == course.slot.start:
                slot = replace(previous.slot,
                               duration=previous.slot.duration + course.slot.duration)
                joined[index] = replace(previous, slot=slot)
                continue
        last_of[key] = len(joined)
        joined.append(course)
    return sorted(joined, key=lambda c: c.where.line or 0)


def read_udt(data: bytes, name: str = "udt.csv") -> Timetable:
    """Every row as part of a course, a rejected row or a warning (module docstring).
    Raises ``BadRequest`` for a file in an unreadable encoding."""
    text, _encoding = decode_text(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(";") else ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    result = Timetable("udt", name)
    columns: dict[str, int] | None = None
    rows: list[_Row] = []
    for cells_list in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells_list):
            continue
        if columns is None and line == 1:
            columns = _columns(cells_list)
            if columns is not None:
                continue
        index = columns or {name_: i for i, name_ in enumerate(COLUMNS)}
        cells = {key: (cells_list[i].strip() if i < len(cells_list) else "")
                 for key, i in index.items()}
        for key in COLUMNS:
            cells.setdefault(key, "")
        result.records += 1
        where = Where(name, line)
        try:
            row = _row(line, cells, result.warnings, where)
        except BadRequest as exc:
            result.reject(where, exc.message)
            continue
        if row is not None:
            rows.append(row)
    result.courses = _gather(rows, name)
    return result
