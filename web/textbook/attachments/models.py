"""Attachments of textbook activities (issue 5, "Teacher's textbook": "attachments
(uploaded, or picked from the teacher's porte-documents: the blob is shared, not
copied, and counts once against the teacher's quota)").

``activity_attachments``: one row per file joined to an activity. Its bytes are a
blob of the node store (``blob_id`` → ``blobs``):

* uploaded: a new blob charged to ``space_id``, the uploading teacher's
  porte-documents, through :meth:`providers.Store.hold_blob`;
* picked from the porte-documents: the file's own blob, shared; ``space_id`` is NULL
  because the file's node already counts those bytes (counted once). The blob
  outlives the file if the teacher later deletes it (the store keeps blobs a
  registered holder points at);
* copied with its activity to another lesson: the same blob again, ``space_id`` NULL
  (no new charge).

``size`` is in bytes, ``added_at`` UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import acl
from davserver import clock
from davserver.db import Base
from web.columns import UTCDateTime

from ..models import Activity


class Attachment(Base):
    """A file joined to an activity: ``name`` (NFC, no separator), ``size`` bytes,
    ``content_type`` (sniffed at upload, or the picked file's), its blob, the space
    charged for it (None: charged nowhere, see the module docstring), who added it
    and when (UTC)."""

    __tablename__ = "activity_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey(Activity.id, ondelete="CASCADE"),
                                             index=True)
    name: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"), index=True)
    space_id: Mapped[int | None] = mapped_column(ForeignKey("spaces.id"))
    added_by: Mapped[int] = mapped_column(ForeignKey(acl.User.id))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
