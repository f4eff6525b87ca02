"""The year-end archive of the cahier de textes (issue 7, "Year-end archive"): one
PDF per teaching service (teacher(s) × class × subject) with every lesson of the
school year, its content and homework with their attachments' names, and the visas on
its teachers' textbooks.

HTML is rendered with Jinja2 (``templates/textbook/archive.html``, French source
strings marked for translation) and turned into PDF by WeasyPrint, one service at
a time, each written to a temporary file then renamed, so an interrupted run leaves
whole PDFs only. Times are shown in the school's time zone. Lessons in the
corbeille are left out; cancelled ones are listed as cancelled.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver import clock
from davserver.errors import NotFound

from ..activities import sanitize_html
from ..attachments.services import attachments_of
from ..models import Activity, Lesson, SchoolYear, TeachingService
from ..oversight.models import Visa, activity_not_trashed, not_trashed
from ..oversight.visas import signer_names
from ..services import zone

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
READ_ONLY_FILE, READ_ONLY_DIR = 0o444, 0o555


@dataclass
class LessonEntry:
    """A lesson as archived: wall-clock times, and its activities in order."""

    start: datetime
    end: datetime
    room: str
    cancelled: bool
    activities: list[Activity] = field(default_factory=list)


@dataclass
class ServiceRecord:
    """What one service's PDF holds."""

    service: TeachingService
    title: str  # « MATHS 4B »
    teachers: list[str]
    lessons: list[LessonEntry]
    visas: list[tuple[Visa, str]]  # visa, signer's login
    due: dict[int, datetime]  # homework id → due lesson start, wall clock
    attachments: dict[int, list[str]] = field(default_factory=dict)  # activity id → names


def school_year(session: Session, school_id: int, label: str) -> SchoolYear:
    """The school's year labelled ``label`` (``2025-2026``); ``NotFound`` naming those
    there are."""
    found = session.scalar(select(SchoolYear).where(SchoolYear.school_id == school_id,
                                                    SchoolYear.label == label))
    if found is None:
        labels = ", ".join(session.scalars(select(SchoolYear.label).where(
            SchoolYear.school_id == school_id).order_by(SchoolYear.start)))
        raise NotFound(f"no school year {label!r} (years: {labels or 'none'})")
    return found


def _lessons(session: Session, service_id: int, year: SchoolYear,
             tz: ZoneInfo) -> list[Lesson]:
    first = datetime.combine(year.start, time(), tz).astimezone(UTC)
    after = datetime.combine(year.end + timedelta(days=1), time(), tz).astimezone(UTC)
    return list(session.scalars(select(Lesson).where(
        Lesson.service_id == service_id, Lesson.start >= first, Lesson.start < after,
        not_trashed()).order_by(Lesson.start)))


def service_record(session: Session, service: TeachingService, year: SchoolYear) -> \
        ServiceRecord:
    """Everything of ``service`` in ``year`` for its PDF (a constant number of queries)."""
    tz = zone(year.time_zone)
    lessons = _lessons(session, service.id, year, tz)
    by_lesson: dict[int, list[Activity]] = defaultdict(list)
    for activity in session.scalars(select(Activity).where(
            Activity.lesson_id.in_([lsn.id for lsn in lessons]), activity_not_trashed())
            .order_by(Activity.position, Activity.id)):
        by_lesson[activity.lesson_id].append(activity)
    starts = {lsn.id: lsn.start.astimezone(tz) for lsn in lessons}
    due = {a.id: starts[a.due_lesson_id] for items in by_lesson.values() for a in items
           if a.due_lesson_id in starts}
    teacher_ids = [t.id for t in service.teachers]
    visas = list(session.scalars(select(Visa).where(
        Visa.teacher_id.in_(teacher_ids), Visa.school_id == service.school_id,
        Visa.until >= year.start, Visa.until <= year.end).order_by(Visa.until)))
    signers = signer_names(session, {v.by_id for v in visas})
    names = {activity_id: [a.name for a in rows] for activity_id, rows in attachments_of(
        session, [a.id for items in by_lesson.values() for a in items]).items()}
    subject = acl.subject_names(session, {service.subject_id}).get(service.subject_id, "")
    group = acl.group_names(session, {service.group_id}).get(service.group_id, "")
    return ServiceRecord(
        service, f"{subject} {group}".strip(),
        [t.display_name or t.login for t in service.teachers],
        [LessonEntry(starts[lsn.id], lsn.end.astimezone(tz), lsn.room,
                     lsn.status.value == "cancelled", by_lesson.get(lsn.id, []))
         for lsn in lessons],
        [(v, signers.get(v.by_id, "")) for v in visas], due, names)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters["rich_text"] = lambda body: Markup(sanitize_html(body))
    return env


def render_html(record: ServiceRecord, school: str, year: SchoolYear) -> str:
    """The service's archive page as HTML, its making time on the school's clock."""
    generated = clock.now().astimezone(zone(year.time_zone))
    return _environment().get_template("textbook/archive.html").render(
        r=record, school=school, year=year, generated=f"{generated:%d/%m/%Y %H:%M}")


def slug(text: str, fallback: str) -> str:
    """``text`` as ASCII letters, digits and hyphens (accents dropped), for a file or
    folder name; ``fallback`` when nothing is left."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-") or fallback


def file_name(record: ServiceRecord) -> str:
    """« MATHS-4B-12.pdf »: the service's name as a slug, its id last."""
    return f"{slug(record.title, 'service')}-{record.service.id}.pdf"


def services_of_school(session: Session, school_id: int) -> list[TeachingService]:
    """The school's teaching services, by id."""
    return list(session.scalars(select(TeachingService).where(
        TeachingService.school_id == school_id).order_by(TeachingService.id)))


def render_pdf(html: str) -> bytes:
    """``html`` rendered to PDF by WeasyPrint (a service's year: some 100 KB)."""
    from weasyprint import HTML  # heavy import: only when archiving

    # WeasyPrint reports each step of each PDF at INFO: ten lines a file in our log.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()  # type: ignore[no-any-return]


def school_pdfs(session: Session, school_id: int, year: SchoolYear,
                progress: Callable[[str], None] = lambda name: None) \
        -> Iterator[tuple[str, bytes]]:
    """``(file name, PDF)`` of each service of the school that has lessons in ``year``,
    one at a time, calling ``progress`` after each service with the file's name (""
    for a service without lessons that year, left out)."""
    school = session.get_one(acl.School, school_id).name
    for service in services_of_school(session, school_id):
        record = service_record(session, service, year)
        if not record.lessons:
            progress("")
            continue
        name = file_name(record)
        yield name, render_pdf(render_html(record, school, year))
        progress(name)


def archive_school(session: Session, school_id: int, year: SchoolYear, folder: Path,
                   progress: Callable[[str], None] = lambda name: None) -> Iterator[Path]:
    """Write the school's PDFs (:func:`school_pdfs`) into ``folder`` on disk (created;
    each file through a temporary one then renamed and made read-only, 0444; the
    folder made read-only, 0555, at the end), yielding each path as it is written.
    ``folder`` must not exist (an archive is written once): ``FileExistsError``."""
    folder.mkdir(parents=True, exist_ok=False)
    for name, pdf in school_pdfs(session, school_id, year, progress):
        target = folder / name
        partial = target.with_name(f".{name}.part")
        partial.write_bytes(pdf)
        os.chmod(partial, READ_ONLY_FILE)
        os.replace(partial, target)
        yield target
    os.chmod(folder, READ_ONLY_DIR)
