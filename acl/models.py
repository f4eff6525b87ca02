"""People tables: schools, users with a profile, groups (classes), memberships,
subjects, the subjects a teacher teaches and the links between parents and children.

Rubrics, roles, grants and invitations are in :mod:`acl.rubric_models`.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from davserver import clock
from davserver.db import Base


class Profile(enum.StrEnum):
    """A user's profil in the ENT (DESIGN.md vocabulary)."""

    student = "student"
    teacher = "teacher"
    parent = "parent"
    staff = "staff"
    head = "head"
    admin = "admin"
    inspector = "inspector"


class GroupKind(enum.StrEnum):
    class_ = "class"
    group = "group"


class School(Base):
    """One établissement."""

    __tablename__ = "schools"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uai: Mapped[str | None] = mapped_column(String(16), unique=True)


class User(Base):
    """A person who signs in. ``login`` is unique and case-sensitive."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    profile: Mapped[Profile] = mapped_column(Enum(Profile, native_enum=False, length=16))
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class Group(Base):
    """A classe (kind ``class``) or another group of a school."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("school_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[GroupKind] = mapped_column(
        Enum(GroupKind, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e])
    )


class Membership(Base):
    __tablename__ = "memberships"
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class Subject(Base):
    """A discipline (matière) of a school, by its short code (``MATHS``) and name."""

    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("school_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))


class TeacherSubject(Base):
    """A subject a teacher teaches (what a population's subject part matches)."""

    __tablename__ = "teacher_subjects"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)


class ParentLink(Base):
    """A parent (responsable légal) of a student."""

    __tablename__ = "parent_links"
    parent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class ImportedUser(Base):
    """A user whom the people import of a school manages (``davserver import people``).

    Its own table rather than a column on ``users`` (chosen before the schema had
    migrations, when only new tables could reach an existing database). Absent from a
    later import of the same school, the user is disabled and ``left`` set (UTC);
    listed again, they are enabled again. Users without a row (made by hand) are never
    disabled by an import.
    """

    __tablename__ = "imported_users"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    left: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
