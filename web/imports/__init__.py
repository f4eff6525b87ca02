"""School data in from the web and over WebDAV (issue 24): the imports page
(``/imports/``, :mod:`.pages`), the drop folders (``/dav/imports/<UAI>/``, :mod:`.drop`),
one background worker per process (:mod:`.services`), the runs' history
(:mod:`.models`), and the code every way in shares (:mod:`.runs`: which kind each file
is, and the people, timetable and holiday imports in their order).
"""

from __future__ import annotations

from flask import Flask

from davserver.config import Config
from davserver.db import Database
from providers import Store, file_dropped

from .drop import DropFolder
from .models import ImportRun, RunSource, RunState
from .pages import EXTENSION_KEY, bp
from .runs import RunOptions, classify, run_files, summary
from .services import Imports, record_command_run, staging_dir


def init_imports(app: Flask, config: Config, db: Database, store: Store) -> Imports:
    """Give ``app`` this process's :class:`Imports` (staging under
    ``<data_dir>/imports``) and connect the drop folder of ``store``: what is put in a
    school's imports folder through this process is imported by its worker."""
    imports = Imports(db, store, staging_dir(config.data_dir), config.imports.drop_delay)
    drop = DropFolder(imports, app)
    app.extensions[EXTENSION_KEY] = imports
    app.extensions[EXTENSION_KEY + ".drop"] = drop  # keeps the (weak) receiver alive
    file_dropped.connect(drop.received, sender=store)
    app.register_blueprint(bp)
    return imports


def resume_drops(app: Flask) -> int:
    """Queue the files left in the imports folders without a report (the start of
    ``davserver serve``: see :meth:`DropFolder.resume`); returns how many."""
    drop: DropFolder = app.extensions[EXTENSION_KEY + ".drop"]
    return drop.resume()


__all__ = ["DropFolder", "ImportRun", "Imports", "RunOptions", "RunSource", "RunState",
           "bp", "classify", "init_imports", "record_command_run", "resume_drops",
           "run_files", "summary"]
