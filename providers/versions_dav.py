"""Earlier versions of files over WebDAV: ``/dav/versions/`` (issue 23), read-only;
restoring is a COPY onto the file.

``/dav/versions/``                              :class:`VersionsRoot`
``/dav/versions/porte-documents/…``             the user's documents, as folders
``/dav/versions/classeur/…``                    the binder's (teachers)
``/dav/versions/rubriques/``                    the rubrics the user sees
``/dav/versions/rubriques/<slug>/…``            that rubric's shared folders
``…/<folder>/``                                 :class:`VersionsFolder`: its sub-folders
                                                and the files whose versions the user sees
``…/<file>/``                                   :class:`FileVersions`: the file's versions
``…/<file>/2026-12-06T08-15-00Z.pdf``           :class:`VersionFile`: one version

A version is named by when it was made (UTC, ``YYYY-MM-DDTHH-MM-SSZ``) with the
file's extension; two made in the same second (rare: thinning keeps one a second)
get ``-<version id>`` after the date. Its ``getlastmodified`` is that date,
``getcontentlength`` and ``getetag`` its own (so rclone can copy versions out).

Who sees a file's versions: whoever may change its content (``write-content``: the
owner of a personal space; in a rubric a writer for their own files, moderators and
managers for all, ``acl.ROLE_PRIVILEGES``); a reader gets 404, as for anything they
may not see. Every write under ``/dav/versions/`` is 403 (:func:`refuse_writes`); a
COPY of a version onto its file restores it (``Overwrite: T``; 403 without the right
to change the file, 404 for a version purged meanwhile, 507 when the restored content
does not fit, nothing changed); a COPY anywhere else is 403 (download it instead).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wsgidav import util
from wsgidav.dav_error import HTTP_FORBIDDEN, DAVError
from wsgidav.dav_provider import DAVNonCollection

import acl

from . import versions
from .damage import open_checked
from .errors import dav_errors
from .live_props import listed_names
from .operations import node_ref, readable_chain_of
from .read_only_dav import ReadOnly, ReadOnlyListing
from .resources import PRIVILEGE_SET, privilege_set
from .store import NodeInfo, SpaceInfo
from .versions import VersionInfo

if TYPE_CHECKING:
    from typing import BinaryIO

    from .dav import EntProvider

VERSIONS = "versions"
READ_ONLY = ("Versions are read-only: COPY a version onto its file to restore it, or "
             "download it.")
REFUSED_METHODS = frozenset({"PUT", "MKCOL", "PROPPATCH", "DELETE", "LOCK", "UNLOCK",
                             "POST", "MOVE"})


def refuse_writes(segments: list[str], method: str) -> None:
    """403 with :data:`READ_ONLY` for a write method on a path under ``/dav/versions/``."""
    if segments and segments[0] == VERSIONS and method in REFUSED_METHODS:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)


def version_names(file_name: str, found: list[VersionInfo]) -> dict[str, VersionInfo]:
    """The name of each version of a file called ``file_name`` (newest first, as
    :func:`providers.versions.versions_of` lists them): its UTC date, then the file's
    extension; ``-<id>`` after the date for a second that has several."""
    stem, dot, ext = file_name.rpartition(".")
    suffix = f".{ext}" if stem and dot else ""
    dates = [datetime.fromtimestamp(v.made_at, UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
             for v in found]
    shown: dict[str, VersionInfo] = {}
    for date, v in zip(dates, found, strict=True):
        name = f"{date}{suffix}" if dates.count(date) == 1 else f"{date}-{v.id}{suffix}"
        shown[name] = v
    return shown


def versions_resource(provider: EntProvider, path: str, segments: list[str],
                      environ: dict[str, Any]) -> Any:
    """The resource at ``path`` (``segments`` its decoded parts, ``versions`` first),
    or None (404)."""
    from .dav import RUBRICS  # the provider module imports this one

    rest = segments[1:]
    if not rest:
        return VersionsRoot(path, environ)
    if rest == [RUBRICS]:
        return RubricVersions(path, environ)
    located = provider.locate("/" + "/".join(rest), environ)
    if located is None:
        return None
    space, rel = located
    standing = provider.access(environ).standing(space)
    with dav_errors():
        nodes = provider.store.resolve_chain(space.id, rel)
    found = readable_chain_of(nodes, standing, rel)
    if found is not None:
        node, chain = found[0][-1], found[1]
        if node.is_collection:
            return VersionsFolder(path, environ, space, node, chain)
        if acl.allowed(standing, "write-content", chain):
            return FileVersions(path, environ, space, node, chain)
        return None
    # A version: the path of a file the user may change, and one name more.
    parent_rel = rel.rsplit("/", 1)[0]
    found = readable_chain_of(nodes, standing, parent_rel) if parent_rel else None
    if found is None or found[0][-1].is_collection \
            or not acl.allowed(standing, "write-content", found[1]):
        return None
    node = found[0][-1]
    shown = version_names(node.name, versions.versions_of(provider.store, node.id))
    version = shown.get(rel.rsplit("/", 1)[1])
    if version is None:
        return None
    return VersionFile(path, environ, space, node, found[1], version)


class _Listing(ReadOnlyListing):
    """A collection of the versions tree (:class:`ReadOnlyListing`): RFC 4331 figures
    of the user's porte-documents, or of the space below a space."""

    read_only = READ_ONLY
    copy_refusal = "Copy one version onto its file to restore it."
    space: SpaceInfo | None = None

    def quota_space(self) -> SpaceInfo:
        if self.space is not None:
            return self.space
        return super().quota_space()


class VersionsRoot(_Listing):
    """``/dav/versions/``: one member per kind of space, as in the drive."""

    def get_member_names(self) -> list[str]:
        from .dav import BINDER, DOCUMENTS, RUBRICS

        has_binder = self.provider.access(self.environ).has_binder()
        return [DOCUMENTS, RUBRICS, *([BINDER] if has_binder else [])]

    def get_display_name(self) -> str:
        return "Versions"


class RubricVersions(_Listing):
    """``/dav/versions/rubriques/``: the rubrics the user sees."""

    def get_member_names(self) -> list[str]:
        return sorted(self.provider.access(self.environ).rubrics())


class VersionsFolder(_Listing):
    """A folder of a space: its sub-folders the user may read, and its files whose
    versions they see (one query for the members)."""

    def __init__(self, path: str, environ: dict[str, Any], space: SpaceInfo,
                 node: NodeInfo, chain: tuple[acl.NodeRef, ...]) -> None:
        super().__init__(path, environ)
        self.space = self.home = space
        self.node, self.chain = node, chain

    def get_member_names(self) -> list[str]:
        return [member.node.name for member in self.get_member_list()]

    def get_member_list(self) -> list[Any]:
        """The members from one query for the folder's children (WsgiDAV would resolve
        each name again: a query a member): the sub-folders the user may read, as
        :class:`VersionsFolder`, and the files they may read and change, as
        :class:`FileVersions` (what :func:`versions_resource` answers for each)."""
        standing = self.provider.access(self.environ).standing(self.home)
        members: list[Any] = []
        for child in self.provider.store.children(self.node):
            chain = (*self.chain, node_ref(child))
            if not acl.allowed(standing, "read", chain):
                continue
            path = util.join_uri(self.path, child.name)
            if child.is_collection:
                members.append(VersionsFolder(path, self.environ, self.home, child, chain))
            elif acl.allowed(standing, "write-content", chain):
                members.append(FileVersions(path, self.environ, self.home, child, chain))
        return members

    def get_display_name(self) -> str:
        return self.node.name or "/"


class FileVersions(_Listing):
    """The versions of one file, newest first, named by their UTC date."""

    def __init__(self, path: str, environ: dict[str, Any], space: SpaceInfo,
                 node: NodeInfo, chain: tuple[acl.NodeRef, ...]) -> None:
        super().__init__(path, environ)
        self.space = self.home = space
        self.node, self.chain = node, chain

    def _shown(self) -> dict[str, VersionInfo]:
        return version_names(self.node.name,
                             versions.versions_of(self.provider.store, self.node.id))

    def get_member_names(self) -> list[str]:
        return list(self._shown())

    def get_member_list(self) -> list[Any]:
        """The versions from one query (WsgiDAV would resolve each name again)."""
        return [VersionFile(util.join_uri(self.path, name), self.environ, self.home,
                            self.node, self.chain, version)
                for name, version in self._shown().items()]

    def get_display_name(self) -> str:
        return self.node.name


class VersionFile(ReadOnly, DAVNonCollection):
    """One version: GET downloads it; COPY onto its file restores it."""

    provider: EntProvider
    read_only = READ_ONLY

    def __init__(self, path: str, environ: dict[str, Any], space: SpaceInfo,
                 node: NodeInfo, chain: tuple[acl.NodeRef, ...],
                 version: VersionInfo) -> None:
        DAVNonCollection.__init__(self, path, environ)
        self.space, self.node, self.chain, self.version = space, node, chain, version

    def get_content_length(self) -> int:
        return self.version.size

    def get_content_type(self) -> str:
        return self.version.content_type or "application/octet-stream"

    def get_etag(self) -> str | None:
        return self.version.etag

    def support_etag(self) -> bool:
        return True

    def support_ranges(self) -> bool:
        return True

    def get_last_modified(self) -> float:
        return self.version.made_at

    def get_creation_date(self) -> float:
        return self.version.made_at

    def get_display_name(self) -> str:
        return util.get_uri_name(self.path)

    def get_content(self) -> BinaryIO:
        """The version's bytes, checked against its size (:mod:`.damage`)."""
        store, key = self.provider.store, self.version.blob_key
        return open_checked(lambda: store.open_blob(key), self.version.size,
                            f"{self.path} (version {self.version.id})", key, dav=True)

    def get_property_names(self, *, is_allprop: bool) -> list[str]:
        return listed_names(super().get_property_names(is_allprop=is_allprop),
                            is_allprop=is_allprop, extra=[PRIVILEGE_SET])

    def get_property_value(self, name: str) -> Any:
        if name == PRIVILEGE_SET:
            return privilege_set(["read"])
        return super().get_property_value(name)

    def begin_write(self, *, content_type: str | None = None) -> Any:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        """Restore this version when ``dest_path`` is its file (any address of it:
        the drive's, or the sync apps'); else 403. The right to change the file is
        checked again on the destination (write-content)."""
        located = self.provider.locate(dest_path, self.environ)
        target = self.provider.get_resource_inst(dest_path, self.environ)
        if located is None or target is None or getattr(target, "node", None) is None \
                or target.node.id != self.version.node_id or target.is_collection:
            raise DAVError(HTTP_FORBIDDEN, "A version can only be copied onto its own file "
                           "(to restore it); download it to keep it elsewhere.")
        target._require("write-content")
        with dav_errors():
            versions.restore(self.provider.store, self.version.id,
                             made_by=self.provider.access(self.environ).principal.id)
        target._changed()
        return True
