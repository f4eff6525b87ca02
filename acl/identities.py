"""Federated identities: the account an identity provider's identity names.

A provider (CAS, SAML) asserts an identity: a value such as the AAF jointure id of a
teacher or the EduConnect identifier of a student or parent. It names the account
that people imports gave the external id of that kind and value
(:class:`acl.models.ExternalId`, unique per kind). One person may hold several
(a teacher who is also a parent: an ``aaf`` id and an ``educonnect`` id on one
account, or two accounts each signed in through its own provider). An account is
made from an identity only where the deployment asks for it
(:func:`create_federated_account`); otherwise an unknown one is the caller's to
explain.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .logins import free_login
from .models import ExternalId, Profile, School, User, UserSchool
from .people import Principal, create_user


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


def identity_school_uais(session: Session, user_id: int) -> list[str | None]:
    """The UAIs of the schools ``user_id`` is in now, the home school first (None for
    a school without one); empty for a user of no school. One query."""
    rows = session.execute(
        select(School.uai, School.id == User.school_id)
        .join(UserSchool, UserSchool.school_id == School.id)
        .join(User, User.id == UserSchool.user_id)
        .where(UserSchool.user_id == user_id, UserSchool.left_at.is_(None))
        .order_by(School.id))
    return [uai for uai, _ in sorted(rows, key=lambda row: not row[1])]


def school_of_uai(session: Session, uai: str) -> int | None:
    """The id of the school whose UAI is ``uai`` (any case), or None."""
    return session.scalar(select(School.id).where(
        func.upper(School.uai) == uai.strip().upper()))


def create_federated_account(session: Session, kind: str, value: str, *,
                             profile: Profile | str, school_id: int, first_name: str,
                             last_name: str) -> IdentityMatch:
    """Make the account of an unknown federated identity (the deployment's
    ``create_accounts``): login ``prénom.nom`` made free (:func:`acl.logins.free_login`),
    the names, ``profile`` in ``school_id``, the external id ``kind``/``value``, and a
    random password nobody knows (the person signs in through the provider; drives
    take app passwords). When another request made the same identity's account
    first, that account is returned instead. Raises ``BadRequest`` for a bad profile."""
    first, last = first_name.strip()[:100], last_name.strip()[:100]

    def taken(login: str) -> bool:
        return session.scalar(select(User.id).where(User.login == login)) is not None

    try:
        with session.begin_nested():
            principal = create_user(session, free_login(first, last, taken),
                                    secrets.token_urlsafe(32), profile,
                                    display_name=f"{first} {last}".strip(),
                                    school_id=school_id)
            user = session.get_one(User, principal.id)
            user.first_name, user.last_name = first or None, last or None
            add_external_id(session, principal.id, kind, value)
    except IntegrityError:  # the same identity's first sign-in, twice at once
        found = account_of_identity(session, kind, value)
        if found is None:
            raise
        return found
    return IdentityMatch(principal, False, school_id)
