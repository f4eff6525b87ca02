"""Who oversees a teacher's cahier de textes (issue 7): the head at any time, an
inspector during an access opened for them.

Rules, each with its refusal:

* The head (``head``) of a school reads every textbook of that school's teachers, at
  any time (issue 5, "Who sees what"; issue 7, "Visa"), and puts visas. A teacher
  of another school does not exist for them: ``NotFound`` (STYLE.md habit 12).
* The head or an admin (``admin``) of the school opens and revokes inspectors'
  accesses. As elsewhere in the ENT (``web.booking.access``), a user without a
  school (accounts made by hand in a one-school deployment) belongs to every school.
* An inspector (``inspector``) reads a teacher's textbook, read-only, limited to the
  services the access names, only while an access is current (from its first to its
  last day included, school time zone, not revoked); otherwise ``Forbidden`` naming
  the period (issue 7, "Inspector access").
* Anyone else: ``Forbidden``.

A teacher belongs to a school when they teach one of its services or their
account is attached to it. Messages are French: the pages show them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver import clock, journal
from davserver.errors import BadRequest, Forbidden, NotFound

from ..calendar import school_zone
from ..models import TeachingService, service_teachers
from .models import InspectorAccess

OPENERS = frozenset({acl.Profile.head, acl.Profile.admin})
NOT_SUPERVISOR = ("Seule la direction de l'établissement peut consulter et viser ce cahier "
                  "de textes.")
NOT_OPENER = ("Seuls la direction et les administrateurs de l'établissement ouvrent les "
              "accès des inspecteurs.")
NO_TEACHER = "Aucun enseignant de votre établissement ne correspond."


def day_label(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def school_ids_of_teacher(session: Session, teacher_id: int) -> set[int]:
    """The schools whose services the user teaches, and the schools of their account
    (a teacher of two schools is a teacher of both)."""
    found = set(session.scalars(
        select(TeachingService.school_id).join(
            service_teachers, service_teachers.c.service_id == TeachingService.id)
        .where(service_teachers.c.user_id == teacher_id)))
    ctx = acl.user_context(session, teacher_id)
    own = ({ctx.school_id} if ctx.school_id is not None else set()) | {
        school for school, profile in ctx.schools.items() if profile is acl.Profile.teacher}
    return found | own


def teacher_school(session: Session, teacher_id: int, school_id: int | None) -> int | None:
    """The school through which ``school_id``'s staff sees ``teacher_id`` (a teacher
    of it), None when the user is no teacher there. ``school_id`` None: any school
    (the teacher's first)."""
    if acl.profile_of(session, teacher_id) != acl.Profile.teacher.value:
        return None
    schools = school_ids_of_teacher(session, teacher_id)
    if school_id is None:
        return min(schools) if schools else None
    return school_id if school_id in schools else None


def require_supervisor(session: Session, user_id: int, teacher_id: int, *,
                       opening: bool) -> int:
    """The school of ``teacher_id`` that ``user_id`` supervises: as head (reading,
    visas) or, with ``opening``, as head or admin (inspectors' accesses). Raises
    ``Forbidden`` for another profile, ``NotFound`` for a teacher of another school
    or a user who is no teacher."""
    ctx = acl.user_context(session, user_id)
    allowed = OPENERS if opening else {acl.Profile.head}
    # A person of several schools supervises those where they are head (or admin).
    supervised: list[int | None] = [sid for sid, p in ctx.schools.items() if p in allowed]
    if not supervised and ctx.profile in allowed:
        supervised = [ctx.school_id]
    if not supervised:
        raise Forbidden(NOT_OPENER if opening else NOT_SUPERVISOR)
    for school_id in supervised:
        school = teacher_school(session, teacher_id, school_id)
        if school is not None:
            return school
    raise NotFound(NO_TEACHER)


def teacher_services(session: Session, teacher_id: int, school_id: int) -> list[TeachingService]:
    """The services the teacher teaches in the school, by id."""
    return list(session.scalars(
        select(TeachingService).join(
            service_teachers, service_teachers.c.service_id == TeachingService.id)
        .where(service_teachers.c.user_id == teacher_id,
               TeachingService.school_id == school_id).order_by(TeachingService.id)))


def school_services(session: Session, school_id: int | None) -> \
        dict[acl.Principal, list[TeachingService]]:
    """The school's teachers (every school's for None), by login, each with the
    services they teach there, by id. Three queries."""
    query = select(service_teachers.c.user_id, TeachingService).join(
        TeachingService, TeachingService.id == service_teachers.c.service_id)
    if school_id is not None:
        query = query.where(TeachingService.school_id == school_id)
    rows = session.execute(query.order_by(TeachingService.id)).tuples().all()
    logins = acl.logins_of(session, {user_id for user_id, _ in rows})
    people = {p.id: p for p in (acl.find_user(session, login) for login in logins.values())
              if p is not None}
    found: dict[acl.Principal, list[TeachingService]] = {}
    for user_id, service in rows:
        found.setdefault(people[user_id], []).append(service)
    return dict(sorted(found.items(), key=lambda item: item[0].login))


def access_today(session: Session, access: InspectorAccess) -> date:
    """Today's date in the access's school's time zone."""
    return clock.today(school_zone(session, access.school_id))


def access_state(access: InspectorAccess, today: date) -> str:
    """``revoked``, ``upcoming``, ``current`` or ``ended`` on ``today``."""
    if access.revoked is not None:
        return "revoked"
    if today < access.valid_from:
        return "upcoming"
    return "ended" if today > access.valid_until else "current"


def period_text(access: InspectorAccess) -> str:
    """« du 01/10/2026 au 15/10/2026 »."""
    return f"du {day_label(access.valid_from)} au {day_label(access.valid_until)}"


@dataclass(frozen=True)
class ReadScope:
    """What a head or an inspector may read of one teacher's textbook: the school and
    the service ids (read-only), the access when it is an inspector's."""

    teacher_id: int
    school_id: int
    service_ids: list[int]
    access: InspectorAccess | None = None
    head: bool = False


def _refusal(session: Session, access: InspectorAccess) -> str:
    tz = school_zone(session, access.school_id)
    state = access_state(access, clock.today(tz))
    if state == "revoked" and access.revoked is not None:
        return (f"Votre accès à ce cahier de textes ({period_text(access)}) a été révoqué "
                f"le {day_label(access.revoked.astimezone(tz).date())}.")
    if state == "upcoming":
        return f"Votre accès à ce cahier de textes n'est ouvert que {period_text(access)}."
    return (f"Votre accès à ce cahier de textes était ouvert {period_text(access)} : "
            "cette période est terminée.")


def inspector_scope(session: Session, inspector_id: int, teacher_id: int) -> ReadScope:
    """The read scope a current access gives; ``Forbidden`` naming the period of the
    latest access when none is current, or saying that none was opened."""
    accesses = list(session.scalars(
        select(InspectorAccess).where(InspectorAccess.inspector_id == inspector_id,
                                      InspectorAccess.teacher_id == teacher_id)
        .order_by(InspectorAccess.created.desc(), InspectorAccess.id.desc())))
    if not accesses:
        raise Forbidden("Aucun accès au cahier de textes de cet enseignant ne vous a été "
                        "ouvert par la direction de l'établissement.")
    for access in accesses:
        if access_state(access, access_today(session, access)) == "current":
            own = {s.id for s in teacher_services(session, teacher_id, access.school_id)}
            granted = {s.id for s in access.services} or own
            return ReadScope(teacher_id, access.school_id, sorted(own & granted), access)
    latest = accesses[0]
    raise Forbidden(_refusal(session, latest))


def read_scope(session: Session, user_id: int, teacher_id: int) -> ReadScope:
    """What ``user_id`` may read of ``teacher_id``'s textbook. Raises ``Forbidden``
    or ``NotFound`` by the rules of this module."""
    profile = acl.profile_of(session, user_id)
    if profile == acl.Profile.inspector.value:
        return inspector_scope(session, user_id, teacher_id)
    school = require_supervisor(session, user_id, teacher_id, opening=False)
    ids = [s.id for s in teacher_services(session, teacher_id, school)]
    return ReadScope(teacher_id, school, ids, head=True)


@dataclass(frozen=True)
class AccessInput:
    """An access to open: dates both included, wall-clock in the school's zone;
    ``service_ids`` empty: every service of the teacher."""

    inspector_id: int
    teacher_id: int
    valid_from: date
    valid_until: date
    service_ids: Sequence[int] = field(default_factory=tuple)


def _check_access(session: Session, data: AccessInput, school_id: int) -> list[TeachingService]:
    if data.valid_until < data.valid_from:
        raise BadRequest(f"La fin de l'accès ({day_label(data.valid_until)}) précède son "
                         f"début ({day_label(data.valid_from)}).")
    if acl.profile_of(session, data.inspector_id) != acl.Profile.inspector.value:
        raise BadRequest("La personne choisie n'a pas le profil inspecteur.")
    own = {s.id: s for s in teacher_services(session, data.teacher_id, school_id)}
    strangers = set(data.service_ids) - set(own)
    if strangers:
        raise BadRequest("Les services choisis doivent être des services de cet enseignant.")
    return [own[i] for i in sorted(set(data.service_ids))]


def open_access(session: Session, opener_id: int, data: AccessInput) -> InspectorAccess:
    """Open an inspector's access (the head or an admin of the teacher's school).
    Raises ``Forbidden`` (other profile), ``BadRequest`` (end before start, not an
    inspector, a teacher who is not of the opener's school, services not the
    teacher's), nothing stored."""
    try:
        school_id = require_supervisor(session, opener_id, data.teacher_id, opening=True)
    except NotFound as exc:
        raise BadRequest("L'enseignant choisi n'enseigne pas dans votre établissement.") \
            from exc
    services = _check_access(session, data, school_id)
    access = InspectorAccess(school_id=school_id, inspector_id=data.inspector_id,
                             teacher_id=data.teacher_id, valid_from=data.valid_from,
                             valid_until=data.valid_until, opened_by=opener_id,
                             services=services)
    session.add(access)
    session.flush()
    logins = acl.logins_of(session, {data.inspector_id, data.teacher_id})
    journal.record(session, journal.Kind.inspector_access_opened,
                   target=logins.get(data.inspector_id), school_id=school_id,
                   place="textbook", details={
                       "access": access.id, "teacher": logins.get(data.teacher_id),
                       "from": data.valid_from.isoformat(),
                       "until": data.valid_until.isoformat()})
    _announce_access(session, access)
    return access


def revoke_access(session: Session, user_id: int, access_id: int) -> InspectorAccess:
    """End an access now (UTC). Raises ``NotFound`` (none, or of another school),
    ``Forbidden`` (not the head or an admin), ``BadRequest`` (already revoked)."""
    access = session.get(InspectorAccess, access_id)
    if access is None:
        raise NotFound("Cet accès n'existe pas.")
    if require_supervisor(session, user_id, access.teacher_id, opening=True) \
            != access.school_id:
        raise NotFound("Cet accès n'existe pas.")
    if access.revoked is not None:
        raise BadRequest("Cet accès est déjà révoqué.")
    access.revoked, access.revoked_by = clock.now(), user_id
    session.flush()
    return access


def accesses_for_teacher(session: Session, teacher_id: int) -> list[InspectorAccess]:
    """Every access opened on the teacher's textbook, latest first."""
    return list(session.scalars(
        select(InspectorAccess).where(InspectorAccess.teacher_id == teacher_id)
        .order_by(InspectorAccess.created.desc(), InspectorAccess.id.desc())))


def accesses_in_school(session: Session, school_id: int | None) -> list[InspectorAccess]:
    """Every access of the school (of every school for None), latest first."""
    query = select(InspectorAccess)
    if school_id is not None:
        query = query.where(InspectorAccess.school_id == school_id)
    return list(session.scalars(query.order_by(InspectorAccess.created.desc(),
                                               InspectorAccess.id.desc())))


def current_accesses(session: Session, inspector_id: int) -> list[InspectorAccess]:
    """The inspector's accesses current today, latest first."""
    found = session.scalars(select(InspectorAccess).where(
        InspectorAccess.inspector_id == inspector_id, InspectorAccess.revoked.is_(None))
        .order_by(InspectorAccess.created.desc(), InspectorAccess.id.desc()))
    return [a for a in found if access_state(a, access_today(session, a)) == "current"]


def service_labels(session: Session, services: Sequence[TeachingService]) -> list[str]:
    """« MATHS 4B » for each service."""
    subjects = acl.subject_names(session, {s.subject_id for s in services})
    groups = acl.group_names(session, {s.group_id for s in services})
    return [f"{subjects.get(s.subject_id, '')} {groups.get(s.group_id, '')}".strip()
            for s in services]


def access_services_text(session: Session, access: InspectorAccess) -> str:
    """The services an access covers, in words."""
    if not access.services:
        return "tous ses services"
    return ", ".join(service_labels(session, access.services))


def _announce_access(session: Session, access: InspectorAccess) -> None:
    """Notify the teacher that an access was opened: who, which services, until when
    (issue 7), in the opening's transaction."""
    from web.notifications import NotificationKind, notify  # builds on the textbook

    names = acl.names_of(session, {access.inspector_id, access.opened_by})
    subject = "Accès d'un inspecteur à votre cahier de textes"
    body = (f"{names.get(access.opened_by, '')} a ouvert à l'inspecteur "
            f"{names.get(access.inspector_id, '')} l'accès en lecture à votre cahier de "
            f"textes ({access_services_text(session, access)}) {period_text(access)}.")
    notify(session, access.teacher_id, NotificationKind.inspector_access, subject, body,
           "/textbook/")
