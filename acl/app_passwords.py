"""App passwords: one password per device for ``/dav/`` (a network drive, rclone, a
sync client), for people who sign in to the web through an identity provider and
have no password of ours, or who would rather not type their own into a device.

**Shape.** 25 characters in five groups, ``xxxxx-xxxxx-xxxxx-xxxxx-xxxxx``, from an
alphabet without the look-alikes ``0 o 1 l i`` (31 characters): about 124 bits,
typed once into Windows' "map a network drive" dialog. Upper case is accepted.

**Storage.** Only the SHA-256 of the secret is kept, unique, so a sign-in finds its
row by one indexed read. A fast hash is enough here, unlike for a person's password:
a random 124-bit secret cannot be guessed from its hash (the argument of NIST SP
800-63B §5.1.1.2 for look-up secrets; GitHub's and Nextcloud's tokens are kept the
same way), and it spares every sync client an argon2 check.

**Rules.** An app password opens ``/dav/`` only, never the web sign-in
(``davserver.auth`` looks them up for ``via="dav"`` only). It shows its creation date,
its last use and the last client address (written at most every
:data:`USE_EVERY` seconds, not at every request). Revoking deletes the row and
raises the credential generation, so every process forgets its cached successes
within a second (``davserver.auth``). Creation and revocation are journaled
(:data:`davserver.journal.Kind.app_password_created`, ``..._revoked``).

Times are UTC epoch seconds, as in the other sign-in tables.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from davserver import clock, journal
from davserver.errors import BadRequest, Conflict, Forbidden, NotFound

from .charters import pending_charter
from .models import User
from .people import Principal
from .sessions import raise_credential_generation
from .signin_models import AppPassword

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUPS = 5
GROUP_SIZE = 5
MAX_LABEL = 100
MAX_PER_USER = 50  # devices: far above what a person uses, a bound on a runaway script
USE_EVERY = 300.0  # seconds between two writes of an app password's last use
METHOD = "app_password"  # the journal's and the sessions' name of the method
_SHAPE = re.compile(r"[a-z2-9]{5}(?:-[a-z2-9]{5}){4}")


class UserRef(Protocol):
    """Anything naming a user by ``id`` and ``login`` (an ``acl.User`` row, an
    ``acl.Principal``)."""

    @property
    def id(self) -> int: ...

    @property
    def login(self) -> str: ...


@dataclass(frozen=True)
class AppPasswordInfo:
    """One app password as its owner sees it (never the secret)."""

    id: int
    label: str
    created: float
    last_used: float | None
    last_address: str | None


def new_secret() -> str:
    """A fresh secret of the shape above (``secrets``: the OS's CSPRNG)."""
    chars = [secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_SIZE)]
    return "-".join("".join(chars[i:i + GROUP_SIZE])
                    for i in range(0, len(chars), GROUP_SIZE))


def looks_like_app_password(password: str) -> bool:
    """True if ``password`` has the shape of an app password (any case, spaces around
    it ignored): only then is it looked up."""
    return _SHAPE.fullmatch(password.strip().lower()) is not None


def secret_hash(secret: str) -> str:
    """The stored form of ``secret``: SHA-256, hex, of its normalised text."""
    return hashlib.sha256(secret.strip().lower().encode("ascii", "replace")).hexdigest()


def clean_label(label: str) -> str:
    """``label`` trimmed, control characters refused; raises :class:`BadRequest` when
    it is empty or longer than :data:`MAX_LABEL` characters."""
    text = unicodedata.normalize("NFC", label).strip()
    if not text:
        raise BadRequest("an app password needs a label naming its device "
                         "(\"Explorateur au collège\")")
    if len(text) > MAX_LABEL:
        raise BadRequest(f"an app password's label has at most {MAX_LABEL} characters")
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise BadRequest("an app password's label cannot hold control characters")
    return text


def create_app_password(session: Session, user: UserRef, label: str, *,
                        actor: journal.Actor | None = None,
                        address: str | None = None) -> tuple[AppPassword, str]:
    """Make an app password for ``user`` named ``label``; returns its row and its
    secret, to be shown once (never stored). Journaled as ``app_password_created`` by
    ``actor`` (default: whoever the request or command is bound to) from ``address``
    (default: the bound one).

    Raises :class:`BadRequest` for a bad label, :class:`NotFound` for an unknown user,
    :class:`Forbidden` for a disabled one or one who has not accepted their charter
    (:mod:`acl.charters`), :class:`Conflict` when the user has
    :data:`MAX_PER_USER` already or one with the same label."""
    text = clean_label(label)
    row = session.get(User, user.id)
    if row is None:
        raise NotFound(f"no user with id {user.id}")
    if row.disabled:
        raise Forbidden(f"{row.login} is disabled: no app password can be made")
    if pending_charter(session, row.id) is not None:
        raise Forbidden(f"{row.login} has not accepted the charter (charte d'utilisation) "
                        "in its current version: no app password before that")
    count = session.scalar(select(func.count()).select_from(AppPassword)
                           .where(AppPassword.user_id == row.id)) or 0
    if count >= MAX_PER_USER:
        raise Conflict(f"{row.login} has {count} app passwords already: revoke one "
                       "that is no longer used")
    same = session.scalar(select(AppPassword.id).where(AppPassword.user_id == row.id,
                                                       AppPassword.label == text))
    if same is not None:
        raise Conflict(f"{row.login} already has an app password named {text!r}")
    secret = new_secret()
    created = AppPassword(user_id=row.id, label=text, secret_hash=secret_hash(secret),
                          created=clock.time())
    session.add(created)
    session.flush()
    journal.record(session, journal.Kind.app_password_created, actor=actor,
                   target=row.login, school_id=row.school_id, address=address,
                   method=METHOD, details={"id": created.id, "label": text})
    return created, secret


def app_passwords_of(session: Session, user_id: int) -> list[AppPasswordInfo]:
    """The app passwords of ``user_id``, oldest first."""
    rows = session.scalars(select(AppPassword).where(AppPassword.user_id == user_id)
                           .order_by(AppPassword.created, AppPassword.id))
    return [AppPasswordInfo(r.id, r.label, r.created, r.last_used, r.last_address)
            for r in rows]


def revoke_app_password(session: Session, user_id: int, app_password_id: int, *,
                        actor: journal.Actor | None = None,
                        address: str | None = None) -> AppPasswordInfo:
    """Delete app password ``app_password_id`` of ``user_id`` and raise the credential
    generation (every process stops accepting it within a second); returns what it
    was. Journaled as ``app_password_revoked``. Raises :class:`NotFound` when
    ``user_id`` has no such app password (another user's id included)."""
    row = session.scalar(select(AppPassword).where(AppPassword.id == app_password_id,
                                                   AppPassword.user_id == user_id))
    if row is None:
        raise NotFound(f"no app password {app_password_id} for this user")
    info = AppPasswordInfo(row.id, row.label, row.created, row.last_used, row.last_address)
    owner = session.get(User, user_id)
    session.execute(delete(AppPassword).where(AppPassword.id == row.id))
    raise_credential_generation(session)
    journal.record(session, journal.Kind.app_password_revoked, actor=actor,
                   target=owner.login if owner else None,
                   school_id=owner.school_id if owner else None, address=address,
                   method=METHOD, details={"id": info.id, "label": info.label})
    return info


@dataclass(frozen=True)
class AppPasswordMatch:
    """An app password that opened ``/dav/``: its owner, its id and last use."""

    principal: Principal
    school_id: int | None
    app_password_id: int
    label: str
    last_used: float | None
    last_address: str | None


def app_password_match(session: Session, login: str, hashed: str) -> AppPasswordMatch | None:
    """The app password whose stored hash is ``hashed`` (:func:`secret_hash`), if it
    belongs to ``login`` and that user is enabled; else None. One indexed query."""
    row = session.execute(
        select(User.id, User.login, User.display_name, User.profile, User.school_id,
               AppPassword.id, AppPassword.label, AppPassword.last_used,
               AppPassword.last_address)
        .join(User, User.id == AppPassword.user_id)
        .where(AppPassword.secret_hash == hashed, User.login == login,
               User.disabled.is_(False))).first()
    if row is None:
        return None
    return AppPasswordMatch(Principal(row[0], row[1], row[2], row[3]), row[4], row[5],
                            row[6], row[7], row[8])


def use_is_due(match: AppPasswordMatch, now: float, address: str | None) -> bool:
    """True when the last use shown should be written: none yet, older than
    :data:`USE_EVERY` seconds, or from another address."""
    return (match.last_used is None or now - match.last_used >= USE_EVERY
            or (address or None) != match.last_address)


def note_app_password_use(session: Session, app_password_id: int, now: float,
                          address: str | None) -> None:
    """Record that app password ``app_password_id`` opened ``/dav/`` at ``now`` from
    ``address``."""
    session.execute(update(AppPassword).where(AppPassword.id == app_password_id)
                    .values(last_used=now, last_address=(address or "")[:64] or None))
