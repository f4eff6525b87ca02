"""Tables of the student and parent view (issue 5, "Student and parent view"): the
homework a student ticked as done, and each school's list of homework types.

New tables, no new columns on existing ones (STANDARDS.md: created by
``create_all`` at start-up). Times are UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import acl
from davserver import clock
from davserver.db import Base
from web.columns import UTCDateTime

from .models import Activity


class HomeworkDone(Base):
    """A student's tick on a homework ("fait"): one row per activity and student,
    ``done_at`` when they ticked it (UTC). Unticking deletes the row; deleting the
    activity deletes its ticks."""

    __tablename__ = "homework_done"
    activity_id: Mapped[int] = mapped_column(
        ForeignKey(Activity.id, ondelete="CASCADE"), primary_key=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey(acl.User.id, ondelete="CASCADE"), primary_key=True, index=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class HomeworkType(Base):
    """One homework type of a school ("Exercices", "Devoir maison"…), in the order
    of ``position`` (0 first). A school without rows uses the defaults
    (:data:`web.textbook.models.HOMEWORK_TYPES`); its first change writes them out.
    An activity stores its type as text, so removing a type changes no activity."""

    __tablename__ = "homework_types"
    __table_args__ = (UniqueConstraint("school_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey(acl.School.id, ondelete="CASCADE"),
                                           index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
