"""Tables of the textbook's oversight (issue 7): the head's visas, inspectors'
accesses, and the corbeille of deleted lessons and activities.

Each is a table of its own rather than a column on ``lessons`` (chosen before the
schema had migrations, when only new tables could reach an existing database).
Times are UTC (:class:`UTCDateTime`); the dates of a visa and of an access are
wall-clock dates in the school's time zone (``SchoolYear.time_zone``), stored as
plain dates because that is what the head signs and chooses.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    ForeignKey,
    Table,
    Text,
    and_,
    exists,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

import acl
from davserver import clock
from davserver.db import Base
from web.columns import UTCDateTime

from ..models import Activity, Lesson, TeachingService


class Visa(Base):
    """The head's sign-off (visa) on a teacher's cahier de textes.

    Scope: one teacher, all their teaching services. A French head signs « le cahier
    de textes de M. X » during the periodic check of each teacher's record, not one
    class at a time; a co-taught service is covered by the visa of any of its
    teachers. It covers the lessons of those services whose start, on the school's
    wall clock, falls on ``until`` or earlier. ``created`` (UTC) is the moment of
    signing: activities created or changed after it are marked on the lesson page.
    """

    __tablename__ = "visas"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey(acl.School.id))
    teacher_id: Mapped[int] = mapped_column(ForeignKey(acl.User.id), index=True)
    until: Mapped[date] = mapped_column(Date)
    comment: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int] = mapped_column(ForeignKey(acl.User.id))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


inspector_access_services = Table(
    "inspector_access_services", Base.metadata,
    Column("access_id", ForeignKey("inspector_accesses.id", ondelete="CASCADE"),
           primary_key=True),
    Column("service_id", ForeignKey(TeachingService.id, ondelete="CASCADE"),
           primary_key=True),
)
"""The services an access is restricted to; no row: every service of the teacher."""


class InspectorAccess(Base):
    """An inspector's time-limited read access to one teacher's textbook.

    Current from ``valid_from`` to ``valid_until`` (both included, wall-clock dates
    in the school's time zone, stored as dates) unless ``revoked`` (UTC) is set:
    revoking ends it at once. ``services`` empty: every service the teacher teaches
    at the time of reading."""

    __tablename__ = "inspector_accesses"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey(acl.School.id))
    inspector_id: Mapped[int] = mapped_column(ForeignKey(acl.User.id), index=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey(acl.User.id), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    opened_by: Mapped[int] = mapped_column(ForeignKey(acl.User.id))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey(acl.User.id))
    services: Mapped[list[TeachingService]] = relationship(
        secondary=inspector_access_services, order_by=TeachingService.id)


class TrashedLesson(Base):
    """A lesson in the corbeille (issue 5: delete to a trash, then restore). The
    lesson row and its activities stay; every view leaves it out while this row
    exists. ``deleted`` is UTC."""

    __tablename__ = "trashed_lessons"
    lesson_id: Mapped[int] = mapped_column(ForeignKey(Lesson.id, ondelete="CASCADE"),
                                           primary_key=True)
    deleted: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    deleted_by: Mapped[int] = mapped_column(ForeignKey(acl.User.id))


class TrashedActivity(Base):
    """An activity in the corbeille (issue 20, "Undo instead of loss"). The activity
    row, its attachments and what they charge to the quota stay (as a trashed file's
    bytes still count); every view leaves it out while this row exists, and
    restoring puts it back at its ``position`` in its lesson. ``deleted`` is UTC."""

    __tablename__ = "trashed_activities"
    activity_id: Mapped[int] = mapped_column(ForeignKey(Activity.id, ondelete="CASCADE"),
                                             primary_key=True)
    deleted: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    deleted_by: Mapped[int] = mapped_column(ForeignKey(acl.User.id))


def not_trashed() -> ColumnElement[bool]:
    """A condition on :class:`Lesson`: the lesson is not in the corbeille."""
    return ~exists().where(TrashedLesson.lesson_id == Lesson.id)


def activity_not_trashed() -> ColumnElement[bool]:
    """A condition on :class:`Activity`: the activity itself is not in the corbeille
    (the one filter every query on activities carries; its lesson may still be)."""
    return ~exists().where(TrashedActivity.activity_id == Activity.id)


def live_activity() -> ColumnElement[bool]:
    """A condition on :class:`Activity`: neither it nor the lesson it was given in is
    in the corbeille (a deleted lesson's homework is no longer due)."""
    return and_(activity_not_trashed(), given_in_live_lesson())


def given_in_live_lesson() -> ColumnElement[bool]:
    """A condition on :class:`Activity`: its lesson is not in the corbeille (a
    deleted lesson's homework is no longer due)."""
    return Activity.lesson_id.not_in(select(TrashedLesson.lesson_id))
