"""``/textbook/travail/``: the student and parent view of the cahier de textes (issue 5,
"Student and parent view"): the homework due in a week by due date ("Travail à
faire", tab "Liste"; the week page ``/textbook/`` is the tab "Calendrier"), the
previous and next weeks one click away, the student's ticks (POST with CSRF), a
parent's child selector (``?enfant=<login>``; another family's child: 403).

What shows is decided by :mod:`web.textbook.reading` through
:func:`web.textbook.homework_week`; ticks by :func:`web.textbook.set_done`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import acl
from davserver import clock
from davserver.errors import DomainError
from web import textbook
from web.auth import login_required, safe_next, signed_in, web_context
from web.forms import ActionForm

from .calendar import monday_of
from .forms import day_label, moment_label

bp = Blueprint("textbook_homework", __name__, url_prefix="/textbook/travail")
READERS = frozenset({acl.Profile.student, acl.Profile.parent})


def student_tabs(endpoint: str, monday: date, child: str | None,
                 today: date) -> dict[str, Any]:
    """Links of the student and parent pages for the week of ``monday`` and the chosen
    ``child`` (a parent's; None for a student): the tabs "Liste" and "Calendrier",
    and the previous, current (the week of ``today``, named: the list without a week
    opens on the next homework due) and next weeks of the page ``endpoint``."""
    def week_url(target: str, day: date | None) -> str:
        args: dict[str, Any] = {"week": day.isoformat()} if day else {}
        if child:
            args["enfant"] = child
        return url_for(target, **args)

    return {"tabs": {"list": week_url("textbook_homework.index", monday),
                     "calendar": week_url("textbook.week", monday)},
            "links": {"previous": week_url(endpoint, monday - timedelta(days=7)),
                      "next": week_url(endpoint, monday + timedelta(days=7)),
                      "current": week_url(endpoint, monday_of(today))}}


def child_login(week: textbook.HomeworkWeek) -> str | None:
    """The chosen child's login on a parent's page, None on a student's."""
    return dict(week.children).get(week.student_id or 0) if week.children else None


def _week_page(template: str, endpoint: str, tab: str,
               extra: Callable[[textbook.HomeworkWeek], dict[str, Any]],
               open_on_next: bool = False, holidays: bool = False) -> str:
    """Render ``template`` for the signed-in student or parent's week (``?week=``,
    ``?enfant=``; ``open_on_next``: without ``?week=``, the week of the next homework
    due) with the tabs and week links of ``endpoint``, plus ``extra(week)``, and the
    state of each online hand-in (``handins``, by activity id), and with ``holidays``
    the school holidays of the week (:func:`web.textbook.week_holidays`); refusals as
    error pages (400 bad date, 403 another family's child)."""
    try:
        with web_context().db.transaction(write=False) as s:
            week = textbook.homework_week(s, signed_in(), request.args.get("week"),
                                          web_context().textbook, request.args.get("enfant"),
                                          open_on_next=open_on_next)
            child = child_login(week)
            activities = [i.activity for i in week.items]
            attachments = textbook.attachments_of(s, [a.id for a in activities])
            handins = (textbook.student_handins(s, week.student_id, activities)
                       if week.student_id is not None else {})
            extra_holidays: dict[str, Any] = {}
            if holidays:
                extra_holidays = {"holidays": textbook.week_holidays(
                    s, week.school_id, week.monday)}
            return render_template(template, week=week, monday=week.monday, child=child,
                                   day_label=day_label, tab=tab, attachments=attachments,
                                   handins=handins, **extra(week), **extra_holidays,
                                   **student_tabs(endpoint, week.monday, child,
                                                  clock.today(week.tz)))
    except DomainError as exc:
        abort(exc.status, description=exc.message)


@bp.get("/")
@login_required
def index() -> str | Response:
    """« Travail à faire »: the homework due in the week ``?week=AAAA-MM-JJ`` (default:
    the week of the next homework due, else this week), by due date, each with its
    tick (a button for the student, read-only for a parent) and, for an online
    hand-in, its state and a link to it. Other profiles are sent to their textbook
    page."""
    principal = signed_in()
    if principal.profile not in READERS:
        return redirect(url_for("textbook.week"))
    return _week_page("textbook/homework.html", "textbook_homework.index", "list",
                      lambda week: {
                          "student": principal.profile is acl.Profile.student,
                          "action_form": ActionForm(), "moment_label": moment_label,
                          "local": lambda t: moment_label(t.astimezone(week.tz)),
                          "here": request.full_path,
                          "opened_on_next": not request.args.get("week")},
                      open_on_next=True)


@bp.post("/<int:activity_id>/<any(fait, 'pas-fait'):state>")
@login_required
def tick(activity_id: int, state: str) -> Response:
    """Tick (``fait``) or untick (``pas-fait``) a homework as the signed-in student,
    then back to the page in ``next``. A parent or a teacher: 403; a homework the
    student does not read: 404; nothing saved then."""
    try:
        with web_context().db.transaction() as s:
            textbook.set_done(s, signed_in(), activity_id, state == "fait",
                              web_context().textbook)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(_("Travail marqué comme fait.") if state == "fait"
          else _("Travail marqué comme non fait."), "notice")
    return redirect(safe_next(request.form.get("next") or url_for(".index")), code=303)


def calendar_page() -> str:
    """The tab « Calendrier » of a student or parent: the week page ``/textbook/``
    (:func:`web.textbook.pages.week`) of the student, or of the parent's chosen child,
    with the tabs, the child selector and the homework ticked marked done."""
    return _week_page("textbook/week.html", "textbook.week", "calendar", lambda week: {
        "weeks": week.weeks, "done_ids": week.done_ids, "teacher": False,
        "lesson_url": lambda i: url_for("textbook.lesson", lesson_id=i)}, holidays=True)
