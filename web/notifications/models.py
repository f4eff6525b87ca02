"""Notification tables: the notifications themselves, each user's e-mail preference,
and the outbox of e-mails waiting for the SMTP server.

Times are UTC (:class:`web.columns.UTCDateTime`). A notification belongs to one
recipient (and their school, for school-level reports and clean-up); the outbox row
of its e-mail copy is made in the same transaction, so an e-mail exists only for an
action that committed (the transactional outbox pattern).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

import acl
from davserver import clock
from davserver.db import Base
from web.columns import UTCDateTime


class NotificationKind(enum.StrEnum):
    """What a notification is about (issue 7, "Notifications")."""

    inspector_access = "inspector_access"
    visa = "visa"
    hand_in = "hand_in"
    correction_returned = "correction_returned"
    booking_validated = "booking_validated"
    booking_refused = "booking_refused"
    booking_changed = "booking_changed"  # moved or cancelled with its lesson, suspended
    rubric_invitation = "rubric_invitation"
    quota_warning = "quota_warning"
    lock_broken = "lock_broken"  # someone removed the user's WebDAV lock (issue 18)
    import_done = "import_done"  # a file dropped in a school's imports folder (issue 24)
    rubric_contribution = "rubric_contribution"  # new in a followed rubric (issue 20)


class OutboxStatus(enum.StrEnum):
    """``pending`` until sent; ``failed`` after the last allowed attempt."""

    pending = "pending"
    sent = "sent"
    failed = "failed"


def _enum(kind: type[enum.Enum], length: int) -> Enum:
    return Enum(kind, native_enum=False, length=length,
                values_callable=lambda e: [m.value for m in e])


MAX_SUBJECT = 200
MAX_LINK = 500


class Notification(Base):
    """One notification for ``user_id``: a one-line ``subject``, an optional plain-text
    ``body`` and ``link`` (a path on this site, e.g. ``/booking/mes-reservations``).
    ``read_at`` is None while unread."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(acl.User.id, ondelete="CASCADE"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey(acl.School.id))
    kind: Mapped[NotificationKind] = mapped_column(_enum(NotificationKind, 32))
    subject: Mapped[str] = mapped_column(String(MAX_SUBJECT))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(MAX_LINK))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationPreference(Base):
    """A user's choice "Recevoir les notifications" par e-mail. No row: yes (the
    default, since e-mail is off server-wide until an administrator sets SMTP up)."""

    __tablename__ = "notification_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey(acl.User.id, ondelete="CASCADE"),
                                         primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)


class OutboxMessage(Base):
    """The e-mail copy of a notification, to ``to_address``. A sender claims it by a
    conditional UPDATE (``claim_token``, ``claimed_until``) so that one process sends
    it; ``attempts`` counts tries, ``next_attempt`` is when it may be tried again."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_notification_outbox_due", "status", "next_attempt"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey(Notification.id, ondelete="CASCADE"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus, 16),
                                                 default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notification: Mapped[Notification] = relationship()
