"""Booking tables: resource domains, resources, their unavailability periods, bookings.

Times of bookings and unavailability periods are stored in UTC
(``web.columns.UTCDateTime``); opening hours are wall-clock times in the school's time
zone (the school year's, Europe/Paris when the school has none yet).
"""

from __future__ import annotations

import enum
from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

import acl
from davserver import clock
from davserver.db import Base
from web.columns import UTCDateTime


class ResourceKind(enum.StrEnum):
    """Equipment (VPI, projector, set of tablets) or a place (salle informatique, CDI)."""

    equipment = "equipment"
    place = "place"


class BookingStatus(enum.StrEnum):
    """A booking's state. ``confirmed`` and ``pending`` hold units of the resource;
    ``suspended`` (the resource became unavailable), ``refused`` and ``cancelled``
    hold none."""

    confirmed = "confirmed"
    pending = "pending"
    refused = "refused"
    cancelled = "cancelled"
    suspended = "suspended"


HOLDING = (BookingStatus.confirmed, BookingStatus.pending)


def _enum(kind: type[enum.Enum], length: int) -> Enum:
    return Enum(kind, native_enum=False, length=length,
                values_callable=lambda e: [m.value for m in e])


domain_managers = Table(
    "booking_domain_managers", Base.metadata,
    Column("domain_id", ForeignKey("booking_domains.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", ForeignKey(acl.User.id), primary_key=True),
)


class DomainProfile(Base):
    """A profile (teacher, staff...) whose members may see and book in a domain."""

    __tablename__ = "booking_domain_profiles"
    domain_id: Mapped[int] = mapped_column(
        ForeignKey("booking_domains.id", ondelete="CASCADE"), primary_key=True)
    profile: Mapped[acl.Profile] = mapped_column(
        Enum(acl.Profile, native_enum=False, length=16), primary_key=True)


class ResourceDomain(Base):
    """A domaine de ressources of a school ("Salles informatiques"): its managers, the
    profiles that may book in it, its opening hours (``opens`` to ``closes`` on
    ``weekdays``, digits 0 = Monday … 6 = Sunday, wall-clock) and the slot length of
    its week grid (minutes)."""

    __tablename__ = "booking_domains"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey(acl.School.id), index=True)
    name: Mapped[str] = mapped_column(String(200))
    opens: Mapped[time] = mapped_column(Time, default=time(8))
    closes: Mapped[time] = mapped_column(Time, default=time(18))
    weekdays: Mapped[str] = mapped_column(String(7), default="01234")
    slot_minutes: Mapped[int] = mapped_column(Integer, default=60)
    managers: Mapped[list[acl.User]] = relationship(secondary=domain_managers,
                                                    order_by=acl.User.login)
    profiles: Mapped[list[DomainProfile]] = relationship(cascade="all, delete-orphan")


class Resource(Base):
    """A bookable resource of a domain. ``quantity`` units can be booked at once (a set
    of 15 tablets: 15; a room: 1). Limits left None do not apply: ``max_duration``
    (minutes), ``min_notice`` (minutes before the start), ``max_notice`` (days ahead),
    ``max_bookings`` (future bookings per user, a series counting once)."""

    __tablename__ = "booking_resources"
    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(
        ForeignKey(ResourceDomain.id, ondelete="CASCADE"), index=True)
    kind: Mapped[ResourceKind] = mapped_column(_enum(ResourceKind, 16))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    needs_validation: Mapped[bool] = mapped_column(Boolean, default=False)
    max_duration: Mapped[int | None] = mapped_column(Integer)
    min_notice: Mapped[int | None] = mapped_column(Integer)
    max_notice: Mapped[int | None] = mapped_column(Integer)
    max_bookings: Mapped[int | None] = mapped_column(Integer)
    domain: Mapped[ResourceDomain] = relationship()


class Unavailability(Base):
    """A period (UTC, end excluded) when a resource cannot be booked (repair, exams)."""

    __tablename__ = "booking_unavailability"
    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey(Resource.id, ondelete="CASCADE"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Booking(Base):
    """A réservation of ``quantity`` units from ``start`` to ``end`` (UTC, end excluded).
    ``booked_by`` made it, for ``on_behalf_of`` when staff book for someone else;
    ``series_id`` groups the occurrences of a recurring booking; ``lesson_id`` links
    it to a séance of the textbook."""

    __tablename__ = "bookings"
    __table_args__ = (Index("ix_bookings_resource_time", "resource_id", "start", "end"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey(Resource.id, ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    booked_by: Mapped[int] = mapped_column(ForeignKey(acl.User.id), index=True)
    on_behalf_of: Mapped[int | None] = mapped_column(ForeignKey(acl.User.id))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[BookingStatus] = mapped_column(_enum(BookingStatus, 16))
    refusal_reason: Mapped[str] = mapped_column(String(500), default="")
    validated_by: Mapped[int | None] = mapped_column(ForeignKey(acl.User.id))
    series_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # The séance this booking is for: it follows the lesson when the lesson moves or is
    # cancelled (web.booking.lessons).
    lesson_id: Mapped[int | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="SET NULL"), index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    resource: Mapped[Resource] = relationship()


class FeedToken(Base):
    """A user's secret for their iCalendar feeds (issue 6): calendar applications
    subscribe to a URL and cannot sign in, so the URL carries the secret, as Google
    Calendar's "secret address" and Nextcloud's subscription links do. One per user;
    renewing it replaces the row, so old links stop working at once."""

    __tablename__ = "booking_feed_tokens"
    user_id: Mapped[int] = mapped_column(ForeignKey(acl.User.id, ondelete="CASCADE"),
                                         primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
