"""Applying a read timetable (:class:`~.courses.Timetable`) to a school: its courses
become teaching services and the lessons (séances) of the school year.

* **Services.** Each course gives one lesson in the textbook of each of its classes
  or groups: a teaching service per class or group × subject (created if absent), its
  teachers added (co-teaching accumulates, never removed by an import).
* **Lessons.** A weekly course gives a lesson on each school day of its weekday (in
  its week, A or B) of :class:`~.school_calendar.SchoolCalendar`; a dated one its
  occurrences within the year, except on public holidays; a single dated lesson
  outside the year is rejected. Two courses giving one service a lesson at the same
  time give one lesson (warned).
* **First import and re-import.** When the services the file covers have no lesson
  in the year laid by an import like this one (below: its origin), every lesson of the
  year is created. Otherwise the file is
  compared with the lessons from the import date (``today``) on; earlier ones are the
  record and are never touched. In that window: a lesson still in the timetable is
  kept (its end, room and week brought up to date; cancelled if the file cancels it);
  a lesson of a service that the file moves within the same week is moved (its
  content, homework and bookings follow: :func:`~web.textbook.changes.move_lesson`); a
  lesson the timetable no longer has is deleted (its bookings cancelled first:
  :func:`~web.textbook.changes.mark_cancelled`), unless it has content or homework due,
  in which case it is kept and reported; new lessons are created. Lessons made by hand
  are never changed.
* **Whose lessons.** Each lesson records which import laid it (``origin``): the
  school's (EDT, UDT, our CSV: the whole timetable, every service of the school) or one
  teacher's or class's calendar (PRONOTE, iCalendar: its own services, within the
  dates it covers). An import moves and deletes only the lessons it laid itself: a
  teacher's calendar cannot delete the lessons a colleague of the same class and
  subject gives, which it does not list. It does keep up to date (room, end,
  cancellation) any timetable lesson it gives at the same time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session, selectinload

from davserver.errors import BadRequest

from ..changes import mark_cancelled, move_lesson
from ..models import Activity, Lesson, LessonSource, LessonStatus, SchoolYear, TeachingService, Week
from ..services import ensure_service, zone
from .courses import Course, Rejected, Timetable, Where
from .directory import Directory
from .school_calendar import SchoolCalendar, monday_of

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: ``stage`` is ``courses`` (resolving and laying
out the courses) or ``lessons`` (writing them)."""

_CHUNK = 500


@dataclass(frozen=True)
class KeptLesson:
    """A lesson the timetable no longer has, kept because of its content."""

    lesson_id: int
    service: str
    start: datetime
    reason: str

    def as_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {"lesson": self.lesson_id, "service": self.service,
                "start": self.start.astimezone(tz).isoformat(), "reason": self.reason}


@dataclass
class TimetableReport:
    """What an import did (or, on a dry run, would do). ``applied`` is false when
    nothing was written (rejected records without ``--partial``, or a dry run);
    ``courses`` counts the courses imported; the ``lessons_*`` counts are lessons (one
    per class or group of a course); ``lessons_by_week`` maps each week's Monday to the
    number of lessons the timetable gives that week (cancelled ones included);
    ``kept`` lists the lessons kept for their content."""

    file: str = ""
    format: str = ""
    school: str = ""
    year: str = ""
    time_zone: str = "Europe/Paris"
    applied: bool = False
    dry_run: bool = False
    first_import: bool = False
    import_date: date | None = None
    courses: int = 0
    services: set[int] = field(default_factory=set)
    lessons_created: int = 0
    lessons_moved: int = 0
    lessons_updated: int = 0
    lessons_cancelled: int = 0
    lessons_deleted: int = 0
    lessons_unchanged: int = 0
    lessons_before_import_date: int = 0
    lessons_by_week: dict[str, int] = field(default_factory=dict)
    kept: list[KeptLesson] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        tz = ZoneInfo(self.time_zone)
        return {
            "file": self.file, "format": self.format, "school": self.school,
            "year": self.year, "applied": self.applied, "dry_run": self.dry_run,
            "first_import": self.first_import,
            "import_date": self.import_date.isoformat() if self.import_date else None,
            "courses": self.courses, "services": len(self.services),
            "lessons_created": self.lessons_created, "lessons_moved": self.lessons_moved,
            "lessons_updated": self.lessons_updated,
            "lessons_cancelled": self.lessons_cancelled,
            "lessons_deleted": self.lessons_deleted,
            "lessons_unchanged": self.lessons_unchanged,
            "lessons_before_import_date": self.lessons_before_import_date,
            "lessons_kept": [k.as_dict(tz) for k in self.kept],
            "lessons_by_week": self.lessons_by_week,
            "rejected": [r.as_dict() for r in self.rejected],
            "warnings": self.warnings,
        }


@dataclass
class _Want:
    """A lesson the timetable gives: its service, times (UTC), room, week, status."""

    service_id: int
    start: datetime
    end: datetime
    room: str
    week: Week | None
    cancelled: bool
    where: Where


@dataclass(frozen=True)
class _Occurrence:
    start: datetime
    end: datetime
    week: Week | None
    cancelled: bool
    where: Where


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


def _occurrences(course: Course, calendar: SchoolCalendar, year: SchoolYear,
                 tz: ZoneInfo, report: TimetableReport) -> list[_Occurrence]:
    """The course's lessons in the year; single dated lessons outside it rejected, those
    on a public holiday left out (warned)."""
    found: list[_Occurrence] = []
    if course.slot is not None:
        slot = course.slot
        for day in calendar.days(slot.weekday, slot.week):
            start = datetime.combine(day, slot.start, tz)
            end = start + slot.duration  # wall-clock arithmetic: DST changes move nothing
            found.append(_Occurrence(start.astimezone(UTC), end.astimezone(UTC), slot.week,
                                     False, course.where))
        return found
    for times in course.events:
        where = Where(course.where.file, times.line or course.where.line)
        within = times.occurrences(calendar.first, calendar.last, tz)
        # A fortnightly series is a week A or a week B course: the week of its first
        # occurrence in a week of classes (later ones may fall in holidays).
        weeks = [calendar.week(s.astimezone(tz).date()) for s, _e in within]
        series_week = next((w for w in weeks if w is not None), None)
        if times.rule is None and not within:
            day = times.start.astimezone(tz).date()
            report.rejected.append(Rejected(where, (
                f"lesson on {day} is outside the school year {year.label} "
                f"({year.start} to {year.end})")))
            continue
        for start, end in within:
            day = start.astimezone(tz).date()
            if day in calendar.public:
                report.warnings.append(f"{where}: lesson on {day} left out: "
                                       f"{calendar.public[day]} is a public holiday")
                continue
            week = series_week if times.fortnightly else None
            found.append(_Occurrence(start.astimezone(UTC), end.astimezone(UTC), week,
                                     times.cancelled, where))
    return found


@dataclass
class _Planned:
    course: Course
    group_ids: list[int]
    teacher_ids: list[int]
    subject_id: int
    occurrences: list[_Occurrence]


def _plan(session: Session, timetable: Timetable, directory: Directory, year: SchoolYear,
          calendar: SchoolCalendar, report: TimetableReport,
          progress: Progress) -> list[_Planned]:
    tz = zone(year.time_zone)
    planned = []
    total = len(timetable.courses)
    for index, course in enumerate(timetable.courses):
        progress("courses", index, total)
        try:
            group_ids, note = directory.audiences(course)
            teacher_ids = list(dict.fromkeys(directory.teacher(t) for t in course.teachers))
            subject_id = directory.subject(course)
        except BadRequest as exc:
            report.rejected.append(Rejected(course.where, exc.message))
            continue
        if note:
            report.warnings.append(f"{course.where}: {note}")
        before = len(report.rejected)
        occurrences = _occurrences(course, calendar, year, tz, report)
        if len(report.rejected) > before and course.slot is None and not occurrences:
            continue
        planned.append(_Planned(course, group_ids, teacher_ids, subject_id, occurrences))
    progress("courses", total, total)
    return planned


class _Services:
    """The school's teaching services, loaded once with their teachers (one query
    instead of two per course)."""

    def __init__(self, session: Session, school_id: int) -> None:
        self.session, self.school_id = session, school_id
        rows = session.scalars(select(TeachingService).where(
            TeachingService.school_id == school_id).options(
            selectinload(TeachingService.teachers)))
        self.known = {(s.group_id, s.subject_id): s for s in rows}

    def get(self, group_id: int, subject_id: int, teacher_ids: list[int]) -> TeachingService:
        """The service of the group × subject (created if absent) with the teachers
        added (:func:`~web.textbook.ensure_service`)."""
        service = self.known.get((group_id, subject_id))
        if service is not None and {t.id for t in service.teachers} >= set(teacher_ids):
            return service
        service = ensure_service(self.session, self.school_id, group_id, subject_id,
                                 teacher_ids)
        self.known[(group_id, subject_id)] = service
        return service


def _wants(session: Session, directory: Directory, planned: list[_Planned],
           report: TimetableReport, service_names: dict[int, str]) -> dict[
               tuple[int, datetime], _Want]:
    wants: dict[tuple[int, datetime], _Want] = {}
    group_names = {gid: name for name, gid in directory.groups.items()}
    clashes: set[tuple[str, str]] = set()
    services = _Services(session, directory.school_id)
    for item in planned:
        for group_id in item.group_ids:
            service = services.get(group_id, item.subject_id, item.teacher_ids)
            report.services.add(service.id)
            if service.id not in service_names:
                service_names[service.id] = (f"{item.course.subject} "
                                             f"{group_names.get(group_id, '?')}")
            for occ in item.occurrences:
                key = (service.id, occ.start)
                known = wants.get(key)
                if known is None:
                    wants[key] = _Want(service.id, occ.start, occ.end, item.course.room[:100],
                                       occ.week, occ.cancelled, occ.where)
                    continue
                known.cancelled = known.cancelled and occ.cancelled
                pair = (str(known.where), str(occ.where))
                if pair not in clashes and known.where != occ.where:
                    clashes.add(pair)
                    report.warnings.append(
                        f"{occ.where}: gives {service_names[service.id]} lessons at the "
                        f"times of {known.where}: one lesson each time")
    return wants


def _group_name(session: Session, group_id: int) -> str:
    import acl

    return acl.group_names(session, {group_id}).get(group_id, "?")


def _with_content(session: Session, lesson_ids: Iterable[int]) -> set[int]:
    """The lessons among ``lesson_ids`` that have content or homework, or homework
    due for them."""
    ids = list(lesson_ids)
    found: set[int] = set()
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        found.update(session.scalars(select(Activity.lesson_id).where(
            Activity.lesson_id.in_(chunk))))
        found.update(x for x in session.scalars(select(Activity.due_lesson_id).where(
            Activity.due_lesson_id.in_(chunk))) if x is not None)
    return found


def _scope(session: Session, school_id: int, timetable: Timetable, wants: dict[
        tuple[int, datetime], _Want], lo: datetime, hi: datetime) -> set[int]:
    services = {key[0] for key in wants}
    if timetable.school_wide:
        services.update(session.scalars(
            select(Lesson.service_id).join(TeachingService,
                                           TeachingService.id == Lesson.service_id)
            .where(TeachingService.school_id == school_id,
                   Lesson.source == LessonSource.timetable,
                   or_(Lesson.origin == timetable.origin, Lesson.origin.is_(None)),
                   Lesson.start >= lo, Lesson.start < hi).distinct()))
    return services


@dataclass(frozen=True)
class _Row:
    """A stored lesson as the comparison needs it (plain columns: a school's year is
    tens of thousands of lessons, and most stay as they are)."""

    id: int
    service_id: int
    start: datetime
    end: datetime
    room: str
    week: Week | None
    status: LessonStatus
    source: LessonSource
    origin: str | None

    def laid_by(self, origin: str) -> bool:
        """Whether an import of ``origin`` laid this lesson (None: from before the
        column, when every import was the school's)."""
        return self.source is LessonSource.timetable and (self.origin or "school") == origin


def _existing(session: Session, services: set[int], lo: datetime,
              hi: datetime) -> list[_Row]:
    found: list[_Row] = []
    ids = sorted(services)
    columns = (Lesson.id, Lesson.service_id, Lesson.start, Lesson.end, Lesson.room,
               Lesson.week, Lesson.status, Lesson.source, Lesson.origin)
    for i in range(0, len(ids), _CHUNK):
        found.extend(_Row(*row) for row in session.execute(select(*columns).where(
            Lesson.service_id.in_(ids[i:i + _CHUNK]), Lesson.start >= lo,
            Lesson.start < hi)))
    return found


def _load(session: Session, rows: Iterable[_Row]) -> dict[int, Lesson]:
    """The lessons of ``rows`` as objects, to change them."""
    ids = [r.id for r in rows]
    found: dict[int, Lesson] = {}
    for i in range(0, len(ids), _CHUNK):
        found.update((x.id, x) for x in session.scalars(select(Lesson).where(
            Lesson.id.in_(ids[i:i + _CHUNK]))))
    return found


def _reconcile(session: Session, school_id: int, timetable: Timetable, year: SchoolYear,
               wants: dict[tuple[int, datetime], _Want], today: date,
               report: TimetableReport, service_names: dict[int, str],
               progress: Progress) -> None:
    tz = zone(year.time_zone)
    lo, hi = _midnight(year.start, tz), _midnight(year.end + timedelta(days=1), tz)
    if timetable.span is not None:
        lo = max(lo, _midnight(timetable.span[0], tz))
        hi = min(hi, _midnight(timetable.span[1] + timedelta(days=1), tz))
    services = _scope(session, school_id, timetable, wants, lo, hi)
    existing = _existing(session, services, lo, hi)
    report.first_import = not any(x.laid_by(timetable.origin) for x in existing)
    cutoff = lo if report.first_import else max(lo, _midnight(today, tz))
    by_key = {(x.service_id, x.start): x for x in existing}
    new: list[_Want] = []
    matched: set[int] = set()
    for key, want in sorted(wants.items(), key=lambda kv: kv[0][1]):
        if want.start < cutoff:
            if key not in by_key:
                report.lessons_before_import_date += 1
            continue
        if want.start >= hi:
            continue
        lesson = by_key.get(key)
        if lesson is None:
            new.append(want)
            continue
        matched.add(lesson.id)
        if lesson.source is not LessonSource.timetable or not _differs(lesson, want):
            report.lessons_unchanged += 1
            continue
        _update(session, session.get_one(Lesson, lesson.id), want, report)
    old = [x for x in existing if x.id not in matched and x.laid_by(timetable.origin)
           and cutoff <= x.start < hi]
    new, moved = _moves(session, old, new, tz, report)
    progress("lessons", 0, len(new))
    _create(session, new, timetable.origin, report, progress)
    _remove(session, [x for x in old if x.id not in moved], report, service_names)


def _differs(row: _Row, want: _Want) -> bool:
    return (row.room, row.week, row.end) != (want.room, want.week, want.end) or (
        want.cancelled and row.status is LessonStatus.scheduled)


def _update(session: Session, lesson: Lesson, want: _Want, report: TimetableReport) -> None:
    changed = False
    if lesson.room != want.room or lesson.week != want.week:
        lesson.room, lesson.week = want.room, want.week
        changed = True
    if lesson.end != want.end:
        move_lesson(session, lesson, lesson.start, want.end, by=None)
        changed = True
    if want.cancelled and lesson.status is LessonStatus.scheduled:
        mark_cancelled(session, lesson, by=None)
        report.lessons_cancelled += 1
        changed = True
    if changed:
        report.lessons_updated += 1
    else:
        report.lessons_unchanged += 1


def _moves(session: Session, old: list[_Row], new: list[_Want], tz: ZoneInfo,
           report: TimetableReport) -> tuple[list[_Want], set[int]]:
    """Pair the lessons the timetable dropped with the new ones of the same service in
    the same week, in time order: those are moved (keeping their id, so their content,
    homework and bookings follow). Returns the new lessons left to create and the ids
    of the lessons moved."""
    def bucket(service_id: int, start: datetime) -> tuple[int, date]:
        return service_id, monday_of(start.astimezone(tz).date())

    olds: dict[tuple[int, date], list[_Row]] = defaultdict(list)
    for row in sorted(old, key=lambda x: x.start):
        olds[bucket(row.service_id, row.start)].append(row)
    pairs: list[tuple[_Row, _Want]] = []
    left: list[_Want] = []
    for want in new:
        candidates = olds.get(bucket(want.service_id, want.start))
        if candidates:
            pairs.append((candidates.pop(0), want))
        else:
            left.append(want)
    lessons = _load(session, (row for row, _want in pairs))
    moved: set[int] = set()
    for row, want in pairs:
        lesson = lessons[row.id]
        lesson.room, lesson.week = want.room, want.week
        move_lesson(session, lesson, want.start, want.end, by=None)
        if want.cancelled and lesson.status is LessonStatus.scheduled:
            mark_cancelled(session, lesson, by=None)
            report.lessons_cancelled += 1
        moved.add(lesson.id)
        report.lessons_moved += 1
    return left, moved


def _create(session: Session, new: list[_Want], origin: str, report: TimetableReport,
            progress: Progress) -> None:
    rows = [{"service_id": w.service_id, "start": w.start, "end": w.end, "room": w.room,
             "week": w.week, "source": LessonSource.timetable, "origin": origin,
             "status": LessonStatus.cancelled if w.cancelled else LessonStatus.scheduled,
             "created_by": None} for w in new]
    for i in range(0, len(rows), _CHUNK):
        session.execute(insert(Lesson), rows[i:i + _CHUNK])
        progress("lessons", min(i + _CHUNK, len(rows)), len(rows))
    report.lessons_created += len(rows)
    report.lessons_cancelled += sum(1 for w in new if w.cancelled)


def _remove(session: Session, gone: list[_Row], report: TimetableReport,
            service_names: dict[int, str]) -> None:
    keep = _with_content(session, (x.id for x in gone))
    lessons = _load(session, gone)
    for row in gone:
        lesson = lessons[row.id]
        if lesson.id in keep:
            name = service_names.get(lesson.service_id) or _service_name(session, lesson)
            report.kept.append(KeptLesson(lesson.id, name, lesson.start,
                                          "no longer in the timetable, kept for its content"))
            continue
        if lesson.status is LessonStatus.scheduled:
            mark_cancelled(session, lesson, by=None)
        session.delete(lesson)
        report.lessons_deleted += 1
    session.flush()


def _service_name(session: Session, lesson: Lesson) -> str:
    import acl

    service = session.get_one(TeachingService, lesson.service_id)
    subject = session.scalar(select(acl.Subject.code).where(
        acl.Subject.id == service.subject_id))
    return f"{subject} {_group_name(session, service.group_id)}"


def _by_week(wants: Iterable[_Want], tz: ZoneInfo) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for want in wants:
        counts[monday_of(want.start.astimezone(tz).date()).isoformat()] += 1
    return dict(sorted(counts.items()))


def apply_timetable(session: Session, timetable: Timetable, school_id: int,
                    year: SchoolYear, calendar: SchoolCalendar, today: date, *,
                    partial: bool = False, progress: Progress | None = None,
                    report: TimetableReport | None = None) -> TimetableReport:
    """Apply ``timetable`` to the school's ``year`` (module docstring), in the
    caller's transaction. Every record is checked before anything is written: with a
    rejected record and without ``partial``, nothing is written (``applied`` false;
    the caller rolls back what resolving created, such as subjects). ``today``: the
    import date, in the school's time zone."""
    report = report or TimetableReport()
    report.file, report.format = timetable.file, timetable.kind
    report.year, report.time_zone, report.import_date = year.label, year.time_zone, today
    report.rejected = list(timetable.rejected)
    report.warnings = list(timetable.warnings)
    step = progress or (lambda _stage, _done, _total: None)
    directory = Directory(session, school_id)
    planned = _plan(session, timetable, directory, year, calendar, report, step)
    report.rejected.sort(key=lambda r: (r.where.file, r.where.line or 0))
    if report.rejected and not partial:
        return report
    names: dict[int, str] = {}
    wants = _wants(session, directory, planned, report, names)
    report.courses = len(planned)
    report.lessons_by_week = _by_week(wants.values(), zone(year.time_zone))
    _reconcile(session, school_id, timetable, year, wants, today, report, names, step)
    session.flush()
    report.applied = True
    return report

