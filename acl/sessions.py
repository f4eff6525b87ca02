"""Browsers' sessions, kept in the database so that ending one takes effect at once in
every server process, and the credential generation that does the same for the DAV
side's cached passwords.

A session is a random token (256 bits) that only the browser's cookie holds; the
table keeps its SHA-256, so a copy of the database opens no session. It expires after
``lifetime`` seconds without a request; the expiry is pushed back at most once every
:data:`RENEW_EVERY` seconds (a write per request would make every page a write
transaction, one at a time on SQLite).

A logout ends one session; :func:`end_sessions_of` ends all of a user's (disabling,
a new password, "sign out everywhere") and raises the credential generation;
:func:`end_idp_session` is for an identity provider's single logout (SAML, CAS).
Times are UTC epoch seconds, passed in by the caller.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import User
from .signin_models import CredentialGeneration, WebSession

if TYPE_CHECKING:
    from .people import Principal

RENEW_EVERY = 300.0  # seconds between two pushes of a session's expiry


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionState:
    """A live session: its user, and whether its expiry is due to be pushed back."""

    principal: Principal
    method: str
    due_renewal: bool


def open_web_session(session: Session, user_id: int | None, *, now: float, lifetime: float,
                     address: str | None, method: str = "password",
                     idp_session: str | None = None, data: str | None = None) -> str:
    """Create a session for ``user_id`` (None: a visitor not signed in), holding
    ``data`` (the web layer's serialised state); returns its token (for the cookie
    only)."""
    token = secrets.token_urlsafe(32)
    session.add(WebSession(id_hash=_hash(token), user_id=user_id, created=now, renewed=now,
                           expires=now + lifetime, address=(address or "")[:64] or None,
                           method=method, idp_session=idp_session, data=data))
    session.flush()
    return token


@dataclass(frozen=True)
class LoadedSession:
    """A live session as a request finds it: its user (None for a visitor not signed
    in), how they signed in, whether its expiry is due to be pushed back, and the web
    layer's serialised ``data``."""

    principal: Principal | None
    method: str
    due_renewal: bool
    data: str | None


def load_web_session(session: Session, token: str, now: float) -> LoadedSession | None:
    """The live session of ``token``, or None (unknown, ended, expired, or its user
    disabled): one query."""
    from .people import Principal  # people imports this module

    row = session.execute(
        select(WebSession.renewed, WebSession.method, WebSession.data, WebSession.user_id,
               User.login, User.display_name, User.profile, User.disabled)
        .outerjoin(User, User.id == WebSession.user_id)
        .where(WebSession.id_hash == _hash(token), WebSession.expires > now)).first()
    if row is None:
        return None
    renewed, method, data, uid, login, name, profile, disabled = row
    if uid is not None and (login is None or disabled):
        return None
    principal = Principal(uid, login, name, profile) if uid is not None else None
    return LoadedSession(principal, method, now - renewed >= RENEW_EVERY, data)


def store_web_session_data(session: Session, token: str, data: str | None) -> None:
    """Replace the web layer's ``data`` of ``token``'s session."""
    session.execute(update(WebSession).where(WebSession.id_hash == _hash(token))
                    .values(data=data))


def web_session_state(session: Session, token: str, now: float) -> SessionState | None:
    """The live session of ``token`` and its enabled user, or None (unknown, ended,
    expired, or its user disabled): one query."""
    from .people import Principal  # people imports this module

    row = session.execute(
        select(WebSession.renewed, WebSession.method, User.id, User.login, User.display_name,
               User.profile)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.id_hash == _hash(token), WebSession.expires > now,
               User.disabled.is_(False))).first()
    if row is None:
        return None
    renewed, method, uid, login, name, profile = row
    return SessionState(Principal(uid, login, name, profile), method,
                        now - renewed >= RENEW_EVERY)


def renew_web_session(session: Session, token: str, *, now: float, lifetime: float) -> None:
    """Push the expiry of ``token``'s session to ``now + lifetime``."""
    session.execute(update(WebSession).where(WebSession.id_hash == _hash(token))
                    .values(renewed=now, expires=now + lifetime))


def end_web_session(session: Session, token: str) -> int:
    """End one session (a logout); returns 1, or 0 if it was already gone."""
    result = session.execute(delete(WebSession).where(WebSession.id_hash == _hash(token)))
    return int(getattr(result, "rowcount", 0) or 0)


def end_sessions_of(session: Session, user_id: int) -> int:
    """End every session of ``user_id`` and raise the credential generation (the DAV
    side's cached passwords are checked again); returns how many sessions ended."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    raise_credential_generation(session)
    return int(getattr(result, "rowcount", 0) or 0)


def end_idp_session(session: Session, method: str, idp_session: str) -> int:
    """End the sessions opened through an identity provider's session ``idp_session``
    (single logout); returns how many."""
    result = session.execute(delete(WebSession).where(WebSession.method == method,
                                                      WebSession.idp_session == idp_session))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired_sessions(session: Session, now: float) -> int:
    """Delete sessions that expired before ``now``; returns how many."""
    result = session.execute(delete(WebSession).where(WebSession.expires <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def credential_generation(session: Session) -> int:
    """The current credential generation (0 before the first change)."""
    return int(session.scalar(select(CredentialGeneration.generation)
                              .where(CredentialGeneration.id == 1)) or 0)


def raise_credential_generation(session: Session) -> None:
    """Raise the generation by one, in the caller's transaction."""
    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(upsert(CredentialGeneration).values(id=1, generation=0)
                    .on_conflict_do_nothing())
    session.execute(update(CredentialGeneration).where(CredentialGeneration.id == 1)
                    .values(generation=CredentialGeneration.generation + 1))
