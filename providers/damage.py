"""Blob files that do not hold what the database recorded: damaged storage.

A file's blob may be lost (deleted from disk) or cut short (a disk or a restore gone
wrong). Its answer then announces a ``Content-Length`` the bytes never reach: a
client would wait for the rest until its own timeout. Every reader of a file's
content goes through :func:`open_checked` instead, which fails loudly:

* a missing blob file raises at once;
* a read that reaches the end of the file before the recorded size raises; a small
  file (read in one block) is then answered 500 with the reason before any byte
  leaves, a big one ends its connection where the bytes end (cheroot closes the
  connection when the body iterator raises), so the client sees an error, not a hang;
* a file longer than recorded is read up to its recorded size only.

Checking costs no system call: ``stat`` happens only once a read came up short. The
same holds for an object store (:mod:`providers.s3_blobs`): a missing object fails
the ``open``, a shorter one ends its body early.

Each failure writes one line at ERROR naming the file, its blob key and the sizes;
the fix is a human's: restore the blob file from a backup (``davserver fsck``
lists them all, ``providers.fsck``).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from typing import BinaryIO, cast

from wsgidav.dav_error import HTTP_INTERNAL_ERROR, DAVError

_log = logging.getLogger(__name__)


class DamagedContent(OSError):
    """The blob file of ``where`` (a path for the log: the DAV path and its space)
    is missing (``found`` None) or holds ``found`` bytes of the ``expected`` recorded
    ones. ``str()`` is the log line; :attr:`user_message` is what the client reads.
    An ``OSError``, as any failed read of a file (raised mid-body, like any exception
    there, it makes cheroot close the connection)."""

    def __init__(self, where: str, key: str, expected: int, found: int | None) -> None:
        self.where, self.key, self.expected, self.found = where, key, expected, found
        if found is None:
            what = f"missing ({expected} bytes recorded)"
        else:
            what = f"shorter than recorded ({found} of {expected} bytes)"
        super().__init__(f"{where}: blob file {key} {what}: storage damaged, restore the "
                         "file from a backup")

    @property
    def user_message(self) -> str:
        """One sentence for the client: what is wrong and whom to tell."""
        if self.found is None:
            return ("The content of this file is missing on the server (storage damaged). "
                    "Tell the administrator.")
        return (f"The content of this file is damaged on the server ({self.found} of "
                f"{self.expected} bytes). Tell the administrator.")


def _failure(damage: DamagedContent, *, dav: bool) -> Exception:
    """Log ``damage`` at ERROR; return the exception to raise: ``damage`` itself, or
    with ``dav`` a ``DAVError`` 500 carrying its user message (WsgiDAV's error printer
    shows a DAVError's text; any other error becomes a bare "Internal Server Error")."""
    _log.error("%s", damage)
    if not dav:
        return damage
    return DAVError(HTTP_INTERNAL_ERROR, context_info=damage.user_message)


class CheckedContent:
    """A blob file open for reading that never ends before the recorded ``size``
    without raising, nor reads past it.

    ``read(n)`` returns exactly ``min(n, size - position)`` bytes (whole blocks, so
    streaming in blocks and ``seek`` + ``read`` for ranges work as on the raw file),
    ``b""`` at ``size``, or raises the failure of :func:`_failure` when the file ends
    first (``DamagedContent``, or a ``DAVError`` 500 with ``dav``). Only what WsgiDAV
    and the short GET use (``read``, ``seek``, ``tell``, ``close``, ``with``): a plain
    class, as it is built on every GET (an ``io`` subclass costs microseconds more)."""

    __slots__ = ("_dav", "_key", "_pos", "_raw", "_size", "_where")

    def __init__(self, raw: BinaryIO, size: int, where: str, key: str, *,
                 dav: bool = False) -> None:
        self._raw, self._size, self._where, self._key = raw, size, where, key
        self._dav = dav
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        want = self._size - self._pos
        if size is not None and 0 <= size < want:
            want = size
        if want <= 0:
            return b""
        try:
            data = self._raw.read(want)
        except FileNotFoundError as exc:  # an object store's first read (providers.s3_blobs)
            raise _failure(DamagedContent(self._where, self._key, self._size, None),
                           dav=self._dav) from exc
        while len(data) < want:  # a short read of a regular file is its end
            more = self._raw.read(want - len(data))
            if not more:
                raise _failure(DamagedContent(self._where, self._key, self._size,
                                              self._file_size()), dav=self._dav)
            data += more
        self._pos += want
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END:  # the end is the recorded one, not the file's
            offset, whence = self._size + offset, os.SEEK_SET
        self._pos = self._raw.seek(offset, whence)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._raw.closed

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> CheckedContent:
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()

    def _file_size(self) -> int:
        stored = getattr(self._raw, "stored_size", None)  # an object store's answer
        if isinstance(stored, int):
            return stored
        try:
            return os.fstat(self._raw.fileno()).st_size
        except (OSError, ValueError, io.UnsupportedOperation):
            return self._raw.tell()


def open_checked(opener: Callable[[], BinaryIO], size: int, where: str, key: str | None,
                 *, dav: bool = False) -> BinaryIO:
    """Open a file's content with ``opener`` (the store's ``open``) as a
    :class:`CheckedContent` of the recorded ``size`` in bytes. ``where`` names the file
    in the log (DAV path and space); ``key`` is its blob key (None: empty content, not
    checked). A missing blob file raises ``DamagedContent`` (with ``dav``: a
    ``DAVError`` 500 saying the content is missing), logged at ERROR: here for a file
    on disk, at the first read for an object store's (:mod:`.s3_blobs` GETs then)."""
    if key is None:
        return opener()
    try:
        raw = opener()
    except FileNotFoundError as exc:
        raise _failure(DamagedContent(where, key, size, None), dav=dav) from exc
    return cast(BinaryIO, CheckedContent(raw, size, where, key, dav=dav))
