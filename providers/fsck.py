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
* usage drift: a space whose ledger's used bytes differ from the sum of its live
  files' sizes and dead properties' sizes (both count in the quota), and of the
  blobs held for it (:mod:`providers.holders`); a space with no ledger row shows
  ``-1`` (its free space is unknown, so it refuses every write: quotas fail closed)
  and gets a new row, with the default limit, on repair;
* trash drift: a space whose ledger's trash bytes differ from the sum of the file
  and property sizes in its trash (issue 17: deleted items count apart), and trash
  items whose recorded size differs from their subtree's (what a purge frees);
* version drift: a space whose ledger's version bytes differ from the sum of its
  files' versions (issue 23: versions hold their blobs, :mod:`providers.versions`,
  and count apart); versions whose file is gone (repair purges them);
* names no client can use (:func:`providers.names.invalid_reason`: a control
  character, a backslash…), stored before they were refused: listed with their
  space and path, for a human to rename (a rename to a valid name works);
* reservations: bytes held for uploads that are gone (their lease expired, or their
  process on this host ended: ``quotas.leases``), or counted without a lease or an
  open chunked upload (:mod:`.uploads`, which holds its reservation until it finishes
  or expires: ``davserver uploads sweep``);
* unfinished uploads: temporary files of writes that never completed;
* foreign files: anything in the blob store that is not a blob (a ``.DS_Store``).

``repair=True`` removes orphans and unfinished uploads, resets drifted usage and
trash bytes and trash item sizes, and gives back stale reservations; names no client
can use stay for a human.
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

from . import versions
from .holders import blob_holders
from .models import Blob, Node, Space, TrashItem
from .names import invalid_reason
from .properties import total_bytes
from .store import Store, _parse_props, charged_bytes
from .trash import TRASH_PREFIX
from .uploads import reserved_by_space


@dataclass
class FsckReport:
    orphan_files: list[str] = field(default_factory=list)
    unreferenced_rows: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    wrong_size: list[tuple[str, int, int]] = field(default_factory=list)  # key, recorded, disk
    props_drift: list[tuple[int, int, int]] = field(default_factory=list)  # node, recorded, real
    usage_drift: list[tuple[int, int, int]] = field(default_factory=list)  # space, ledger, real
    trash_drift: list[tuple[int, int, int]] = field(default_factory=list)  # space, ledger, real
    version_drift: list[tuple[int, int, int]] = field(default_factory=list)  # space, ledger, real
    orphan_versions: list[int] = field(default_factory=list)  # version ids
    bad_names: list[tuple[int, str, str]] = field(default_factory=list)  # space, path, why
    item_drift: list[tuple[int, int, int]] = field(default_factory=list)  # item, recorded, real
    stale_reservations: list[tuple[int, int]] = field(default_factory=list)  # space, bytes
    foreign_files: list[str] = field(default_factory=list)
    unfinished_uploads: int = 0
    repaired: bool = False

    @property
    def clean(self) -> bool:
        return not (self.orphan_files or self.unreferenced_rows or self.needs_restore
                    or self.props_drift or self.usage_drift or self.trash_drift
                    or self.item_drift or self.stale_reservations or self.foreign_files
                    or self.version_drift or self.orphan_versions
                    or self.unfinished_uploads or self.bad_names)

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
        out += [f"trash drift in space {s}: ledger {a} bytes, files and properties in the "
                f"trash {b} bytes" for s, a, b in self.trash_drift]
        out += [f"trash item {i}: {a} bytes recorded, {b} bytes in its files and properties"
                for i, a, b in self.item_drift]
        out += [f"version drift in space {s}: ledger {a} bytes, versions {b} bytes"
                for s, a, b in self.version_drift]
        out += [f"version of a file that is gone: {v}" for v in self.orphan_versions]
        out += [f"name no client can use in space {s}: {path!a}: {why} (rename it)"
                for s, path, why in self.bad_names]
        out += [f"bytes reserved for uploads that are gone in space {s}: {n}"
                for s, n in self.stale_reservations]
        out += [f"not a blob (foreign file in the blob store): {n}" for n in self.foreign_files]
        if self.unfinished_uploads:
            out.append(f"unfinished uploads: {self.unfinished_uploads}")
        return out


def _references(s: Session) -> tuple[set[int], dict[int, int], dict[int, int]]:
    """Ids of the blob rows something points at, the bytes of live files by space
    (the nodes' plus those of every registered holder, :mod:`providers.holders`),
    and the bytes of trashed files by space."""
    referenced = {i for i in s.scalars(select(Node.blob_id).where(Node.blob_id.is_not(None)))
                  if i is not None}
    trashed = func.substr(Node.path, 1, 1) == "#"  # live paths are "" or start with "/"
    sums: dict[int, int] = {}
    trash: dict[int, int] = {}
    for space_id, in_trash, nbytes in s.execute(
            select(Node.space_id, trashed, func.coalesce(func.sum(charged_bytes()), 0))
            .group_by(Node.space_id, trashed)):
        target = trash if in_trash else sums
        target[int(space_id)] = target.get(int(space_id), 0) + int(nbytes)
    for holder in blob_holders():  # blobs charged to a space without a node
        referenced |= holder.referenced(s)
        for space_id, nbytes in holder.usage(s).items():
            sums[space_id] = sums.get(space_id, 0) + nbytes
    return referenced, sums, trash


def _bad_names(s: Session) -> list[tuple[int, str, str]]:
    """(space, written path, reason) of every node but the roots whose name a new
    file could not have. Reads every name once (a check, not a request path)."""
    found = []
    for space_id, name, path in s.execute(select(Node.space_id, Node.written_name,
                                                 Node.written_path)
                                          .where(Node.parent_id.is_not(None))
                                          .order_by(Node.space_id, Node.written_path)):
        reason = invalid_reason(name)
        if reason is not None:
            found.append((int(space_id), path, reason))
    return found


def _check_ledger(s: Session, store: Store, report: FsckReport, sums: dict[int, int],
                  trash: dict[int, int]) -> dict[int, quotas.Usage]:
    """Compare every space's ledger with the bytes of its live files and properties
    (``sums``) and of its trash (``trash``), by space id; with ``report.repaired``,
    fix them. Returns the ledger's figures as read before any repair."""
    repair = report.repaired
    ledger = quotas.all_usage(s, store.policy)
    kept = versions.bytes_by_space(s)
    for space_id, kind, owner_id in s.execute(select(Space.id, Space.kind, Space.owner_id)):
        figures = ledger.get(space_id)
        recorded = figures.used if figures else -1
        real, real_trash = int(sums.get(space_id, 0)), int(trash.get(space_id, 0))
        trash_drifts = figures is not None and figures.trash != real_trash
        if trash_drifts:
            assert figures is not None
            report.trash_drift.append((space_id, figures.trash, real_trash))
        if recorded != real:
            report.usage_drift.append((space_id, recorded, real))
        real_versions = kept.get(space_id, 0)
        version_drifts = figures is not None and figures.versions != real_versions
        if version_drifts:
            assert figures is not None
            report.version_drift.append((space_id, figures.versions, real_versions))
        if repair and (recorded != real or trash_drifts or version_drifts):
            if figures is None:
                profile = acl.profile_of(s, owner_id) if owner_id else None
                quotas.open_account(s, space_id, kind, profile)
            quotas.set_used(s, space_id, real, trash_bytes=real_trash,
                            version_bytes=real_versions)
    return ledger


def _check_property_sizes(s: Session, report: FsckReport,
                          repair: bool) -> tuple[dict[int, int], dict[int, int]]:
    """Each node's ``props_bytes`` against its dead properties, read a thousand rows
    at a time; repair records the real size. Returns, when not repairing, by space, the
    bytes the recorded sizes miss among live nodes and among trashed ones (the usage
    and trash checks count the real sizes either way)."""
    missed: dict[int, int] = {}
    missed_trash: dict[int, int] = {}
    rows = s.execute(select(Node.id, Node.space_id, Node.path, Node.props_bytes,
                            type_coerce(Node.dead_props, Text))
                     .execution_options(yield_per=1000))
    for node_id, space_id, path, recorded, stored in rows:
        real = total_bytes(_parse_props(stored))
        if real != (recorded or 0):
            report.props_drift.append((node_id, recorded or 0, real))
            target = missed_trash if path.startswith(TRASH_PREFIX) else missed
            target[space_id] = target.get(space_id, 0) + real - (recorded or 0)
    if repair:
        for node_id, _recorded, real in report.props_drift:
            s.execute(update(Node).where(Node.id == node_id).values(props_bytes=real))
        return {}, {}
    return missed, missed_trash


def _check_trash_items(s: Session, report: FsckReport, repair: bool) -> None:
    """Each trash item's ``size`` against the files and dead properties of its
    subtree (nodes at ``#trash/<id>`` and below): the bytes a purge frees and a
    restore charges. Property sizes count as they really are (repaired just before,
    or not: the real size is what ``--repair`` records). Repair records the real
    size."""
    props = type_coerce(Node.dead_props, Text)
    real: dict[int, int] = {}
    rows = s.execute(select(Node.path, Node.size, props)
                     .where(func.substr(Node.path, 1, len(TRASH_PREFIX)) == TRASH_PREFIX)
                     .execution_options(yield_per=1000))
    for path, size, stored in rows:
        head = path[len(TRASH_PREFIX):].split("/", 1)[0]
        if head.isdecimal():
            item_id = int(head)
            real[item_id] = real.get(item_id, 0) + int(size or 0) \
                + total_bytes(_parse_props(stored))
    for item_id, recorded in s.execute(select(TrashItem.id, TrashItem.size)):
        found = real.get(int(item_id), 0)
        if int(recorded or 0) != found:
            report.item_drift.append((int(item_id), int(recorded or 0), found))
    if repair:
        for item_id, _recorded, found in report.item_drift:
            s.execute(update(TrashItem).where(TrashItem.id == item_id).values(size=found))


def _check_reservations(s: Session, report: FsckReport, repair: bool,
                        ledger: dict[int, quotas.Usage]) -> None:
    """Reservations of uploads that are gone (expired leases, or this host's ended
    processes', :mod:`quotas.leases`), and ledgers whose reserved bytes differ from
    the sum of their live leases and of their open chunked uploads' reservations
    (:func:`.uploads.reserved_by_space`); repair gives the difference back. Live
    uploads' leases and open chunked uploads are left alone, so this is safe while
    servers run."""
    leases = quotas.leases.held(s)
    gone = quotas.leases.gone(s)
    chunked = reserved_by_space(s)  # open chunked uploads hold theirs without a lease
    live: dict[int, int] = {}
    for space_id, figures in ledger.items():
        live[space_id] = (leases.get(space_id, 0) - gone.get(space_id, 0)
                          + chunked.get(space_id, 0))
        if figures.reserved != live[space_id]:
            report.stale_reservations.append((space_id, figures.reserved - live[space_id]))
    if repair:
        quotas.reclaim(s)
        for space_id, _stale in report.stale_reservations:
            quotas.leases.set_reserved(s, space_id, live[space_id])


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
        report.orphan_versions = versions.orphans(s)
        if repair and report.orphan_versions:
            versions.forget(s, store, report.orphan_versions)
        missed, missed_trash = _check_property_sizes(s, report, repair)
        referenced, sums, trash = _references(s)
        for space_id, nbytes in missed.items():
            sums[space_id] = sums.get(space_id, 0) + nbytes
        for space_id, nbytes in missed_trash.items():
            trash[space_id] = trash.get(space_id, 0) + nbytes
        _check_trash_items(s, report, repair)
        report.bad_names = _bad_names(s)
        report.orphan_files = sorted(stored - set(rows))
        report.dangling = sorted(k for k in rows if k not in stored)
        report.wrong_size = sorted((k, written[k], on_disk[k]) for k in rows
                                   if k in on_disk and on_disk[k] != written[k])
        report.unreferenced_rows = sorted(k for k, i in rows.items() if i not in referenced)
        ledger = _check_ledger(s, store, report, sums, trash)
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
