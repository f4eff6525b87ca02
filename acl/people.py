"""Users: creation, password hashing (argon2id) and verification, and the schools a
user belongs to.

Passwords are hashed with argon2id at OWASP's recommended parameters (Password
Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1): a third of the memory of argon2-cffi's
default, so that a classroom signing in at once fits in memory. A hash made with other
parameters (the default of earlier versions) is upgraded at the next successful
sign-in (``davserver.auth``, :func:`needs_rehash`).
The initial passwords an import hands out are random (12 characters of 55, about 69
bits): guessing one is out of reach whatever the hash's cost (2^69 tries of even a
millisecond are ten billion years), so they are hashed with light parameters
(:data:`INITIAL_HASHER`, 2 MiB and one pass: a few ms instead of ~0.1 to 0.5 s, so that an
import of 1,800 people takes seconds, not many minutes), and upgraded like any other
hash at first sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from davserver.errors import BadRequest, Conflict, NotFound

from .models import (
    Group,
    GroupKind,
    Membership,
    ParentLink,
    Profile,
    School,
    Subject,
    TeacherSubject,
    User,
    UserSchool,
)
from .policy import manages_imports
from .preferences import redirect_emails
from .sessions import end_sessions_of

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1,
                         hash_len=32, salt_len=16)
INITIAL_HASHER = PasswordHasher(time_cost=1, memory_cost=2048, parallelism=1)
"""For random initial passwords only (module docstring)."""
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Principal:
    """An authenticated user, as the DAV and web layers see it."""

    id: int
    login: str
    display_name: str
    profile: Profile


def _principal(user: User) -> Principal:
    return Principal(user.id, user.login, user.display_name, user.profile)


def _check_login(login: str) -> None:
    if not login or len(login) > 100 or any(c in login for c in ":/\\\x00 "):
        raise BadRequest(
            f"invalid login {login!r}: 1 to 100 characters, without spaces, ':', '/' or '\\'"
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """Return an argon2id hash string of ``password``."""
    return _hasher.hash(password)


def create_user(
    session: Session,
    login: str,
    password: str,
    profile: Profile | str,
    *,
    display_name: str = "",
    email: str | None = None,
    school_id: int | None = None,
) -> Principal:
    """Add a user. Raises ``Conflict`` if the login exists, ``BadRequest`` if invalid."""
    _check_login(login)
    _check_password(password)
    try:
        profile = Profile(profile)
    except ValueError as exc:
        allowed = ", ".join(p.value for p in Profile)
        raise BadRequest(f"unknown profile {profile!r}: one of {allowed}") from exc
    if session.scalar(select(User.id).where(User.login == login)) is not None:
        raise Conflict(f"user {login!r} already exists")
    user = User(
        login=login,
        password_hash=hash_password(password),
        profile=profile,
        display_name=display_name or login,
        email=email,
        school_id=school_id,
        disabled=False,
    )
    session.add(user)
    session.flush()
    if school_id is not None:
        join_school(session, user.id, school_id, profile)
    return _principal(user)


def join_school(session: Session, user_id: int, school_id: int,
                profile: Profile | None = None) -> UserSchool:
    """Make ``user_id`` a member of ``school_id`` (with ``profile``, default the user's
    own), idempotent; the first school becomes the home school (:class:`User`)."""
    user = session.get_one(User, user_id)
    row = session.get(UserSchool, (user_id, school_id))
    if row is None:
        row = UserSchool(user_id=user_id, school_id=school_id,
                         profile=profile or user.profile, managed=False, functions=[])
        session.add(row)
    elif profile is not None:
        row.profile = profile
    if user.school_id is None:
        user.school_id = school_id
    session.flush()
    return row


def schools_of(session: Session, user_id: int, *, current: bool = True) -> dict[int, Profile]:
    """The schools of a user (id → profile there), the home school first; ``current``
    leaves out those an import found the user gone from."""
    query = select(UserSchool.school_id, UserSchool.profile).where(
        UserSchool.user_id == user_id)
    if current:
        query = query.where(UserSchool.left_at.is_(None))
    home = session.scalar(select(User.school_id).where(User.id == user_id))
    rows = sorted(session.execute(query), key=lambda r: (r[0] != home, r[0]))
    return {school: profile for school, profile in rows}


def administered_schools(session: Session, user_id: int) -> dict[int, str]:
    """The schools whose imports the user manages (:func:`acl.manages_imports` of
    their profile there; an administrator attached to no school manages the
    deployment's only one), id → UAI, in UAI order. Schools without a UAI are left out:
    their imports folder is named by it (``/dav/imports/<UAI>/``)."""
    ids = [school for school, profile in schools_of(session, user_id).items()
           if manages_imports(profile)]
    if not ids:
        user = session.get(User, user_id)
        if user is not None and user.school_id is None and manages_imports(user.profile):
            only = school_of_user(session, user_id)
            ids = [only] if only is not None else []
    if not ids:
        return {}
    rows = session.execute(select(School.id, School.uai).where(
        School.id.in_(ids), School.uai.is_not(None)).order_by(School.uai))
    return {school_id: uai for school_id, uai in rows if uai is not None}


def _get(session: Session, login: str) -> User:
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        raise NotFound(f"no user {login!r}")
    return user


def set_password(session: Session, login: str, password: str) -> None:
    """Replace a user's password and end their sessions (:func:`acl.sessions.
    end_sessions_of`). Raises ``NotFound`` or ``BadRequest``."""
    _check_password(password)
    user = _get(session, login)
    user.password_hash = hash_password(password)
    end_sessions_of(session, user.id)


def disable_user(session: Session, login: str) -> None:
    """Disable a user: they can no longer sign in, their sessions end at once and every
    process forgets their cached DAV credentials; their files are kept."""
    user = _get(session, login)
    user.disabled = True
    end_sessions_of(session, user.id)


def sign_out_everywhere(session: Session, login: str) -> int:
    """End every session of ``login`` (and drop cached DAV credentials everywhere);
    returns how many web sessions there were. Raises ``NotFound``."""
    return end_sessions_of(session, _get(session, login).id)


def list_users(session: Session) -> list[tuple[Principal, bool]]:
    """Every user with its disabled flag, ordered by login."""
    users = session.scalars(select(User).order_by(User.login))
    return [(_principal(u), u.disabled) for u in users]


def find_user(session: Session, login: str, *, enabled_only: bool = False) -> Principal | None:
    """The user with that login (None if absent, or disabled with ``enabled_only``)."""
    user = session.scalar(select(User).where(User.login == login))
    if user is None or (enabled_only and user.disabled):
        return None
    return _principal(user)


def verify_credentials(session: Session, login: str, password: str) -> Principal | None:
    """Return the principal when ``login``/``password`` match an enabled user, else None.

    A hash made with outdated parameters is rehashed in the caller's transaction.
    """
    user = session.scalar(select(User).where(User.login == login))
    if user is None or user.disabled:
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return _principal(user)


def password_record(session: Session, login: str) -> tuple[Principal, str, bool] | None:
    """The principal, password hash and disabled flag of ``login``, or None when
    unknown: one query, no argon2 (``davserver.auth`` checks the hash on its pool)."""
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        return None
    return _principal(user), user.password_hash, user.disabled


def check_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches ``password_hash`` (argon2). Costs the hash's
    parameters in time and memory; releases the GIL while it runs."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True if ``password_hash`` was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def replace_hash(session: Session, user_id: int, old_hash: str, new_hash: str) -> bool:
    """Store ``new_hash`` (same password, today's parameters) if the user's hash is still
    ``old_hash`` (no password change in between); returns whether it was stored."""
    user = session.get(User, user_id)
    if user is None or user.password_hash != old_hash:
        return False
    user.password_hash = new_hash
    return True


def password_state(session: Session, login: str) -> tuple[Principal, str] | None:
    """The principal and the current password hash (argon2 string) of the enabled user
    ``login``; None when unknown or disabled. One query, no argon2: a cache of verified
    credentials compares the hash with the one it verified, to keep trusting a password
    that has not changed (``davserver.auth``); a new password means a new hash."""
    user = session.scalar(select(User).where(User.login == login))
    if user is None or user.disabled:
        return None
    return _principal(user), user.password_hash


def profile_of(session: Session, user_id: int) -> str | None:
    """The profile name of a user (``"student"``…), or None if unknown."""
    profile = session.scalar(select(User.profile).where(User.id == user_id))
    return profile.value if profile is not None else None


def school_of_user(session: Session, user_id: int) -> int | None:
    """The id of the user's home school (:class:`User`; a user of several schools
    chooses another on the school-wide pages); for a user attached to none (made by
    hand), the deployment's only school; None when that is ambiguous or there is no
    school at all."""
    user = session.get(User, user_id)
    if user is not None and user.school_id is not None:
        return user.school_id
    ids = list(session.scalars(select(School.id).limit(2)))
    return ids[0] if len(ids) == 1 else None


def ensure_group(session: Session, school_id: int, name: str, kind: str = "class") -> int:
    """Return the id of a school's group or class, creating it if absent."""
    group = session.scalar(
        select(Group).where(Group.school_id == school_id, Group.name == name)
    )
    if group is None:
        group = Group(school_id=school_id, name=name, kind=GroupKind(kind))
        session.add(group)
        session.flush()
    return group.id


def add_member(session: Session, group_id: int, user_id: int) -> None:
    """Put a user in a group or class (idempotent)."""
    if session.get(Membership, (group_id, user_id)) is None:
        session.add(Membership(group_id=group_id, user_id=user_id))


def groups_of(session: Session, user_id: int) -> list[int]:
    """Ids of the groups and classes ``user_id`` belongs to."""
    return list(session.scalars(select(Membership.group_id)
                                .where(Membership.user_id == user_id)))


def members_of(session: Session, group_id: int,
               profile: Profile | None = None) -> list[Principal]:
    """Members of a group or class (of ``profile`` only, when given), by login."""
    query = select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.group_id == group_id)
    if profile is not None:
        query = query.where(User.profile == profile)
    return [_principal(u) for u in session.scalars(query.order_by(User.login))]


def group_names(session: Session, group_ids: set[int]) -> dict[int, str]:
    """Names of groups and classes by id (one query); unknown ids are left out."""
    if not group_ids:
        return {}
    rows = session.execute(select(Group.id, Group.name).where(Group.id.in_(group_ids)))
    return {gid: name for gid, name in rows}


def subject_names(session: Session, subject_ids: set[int]) -> dict[int, str]:
    """Names of subjects by id (one query); unknown ids are left out."""
    if not subject_ids:
        return {}
    rows = session.execute(select(Subject.id, Subject.name)
                           .where(Subject.id.in_(subject_ids)))
    return {sid: name for sid, name in rows}


def ensure_subject(session: Session, school_id: int, code: str, name: str | None = None) -> int:
    """Return the id of a school's subject by code, creating it if absent."""
    found = session.scalar(select(Subject).where(Subject.school_id == school_id,
                                                 Subject.code == code))
    if found is None:
        found = Subject(school_id=school_id, code=code, name=name or code)
        session.add(found)
        session.flush()
    elif name and found.name != name:
        found.name = name
    return found.id


def add_teacher_subject(session: Session, user_id: int, subject_id: int) -> None:
    """Record that a teacher teaches a subject (idempotent)."""
    if session.get(TeacherSubject, (user_id, subject_id)) is None:
        session.add(TeacherSubject(user_id=user_id, subject_id=subject_id))


def link_parent(session: Session, parent_id: int, child_id: int) -> None:
    """Record that ``parent_id`` is a parent of the student ``child_id`` (idempotent)."""
    if parent_id == child_id:
        raise BadRequest("a user cannot be their own parent")
    if session.get(ParentLink, (parent_id, child_id)) is None:
        session.add(ParentLink(parent_id=parent_id, child_id=child_id))


def children_of(session: Session, parent_id: int) -> list[int]:
    """User ids of a parent's children."""
    return list(session.scalars(select(ParentLink.child_id)
                                .where(ParentLink.parent_id == parent_id)))


def logins_of(session: Session, user_ids: set[int]) -> dict[int, str]:
    """Logins by user id (one query); unknown ids are left out."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.login).where(User.id.in_(user_ids)))
    return {uid: login for uid, login in rows}


def names_of(session: Session, user_ids: set[int]) -> dict[int, str]:
    """What pages call each user, by id (one query): the display name (« Prénom
    Nom », from the imports), else the login for an account made by hand without
    one. Pages name people, never show logins (issue 20); unknown ids are left out."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.login, User.display_name)
                           .where(User.id.in_(user_ids)))
    return {uid: (name or "").strip() or login for uid, login, name in rows}


@dataclass(frozen=True)
class Contact:
    """Where to reach a user: their school (None for a user of no school) and e-mail
    address (None when none is known or the account is disabled: no mail for them)."""

    user_id: int
    school_id: int | None
    email: str | None


def contacts_of(session: Session, user_ids: set[int]) -> dict[int, Contact]:
    """Contacts by user id (two queries); unknown ids are left out. The e-mail is the
    redirect address the user set (:mod:`acl.preferences`), else the imported one."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.school_id, User.email, User.disabled)
                           .where(User.id.in_(user_ids)))
    # The redirect address of "Mes informations" goes before the imported one.
    redirects = redirect_emails(session, user_ids)
    return {uid: Contact(uid, school, None if disabled
                         else redirects.get(uid) or (email or "").strip() or None)
            for uid, school, email, disabled in rows}
