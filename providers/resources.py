"""Files and folders of a space as WsgiDAV resources (thin adapters, STYLE.md habit 2).

Each method asks ``acl``, asks the store (which settles ``quotas``), and returns;
domain errors become DAV errors in ``providers.errors``. Attributes come from one
:class:`NodeInfo` snapshot, so WsgiDAV's repeated getter calls cost nothing.
"""

from __future__ import annotations

import email.utils
from typing import TYPE_CHECKING, Any, BinaryIO

from lxml import etree
from wsgidav import util, xml_tools
from wsgidav.dav_error import (
    HTTP_BAD_REQUEST,
    HTTP_FORBIDDEN,
    HTTP_NOT_FOUND,
    DAVError,
    PRECONDITION_CODE_ProtectedProperty,
)
from wsgidav.dav_provider import DAVCollection, DAVNonCollection

import acl
import quotas
from acl import SpaceRef
from davserver.errors import BadRequest

from .blobs import BlobWriter
from .errors import dav_errors
from .guards import CLOSE_CONNECTION_KEY, CREATED_KEY, OC_MTIME_KEY
from .names import validate_name
from .store import NodeInfo, SpaceInfo, Store

if TYPE_CHECKING:
    from .dav import EntProvider

OC_NS = "http://owncloud.org/ns"
OC_CHECKSUMS = f"{{{OC_NS}}}checksums"
MS_NS = "urn:schemas-microsoft-com:"
QUOTA_PROPS = ("{DAV:}quota-used-bytes", "{DAV:}quota-available-bytes")
PRINCIPAL_KEY = "davserver.principal"
RESOLVED_KEY = "davserver.resolved"
_USAGE_KEY = "davserver.usage"
# An early 507 on a body larger than this closes the connection instead of reading
# the rest of the body (cheroot reads it all before answering, otherwise).
DRAIN_LIMIT = 16 * 2**20

def parse_http_time(value: str | int | float) -> float:
    """UTC epoch seconds from an RFC 1123 date (``getlastmodified``, Win32 times) or a
    number of seconds (``X-OC-Mtime``). Raises ``BadRequest``."""
    if isinstance(value, int | float):
        return float(value)
    text = (value or "").strip()
    if text.isdigit():
        return float(text)
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"not an HTTP date: {text!r}") from exc


def space_ref(space: SpaceInfo) -> SpaceRef:
    return SpaceRef(space.kind, space.owner_id)


def forget_resolved(environ: dict[str, Any]) -> None:
    """Drop this request's resolution and usage caches after a change."""
    environ.pop(RESOLVED_KEY, None)
    environ.pop(_USAGE_KEY, None)


def make_resource(path: str, environ: dict[str, Any], space: SpaceInfo,
                  node: NodeInfo) -> FolderResource | FileResource:
    if node.is_collection:
        return FolderResource(path, environ, space, node)
    return FileResource(path, environ, space, node)


class SpaceResourceMixin:
    """What files and folders of a space share: identity, times, properties, copy/move."""

    path: str
    environ: dict[str, Any]
    provider: EntProvider
    is_collection: bool

    def _init_node(self, space: SpaceInfo, node: NodeInfo | None, rel_path: str) -> None:
        self.space = space
        self.node = node
        self.rel_path = rel_path

    @property
    def store(self) -> Store:
        return self.provider.store

    def _require(self, privilege: str, space: SpaceInfo | None = None) -> None:
        with dav_errors():
            acl.require(self.environ[PRINCIPAL_KEY].id, privilege, space_ref(space or self.space))

    def _changed(self) -> None:
        forget_resolved(self.environ)

    def _usage(self) -> quotas.Usage | None:
        """This space's quota figures, read once per request."""
        cache = self.environ.setdefault(_USAGE_KEY, {})
        if self.space.id not in cache:
            cache[self.space.id] = self.store.usage(self.space.id)
        return cache[self.space.id]  # type: ignore[no-any-return]

    def get_ref_url(self) -> str:
        return self.provider.ref_url(self.space, self.path)

    def get_display_name(self) -> str:
        # The root of a space is shown under its top collection's name.
        return util.get_uri_name(self.path.rstrip("/")) or "/"

    def get_creation_date(self) -> float | None:
        return self.node.created if self.node else None

    def get_last_modified(self) -> float | None:
        return self.node.modified if self.node else None

    # --- properties -----------------------------------------------------------

    def get_property_names(self, *, is_allprop: bool) -> list[str]:
        names = [n for n in super().get_property_names(is_allprop=is_allprop)  # type: ignore[misc]
                 if not (is_allprop and n in QUOTA_PROPS)]  # RFC 4918 §9.1: not in allprop
        if self.node:
            names.extend(self.node.dead_props)
        return names

    def get_property_value(self, name: str) -> Any:
        if self.node and name in self.node.dead_props:
            return xml_tools.string_to_xml(self.node.dead_props[name])
        if name == OC_CHECKSUMS and self.node and not self.node.is_collection:
            return _checksums_element(self.node)
        if name in QUOTA_PROPS and not self.is_collection:
            raise DAVError(HTTP_NOT_FOUND)  # RFC 4331 §3: defined on collections only
        if name == "{DAV:}getetag" and self.node and self.node.etag:
            # RFC 4918 §15.6: the value is an entity-tag, quoted as in the ETag header.
            return f'"{self.node.etag}"'

        return super().get_property_value(name)  # type: ignore[misc]

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> Any:
        """PROPPATCH one property: lock and live ``DAV:`` properties are protected
        (403 ``cannot-modify-protected-property``) except ``getlastmodified``;
        ``Win32LastModifiedTime`` sets the modification time too; everything else is
        a dead property stored on the node."""
        if value is not None and name in ("{DAV:}getlastmodified",
                                          f"{{{MS_NS}}}Win32LastModifiedTime"):
            return self.set_last_modified(self.path, value.text, dry_run=dry_run)
        if name.startswith("{DAV:}") or name == OC_CHECKSUMS:
            raise DAVError(HTTP_FORBIDDEN, err_condition=PRECONDITION_CODE_ProtectedProperty)
        self._require("write-properties")
        if dry_run or self.node is None:
            return None
        text = None if value is None else etree.tostring(value, encoding="unicode")
        with dav_errors():
            self.store.patch_dead_props(self.node, {name: text})
        self._changed()
        return None

    def set_last_modified(self, dest_path: str, time_stamp: Any, *, dry_run: bool) -> bool:
        """Set the modification time from an HTTP date or epoch seconds (sync clients,
        Windows Explorer)."""
        self._require("write-properties")
        with dav_errors():
            mtime = parse_http_time(time_stamp)
            if not dry_run and self.node is not None:
                self.store.set_modified(self.node, mtime)
                self._changed()
        return True

    # --- delete, copy, move ---------------------------------------------------

    def support_recursive_delete(self) -> bool:
        return True

    def handle_delete(self) -> bool:
        """DELETE at once when nothing here or below is locked and no ``If`` header
        names members; else False, and WsgiDAV checks each member's locks first
        (RFC 4918 §9.6.1). Ancestors' locks were checked before this is called."""
        if "HTTP_IF" in self.environ:
            return False
        if self.provider.locks.get_lock_list(self.get_ref_url(), include_root=True,
                                             include_children=True, token_only=True):
            return False
        self.delete()
        return True

    def delete(self) -> None:
        """Delete this resource and all below it in one transaction (RFC 4918 §9.6)."""
        self._require("unbind")
        assert self.node is not None
        with dav_errors():
            self.store.delete(self.node)
        self.remove_all_locks(recursive=True)  # type: ignore[attr-defined]
        self._changed()

    def _destination(self, dest_path: str) -> tuple[SpaceInfo, str, Any]:
        located = self.provider.locate(dest_path, self.environ)
        if located is None:
            raise DAVError(HTTP_FORBIDDEN, "The destination is not inside a space.")
        space, rel = located
        self._require("bind", space)
        existing = self.provider.get_resource_inst(dest_path, self.environ)
        return space, rel, existing

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        """COPY natively in one transaction; blobs are shared (RFC 4918 §9.8).
        ``Depth: 0`` on a folder copies the folder without its members."""
        self._require("read")
        space, rel, existing = self._destination(dest_path)
        assert self.node is not None
        with dav_errors():
            self.store.copy(self.node, space.id, rel, recursive=depth_infinity)
        self._finish_transfer(existing)
        return True

    def handle_move(self, dest_path: str) -> bool:
        """MOVE natively: rows change, bytes do not; locks stay behind (RFC 4918 §9.9)."""
        self._require("unbind")
        space, rel, existing = self._destination(dest_path)
        assert self.node is not None
        with dav_errors():
            self.store.move(self.node, space.id, rel)
        self.remove_all_locks(recursive=True)  # type: ignore[attr-defined]
        self._finish_transfer(existing)
        return True

    def _finish_transfer(self, existing: Any) -> None:
        if existing is not None:
            existing.remove_all_locks(recursive=True)
        else:
            self.environ[CREATED_KEY] = True  # 201, not WsgiDAV's fixed 204
        self._changed()


def _checksums_element(node: NodeInfo) -> Any:
    """ownCloud ``oc:checksums``: ``<oc:checksum>SHA1:… MD5:…</oc:checksum>``."""
    root = etree.Element(OC_CHECKSUMS, nsmap={"oc": OC_NS})
    etree.SubElement(root, f"{{{OC_NS}}}checksum").text = f"SHA1:{node.sha1} MD5:{node.md5}"
    return root


class FolderResource(SpaceResourceMixin, DAVCollection):
    """A folder of a space (the space root included)."""

    def __init__(self, path: str, environ: dict[str, Any], space: SpaceInfo,
                 node: NodeInfo) -> None:
        super().__init__(path, environ)
        self._init_node(space, node, node.path)

    def _member(self, node: NodeInfo) -> FolderResource | FileResource:
        return make_resource(util.join_uri(self.path, node.name), self.environ, self.space, node)

    def visible_children(self) -> list[NodeInfo]:
        """The members this request's user may see, ordered by name: one query. Every
        listing (member names, member list, the streamed PROPFIND) goes through here."""
        assert self.node is not None
        return self.store.children(self.node)

    def get_member_names(self) -> list[str]:
        return [n.name for n in self.visible_children()]

    # RFC 4331: every folder of a space reports the space's figures.
    def get_used_bytes(self) -> int:
        figures = self._usage()
        return figures.used if figures else 0

    def get_available_bytes(self) -> int:
        figures = self._usage()
        return figures.available if figures else 0  # unknown: nothing (fail closed)

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def get_member_list(self) -> list[Any]:
        """All members from one query (WsgiDAV would resolve each name again)."""
        return [self._member(n) for n in self.visible_children()]

    def get_descendants(self, *, collections: bool = True, resources: bool = True,
                        depth_first: bool = False, depth: str = "infinity",
                        add_self: bool = False) -> list[Any]:
        """Depth infinity from one query; other depths as WsgiDAV does."""
        if depth != "infinity":
            return super().get_descendants(collections=collections, resources=resources,
                                           depth_first=depth_first, depth=depth,
                                           add_self=add_self)
        assert self.node is not None
        by_id: dict[int, Any] = {self.node.id: self}
        found: list[Any] = []
        for node in self.store.descendants(self.node):  # parents come before members
            parent = by_id.get(node.parent_id or -1)
            if parent is None:
                continue
            res = make_resource(util.join_uri(parent.path, node.name), self.environ,
                                self.space, node)
            by_id[node.id] = res
            if (collections and node.is_collection) or (resources and not node.is_collection):
                found.append(res)
        if add_self and collections:
            found.insert(0, self)
        if depth_first:
            found.sort(key=lambda r: -r.path.rstrip("/").count("/"))
        return found

    def create_empty_resource(self, name: str) -> FileResource:
        """PUT to a new name: nothing is stored until the body is complete (no stub
        on failure). LOCK on an unmapped URL: an empty file (RFC 4918 §7.3)."""
        self._require("bind")
        path = util.join_uri(self.path, name)
        with dav_errors():
            validate_name(name)
            if self.environ.get("REQUEST_METHOD") == "PUT":
                return FileResource(path, self.environ, self.space, None,
                                    rel_path=self.rel_path + "/" + name)
            node = self.store.create_empty(self.space.id, self.rel_path + "/" + name)
        self._changed()
        return FileResource(path, self.environ, self.space, node)

    def create_collection(self, name: str) -> None:
        """MKCOL (RFC 4918 §9.3); honours ``X-OC-Mtime``."""
        self._require("bind")
        mtime = self.environ.get(OC_MTIME_KEY)
        with dav_errors():
            self.store.make_collection(self.space.id, self.rel_path + "/" + name, mtime)
        self._changed()


class _Upload:
    """The writable file WsgiDAV fills during PUT: streams into a new blob and stops
    with 507 as soon as the bytes pass ``cap`` (the room the space had for this file:
    STYLE.md habit 10, the counting layer for bodies of unknown or lying length)."""

    def __init__(self, writer: BlobWriter, cap: int, reserved: int,
                 environ: dict[str, Any]) -> None:
        self.writer = writer
        self.cap = cap
        self.reserved = reserved
        self._environ = environ

    def write(self, data: bytes) -> int:
        if self.writer.size + len(data) > self.cap:
            # The rest of the body stays unread: the connection cannot be reused.
            self._environ[CLOSE_CONNECTION_KEY] = True
            raise DAVError(507, "Not enough room left in this space (quota).",
                           err_condition="{DAV:}quota-not-exceeded")
        return self.writer.write(data)

    def close(self) -> None:
        """Nothing here: the blob is finished or discarded in ``end_write``."""


def _announced_size(environ: dict[str, Any]) -> int | None:
    """Body size from Content-Length, else Finder's X-Expected-Entity-Length (a hint)."""
    for key in ("CONTENT_LENGTH", "HTTP_X_EXPECTED_ENTITY_LENGTH"):
        value = (environ.get(key) or "").strip()
        if value.isdigit():
            return int(value)
    return None


class FileResource(SpaceResourceMixin, DAVNonCollection):
    """A file of a space. ``node`` is None while a new file's first PUT is streaming."""

    def __init__(self, path: str, environ: dict[str, Any], space: SpaceInfo,
                 node: NodeInfo | None, *, rel_path: str | None = None) -> None:
        super().__init__(path, environ)
        self._init_node(space, node, node.path if node else (rel_path or ""))
        self._upload: _Upload | None = None

    def get_content_length(self) -> int:
        return self.node.size if self.node else 0

    def get_content_type(self) -> str:
        return (self.node.content_type if self.node else None) or "application/octet-stream"

    def get_etag(self) -> str | None:
        return self.node.etag if self.node else None

    def support_etag(self) -> bool:
        return True

    def support_ranges(self) -> bool:
        return True

    def get_content(self) -> BinaryIO:
        assert self.node is not None
        return self.store.open(self.node)

    def begin_write(self, *, content_type: str | None = None) -> _Upload:
        """Start a PUT body: a new blob, never the current content (habit 9).

        The quota is checked before any byte is read: an announced size reserves
        its growth or gets 507 (RFC 4918 §11.5, RFC 4331 ``quota-not-exceeded``)."""
        self._require("write-content")
        old_size = self.node.size if self.node else 0
        announced = _announced_size(self.environ)
        reserved = max(0, announced - old_size) if announced is not None else 0
        try:
            with dav_errors():
                figures = self.store.reserve(self.space.id, reserved)
        except DAVError:
            # cheroot reads an unread Content-Length body before answering, but not a
            # chunked one, whose rest would be taken for the next request.
            chunked = not (self.environ.get("CONTENT_LENGTH") or "").strip()
            if chunked or (announced or 0) > DRAIN_LIMIT:
                self.environ[CLOSE_CONNECTION_KEY] = True
            raise
        room = figures.available if figures else 0
        self._upload = _Upload(self.store.new_writer(), old_size + reserved + room, reserved,
                               self.environ)
        return self._upload

    def end_write(self, *, with_errors: bool) -> None:
        """Finish a PUT: on errors discard the new blob (the old content stays); else
        commit it, the size and the usage in one transaction."""
        upload, self._upload = self._upload, None
        if upload is None:
            return
        if with_errors:
            upload.writer.abort()
            self.store.release(self.space.id, upload.reserved)
            return
        expected = self.environ.get("CONTENT_LENGTH")
        if expected and expected.isdigit() and int(expected) != upload.writer.size:
            # Habit 9: the body ended early (client gone); keep the old content.
            upload.writer.abort()
            self.store.release(self.space.id, upload.reserved)
            raise DAVError(HTTP_BAD_REQUEST, f"Received {upload.writer.size} of "
                           f"{expected} bytes announced by Content-Length.")
        info = upload.writer.finish()
        with dav_errors():
            self.node = self.store.commit_write(
                self.space.id, self.rel_path, info,
                mtime=self.environ.get(OC_MTIME_KEY), reserved=upload.reserved,
            )
        self._changed()
