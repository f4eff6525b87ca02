"""The cahier de textes in the browser (issue 5): week views and lesson pages.

Who sees what is decided in :mod:`web.textbook.reading` (shared with the JSON API;
one table test walks every cell): teachers of the service read and edit (another
teacher: 403 for the page, the edit forms and every POST, checked again by the service
in the write transaction), its students and their parents read (cancelled lessons
and homework aimed at others left out; any other lesson 404); nobody but the
service's teachers sees the private note.

Times are shown in the school's time zone (``SchoolYear.time_zone``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

import acl
from davserver import clock
from davserver.errors import BadRequest, DomainError
from web import textbook
from web.auth import login_required, signed_in, web_context
from web.forms import ActionForm

from .attachments.pages import porte_documents_files
from .binder.pages import transfer_choices
from .forms import (
    KIND_LABELS,
    ContentForm,
    HomeworkForm,
    day_label,
    moment_label,
    set_choices,
    to_input,
)
from .homework_pages import READERS, calendar_page

bp = Blueprint("textbook", __name__, url_prefix="/textbook")


@bp.app_template_filter("rich_text")
def rich_text(body: str) -> Markup:
    """An activity body as HTML to insert in a page. Bodies are cleaned when saved;
    cleaning again here keeps a row written by any other path from running script."""
    return Markup(textbook.sanitize_html(body))


NOT_TEACHER = _l("Seuls les enseignants de ce service peuvent modifier son cahier de "
                 "textes.")
OVERSEERS = frozenset({acl.Profile.head, acl.Profile.admin, acl.Profile.inspector})


def week_start(s: Session, service_ids: list[int]) -> tuple[date, Any]:
    """The Monday asked for in ``?week=YYYY-MM-DD`` (any day of the week; default:
    today in the school's zone) and that zone. A bad date is 400."""
    try:
        return textbook.asked_monday(s, service_ids, request.args.get("week"))
    except DomainError as exc:
        abort(exc.status, description=exc.message)


def _week_links(monday: date, view: str | None = None) -> dict[str, str]:
    """Previous/next/this week (keeping ``view``: ``liste`` or the grid), and this
    week as a grid or as a list."""
    # Any, as url_for's **values: a dict[str, str] could also fill its bool ``_external``.
    extra: dict[str, Any] = {"vue": view} if view else {}
    return {"previous": url_for(".week", week=(monday - timedelta(days=7)).isoformat(),
                                **extra),
            "next": url_for(".week", week=(monday + timedelta(days=7)).isoformat(), **extra),
            "current": url_for(".week", **extra),
            "grid": url_for(".week", week=monday.isoformat()),
            "list": url_for(".week", week=monday.isoformat(), vue="liste")}


@bp.get("/")
@login_required
def week() -> str | Response:
    """The signed-in user's week (:func:`web.textbook.weeks_of`): a teacher's services
    (with the visas and inspectors' accesses on them); for a student or a parent (one
    child at a time, ``?enfant=<login>``) the tab « Calendrier » of
    :mod:`web.textbook.homework_pages`. The head, admins and inspectors are sent to the
    oversight page."""
    principal = signed_in()
    if principal.profile in OVERSEERS:
        return redirect(url_for("oversight.index"))
    if principal.profile in READERS:
        return calendar_page()
    try:
        with web_context().db.transaction(write=False) as s:
            monday, _tz, weeks, school_id = textbook.weeks_of(
                s, principal, request.args.get("week"), web_context().textbook)
            oversight = teacher_oversight(s, principal.id) \
                if principal.profile is acl.Profile.teacher else {}
            as_list = request.args.get("vue") == "liste"
            return render_template(
                "textbook/week.html", weeks=weeks, monday=monday, as_list=as_list,
                booked=booked_in(s, weeks),
                holidays=textbook.week_holidays(s, school_id, monday),
                links=_week_links(monday, "liste" if as_list else None),
                day_label=day_label, teacher=principal.profile is acl.Profile.teacher,
                lesson_url=lambda i: url_for("textbook.lesson", lesson_id=i), **oversight)
    except DomainError as exc:
        abort(exc.status, description=exc.message)


def booked_lines(s: Session, lesson_id: int) -> list[str]:
    """What is booked for the lesson, one line each (see :func:`booked_for`)."""
    return booked_for(s, [lesson_id]).get(lesson_id, [])


def booked_for(s: Session, lesson_ids: Iterable[int]) -> dict[int, list[str]]:
    """What is booked for each of these lessons that has anything, by lesson id
    (:data:`web.textbook.lesson_resources_asked`: the booking feature answers, in one
    query for all of them)."""
    ids = tuple(lesson_ids)
    found: dict[int, list[str]] = {}
    if not ids:
        return found
    for _receiver, by_lesson in textbook.lesson_resources_asked.send(ids, session=s):
        for lesson_id, lines in by_lesson.items():
            found.setdefault(lesson_id, []).extend(lines)
    return found


def booked_in(s: Session, weeks: Any) -> dict[int, list[str]]:
    """:func:`booked_for` the lessons of ``weeks`` ((child, days) pairs)."""
    return booked_for(s, [row.lesson.id for _child, days in weeks for day in days
                          for row in day.lessons])


def teacher_oversight(s: Session, teacher_id: int) -> dict[str, Any]:
    """The visas put on the teacher's textbook and the inspectors' accesses opened on
    it (issue 7: the teacher sees both), each access with its services in words and
    its state today."""
    accesses = [(a, textbook.access_services_text(s, a),
                 textbook.access_state(a, textbook.access_today(s, a)))
                for a in textbook.accesses_for_teacher(s, teacher_id)]
    visas = textbook.visas_of(s, teacher_id)
    names = acl.names_of(s, {a.inspector_id for a, _, _ in accesses}) \
        | textbook.signer_names(s, {v.by_id for v in visas})
    return {"visas": visas, "accesses": accesses, "names": names,
            "date_label": textbook.date_label}


def lesson_heading(s: Session, lesson: textbook.Lesson, tz: Any) -> str:
    """« Mathématiques · 4B · vendredi 04/12 14:00–15:00 · salle B12 » (issue 20):
    the lesson's subject and class, its day and times in the school's zone ``tz``, its
    room when it has one."""
    service = s.get_one(textbook.TeachingService, lesson.service_id)
    start, end = lesson.start.astimezone(tz), lesson.end.astimezone(tz)
    parts = [textbook.service_titles(s, [service])[service.id],
             f"{moment_label(start)}–{end:%H:%M}"]
    if lesson.room:
        parts.append(_("salle %(room)s", room=lesson.room))
    return " · ".join(parts)


def _reader_of(s: Session, lesson: textbook.Lesson) -> int | None:
    """:func:`web.textbook.reader_of` for the signed-in user, its refusals as error
    pages (403, 404)."""
    try:
        return textbook.reader_of(s, signed_in(), lesson)
    except DomainError as exc:
        abort(exc.status, description=exc.message)


def zone_of(s: Session, lesson: textbook.Lesson) -> Any:
    """The time zone of the lesson's school."""
    return textbook.school_zone(
        s, s.get_one(textbook.TeachingService, lesson.service_id).school_id)


def _lesson(s: Session, lesson_id: int) -> textbook.Lesson:
    try:
        return textbook.get_lesson(s, lesson_id)
    except DomainError:
        abort(404)


def _due_choices(s: Session, lesson: textbook.Lesson, tz: Any,
                 service: textbook.TeachingService) -> list[tuple[int, str]]:
    """Next lessons of the service, each labelled with the class's load that day."""
    choices = []
    for due in textbook.next_lessons(s, lesson):
        local = due.start.astimezone(tz)
        load = textbook.workload_day(s, service.group_id, local.date(), tz)
        choices.append((due.id, _("%(when)s (ce jour : %(count)d travaux, %(minutes)d min)",
                                  when=moment_label(local), count=load.count,
                                  minutes=load.minutes)))
    return choices


def prepare_homework(s: Session, lesson: textbook.Lesson, form: HomeworkForm,
                     tz: Any, keep: str | None = None) -> textbook.TeachingService:
    """Give ``form`` its choices: the service's next lessons (each with the class's
    load that day), the students of its class or group, and the school's homework
    types (plus ``keep``, an edited homework's type the school removed since)."""
    service = s.get_one(textbook.TeachingService, lesson.service_id)
    students = [(p.id, p.display_name or p.login)
                for p in acl.members_of(s, service.group_id, acl.Profile.student)]
    types = textbook.homework_types(s, service.school_id)
    set_choices(form, _due_choices(s, lesson, tz, service), students,
                types + ([keep] if keep and keep not in types else []))
    return service


def workload_text(s: Session, due: textbook.Lesson, group_id: int, tz: Any) -> str:
    """« Charge de la classe pour le mercredi 09/09 : … ; dans la semaine : … »."""
    local = due.start.astimezone(tz)
    on_day = textbook.workload_day(s, group_id, local.date(), tz)
    in_week = textbook.workload_week(s, group_id, local.date(), tz)
    return _("Charge de la classe pour le %(day)s : %(count)d travaux (%(minutes)d min) ; "
             "dans la semaine : %(wcount)d travaux (%(wminutes)d min).",
             day=day_label(local), count=on_day.count, minutes=on_day.minutes,
             wcount=in_week.count, wminutes=in_week.minutes)


def _teacher_context(s: Session, lesson: textbook.Lesson, tz: Any,
                     forms: dict[str, Any]) -> dict[str, Any]:
    homework = forms.get("homework_form") or HomeworkForm(formdata=None)
    service = prepare_homework(s, lesson, homework, tz)
    chosen = homework.due_lesson.data
    due = s.get(textbook.Lesson, chosen) if chosen else textbook.default_due_lesson(s, lesson)
    if due is not None and not chosen:
        homework.due_lesson.data = due.id
    return {"content_form": forms.get("content_form") or ContentForm(formdata=None),
            "homework_form": homework, "action_form": ActionForm(),
            "workload": workload_text(s, due, service.group_id, tz) if due else None,
            "picker_files": porte_documents_files(signed_in()),
            **transfer_choices(s, signed_in().id, lesson)}


def lesson_view(s: Session, lesson: textbook.Lesson, reader: int | None,
                **context: Any) -> str:
    """The lesson page of ``lesson``: every activity for ``reader`` None (its
    teachers, the head, an inspector), else those the student ``reader`` may see;
    activities added or changed after the covering visa are marked (issue 7).
    ``context`` goes to the template (``teacher``, ``back_url``, the forms…)."""
    plan_tz = zone_of(s, lesson)
    items = textbook.readable_activities(s, lesson, reader, web_context().textbook)
    due_lessons = {d.id: d for d in s.scalars(select(textbook.Lesson).where(
        textbook.Lesson.id.in_({a.due_lesson_id for a in items if a.due_lesson_id})))}
    due_at = {a.id: moment_label(due_lessons[a.due_lesson_id].start.astimezone(plan_tz))
              for a in items if a.due_lesson_id in due_lessons}
    visa = textbook.covering_visa(s, lesson)
    now = clock.now()
    settings = web_context().textbook
    release = {a.id: when for a in items
               if (when := textbook.shows_at(a, lesson, settings)) is not None and when > now}
    # Only the student themself hands in (a parent reads the same lesson as the child).
    handins = (textbook.student_handins(s, reader, items)
               if reader is not None and reader == signed_in().id else {})
    context.setdefault("action_form", ActionForm())
    return render_template("textbook/lesson.html", handins=handins, lesson=lesson, activities=items,
                           due_at=due_at, visa=visa, marks=textbook.changes_after(visa, items),
                           date_label=textbook.date_label,
                           when=moment_label(lesson.start.astimezone(plan_tz)),
                           heading=lesson_heading(s, lesson, plan_tz),
                           until=f"{lesson.end.astimezone(plan_tz):%H:%M}",
                           local_start=lesson.start.astimezone(plan_tz),
                           now=now, release=release,
                           held=textbook.held_by_visa(visa, items),
                           local=lambda t: moment_label(t.astimezone(plan_tz)),
                           kind_labels=KIND_LABELS,
                           lesson_school=s.get_one(textbook.TeachingService,
                                                   lesson.service_id).school_id,
                           done_counts=textbook.done_counts(s, items) if reader is None
                           else {}, attachments=textbook.attachments_of(s, [a.id for a in items]),
                           booked=booked_lines(s, lesson.id),
                           due_here=textbook.homework_due_at(s, lesson, reader, settings),
                           **context)


def lesson_page(lesson_id: int, forms: dict[str, Any] | None = None,
                 error: str | None = None, status: int = 200) -> tuple[str, int]:
    with web_context().db.transaction(write=False) as s:
        lesson = _lesson(s, lesson_id)
        reader = _reader_of(s, lesson)
        trashed = textbook.is_trashed(s, lesson.id)
        if trashed and reader is not None:
            abort(404)
        plan_tz = zone_of(s, lesson)
        context = _teacher_context(s, lesson, plan_tz, forms or {}) if reader is None else {}
        back = url_for("textbook.week",
                       week=lesson.start.astimezone(plan_tz).date().isoformat())
        page = lesson_view(s, lesson, reader, teacher=reader is None, error=error,
                           trashed=trashed, back_url=back,
                           open_form=next(iter(forms or {}), None), **context)
    return page, status


@bp.get("/seances/<int:lesson_id>/charge")
@login_required
def workload(lesson_id: int) -> dict[str, str]:
    """JSON ``{"text": …}``: the class's workload for the due lesson ``?echeance=ID``
    (one of the next lessons of this lesson's service), for its teachers only (403);
    the lesson page's script shows it when the due-lesson select changes."""
    with web_context().db.transaction(write=False) as s:
        lesson = _lesson(s, lesson_id)
        if not textbook.is_teacher(s, signed_in().id, lesson.service_id):
            abort(403, description=str(NOT_TEACHER))
        due = s.get(textbook.Lesson, request.args.get("echeance", 0, type=int))
        if due is None or due.service_id != lesson.service_id:
            abort(404)
        service = s.get_one(textbook.TeachingService, lesson.service_id)
        return {"text": workload_text(s, due, service.group_id, zone_of(s, lesson))}


@bp.get("/seances/<int:lesson_id>")
@login_required
def lesson(lesson_id: int) -> tuple[str, int]:
    """A lesson's activities; for its teachers, the forms to add content and homework
    with the class's workload for the due date."""
    return lesson_page(lesson_id)


def _save(lesson_id: int, form: ContentForm, form_name: str,
          change: Any) -> Response | tuple[str, int]:
    """Validate ``form`` and run ``change(session, user_id, input)`` in one write
    transaction (the service checks the teacher again); errors show the lesson page
    again, nothing saved. Anyone but the service's teachers gets 403 (students and
    parents too: these are teacher endpoints), a missing lesson 404."""
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:
        # Refused before any input check, so they learn nothing from the messages.
        if not textbook.is_teacher(s, principal.id, _lesson(s, lesson_id).service_id):
            abort(403, description=str(NOT_TEACHER))
    if isinstance(form, HomeworkForm):
        with web_context().db.transaction(write=False) as s:
            lsn = textbook.get_lesson(s, lesson_id)
            prepare_homework(s, lsn, form, zone_of(s, lsn))
    if not form.validate_on_submit():
        return lesson_page(lesson_id, {form_name: form},
                            _("Le formulaire contient des erreurs : rien n'a été enregistré."),
                            400)
    try:
        with web_context().db.transaction() as s:
            saved = change(s, principal.id, to_input(form))
            notice = saved_notice(s, saved)
            saved_id = saved.id if isinstance(saved, textbook.Activity) else None
    except BadRequest as exc:
        return lesson_page(lesson_id, {form_name: form}, exc.message, 400)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    if request.form.get("then") == "media" and saved_id is not None:
        # The editor's image, sound and video buttons on a new activity: it needs an
        # id to hold attachments, so it is saved and opened for editing.
        flash(_("Activité enregistrée : insérez maintenant l'image, le son ou la vidéo."),
              "notice")
        return redirect(url_for("textbook_activity.edit_form", activity_id=saved_id),
                        code=303)
    flash(notice, "notice")
    return redirect(url_for(".lesson", lesson_id=lesson_id), code=303)


def saved_notice(s: Session, activity: Any) -> str:
    """The message after saving ``activity``: for a homework held back by quiet hours
    (:mod:`web.textbook.visibility`), when students will see it and that « Publier
    maintenant » shows it at once (issue 20)."""
    if isinstance(activity, textbook.Activity) and \
            activity.kind is textbook.ActivityKind.homework and \
            activity.visible_from is not None and activity.visible_from > clock.now():
        lesson = s.get_one(textbook.Lesson, activity.lesson_id)
        when = moment_label(activity.visible_from.astimezone(zone_of(s, lesson)))
        return _("Travail enregistré. Heures calmes : les élèves le verront le %(when)s ; "
                 "« Publier maintenant » le leur montre tout de suite.", when=when)
    return _("Activité enregistrée.")


@bp.post("/seances/<int:lesson_id>/<any(contenus, travaux):kind>")
@login_required
def add(lesson_id: int, kind: str) -> Response | tuple[str, int]:
    """Add a content (``contenus``) or a homework (``travaux``) to the lesson."""
    form: ContentForm = ContentForm() if kind == "contenus" else HomeworkForm()
    name = "content_form" if kind == "contenus" else "homework_form"
    return _save(lesson_id, form, name,
                 lambda s, uid, data: textbook.add_activity(s, uid, lesson_id, data,
                                                        web_context().textbook))


