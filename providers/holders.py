"""Blobs held by other packages' tables, outside the node tree (issue 7: hand-ins;
issue 5: attachments of textbook activities).

A package that stores bytes through :meth:`providers.Store.hold_blob` (a blob
charged to a space without a node) registers here how to find them again, so that
``davserver fsck`` counts those blobs as referenced and their bytes in their
spaces' usage instead of calling them orphans and drift, and so that the store
keeps a blob a holder still points at when the last node sharing it goes
(:func:`held_among`, asked by ``Store._release_blobs``: an attachment picked from a
porte-documents outlives the file). Providers never import the web layer: the
holder registers itself when its package is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

ReferencedIds = Callable[[Session], set[int]]
UsageBySpace = Callable[[Session], dict[int, int]]
HeldAmong = Callable[[Session, set[int]], set[int]]


@dataclass(frozen=True)
class BlobHolder:
    """``referenced(session)``: ids of the ``blobs`` rows the holder points at;
    ``usage(session)``: bytes it charged, by space id; ``holds(session, ids)``: which
    of ``ids`` it points at (a targeted query; None: ``referenced`` filtered)."""

    name: str
    referenced: ReferencedIds
    usage: UsageBySpace
    holds: HeldAmong | None = None

    def held_among(self, session: Session, ids: set[int]) -> set[int]:
        """The ids among ``ids`` this holder points at."""
        if self.holds is not None:
            return self.holds(session, ids)
        return self.referenced(session) & ids


_HOLDERS: dict[str, BlobHolder] = {}


def register_blob_holder(name: str, referenced: ReferencedIds, usage: UsageBySpace,
                         holds: HeldAmong | None = None) -> None:
    """Declare a holder of blobs outside the node tree (registering ``name`` again
    replaces it: safe on re-import). ``holds`` answers "which of these blob ids do
    you point at" with one query; give it, or every node delete that frees a blob
    scans the holder's whole table."""
    _HOLDERS[name] = BlobHolder(name, referenced, usage, holds)


def blob_holders() -> list[BlobHolder]:
    """The registered holders, by name."""
    return [_HOLDERS[k] for k in sorted(_HOLDERS)]


def held_among(session: Session, ids: set[int]) -> set[int]:
    """The blob ids among ``ids`` some registered holder points at (one query per
    holder; none when ``ids`` is empty)."""
    found: set[int] = set()
    for holder in blob_holders():
        if not ids - found:
            break
        found |= holder.held_among(session, ids - found)
    return found
