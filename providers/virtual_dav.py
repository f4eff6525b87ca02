"""Read-only folders that other packages add under the binder root (issue 7: a
teacher's hand-ins at ``/dav/classeur/Remises/<service>/<homework>/<student>/``).

Providers never import the web layer: a package registers a :class:`VirtualTree`
under a folder name with :func:`register_binder_folder` when it is imported, and the
provider serves that tree beside the binder's own files. The name is reserved: a
real member of the binder root with the same name is hidden by the virtual one.

Everything inside is read-only: PUT, MKCOL, DELETE, PROPPATCH, LOCK, UNLOCK, MOVE and
POST answer 403, and so does a COPY or MOVE whose destination is inside. COPY out of
it is refused too (the bytes stay the student's). Listings of the binder root are
left to WsgiDAV (the streamed PROPFIND of :mod:`.propfind` serves node folders
only), which asks :class:`FolderResource` for the virtual members.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote, unquote, urlsplit

from wsgidav import util
from wsgidav.dav_error import HTTP_FORBIDDEN, HTTP_NOT_FOUND, DAVError
from wsgidav.dav_provider import DAVCollection, DAVNonCollection

import acl

from . import oc_props
from .damage import open_checked
from .folder_etags import composite
from .live_props import PRIVILEGE_SET, QuotaReport, listed_names, privilege_set
from .names import split_path, xml_safe
from .store import SpaceInfo, Store

if TYPE_CHECKING:
    from .dav import EntProvider

READ_ONLY = "This folder is read-only: it shows what others handed in."
REFUSED_METHODS = frozenset({"PUT", "MKCOL", "PROPPATCH", "DELETE", "LOCK", "UNLOCK",
                             "POST", "MOVE", "COPY"})


@dataclass(frozen=True)
class VirtualEntry:
    """One member of a virtual tree: a folder, or a file whose bytes are the blob
    ``blob_key`` (None: empty) of ``size`` bytes; ``modified`` in UTC epoch seconds;
    ``etag`` unquoted and strong."""

    name: str
    is_collection: bool
    size: int = 0
    content_type: str = "application/octet-stream"
    modified: float = 0.0
    blob_key: str | None = None
    etag: str | None = None


class VirtualTree(ABC):
    """A read-only tree shown to one user. ``segments`` are the decoded names below
    the registered folder (``[]``: the folder itself)."""

    @abstractmethod
    def entry(self, store: Store, principal: acl.Principal,
              segments: list[str]) -> VirtualEntry | None:
        """The entry at ``segments``, or None (404) when it does not exist for them."""

    @abstractmethod
    def children(self, store: Store, principal: acl.Principal,
                 segments: list[str]) -> list[VirtualEntry]:
        """The members of the folder at ``segments``, by name."""

    def folder_etag(self, store: Store, principal: acl.Principal,
                    segments: list[str]) -> str | None:
        """An ETag of the folder at ``segments`` that changes whenever anything below
        it does (sync clients list a folder again only when it changes), or None: the
        provider then derives one from the folder's own listing, which sees changes
        of its direct members only."""
        return None


_TREES: dict[str, VirtualTree] = {}


def register_binder_folder(name: str, tree: VirtualTree) -> None:
    """Show ``tree`` as the read-only folder ``/dav/classeur/<name>/`` of every user
    who has a binder (registering ``name`` again replaces it)."""
    _TREES[name] = tree


def binder_folders() -> list[str]:
    """The registered folder names, sorted."""
    return sorted(_TREES)


def is_virtual(segments: list[str], binder: str) -> bool:
    """Whether a provider path's ``segments`` fall in a registered folder."""
    return len(segments) >= 2 and segments[0] == binder and segments[1] in _TREES


def refuse_virtual_writes(environ: dict[str, Any], segments: list[str], binder: str,
                  share_path: str) -> None:
    """403 for a write method inside a virtual folder, or a COPY/MOVE into one."""
    method = environ["REQUEST_METHOD"]
    if method in REFUSED_METHODS and is_virtual(segments, binder):
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)
    destination = environ.get("HTTP_DESTINATION")
    if method in ("COPY", "MOVE") and destination:
        path = unquote(urlsplit(destination).path)
        if path.startswith(share_path + "/") and \
                is_virtual(split_path(path[len(share_path):]), binder):
            raise DAVError(HTTP_FORBIDDEN, READ_ONLY)


def virtual_resource(provider: EntProvider, path: str, segments: list[str],
                     environ: dict[str, Any]) -> Any:
    """The resource at ``path`` (``segments``: the registered name first), or None."""
    tree = _TREES[segments[0]]
    principal = provider.access(environ).principal
    found = tree.entry(provider.store, principal, segments[1:])
    if found is None:
        return None
    cls = VirtualFolder if found.is_collection else VirtualFile
    return cls(path, environ, tree, segments, found)


class _Virtual:
    """What folders and files of a virtual tree share: read-only, never locked."""

    provider: EntProvider
    path: str
    environ: dict[str, Any]

    def _init_virtual(self, tree: VirtualTree, segments: list[str],
                      entry: VirtualEntry) -> None:
        self.tree, self.segments, self.entry = tree, segments, entry

    def get_display_name(self) -> str:
        return xml_safe(self.entry.name)

    def get_last_modified(self) -> float | None:
        return self.entry.modified or oc_props.LISTING_MTIME  # the sync apps need one

    def get_creation_date(self) -> float | None:
        return self.entry.modified or None

    def get_ref_url(self) -> str:
        return "/-v" + quote(self.path)

    def get_property_names(self, *, is_allprop: bool) -> list[str]:
        return listed_names(super().get_property_names(is_allprop=is_allprop),  # type: ignore[misc]
                            is_allprop=is_allprop, extra=[PRIVILEGE_SET])

    def prevent_locking(self) -> bool:
        return True

    def delete(self) -> None:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> None:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)

    def get_property_value(self, name: str) -> Any:
        if name == PRIVILEGE_SET:
            return privilege_set(["read"])
        if name in oc_props.NAMES:  # read-only for the sync apps too
            value = oc_props.virtual_value(name, self.path, size=self.entry.size)
            if value is None:
                raise DAVError(HTTP_NOT_FOUND)
            return value
        if name == "{DAV:}getetag":  # RFC 4918 §15.6: quoted, as in the ETag header
            etag = self.get_etag()  # type: ignore[attr-defined]
            if etag is None:
                raise DAVError(HTTP_NOT_FOUND)
            return f'"{etag}"'
        return super().get_property_value(name)  # type: ignore[misc]


class VirtualFolder(_Virtual, QuotaReport, DAVCollection):
    """A folder of a virtual tree; its RFC 4331 figures are the binder's, where it is
    shown."""

    def quota_space(self) -> SpaceInfo:
        return self.provider.access(self.environ).personal_space("binder")

    def __init__(self, path: str, environ: dict[str, Any], tree: VirtualTree,
                 segments: list[str], entry: VirtualEntry) -> None:
        DAVCollection.__init__(self, path, environ)
        self._init_virtual(tree, segments, entry)

    def _children(self) -> list[VirtualEntry]:
        principal = self.provider.access(self.environ).principal
        return self.tree.children(self.provider.store, principal, self.segments[1:])

    def get_member_names(self) -> list[str]:
        return [c.name for c in self._children()]

    def support_etag(self) -> bool:
        return True

    def get_etag(self) -> str:
        principal = self.provider.access(self.environ).principal
        found = self.tree.folder_etag(self.provider.store, principal, self.segments[1:])
        if found is not None:
            return found
        return composite(f"{c.name}/{c.is_collection}/{c.size}/{c.modified}/{c.etag}"
                         for c in self._children())

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def get_member_list(self) -> list[Any]:
        """Members built from one listing (WsgiDAV would resolve each name again)."""
        return [(VirtualFolder if c.is_collection else VirtualFile)(
            util.join_uri(self.path, c.name), self.environ, self.tree,
            [*self.segments, c.name], c) for c in self._children()]

    def create_empty_resource(self, name: str) -> Any:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)

    def create_collection(self, name: str) -> None:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)


class VirtualFile(_Virtual, DAVNonCollection):
    """A file of a virtual tree (GET and ranges work; nothing else)."""

    def __init__(self, path: str, environ: dict[str, Any], tree: VirtualTree,
                 segments: list[str], entry: VirtualEntry) -> None:
        DAVNonCollection.__init__(self, path, environ)
        self._init_virtual(tree, segments, entry)

    def get_content_length(self) -> int:
        return self.entry.size

    def get_content_type(self) -> str:
        return self.entry.content_type

    def get_etag(self) -> str | None:
        return self.entry.etag or self.entry.blob_key

    def support_etag(self) -> bool:
        return True

    def support_ranges(self) -> bool:
        return True

    def get_content(self) -> BinaryIO:
        """The entry's blob, checked against its size: damaged storage is a 500 that
        says so, never a body shorter than its ``Content-Length`` (:mod:`.damage`)."""
        key = self.entry.blob_key
        return open_checked(lambda: self.provider.store.open_blob(key), self.entry.size,
                            self.path, key, dav=True)

    def begin_write(self, *, content_type: str | None = None) -> Any:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)
