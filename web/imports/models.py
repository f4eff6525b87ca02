"""The imports' history (issue 24, "An admin page lists past imports with their
reports"): one :class:`ImportRun` per upload on the web page or file dropped in a
school's imports folder.

A run from the web page goes ``checking`` (the dry run) → ``checked`` (its report is
``preview``) → ``applying`` → ``done`` (``report``), or ``discarded`` when the admin
does not apply it, or ``failed``. A run from the imports folder goes ``applying`` →
``done`` or ``failed`` (no dry run: the file was put there to be imported).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from davserver.db import Base
from web.columns import UTCDateTime


class RunState(enum.StrEnum):
    """Where a run is (module docstring)."""

    checking = "checking"
    checked = "checked"
    applying = "applying"
    done = "done"
    failed = "failed"
    discarded = "discarded"


RUNNING = (RunState.checking, RunState.applying)


class RunSource(enum.StrEnum):
    """Where the files came from: the web page, the imports folder over WebDAV, or a
    ``davserver import`` command."""

    web = "web"
    dav = "dav"
    cli = "cli"


class ImportRun(Base):
    """One import of one or more files into a school. ``files``: the files' names;
    ``options``: what the admin chose (``partial``, ``week_a``); ``preview``: the dry
    run's report, ``report``: the applied one (JSON objects of
    :func:`web.imports.runs.run_files`); ``error``: why a run failed as a whole.
    ``place``: the imports folder path of a dropped file (``/imports/<UAI>/name``).
    Times are UTC."""

    __tablename__ = "import_runs"
    __table_args__ = (Index("ix_import_runs_school", "school_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    place: Mapped[str | None] = mapped_column(String(1000))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    preview: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
