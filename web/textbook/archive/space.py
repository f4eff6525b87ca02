"""The school's archive space: where the year-end PDFs of the cahier de textes land
(issue 7, "Year-end archive": "into a read-only archive folder of the school").

One space of kind ``archive`` per school (``/dav/archives/`` over WebDAV), read by
the head and the school's administrators (``acl.ARCHIVE_PROFILES``) and written by
nobody over WebDAV: only ``davserver archive textbooks`` and the head's button put
files there, through this module. A school year is one folder, ``/<label>/``,
written once and never replaced.

The PDFs are written into a hidden working folder (``/.<label>.en-cours``) that is
renamed to ``/<label>`` at the end (a MOVE of rows, no byte copied), so the year's
folder appears whole or not at all. A run that fails removes its working folder; a
working folder older than :data:`STALE_AFTER` seconds (a process killed mid-run) is
removed by the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy.orm import Session

from davserver import clock
from davserver.errors import Conflict
from providers import SpaceInfo, Stamp, Store, trash

from ..models import SchoolYear
from ..services import zone
from .services import school_pdfs

ARCHIVE_KIND = "archive"
STALE_AFTER = 3600.0
"""Seconds after which an unfinished working folder is taken for a dead run's."""


def archive_space(store: Store, school_id: int) -> SpaceInfo:
    """The school's archive space (created on first use)."""
    return store.ensure_space(ARCHIVE_KIND, school_id=school_id)


def archived_years(store: Store, school_id: int) -> list[str]:
    """Labels of the school years already archived, in name order."""
    space = archive_space(store, school_id)
    root = store.resolve(space.id, "")
    if root is None:
        return []
    return sorted(n.name for n in store.children(root)
                  if n.is_collection and not n.name.startswith("."))


def _drop(store: Store, space_id: int, path: str) -> None:
    """Remove a working folder for good (through the trash, purged at once)."""
    node = store.resolve(space_id, path)
    if node is not None:
        entry = store.delete(node)
        trash.purge(store, [entry.id])


def year_ended(year: SchoolYear) -> bool:
    """Whether ``year`` is over in its school's time zone (its last day has passed)."""
    return clock.today(zone(year.time_zone)) > year.end


def archive_into_space(store: Store, session: Session, school_id: int, year: SchoolYear,
                       *, by: int | None = None, before_end: bool = False,
                       progress: Callable[[str], None] = lambda name: None) -> Iterator[str]:
    """Write one PDF per service of ``year`` into the school's archive space under
    ``/<label>/``, yielding each file's name as it is stored (``progress`` as in
    :func:`web.textbook.archive.services.school_pdfs`). ``by``: the user running it, recorded
    as the files' author.

    Raises ``Conflict`` (409) when the year is archived already, or while another run
    writes it, or when the year is not over and ``before_end`` is not given (an
    archive is written once: one made in March would stand for the whole year);
    ``InsufficientStorage`` (507) over ``quotas.archive``. Either way, and on any
    other failure, nothing of this run is left."""
    if not before_end and not year_ended(year):
        raise Conflict(f"L'année {year.label} n'est pas terminée (dernier jour : "
                       f"{year.end:%d/%m/%Y}) : une archive est écrite une fois et n'est "
                       "jamais remplacée ; confirmez l'archivage avant la fin de l'année.")
    space = archive_space(store, school_id)
    final, working = f"/{year.label}", f"/.{year.label}.en-cours"
    if store.resolve(space.id, final) is not None:
        raise Conflict(f"the textbooks of {year.label} are archived already: an archive "
                       "is written once, never replaced")
    stale = store.resolve(space.id, working)
    if stale is not None:
        if clock.time() - stale.modified < STALE_AFTER:
            raise Conflict(f"an archive of {year.label} is being written: wait for it")
        _drop(store, space.id, working)
    stamp = Stamp(by)
    store.make_collection(space.id, working, stamp=stamp)
    try:
        for name, pdf in school_pdfs(session, school_id, year, progress):
            reserved = store.reserve(space.id, len(pdf))
            writer = store.new_writer(reserved)
            try:
                writer.write(pdf)
                blob = writer.finish()
            except BaseException:
                writer.abort()
                store.release(space.id, reserved)
                raise
            store.commit_write(space.id, f"{working}/{name}", blob, reserved=reserved,
                               stamp=stamp)
            store.set_modified(store.resolve(space.id, working), clock.time())  # type: ignore[arg-type]
            yield name
        folder = store.resolve(space.id, working)
        assert folder is not None
        store.move(folder, space.id, final)
    except BaseException:
        _drop(store, space.id, working)
        raise
