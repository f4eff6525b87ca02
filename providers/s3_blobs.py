"""Blobs in an S3-compatible bucket (``blobs.kind: s3``), through boto3.

The same contract as the directory store (:class:`providers.blobs.BlobStore`):

* a blob is one object, ``<prefix><2 hex>/<key>`` (the key random, as in the
  directory; the two-character folder spreads keys over prefixes, which S3 scales
  by). An object is written once, before the metadata commit that points a node at
  it, and never changed: a crash leaves at worst an orphan that ``davserver fsck``
  finds;
* uploads stream: the body is buffered up to ``part_size`` bytes (8 MiB by default)
  and sent as the parts of a multipart upload, so a file is never whole in memory;
  a file that fits in one part is one ``PUT``. An aborted write aborts its multipart
  upload; one left by a killed process is counted by ``fsck`` once older than
  ``abandoned_after`` and aborted by ``fsck --repair`` (a bucket lifecycle rule
  ``AbortIncompleteMultipartUpload`` does the same; docs/deployment.md);
* reads are GETs, sent at the first ``read`` from where the reader stands: the whole
  object, or after a ``seek`` a ranged GET from there (a range of a big blob is one
  GET of that range, never the whole object first). A missing object raises
  ``FileNotFoundError`` at that first read (``read(0)`` sends the GET alone, for a
  caller that must know before it answers); the damage check,
  :mod:`providers.damage`, answers it as a missing file on a disk;
* the object store not answering (connection refused, timeout, a 5xx after boto3's
  retries) raises :class:`providers.blobs.BlobStoreUnavailable`, answered 503 with
  ``Retry-After`` (:mod:`davserver.outage`).

boto3 clients are thread-safe; one serves every request thread, its connection pool
as large as the server's worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, TypeVar, cast
from urllib.parse import urlsplit

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from davserver.config import S3Config

from .blobs import BlobInfo, BlobStore, BlobStoreUnavailable, BlobWriter

log = logging.getLogger(__name__)

_KEY_RE = re.compile(r"^([0-9a-f]{2})/(\1[0-9a-f]{30})$")
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
PRESIGN_SECONDS = 60  # a handed-off URL is used by the proxy at once
T = TypeVar("T")


def _unavailable(action: str, exc: Exception) -> BlobStoreUnavailable:
    return BlobStoreUnavailable(f"The file store is not answering ({action}: {exc}); "
                                "try again in a few seconds.")


def _missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return str(error.get("Code", "")) in _MISSING or status == "404"


def _server_side(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return int(status) >= 500


def _call(action: str, fn: Callable[[], T]) -> T:
    """Run one S3 call; a network error or a 5xx becomes ``BlobStoreUnavailable``, a
    missing object ``FileNotFoundError``; other refusals (403: wrong credentials, a
    missing bucket) stay ``ClientError`` (a configuration fault, answered 500)."""
    try:
        return fn()
    except ClientError as exc:
        if _missing(exc):
            raise FileNotFoundError(action) from exc
        if _server_side(exc):
            raise _unavailable(action, exc) from exc
        raise
    except BotoCoreError as exc:  # connection refused or reset, timeouts
        raise _unavailable(action, exc) from exc


class _S3Writer(BlobWriter):
    """One blob being uploaded: a ``PUT`` when it fits in one part, else a multipart
    upload whose parts leave as soon as they are full."""

    def __init__(self, store: S3BlobStore) -> None:
        super().__init__()
        self._store = store
        self._key = uuid.uuid4().hex
        self._name = store.object_name(self._key)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._done = False

    def _write(self, data: bytes) -> None:
        assert not self._done, "blob writer already closed"
        self._buffer += data
        part = self._store.part_size
        while len(self._buffer) >= part:
            self._send_part(bytes(self._buffer[:part]))
            del self._buffer[:part]

    def _send_part(self, body: bytes) -> None:
        client, bucket = self._store.client, self._store.bucket
        if self._upload_id is None:
            started = _call("starting an upload", lambda: client.create_multipart_upload(
                Bucket=bucket, Key=self._name))
            self._upload_id = started["UploadId"]
        number = len(self._parts) + 1
        sent = _call("sending a part", lambda: client.upload_part(
            Bucket=bucket, Key=self._name, UploadId=self._upload_id, PartNumber=number,
            Body=body))
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def finish(self) -> BlobInfo:
        assert not self._done, "blob writer already closed"
        client, bucket = self._store.client, self._store.bucket
        try:
            if self._upload_id is None:
                body = bytes(self._buffer)
                _call("storing a file", lambda: client.put_object(
                    Bucket=bucket, Key=self._name, Body=body))
            else:
                if self._buffer or not self._parts:
                    self._send_part(bytes(self._buffer))
                _call("finishing an upload", lambda: client.complete_multipart_upload(
                    Bucket=bucket, Key=self._name, UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts}))
        except BaseException:
            self.abort()
            raise
        self._done = True
        self._buffer = bytearray()
        return self._info(self._key)

    def abort(self) -> None:
        self._done = True
        self._buffer = bytearray()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None:
            return
        try:
            self._store.client.abort_multipart_upload(
                Bucket=self._store.bucket, Key=self._name, UploadId=upload_id)
        except (BotoCoreError, ClientError) as exc:  # fsck aborts it later
            log.warning("could not abort the upload of blob %s: %s", self._key, exc)


class S3Content:
    """A blob object open for reading, one GET at a time: none is sent until the
    first ``read``, which GETs the object from the current position (a ``Range:
    bytes=<pos>-`` GET after a ``seek``, so a range of a big blob never starts with
    a GET of the whole); a ``seek`` elsewhere afterwards drops that answer and the next
    ``read`` GETs from there. ``read(0)`` sends the GET without taking a byte: a
    missing object raises ``FileNotFoundError`` then, before a caller starts an
    answer. ``stored_size`` is the object's size as the store reported it once a GET
    answered (for the damage check's message), else None. Only what the readers use
    (WsgiDAV, the short GET, Flask's ``send_file``, the damage check)."""

    def __init__(self, store: S3BlobStore, key: str) -> None:
        self._store = store
        self._key = key
        self._pos = 0
        self._body: Any = None
        self._past_end: int | None = None
        self.stored_size: int | None = None
        self.closed = False

    def _get(self, start: int) -> None:
        store = self._store
        args: dict[str, Any] = {"Bucket": store.bucket, "Key": store.object_name(self._key)}
        if start:
            args["Range"] = f"bytes={start}-"
        try:
            answer = _call("reading a file", lambda: store.client.get_object(**args))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                # past the end: reads return b"" from there on, without asking again
                self._body, self._pos, self._past_end = None, start, start
                return
            raise
        self._body = answer["Body"]
        self._pos = start
        total = answer.get("ContentRange", "").rpartition("/")[2]
        self.stored_size = int(total) if total.isdecimal() else start + answer["ContentLength"]

    def read(self, size: int | None = -1) -> bytes:
        if self._body is None:
            if self.stored_size is not None and self._pos >= self.stored_size \
                    or self._past_end is not None and self._pos >= self._past_end:
                return b""
            self._get(self._pos)
            if self._body is None:
                return b""
        try:
            data: bytes = self._body.read(None if size is None or size < 0 else size)
        except (BotoCoreError, OSError) as exc:
            if isinstance(exc, BlobStoreUnavailable):
                raise
            raise _unavailable("reading a file", cast(Exception, exc)) from exc
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 1:
            offset += self._pos
        elif whence == 2:
            if self.stored_size is None:  # no GET yet: a HEAD tells the size
                self.stored_size = self._store.stored_size(self._key)
                if self.stored_size is None:
                    raise FileNotFoundError(f"reading a file: no object {self._key}")
            offset += self.stored_size
        if offset != self._pos:
            self._drop_body()
            self._pos = offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _drop_body(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def close(self) -> None:
        self._drop_body()
        self.closed = True

    def __enter__(self) -> S3Content:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[bytes]:
        while data := self.read(256 * 1024):
            yield data


class S3BlobStore(BlobStore):
    """Blobs as objects of one bucket (see the module docstring). ``settings`` is the
    ``blobs.s3`` section; ``pool_size`` the most connections kept open to the store
    (the server's worker threads)."""

    def __init__(self, settings: S3Config, *, pool_size: int = 50) -> None:
        if not settings.bucket:
            raise ValueError("blobs.s3.bucket is not set")
        self.settings = settings
        self.bucket: str = settings.bucket
        self.prefix = settings.prefix
        self.part_size = settings.part_size
        credentials = settings.credentials()
        keys: dict[str, str] = {}
        if credentials is not None:
            keys = {"aws_access_key_id": credentials[0],
                    "aws_secret_access_key": credentials[1]}
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=settings.endpoint_url, region_name=settings.region,
            config=BotoConfig(
                signature_version="s3v4",
                s3={"addressing_style": settings.addressing_style},
                connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
                retries={"max_attempts": settings.attempts, "mode": "standard"},
                max_pool_connections=max(10, pool_size),
                # Checksums only where the API requires them: older S3 servers (Ceph,
                # SeaweedFS) refuse the newer trailing ones.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required"),
            **keys)

    def object_name(self, key: str) -> str:
        """The object name of blob ``key``. Raises ``ValueError`` for a non-key."""
        if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a blob key: {key!r}")
        return f"{self.prefix}{key[:2]}/{key}"

    def writer(self) -> BlobWriter:
        return _S3Writer(self)

    def open(self, key: str) -> BinaryIO:
        self.object_name(key)
        return cast(BinaryIO, S3Content(self, key))

    def delete(self, key: str) -> None:
        name = self.object_name(key)
        with contextlib.suppress(FileNotFoundError):
            _call("deleting a file", lambda: self.client.delete_object(
                Bucket=self.bucket, Key=name))

    def _listing(self) -> Iterator[tuple[str, int]]:
        """Every object under the prefix: its name after the prefix, and its size."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"][len(self.prefix):], int(item["Size"])
        except ClientError as exc:
            if _server_side(exc):
                raise _unavailable("listing the bucket", exc) from exc
            raise
        except BotoCoreError as exc:
            raise _unavailable("listing the bucket", exc) from exc

    def sizes(self) -> dict[str, int]:
        found = {}
        for name, size in self._listing():
            match = _KEY_RE.match(name)
            if match:
                found[match.group(2)] = size
        return found

    def foreign_files(self) -> list[str]:
        return sorted(name for name, _size in self._listing() if not _KEY_RE.match(name))

    def remove_foreign(self, name: str) -> None:
        if name not in self.foreign_files():  # only what the listing found
            return
        _call("deleting a file", lambda: self.client.delete_object(
            Bucket=self.bucket, Key=self.prefix + name))

    def _abandoned(self) -> list[tuple[str, str]]:
        """``(object name, upload id)`` of multipart uploads started under the prefix
        more than ``abandoned_after`` seconds ago."""
        # The S3 server stamps ``Initiated`` with its real clock: a shifted clock here
        # would abort uploads still in progress.
        now = datetime.now(UTC)  # wall clock: compared with the S3 server's own stamps
        cutoff = now - timedelta(seconds=self.settings.abandoned_after)
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.prefix)
        found = []
        try:
            for page in pages:
                for upload in page.get("Uploads", []) or []:
                    if upload["Initiated"] <= cutoff:
                        found.append((upload["Key"], upload["UploadId"]))
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("listing unfinished uploads", cast(Exception, exc)) from exc
        return found

    def count_incomplete(self) -> int:
        return len(self._abandoned())

    def cleanup_incomplete(self) -> int:
        count = 0
        for name, upload_id in self._abandoned():
            with contextlib.suppress(FileNotFoundError):  # gone meanwhile
                _call("aborting an upload", lambda n=name, u=upload_id:  # type: ignore[misc]
                      self.client.abort_multipart_upload(Bucket=self.bucket, Key=n,
                                                         UploadId=u))
            count += 1
        return count

    def stored_size(self, key: str) -> int | None:
        name = self.object_name(key)
        try:
            head = _call("looking at a file", lambda: self.client.head_object(
                Bucket=self.bucket, Key=name))
        except FileNotFoundError:
            return None
        return int(head["ContentLength"])

    def proxy_location(self, key: str) -> str:
        url = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.object_name(key)},
            ExpiresIn=PRESIGN_SECONDS)
        parts = urlsplit(url)
        return parts.path.lstrip("/") + ("?" + parts.query if parts.query else "")

    def ping(self) -> None:
        try:
            _call("checking the bucket", lambda: self.client.head_bucket(Bucket=self.bucket))
        except FileNotFoundError as exc:
            raise BlobStoreUnavailable(f"the bucket {self.bucket} does not exist") from exc
        except ClientError as exc:
            raise BlobStoreUnavailable(f"the bucket {self.bucket} refuses us: {exc}") from exc

    def put_existing(self, key: str, content: BinaryIO, size: int) -> None:
        """Store ``size`` bytes read from ``content`` under the existing key ``key``
        (``davserver blobs migrate``): a multipart upload streamed by boto3 above
        ``part_size``, one PUT below."""
        from boto3.s3.transfer import TransferConfig

        transfer = TransferConfig(multipart_threshold=self.part_size,
                                  multipart_chunksize=self.part_size, use_threads=False)
        try:
            self.client.upload_fileobj(content, self.bucket, self.object_name(key),
                                       Config=transfer)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("copying a file", cast(Exception, exc)) from exc
