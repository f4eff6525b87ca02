"""The file manager in the browser: every space the user sees, folder by folder
(issue 8, "File manager pages"). Pages in :mod:`.pages`, JSON endpoints (uploads,
folder picker) in :mod:`.api`; every action goes through the store, the quota
ledger and ``acl`` as WebDAV does (:mod:`.actions`, :mod:`.uploads`,
``providers.operations``).
"""

from __future__ import annotations

from flask import Flask

from davserver.config import Config
from providers import SqlLockStorage

from . import api, lock_notice, pages, present, quota_notice
from .actions import check_name
from .downloads import attachment, held_download, protect
from .places import SETTINGS_KEY, Refusal, Settings
from .uploads import stream_to_blob
from .zips import ZipMember, stream_zip

__all__ = ["Refusal", "ZipMember", "attachment", "check_name", "held_download",
           "init_documents", "protect", "stream_to_blob", "stream_zip"]


def init_documents(app: Flask, config: Config, locks: SqlLockStorage | None) -> None:
    """Register the file manager's blueprints with its settings (``web`` section of
    the configuration) and the DAV lock storage (None: locks are not looked at)."""
    quota_notice.set_warning_percent(config.web.quota_warning_percent)
    lock_notice.set_school_zone(present.zone_of_school)
    app.extensions[SETTINGS_KEY] = Settings(
        locks=locks, quota_warning_percent=config.web.quota_warning_percent,
        zip_max_files=config.web.zip_max_files, block_size=config.server.block_size)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
