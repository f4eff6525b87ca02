"""Tables of online submission ("remise en ligne", issue 7).

* ``handins``: one per (homework, student), with the first and last submission
  times (UTC) and whether it came after the due lesson's start (``late``);
* ``handin_files``: the files of a hand-in;
* ``handin_corrections``: corrected files a teacher returns to one student;
* ``handin_closures``: homework whose teacher closed the hand-in (a small table
  rather than a column on ``activities``: STANDARDS, "prefer new tables").

A file's bytes are a blob of the node store (``blob_id`` → ``blobs``), charged to
``space_id`` (the student's porte-documents for a hand-in, the teacher's for a
correction) through :meth:`providers.Store.hold_blob`; ``size`` is in bytes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import acl
from davserver import clock
from davserver.db import Base
from web.columns import UTCDateTime

from ..models import Activity


class Handin(Base):
    """A student's hand-in of a homework (``submitted``: first file, ``updated``: last
    change, both UTC; ``late``: the last file came after the due lesson began)."""

    __tablename__ = "handins"
    __table_args__ = (UniqueConstraint("activity_id", "student_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey(Activity.id), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey(acl.User.id))
    submitted: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    late: Mapped[bool] = mapped_column(default=False)


class HandinFile(Base):
    """One file of a hand-in: ``name`` (NFC, no separator), ``size`` bytes, its
    sniffed ``content_type``, its blob and the space charged for it."""

    __tablename__ = "handin_files"
    __table_args__ = (UniqueConstraint("handin_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    handin_id: Mapped[int] = mapped_column(ForeignKey(Handin.id), index=True)
    name: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"), index=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"))
    uploaded: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class HandinCorrection(Base):
    """A corrected file returned by a teacher (``returned_by``) to one student for one
    homework, charged to the teacher's porte-documents."""

    __tablename__ = "handin_corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey(Activity.id), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey(acl.User.id))
    name: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"), index=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"))
    returned_by: Mapped[int] = mapped_column(ForeignKey(acl.User.id))
    returned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class HandinClosure(Base):
    """A homework whose hand-in a teacher closed (no row: open)."""

    __tablename__ = "handin_closures"
    activity_id: Mapped[int] = mapped_column(ForeignKey(Activity.id), primary_key=True)
    closed_by: Mapped[int] = mapped_column(Integer, ForeignKey(acl.User.id))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
