"""Consistency check of the metadata against the blob store (``davserver fsck``).

The node table is a cache one can check (STYLE.md habit 14). Reported:

* orphan blobs: files in the blob store with no ``blobs`` row (a crash between
  writing a blob and committing it), and ``blobs`` rows no node references;
* dangling references: ``blobs`` rows whose file is missing (content lost);
* usage drift: a space whose ledger differs from the sum of its file sizes;
* unfinished uploads: temporary files of writes that never completed.

``repair=True`` removes orphans and unfinished uploads and resets drifted usage.
Dangling references are reported, never "repaired": the content is gone and only
a backup can bring it back; the nodes stay so the loss is visible to their owner.
Run ``--repair`` while the server is stopped, as uploads in flight look unfinished.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, select

import quotas

from .models import Blob, Node, Space
from .store import Store


@dataclass
class FsckReport:
    orphan_files: list[str] = field(default_factory=list)
    unreferenced_rows: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    usage_drift: list[tuple[int, int, int]] = field(default_factory=list)  # space, ledger, real
    unfinished_uploads: int = 0
    repaired: bool = False

    @property
    def clean(self) -> bool:
        return not (self.orphan_files or self.unreferenced_rows or self.dangling
                    or self.usage_drift or self.unfinished_uploads)

    def lines(self) -> list[str]:
        """Human-readable summary, one finding a line."""
        out = [f"orphan blob file: {k}" for k in self.orphan_files]
        out += [f"blob row referenced by no file: {k}" for k in self.unreferenced_rows]
        out += [f"missing blob (content lost): {k}" for k in self.dangling]
        out += [f"usage drift in space {s}: ledger {a} bytes, files {b} bytes"
                for s, a, b in self.usage_drift]
        if self.unfinished_uploads:
            out.append(f"unfinished uploads: {self.unfinished_uploads}")
        return out


def fsck(store: Store, *, repair: bool = False) -> FsckReport:
    """Compare database and blob store; with ``repair``, fix what can be fixed."""
    report = FsckReport(repaired=repair)
    stored = set(store.blobs.keys())
    with store.db.transaction(write=repair) as s:
        rows = dict(s.execute(select(Blob.key, Blob.id)).all())
        referenced = set(s.scalars(select(Node.blob_id).where(Node.blob_id.is_not(None))))
        report.orphan_files = sorted(stored - set(rows))
        report.dangling = sorted(k for k in rows if k not in stored)
        report.unreferenced_rows = sorted(k for k, i in rows.items() if i not in referenced)
        sums = dict(s.execute(
            select(Node.space_id, func.coalesce(func.sum(Node.size), 0)).group_by(Node.space_id)
        ).all())
        for space_id in s.scalars(select(Space.id)):
            ledger = quotas.usage(s, space_id).used
            real = int(sums.get(space_id, 0))
            if ledger != real:
                report.usage_drift.append((space_id, ledger, real))
                if repair:
                    quotas.set_used(s, space_id, real)
        if repair and report.unreferenced_rows:
            s.execute(delete(Blob).where(Blob.key.in_(report.unreferenced_rows)))
    if repair:
        for key in report.orphan_files + report.unreferenced_rows:
            store.blobs.delete(key)
        report.unfinished_uploads = store.blobs.cleanup_incomplete()
    else:
        report.unfinished_uploads = store.blobs.count_incomplete()
    return report
