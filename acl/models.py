"""People tables: schools, users with a profile, the schools each user belongs to,
the identifiers other systems give them, groups (classes), memberships, subjects, the
subjects a teacher teaches and the links between parents and children.

Rubrics, roles, grants and invitations are in :mod:`acl.rubric_models`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    String,
    UniqueConstraint,
)
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
    """One établissement: its name, national code (UAI, unique), holiday zone (A, B, C
    or none) and time zone (IANA). Rules in :mod:`acl.schools`."""

    __tablename__ = "schools"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uai: Mapped[str | None] = mapped_column(String(16), unique=True)
    holiday_zone: Mapped[str | None] = mapped_column(String(1))
    aaf_id: Mapped[str | None] = mapped_column(String(32))
    """The school's structure id in AAF files (``ENTStructureJointure``)."""
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Paris",
                                           server_default="Europe/Paris")


def _profile_enum() -> Enum:
    return Enum(Profile, native_enum=False, length=16)


class User(Base):
    """A person who signs in. ``login`` is unique and case-sensitive.

    ``school_id`` is the home school (établissement de rattachement): the school of a
    one-school user, the one pages open in for a user of several. Every school a user
    belongs to, the home school included, has a :class:`UserSchool` row; ``profile``
    is the profile in the home school (another school may give another). Names and
    birth date come from imports (the display name is "Prénom Nom")."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    profile: Mapped[Profile] = mapped_column(_profile_enum())
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)


class UserSchool(Base):
    """A user's place in one school: their profile there and, for the people an import
    of that school lists (``managed``), when it found them gone (``left_at``, UTC; None
    while they are there). ``functions`` are the labels of their functions there, as
    the source names them (``EDUCATION (CE, CPE)``, ``DIRECTION CHEF
    D'ETABLISSEMENT``). Users made by hand have a row without ``managed``: no import
    disables them until a file lists them."""

    __tablename__ = "user_schools"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)
    profile: Mapped[Profile] = mapped_column(_profile_enum())
    managed: Mapped[bool] = mapped_column(Boolean, default=False)
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    functions: Mapped[list[Any]] = mapped_column(JSON, default=list)


class ExternalId(Base):
    """An identifier another system gives a user, unique per kind: ``aaf`` (the AAF
    jointure id), ``ine`` (a student's national number), ``sts`` (STS-web's individual
    id), ``siecle`` (SIECLE's, prefixed by the school's UAI), ``educonnect``...
    Imports find people again by them; federated sign-in will match them."""

    __tablename__ = "external_ids"
    __table_args__ = (UniqueConstraint("kind", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(100))


class Group(Base):
    """A classe (kind ``class``) or another group of a school. ``source`` is the kind
    of import that made it (``aaf``, ``sts``, ``siecle``, ``onde``, ``csv``), None for a
    group made by hand: a later import of that kind manages its members."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("school_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[GroupKind] = mapped_column(
        Enum(GroupKind, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e])
    )
    source: Mapped[str | None] = mapped_column(String(16))


class Membership(Base):
    __tablename__ = "memberships"
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class Subject(Base):
    """A discipline (matière) of a school, by its short code (``MATHS``) and name.
    ``bcn_code`` is its six-digit code in the national nomenclature (BCN
    N_MATIERE_ENSEIGNEE, ``061300``) when a source gave it: AAF names subjects by it
    alone, STS-web by both."""

    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("school_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    bcn_code: Mapped[str | None] = mapped_column(String(6))


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
