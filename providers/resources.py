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
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    HTTP_NOT_FOUND,
    DAVError,
    PRECONDITION_CODE_ProtectedProperty,
)
from wsgidav.dav_provider import DAVCollection, DAVNonCollection

import acl
import quotas
from acl import NodeRef, Standing
from davserver.errors import BadRequest, Conflict, DomainError, InsufficientStorage

from . import checksums, drop_folder, oc_props, operations, properties
from .access import RequestAccess
from .blobs import BlobInfo, BlobWriter
from .damage import open_checked
from .errors import dav_errors
from .folder_etags import composite
from .guards import CLOSE_CONNECTION_KEY, CREATED_KEY, OC_MTIME_KEY, announce_file, parse_length
from .live_props import (
    _USAGE_KEY,
    ENT_NS,
    PRIVILEGE_SET,
    QUOTA_PROPS,
    QuotaReport,
    listed_names,
    privilege_set,
    space_usage,
)
from .names import parent_of, path_key, validate_name, xml_safe
from .oc_props import OC_NS
from .operations import node_ref
from .store import NodeInfo, SpaceInfo, Stamp, Store
from .virtual_dav import binder_folders

if TYPE_CHECKING:
    from .dav import EntProvider

OC_CHECKSUMS = f"{{{OC_NS}}}checksums"
MS_NS = "urn:schemas-microsoft-com:"
# Our own properties (rubric spaces): publication state and author of each node.
PUBLICATION_STATE = f"{{{ENT_NS}}}publication-state"
AUTHOR = f"{{{ENT_NS}}}author"
MTIME_PROPS = ("{DAV:}getlastmodified", f"{{{MS_NS}}}Win32LastModifiedTime")
PROPPATCH_PLAN_KEY = "davserver.proppatch_plan"
# Parses only to look: no entity is substituted, no DTD or network resource loaded.
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
RESOLVED_KEY = "davserver.resolved"
NODES_KEY = "davserver.nodes"
"""This request's memo of stored nodes: (space id, path key) → NodeInfo, or None for
a path its queries found nothing at (:func:`request_chain`)."""
WRITE_CONTEXT_KEY = "davserver.write_context"
"""A PUT's :class:`providers.store.WriteContext`, read with its path."""
# An early 507 on a body larger than this closes the connection instead of reading
# the rest of the body (cheroot reads it all before answering, otherwise).
DRAIN_LIMIT = 16 * 2**20

def parse_http_time(value: str | int | float) -> float:
    """UTC epoch seconds from an RFC 1123 date (``getlastmodified``, Win32 times) or a
    number of seconds (``X-OC-Mtime``). Raises ``BadRequest``."""
    if isinstance(value, int | float):
        return float(value)
    text = (value or "").strip()
    if text.isdecimal():
        return float(text)
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"not an HTTP date: {text!r}") from exc


def forget_resolved(environ: dict[str, Any]) -> None:
    """Drop this request's resolution and usage caches after a change."""
    environ.pop(RESOLVED_KEY, None)
    environ.pop(NODES_KEY, None)
    environ.pop(_USAGE_KEY, None)
    environ.pop(WRITE_CONTEXT_KEY, None)


def request_chain(store: Store, environ: dict[str, Any], space_id: int,
                  path: str) -> list[NodeInfo]:
    """:meth:`Store.resolve_chain` of ``path`` (space-relative, any spelling) for this
    request: answered from what its earlier queries found when they covered every
    folder above ``path`` and ``path`` itself, else one query whose rows are kept.

    A MOVE or COPY looks up its source and the folder above it, then its destination,
    the folder above that and the name there (RFC 4918 §9.8, §9.9): five queries, three
    of them for nodes the first two had read already. The memo lives in the request's
    environ and is dropped with :func:`forget_resolved` after any change, so nothing
    read before a write is believed after it. A missing folder means nothing below it
    exists: its sub-paths are known absent too."""
    if "\x00" in path:
        return []
    memo: dict[tuple[int, str], NodeInfo | None] = environ.setdefault(NODES_KEY, {})
    key = path_key(path)
    segments = key.split("/")[1:] if key else []
    prefixes = [""] + ["/" + "/".join(segments[:i + 1]) for i in range(len(segments))]
    known = [memo.get((space_id, prefix), _UNKNOWN) for prefix in prefixes]
    if _UNKNOWN not in known:
        chain: list[NodeInfo] = []
        for node in known:
            if node is None:
                break
            chain.append(node)  # type: ignore[arg-type]
        return chain
    chain = store.resolve_chain(space_id, path)
    for depth, prefix in enumerate(prefixes):
        memo[(space_id, prefix)] = chain[depth] if depth < len(chain) else None
    return chain


def request_node(store: Store, environ: dict[str, Any], space_id: int,
                 path: str) -> NodeInfo | None:
    """The node at ``path`` for this request, or None (:func:`request_chain`)."""
    chain = request_chain(store, environ, space_id, path)
    return chain[-1] if chain and chain[-1].path == path_key(path) else None


_UNKNOWN: Any = object()


def make_resource(path: str, environ: dict[str, Any], space: SpaceInfo, node: NodeInfo,
                  chain: tuple[NodeRef, ...]) -> FolderResource | FileResource:
    """The resource of ``node``; ``chain`` holds the nodes from the space root down to
    it (``node`` last), for access decisions."""
    if node.is_collection:
        return FolderResource(path, environ, space, node, chain)
    return FileResource(path, environ, space, node, chain)


class SpaceResourceMixin:
    """What files and folders of a space share: identity, times, properties, copy/move."""

    path: str
    environ: dict[str, Any]
    provider: EntProvider
    is_collection: bool

    def _init_node(self, space: SpaceInfo, node: NodeInfo | None, rel_path: str,
                   chain: tuple[NodeRef, ...]) -> None:
        self.space = space
        self.node = node
        self.rel_path = rel_path
        self.chain = chain

    @property
    def store(self) -> Store:
        return self.provider.store

    @property
    def access(self) -> RequestAccess:
        return self.provider.access(self.environ)

    def _standing(self, space: SpaceInfo | None = None) -> Standing:
        return self.access.standing(space or self.space)

    def _require(self, privilege: str, chain: tuple[NodeRef, ...] | None = None,
                 space: SpaceInfo | None = None) -> None:
        """Raise 403 (or 404 when unreadable) unless the user holds ``privilege`` on
        the last node of ``chain`` (default: this resource) in ``space``."""
        with dav_errors():
            acl.require(self._standing(space), privilege,
                        self.chain if chain is None else chain)

    def holds(self, privilege: str) -> bool:
        """Does the signed-in user hold ``privilege`` (an ``acl`` name) here?"""
        return acl.allowed(self._standing(), privilege, self.chain)

    def prevent_locking(self) -> bool:
        """Only who may change what a lock covers may lock it: a lock stops everyone
        else's changes (issue 18: a writer's lock on a rubric's root blocked its
        moderator). That is RFC 3744 ``DAV:write`` on the resource and, for a
        depth-infinity LOCK of a folder, on everything below it (one query over the
        subtree, none when the user's role reaches every node). False for a new file
        whose first PUT is streaming; during a LOCK request a refusal is a 403 that
        says why (WsgiDAV's own message would say locking is unsupported)."""
        if self.node is None:
            return False
        if self.environ.get("REQUEST_METHOD") != "LOCK":
            return not self.holds("write")
        refresh = (self.environ.get("CONTENT_LENGTH") or "0") == "0"
        whole = (self.is_collection and not refresh
                 and self.environ.get("HTTP_DEPTH", "infinity") == "infinity")
        try:
            if whole:
                operations.require_subtree(self.store, self._standing(), "write",
                                           self.node, self.chain)
            else:
                acl.require(self._standing(), "write", self.chain)
        except DomainError as exc:
            # Not the member's path: it may be someone's pending file, hidden from them.
            what = ("everything in this folder (some of it is other people's)" if whole
                    else "this resource")
            raise DAVError(HTTP_FORBIDDEN, f"You may not change {what}, so you may not "
                           "lock it.") from exc
        return False

    def _stamp(self, space: SpaceInfo | None = None,
               chain: tuple[NodeRef, ...] | None = None) -> Stamp:
        """Author and publication state of what the user adds under ``chain``."""
        return Stamp(self.access.principal.id, acl.publishes_at_once(
            self._standing(space), self.chain if chain is None else chain),
            (space or self.space).kind)

    def _require_subtree(self, privilege: str) -> None:
        """``privilege`` on this node and, when it does not reach every node (a writer
        removes their own things only), on each node below it too."""
        if self.node is None:
            self._require(privilege)
            return
        with dav_errors():
            operations.require_subtree(self.store, self._standing(), privilege, self.node,
                                       self.chain)

    def _changed(self) -> None:
        forget_resolved(self.environ)

    def _usage(self) -> quotas.Usage | None:
        """This space's quota figures, read once per request."""
        return space_usage(self.provider, self.environ, self.space)

    def quota_space(self) -> SpaceInfo:
        """The space whose RFC 4331 figures a collection here reports: its own."""
        return self.space

    def get_ref_url(self) -> str:
        return self.provider.ref_url(self.space, self.path)

    def get_display_name(self) -> str:
        # The root of a space is shown under its top collection's name; a name stored
        # before control characters were refused is shown without them (valid XML).
        return xml_safe(util.get_uri_name(self.path.rstrip("/")) or "/")

    def get_creation_date(self) -> float | None:
        return self.node.created if self.node else None

    def get_last_modified(self) -> float | None:
        return self.node.modified if self.node else None

    # --- properties -----------------------------------------------------------

    def get_property_names(self, *, is_allprop: bool) -> list[str]:
        extra = [PRIVILEGE_SET]
        if self.node and not self.node.is_collection:
            extra.append(OC_CHECKSUMS)
        names = listed_names(super().get_property_names(is_allprop=is_allprop),  # type: ignore[misc]
                             is_allprop=is_allprop, extra=extra)
        if self.node:
            names.extend(self.node.dead_props)
        if self.space.kind == "rubric":
            names.extend((PUBLICATION_STATE, AUTHOR))
        return names

    def get_property_value(self, name: str) -> Any:
        if self.node and name in self.node.dead_props:
            return xml_tools.string_to_xml(self.node.dead_props[name])
        if name == PRIVILEGE_SET:
            return privilege_set(acl.privileges(self._standing(), self.chain))
        if name == PUBLICATION_STATE and self.node:
            return "published" if self.node.published else "pending"
        if name == AUTHOR and self.node and self.node.author_id is not None:
            return self.access.logins({self.node.author_id}).get(self.node.author_id)
        if name == OC_CHECKSUMS and self.node and not self.node.is_collection:
            return _checksums_element(self.node)
        if name in oc_props.NAMES and self.node is not None:
            return self._oc_value(name, self.node)
        if name in QUOTA_PROPS and not self.is_collection:
            raise DAVError(HTTP_NOT_FOUND)  # RFC 4331 §3: defined on collections only
        if name == "{DAV:}getetag" and (etag := self.get_etag()):  # type: ignore[attr-defined]
            # RFC 4918 §15.6: the value is an entity-tag, quoted as in the ETag header.
            return f'"{etag}"'

        return super().get_property_value(name)  # type: ignore[misc]

    def _is_dead(self, name: str, value: Any) -> bool:
        """Is a PROPPATCH of ``name`` (``value`` None: a removal) one of a dead
        property? Else it is ours to compute or protect (:meth:`set_property_value`)."""
        if value is not None and name in MTIME_PROPS:
            return False
        if name == PUBLICATION_STATE and self.space.kind == "rubric":
            return False
        return not (name.startswith("{DAV:}") or name in (OC_CHECKSUMS, AUTHOR)
                    or name in oc_props.NAMES)

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> Any:
        """PROPPATCH one property: lock and live ``DAV:`` properties are protected
        (403 ``cannot-modify-protected-property``) except ``getlastmodified``;
        ``Win32LastModifiedTime`` sets the modification time too; everything else is
        a dead property stored on the node, within the limits and the quota
        (:mod:`providers.properties`). The dead properties of one PROPPATCH are
        written together, in one transaction, when the first of them is
        (:func:`plan_proppatch` planned them): RFC 4918 §9.2, all or none."""
        if value is not None and name in MTIME_PROPS:
            return self.set_last_modified(self.path, value.text, dry_run=dry_run)
        if name == PUBLICATION_STATE and self.space.kind == "rubric":
            return self._set_publication(value, dry_run=dry_run)
        if not self._is_dead(name, value):
            raise DAVError(HTTP_FORBIDDEN, err_condition=PRECONDITION_CODE_ProtectedProperty)
        self._require("write-properties")
        text = None if value is None else etree.tostring(value, encoding="unicode")
        with dav_errors():
            properties.check_entry(name, text)
        if dry_run or self.node is None:
            return None
        plan = self.environ.get(PROPPATCH_PLAN_KEY)
        if plan is None or plan.node_id != self.node.id:
            plan = PlannedPatch(self.node.id, {name: text})
        plan.apply(self.store, self.node)
        self._changed()
        return None

    def plan_proppatch(self, body: bytes) -> None:
        """Before WsgiDAV runs a PROPPATCH: gather its dead properties, check the
        limits and the quota for all of them, and keep them for
        :meth:`set_property_value`. Raises ``DAVError`` 507, for the whole request,
        when they do not fit (``quota-not-exceeded`` when the space is full). Does
        nothing when the user may not write properties here (WsgiDAV then answers
        each property 403) or the body is not a property update (WsgiDAV's 400)."""
        if self.node is None or not self.holds("write-properties"):
            return
        try:
            root = etree.fromstring(body, _SAFE_PARSER)
        except etree.XMLSyntaxError:
            return
        if root.tag != "{DAV:}propertyupdate":
            return
        changes: dict[str, str | None] = {}
        for action in root:
            if action.tag not in ("{DAV:}set", "{DAV:}remove"):
                continue
            for prop in action.iterfind("{DAV:}prop"):
                for element in prop:
                    if not isinstance(element.tag, str):
                        continue
                    value = element if action.tag == "{DAV:}set" else None
                    if self._is_dead(element.tag, value):
                        changes[element.tag] = None if value is None else \
                            etree.tostring(value, encoding="unicode")
        if not changes:
            return
        with dav_errors():
            _props, size = properties.patched(self.node.dead_props, changes)
            growth = size - properties.size_of(self.node.dead_props)
            figures = self._usage()
            if growth > 0 and growth > (figures.available if figures else 0):
                raise InsufficientStorage(
                    f"Not enough room left in this space (quota) for {growth} more bytes "
                    "of properties.")
        self.environ[PROPPATCH_PLAN_KEY] = PlannedPatch(self.node.id, changes)

    def _oc_value(self, name: str, node: NodeInfo) -> str:
        """A Nextcloud/ownCloud property of this resource (:mod:`.oc_props`); 404 where
        it has none."""
        perms = ""
        if name == oc_props.PERMISSIONS:
            perms = oc_props.permissions(self._standing(), self.chain,
                                         is_collection=node.is_collection,
                                         is_space_root=node.parent_id is None)
        size = node.size
        if name == oc_props.SIZE and node.is_collection:
            size = sum(self.store.subtree_sizes(node).values())
        value = oc_props.text_value(name, node_id=node.id, size=size, perms=perms)
        if value is None:
            raise DAVError(HTTP_NOT_FOUND)
        return value

    def _set_publication(self, value: Any, *, dry_run: bool) -> None:
        """A moderator publishes (``published``) or withdraws (``pending``) a node."""
        self._require("publish")
        text = (value.text or "").strip() if value is not None else ""
        if text not in ("published", "pending"):
            raise DAVError(HTTP_BAD_REQUEST, "publication-state is 'published' or "
                           "'pending'")
        if not dry_run and self.node is not None:
            with dav_errors():
                self.store.set_published(self.node, text == "published")
            self._changed()

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
        (RFC 4918 §9.6.1). Ancestors' locks were checked before this is called.
        A space's root is refused whole (409), before anything below it is touched:
        else WsgiDAV's member-by-member path would empty it and fail only at the end."""
        if self.node is not None and self.node.parent_id is None:
            raise DAVError(HTTP_CONFLICT, "The root of a space cannot be deleted.")
        if "HTTP_IF" in self.environ:
            return False
        if self.provider.locks.get_lock_list(self.get_ref_url(), include_root=True,
                                             include_children=True, token_only=True):
            return False
        self.delete()
        return True

    def delete(self) -> None:
        """Delete this resource and all below it into the space's trash, in one
        transaction (RFC 4918 §9.6: the path answers 404 afterwards)."""
        self._require_subtree("unbind")
        assert self.node is not None
        gone = self._folder_ids()
        with dav_errors():
            self.store.delete(self.node, deleted_by=self.access.principal.id)
        self._drop_folder_grants(gone)
        self.remove_all_locks(recursive=True)  # type: ignore[attr-defined]
        self._changed()

    def _folder_ids(self) -> list[int]:
        """Ids of this folder and of the folders below it, in a rubric space (where
        grants may name them); none elsewhere."""
        if self.node is None:
            return []
        return operations.folder_ids(self.store, self.space, self.node)

    def _drop_folder_grants(self, folder_ids: list[int]) -> None:
        """Forget the grants of folders that left their rubric (deleted, replaced or
        moved out): otherwise a grant on a gone folder keeps the rubric listed for its
        holder, and a folder moved back in would get its old readers again."""
        operations.drop_folder_grants(self.store, folder_ids)

    def _destination(self, dest_path: str) -> tuple[SpaceInfo, str, Any, Stamp]:
        """Check the user may create at ``dest_path`` (bind on its folder) and replace
        what is there (unbind); return its space, path, resource and the stamp of
        what arrives there."""
        located = self.provider.locate(dest_path, self.environ)
        if located is None:
            raise DAVError(HTTP_FORBIDDEN, "The destination is not inside a space.")
        space, rel = located
        if rel == "":
            raise DAVError(HTTP_FORBIDDEN, "The destination is the root of a space.")
        folder_path = parent_of(rel)[0]
        with dav_errors():
            found = operations.readable_chain_of(
                request_chain(self.store, self.environ, space.id, folder_path),
                self._standing(space), folder_path)
        if found is None:
            raise DAVError(409, "The destination folder does not exist.")
        chain = found[1]
        self._require("bind", chain, space)
        existing = self.provider.get_resource_inst(dest_path, self.environ)
        taken = (request_node(self.store, self.environ, space.id, rel)
                 if existing is None else None)
        if existing is not None:
            existing._require_subtree("unbind")
        elif taken is not None and (self.node is None or taken.id != self.node.id):
            # Something the user may not see has that name: never replace it blindly.
            # (The node itself there is a MOVE that respells its name: NFC and NFD.)
            raise DAVError(409, "That name is taken in the destination folder.")
        return space, rel, existing, self._stamp(space, chain)

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        """COPY natively in one transaction; blobs are shared (RFC 4918 §9.8).
        ``Depth: 0`` on a folder copies the folder without its members."""
        self._require("read")
        space, rel, existing, stamp = self._destination(dest_path)
        assert self.node is not None
        gone = existing._folder_ids() if existing is not None else []
        with dav_errors():
            self.store.copy(self.node, space.id, rel, recursive=depth_infinity,
                            stamp=stamp, only=self._readable_subtree(depth_infinity))
        self._finish_transfer(existing, gone)
        self._announce_arrival(space, rel)
        return True

    def handle_move(self, dest_path: str) -> bool:
        """MOVE natively: rows change, bytes do not; locks stay behind (RFC 4918 §9.9)."""
        self._require_subtree("unbind")
        space, rel, existing, stamp = self._destination(dest_path)
        assert self.node is not None
        gone = self._folder_ids() if space.id != self.space.id else []
        gone += existing._folder_ids() if existing is not None else []
        with dav_errors():
            self.store.move(self.node, space.id, rel, stamp=stamp)
        self.remove_all_locks(recursive=True)  # type: ignore[attr-defined]
        self._finish_transfer(existing, gone)
        self._announce_arrival(space, rel)
        return True

    def _announce_arrival(self, space: SpaceInfo, rel: str) -> None:
        """A file copied or moved into a school's imports folder (a client that uploads
        to a temporary name, then renames) is announced as a PUT there is."""
        if space.kind != drop_folder.KIND or self.is_collection:
            return
        arrived = self.store.resolve(space.id, rel)
        if arrived is not None and not arrived.is_collection:
            drop_folder.announce(self.store, space, rel, arrived.id, self.access.principal.id)

    def _readable_subtree(self, recursive: bool) -> set[int] | None:
        """Ids of the nodes of this folder's subtree the user may read, when some are
        hidden from them (a copy takes only what its author could see); None: all."""
        if self.node is None:
            return None
        return operations.readable_subtree(self.store, self._standing(), self.node,
                                           self.chain, recursive=recursive)

    def _finish_transfer(self, existing: Any, gone_folders: list[int]) -> None:
        """After a COPY or MOVE: the replaced resource's locks go, and the grants of
        folders that left their rubric (replaced, or moved to another space)."""
        self._drop_folder_grants(gone_folders)
        if existing is not None:
            existing.remove_all_locks(recursive=True)
        else:
            self.environ[CREATED_KEY] = True  # 201, not WsgiDAV's fixed 204
        self._changed()


class PlannedPatch:
    """The dead properties one PROPPATCH sets (XML) or removes (None) on one node,
    written at once by the first :meth:`apply`; later calls repeat its outcome."""

    def __init__(self, node_id: int, changes: dict[str, str | None]) -> None:
        self.node_id = node_id
        self.changes = changes
        self.done = False
        self.error: DAVError | None = None

    def apply(self, store: Store, node: NodeInfo) -> None:
        if not self.done:
            self.done = True
            try:
                with dav_errors():
                    store.patch_dead_props(node, self.changes)
            except DAVError as exc:
                self.error = exc
        if self.error is not None:
            raise self.error


def _checksums_element(node: NodeInfo) -> Any:
    """ownCloud ``oc:checksums``: ``<oc:checksum>SHA1:… MD5:…</oc:checksum>``."""
    root = etree.Element(OC_CHECKSUMS, nsmap={"oc": OC_NS})
    etree.SubElement(root, f"{{{OC_NS}}}checksum").text = f"SHA1:{node.sha1} MD5:{node.md5}"
    return root


class FolderResource(SpaceResourceMixin, QuotaReport, DAVCollection):
    """A folder of a space (the space root included)."""

    def __init__(self, path: str, environ: dict[str, Any], space: SpaceInfo,
                 node: NodeInfo, chain: tuple[NodeRef, ...]) -> None:
        super().__init__(path, environ)
        self._init_node(space, node, node.path, chain)

    def visible_children(self) -> list[tuple[NodeInfo, tuple[NodeRef, ...]]]:
        """Members the user may read, with their chains, ordered by name; one query.
        A hidden member is left out, never an error for the whole listing (the ACL
        form of BUG-08 in shared/cases/client-interop.md)."""
        assert self.node is not None
        standing = self._standing()
        members = []
        for node in self.store.children(self.node):
            chain = (*self.chain, node_ref(node))
            if acl.allowed(standing, "read", chain):
                members.append((node, chain))
        if self.space.kind == "rubric":  # authors' logins for the listing, one query
            self.access.logins({n.author_id for n, _ in members if n.author_id is not None})
        return members

    def virtual_members(self) -> list[str]:
        """Names of the read-only folders registered for the binder root
        (:mod:`.virtual_dav`); none elsewhere. They hide a real member of that name."""
        if self.space.kind != "binder" or self.node is None or self.node.path != "":
            return []
        return binder_folders()

    def get_member_names(self) -> list[str]:
        virtual = self.virtual_members()
        return [n.name for n, _ in self.visible_children() if n.name not in virtual] + virtual

    def support_etag(self) -> bool:
        return True

    def get_etag(self) -> str | None:
        """A token that changes whenever anything below changes
        (:mod:`.folder_etags`); the binder root's includes its read-only folders'."""
        if self.node is None:
            return None
        virtual = self.virtual_members()
        if not virtual:
            return self.node.etag
        return composite([self.node.etag or "", *(
            f"{name}:{res.get_etag() or ''}" for name in virtual
            if (res := self.get_member(name)) is not None)])

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def get_member_list(self) -> list[Any]:
        """Readable members from one query (WsgiDAV would resolve each name again)."""
        virtual = self.virtual_members()
        members = [make_resource(util.join_uri(self.path, node.name), self.environ,
                                 self.space, node, chain)
                   for node, chain in self.visible_children() if node.name not in virtual]
        return members + [m for m in map(self.get_member, virtual) if m is not None]

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
        standing = self._standing()
        for node in self.store.descendants(self.node):  # parents come before members
            parent = by_id.get(node.parent_id or -1)
            chain = (*parent.chain, node_ref(node)) if parent is not None else ()
            if parent is None or not acl.allowed(standing, "read", chain):
                continue
            res = make_resource(util.join_uri(parent.path, node.name), self.environ,
                                self.space, node, chain)
            by_id[node.id] = res
            if (collections and node.is_collection) or (resources and not node.is_collection):
                found.append(res)
        if add_self and collections:
            found.insert(0, self)
        if depth_first:
            found.sort(key=lambda r: -r.path.rstrip("/").count("/"))
        return found

    def new_file(self, name: str) -> FileResource:
        """A file to be written at the new name ``name`` here (its node is None until
        its content is committed): the user must hold ``bind`` here. Raises
        ``DAVError`` 403, 400 (a bad name) or 409 (the name is someone's hidden file)."""
        self._require("bind")
        with dav_errors():
            validate_name(name)
            if self.space.kind == "rubric" and self.store.resolve(
                    self.space.id, self.rel_path + "/" + name) is not None:
                # Only reached when the user may not see what has that name (a pending
                # file of someone else): never overwrite it unseen.
                raise Conflict("That name is taken in this folder.")
        return FileResource(util.join_uri(self.path, name), self.environ, self.space, None,
                            self.chain, rel_path=self.rel_path + "/" + name)

    def create_empty_resource(self, name: str) -> FileResource:
        """PUT to a new name: nothing is stored until the body is complete (no stub
        on failure). LOCK on an unmapped URL: an empty file (RFC 4918 §7.3)."""
        new = self.new_file(name)
        if self.environ.get("REQUEST_METHOD") == "PUT":
            return new
        path = new.path
        self._before_lock_null()
        with dav_errors():
            node = self.store.create_empty(self.space.id, self.rel_path + "/" + name,
                                           self._stamp())
        # Lock-null until content arrives (providers.locks): removed if the lock is
        # refused, ends, or the first PUT fails.
        self.provider.locks.note_created(node.id, self.provider.ref_url(self.space, path))
        self._changed()
        return FileResource(path, self.environ, self.space, node,
                            (*self.chain, node_ref(node)))

    def _before_lock_null(self) -> None:
        """Checks a LOCK on a new name needs before the empty file exists: the holder's
        lock limit (500 LOCKs on new names once made 500 empty files, issue 18), and
        this folder's locks, since a new member changes the folder (RFC 4918 §7.4;
        WsgiDAV checks them for PUT, not for LOCK)."""
        principal = self.environ["wsgidav.user_name"]
        self.provider.locks.check_room(principal)
        self.provider.lock_manager.check_write_permission(
            url=self.get_ref_url(), depth="0", principal=principal,
            token_list=self.environ.get("wsgidav.ifLockTokenList", []))

    def create_collection(self, name: str) -> None:
        """MKCOL (RFC 4918 §9.3); honours ``X-OC-Mtime``."""
        self._require("bind")
        mtime = self.environ.get(OC_MTIME_KEY)
        with dav_errors():
            node = self.store.make_collection(self.space.id, self.rel_path + "/" + name,
                                              mtime, self._stamp())
        announce_file(self.environ, node)  # the sync apps read the new folder's id
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
    for key, header in (("CONTENT_LENGTH", "Content-Length"),
                        ("HTTP_X_EXPECTED_ENTITY_LENGTH", "X-Expected-Entity-Length")):
        try:
            size = parse_length(environ.get(key), header)
        except DAVError:  # a hint we cannot read is no hint (guards checked Content-Length)
            continue
        if size is not None:
            return size
    return None


def download_headers(node: NodeInfo | None) -> list[tuple[str, str]]:
    """``OC-FileId``, ``OC-ETag`` and ``OC-Checksum`` of a file's GET answer (both
    ways of answering it: WsgiDAV's and :mod:`.plain_get`)."""
    if node is None:
        return []
    return [("OC-FileId", oc_props.oc_id(node.id)), ("OC-ETag", f'"{node.etag}"'),
            ("OC-Checksum", f"SHA1:{node.sha1}")]


class FileContentMixin:
    """What WsgiDAV reads of a stored file (length, type, etag, ranges, content),
    shared by live files and files in the trash (:mod:`providers.trash_dav`)."""

    node: NodeInfo | None
    store: Store
    path: str

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

    def finalize_headers(self, environ: dict[str, Any], headers: list[tuple[str, str]]
                         ) -> None:
        """What GET adds for the sync apps: the file's id, its ETag as they read it,
        and its checksum, which they check the downloaded bytes against."""
        headers.extend(download_headers(self.node))

    def open_content(self, *, dav: bool = False) -> BinaryIO:
        """The file's bytes, checked against its recorded size (:mod:`.damage`): a
        missing blob file raises ``DamagedContent`` (with ``dav``: ``DAVError`` 500
        saying so), and so does a read that finds the file shorter than recorded;
        both are logged at ERROR with the path and the blob key."""
        node = self.node
        assert node is not None
        return open_checked(lambda: self.store.open(node), node.size,
                            f"{self.path} (space {node.space_id})", node.blob_key, dav=dav)

    def get_content(self) -> BinaryIO:
        """What WsgiDAV sends (GET with a range or a precondition, or any GET the
        short way declines): damaged storage is a 500 that says so, before the
        answer starts, or a connection closed where the bytes end; never a body
        shorter than its ``Content-Length``."""
        return self.open_content(dav=True)


class FileResource(FileContentMixin, SpaceResourceMixin, DAVNonCollection):
    """A file of a space. ``node`` is None while a new file's first PUT is streaming;
    ``chain`` then ends at its folder."""

    def __init__(self, path: str, environ: dict[str, Any], space: SpaceInfo,
                 node: NodeInfo | None, chain: tuple[NodeRef, ...], *,
                 rel_path: str | None = None) -> None:
        super().__init__(path, environ)
        self._init_node(space, node, node.path if node else (rel_path or ""), chain)
        self._upload: _Upload | None = None

    def begin_write(self, *, content_type: str | None = None) -> _Upload:
        """Start a PUT body: a new blob, never the current content (habit 9).

        The quota is checked before any byte is read: an announced size reserves
        its growth or gets 507 (RFC 4918 §11.5, RFC 4331 ``quota-not-exceeded``)."""
        if self.node is not None:  # a new file's bind was checked by its folder
            self._require("write-content")
        old_size = self.node.size if self.node else 0
        announced = _announced_size(self.environ)
        context = self.environ.get(WRITE_CONTEXT_KEY)
        known = context.figures if context and context.space_id == self.space.id else None
        try:
            with dav_errors():
                reserved, cap = operations.reserve_upload(self.store, self.space.id,
                                                          old_size, announced, known)
        except DAVError:
            # cheroot reads an unread Content-Length body before answering, but not a
            # chunked one, whose rest would be taken for the next request.
            chunked = not (self.environ.get("CONTENT_LENGTH") or "").strip()
            if chunked or (announced or 0) > DRAIN_LIMIT:
                self.environ[CLOSE_CONNECTION_KEY] = True
            raise
        self._upload = _Upload(self.store.new_writer(reserved), cap, reserved, self.environ)
        return self._upload

    def end_write(self, *, with_errors: bool) -> None:
        """Finish a PUT: on errors discard the new blob (the old content stays); else
        commit it, the size and the usage in one transaction."""
        upload, self._upload = self._upload, None
        if with_errors:
            if upload is not None:
                upload.writer.abort()
                self.store.release(self.space.id, upload.reserved)
            self._first_put_failed()
            return
        if upload is None:
            return
        try:
            self._commit(upload)
        except BaseException:
            self._first_put_failed()
            raise
        if self.node is not None:
            self.provider.locks.content_arrived(self.node.id)
        self._changed()
        drop_folder.announce(self.store, self.space, self.rel_path,
                             self.node.id if self.node else None, self.access.principal.id)

    def _commit(self, upload: _Upload) -> None:
        expected = self.environ.get("CONTENT_LENGTH")
        if expected and expected.isdecimal() and int(expected) != upload.writer.size:
            # Habit 9: the body ended early (client gone); keep the old content.
            upload.writer.abort()
            self.store.release(self.space.id, upload.reserved)
            raise DAVError(HTTP_BAD_REQUEST, f"Received {upload.writer.size} of "
                           f"{expected} bytes announced by Content-Length.")
        info = upload.writer.finish()
        try:
            with dav_errors():
                checksums.verify(self.environ.get("HTTP_OC_CHECKSUM"), info)
        except DAVError:
            self.store.discard_blob(info, self.space.id, upload.reserved)
            raise
        self.commit_blob(info, mtime=self.environ.get(OC_MTIME_KEY),
                         reserved=upload.reserved)

    def commit_blob(self, info: BlobInfo, *, mtime: float | None, reserved: int = 0,
                    within: Any = None) -> NodeInfo:
        """Point this file at the finished blob ``info`` (a PUT's body, an assembled
        chunked upload), settling ``reserved`` bytes; ``within`` runs in the same
        transaction first (:meth:`Store.commit_write`). Tells the sync apps its file
        id and ETag (``OC-FileId``, ``OC-ETag``). Raises ``DAVError``; the blob is
        discarded on failure."""
        with dav_errors():
            self.node = self.store.commit_write(
                self.space.id, self.rel_path, info, mtime=mtime, reserved=reserved,
                stamp=self._stamp(chain=self.chain[:-1] if self.node else self.chain),
                within=within)
        announce_file(self.environ, self.node)
        return self.node

    def _first_put_failed(self) -> None:
        """A PUT failed (507, 403, a broken body): if this file is a lock-null one
        (made by a LOCK, never written), it goes with its locks, leaving no 0-byte
        file behind (issue 17)."""
        if self.node is not None and self.provider.locks.upload_failed(self.node.id):
            self._changed()
