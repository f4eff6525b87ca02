"""The trash over WebDAV: ``/dav/corbeille/`` (issue 8), read-only; restoring is a MOVE.

``/dav/corbeille/``                         :class:`TrashRoot`
``/dav/corbeille/porte-documents/``         :class:`SpaceTrash` of the user's documents
``/dav/corbeille/classeur/``                the binder's (teachers)
``/dav/corbeille/rubriques/``               :class:`RubricTrashes`: rubrics whose trash
                                            the user may see
``/dav/corbeille/rubriques/<slug>/``        that rubric's :class:`SpaceTrash`
``…/<name>[/member…]``                      :class:`TrashedFolder`, :class:`TrashedFile`

Each deleted item appears under its original name; the same name deleted twice
appears as ``rapport.pdf`` and ``rapport (2).pdf`` (oldest first). Who sees what is
``acl.sees_trashed``. Every write inside answers 403 with a message; a MOVE of a
deleted item to a place of a space restores it (same checks as any MOVE there:
bind on the folder, unbind of what it replaces; 412 with ``Overwrite: F``; 507 when
another space has no room). Properties in our namespace: ``original-path``,
``deleted-by`` (login) and ``deleted-at`` (RFC 3339, UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from wsgidav import util
from wsgidav.dav_error import HTTP_FORBIDDEN, DAVError
from wsgidav.dav_provider import DAVCollection, DAVNonCollection

import acl

from . import trash
from .errors import dav_errors
from .live_props import QuotaReport
from .names import name_key, xml_safe
from .read_only_dav import ReadOnlyListing
from .resources import (
    ENT_NS,
    PRIVILEGE_SET,
    FileContentMixin,
    SpaceResourceMixin,
    privilege_set,
)
from .store import NodeInfo, SpaceInfo
from .trash import TrashEntry

if TYPE_CHECKING:
    from .dav import EntProvider

TRASH = "corbeille"
ORIGINAL_PATH = f"{{{ENT_NS}}}original-path"
DELETED_BY = f"{{{ENT_NS}}}deleted-by"
DELETED_AT = f"{{{ENT_NS}}}deleted-at"
TRASH_PROPS = (ORIGINAL_PATH, DELETED_BY, DELETED_AT)
READ_ONLY = ("The trash is read-only: move an item out of it to restore it; "
             "delete forever in the browser.")
_ENTRIES_KEY = "davserver.trash"
# Methods refused anywhere under /dav/corbeille/ before WsgiDAV looks (PROPPATCH would
# otherwise be a 207 with a 403 per property). MOVE restores; COPY is refused by the
# resources, so that COPY *into* the trash gets the destination's answer.
REFUSED_METHODS = frozenset({"PUT", "MKCOL", "PROPPATCH", "DELETE", "LOCK", "UNLOCK",
                             "POST"})


def refuse_writes(segments: list[str], method: str) -> None:
    """403 with :data:`READ_ONLY` for a write method on a path of the trash tree."""
    if segments and segments[0] == TRASH and method in REFUSED_METHODS:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)


def display_names(entries: list[TrashEntry]) -> dict[str, TrashEntry]:
    """Name shown for each entry (in deletion order): its original name as written,
    or for a name deleted again (in any spelling: NFC and NFD are one name)
    ``name (2).ext``, ``name (3).ext``… never clashing."""
    shown: dict[str, TrashEntry] = {}
    keys: set[str] = set()
    for item in entries:
        name, n = item.name, 1
        stem, dot, ext = item.name.rpartition(".")
        if not stem or item.is_collection:
            stem, dot, ext = item.name, "", ""
        while name_key(name) in keys:
            n += 1
            name = f"{stem} ({n}){dot}{ext}"
        shown[name] = item
        keys.add(name_key(name))
    return shown


def find_shown(shown: dict[str, TrashEntry], name: str) -> TrashEntry | None:
    """The entry shown as ``name`` in either spelling (NFC or NFD), or None."""
    found = shown.get(name)
    if found is None:
        key = name_key(name)
        found = next((item for shown_name, item in shown.items()
                      if name_key(shown_name) == key), None)
    return found


def _visible(provider: EntProvider, environ: dict[str, Any],
             space: SpaceInfo) -> dict[str, TrashEntry]:
    """This request's listing of a space's trash as the user may see it (one query)."""
    cache: dict[int, dict[str, TrashEntry]] = environ.setdefault(_ENTRIES_KEY, {})
    if space.id not in cache:
        standing = provider.access(environ).standing(space)
        view = acl.trash_view(standing)
        found = [] if view is acl.TrashView.NONE else trash.entries(
            provider.store, space.id,
            deleted_by=standing.user_id if view is acl.TrashView.OWN else None)
        cache[space.id] = display_names(found)
    return cache[space.id]


def trash_resource(provider: EntProvider, path: str, segments: list[str],
                   environ: dict[str, Any]) -> Any:
    """The resource at ``path`` (``segments`` its decoded parts, ``corbeille`` first),
    or None (404)."""
    from .dav import RUBRICS  # the provider module imports this one

    rest = segments[1:]
    if not rest:
        return TrashRoot(path, environ)
    if rest == [RUBRICS]:
        return RubricTrashes(path, environ)
    located = provider.locate("/" + "/".join(rest), environ)
    if located is None:
        return None
    space, rel = located
    if rel == "":
        if acl.trash_view(provider.access(environ).standing(space)) is acl.TrashView.NONE:
            return None
        return SpaceTrash(path, environ, space)
    top, _, below = rel[1:].partition("/")
    item = find_shown(_visible(provider, environ, space), top)
    if item is None:
        return None
    node = trash.trashed_node(provider.store, item, "/" + below if below else "")
    if node is None:
        return None
    cls = TrashedFolder if node.is_collection else TrashedFile
    return cls(path, environ, space, item, node, "/" + below if below else "")


class _TrashListing(ReadOnlyListing):
    """A collection of the trash tree (:class:`ReadOnlyListing`); a space's trash
    reports that space's RFC 4331 figures."""

    read_only = READ_ONLY


class TrashRoot(_TrashListing):
    """``/dav/corbeille/``: one member per kind of space, as in the drive."""

    def get_member_names(self) -> list[str]:
        from .dav import BINDER, DOCUMENTS, RUBRICS

        has_binder = self.provider.access(self.environ).has_binder()
        return [DOCUMENTS, RUBRICS, *([BINDER] if has_binder else [])]

    def get_display_name(self) -> str:
        return "Corbeille"


class RubricTrashes(_TrashListing):
    """``/dav/corbeille/rubriques/``: rubrics whose trash the user may see."""

    def get_member_names(self) -> list[str]:
        access = self.provider.access(self.environ)
        names = []
        for slug in access.rubrics():
            space = access.rubric_space(slug)
            if space is not None and acl.trash_view(
                    access.standing(space)) is not acl.TrashView.NONE:
                names.append(slug)
        return names


class SpaceTrash(_TrashListing):
    """The trash of one space: the deleted items the user may see, by shown name."""

    def __init__(self, path: str, environ: dict[str, Any], space: SpaceInfo) -> None:
        super().__init__(path, environ)
        self.space = space

    def quota_space(self) -> SpaceInfo:
        return self.space

    def get_member_names(self) -> list[str]:
        return list(_visible(self.provider, self.environ, self.space))

    def get_member_list(self) -> list[Any]:
        """The deleted items from two queries, whatever their number (WsgiDAV would
        resolve each name again)."""
        shown = _visible(self.provider, self.environ, self.space)
        nodes = trash.top_nodes(self.provider.store, list(shown.values()))
        members = []
        for name, item in shown.items():
            node = nodes.get(item.id)
            if node is not None:
                cls = TrashedFolder if node.is_collection else TrashedFile
                members.append(cls(util.join_uri(self.path, name), self.environ,
                                   self.space, item, node, ""))
        return members


class _Trashed(SpaceResourceMixin):
    """What deleted files and folders share: read-only, their trash properties,
    restore by MOVE (only the whole item, from its top)."""

    item: TrashEntry
    below: str

    def _init_trashed(self, space: SpaceInfo, item: TrashEntry, node: NodeInfo,
                      below: str) -> None:
        self._init_node(space, node, node.path, ())
        self.item = item
        self.below = below

    def get_ref_url(self) -> str:
        return "/-" + quote(self.path)

    def prevent_locking(self) -> bool:
        if self.environ.get("REQUEST_METHOD") == "LOCK":
            raise DAVError(HTTP_FORBIDDEN, READ_ONLY)
        return True

    def get_property_names(self, *, is_allprop: bool) -> list[str]:
        names = [n for n in super().get_property_names(is_allprop=is_allprop)
                 if not n.startswith(f"{{{ENT_NS}}}")]
        return [*names, *TRASH_PROPS]

    def get_property_value(self, name: str) -> Any:
        if name == ORIGINAL_PATH:
            return xml_safe(self.item.original_path + self.below)
        if name == DELETED_BY:
            who = self.item.deleted_by
            return self.access.logins({who}).get(who) if who is not None else None
        if name == DELETED_AT:
            return datetime.fromtimestamp(self.item.deleted_at, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
        if name == PRIVILEGE_SET:
            return privilege_set(["read"])
        return super().get_property_value(name)

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> Any:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)

    def set_last_modified(self, dest_path: str, time_stamp: Any, *, dry_run: bool) -> bool:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)

    def handle_delete(self) -> bool:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)

    def delete(self) -> None:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        raise DAVError(HTTP_FORBIDDEN, "Restore from the trash with MOVE, not COPY.")

    def handle_move(self, dest_path: str) -> bool:
        """Restore the deleted item to ``dest_path`` (issue 8): the same checks as
        any MOVE into that place; what it replaces (``Overwrite: T``) goes to the
        trash in turn."""
        if self.below:
            raise DAVError(HTTP_FORBIDDEN, "Restore the whole deleted item: move "
                           f"{self.item.name!r} out of the trash.")
        space, rel, existing, stamp = self._destination(dest_path)
        gone = existing._folder_ids() if existing is not None else []
        with dav_errors():
            trash.restore(self.store, self.item.id, space.id, rel, stamp=stamp,
                          overwrite=existing is not None,
                          replaced_by=self.access.principal.id)
        self._finish_transfer(existing, gone)
        return True


class TrashedFolder(_Trashed, QuotaReport, DAVCollection):
    """A deleted folder, or a folder inside one."""

    def __init__(self, path: str, environ: dict[str, Any], space: SpaceInfo,
                 item: TrashEntry, node: NodeInfo, below: str) -> None:
        DAVCollection.__init__(self, path, environ)
        self._init_trashed(space, item, node, below)

    def get_member_names(self) -> list[str]:
        assert self.node is not None
        return [n.name for n in self.store.children(self.node)]

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def create_empty_resource(self, name: str) -> Any:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)

    def create_collection(self, name: str) -> None:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)


class TrashedFile(FileContentMixin, _Trashed, DAVNonCollection):
    """A deleted file, or a file inside a deleted folder (readable, GET works)."""

    def __init__(self, path: str, environ: dict[str, Any], space: SpaceInfo,
                 item: TrashEntry, node: NodeInfo, below: str) -> None:
        DAVNonCollection.__init__(self, path, environ)
        self._init_trashed(space, item, node, below)

    def begin_write(self, *, content_type: str | None = None) -> Any:
        raise DAVError(HTTP_FORBIDDEN, READ_ONLY)
