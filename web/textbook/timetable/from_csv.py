"""Reading our own timetable CSV: one weekly slot per row (``docs/admin.md``,
"Importing the timetable").

Headers are matched without case or accents; delimiter ``;``, ``,`` or tab; UTF-8
(with or without BOM) or Windows-1252, as spreadsheets write them.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, time

from davserver.errors import BadRequest

from .courses import Course, Slot, TeacherRef, Timetable, Where, split_logins
from .text import decode_text, fold, parse_clock, parse_week, parse_weekday

HEADERS = {
    "group": ("classe", "groupe", "class", "group", "classe/groupe", "class/group"),
    "subject": ("matiere", "subject", "code matiere", "subject code"),
    "teachers": ("professeur", "professeurs", "enseignant", "enseignants", "teacher",
                 "teachers"),
    "weekday": ("jour", "day", "weekday"),
    "start": ("debut", "start", "heure debut"),
    "end": ("fin", "end", "heure fin"),
    "room": ("salle", "room"),
    "week": ("semaine", "week"),
}
REQUIRED = ("group", "subject", "teachers", "weekday", "start", "end")


def parse_time(cell: str) -> time:
    """``08:00``, ``8:00``, ``8h``, ``8h30`` → time. Raises ``BadRequest``."""
    try:
        return parse_clock(cell)
    except BadRequest as exc:
        raise BadRequest(f"time {cell!r} is not HH:MM") from exc


def columns_of(header: list[str]) -> dict[str, int]:
    """Index of each known column in ``header``; raises ``BadRequest`` naming the
    required ones missing."""
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        for key, names in HEADERS.items():
            if fold(cell) in names and key not in found:
                found[key] = index
    missing = [HEADERS[k][0] for k in REQUIRED if k not in found]
    if missing:
        raise BadRequest("missing column(s): " + ", ".join(missing))
    return found


def _course(where: Where, cells: dict[str, str]) -> Course:
    for key in ("group", "subject", "teachers"):
        if not cells[key]:
            raise BadRequest(f"empty {HEADERS[key][0]}")
    weekday = parse_weekday(cells["weekday"])
    start, end = parse_time(cells["start"]), parse_time(cells["end"])
    if end <= start:
        raise BadRequest(f"ends at {end:%H:%M}, not after its start {start:%H:%M}")
    day = datetime(2000, 1, 3)
    slot = Slot(weekday, start, datetime.combine(day, end) - datetime.combine(day, start),
                parse_week(cells["week"]))
    return Course(where, cells["subject"],
                  tuple(TeacherRef.of_login(t) for t in split_logins(cells["teachers"])),
                  (cells["group"],), cells["room"], slot=slot)


def read_csv(data: bytes, name: str = "timetable.csv") -> Timetable:
    """Every row as a course or a rejected row. Raises ``BadRequest`` for a file
    without a header line, without a required column, or in an unreadable encoding."""
    text, _encoding = decode_text(data)
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first.count)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(rows, None)
    if not header:
        raise BadRequest("empty file: no header line")
    columns = columns_of(header)
    result = Timetable("csv", name)
    for row in rows:
        line = rows.line_num
        if not any(c.strip() for c in row):
            continue
        result.records += 1
        cells = {k: (row[i].strip() if i < len(row) else "") for k, i in columns.items()}
        cells.setdefault("room", "")
        cells.setdefault("week", "")
        try:
            result.courses.append(_course(Where(name, line), cells))
        except BadRequest as exc:
            result.reject(Where(name, line), exc.message)
    return result
