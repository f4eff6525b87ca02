"""Blobs held by other packages' tables, outside the node tree (issue 7: hand-ins;
issue 5: attachments of textbook activities).

A package that stores bytes through :meth:`providers.Store.hold_blob` (a blob
charged to a space without a node) registers here how to find them again, so that
``davserver fsck`` counts those blobs as referenced and their bytes in their
spaces' usage instead of calling them orphans and drift, and so that the store
keeps a blob a holder still points at when the last node sharing it goes (an
attachment picked from a porte-documents outlives the file). Providers never import
the web layer: the holder registers itself when its package is imported.

A holder that names the columns of its tables holding blob ids (``columns``) is
asked inside the statement that frees blobs (:func:`unheld_conditions`: one
``NOT EXISTS`` a column, so ``Store._release_blobs`` decides and deletes in one
statement, issue 22); one that does not is asked apart (:func:`held_among`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, SQLColumnExpression, literal_column, select
from sqlalchemy.orm import Session

ReferencedIds = Callable[[Session], set[int]]
UsageBySpace = Callable[[Session], dict[int, int]]
HeldAmong = Callable[[Session, set[int]], set[int]]


@dataclass(frozen=True)
class BlobHolder:
    """``referenced(session)``: ids of the ``blobs`` rows the holder points at;
    ``usage(session)``: bytes it charged, by space id; ``holds(session, ids)``: which
    of ``ids`` it points at (a targeted query; None: ``referenced`` filtered);
    ``columns``: the indexed columns of its tables holding blob ids (empty: unknown,
    the holder is asked with ``holds``)."""

    name: str
    referenced: ReferencedIds
    usage: UsageBySpace
    holds: HeldAmong | None = None
    columns: tuple[SQLColumnExpression[int], ...] = ()

    def held_among(self, session: Session, ids: set[int]) -> set[int]:
        """The ids among ``ids`` this holder points at."""
        if self.holds is not None:
            return self.holds(session, ids)
        if self.columns:
            found: set[int] = set()
            for column in self.columns:
                found |= set(session.scalars(select(column).where(column.in_(ids))))
            return found
        return self.referenced(session) & ids


_HOLDERS: dict[str, BlobHolder] = {}
_generation = 0  # moved by every registration: statements built from the registry


def register_blob_holder(name: str, referenced: ReferencedIds, usage: UsageBySpace,
                         holds: HeldAmong | None = None, *,
                         columns: tuple[SQLColumnExpression[int], ...] = ()) -> None:
    """Declare a holder of blobs outside the node tree (registering ``name`` again
    replaces it: safe on re-import). ``columns`` names the columns of its tables
    that hold ``blobs.id`` values (each indexed: freeing a blob looks it up there);
    give them, and the statement that frees blobs checks this holder itself. Else
    ``holds`` answers "which of these blob ids do you point at" with one query; give
    one of the two, or every node delete that frees a blob scans the holder's whole
    table."""
    global _generation
    _HOLDERS[name] = BlobHolder(name, referenced, usage, holds, tuple(columns))
    _generation += 1


def generation() -> int:
    """A number that changes whenever a holder is registered (a cache key for
    statements built from :func:`unheld_conditions`)."""
    return _generation


def blob_holders() -> list[BlobHolder]:
    """The registered holders, by name."""
    return [_HOLDERS[k] for k in sorted(_HOLDERS)]


def held_among(session: Session, ids: set[int], *, undeclared_only: bool = False
               ) -> set[int]:
    """The blob ids among ``ids`` some registered holder points at (one query per
    holder; none when ``ids`` is empty). With ``undeclared_only``, only the holders
    without ``columns`` are asked: :func:`unheld_conditions` covers the others."""
    found: set[int] = set()
    for holder in blob_holders():
        if not ids - found:
            break
        if undeclared_only and holder.columns:
            continue
        found |= holder.held_among(session, ids - found)
    return found


def unheld_conditions(blob_id: SQLColumnExpression[int]) -> list[ColumnElement[bool]]:
    """For a statement over ``blobs`` (``blob_id``: its id column): one ``NOT EXISTS``
    per column of every holder that declared its ``columns``, true when no row of
    theirs points at that blob. Correlated on ``blob_id``'s table; each is one index
    look-up."""
    return [~select(literal_column("1")).where(column == blob_id).exists()
            for holder in blob_holders() for column in holder.columns]
