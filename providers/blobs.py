"""Immutable content behind a small ``BlobStore`` interface (DESIGN.md, "Blob").

A blob is written once through a :class:`BlobWriter` (streamed, hashed on the
way: SHA-1 and MD5 for ownCloud-style checksums), then only read or deleted.
The embedded store is a directory (:class:`LocalBlobStore`); an S3-compatible bucket
is :class:`providers.s3_blobs.S3BlobStore`. Keys are random (``uuid4().hex``), never
derived from user input.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from davserver.errors import ServiceUnavailable

HEAD_BYTES = 2048
_HEX = frozenset("0123456789abcdef")  # the characters of a blob key


@dataclass(frozen=True)
class BlobInfo:
    """A finished blob: its ``key``, ``size`` in bytes, hex ``sha1`` and ``md5``,
    and its first bytes (``head``, up to 2 KiB) for content-type sniffing."""

    key: str
    size: int
    sha1: str
    md5: str
    head: bytes


# Blocks at least this big are hashed on helper threads while the next block
# arrives: SHA-1 and MD5 cost more than the disk write (hashlib releases the GIL).
PARALLEL_HASH_MIN = 64 * 1024
_hashers: ThreadPoolExecutor | None = None
_hashers_lock = threading.Lock()


def _hash_pool() -> ThreadPoolExecutor:
    global _hashers
    with _hashers_lock:
        if _hashers is None:
            _hashers = ThreadPoolExecutor(4, thread_name_prefix="blob-hash")
        return _hashers


class BlobWriter(ABC):
    """A blob being written. ``write`` any number of times, then ``finish`` or ``abort``."""

    progress: Callable[[], None] | None = None
    """Called after each block (the store renews the upload's lease there)."""

    def __init__(self) -> None:
        self.size = 0
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._head = bytearray()
        self._hashing: list[Future[None]] = []

    def write(self, data: bytes) -> int:
        """Append ``data``; returns its length. A big block is hashed while the caller
        fetches the next one (one block in flight, so hashes see blocks in order)."""
        self._write(data)
        self.size += len(data)
        self._wait_hashing()
        if len(data) >= PARALLEL_HASH_MIN:
            data = bytes(data)  # the caller may reuse its buffer
            pool = _hash_pool()
            self._hashing = [pool.submit(self._sha1.update, data),
                             pool.submit(self._md5.update, data)]
        else:
            self._sha1.update(data)
            self._md5.update(data)
        if len(self._head) < HEAD_BYTES:
            self._head += data[: HEAD_BYTES - len(self._head)]
        if self.progress is not None:
            self.progress()
        return len(data)

    def _wait_hashing(self) -> None:
        hashing, self._hashing = self._hashing, []
        for future in hashing:
            future.result()

    def _info(self, key: str) -> BlobInfo:
        self._wait_hashing()
        return BlobInfo(key, self.size, self._sha1.hexdigest(), self._md5.hexdigest(),
                        bytes(self._head))

    @abstractmethod
    def _write(self, data: bytes) -> None: ...

    @abstractmethod
    def finish(self) -> BlobInfo:
        """Make the blob durable and visible under its key; returns its info."""

    @abstractmethod
    def abort(self) -> None:
        """Discard what was written. Safe to call more than once."""


class BlobStoreUnavailable(ServiceUnavailable):
    """The blob store does not answer (a network error, a timeout, a 5xx of an object
    store): the request is answered 503 with ``Retry-After`` (:mod:`davserver.outage`),
    and nothing is committed. A missing blob is ``FileNotFoundError`` instead."""


class BlobStore(ABC):
    """Where blob bytes live."""

    @abstractmethod
    def writer(self) -> BlobWriter:
        """Start a new blob."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """Open a blob for binary, seekable reading. Raises ``FileNotFoundError``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove a blob; a missing key is not an error."""

    @abstractmethod
    def sizes(self) -> dict[str, int]:
        """Every stored key with the size of its blob in bytes, as the storage reports
        it without reading the content (for ``davserver fsck``)."""

    def keys(self) -> Iterator[str]:
        """Every stored key."""
        return iter(self.sizes())

    def cleanup_incomplete(self) -> int:
        """Remove leftovers of writes that never finished; returns how many."""
        return 0

    def foreign_files(self) -> list[str]:
        """Names of things in the store that are not blobs (e.g. a ``.DS_Store``)."""
        return []

    def remove_foreign(self, name: str) -> None:  # noqa: B027 (optional ability)
        """Delete one of :meth:`foreign_files`; stores without any have nothing to do."""

    def count_incomplete(self) -> int:
        """How many leftovers of unfinished writes there are."""
        return 0

    @abstractmethod
    def stored_size(self, key: str) -> int | None:
        """The size in bytes the storage reports for ``key`` without reading it, or None
        when it has no such blob (the check before a download is handed to the proxy,
        :mod:`providers.handoff`)."""

    @abstractmethod
    def proxy_location(self, key: str) -> str:
        """Where a reverse proxy finds ``key``'s bytes, after the ``X-Accel-Redirect``
        prefix (:mod:`providers.handoff`): a path under the store, or a signed URL's path
        and query for an object store. No leading ``/``."""

    @abstractmethod
    def ping(self) -> None:
        """Check cheaply that the store answers (``/readyz``); raises
        :class:`BlobStoreUnavailable` when it does not."""

    def remove_abandoned(self, gone: Callable[[str], bool], max_age: float) -> int:
        """Remove leftovers of writes whose writer is gone: those whose holder tag
        (``quotas.Holder.tag`` of the process that wrote them) ``gone`` says has ended,
        and any untouched for ``max_age`` seconds. Returns how many."""
        return 0


class _LocalWriter(BlobWriter):
    def __init__(self, store: LocalBlobStore) -> None:
        super().__init__()
        self._store = store
        self._key = uuid.uuid4().hex
        self._tmp = store.tmp_dir / store.temp_name(self._key)
        self._file: BinaryIO | None = open(self._tmp, "xb")  # noqa: SIM115

    def _write(self, data: bytes) -> None:
        assert self._file is not None, "blob writer already closed"
        self._file.write(data)

    def finish(self) -> BlobInfo:
        assert self._file is not None, "blob writer already closed"
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        final = self._store.path_of(self._key)
        self._store.ensure_dir(final.parent)
        try:
            os.replace(self._tmp, final)
        except FileNotFoundError:  # the folder was removed by hand since: make it again
            self._store.ensure_dir(final.parent, again=True)
            os.replace(self._tmp, final)
        return self._info(self._key)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)


class LocalBlobStore(BlobStore):
    """Blobs as files under ``root/objects/<2 hex>/<key>``; writes go through
    ``root/tmp`` (temp file, fsync, rename: never a half-written blob). A temporary
    file is named ``<key>~<owner>.part``, ``owner`` the writing process's holder tag
    (``quotas.Holder.tag``), so that the leftovers of a process that died can be told
    from the uploads of one still running on the same directory."""

    def __init__(self, root: Path, owner: str = "") -> None:
        self.owner = owner
        self.root = Path(root)
        self.objects_dir = self.root / "objects"
        self.tmp_dir = self.root / "tmp"
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._made: set[Path] = set()  # fan-out folders known to exist (at most 256)

    def ensure_dir(self, folder: Path, *, again: bool = False) -> None:
        """Create the fan-out folder ``objects/<2 hex>`` once per process (a system
        call less per write afterwards), or ``again`` when it turned out gone."""
        if again or folder not in self._made:
            folder.mkdir(exist_ok=True)
            self._made.add(folder)

    def temp_name(self, key: str) -> str:
        """The name of the temporary file of the blob ``key`` being written."""
        return f"{key}~{self.owner}.part" if self.owner else f"{key}.part"

    def path_of(self, key: str) -> Path:
        if not self._is_key(key):
            raise ValueError(f"not a blob key: {key!r}")
        return self.objects_dir / key[:2] / key

    def writer(self) -> BlobWriter:
        return _LocalWriter(self)

    def open(self, key: str) -> BinaryIO:
        # Unbuffered: readers ask for whole blocks (WsgiDAV, PlainGet, send_file), and a
        # buffered reader would cost an isatty and an fstat more per GET.
        return open(self.path_of(key), "rb", buffering=0)  # noqa: SIM115

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    def stored_size(self, key: str) -> int | None:
        try:
            return self.path_of(key).stat().st_size
        except FileNotFoundError:
            return None

    def proxy_location(self, key: str) -> str:
        return f"{key[:2]}/{key}"

    def ping(self) -> None:
        if not os.access(self.objects_dir, os.W_OK | os.X_OK):
            raise BlobStoreUnavailable(f"the blob directory {self.objects_dir} cannot be "
                                       "written")

    @staticmethod
    def _is_key(name: str) -> bool:
        return len(name) == 32 and _HEX.issuperset(name)

    def sizes(self) -> dict[str, int]:
        found = {}
        with os.scandir(self.objects_dir) as subs:
            folders = [sub.path for sub in subs if sub.is_dir()]
        for folder in folders:
            with os.scandir(folder) as items:
                for item in items:  # one stat a blob: its content is never read
                    if self._is_key(item.name) and item.is_file():
                        found[item.name] = item.stat().st_size
        return found

    def foreign_files(self) -> list[str]:
        found = []
        for sub in self.objects_dir.iterdir():
            if not sub.is_dir():
                found.append(sub.name)
                continue
            found += [f"{sub.name}/{item.name}" for item in sub.iterdir()
                      if not (self._is_key(item.name) and item.is_file()
                              and item.name[:2] == sub.name)]
        return sorted(found)

    def remove_foreign(self, name: str) -> None:
        if name not in self.foreign_files():  # only what the listing found, never a path
            return
        target = self.objects_dir / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)

    def count_incomplete(self) -> int:
        return sum(1 for _ in self.tmp_dir.glob("*.part"))

    def cleanup_incomplete(self) -> int:
        count = 0
        for item in self.tmp_dir.glob("*.part"):
            item.unlink(missing_ok=True)
            count += 1
        return count

    def remove_abandoned(self, gone: Callable[[str], bool], max_age: float) -> int:
        count = 0
        oldest = time.time() - max_age  # wall clock: compared with files' st_mtime
        for item in self.tmp_dir.glob("*.part"):
            _key, _, owner = item.name[:-len(".part")].partition("~")
            if self.owner and owner == self.owner:  # ours: they end with their request
                continue
            try:
                stale = (owner and gone(owner)) or item.stat().st_mtime < oldest
            except FileNotFoundError:  # finished or aborted meanwhile
                continue
            if stale:
                item.unlink(missing_ok=True)
                count += 1
        return count
