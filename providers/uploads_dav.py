"""Chunked uploads over WebDAV: ``/remote.php/dav/uploads/<login>/`` (provider path
``/.uploads/``, reachable only through that address: :data:`providers.SYNC_VIEW_KEY`).

``/.uploads/``                 :class:`UploadsRoot`: the user's open uploads; MKCOL
                               opens one (``OC-Total-Length``, optional ``Destination``)
``/.uploads/<id>/``            :class:`UploadFolder`: its chunks; DELETE cancels it
``/.uploads/<id>/<chunk>``     :class:`ChunkFile`: PUT stores a chunk, DELETE drops it
``/.uploads/<id>/.file``       :class:`AssembledFile`: MOVE puts the whole file at the
                               ``Destination`` (``OC-Total-Length``, ``X-OC-Mtime``,
                               ``OC-Checksum``, an ``If`` on the destination's ETag)

The rules (quota, assembly, expiry) are :mod:`providers.uploads`'; these classes are
thin adapters. Everything here belongs to the signed-in user alone: uploads are
looked up by their owner, and nothing here can be locked. Chunks are not served
back (GET: 403), as in Nextcloud's v2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from wsgidav import util
from wsgidav.dav_error import HTTP_BAD_REQUEST, HTTP_FORBIDDEN, DAVError
from wsgidav.dav_provider import DAVCollection, DAVNonCollection

from davserver.errors import BadRequest

from . import checksums, uploads
from .errors import dav_errors
from .guards import (
    ANSWER_HEADERS_KEY,
    CLOSE_CONNECTION_KEY,
    CREATED_KEY,
    parse_length,
    parse_oc_mtime,
)
from .names import MAX_NAME_BYTES
from .resources import forget_resolved

if TYPE_CHECKING:
    from .dav import EntProvider

UPLOADS = ".uploads"
FILE = ".file"
NOT_SERVED = "Chunks of an upload are not served back."
MAX_CHUNK_NAME = 64


def _lifetime(provider: EntProvider) -> float:
    return provider.upload_expiry


def upload_resource(provider: EntProvider, path: str, segments: list[str],
                    environ: dict[str, Any]) -> Any:
    """The resource at ``path`` (``segments[0]`` is :data:`UPLOADS`), or None."""
    owner = provider.access(environ).principal.id
    if len(segments) == 1:
        return UploadsRoot(path, environ)
    if len(segments) > 3:
        return None
    with dav_errors():
        upload = uploads.find(provider.store, owner, segments[1])
    if upload is None:
        return None
    if len(segments) == 2:
        return UploadFolder(path, environ, upload)
    if segments[2] == FILE:
        return AssembledFile(path, environ, upload)
    found = next((c for c in uploads.chunks(provider.store, upload.id)
                  if c.name == segments[2]), None)
    return ChunkFile(path, environ, upload, found) if found is not None else None


class _Owned:
    """What every resource here shares: the user's own, never locked."""

    provider: EntProvider
    path: str
    environ: dict[str, Any]

    def prevent_locking(self) -> bool:
        return True

    def get_ref_url(self) -> str:
        owner = self.provider.access(self.environ).principal.id
        return f"/-u/{owner}" + quote(self.path)

    def get_display_name(self) -> str:
        return util.get_uri_name(self.path.rstrip("/"))

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> None:
        raise DAVError(HTTP_FORBIDDEN, "Uploads in progress have no properties to set.")


class UploadsRoot(_Owned, DAVCollection):
    """The user's open uploads; MKCOL opens one."""

    def get_member_names(self) -> list[str]:
        owner = self.provider.access(self.environ).principal.id
        return [u.name for u in uploads.open_uploads(self.provider.store, owner)]

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def create_empty_resource(self, name: str) -> Any:
        raise DAVError(HTTP_FORBIDDEN, "Only upload folders live here (MKCOL).")

    def create_collection(self, name: str) -> None:
        """MKCOL of an upload folder: reserves ``OC-Total-Length`` where the file is
        bound for (507 when it cannot fit; 403 when the user may not write there)."""
        if len(name.encode("utf-8")) > MAX_NAME_BYTES or name in (FILE, UPLOADS):
            raise DAVError(HTTP_BAD_REQUEST, "Not a name for an upload folder.")
        total = _total_length(self.environ)
        access = self.provider.access(self.environ)
        space, reserve, destination = access.personal_space("documents"), total or 0, None
        target = self.environ.get("HTTP_DESTINATION")
        if target:  # v2: the destination is known, so is what the file replaces
            destination = self.provider.destination_path(target)
            found = self.provider.writable_file(destination, self.environ)
            space = found.space
            reserve = max(0, (total or 0) - (found.node.size if found.node else 0))
        with dav_errors():
            uploads.begin(self.provider.store, access.principal.id, name,
                          space_id=space.id, reserve=reserve, total=total,
                          destination=destination, lifetime=_lifetime(self.provider))
        forget_resolved(self.environ)

    def delete(self) -> None:
        raise DAVError(HTTP_FORBIDDEN, "Delete the upload folders one by one.")


def _total_length(environ: dict[str, Any]) -> int | None:
    return parse_length(environ.get("HTTP_OC_TOTAL_LENGTH"), "OC-Total-Length")


class UploadFolder(_Owned, DAVCollection):
    """One upload: its chunks. DELETE cancels it (chunks gone, reservation freed)."""

    def __init__(self, path: str, environ: dict[str, Any], upload: uploads.UploadInfo
                 ) -> None:
        super().__init__(path, environ)
        self.upload = upload

    def get_member_names(self) -> list[str]:
        return [c.name for c in uploads.chunks(self.provider.store, self.upload.id)]

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def get_member_list(self) -> list[Any]:
        """Chunks from one query (WsgiDAV would resolve each name again)."""
        return [ChunkFile(util.join_uri(self.path, c.name), self.environ, self.upload, c)
                for c in uploads.chunks(self.provider.store, self.upload.id)]

    def get_last_modified(self) -> float | None:
        return self.upload.created

    def create_empty_resource(self, name: str) -> Any:
        """PUT of a chunk: nothing is stored until its body is complete."""
        if name == FILE or len(name) > MAX_CHUNK_NAME or "/" in name:
            raise DAVError(HTTP_BAD_REQUEST, f"A chunk's name has at most {MAX_CHUNK_NAME} "
                           "characters and is not '.file'.")
        return ChunkFile(util.join_uri(self.path, name), self.environ, self.upload, None)

    def create_collection(self, name: str) -> None:
        raise DAVError(HTTP_FORBIDDEN, "An upload folder holds chunks, not folders.")

    def support_recursive_delete(self) -> bool:
        return True

    def handle_delete(self) -> bool:
        self.delete()
        return True

    def delete(self) -> None:
        with dav_errors():
            uploads.cancel(self.provider.store, self.upload.id)
        forget_resolved(self.environ)

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        raise DAVError(HTTP_FORBIDDEN, "Upload folders cannot be copied.")

    def handle_move(self, dest_path: str) -> bool:
        raise DAVError(HTTP_FORBIDDEN, "Move the upload's .file, not its folder.")


class _ChunkWriter:
    """The writable file of a chunk's PUT: a new blob, stopped at ``cap`` bytes."""

    def __init__(self, resource: ChunkFile, cap: int, reserved: int) -> None:
        # renews the lease of what the chunk reserved while its blocks arrive
        self.writer = resource.provider.store.new_writer(reserved)
        self.cap = cap
        self.reserved = reserved
        self._environ = resource.environ

    def write(self, data: bytes) -> int:
        if self.writer.size + len(data) > self.cap:
            self._environ[CLOSE_CONNECTION_KEY] = True
            raise DAVError(HTTP_BAD_REQUEST, "This chunk brings the upload past the size "
                           "announced (OC-Total-Length or Content-Length).")
        return self.writer.write(data)

    def close(self) -> None:
        """Nothing here: the blob is finished or discarded in ``end_write``."""


class ChunkFile(_Owned, DAVNonCollection):
    """One chunk (``chunk`` None while its PUT streams)."""

    def __init__(self, path: str, environ: dict[str, Any], upload: uploads.UploadInfo,
                 chunk: uploads.ChunkInfo | None) -> None:
        super().__init__(path, environ)
        self.upload = upload
        self.chunk = chunk
        self._writing: _ChunkWriter | None = None

    def get_content_length(self) -> int:
        return self.chunk.size if self.chunk else 0

    def get_content_type(self) -> str:
        return "application/octet-stream"

    def get_etag(self) -> str | None:
        return self.chunk.blob_key if self.chunk else None

    def support_etag(self) -> bool:
        return True

    def support_ranges(self) -> bool:
        return False

    def get_content(self) -> BinaryIO:
        raise DAVError(HTTP_FORBIDDEN, NOT_SERVED)

    def begin_write(self, *, content_type: str | None = None) -> _ChunkWriter:
        """A chunk's body: room checked before any byte is read (see
        :func:`providers.uploads.room_for_chunk`)."""
        announced = (self.environ.get("CONTENT_LENGTH") or "").strip()
        try:
            with dav_errors():
                reserved, cap = uploads.room_for_chunk(
                    self.provider.store, self.upload, util.get_uri_name(self.path),
                    parse_length(announced, "Content-Length"))
        except DAVError:
            self.environ[CLOSE_CONNECTION_KEY] = True  # the body stays unread
            raise
        self._writing = _ChunkWriter(self, cap, reserved)
        return self._writing

    def end_write(self, *, with_errors: bool) -> None:
        """Record the chunk, or discard it (and what it reserved) on any error."""
        writing, self._writing = self._writing, None
        if writing is None:
            return
        store = self.provider.store
        expected = (self.environ.get("CONTENT_LENGTH") or "").strip()
        if with_errors or (expected.isdecimal() and int(expected) != writing.writer.size):
            writing.writer.abort()
            store.release(self.upload.space_id, writing.reserved)
            if not with_errors:
                raise DAVError(HTTP_BAD_REQUEST, f"Received {writing.writer.size} of "
                               f"{expected} bytes announced by Content-Length.")
            return
        info = writing.writer.finish()
        with dav_errors():
            uploads.add_chunk(store, self.upload, util.get_uri_name(self.path), info,
                              reserved=writing.reserved, lifetime=_lifetime(self.provider))
        forget_resolved(self.environ)

    def delete(self) -> None:
        with dav_errors():
            uploads.remove_chunk(self.provider.store, self.upload,
                                 util.get_uri_name(self.path))
        forget_resolved(self.environ)

    def handle_move(self, dest_path: str) -> bool:
        raise DAVError(HTTP_FORBIDDEN, "Move the upload's .file, not a chunk.")

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        raise DAVError(HTTP_FORBIDDEN, NOT_SERVED)


class AssembledFile(_Owned, DAVNonCollection):
    """``.file``: the whole upload; MOVE it to its destination to finish."""

    def __init__(self, path: str, environ: dict[str, Any], upload: uploads.UploadInfo
                 ) -> None:
        super().__init__(path, environ)
        self.upload = upload

    def get_content_length(self) -> int:
        return sum(c.size for c in uploads.chunks(self.provider.store, self.upload.id))

    def get_content_type(self) -> str:
        return "application/octet-stream"

    def get_etag(self) -> str | None:
        return None

    def support_etag(self) -> bool:
        return False

    def support_ranges(self) -> bool:
        return False

    def get_content(self) -> BinaryIO:
        raise DAVError(HTTP_FORBIDDEN, NOT_SERVED)

    def delete(self) -> None:
        raise DAVError(HTTP_FORBIDDEN, "Delete the upload folder to cancel the upload.")

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        raise DAVError(HTTP_FORBIDDEN, NOT_SERVED)

    def handle_move(self, dest_path: str) -> bool:
        """Assemble the chunks and put the file at ``dest_path`` (rights, quota and the
        ``If`` on the destination were checked as for any MOVE, by WsgiDAV and by
        :meth:`EntProvider.writable_file`). Answers with the file's ``OC-FileId``,
        ``OC-ETag`` and ``ETag``; 201 for a new file, 204 for a replaced one."""
        target = self.provider.writable_file(dest_path, self.environ)
        existed = target.node is not None
        announced = _total_length(self.environ)
        mtime_text = self.environ.get("HTTP_X_OC_MTIME")
        mtime = parse_oc_mtime(mtime_text) if mtime_text is not None else None
        store = self.provider.store
        with dav_errors():
            if (announced is not None and self.upload.total is not None
                    and announced != self.upload.total):
                raise BadRequest(f"OC-Total-Length {announced} differs from the "
                                 f"{self.upload.total} bytes announced at the start")
            upload = self.upload if announced is None or self.upload.total is not None \
                else _with_total(self.upload, announced)
            blob = uploads.assemble(store, upload)
        try:
            with dav_errors():
                checksums.verify(self.environ.get("HTTP_OC_CHECKSUM"), blob)
        except DAVError:
            store.discard_blob(blob, target.space.id, 0)
            raise
        node = uploads.finish(store, upload, target.space.id, target.rel_path, blob,
                              lambda *a, within: target.commit_blob(
                                  blob, mtime=mtime, within=within))
        headers = list(self.environ.get(ANSWER_HEADERS_KEY, []))
        headers.append(("ETag", f'"{node.etag}"'))
        if mtime is not None:
            headers.append(("X-OC-MTime", "accepted"))
        self.environ[ANSWER_HEADERS_KEY] = headers
        if not existed:
            self.environ[CREATED_KEY] = True
        forget_resolved(self.environ)
        return True


def _with_total(upload: uploads.UploadInfo, total: int) -> uploads.UploadInfo:
    """The upload with the total its final MOVE announced (NG clients may announce it
    there only): :func:`providers.uploads.assemble` checks the chunks against it."""
    return uploads.UploadInfo(upload.id, upload.owner_id, upload.name, upload.space_id,
                              upload.reserved, total, upload.destination, upload.created,
                              upload.expires)

