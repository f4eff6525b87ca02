"""The head's visa on a teacher's cahier de textes (issue 7, "Visa").

A visa is put by the head (profile ``head``) of the teacher's school on all the
teacher's services at once (see :class:`Visa` for why the teacher is the scope). It
covers the lessons that start, on the school's wall clock, on its date or earlier:
such a lesson can no longer be deleted (``Conflict``, 409); its activities stay
editable, and those created or changed after the visa was put are marked.
Messages are French: the pages show them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import acl
from davserver import clock, journal
from davserver.errors import BadRequest, Conflict

from ..calendar import school_zone
from ..models import Activity, Lesson, SchoolYear, TeachingService, service_teachers
from .models import Visa, not_trashed
from .services import require_supervisor

MAX_COMMENT = 2000  # characters


def date_label(day: date) -> str:
    """« 08/09/2026 »."""
    return f"{day:%d/%m/%Y}"


def covering_visa(session: Session, lesson: Lesson) -> Visa | None:
    """The latest visa (by signing time) that covers ``lesson``: put on one of its
    service's teachers, in its school, dated on or after the lesson's start day in
    the school's time zone. None when no visa covers it. Two queries."""
    service = session.get_one(TeachingService, lesson.service_id)
    day = lesson.start.astimezone(school_zone(session, service.school_id)).date()
    return session.scalar(
        select(Visa).where(Visa.teacher_id.in_([t.id for t in service.teachers]),
                           Visa.school_id == service.school_id, Visa.until >= day)
        .order_by(Visa.created.desc(), Visa.id.desc()).limit(1))


SIGNER_ROLES = {acl.Profile.head: "direction", acl.Profile.admin: "administration"}


def signer_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    """How a visa names who put it, by user id: « Hugo Martin (direction) » (issue
    20: people by name, with their role). One query."""
    if not user_ids:
        return {}
    rows = session.execute(select(acl.User.id, acl.User.login, acl.User.display_name,
                                  acl.User.profile).where(acl.User.id.in_(user_ids)))
    found = {}
    for uid, login, name, profile in rows:
        role = SIGNER_ROLES.get(profile)
        found[uid] = ((name or "").strip() or login) + (f" ({role})" if role else "")
    return found


def covered_message(visa: Visa, signer: str) -> str:
    """Why a covered lesson cannot be deleted (French, shown as is)."""
    return (f"Cette séance est couverte par le visa du {date_label(visa.until)}, "
            f"posé par {signer} : le cahier de textes visé est un document officiel, "
            "la séance ne peut plus être supprimée. Ses activités restent modifiables.")


def require_not_visaed(session: Session, activity: Activity, verb: str) -> None:
    """Raise ``Conflict`` when ``activity`` was already in its lesson when a covering
    visa was put: the visa'd textbook is an official record (issue 7), so what it
    holds may be edited (the change is marked) but not taken out of the lesson
    (deleted or moved away). ``verb``: « supprimée », « déplacée »."""
    lesson = session.get_one(Lesson, activity.lesson_id)
    visa = covering_visa(session, lesson)
    if visa is not None and activity.created <= visa.created:
        raise Conflict(f"Cette activité figure au cahier de textes visé le "
                       f"{date_label(visa.until)} : elle ne peut plus être {verb}. "
                       "Vous pouvez la modifier (la modification est signalée).")


def put_visa(session: Session, head_id: int, teacher_id: int, until: date,
             comment: str = "") -> Visa:
    """Put a visa dated ``until`` (wall-clock date in the school's time zone) on the
    teacher's textbook, signed by ``head_id``, signing time now (UTC).

    Raises ``Forbidden`` (not a head), ``NotFound`` (not a teacher of the head's
    school: existence hidden, STYLE.md habit 12), ``BadRequest`` for a date after
    today (a visa signs what was done) or a comment over :data:`MAX_COMMENT`."""
    school_id = require_supervisor(session, head_id, teacher_id, opening=False)
    today = clock.today(school_zone(session, school_id))
    if until > today:
        raise BadRequest(f"La date du visa ({date_label(until)}) est après aujourd'hui "
                         f"({date_label(today)}) : un visa couvre les séances passées.")
    if len(comment) > MAX_COMMENT:
        raise BadRequest(f"Le commentaire dépasse {MAX_COMMENT} caractères.")
    visa = Visa(school_id=school_id, teacher_id=teacher_id, until=until,
                comment=comment.strip(), by_id=head_id)
    session.add(visa)
    session.flush()
    journal.record(session, journal.Kind.visa, target=acl.logins_of(
        session, {teacher_id}).get(teacher_id), school_id=school_id,
        place="textbook", details={"until": until.isoformat(), "visa": visa.id})
    _announce_visa(session, visa)
    return visa


def visas_of(session: Session, teacher_id: int) -> list[Visa]:
    """The teacher's visas, latest signed first."""
    return list(session.scalars(select(Visa).where(Visa.teacher_id == teacher_id)
                                .order_by(Visa.created.desc(), Visa.id.desc())))


@dataclass(frozen=True)
class ChangeMark:
    """How an activity stands against the visa covering its lesson: ``added``
    (created after the visa was put) or ``changed`` (created before, edited after)."""

    added: bool
    visa_until: date
    visa_created: datetime


def changes_after(visa: Visa | None, activities: list[Activity]) -> dict[int, ChangeMark]:
    """Activity id → mark, for the activities created or changed after ``visa``
    was put (UTC times compared); none when no visa covers the lesson."""
    if visa is None:
        return {}
    return {a.id: ChangeMark(a.created > visa.created, visa.until, visa.created)
            for a in activities if a.updated > visa.created or a.created > visa.created}


def held_by_visa(visa: Visa | None, activities: list[Activity]) -> set[int]:
    """Ids of the ``activities`` that were in their lesson when ``visa`` was put: the
    ones :func:`require_not_visaed` refuses to delete, so the page offers no
    « Supprimer » for them (issue 20)."""
    if visa is None:
        return set()
    return {a.id for a in activities if a.created <= visa.created}


def _announce_visa(session: Session, visa: Visa) -> None:
    """Notify the teacher that a visa was put (issue 7), in the visa's transaction."""
    from web.notifications import NotificationKind, notify  # builds on the textbook

    names = signer_names(session, {visa.by_id})
    subject = f"Visa de votre cahier de textes jusqu'au {date_label(visa.until)}"
    body = (f"{names.get(visa.by_id, '')} a visé votre cahier de textes : les séances "
            f"jusqu'au {date_label(visa.until)} inclus sont couvertes et ne peuvent plus "
            "être supprimées."
            + (f"\nCommentaire : {visa.comment}" if visa.comment else ""))
    notify(session, visa.teacher_id, NotificationKind.visa, subject, body, "/textbook/")


@dataclass(frozen=True)
class VisaDue:
    """A teaching service whose cahier de textes has lessons the visas do not cover
    yet: ``last_lesson`` (UTC) started after the day ``covered_until`` (the latest
    visa of any of its teachers in the school; None: never visaed). ``teacher_id``
    and ``teacher``: whose visa page to open (the teacher the least recently visaed,
    by name on a tie), and ``teachers`` every teacher's name, for the line."""

    service_id: int
    group: str
    subject: str
    teachers: tuple[str, ...]
    teacher_id: int
    last_lesson: datetime
    covered_until: date | None


def school_year_start(session: Session, school_id: int, tz: ZoneInfo) -> datetime | None:
    """The start (midnight in ``tz``, the school's zone) of the school's school year
    holding today (:func:`clock.today`): the latest that has begun, a year set up for
    next September not counting yet. None when the school has none. One query."""
    start = session.scalar(select(func.max(SchoolYear.start))
                           .where(SchoolYear.school_id == school_id,
                                  SchoolYear.start <= clock.today(tz)))
    return datetime.combine(start, time(), tz) if start is not None else None


def services_to_visa(session: Session, school_id: int, tz: ZoneInfo) -> list[VisaDue]:
    """The school's services with a lesson of this school year
    (:func:`school_year_start`; every lesson for a school without one) started by now
    (on :func:`clock.now`; not in the corbeille) on a day after the latest visa that
    covers the service (issue 7:
    a visa on a teacher covers all their services, a co-taught service any of its
    teachers' visa), never visaed ones first, then the least recently covered, then
    by class and subject. ``tz``: the school's zone, where a visa's date is a day.
    Four queries (the year's start, lessons grouped by service, visas grouped by
    teacher, the services' names and teachers), whatever the number of services,
    lessons or visas."""
    since = school_year_start(session, school_id, tz)
    latest = dict(session.execute(
        select(Lesson.service_id, func.max(Lesson.start))
        .join(TeachingService, TeachingService.id == Lesson.service_id)
        .where(TeachingService.school_id == school_id, Lesson.start <= clock.now(),
               *([Lesson.start >= since] if since is not None else []), not_trashed())
        .group_by(Lesson.service_id)).all())
    if not latest:
        return []
    covered: dict[int, date] = dict(session.execute(
        select(Visa.teacher_id, func.max(Visa.until)).where(Visa.school_id == school_id)
        .group_by(Visa.teacher_id)).all())
    rows = session.execute(
        select(TeachingService.id, acl.Group.name, acl.Subject.name, acl.Subject.code,
               acl.User.id, acl.User.login, acl.User.display_name)
        .join(acl.Group, acl.Group.id == TeachingService.group_id)
        .join(acl.Subject, acl.Subject.id == TeachingService.subject_id)
        .join(service_teachers, service_teachers.c.service_id == TeachingService.id)
        .join(acl.User, acl.User.id == service_teachers.c.user_id)
        .where(TeachingService.school_id == school_id)).all()
    names: dict[int, tuple[str, str]] = {}
    teachers: dict[int, list[tuple[str, int]]] = {}
    for service_id, group, subject, code, user_id, login, display in rows:
        names[service_id] = (group, subject or code)
        teachers.setdefault(service_id, []).append(((display or "").strip() or login,
                                                     user_id))
    found = []
    for service_id, start in latest.items():
        if service_id not in teachers:
            continue  # a service without a teacher: nobody's visa to put
        people = sorted(teachers[service_id])
        dates = [covered[uid] for _name, uid in people if uid in covered]
        until = max(dates) if dates else None
        if until is not None and start.astimezone(tz).date() <= until:
            continue
        first = min(people, key=lambda p: (covered.get(p[1], date.min), p[0]))
        found.append(VisaDue(service_id, *names[service_id],
                             tuple(name for name, _uid in people), first[1], start, until))
    found.sort(key=lambda d: (d.covered_until or date.min, d.group, d.subject))
    return found
