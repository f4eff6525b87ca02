"""Recently changed files across several spaces, for the home page's blocks (issue 20,
"Finding your way": « Fichiers récents », « Rubriques avec du nouveau »).

Each function costs a fixed number of queries whatever the number of spaces and files
(two: the files, then the folders above them), so a page that shows them stays
bounded. Neither decides who may read what: :func:`recent_files` is for spaces the
caller owns, and :func:`rubric_files` returns each file's chain of
:class:`acl.NodeRef` for the caller to check with ``acl.allowed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.orm import Session

from acl import NodeRef

from .folder_etags import ancestors
from .models import Node, Space


@dataclass(frozen=True)
class RecentFile:
    """A file of a space: ``space_id``, ``rubric_id`` (None for a personal space),
    ``name`` and ``written_path`` as written (``/Cours/fiche.pdf``), ``size`` in bytes,
    ``modified`` UTC epoch seconds, ``author_id`` (None when unknown), and ``chain``:
    the :class:`acl.NodeRef` of each node from the space root down to the file (empty
    from :func:`recent_files`)."""

    space_id: int
    rubric_id: int | None
    name: str
    written_path: str
    size: int
    modified: float
    author_id: int | None
    chain: tuple[NodeRef, ...] = ()


def _files(s: Session, where: Sequence[ColumnElement[bool]], limit: int) -> list[Row[Any]]:
    return list(s.execute(
        select(Node.id, Node.space_id, Space.rubric_id, Node.path, Node.name,
               Node.written_name, Node.written_path, Node.size, Node.modified,
               Node.author_id)
        .join(Space, Space.id == Node.space_id)
        .where(Node.is_collection.is_(False), Node.path.like("/%"), *where)
        .order_by(Node.modified.desc(), Node.id.desc()).limit(limit)))


def recent_files(s: Session, space_ids: Iterable[int], *, limit: int) -> list[RecentFile]:
    """The ``limit`` most recently modified files of ``space_ids`` (not in the trash),
    newest first, pending ones included (a personal space has no publishing). One
    query."""
    ids = sorted(set(space_ids))
    if not ids:
        return []
    return [RecentFile(f.space_id, f.rubric_id, f.written_name or f.name,
                       f.written_path or f.path, f.size, f.modified, f.author_id)
            for f in _files(s, [Node.space_id.in_(ids)], limit)]


def rubric_files(s: Session, rubric_ids: Iterable[int], *, since: float | None = None,
                 scan: int = 200) -> list[RecentFile]:
    """The ``scan`` most recently modified *published* files of the shared folders of
    ``rubric_ids`` (not in the trash; modified at or after ``since``, UTC epoch
    seconds, when given), newest first, each with its chain. Two queries. A file
    whose folders moved meanwhile is left out (its new place is listed next time)."""
    ids = sorted(set(rubric_ids))
    if not ids:
        return []
    # The spaces as a sub-query on nodes.space_id, not a filter on the joined spaces:
    # then both databases walk ix_nodes_space_modified newest first, instead of reading
    # every file of the server and sorting them (88 ms at 200,000 files, 4 ms now).
    rubric_spaces = select(Space.id).where(Space.kind == "rubric", Space.rubric_id.in_(ids))
    where: list[ColumnElement[bool]] = [Node.space_id.in_(rubric_spaces),
                                        Node.published.is_(True)]
    if since is not None:
        where.append(Node.modified >= since)
    files = _files(s, where, scan)
    wanted = {p for f in files for p in ancestors(f.path)}
    spaces = {f.space_id for f in files}
    folders = {(row.space_id, row.path): NodeRef(row.id, row.author_id, row.published)
               for row in s.execute(
                   select(Node.id, Node.space_id, Node.path, Node.author_id, Node.published)
                   .where(Node.space_id.in_(spaces), Node.path.in_(wanted)))} if files else {}
    found = []
    for f in files:
        above = [(f.space_id, p) for p in ancestors(f.path)]
        if not all(key in folders for key in above):
            continue
        found.append(RecentFile(
            f.space_id, f.rubric_id, f.written_name or f.name, f.written_path or f.path,
            f.size, f.modified, f.author_id,
            (*(folders[key] for key in above), NodeRef(f.id, f.author_id, True))))
    return found
