"""``/textbook/controle/``: the head's and inspectors' read-only view of teachers'
textbooks, and the head's visa (issue 7, "Visa" and "Inspector access").

* ``/textbook/controle/``: for the head and admins, the school's teachers (links to
  their textbooks for the head), the form opening an inspector's access and the
  accesses with their revoke buttons; for an inspector, their current accesses.
* ``/textbook/controle/enseignants/<id>/``: a teacher's week, read-only; the head
  puts a visa there (``…/visas``, POST).
* ``/textbook/controle/enseignants/<id>/seances/<lesson>``: a lesson, read-only,
  without the teachers' private notes.

Who may read is :func:`web.textbook.read_scope`: the head of the teacher's school at
any time, an inspector while an access is current and only the services it names
(403 naming the period otherwise), 404 for a teacher of another school, 403 for
every other profile. A lesson of the teacher's not in the scope is 403 (the access
does not cover it), one that is not the teacher's or is in the corbeille 404.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

import acl
from davserver import clock, journal
from davserver.errors import BadRequest, DomainError
from web import textbook
from web.auth import chosen_school, login_required, signed_in, web_context
from web.forms import ActionForm

from ..forms import day_label
from ..pages import lesson_view, week_start, zone_of
from .forms import AccessForm, VisaForm, set_access_choices

bp = Blueprint("oversight", __name__, url_prefix="/textbook/controle")

NOT_OVERSEER = "Cette page est réservée à la direction, aux administrateurs et aux inspecteurs."


def _scope(s: Session, teacher_id: int) -> textbook.ReadScope:
    """The signed-in user's read scope of ``teacher_id``'s textbook; an inspector's
    reading through their access is journaled (``inspector_access_used``)."""
    try:
        scope = textbook.read_scope(s, signed_in().id, teacher_id)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    if scope.access is not None:
        journal.record_apart(
            web_context().db, journal.Kind.inspector_access_used, actor=signed_in(),
            target=acl.logins_of(s, {teacher_id}).get(teacher_id),
            school_id=scope.school_id, place=request.path,
            details={"access": scope.access.id})
    return scope


def _choices(s: Session, school_id: int | None,
             form: AccessForm) -> list[tuple[acl.Principal, list[str]]]:
    """Fill the access form's choices; returns the school's teachers, each with the
    names of their services."""
    by_teacher = textbook.school_services(s, school_id)
    pairs = [(teacher, sv) for teacher, own in by_teacher.items() for sv in own]
    labels = textbook.service_labels(s, [sv for _, sv in pairs])
    services = [(sv.id, f"{label} ({teacher.display_name or teacher.login})")
                for (teacher, sv), label in zip(pairs, labels, strict=True)]
    inspectors = [(p.id, p.display_name or p.login) for p, disabled in acl.list_users(s)
                  if p.profile is acl.Profile.inspector and not disabled]
    set_access_choices(form, inspectors,
                       [(t.id, t.display_name or t.login) for t in by_teacher], services)
    return [(t, [label for (who, _), label in zip(pairs, labels, strict=True) if who == t])
            for t in by_teacher]


def _access_rows(s: Session, accesses: list[textbook.InspectorAccess]) -> list[Any]:
    names = acl.names_of(s, {a.inspector_id for a in accesses}
                         | {a.teacher_id for a in accesses})
    return [(a, names.get(a.inspector_id, ""), names.get(a.teacher_id, ""),
             textbook.access_services_text(s, a),
             textbook.access_state(a, textbook.access_today(s, a))) for a in accesses]


def index_page(form: AccessForm | None = None, error: str | None = None,
               status: int = 200) -> tuple[str, int]:
    """The oversight page of the signed-in head, admin or inspector (403 for others)."""
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:
        if principal.profile is acl.Profile.inspector:
            rows = _access_rows(s, textbook.current_accesses(s, principal.id))
            return render_template("textbook/oversight.html", inspector=True, rows=rows,
                                   date_label=textbook.date_label), status
        ctx = acl.user_context(s, principal.id, chosen_school())
        if ctx.profile not in textbook.OPENERS:
            abort(403, description=NOT_OVERSEER)
        school = ctx.school_id
        form = form or AccessForm(formdata=None)
        teachers = _choices(s, school, form)
        rows = _access_rows(s, textbook.accesses_in_school(s, school))
        return render_template(
            "textbook/oversight.html", inspector=False, rows=rows, teachers=teachers,
            form=form, action_form=ActionForm(), error=error,
            head=ctx.profile is acl.Profile.head,
            date_label=textbook.date_label), status


@bp.get("/")
@login_required
def index() -> tuple[str, int]:
    """The head's and admins' teachers and accesses, or an inspector's accesses."""
    return index_page()


def _teacher_page(teacher_id: int, form: VisaForm | None = None, error: str | None = None,
                  status: int = 200) -> tuple[str, int]:
    with web_context().db.transaction(write=False) as s:
        scope = _scope(s, teacher_id)
        monday, tz = week_start(s, scope.service_ids)
        name = acl.names_of(s, {teacher_id}).get(teacher_id, "")
        visas = textbook.visas_of(s, teacher_id)
        if form is None:
            form = VisaForm(formdata=None, data={"until": clock.today(tz)})
        links = {"previous": _week_url(teacher_id, monday - timedelta(days=7)),
                 "next": _week_url(teacher_id, monday + timedelta(days=7)),
                 "current": url_for(".teacher", teacher_id=teacher_id)}
        return render_template(
            "textbook/oversight_week.html",
            weeks=[(None, textbook.week_plan(s, scope.service_ids, monday, tz))],
            monday=monday, links=links, day_label=day_label, teacher=True, observer=True,
            holidays=textbook.week_holidays(s, scope.school_id, monday),
            heading=_("Cahier de textes de %(name)s", name=name), scope=scope,
            period=textbook.period_text(scope.access) if scope.access else None,
            lesson_url=lambda i: url_for(".lesson", teacher_id=teacher_id, lesson_id=i),
            visas=visas, names=textbook.signer_names(s, {v.by_id for v in visas}),
            date_label=textbook.date_label, visa_form=form if scope.head else None,
            error=error), status


def _week_url(teacher_id: int, monday: date) -> str:
    return url_for(".teacher", teacher_id=teacher_id, week=monday.isoformat())


@bp.get("/enseignants/<int:teacher_id>/")
@login_required
def teacher(teacher_id: int) -> tuple[str, int]:
    """A teacher's week, read-only (``?week=YYYY-MM-DD``); the visa form for the head."""
    return _teacher_page(teacher_id)


@bp.get("/enseignants/<int:teacher_id>/seances/<int:lesson_id>")
@login_required
def lesson(teacher_id: int, lesson_id: int) -> str:
    """One of the teacher's lessons, read-only, with the marks of changes after a visa."""
    with web_context().db.transaction(write=False) as s:
        scope = _scope(s, teacher_id)
        found = s.get(textbook.Lesson, lesson_id)
        if found is None or textbook.is_trashed(s, lesson_id) \
                or not textbook.is_teacher(s, teacher_id, found.service_id):
            abort(404)
        if found.service_id not in scope.service_ids:
            abort(403, description=_("Votre accès à ce cahier de textes ne couvre pas ce "
                                     "service."))
        week = found.start.astimezone(zone_of(s, found)).date().isoformat()
        back = url_for(".teacher", teacher_id=teacher_id, week=week)
        return lesson_view(s, found, None, teacher=False, trashed=False, error=None,
                           back_url=back)


@bp.post("/enseignants/<int:teacher_id>/visas")
@login_required
def put_visa(teacher_id: int) -> Response | tuple[str, int]:
    """The head puts a visa; bad input shows the page again (400), nothing saved."""
    with web_context().db.transaction(write=False) as s:
        if not _scope(s, teacher_id).head:  # 403/404 before any input check
            abort(403, description=textbook.NOT_SUPERVISOR)
    form = VisaForm()
    if not form.validate_on_submit() or form.until.data is None:
        return _teacher_page(teacher_id, form, _("Le formulaire contient des erreurs : "
                                                 "aucun visa n'a été posé."), 400)
    try:
        with web_context().db.transaction() as s:
            visa = textbook.put_visa(s, signed_in().id, teacher_id, form.until.data,
                                     form.comment.data or "")
            until = textbook.date_label(visa.until)
    except BadRequest as exc:
        return _teacher_page(teacher_id, form, exc.message, 400)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(_("Visa posé : séances jusqu'au %(day)s incluses.", day=until), "notice")
    return redirect(url_for(".teacher", teacher_id=teacher_id,
                            week=request.args.get("week") or None), code=303)
