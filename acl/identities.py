"""Federated identities: the account an identity provider's identity names.

A provider (CAS, SAML) asserts an identity: a value such as the AAF jointure id of a
teacher or the EduConnect identifier of a student or parent. It names the account
that people imports gave the external id of that kind and value
(:class:`acl.models.ExternalId`, unique per kind). One person may hold several
(a teacher who is also a parent: an ``aaf`` id and an ``educonnect`` id on one
account, or two accounts each signed in through its own provider). No account is
made from an identity: an unknown one is the caller's to explain.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ExternalId, User
from .people import Principal


@dataclass(frozen=True)
class IdentityMatch:
    """The account an identity names, and whether it is disabled."""

    principal: Principal
    disabled: bool
    school_id: int | None


def account_of_identity(session: Session, kind: str, value: str) -> IdentityMatch | None:
    """The account whose external id of ``kind`` is ``value`` (compared exactly, as
    imports store it), or None. One query."""
    row = session.execute(
        select(User.id, User.login, User.display_name, User.profile, User.disabled,
               User.school_id)
        .join(ExternalId, ExternalId.user_id == User.id)
        .where(ExternalId.kind == kind, ExternalId.value == value)).first()
    if row is None:
        return None
    return IdentityMatch(Principal(row[0], row[1], row[2], row[3]), bool(row[4]), row[5])


def add_external_id(session: Session, user_id: int, kind: str, value: str) -> None:
    """Give ``user_id`` the external id ``kind``/``value`` (by hand or in tests; imports
    keep their own)."""
    session.add(ExternalId(user_id=user_id, kind=kind, value=value))
    session.flush()
