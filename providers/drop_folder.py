"""The schools' imports folders, the drop folders of school data (issue 24: "Each school
has an imports folder that only its admins see: ``/dav/imports/<UAI>/``").

One space of kind :data:`KIND` per school (key ``imports:<school id>``), reached as
``/dav/imports/<UAI>/`` by the school's administrators only (:func:`acl.manages_imports`
of their profile in that school; anyone else gets 404, as for any space they may not
see). Timetable software and the académie's tools put export files there; what happens
to them is not this package's business: when a file's content is committed there (a
PUT, or a MOVE or COPY into the folder), :data:`file_dropped` is sent, and the web
layer's receiver (``web/imports/drop.py``) imports it in the background and writes
its report beside it through :func:`write_beside`.

Only files at the top of the folder are announced: sub-folders are the admins' own
storage (an ``archives/`` of past exports, say). Names the receiver skips (reports,
hidden and temporary files of clients) are its rule, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass

from blinker import Namespace
from sqlalchemy import select

from .models import Node, Space
from .store import SpaceInfo, Stamp, Store

IMPORTS = "imports"
"""The segment of ``/dav/`` under which each school's folder is listed by UAI."""
KIND = "imports"
"""``spaces.kind`` of a school's imports folder."""

file_dropped = Namespace().signal("file-dropped")
"""Sent with the :class:`Store` as sender and ``school_id``, ``space_id``, ``path`` (the
space-relative path, ``/name``), ``node_id`` and ``author_id`` (who put the file), after
the transaction that stored the file committed. Receivers must not block the request:
they queue work."""


def drop_space(store: Store, school_id: int) -> SpaceInfo:
    """The imports space of a school (created on first use)."""
    return store.ensure_space(KIND, school_id=school_id)


def school_of_space(store: Store, space_id: int) -> int | None:
    """The school whose imports space ``space_id`` is (None for any other space)."""
    with store.db.transaction(write=False) as s:
        key = s.scalar(select(Space.key).where(Space.id == space_id, Space.kind == KIND))
    if key is None:
        return None
    _kind, _, school = key.partition(":")
    return int(school) if school.isdecimal() else None


def announce(store: Store, space: SpaceInfo, path: str, node_id: int | None,
             author_id: int | None) -> None:
    """Send :data:`file_dropped` for a file just stored at ``path`` of ``space`` when
    ``space`` is an imports folder and the file sits at its top; nothing otherwise."""
    if space.kind != KIND or node_id is None or path.count("/") != 1:
        return
    school_id = school_of_space(store, space.id)
    if school_id is None:
        return
    file_dropped.send(store, school_id=school_id, space_id=space.id, path=path,
                      node_id=node_id, author_id=author_id)


def write_beside(store: Store, space_id: int, path: str, data: bytes) -> None:
    """Store ``data`` at ``path`` of an imports space (a report beside its export),
    replacing what is there, as nobody in particular (the server). Raises
    ``InsufficientStorage`` when the space is full, ``Conflict`` when the folder
    above is gone; nothing is left half-written."""
    store.write_bytes(space_id, path, data, Stamp(None))


@dataclass(frozen=True)
class Waiting:
    """A file at the top of a school's imports folder whose report (``<name>`` +
    ``report_suffix``) is missing or older than it: put there while no server ran, or
    when one stopped before importing it."""

    school_id: int
    space_id: int
    path: str
    node_id: int
    author_id: int | None


def waiting_files(store: Store, report_suffix: str) -> list[Waiting]:
    """The files of every school's imports folder without an up-to-date report (see
    :class:`Waiting`), non-empty ones only, in path order. One query."""
    with store.db.transaction(write=False) as s:
        rows = s.execute(select(Space.key, Node.space_id, Node.path, Node.name, Node.id,
                                Node.author_id, Node.modified, Node.size)
                         .join(Space, Space.id == Node.space_id)
                         .where(Space.kind == KIND, Node.is_collection.is_(False),
                                Node.parent_id.is_not(None))).all()
    top = [r for r in rows if r.path.count("/") == 1]
    reports = {(r.space_id, r.path): r.modified for r in top}
    found = []
    for r in sorted(top, key=lambda r: (r.space_id, r.path)):
        reported = reports.get((r.space_id, r.path + report_suffix))
        school = r.key.partition(":")[2]
        if r.size > 0 and (reported is None or reported < r.modified) and school.isdecimal():
            found.append(Waiting(int(school), r.space_id, r.path, r.id, r.author_id))
    return found
