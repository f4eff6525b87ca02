"""Rubric tables: the rubric tree, grants of roles to populations or users, invitations.

A rubric (rubrique, sous-rubrique) is a publication space of one school. Its
shared-folders service, when on, gives it a ``rubric`` space of files (DESIGN.md,
"Storage model"). Access is granted by roles:

* to a **population**: group × profile × subject, any part open (all three open is
  "everyone in the school");
* or to one **user**;
* on the whole rubric, or on one **folder** of its space (``folder_node_id``), in
  addition to the rubric's grants.

A sub-rubric inherits its parent's grants unless ``inherit_grants`` is off.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from davserver import clock
from davserver.db import Base

from .models import Profile


class Role(enum.StrEnum):
    """Roles on a rubric, weakest first (DESIGN.md vocabulary).

    ``writer`` is the rédacteur, ``publisher`` the rédacteur avec mise en ligne,
    ``manager`` the gestionnaire."""

    visitor = "visitor"
    writer = "writer"
    publisher = "publisher"
    moderator = "moderator"
    manager = "manager"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {role: i for i, role in enumerate(Role)}


class Service(enum.StrEnum):
    """Services a rubric can switch on. Only the shared folders exist today."""

    shared_folders = "shared-folders"


class InvitationStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"


def _enum(kind: type[enum.Enum], length: int) -> Enum:
    return Enum(kind, native_enum=False, length=length,
                values_callable=lambda e: [m.value for m in e])


class Rubric(Base):
    """A rubric of a school. ``slug`` names it in URLs (``/dav/rubriques/<slug>/``)
    and on the command line; it is unique in the deployment."""

    __tablename__ = "rubrics"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("rubrics.id"))
    inherit_grants: Mapped[bool] = mapped_column(Boolean, default=True)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class Grant(Base):
    """One role given on a rubric (or one folder of its space) to a user or a population.

    Exactly one of ``user_id`` and the population (``group_id``, ``profile``,
    ``subject_id``, each optional) is used: a grant with ``user_id`` set ignores the
    population columns."""

    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_rubric", "rubric_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id"))
    # A folder of the rubric's space (providers' node id; node ids are never reused).
    folder_node_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[Role] = mapped_column(_enum(Role, 16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    profile: Mapped[Profile | None] = mapped_column(_enum(Profile, 16))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class Invitation(Base):
    """An invitation of one user to a role on a rubric. Accepting creates the grant."""

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[Role] = mapped_column(_enum(Role, 16))
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[InvitationStatus] = mapped_column(_enum(InvitationStatus, 16),
                                                     default=InvitationStatus.pending)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RubricPage(Base):
    """A rubric's home page (issue 20, "A rubric's home page"): whether it is shown to
    the rubric's readers, and its encadré, a header box of rich text (HTML the web
    layer cleaned with nh3) with an optional raster image.

    The image is kept here, not in the rubric's space: it is part of the page, not a
    contribution, and counts in no quota; it is small (:data:`acl.rubric_pages.MAX_IMAGE`
    bytes at most) and of a type sniffed from its first bytes (``image_type``).
    ``image_version`` changes with each new image, for the browser's cache."""

    __tablename__ = "rubric_pages"
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id", ondelete="CASCADE"),
                                           primary_key=True)
    home_page: Mapped[bool] = mapped_column(Boolean, default=False)
    box_html: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_type: Mapped[str | None] = mapped_column(String(32))
    image_alt: Mapped[str] = mapped_column(String(300), default="")
    image_version: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
