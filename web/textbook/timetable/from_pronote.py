"""Reading PRONOTE's iCalendar export of one teacher's or one class's timetable (notes
§2.3; HYPERPLANNING, the same vendor's, writes the same shape).

One VEVENT per lesson, already dated (weeks A/B resolved, no RRULE), times in UTC:

* ``UID:Cours-<course>-<occurrence>-<export stamp>-Index-Education``: the stamp changes
  at every export, so the stable key is ``Cours-<course>-<occurrence>``, and the
  course is ``Cours-<course>`` (a key seen twice is rejected).
* ``SUMMARY``: ``MATIÈRE - CLASSE`` (a teacher's calendar), ``MATIÈRE - PROF I. -
  [GROUPE] - <CLASSE> PARTIE`` (a class's or a student's), behind a status prefix
  (``Cours annulé : ``, ``Prof. absent : ``, ``Exceptionnel : ``...). The subject is
  the ``Matière :`` line of DESCRIPTION, else the SUMMARY's first part: never the whole
  SUMMARY.
* ``DESCRIPTION``: lines ``Matière :``, ``Professeur(s) :`` (``NOM I.``), ``Classe(s) :``,
  ``Groupe(s) : [4EME SC405]``, ``Partie(s) de classe : <405> SC405``, ``Salle(s) :``,
  with HTML entities inside iCalendar escaping (``&lt\\;405&gt\\;``).
* ``CATEGORIES``: ``Cours``, ``Cours - Cours annulé``, ``Cours - Prof. absent``,
  ``Cours - Exceptionnel``, ``Cours - Cours modifié``... A cancelled course
  (``Cours annulé``, ``Prof. absent``: no class takes place, or ``STATUS:CANCELLED``)
  is a cancelled lesson. Whole-day events (public holidays, "Jours fériés") and events
  that are not courses (meetings) are left out with a warning.
* ``X-WR-CALNAME``: ``Calendrier - <owner> - du <first day> au <last day>``: a teacher
  (their events have no ``Professeur`` line: the owner teaches them), a class (events
  without a ``Classe``/``Groupe`` line are the owner's), or a student (with a birth
  date: refused, as their whole-class lessons name no class). ``X-CALSTART`` and
  ``X-CALEND`` bound what the calendar covers.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from typing import TYPE_CHECKING

from davserver.errors import BadRequest

from .courses import Course, EventTimes, TeacherRef, Timetable, Where
from .from_edt import audiences_of
from .from_ics import event_lines, moment, parse_calendar

if TYPE_CHECKING:
    from icalendar import Calendar, Component

_UID = re.compile(r"^(?P<course>Cours-\d+)(?:-(?P<occurrence>\d+))?(?:-\d{8}T\d{6}Z?)?"
                  r"(?:-.*)?$", re.IGNORECASE)
_BIRTH = re.compile(r"\b\d{2}/\d{2}/\d{4}\b")
_CALNAME = re.compile(r"^\s*Calendrier\s*-\s*(?P<owner>.+?)(?:\s+-\s+du\s.*)?$",
                      re.IGNORECASE)
_STATUS = re.compile(r"^(?P<status>cours annul[ée]|prof\.? absents?|exceptionnel|"
                     r"cours modifi[ée]|cours maintenu|modifi[ée]|annul[ée])\s*:\s*",
                     re.IGNORECASE)
_KEYS = {"matiere": "subject", "matière": "subject",
         "professeur": "teachers", "professeurs": "teachers", "enseignant": "teachers",
         "enseignants": "teachers",
         "classe": "classes", "classes": "classes", "promotion": "classes",
         "promotions": "classes",
         "groupe": "groups", "groupes": "groups",
         "partie de classe": "parts", "parties de classe": "parts",
         "salle": "room", "salles": "room"}
_CANCELLED = ("annul", "prof. absent", "prof absent", "professeur absent")


def _text(event: Component, name: str) -> str:
    value = event.get(name)
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0]
    if hasattr(value, "cats"):  # CATEGORIES
        return " - ".join(str(c) for c in value.cats)
    return html.unescape(str(value)).strip()


def _described(description: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in description.splitlines():
        key, sep, value = line.partition(":")
        name = " ".join(key.strip().lower().split())
        if sep and name in _KEYS and value.strip():
            found.setdefault(_KEYS[name], value.strip())
    return found


def _subject(summary: str, described: dict[str, str]) -> str:
    if described.get("subject"):
        return described["subject"]
    bare = _STATUS.sub("", summary).strip()
    return bare.split(" - ")[0].strip()


def _summary_audiences(summary: str, subject: str,
                       teachers: tuple[TeacherRef, ...]) -> tuple[str, ...]:
    """Classes and groups named in SUMMARY after the subject (a teacher's calendar,
    2019: ``MATIÈRE - CLASSE``), leaving out the teachers' "NOM I." parts."""
    bare = _STATUS.sub("", summary).strip()
    parts = [p.strip() for p in bare.split(" - ")]
    if parts and parts[0] == subject:
        parts = parts[1:]
    named = {t.text for t in teachers}
    found: list[str] = []
    for part in parts:
        if not part or part in named or TeacherRef.of_initials(part).initials:
            continue
        for name in audiences_of(part):
            if name not in found:
                found.append(name)
    return tuple(found)


def _cancelled(event: Component, summary: str, categories: str, description: str) -> bool:
    if _text(event, "STATUS").upper() == "CANCELLED":
        return True
    first_line = description.splitlines()[0].lower() if description else ""
    status = _STATUS.match(summary)
    words = " ".join((categories.lower(), first_line,
                      status.group("status").lower() if status else ""))
    return any(w in words for w in _CANCELLED)


def _owner(calendar: Calendar) -> str:
    name = html.unescape(str(calendar.get("X-WR-CALNAME", ""))).strip()
    m = _CALNAME.match(name)
    return m.group("owner").strip() if m else ""


def _span(calendar: Calendar) -> tuple[date, date] | None:
    from icalendar import vDDDTypes

    bounds = []
    for name in ("X-CALSTART", "X-CALEND"):
        raw = calendar.get(name)
        if raw is None:
            return None
        try:
            value = vDDDTypes.from_ical(str(raw))
        except ValueError:
            return None
        bounds.append(value.date() if isinstance(value, datetime) else value)
    return bounds[0], bounds[1]


def read_pronote(data: bytes, name: str = "Edt.ics") -> Timetable:
    """Every lesson event as part of its course (``Cours-<id>``), a rejected event, or
    a warning (module docstring). Raises ``BadRequest`` for data that is not
    iCalendar, and for a student's calendar."""
    calendar = parse_calendar(data)
    owner = _owner(calendar)
    if _BIRTH.search(owner):
        student = _BIRTH.sub("", owner).strip()
        raise BadRequest(f"this is a student's PRONOTE calendar ({student}): its "
                         "whole-class lessons name no class; export the timetable of a "
                         "teacher or of a class instead")
    result = Timetable("pronote", name, school_wide=False, span=_span(calendar),
                       origin=f"pronote:{owner}"[:120])
    lines = event_lines(data)
    seen: dict[str, int] = {}
    courses: dict[str, Course] = {}
    for index, event in enumerate(calendar.walk("VEVENT")):
        where = Where(name, lines[index] if index < len(lines) else None)
        result.records += 1
        try:
            found = _event(event, where, owner, seen, result)
        except (BadRequest, ValueError, TypeError) as exc:
            reason = exc.message if isinstance(exc, BadRequest) else f"bad event: {exc}"
            result.reject(where, reason)
            continue
        if found is None:
            continue
        key, course = found
        known = courses.get(key)
        if known is None:
            courses[key] = course
        else:
            known.events = known.events + course.events
    result.courses = list(courses.values())
    return result


def _event(event: Component, where: Where, owner: str, seen: dict[str, int],
           result: Timetable) -> tuple[str, Course] | None:
    categories = _text(event, "CATEGORIES")
    summary = _text(event, "SUMMARY")
    start = event.decoded("DTSTART") if "DTSTART" in event else None
    if not isinstance(start, datetime) or "feri" in categories.lower().replace("é", "e"):
        result.warnings.append(f"{where}: {summary or categories or 'whole-day event'} "
                               "is not a lesson: left out")
        return None
    if categories and not categories.lower().startswith("cours"):
        result.warnings.append(f"{where}: {categories} ({summary}) is not a course: left out")
        return None
    uid = _text(event, "UID")
    m = _UID.match(uid)
    stable = (f"{m.group('course')}-{m.group('occurrence')}" if m and m.group("occurrence")
              else uid)
    if stable and stable in seen:
        raise BadRequest(f"duplicate UID {stable!r} (first at line {seen[stable]})")
    if stable:
        seen[stable] = where.line or 0
    description = _text(event, "DESCRIPTION")
    described = _described(description)
    subject = _subject(summary, described)
    if not subject:
        raise BadRequest("no subject: neither a 'Matière :' line nor a SUMMARY")
    teachers = _teachers(described, owner)
    audiences = _audiences(described, summary, subject, teachers, owner)
    end = moment(event, "DTEND")
    begin = moment(event, "DTSTART")
    if end <= begin:
        raise BadRequest("DTEND is not after DTSTART")
    times = EventTimes(begin, end, cancelled=_cancelled(event, summary, categories,
                                                        description),
                       line=where.line or 0, key=stable)
    room = _text(event, "LOCATION") or described.get("room", "")
    course_key = m.group("course") if m else (stable or f"line-{where.line}")
    return course_key, Course(where, subject, teachers, audiences, room, events=(times,),
                              subject_is_label=True, key=course_key)


def _teachers(described: dict[str, str], owner: str) -> tuple[TeacherRef, ...]:
    """The "Professeur(s) :" line's teachers, else (a teacher's calendar) its owner."""
    if "teachers" in described:
        found = tuple(TeacherRef.of_initials(t) for t in described["teachers"].split(",")
                      if t.strip())
    else:
        found = (TeacherRef.of_names(*_split_owner(owner)),) if owner else ()
    if not found:
        raise BadRequest("no teacher: no 'Professeur :' line and no calendar owner")
    return found


def _audiences(described: dict[str, str], summary: str, subject: str,
               teachers: tuple[TeacherRef, ...], owner: str) -> tuple[str, ...]:
    """The group or part of class, else the classes, else those of SUMMARY, else (a
    class's calendar, whose whole-class lessons name no class) its owner."""
    if described.get("groups") or described.get("parts"):
        found = audiences_of(described.get("groups") or described.get("parts", ""))
    elif described.get("classes"):
        found = audiences_of(described["classes"])
    else:
        found = _summary_audiences(summary, subject, teachers)
    if not found and "teachers" in described and owner:
        found = (owner,)
    if not found:
        raise BadRequest(f"no class or group for {subject} (no 'Classe :' or 'Groupe :' "
                         "line, none in SUMMARY)")
    return found


def _split_owner(owner: str) -> tuple[str, str]:
    """A teacher's calendar name "NOM Prénom" → (NOM, Prénom): the family name is the
    words in capitals."""
    words = owner.split()
    last = [w for w in words if w.isupper()]
    first = [w for w in words if not w.isupper()]
    return " ".join(last) or owner, " ".join(first)
