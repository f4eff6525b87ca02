"""The blocks of the home page (issue 20, "Finding your way"): what a signed-in person
has to do or see today, following their profile.

* teachers: their lessons today and tomorrow (class, subject, room, a « contenu »
  mark), and the copies to correct (hand-ins waiting, per homework);
* students: their lessons today and tomorrow, and the homework due from today on
  (two weeks ahead; only what is aimed at them and already shown, as on « Travail à
  faire »);
* parents: a link to each child's homework;
* the head (chef d'établissement, profile ``head``): « Cahiers à viser », the services
  whose cahier de textes has lessons since the last visa, or none;
* everyone who may book (an active resource of a domain open to their profile, or a
  domain they manage: :func:`web.booking.pages.booking_offered`, the services bar's
  rule): their bookings to come;
* everyone: their recent files (porte-documents, and the rubrics they read), the
  rubrics with files published in the last :data:`NEWS_DAYS` days, unread
  notifications and the porte-documents' use of its quota.

:data:`BLOCKS` lists every block in its default order with the profiles that have
it. The user may hide and reorder their blocks (« en partie modifiable »): the
arrangement is kept by :func:`acl.save_home_layout` and applied by
:func:`acl.arranged`; a hidden block is not computed at all. Each block costs a fixed
number of queries whatever the number of its items.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
import providers
from davserver import clock
from web import textbook
from web.auth import web_context
from web.booking.models import HOLDING, Booking
from web.booking.pages import booking_offered
from web.documents.present import human_size
from web.notifications.services import unread_count
from web.textbook.forms import day_label

MAX_ITEMS = 8  # lines per block: the page is a summary, each block links to the rest
NEWS_DAYS = 7  # « Rubriques avec du nouveau »: files published in the last week
NEWS_SCAN = 500  # files read at most for it (one query); beyond, the count says « + »
RECENT_SCAN = 50  # rubric files read for « Fichiers récents » before rights are checked


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


class Viewer:
    """The signed-in person the page is built for, and what several blocks share,
    read once: ``tz`` is the school's zone, ``ctx`` their :class:`acl.UserContext`
    in the chosen school."""

    def __init__(self, s: Session, principal: acl.Principal, ctx: acl.UserContext,
                 tz: Any) -> None:
        self.s, self.principal, self.ctx, self.tz = s, principal, ctx, tz
        self.today = clock.today(tz)

    @cached_property
    def documents(self) -> providers.SpaceInfo:
        """The porte-documents (made on first use, as the file manager does)."""
        return web_context().store.ensure_space(
            "documents", owner_id=self.principal.id, profile=self.principal.profile.value)

    @cached_property
    def rubrics(self) -> dict[int, tuple[acl.RubricInfo, acl.Standing]]:
        """The rubrics with shared folders the person holds a role in, by id."""
        return {info.id: (info, standing)
                for info, standing in acl.visible_rubrics(self.s, self.ctx)}

    def readable(self, found: list[providers.RecentFile]) -> list[providers.RecentFile]:
        """The rubric files of ``found`` the person may read (every folder above)."""
        return [f for f in found if f.rubric_id in self.rubrics
                and acl.allowed(self.rubrics[f.rubric_id][1], "read", f.chain)]

    def local(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, UTC).astimezone(self.tz)


def _folder_url(top: str, written_path: str) -> str:
    """The file manager's page of the folder holding ``written_path`` under ``top``
    (``porte-documents``, ``rubriques/<slug>``); url_for quotes each segment."""
    folder = written_path.rsplit("/", 1)[0]
    return url_for("documents.place", where=top + folder) + "/"


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


def _lesson_block(v: Viewer) -> Block:
    s, principal, today = v.s, v.principal, v.today
    student = principal.profile is acl.Profile.student
    ids = (textbook.student_service_ids(s, principal.id) if student
           else textbook.teacher_service_ids(s, principal.id))
    block = Block("lessons", _("Mes séances aujourd'hui et demain"),
                  empty=_("Aucune séance aujourd'hui ni demain."),
                  more=(_("Cahier de textes"), url_for("textbook.week")))
    names = {today: _("Aujourd'hui"), today + timedelta(1): _("Demain")}
    for day, row in _lessons(s, ids, v.tz, today,
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


def _homework_block(v: Viewer) -> Block:
    s, principal, today = v.s, v.principal, v.today
    block = Block("homework", _("Travail à faire"), empty=_("Aucun travail à faire."),
                  more=(_("Tout le travail à faire"), url_for("textbook_homework.index")))
    ids = textbook.student_service_ids(s, principal.id)
    monday = textbook.monday_of(today)
    for week in (monday, monday + timedelta(7)):
        for day in textbook.week_plan(s, ids, week, v.tz, student_id=principal.id,
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


def _handins_block(v: Viewer) -> Block:
    """« Copies à corriger »: the teacher's homework whose hand-ins wait for a
    correction (:func:`web.textbook.waiting_copies`), with the count of each."""
    block = Block("handins", _("Copies à corriger"),
                  empty=_("Aucune copie en attente de correction."),
                  more=(_("Cahier de textes"), url_for("textbook.week")))
    for w in textbook.waiting_copies(v.s, v.principal.id, limit=MAX_ITEMS):
        hint = [ngettext("%(num)d copie à corriger", "%(num)d copies à corriger", w.count)]
        if w.due is not None:
            hint.append(_("pour le %(day)s", day=day_label(w.due.astimezone(v.tz))))
        block.lines.append(Line(f"{w.title} ({w.service})" if w.service else w.title,
                                url_for("handins.page", activity_id=w.activity_id),
                                " · ".join(hint)))
    return block


def _children_block(v: Viewer) -> Block:
    s = v.s
    block = Block("children", _("Mes enfants"), empty=_("Aucun enfant rattaché."))
    ids = set(acl.children_of(s, v.principal.id))
    logins, names = acl.logins_of(s, ids), acl.names_of(s, ids)
    for child_id in sorted(ids, key=lambda i: logins.get(i, "")):
        block.lines.append(Line(
            _("Travail à faire de %(name)s", name=names.get(child_id) or logins[child_id]),
            url_for("textbook_homework.index", enfant=logins[child_id])))
    return block


def _bookings_block(v: Viewer) -> Block:
    block = Block("bookings", _("Mes réservations à venir"),
                  empty=_("Aucune réservation à venir."),
                  more=(_("Réservations"), url_for("booking.index")))
    rows = v.s.scalars(select(Booking).where(
        Booking.booked_by == v.principal.id, Booking.end > clock.now(),
        Booking.status.in_(HOLDING)).order_by(Booking.start).limit(MAX_ITEMS))
    for b in rows:
        start, end = b.start.astimezone(v.tz), b.end.astimezone(v.tz)
        block.lines.append(Line(
            f"{b.resource.name} — {day_label(start)} {start:%H:%M}–{end:%H:%M}", None,
            _("en attente de validation") if b.status.value == "pending" else ""))
    return block


def _visas_block(v: Viewer) -> Block:
    """« Cahiers à viser » (the head, issue 7's visa): the services of their school
    whose cahier de textes has lessons since the last visa that covers them, or was
    never visaed, the least recently visaed first, each linking to the visa page of
    its teacher (:func:`web.textbook.services_to_visa`: four queries)."""
    block = Block("visas", _("Cahiers à viser"),
                  empty=_("Tous les cahiers de textes sont visés jusqu'à leur dernière "
                          "séance."),
                  more=(_("Contrôle des cahiers de textes"), url_for("oversight.index")))
    school = v.ctx.school_id
    if school is None or v.ctx.profile_in(school) is not acl.Profile.head:
        return block
    due = textbook.services_to_visa(v.s, school, v.tz)
    for d in due[:MAX_ITEMS]:
        hint = [_("jamais visé") if d.covered_until is None
                else _("visé jusqu'au %(day)s", day=f"{d.covered_until:%d/%m/%Y}"),
                _("dernière séance le %(day)s", day=day_label(d.last_lesson.astimezone(v.tz)))]
        block.lines.append(Line(f"{d.group} · {d.subject} — {', '.join(d.teachers)}",
                                url_for("oversight.teacher", teacher_id=d.teacher_id),
                                " · ".join(hint)))
    if len(due) > MAX_ITEMS:
        rest = len(due) - MAX_ITEMS
        block.lines.append(Line(ngettext("et %(num)d autre service à viser",
                                         "et %(num)d autres services à viser", rest)))
    return block


def _files_block(v: Viewer) -> Block:
    """« Fichiers récents »: the most recently modified files of the porte-documents
    and of the rubrics' shared folders the person may read, newest first; each links
    to its folder in the file manager. Four queries beside the rubrics'."""
    block = Block("files", _("Fichiers récents"), empty=_("Aucun fichier pour l'instant."),
                  more=(_("Mes documents"), url_for("documents.index")))
    mine = providers.recent_files(v.s, [v.documents.id], limit=MAX_ITEMS)
    shared = v.readable(providers.rubric_files(v.s, list(v.rubrics), scan=RECENT_SCAN))
    found = sorted(mine + shared, key=lambda f: f.modified, reverse=True)[:MAX_ITEMS]
    for f in found:
        if f.rubric_id is None:
            top, where = "porte-documents", _("Porte-documents")
        else:
            info = v.rubrics[f.rubric_id][0]
            top, where = f"rubriques/{info.slug}", info.name
        when = v.local(f.modified)
        block.lines.append(Line(f.name, _folder_url(top, f.written_path),
                                f"{where} · {day_label(when)} {when:%H:%M}"))
    return block


def _rubrics_block(v: Viewer) -> Block:
    """« Rubriques avec du nouveau »: the rubrics where files the person may read were
    published (or changed) in the last :data:`NEWS_DAYS` days by someone else, with
    their number, the most recent first. There is no « last seen » mark to count
    from: a week is what a weekly glance at the page needs."""
    block = Block("rubrics", _("Rubriques avec du nouveau"),
                  empty=_("Rien de nouveau dans vos rubriques depuis %(n)d jours.",
                          n=NEWS_DAYS),
                  more=(_("Mes rubriques"), url_for("rubrics.index")))
    since = clock.time() - NEWS_DAYS * 86400
    scanned = providers.rubric_files(v.s, list(v.rubrics), since=since, scan=NEWS_SCAN)
    counts: dict[int, int] = {}
    latest: dict[int, float] = {}
    for f in v.readable(scanned):
        if f.author_id == v.principal.id or f.rubric_id is None:
            continue  # one's own files are no news
        counts[f.rubric_id] = counts.get(f.rubric_id, 0) + 1
        latest[f.rubric_id] = max(latest.get(f.rubric_id, 0.0), f.modified)
    capped = len(scanned) >= NEWS_SCAN
    for rubric_id in sorted(counts, key=lambda r: latest[r], reverse=True)[:MAX_ITEMS]:
        info = v.rubrics[rubric_id][0]
        n = counts[rubric_id]
        count = ngettext("%(num)d nouveau fichier", "%(num)d nouveaux fichiers", n)
        if capped:
            count = _("%(count)s au moins", count=count)
        when = v.local(latest[rubric_id])
        block.lines.append(Line(info.name, url_for("documents.place",
                                                   where=f"rubriques/{info.slug}") + "/",
                                f"{count} · {_('le %(day)s', day=day_label(when))}"))
    return block


def _account_block(v: Viewer) -> Block:
    block = Block("account", _("Mon espace"))
    unread = unread_count(v.s, v.principal.id)
    block.lines.append(Line(
        _("%(n)d notification(s) non lue(s)", n=unread) if unread
        else _("Aucune notification non lue"), url_for("notifications.index")))
    usage = web_context().store.usage(v.documents.id)
    if usage is not None and usage.limit:
        block.lines.append(Line(
            _("Porte-documents : %(used)s utilisés sur %(limit)s (%(pct)d %%)",
              used=human_size(usage.used), limit=human_size(usage.limit),
              pct=min(100, usage.used * 100 // usage.limit)),
            url_for("documents.index")))
    block.lines.append(Line(_("Connecter mon porte-documents comme un lecteur réseau"),
                            url_for("pages.connect")))
    return block


@dataclass(frozen=True)
class BlockKind:
    """A block the page may show: its ``name`` (stored in the user's arrangement, so
    never renamed), its ``title`` for the arranging form, the ``profiles`` that have
    it (None: everyone), the function that builds it, and ``offered``: None, or what
    else the person needs to have it (asked with their session and context; a block
    one cannot have is neither shown nor offered on the arranging page)."""

    name: str
    title: Any
    profiles: frozenset[acl.Profile] | None
    build: Callable[[Viewer], Block]
    offered: Callable[[Session, acl.UserContext], bool] | None = None


_P = acl.Profile
BLOCKS: tuple[BlockKind, ...] = (
    BlockKind("lessons", _l("Mes séances aujourd'hui et demain"),
              frozenset({_P.teacher, _P.student}), _lesson_block),
    BlockKind("homework", _l("Travail à faire"), frozenset({_P.student}), _homework_block),
    BlockKind("handins", _l("Copies à corriger"), frozenset({_P.teacher}), _handins_block),
    BlockKind("children", _l("Mes enfants"), frozenset({_P.parent}), _children_block),
    BlockKind("visas", _l("Cahiers à viser"), frozenset({_P.head}), _visas_block),
    BlockKind("bookings", _l("Mes réservations à venir"),
              frozenset(p for p in _P if p not in (_P.student, _P.parent)), _bookings_block,
              lambda s, ctx: booking_offered(s, ctx)),
    BlockKind("files", _l("Fichiers récents"), None, _files_block),
    BlockKind("rubrics", _l("Rubriques avec du nouveau"), None, _rubrics_block),
    BlockKind("account", _l("Mon espace"), None, _account_block),
)
"""Every block, in the default order of the page."""
BLOCK_NAMES = frozenset(kind.name for kind in BLOCKS)
_BY_NAME = {kind.name: kind for kind in BLOCKS}


def blocks_for(profile: acl.Profile) -> list[BlockKind]:
    """The blocks a person of ``profile`` has, in the default order."""
    return [k for k in BLOCKS if k.profiles is None or profile in k.profiles]


def arrangement(s: Session, principal: acl.Principal,
                ctx: acl.UserContext) -> list[tuple[BlockKind, bool]]:
    """The person's blocks in their order, each with whether they hid it: those of
    their profile that they may have (``offered``) in the school of ``ctx``. One
    query, and one per ``offered`` check not already answered in the request."""
    names = [k.name for k in blocks_for(principal.profile)
             if k.offered is None or k.offered(s, ctx)]
    layout = acl.home_layout_of(s, principal.id)
    return [(_BY_NAME[name], hidden) for name, hidden in acl.arranged(layout, names)]


def with_blocks_not_offered(s: Session, principal: acl.Principal,
                            kinds: list[tuple[BlockKind, bool]], order: list[str],
                            hidden: set[str]) -> tuple[list[str], set[str]]:
    """The arrangement ``order``/``hidden`` of the blocks offered now (``kinds``, from
    :func:`arrangement`) with the stored entries of the blocks of ``principal``'s
    profile that are not offered now (« Mes réservations à venir » for someone who
    cannot book this week) put back: each in the stored order right after the block
    that preceded it there, hidden if it was. Saving the page then loses nothing of a
    block that comes back. No statement (the layout is in the session)."""
    offered = {k.name for k, _off in kinds}
    absent = {k.name for k in blocks_for(principal.profile)} - offered
    layout = acl.home_layout_of(s, principal.id)
    stored = [n for n in dict.fromkeys(layout.order) if n in BLOCK_NAMES]
    out = [n for n in order if n not in absent]
    for index, name in enumerate(stored):
        if name not in absent:
            continue
        before = next((d for d in reversed(stored[:index]) if d in out), None)
        out.insert(out.index(before) + 1 if before is not None else 0, name)
    return out, (hidden - absent) | (layout.hidden & absent)


def home_blocks(s: Session, principal: acl.Principal, ctx: acl.UserContext,
                tz: Any) -> tuple[list[Block], list[BlockKind]]:
    """The blocks of ``principal``'s home page that they did not hide, in their order,
    for today in ``tz`` (the school's zone); and the blocks they hid."""
    viewer = Viewer(s, principal, ctx, tz)
    arranged = arrangement(s, principal, ctx)
    shown = [kind.build(viewer) for kind, hidden in arranged if not hidden]
    return shown, [kind for kind, hidden in arranged if hidden]
