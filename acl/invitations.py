"""Invitations of a user to a role on a rubric (issue 4, "Model").

An invitation is pending until the invited user accepts it (which creates the user
grant) or declines it, or until it expires (14 days by default: long enough to span
a school holiday week). Expiry is decided when the invitation is read, so no timer
is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from davserver import clock, journal
from davserver.errors import Conflict, Forbidden, NotFound

from .models import User
from .rubric_models import Invitation, InvitationStatus, Role, Rubric
from .rubrics import _rubric, _user_id, grant, parse_role

DEFAULT_VALIDITY = timedelta(days=14)


@dataclass(frozen=True)
class InvitationInfo:
    id: int
    rubric_slug: str
    rubric_name: str
    login: str
    role: Role
    status: InvitationStatus
    expires: datetime


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _refresh(inv: Invitation, now: datetime) -> Invitation:
    if inv.status == InvitationStatus.pending and _aware(inv.expires) <= now:
        inv.status = InvitationStatus.expired
    return inv


def invite(session: Session, slug: str, role: Role | str, login: str, *,
           invited_by: str | None = None, validity: timedelta = DEFAULT_VALIDITY,
           now: datetime | None = None) -> InvitationInfo:
    """Invite ``login`` to ``role`` on a rubric. ``Conflict`` when a pending invitation
    for the same user and rubric exists."""
    rubric = _rubric(session, slug)
    role = parse_role(role) if isinstance(role, str) else role
    user_id = _user_id(session, login)
    by = _user_id(session, invited_by) if invited_by else None
    now = now or clock.now()
    for other in session.scalars(select(Invitation).where(
            Invitation.rubric_id == rubric.id, Invitation.user_id == user_id,
            Invitation.status == InvitationStatus.pending)):
        if _refresh(other, now).status == InvitationStatus.pending:
            raise Conflict(f"{login} already has a pending invitation to {slug}")
    inv = Invitation(rubric_id=rubric.id, user_id=user_id, role=role, invited_by=by,
                     status=InvitationStatus.pending, created=now, expires=now + validity)
    session.add(inv)
    session.flush()
    journal.record(session, journal.Kind.invitation, place=f"/rubriques/{slug}",
                   target=login, school_id=rubric.school_id,
                   details={"role": role.value, "invitation": inv.id})
    return _describe(session, inv)


def _describe(session: Session, inv: Invitation) -> InvitationInfo:
    rubric = session.get_one(Rubric, inv.rubric_id)
    login = session.scalar(select(User.login).where(User.id == inv.user_id)) or "?"
    return InvitationInfo(inv.id, rubric.slug, rubric.name, login, inv.role, inv.status,
                          _aware(inv.expires))


def invitations_for(session: Session, login: str, *,
                    now: datetime | None = None) -> list[InvitationInfo]:
    """A user's invitations, newest first (expired ones marked so)."""
    user_id = _user_id(session, login)
    now = now or clock.now()
    rows = session.scalars(select(Invitation).where(Invitation.user_id == user_id)
                           .order_by(Invitation.id.desc()))
    return [_describe(session, _refresh(inv, now)) for inv in rows]


def answer(session: Session, invitation_id: int, login: str, *, accept: bool,
           now: datetime | None = None) -> InvitationInfo:
    """Accept (creates the user grant) or decline an invitation, as the invited user.
    ``NotFound`` for no such invitation, ``Forbidden`` when it is someone else's,
    ``Conflict`` when it is not pending any more (answered or expired)."""
    inv = session.get(Invitation, invitation_id)
    if inv is None:
        raise NotFound(f"no invitation #{invitation_id}")
    if inv.user_id != _user_id(session, login):
        raise Forbidden("this invitation is addressed to someone else")
    now = now or clock.now()
    if _refresh(inv, now).status != InvitationStatus.pending:
        raise Conflict(f"invitation #{invitation_id} is {inv.status.value}")
    inv.status = InvitationStatus.accepted if accept else InvitationStatus.declined
    inv.answered = now
    rubric = session.get_one(Rubric, inv.rubric_id)
    if accept:
        grant(session, rubric.slug, inv.role, user=login)
    session.flush()
    journal.record(session, journal.Kind.invitation_answered, place=f"/rubriques/{rubric.slug}",
                   target=login, school_id=rubric.school_id,
                   details={"invitation": inv.id, "accepted": accept})
    return _describe(session, inv)
