"""The blocks of the home page (issue 20, "Finding your way"): what a signed-in person
has to do or see today, following their profile.

* teachers: their lessons today and tomorrow (class, subject, room, a « contenu »
  mark), and the homework due at them;
* students: their lessons today and tomorrow, and the homework due from today on
  (two weeks ahead; only what is aimed at them and already shown, as on « Travail à
  faire »);
* parents: a link to each child's homework;
* everyone who books: their bookings to come;
* everyone: unread notifications and the porte-documents' use of its quota.

Each block is a :class:`Block`; the template draws them in order. Hiding and reordering
blocks is not kept yet (no preference store on this branch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver import clock
from web import textbook
from web.auth import web_context
from web.booking.models import HOLDING, Booking
from web.documents.present import human_size
from web.notifications.services import unread_count
from web.textbook.forms import day_label

MAX_ITEMS = 8  # lines per block: the page is a summary, each block links to the rest


@dataclass
class Line:
    """One line of a block: its text, a link, a short hint after it."""

    text: str
    url: str | None = None
    hint: str = ""


@dataclass
class Block:
    """A block of the home page: ``name`` (its CSS class and test hook), title, lines,
    the sentence shown when it has none, and a link to the full page."""

    name: str
    title: str
    lines: list[Line] = field(default_factory=list)
    empty: str = ""
    more: tuple[str, str] | None = None


def _lessons(s: Session, service_ids: list[int], tz: Any, today: date,
             student_id: int | None) -> list[tuple[date, textbook.LessonRow]]:
    """The lessons of ``service_ids`` today and tomorrow, from the week plans (the
    same rules as the week: no corbeille; for a student, no cancelled lesson)."""
    found = []
    mondays = sorted({textbook.monday_of(today), textbook.monday_of(today + timedelta(1))})
    for monday in mondays:
        for day in textbook.week_plan(s, service_ids, monday, tz, student_id=student_id):
            if day.day in (today, today + timedelta(1)):
                found += [(day.day, row) for row in day.lessons]
    return found


def _lesson_block(s: Session, principal: acl.Principal, tz: Any, today: date) -> Block:
    student = principal.profile is acl.Profile.student
    ids = (textbook.student_service_ids(s, principal.id) if student
           else textbook.teacher_service_ids(s, principal.id))
    block = Block("lessons", _("Mes séances aujourd'hui et demain"),
                  empty=_("Aucune séance aujourd'hui ni demain."),
                  more=(_("Cahier de textes"), url_for("textbook.week")))
    names = {today: _("Aujourd'hui"), today + timedelta(1): _("Demain")}
    for day, row in _lessons(s, ids, tz, today,
                             principal.id if student else None)[:MAX_ITEMS]:
        hint = [names[day]]
        if row.lesson.room:
            hint.append(_("salle %(room)s", room=row.lesson.room))
        if row.lesson.status is textbook.LessonStatus.cancelled:
            hint.append(_("annulée"))
        elif row.has_content:
            hint.append(_("contenu saisi"))
        block.lines.append(Line(
            f"{row.start:%H:%M}–{row.end:%H:%M} {row.subject} · {row.group}",
            url_for("textbook.lesson", lesson_id=row.lesson.id), " · ".join(hint)))
    return block


def _homework_block(s: Session, principal: acl.Principal, tz: Any, today: date) -> Block:
    block = Block("homework", _("Travail à faire"), empty=_("Aucun travail à faire."),
                  more=(_("Tout le travail à faire"), url_for("textbook_homework.index")))
    ids = textbook.student_service_ids(s, principal.id)
    monday = textbook.monday_of(today)
    for week in (monday, monday + timedelta(7)):
        for day in textbook.week_plan(s, ids, week, tz, student_id=principal.id,
                                      settings=web_context().textbook):
            if day.day < today:
                continue
            for due in day.due:
                a = due.activity
                hint = [_("pour le %(day)s", day=day_label(due.due))]
                if a.online_submission:
                    hint.append(_("remise en ligne"))
                block.lines.append(Line(f"{due.subject} : {a.title}",
                                        url_for("textbook.lesson", lesson_id=a.lesson_id)
                                        + f"#activite-{a.id}", " · ".join(hint)))
    del block.lines[MAX_ITEMS:]
    return block


def _children_block(s: Session, principal: acl.Principal) -> Block:
    block = Block("children", _("Mes enfants"), empty=_("Aucun enfant rattaché."))
    ids = set(acl.children_of(s, principal.id))
    logins, names = acl.logins_of(s, ids), acl.names_of(s, ids)
    for child_id in sorted(ids, key=lambda i: logins.get(i, "")):
        block.lines.append(Line(
            _("Travail à faire de %(name)s", name=names.get(child_id) or logins[child_id]),
            url_for("textbook_homework.index", enfant=logins[child_id])))
    return block


def _bookings_block(s: Session, principal: acl.Principal, tz: Any) -> Block:
    block = Block("bookings", _("Mes réservations à venir"),
                  empty=_("Aucune réservation à venir."),
                  more=(_("Réservations"), url_for("booking.index")))
    rows = s.scalars(select(Booking).where(
        Booking.booked_by == principal.id, Booking.end > clock.now(),
        Booking.status.in_(HOLDING)).order_by(Booking.start).limit(MAX_ITEMS))
    for b in rows:
        start, end = b.start.astimezone(tz), b.end.astimezone(tz)
        block.lines.append(Line(
            f"{b.resource.name} — {day_label(start)} {start:%H:%M}–{end:%H:%M}", None,
            _("en attente de validation") if b.status.value == "pending" else ""))
    return block


def _account_block(s: Session, principal: acl.Principal) -> Block:
    block = Block("account", _("Mon espace"))
    unread = unread_count(s, principal.id)
    block.lines.append(Line(
        _("%(n)d notification(s) non lue(s)", n=unread) if unread
        else _("Aucune notification non lue"), url_for("notifications.index")))
    store = web_context().store
    space = store.ensure_space("documents", owner_id=principal.id,
                               profile=principal.profile.value)
    usage = store.usage(space.id)
    if usage is not None and usage.limit:
        block.lines.append(Line(
            _("Porte-documents : %(used)s utilisés sur %(limit)s (%(pct)d %%)",
              used=human_size(usage.used), limit=human_size(usage.limit),
              pct=min(100, usage.used * 100 // usage.limit)),
            url_for("documents.index")))
    block.lines.append(Line(_("Connecter mon porte-documents comme un lecteur réseau"),
                            url_for("pages.connect")))
    return block


def home_blocks(s: Session, principal: acl.Principal, tz: Any) -> list[Block]:
    """The blocks of ``principal``'s home page, in order, for today in ``tz`` (the
    school's zone)."""
    today = clock.today(tz)
    profile = principal.profile
    blocks = []
    if profile in (acl.Profile.teacher, acl.Profile.student):
        blocks.append(_lesson_block(s, principal, tz, today))
    if profile is acl.Profile.student:
        blocks.append(_homework_block(s, principal, tz, today))
    if profile is acl.Profile.parent:
        blocks.append(_children_block(s, principal))
    if profile not in (acl.Profile.student, acl.Profile.parent):
        blocks.append(_bookings_block(s, principal, tz))
    blocks.append(_account_block(s, principal))
    return blocks
