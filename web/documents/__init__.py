"""The file manager in the browser: every space the user sees, folder by folder
(issue 8, "File manager pages"). Pages in :mod:`.pages`, JSON endpoints (uploads,
folder picker) in :mod:`.api`; every action goes through the store, the quota
ledger and ``acl`` as WebDAV does (:mod:`.actions`, :mod:`.uploads`,
``providers.operations``).
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy.orm import Session

from davserver.config import Config
from providers import Handoff, SqlLockStorage

from . import api, lock_notice, pages, quota_notice, rubric_news  # noqa: F401 (receivers)
from .actions import check_name
from .downloads import attachment, held_download, protect
from .places import SETTINGS_KEY, Refusal, Settings
from .uploads import stream_to_blob
from .zips import ZipMember, stream_zip

__all__ = ["Refusal", "ZipMember", "attachment", "check_name", "held_download",
           "init_documents", "protect", "stream_to_blob", "stream_zip"]


def init_documents(app: Flask, config: Config, locks: SqlLockStorage | None,
                   school_zone: Callable[[Session, int | None], ZoneInfo],
                   handoff: Handoff | None = None) -> None:
    """Register the file manager's blueprints with its settings (``web`` section of
    the configuration), the DAV lock storage (None: locks are not looked at) and the
    lookup of a school's time zone (``school_zone(session, school_id)``, for the
    times shown; ``web.textbook.school_zone``); ``handoff`` hands large downloads to
    nginx (None: never)."""
    quota_notice.set_warning_percent(config.web.quota_warning_percent)
    lock_notice.set_school_zone(school_zone)
    app.extensions[SETTINGS_KEY] = Settings(
        locks=locks, quota_warning_percent=config.web.quota_warning_percent,
        zip_max_files=config.web.zip_max_files, block_size=config.server.block_size,
        school_zone=school_zone, handoff=handoff)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
