"""Blobs held by other packages' tables, outside the node tree (issue 7: hand-ins).

A package that stores bytes through :meth:`providers.Store.hold_blob` (a blob
charged to a space without a node) registers here how to find them again, so that
``davserver fsck`` counts those blobs as referenced and their bytes in their
spaces' usage instead of calling them orphans and drift. Providers never import
the web layer: the holder registers itself when its package is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

ReferencedIds = Callable[[Session], set[int]]
UsageBySpace = Callable[[Session], dict[int, int]]


@dataclass(frozen=True)
class BlobHolder:
    """``referenced(session)``: ids of the ``blobs`` rows the holder points at;
    ``usage(session)``: bytes it charged, by space id."""

    name: str
    referenced: ReferencedIds
    usage: UsageBySpace


_HOLDERS: dict[str, BlobHolder] = {}


def register_blob_holder(name: str, referenced: ReferencedIds, usage: UsageBySpace) -> None:
    """Declare a holder of blobs outside the node tree (registering ``name`` again
    replaces it: safe on re-import)."""
    _HOLDERS[name] = BlobHolder(name, referenced, usage)


def blob_holders() -> list[BlobHolder]:
    """The registered holders, by name."""
    return [_HOLDERS[k] for k in sorted(_HOLDERS)]
