"""The notification of an invitation to a rubric (issue 7), shared by the management
page (:mod:`web.rubrics.admin_pages`) and ``davserver rubric invite``.

``acl`` makes invitations but may not import ``web``: its callers notify, in the
transaction that made the invitation.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

import acl
from davserver.errors import NotFound
from web.notifications import NotificationKind, notify
from web.zones import user_zone

from .forms import ROLE_LABELS

INVITATIONS_PATH = "/invitations/"  # rubrics.invitations: where the user answers


def notify_invitation(s: Session, inv: acl.InvitationInfo, invited_by: str | None) -> None:
    """Tell the invited user, in ``s`` (the inviting transaction): who invites them,
    to which rubric and role, until when (on the wall clock of their school), and
    where to answer.
    ``NotFound`` if the invited login vanished meanwhile."""
    user = acl.find_user(s, inv.login)
    if user is None:
        raise NotFound(f"no user {inv.login!r}")
    by = acl.find_user(s, invited_by) if invited_by else None
    role = str(ROLE_LABELS[inv.role])
    subject = _("Invitation à la rubrique « %(name)s »", name=inv.rubric_name)
    who = (by.display_name or by.login) if by else _("Un gestionnaire")
    body = _("%(who)s vous invite comme %(role)s dans la rubrique « %(name)s ». "
             "Acceptez ou refusez l'invitation avant le %(until)s.",
             who=who, role=role.lower(), name=inv.rubric_name,
             until=f"{inv.expires.astimezone(user_zone(s, user.id)):%d/%m/%Y %H:%M}")
    notify(s, user.id, NotificationKind.rubric_invitation, subject, body, INVITATIONS_PATH)
