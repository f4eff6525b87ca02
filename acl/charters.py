"""The charter (charte d'utilisation): the text each user must read and accept before
using the web, again whenever its version changes (school practice: the charter is
signed at the start of the year and after each change).

One charter per school (``school_id``), and one for the deployment (``school_id``
NULL) that applies to users without a school. A user's charter is their home
school's, else the deployment's; none configured: nothing to accept. Every edit
publishes a new version (numbered from 1), so everyone accepts it again. An
acceptance records who, when (UTC) and which version; edits and acceptances are
journaled (``charter_changed``, ``charter_accepted``).

The charter gates the web (``web.account.charter``) and the making of app passwords
(:func:`acl.create_app_password`); a drive cannot show a page, so ``/dav/`` is never
blocked by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from davserver import clock, journal
from davserver.db import Base
from davserver.errors import BadRequest

from .models import User

MAX_TEXT = 100_000  # characters: a charter is a few pages


class Charter(Base):
    """A school's charter (``school_id`` NULL: the deployment's), its current version
    and text, and when and by whom that version was published."""

    __tablename__ = "charters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"),
                                                  unique=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    published: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(255))


class CharterAcceptance(Base):
    """One user's acceptance of one version of a charter."""

    __tablename__ = "charter_acceptances"
    __table_args__ = (UniqueConstraint("user_id", "charter_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    charter_id: Mapped[int] = mapped_column(ForeignKey("charters.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class CharterInfo:
    """A charter as pages show it."""

    id: int
    school_id: int | None
    version: int
    text: str
    published: datetime


def _info(row: Charter) -> CharterInfo:
    return CharterInfo(row.id, row.school_id, row.version, row.text, row.published)


def charter_of_school(session: Session, school_id: int | None) -> CharterInfo | None:
    """The charter of ``school_id`` (None: the deployment's), or None."""
    row = session.scalar(select(Charter).where(
        Charter.school_id.is_(None) if school_id is None else Charter.school_id == school_id))
    return _info(row) if row is not None else None


def charter_for(session: Session, user_id: int) -> CharterInfo | None:
    """The charter ``user_id`` must accept: their home school's, else the
    deployment's; None when neither exists."""
    school = session.scalar(select(User.school_id).where(User.id == user_id))
    found = charter_of_school(session, school) if school is not None else None
    return found or charter_of_school(session, None)


def pending_charter(session: Session, user_id: int) -> CharterInfo | None:
    """The charter ``user_id`` has not accepted in its current version, or None."""
    charter = charter_for(session, user_id)
    if charter is None:
        return None
    done = session.scalar(select(CharterAcceptance.id).where(
        CharterAcceptance.user_id == user_id, CharterAcceptance.charter_id == charter.id,
        CharterAcceptance.version == charter.version))
    return None if done is not None else charter


def accept_charter(session: Session, user_id: int, charter_id: int, version: int) -> bool:
    """Record that ``user_id`` accepted ``version`` of charter ``charter_id`` (now,
    UTC), journaled; False when that version is not the current one (it changed
    while the page was open) or was accepted already."""
    charter = session.get(Charter, charter_id)
    if charter is None or charter.version != version:
        return False
    done = session.scalar(select(CharterAcceptance.id).where(
        CharterAcceptance.user_id == user_id, CharterAcceptance.charter_id == charter_id,
        CharterAcceptance.version == version))
    if done is not None:
        return False
    session.add(CharterAcceptance(user_id=user_id, charter_id=charter_id, version=version,
                                  accepted=clock.now()))
    session.flush()
    journal.record(session, journal.Kind.charter_accepted, school_id=charter.school_id,
                   details={"charter": charter_id, "version": version})
    return True


def publish_charter(session: Session, school_id: int | None, text: str, *,
                    by: str | None = None) -> CharterInfo:
    """Publish ``text`` as the next version of ``school_id``'s charter (the first
    makes it); everyone must accept it again. Raises :class:`BadRequest` for an
    empty text or one over :data:`MAX_TEXT` characters."""
    cleaned = text.replace("\r\n", "\n").strip()
    if not cleaned:
        raise BadRequest("a charter needs a text")
    if len(cleaned) > MAX_TEXT:
        raise BadRequest(f"a charter has at most {MAX_TEXT} characters")
    row = session.scalar(select(Charter).where(
        Charter.school_id.is_(None) if school_id is None else Charter.school_id == school_id))
    if row is None:
        row = Charter(school_id=school_id, version=1, text=cleaned, published=clock.now(),
                      published_by=by)
        session.add(row)
    else:
        row.version += 1
        row.text = cleaned
        row.published = clock.now()
        row.published_by = by
    session.flush()
    journal.record(session, journal.Kind.charter_changed, school_id=school_id,
                   details={"charter": row.id, "version": row.version})
    return _info(row)
