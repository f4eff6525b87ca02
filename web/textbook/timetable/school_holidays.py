"""Reading the ministry's school calendar, dataset ``fr-en-calendrier-scolaire`` of
data.education.gouv.fr (notes §4), as its JSON export or as iCalendar, and turning one
zone's records into a school year and its holiday periods.

* **JSON**: the export (``…/exports/json``, a plain array), the API's answer
  (``{"total_count": n, "results": [...]}``) or an older export (``[{"fields": {...}}]``).
  Record fields: ``description`` ("Vacances de Noël"), ``population`` (``-``,
  ``Élèves``, ``Enseignants``), ``start_date``, ``end_date``, ``location`` (the
  académie), ``zones`` ("Zone A"), ``annee_scolaire`` ("2025-2026").
* **iCalendar**: one VEVENT a record: SUMMARY or DESCRIPTION the description ("Vacances
  de Noël - Zone A"), DTSTART and DTEND the dates, LOCATION the académies; the zone from
  the event's text, else from the calendar's name or the file's (``Zone-A.ics``).

Rules (the ministry's: "départ en vacances après la classe, reprise des cours le matin
des jours indiqués"):

* Timestamps are midnight in Paris written in UTC (``2025-12-19T23:00:00+00:00`` is 20
  December): they are converted to the school's time zone, never the server's.
* A record from ``start`` to ``end`` means classes end after school on ``start`` and
  resume in the morning of ``end``: the days off are the days in between.
* One-day markers (``start`` = ``end``) mean what they say: "Pont de l'Ascension" is
  the bridge day off (the Friday after Ascension Day, and the Saturday after it);
  "Début des Vacances d'Été" (and a summer record with ``start`` = ``end``) is the
  last day of classes of the year, when the next rentrée is not published yet.
* Summer ("Vacances d'Été") bounds the school years: a year runs from the end of the
  summer before it (the rentrée; the old iCalendar files also have a "Rentrée scolaire
  des élèves" event) to the start of its own summer (its last day of classes).
* Each académie has its copy of every record: one is kept per zone. Records for
  teachers only (``population`` "Enseignants") are left out, as are other zones'.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from davserver.errors import BadRequest

from ..services import Period
from .text import decode_text, fold

DAY = timedelta(days=1)
_ZONE = re.compile(r"\bzone\s*([abc])\b", re.IGNORECASE)


@dataclass(frozen=True)
class CalendarRecord:
    """One record of the dataset, its dates already in the school's time zone."""

    description: str
    population: str
    start: date
    end: date
    zones: str
    location: str
    year_label: str

    @property
    def teachers_only(self) -> bool:
        return fold(self.population) == "enseignants"

    @property
    def is_summer(self) -> bool:
        return "ete" in fold(self.description).replace("'", " ").split()

    @property
    def is_summer_start(self) -> bool:
        return self.is_summer and (self.start == self.end
                                   or fold(self.description).startswith("debut"))

    @property
    def is_bridge(self) -> bool:
        return fold(self.description).startswith("pont")

    @property
    def is_rentree(self) -> bool:
        """The old iCalendar files' "Rentrée scolaire des élèves": a first day of
        classes, not a day off."""
        return fold(self.description).startswith("rentree")


@dataclass
class DatasetFile:
    """The records of a file, and what it says of itself (``zone`` of an iCalendar file
    for one zone)."""

    records: list[CalendarRecord]
    zone: str | None = None


_ZONES = re.compile(r"\bzones?((?:[\s,]*(?:et\s+)?[abc]\b)+)", re.IGNORECASE)


def zone_letter(text: str) -> str | None:
    """``A`` of "Zone A", "zone a", "Zone-A.ics"; None when there is none, or several
    ("Zone-A-B-C-Corse.ics")."""
    m = _ZONES.search(text.replace("-", " ").replace("_", " "))
    if not m:
        return None
    letters = {c.upper() for c in re.findall(r"\b([abc])\b", m.group(1), re.IGNORECASE)}
    return letters.pop() if len(letters) == 1 else None


def _day(value: object, tz: ZoneInfo, what: str) -> date:
    """A dataset timestamp → the school's date (UTC when no offset is written)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise BadRequest(f"{what} {value!r} is not a date") from exc
        if len(text) <= 10:
            return moment.date()
    else:
        raise BadRequest(f"no {what}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(tz).date()


def school_year_label(day: date) -> str:
    """"2025-2026" for a day from August 2025 to July 2026."""
    first = day.year if day.month >= 8 else day.year - 1
    return f"{first}-{first + 1}"


def _record(fields: dict[str, object], tz: ZoneInfo) -> CalendarRecord:
    description = " ".join(str(fields.get("description") or "").split())
    if not description:
        raise BadRequest("no description")
    start = _day(fields.get("start_date"), tz, "start_date")
    end = _day(fields.get("end_date") or fields.get("start_date"), tz, "end_date")
    if end < start:
        raise BadRequest(f"{description} ends ({end}) before it starts ({start})")
    label = str(fields.get("annee_scolaire") or "").strip() or school_year_label(start)
    return CalendarRecord(description, str(fields.get("population") or "-").strip(),
                          start, end, str(fields.get("zones") or ""),
                          str(fields.get("location") or ""), label)


def _json_records(text: str, tz: ZoneInfo) -> list[CalendarRecord]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"not JSON: {exc}") from exc
    if isinstance(value, dict):
        value = value.get("results", value.get("records"))
    if not isinstance(value, list):
        raise BadRequest("not the school calendar: no list of records")
    records = []
    for index, item in enumerate(value, 1):
        fields = item.get("fields", item) if isinstance(item, dict) else None
        if not isinstance(fields, dict):
            raise BadRequest(f"record {index} is not an object")
        try:
            records.append(_record(fields, tz))
        except BadRequest as exc:
            raise BadRequest(f"record {index}: {exc.message}") from exc
    return records


def _ics_records(data: bytes, name: str, tz: ZoneInfo) -> DatasetFile:
    from .from_ics import event_lines, parse_calendar

    calendar = parse_calendar(data)
    lines = event_lines(data)
    file_zone = zone_letter(str(calendar.get("X-WR-CALNAME", ""))) or zone_letter(name)
    records = []
    for index, event in enumerate(calendar.walk("VEVENT")):
        line = lines[index] if index < len(lines) else 0
        summary = str(event.get("SUMMARY", "")).strip()
        description = str(event.get("DESCRIPTION", "")).strip()
        label = re.sub(r"\s*-\s*zones?\s*[abc](\s*(,|et|-)\s*[abc])*\s*$", "",
                       summary or description, flags=re.IGNORECASE)
        text = " ".join((summary, description, str(event.get("LOCATION", "")),
                         str(event.get("CATEGORIES", ""))))
        fields: dict[str, object] = {
            "description": label.strip() or description,
            "population": "Enseignants" if "enseignants" in fold(text) else "-",
            "start_date": event.decoded("DTSTART") if "DTSTART" in event else None,
            "end_date": event.decoded("DTEND") if "DTEND" in event else None,
            "zones": ", ".join(f"Zone {z}" for z in sorted(set(
                m.upper() for m in _ZONE.findall(text)))),
            "location": str(event.get("LOCATION", "")),
        }
        try:
            records.append(_record(fields, tz))
        except BadRequest as exc:
            raise BadRequest(f"line {line}: {exc.message}") from exc
    return DatasetFile(records, file_zone)


def read_dataset(data: bytes, name: str, time_zone: str) -> DatasetFile:
    """The records of the ministry's calendar, JSON or iCalendar, dates in
    ``time_zone``. Raises ``BadRequest`` for anything else."""
    tz = ZoneInfo(time_zone)
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper()
    if head.startswith(b"BEGIN:VCALENDAR"):
        return _ics_records(data, name, tz)
    if head.startswith((b"[", b"{")):
        text, _encoding = decode_text(data)
        return DatasetFile(_json_records(text, tz))
    raise BadRequest("not the ministry's school calendar: expected its JSON export or "
                     "its iCalendar file (fr-en-calendrier-scolaire)")


@dataclass
class YearCalendar:
    """One school year of one zone: ``first`` and ``last`` days of classes (None when
    the file does not say), the holiday ``periods`` (days off, both ends included),
    and what was left out."""

    label: str
    first: date | None
    last: date | None
    periods: list[Period]
    duplicates: int = 0
    teachers_only: int = 0
    other_zones: int = 0


def _in_zone(record: CalendarRecord, zone: str, file_zone: str | None) -> bool:
    zones = {m.upper() for m in _ZONE.findall(record.zones)}
    if zones:
        return zone in zones
    return file_zone is None or file_zone == zone


def _kept(dataset: DatasetFile, zone: str, result: YearCalendar) -> list[CalendarRecord]:
    """The zone's records for pupils, one copy each, by date; counts the others."""
    kept: dict[tuple[str, str, date, date], CalendarRecord] = {}
    for record in dataset.records:
        if not _in_zone(record, zone, dataset.zone):
            result.other_zones += 1
        elif record.teachers_only:
            result.teachers_only += 1
        elif (key := (fold(record.description), record.year_label, record.start,
                      record.end)) in kept:
            result.duplicates += 1
        else:
            kept[key] = record
    return sorted(kept.values(), key=lambda r: (r.start, r.end))


def _period(record: CalendarRecord) -> Period | None:
    """The days off of a record (module docstring), or None when there are none."""
    if record.start == record.end:
        last = record.start
        if record.is_bridge and record.start.weekday() == 4:
            last = record.start + DAY  # the bridge's Saturday: classes resume on Monday
        return Period(record.description, record.start, last)
    if record.end - record.start > DAY:
        return Period(record.description, record.start + DAY, record.end - DAY)
    return None


def year_calendar(dataset: DatasetFile, zone: str, label: str | None,
                  today: date) -> YearCalendar:
    """The school year ``label`` of ``zone`` (A, B or C) from the dataset's records;
    without ``label``, the first year whose classes are not over on ``today`` (else the
    latest). Raises ``BadRequest`` when the file has nothing for the zone or the year,
    or an iCalendar file is another zone's."""
    if dataset.zone and dataset.zone != zone:
        raise BadRequest(f"this calendar is zone {dataset.zone}'s; the school is in zone "
                         f"{zone}")
    result = YearCalendar("", None, None, [])
    records = _kept(dataset, zone, result)
    if not records:
        raise BadRequest(f"the file has no record for zone {zone}")
    summers = {r.year_label: r for r in records if r.is_summer}
    labels = sorted({r.year_label for r in records})
    if label is None:
        label = next((y for y in labels if y in summers and summers[y].start >= today),
                     labels[-1])
    if label not in labels:
        raise BadRequest(f"the file has no holidays of {label} for zone {zone} (it has "
                         + ", ".join(labels) + ")")
    result.label = label
    if re.match(r"^\d{4}-\d{4}$", label):
        before = summers.get(f"{int(label[:4]) - 1}-{label[:4]}")
        if before is not None and before.end > before.start:
            result.first = before.end
    if label in summers:
        result.last = summers[label].start
    for record in records:
        if record.year_label != label or record.is_summer:
            continue
        if record.is_rentree:
            result.first = record.start
        elif (period := _period(record)) is not None:
            result.periods.append(period)
    return result
