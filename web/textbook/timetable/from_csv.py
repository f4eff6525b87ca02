"""Reading a timetable CSV: one weekly slot per row (README "Importing the timetable").

Headers are matched without case or accents; delimiter ``;``, ``,`` or tab; UTF-8
(with or without BOM) or Windows-1252, as spreadsheets write them.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import time

from davserver.errors import BadRequest

from ..models import Week
from ..services import WeeklySlot, check_slot
from .entries import Entry, Rejected, TimetableFile, split_logins

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
DAYS = {name: i for i, names in enumerate((
    ("lundi", "monday", "lun", "mon"), ("mardi", "tuesday", "mar", "tue"),
    ("mercredi", "wednesday", "mer", "wed"), ("jeudi", "thursday", "jeu", "thu"),
    ("vendredi", "friday", "ven", "fri"), ("samedi", "saturday", "sam", "sat"),
    ("dimanche", "sunday", "dim", "sun"))) for name in names}
_TIME = re.compile(r"^(\d{1,2})\s*[:hH]\s*(\d{2})?$")


def _fold(text: str) -> str:
    """Lower case without accents or surrounding blanks (``Matière`` → ``matiere``)."""
    bare = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in bare if not unicodedata.combining(c))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_time(cell: str) -> time:
    """``08:00``, ``8:00``, ``8h``, ``8h30`` → time. Raises ``BadRequest``."""
    m = _TIME.match(cell.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2) or 0) > 59:
        raise BadRequest(f"time {cell!r} is not HH:MM")
    return time(int(m.group(1)), int(m.group(2) or 0))


def parse_weekday(cell: str) -> int:
    """``lundi``/``Monday``/``1`` (ISO, Monday is 1) → 0 for Monday. Raises ``BadRequest``."""
    folded = _fold(cell)
    if folded.isdigit() and 1 <= int(folded) <= 7:
        return int(folded) - 1
    if folded in DAYS:
        return DAYS[folded]
    raise BadRequest(f"weekday {cell!r} is not a day name (lundi, Monday) or 1 to 7")


def parse_week(cell: str) -> Week | None:
    """Empty → every week; ``A``/``B`` (also ``semaine A``, ``Q1``/``Q2``)."""
    folded = _fold(cell).removeprefix("semaine").strip()
    if folded in ("", "-", "toutes", "all"):
        return None
    if folded in ("a", "q1", "s1"):
        return Week.A
    if folded in ("b", "q2", "s2"):
        return Week.B
    raise BadRequest(f"week {cell!r} is not A, B or empty")


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        for key, names in HEADERS.items():
            if _fold(cell) in names and key not in found:
                found[key] = index
    missing = [HEADERS[k][0] for k in REQUIRED if k not in found]
    if missing:
        raise BadRequest("missing column(s): " + ", ".join(missing))
    return found


def _entry(line: int, cells: dict[str, str]) -> Entry:
    for key in ("group", "subject", "teachers"):
        if not cells[key]:
            raise BadRequest(f"empty {HEADERS[key][0]}")
    slot = WeeklySlot(parse_weekday(cells["weekday"]), parse_time(cells["start"]),
                      parse_time(cells["end"]), cells["room"], parse_week(cells["week"]))
    check_slot(slot)
    return Entry(line, cells["group"], cells["subject"], split_logins(cells["teachers"]),
                 slot.room, slot.week, slot=slot)


def read_csv(data: bytes) -> TimetableFile:
    """Every row as an entry or a rejected row. Raises ``BadRequest`` for a file
    without a header line or without a required column."""
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first.count)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(rows, None)
    if not header:
        raise BadRequest("empty file: no header line")
    columns = _columns(header)
    result = TimetableFile("csv")
    for row in rows:
        line = rows.line_num
        if not any(c.strip() for c in row):
            continue
        cells = {k: (row[i].strip() if i < len(row) else "") for k, i in columns.items()}
        cells.setdefault("room", "")
        cells.setdefault("week", "")
        try:
            result.entries.append(_entry(line, cells))
        except BadRequest as exc:
            result.rejected.append(Rejected(line, exc.message))
    return result
