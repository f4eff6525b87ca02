"""Textbook tables: the school year and its holidays, teaching services and lessons.

Times of lessons are stored in UTC (:class:`UTCDateTime`); the school's time zone
(:attr:`SchoolYear.time_zone`) turns them back into wall-clock times.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

import acl
from davserver import clock
from davserver.db import Base
from web.columns import UTCDateTime


class Week(enum.StrEnum):
    """Week alternation (semaine A / semaine B) of a fortnightly lesson."""

    A = "A"
    B = "B"


class LessonStatus(enum.StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"


class LessonSource(enum.StrEnum):
    """Where a lesson came from: the timetable import, or made by hand (Nouvelle séance)."""

    timetable = "timetable"
    manual = "manual"


def _enum(kind: type[enum.Enum], length: int) -> Enum:
    return Enum(kind, native_enum=False, length=length,
                values_callable=lambda e: [m.value for m in e])


class SchoolYear(Base):
    """A school's year (``label`` "2025-2026"): lessons fall between ``start`` and
    ``end`` (both dates included), in ``time_zone`` (IANA name, e.g. Europe/Paris).
    ``week_a``: a day of a week A (``davserver import timetable --week-a``); None: the
    year's first week of classes is week A (:mod:`web.textbook.timetable.school_calendar`)."""

    __tablename__ = "school_years"
    __table_args__ = (UniqueConstraint("school_id", "label"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey(acl.School.id))
    label: Mapped[str] = mapped_column(String(20))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    week_a: Mapped[date | None] = mapped_column(Date)


class Holiday(Base):
    """A holiday period of a school (vacances de la Toussaint...): no lessons from
    ``start`` to ``end``, both dates included."""

    __tablename__ = "holidays"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey(acl.School.id))
    name: Mapped[str] = mapped_column(String(200))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)


service_teachers = Table(
    "service_teachers", Base.metadata,
    Column("service_id", ForeignKey("teaching_services.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", ForeignKey(acl.User.id), primary_key=True),
)


class TeachingService(Base):
    """A service d'enseignement: one class or group × one subject × its teacher(s)."""

    __tablename__ = "teaching_services"
    __table_args__ = (UniqueConstraint("group_id", "subject_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey(acl.School.id))
    group_id: Mapped[int] = mapped_column(ForeignKey(acl.Group.id))
    subject_id: Mapped[int] = mapped_column(ForeignKey(acl.Subject.id))
    label: Mapped[str] = mapped_column(String(200), default="")
    teachers: Mapped[list[acl.User]] = relationship(secondary=service_teachers,
                                                    order_by=acl.User.login)


class Lesson(Base):
    """A séance: one timetabled period of a teaching service, ``start`` and ``end`` in
    UTC. One lesson per service and start time (what makes imports idempotent)."""

    __tablename__ = "lessons"
    __table_args__ = (UniqueConstraint("service_id", "start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey(TeachingService.id, ondelete="CASCADE"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    room: Mapped[str] = mapped_column(String(100), default="")
    week: Mapped[Week | None] = mapped_column(_enum(Week, 1))
    status: Mapped[LessonStatus] = mapped_column(_enum(LessonStatus, 16),
                                                 default=LessonStatus.scheduled)
    created_by: Mapped[int | None] = mapped_column(ForeignKey(acl.User.id))
    source: Mapped[LessonSource] = mapped_column(_enum(LessonSource, 16))
    # Which import laid a timetable lesson: "school" (the school's whole timetable: EDT,
    # UDT, our CSV; also None, from before the column) or one calendar's ("pronote:DUPONT
    # Marc"). A re-import moves and deletes only its own (web.textbook.timetable.apply).
    origin: Mapped[str | None] = mapped_column(String(120))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ActivityKind(enum.StrEnum):
    """Contenu de séance (what was done) or travail à faire (work due later)."""

    content = "content"
    homework = "homework"


HOMEWORK_TYPES = ("Exercices", "Devoir maison", "Autre")
"""Default homework types (issue 5; editable per school in a later slice)."""

activity_targets = Table(
    "activity_targets", Base.metadata,
    Column("activity_id", ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey(acl.User.id), primary_key=True),
)
"""Students a homework is aimed at; no row: the whole class or group."""


class Activity(Base):
    """An activity of a lesson: content, or homework due for ``due_lesson_id``.

    ``body`` is HTML already sanitized (nh3) when stored; ``private_note`` is for the
    service's teachers only. ``position`` orders the activities of a lesson (0 first).
    Homework fields (``homework_type``, ``minutes``, ``due_lesson_id``,
    ``online_submission``) are None/False for content. Times are UTC."""

    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey(Lesson.id, ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[ActivityKind] = mapped_column(_enum(ActivityKind, 16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    private_note: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    homework_type: Mapped[str | None] = mapped_column(String(100))
    minutes: Mapped[int | None] = mapped_column(Integer)
    due_lesson_id: Mapped[int | None] = mapped_column(
        ForeignKey(Lesson.id, ondelete="SET NULL"), index=True)
    online_submission: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int] = mapped_column(ForeignKey(acl.User.id))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # When students and parents see it (web.textbook.visibility): homework from when it
    # was given or the end of quiet hours; content None = when its lesson ends (or
    # starts), or the moment the teacher published it early.
    visible_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    targets: Mapped[list[acl.User]] = relationship(secondary=activity_targets,
                                                   order_by=acl.User.login)
