"""Who holds what on a rubric, for the people who manage it (``davserver rubric show``,
the web management page): its grants with names, revoking one grant by its id, the
rubric's invitations and a user's count of pending invitations.

Every function takes the caller's SQLAlchemy session and leaves committing to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from davserver import clock, journal
from davserver.errors import NotFound

from .invitations import InvitationInfo, _describe, _refresh
from .models import Group, Profile, Subject, User
from .rubric_models import Grant, Invitation, InvitationStatus, Role
from .rubrics import _rubric


@dataclass(frozen=True)
class GrantInfo:
    """One grant, with names for display.

    ``holder`` is an English summary for the command line ("user alice",
    "group 4B × profile teacher", "everyone in the school"); the parts it is made of
    are given apart for other languages: ``login`` for a user grant, else ``group``
    (name), ``profile`` and ``subject`` (code), each None when that part is open (all
    three None: everyone in the rubric's school). ``id`` is the grant's id, for
    :func:`revoke_grant`; ``folder_node_id`` the folder of a folder grant, else None."""

    role: Role
    holder: str
    folder_node_id: int | None
    id: int = 0
    login: str | None = None
    group: str | None = None
    profile: Profile | None = None
    subject: str | None = None


def _holder(login: str | None, group: str | None, profile: Profile | None,
            subject: str | None) -> str:
    if login is not None:
        return f"user {login}"
    parts = [f"group {group}" if group else "",
             f"profile {profile.value}" if profile else "",
             f"subject {subject}" if subject else ""]
    return " × ".join(p for p in parts if p) or "everyone in the school"


def grants_of(session: Session, slug: str) -> list[GrantInfo]:
    """Every grant of a rubric and its folders, strongest role first, then by holder.
    One query after the rubric's. ``NotFound`` for no such rubric."""
    rubric = _rubric(session, slug)
    rows = session.execute(
        select(Grant, User.login, Group.name, Subject.code)
        .outerjoin(User, Grant.user_id == User.id)
        .outerjoin(Group, Grant.group_id == Group.id)
        .outerjoin(Subject, Grant.subject_id == Subject.id)
        .where(Grant.rubric_id == rubric.id)).all()
    out = []
    for g, login, group_name, subject_code in rows:
        # A user grant ignores its population columns (rubric_models.Grant).
        group, profile, subject = (None, None, None) if login is not None else \
            (group_name, g.profile, subject_code)
        out.append(GrantInfo(g.role, _holder(login, group, profile, subject),
                             g.folder_node_id, g.id, login, group, profile, subject))
    out.sort(key=lambda i: (-i.role.rank, i.holder, i.id))
    return out


def revoke_grant(session: Session, slug: str, grant_id: int) -> None:
    """Remove the grant ``grant_id`` of the rubric ``slug`` (on the rubric or one of its
    folders). ``NotFound`` when the rubric does not exist or holds no such grant (a
    grant of another rubric is never touched)."""
    rubric = _rubric(session, slug)
    done = session.execute(delete(Grant).where(Grant.id == grant_id,
                                               Grant.rubric_id == rubric.id))
    if not done.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"no grant #{grant_id} on rubric {slug!r}")
    journal.record(session, journal.Kind.revoke, place=f"/rubriques/{slug}",
                   school_id=rubric.school_id, details={"grant": grant_id})


def invitations_of(session: Session, slug: str, *,
                   now: datetime | None = None) -> list[InvitationInfo]:
    """Every invitation to the rubric ``slug``, newest first, expired ones marked so
    (as :func:`acl.invitations_for` does for one user). ``NotFound`` for no such
    rubric."""
    rubric = _rubric(session, slug)
    now = now or clock.now()
    rows = session.scalars(select(Invitation).where(Invitation.rubric_id == rubric.id)
                           .order_by(Invitation.id.desc()))
    return [_describe(session, _refresh(inv, now)) for inv in rows]


def pending_invitation_count(session: Session, user_id: int, *,
                             now: datetime | None = None) -> int:
    """How many invitations wait for the user's answer and have not expired. One
    query; changes nothing (expiry is written when the invitations are read)."""
    now = now or clock.now()
    return session.scalar(select(func.count(Invitation.id)).where(
        Invitation.user_id == user_id, Invitation.status == InvitationStatus.pending,
        Invitation.expires > now)) or 0
