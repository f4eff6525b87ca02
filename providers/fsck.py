"""Consistency check of the metadata against the blob store (``davserver fsck``).

The node table is a cache one can check (STYLE.md habit 14). Reported:

* orphan blobs: files in the blob store with no ``blobs`` row (a crash between
  writing a blob and committing it), and ``blobs`` rows no node references (nor
  any registered holder, :mod:`providers.holders`: a student's hand-in);
* dangling references: ``blobs`` rows whose file is missing (content lost);
* damaged blobs: files whose size on disk differs from the size their ``blobs`` row
  recorded (only their size is read, never their content: a file cut short or
  overwritten; GET answers them with an error, :mod:`providers.damage`);
* property sizes: a node whose ``props_bytes`` differs from its dead properties'
  size (:mod:`providers.properties`);
* usage drift: a space whose ledger differs from the sum of its file sizes and dead
  properties' sizes (both count in the quota); a space
  with no ledger row shows ``-1`` (its free space is unknown, so it refuses every
  write: quotas fail closed) and gets a new row, with the default limit, on repair;
* reservations: bytes held for uploads that are gone (their lease expired, or their
  process on this host ended: ``quotas.leases``), or counted without a lease;
* unfinished uploads: temporary files of writes that never completed;
* foreign files: anything in the blob store that is not a blob (a ``.DS_Store``).

``repair=True`` removes orphans and unfinished uploads, resets drifted usage and
gives back stale reservations.
Dangling references and damaged blobs are reported, never "repaired": the content is
gone and only a backup can bring it back; the nodes and the files stay as they are so
the loss is visible to their owner and a human restores the files.
Run ``--repair`` while the server is stopped, as uploads in flight look unfinished.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Text, delete, func, select, type_coerce, update
from sqlalchemy.orm import Session

import acl
import quotas

from .holders import blob_holders
from .models import Blob, Node, Space
from .properties import total_bytes
from .store import Store, _parse_props, charged_bytes


@dataclass
class FsckReport:
    orphan_files: list[str] = field(default_factory=list)
    unreferenced_rows: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    wrong_size: list[tuple[str, int, int]] = field(default_factory=list)  # key, recorded, disk
    props_drift: list[tuple[int, int, int]] = field(default_factory=list)  # node, recorded, real
    usage_drift: list[tuple[int, int, int]] = field(default_factory=list)  # space, ledger, real
    stale_reservations: list[tuple[int, int]] = field(default_factory=list)  # space, bytes
    foreign_files: list[str] = field(default_factory=list)
    unfinished_uploads: int = 0
    repaired: bool = False

    @property
    def clean(self) -> bool:
        return not (self.orphan_files or self.unreferenced_rows or self.needs_restore
                    or self.props_drift or self.usage_drift or self.stale_reservations
                    or self.foreign_files or self.unfinished_uploads)

    @property
    def needs_restore(self) -> bool:
        """Blob files lost or damaged: only a backup helps (``--repair`` leaves them)."""
        return bool(self.dangling or self.wrong_size)

    def lines(self) -> list[str]:
        """Human-readable summary, one finding a line."""
        out = [f"orphan blob file: {k}" for k in self.orphan_files]
        out += [f"blob row referenced by no file: {k}" for k in self.unreferenced_rows]
        out += [f"missing blob (content lost): {k}" for k in self.dangling]
        out += [f"blob of the wrong size (content damaged): {k}: {disk} bytes on disk, "
                f"{recorded} recorded" for k, recorded, disk in self.wrong_size]
        out += [f"dead properties of node {n}: {a} bytes recorded, {b} bytes stored"
                for n, a, b in self.props_drift]
        out += [f"usage drift in space {s}: ledger {a} bytes, files and properties {b} bytes"
                for s, a, b in self.usage_drift]
        out += [f"bytes reserved for uploads that are gone in space {s}: {n}"
                for s, n in self.stale_reservations]
        out += [f"not a blob (foreign file in the blob store): {n}" for n in self.foreign_files]
        if self.unfinished_uploads:
            out.append(f"unfinished uploads: {self.unfinished_uploads}")
        return out


def _references(s: Session) -> tuple[set[int], dict[int, int]]:
    """Ids of the blob rows something points at, and the bytes of files by space:
    the nodes', plus those of every registered holder (:mod:`providers.holders`)."""
    referenced = {i for i in s.scalars(select(Node.blob_id).where(Node.blob_id.is_not(None)))
                  if i is not None}
    sums = {int(k): int(v) for k, v in s.execute(
        select(Node.space_id, func.coalesce(func.sum(charged_bytes()), 0))
        .group_by(Node.space_id))}
    for holder in blob_holders():  # blobs charged to a space without a node
        referenced |= holder.referenced(s)
        for space_id, nbytes in holder.usage(s).items():
            sums[space_id] = sums.get(space_id, 0) + nbytes
    return referenced, sums


def _check_property_sizes(s: Session, report: FsckReport, repair: bool) -> dict[int, int]:
    """Each node's ``props_bytes`` against its dead properties, read a thousand rows
    at a time; repair records the real size. Returns, when not repairing, by space, the
    bytes the recorded sizes miss (the usage check counts the real sizes either way)."""
    missed: dict[int, int] = {}
    rows = s.execute(select(Node.id, Node.space_id, Node.props_bytes,
                            type_coerce(Node.dead_props, Text))
                     .execution_options(yield_per=1000))
    for node_id, space_id, recorded, stored in rows:
        real = total_bytes(_parse_props(stored))
        if real != (recorded or 0):
            report.props_drift.append((node_id, recorded or 0, real))
            missed[space_id] = missed.get(space_id, 0) + real - (recorded or 0)
    if repair:
        for node_id, _recorded, real in report.props_drift:
            s.execute(update(Node).where(Node.id == node_id).values(props_bytes=real))
        return {}
    return missed


def _check_reservations(s: Session, report: FsckReport, repair: bool,
                        ledger: dict[int, quotas.Usage]) -> None:
    """Reservations of uploads that are gone (expired leases, or this host's ended
    processes', :mod:`quotas.leases`), and ledgers whose reserved bytes differ from
    their leases' sum; repair gives them back. Live uploads' leases are left alone,
    so this is safe while servers run."""
    leases = quotas.leases.held(s)
    gone = quotas.leases.gone(s)
    for space_id, figures in ledger.items():
        live = leases.get(space_id, 0) - gone.get(space_id, 0)
        if figures.reserved != live:
            report.stale_reservations.append((space_id, figures.reserved - live))
    if repair:
        quotas.reclaim(s)
        for space_id, _stale in report.stale_reservations:
            live = leases.get(space_id, 0) - gone.get(space_id, 0)
            quotas.leases.set_reserved(s, space_id, live)


def fsck(store: Store, *, repair: bool = False) -> FsckReport:
    """Compare database and blob store (file sizes by ``stat``, never the content);
    with ``repair``, fix what can be fixed: lost and damaged blob files stay as they
    are (see the module docstring)."""
    report = FsckReport(repaired=repair)
    on_disk = store.blobs.sizes()
    stored = set(on_disk)
    report.foreign_files = store.blobs.foreign_files()
    with store.db.transaction(write=repair) as s:
        rows: dict[str, int] = {}  # key → row id
        written: dict[str, int] = {}  # key → size in bytes when written
        for key, blob_id, size in s.execute(select(Blob.key, Blob.id, Blob.size)):
            rows[key], written[key] = blob_id, size
        missed = _check_property_sizes(s, report, repair)
        referenced, sums = _references(s)
        for space_id, nbytes in missed.items():
            sums[space_id] = sums.get(space_id, 0) + nbytes
        report.orphan_files = sorted(stored - set(rows))
        report.dangling = sorted(k for k in rows if k not in stored)
        report.wrong_size = sorted((k, written[k], on_disk[k]) for k in rows
                                   if k in on_disk and on_disk[k] != written[k])
        report.unreferenced_rows = sorted(k for k, i in rows.items() if i not in referenced)
        ledger = quotas.all_usage(s, store.policy)
        for space_id, kind, owner_id in s.execute(select(Space.id, Space.kind, Space.owner_id)):
            figures = ledger.get(space_id)
            recorded = figures.used if figures else -1
            real = int(sums.get(space_id, 0))
            if recorded != real:
                report.usage_drift.append((space_id, recorded, real))
                if repair:
                    if figures is None:
                        profile = acl.profile_of(s, owner_id) if owner_id else None
                        quotas.open_account(s, space_id, kind, profile)
                    quotas.set_used(s, space_id, real)
        _check_reservations(s, report, repair, ledger)
        if repair and report.unreferenced_rows:
            s.execute(delete(Blob).where(Blob.key.in_(report.unreferenced_rows)))
    if repair:
        for key in report.orphan_files + report.unreferenced_rows:
            store.blobs.delete(key)
        for name in report.foreign_files:
            store.blobs.remove_foreign(name)
        report.unfinished_uploads = store.blobs.cleanup_incomplete()
    else:
        report.unfinished_uploads = store.blobs.count_incomplete()
    return report
