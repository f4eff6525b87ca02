"""The one WsgiDAV provider behind ``/dav/``: the user's virtual root and their spaces.

Spaces are top collections of one provider, not separate WsgiDAV shares, so COPY
and MOVE between them work (DESIGN.md, "One DAV request"). The files and folders
inside a space are in :mod:`providers.resources`.

``/dav/``                    :class:`VirtualRoot` (the signed-in user's drive)
``/dav/porte-documents/``    their documents space (a folder resource at its root)
``/dav/rubriques/``          :class:`RubricsRoot`: the rubrics they see
``/dav/rubriques/<slug>/``   that rubric's space (shared folders)
``/dav/classeur/``           a teacher's binder (classeur pédagogique); absent for
                             other profiles (:func:`acl.has_binder`)
``/dav/imports/``             :class:`ImportsRoot`: the schools whose imports the user
                             manages, by UAI; absent for everyone else
``/dav/imports/<UAI>/``       that school's imports folder (:mod:`providers.drop_folder`)
``/dav/corbeille/…``         the trash of those spaces (:mod:`providers.trash_dav`)
``/dav/versions/…``          earlier versions of their files (:mod:`providers.versions_dav`;
                             not listed in ``/dav/``, so that a client copying the
                             drive does not copy every version)
``/dav/classeur/<name>/…``   read-only folders registered by other packages
                             (:mod:`providers.virtual_dav`: ``Remises``)
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from wsgidav import util
from wsgidav.dav_error import HTTP_CONFLICT, HTTP_FORBIDDEN, HTTP_NOT_FOUND, DAVError
from wsgidav.dav_provider import DAVCollection, DAVProvider

from . import oc_props
from .access import RequestAccess
from .drop_folder import IMPORTS
from .errors import dav_errors
from .folder_etags import composite
from .guards import guarded_request
from .handoff import Handoff, handed_over
from .live_props import QuotaReport, listed_names
from .lock_dav import handle_lock, handle_unlock
from .locks import SqlLockStorage
from .names import join_path, name_key, path_key, split_path
from .operations import readable_chain_of
from .preconditions import CONDITIONAL_HEADERS, check_mkcol, evaluate, validators_of
from .propfind import refuse_unbounded, stream_propfind
from .resources import (
    PRIVILEGE_SET,
    RESOLVED_KEY,
    WRITE_CONTEXT_KEY,
    FileResource,
    FolderResource,
    make_resource,
    privilege_set,
    request_chain,
)
from .store import SpaceInfo, Store
from .trash_dav import TRASH, refuse_writes, trash_resource
from .uploads_dav import UPLOADS, upload_resource
from .versions_dav import VERSIONS, versions_resource
from .versions_dav import refuse_writes as refuse_version_writes
from .virtual_dav import is_virtual, refuse_virtual_writes, virtual_resource

DOCUMENTS = "porte-documents"
RUBRICS = "rubriques"
BINDER = "classeur"
ARCHIVES = "archives"
# The top collections of /dav/, in listing order; the binder only for the profiles
# that have one, the school's archive (read-only) for those who read it, the schools'
# imports folders for their administrators.
TOP_COLLECTIONS = (DOCUMENTS, RUBRICS, BINDER, ARCHIVES, IMPORTS, TRASH)
SYNC_VIEW_KEY = "davserver.sync_view"
"""Set by the dispatcher for the sync apps' addresses (``davserver.sync_routes``):
``"files"`` (the drive as they sync it: no trash, no archives) or ``"uploads"`` (their
chunked uploads, :mod:`.uploads_dav`)."""
# What the sync apps do not see of the drive: the trash is not for syncing, the
# school's archives are big, read-only and the head's, and a file synced into an
# imports folder would start an import.
NOT_SYNCED = frozenset({TRASH, ARCHIVES, IMPORTS, VERSIONS})
# Requests whose lock look-ups (WsgiDAV walks every ancestor, and every member for
# DELETE and PROPFIND) are answered from one query. Not LOCK and UNLOCK, which change
# locks and read them back; GET and HEAD look none up.
SNAPSHOT_METHODS = frozenset({"PROPFIND", "PROPPATCH", "PUT", "DELETE", "MOVE", "COPY",
                              "MKCOL"})


class EntProvider(DAVProvider):
    """Serves every space of the signed-in user (``environ['davserver.principal']``)."""

    def __init__(self, store: Store, locks: SqlLockStorage, *, allow_infinity: bool = False,
                 max_xml_body: int = 1024 * 1024, upload_expiry: float = 86400.0) -> None:
        super().__init__()
        self.store = store
        self.locks = locks
        self.allow_infinity = allow_infinity
        self.max_xml_body = max_xml_body
        self.handoff: Handoff | None = None  # large downloads to nginx (davserver.app)
        self.upload_expiry = upload_expiry  # seconds an idle chunked upload is kept

    def is_readonly(self) -> bool:
        return False

    def custom_request_handler(self, environ: dict[str, Any], start_response: Any,
                               default_handler: Any) -> Any:
        """Checks WsgiDAV does not make, before any body is read (see guards)."""
        if "HTTP_IF" in environ:
            environ["HTTP_IF"] = rewrite_if_tags(
                environ["HTTP_IF"], lambda url: self._tag_ref_url(url, environ))
        def handle(environ: dict[str, Any], start_response: Any) -> Any:
            refuse_writes(split_path(environ["PATH_INFO"]), environ["REQUEST_METHOD"])
            refuse_version_writes(split_path(environ["PATH_INFO"]), environ["REQUEST_METHOD"])
            refuse_virtual_writes(environ, split_path(environ["PATH_INFO"]), BINDER,
                                  self.share_path)
            handed = self._check_method(environ, start_response)
            if handed is not None:
                return handed
            if environ["REQUEST_METHOD"] == "LOCK":
                return handle_lock(self, environ, start_response, default_handler)
            if environ["REQUEST_METHOD"] == "UNLOCK":
                return handle_unlock(self, environ, start_response, default_handler)
            located = None
            if environ["REQUEST_METHOD"] in SNAPSHOT_METHODS:
                located = self.locate(environ["PATH_INFO"], environ)
            if located is None:
                return default_handler(environ, start_response)
            root = self.ref_url(located[0], environ["PATH_INFO"])
            if environ["REQUEST_METHOD"] == "PUT":
                # The path's query (which WsgiDAV's PUT would make next) also tells
                # whether the space holds any lock: mostly not, and then no lock query.
                self.get_resource_inst(environ["PATH_INFO"], environ)
                context = environ.get(WRITE_CONTEXT_KEY)
                if context is not None and context.space_id == located[0].id \
                        and not context.locked:
                    with self.locks.known_free(root):
                        return default_handler(environ, start_response)
            # One lock query for the request instead of one per member and ancestor.
            with self.locks.snapshot(root):
                if environ["REQUEST_METHOD"] == "PROPFIND":
                    streamed = stream_propfind(self, environ, start_response)
                    if streamed is not None:
                        return streamed
                    refuse_unbounded(self, environ)
                return default_handler(environ, start_response)

        return guarded_request(environ, start_response, handle,
                               allow_infinity=self.allow_infinity,
                               max_xml_body=self.max_xml_body)

    def _check_method(self, environ: dict[str, Any],
                      start_response: Any) -> list[bytes] | None:
        """The checks of one method that WsgiDAV does not make: GET on a folder (403),
        MKCOL's preconditions, PROPPATCH's limits and quota. Raises ``DAVError``.
        Returns the answer of a GET or HEAD handed to nginx, else None."""
        method = environ["REQUEST_METHOD"]
        if method in ("GET", "HEAD"):
            return self._read_file(environ, start_response)
        if method == "MKCOL":
            check_mkcol(self, environ)  # WsgiDAV's MKCOL evaluates no precondition
        elif method == "PROPPATCH":
            self._plan_proppatch(environ)
        return None

    def _plan_proppatch(self, environ: dict[str, Any]) -> None:
        """Check a PROPPATCH's dead properties against the limits and the quota as a
        whole, before WsgiDAV applies them one by one (``plan_proppatch``). The body
        is already read and bounded by the guards (``dav.max_xml_body``)."""
        res = self.get_resource_inst(environ["PATH_INFO"], environ)
        plan = getattr(res, "plan_proppatch", None)
        if plan is None:
            return
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if body.strip():
            plan(bytes(body))

    def _read_file(self, environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
        """GET or HEAD: a folder is a 403 with a hint; a large file may be handed over."""
        res = self.get_resource_inst(environ["PATH_INFO"], environ)
        if res is not None and res.is_collection:
            raise DAVError(HTTP_FORBIDDEN, "This is a folder: open it with a WebDAV "
                           "client or as a network drive (see the server's home page).")
        return self._hand_over(res, environ, start_response)

    def _hand_over(self, res: Any, environ: dict[str, Any],
                   start_response: Any) -> list[bytes] | None:
        """A large download handed to nginx (:mod:`.handoff`), on WsgiDAV's way (a first
        request, before the credentials are in the cache, or a ``Range``); None: WsgiDAV
        answers. Conditions that fail are left to WsgiDAV's answer."""
        if self.handoff is None or type(res) is not FileResource or res.node is None:
            return None
        if any(key in environ for key in CONDITIONAL_HEADERS) and evaluate(
                environ["REQUEST_METHOD"], environ, validators_of(res)) is not None:
            return None
        node = res.node
        location = self.handoff.location(environ, node.size, node.blob_key,
                                         f"{res.path} (space {node.space_id})", dav=True)
        if location is None:
            return None
        # On this way, providers.guards adds the CSP and davserver.app nosniff.
        start_response("200 OK", handed_over(res, location, safety=False))
        return [b""]

    # --- resolution -----------------------------------------------------------

    def access(self, environ: dict[str, Any]) -> RequestAccess:
        """This request's view of the signed-in user's spaces."""
        access = RequestAccess.of(self.store, environ)
        if access is None:  # the authenticator runs first: this is a wiring error
            raise DAVError(HTTP_FORBIDDEN, "nobody is signed in")
        return access

    def locate(self, path: str, environ: dict[str, Any]) -> tuple[SpaceInfo, str] | None:
        """Provider path → (space, space-relative path as written), or None outside any
        space (and for a rubric the user does not see). The store resolves the path
        by its key (NFC); its last segment is the name a new member gets."""
        segments = split_path(path)
        if not segments:
            return None
        if segments[0] == DOCUMENTS:
            return self.access(environ).personal_space("documents"), join_path(segments[1:])
        if segments[0] == RUBRICS and len(segments) > 1:
            space = self.access(environ).rubric_space(name_key(segments[1]))
            return (space, join_path(segments[2:])) if space else None
        if segments[0] == BINDER and self.access(environ).has_binder():
            return self.access(environ).personal_space("binder"), join_path(segments[1:])
        if segments[0] == ARCHIVES:
            archive = self.access(environ).archive_space()
            return (archive, join_path(segments[1:])) if archive else None
        if segments[0] == IMPORTS and len(segments) > 1:
            space = self.access(environ).imports_space(segments[1])
            return (space, join_path(segments[2:])) if space else None
        return None

    def get_resource_inst(self, path: str | None, environ: dict[str, Any]) -> Any:
        """Resource at ``path`` (share-relative, decoded), or None (404). One query for
        the node and the folders above it."""
        if path is None:  # WsgiDAV asks for the parent of "/" (util.get_uri_parent)
            return None
        cache: dict[str, Any] = environ.setdefault(RESOLVED_KEY, {})
        if path in cache:
            return cache[path]
        if _respelling(path, environ):
            # The source of a MOVE spelled another way (NFC and NFD): the destination
            # is free for the new spelling, not the file itself to replace (issue 17).
            cache[path] = None
            return None
        segments = split_path(path)
        res: Any = None
        view = environ.get(SYNC_VIEW_KEY)
        if segments and (segments[0] == UPLOADS or (view and segments[0] in NOT_SYNCED)):
            # The uploads exist only at their own address; the drive as synced has no
            # trash and no archives.
            if segments[0] == UPLOADS and view == "uploads":
                res = upload_resource(self, path, segments, environ)
        elif not segments:
            res = VirtualRoot(path or "/", environ)
        elif segments == [RUBRICS]:
            res = RubricsRoot(path, environ)
        elif segments == [IMPORTS]:
            res = ImportsRoot(path, environ) if self.access(environ).imports() else None
        elif segments[0] == TRASH:
            res = trash_resource(self, path, segments, environ)
        elif segments[0] == VERSIONS:
            res = versions_resource(self, path, segments, environ)
        elif is_virtual(segments, BINDER) and self.access(environ).has_binder():
            res = virtual_resource(self, path, segments[1:], environ)
        else:
            res = self._stored_resource(path, environ, cache)
        cache[path] = res
        return res

    def _stored_resource(self, path: str, environ: dict[str, Any], cache: dict[str, Any]
                         ) -> Any:
        """The resource of a node of a space at ``path``, or None."""
        located = self.locate(path, environ)
        if located is None:
            return None
        space, rel = located
        # What the user may not read does not exist for them (404, STYLE.md habit 12):
        # a pending file is not even listed for a visitor.
        put = environ["REQUEST_METHOD"] == "PUT"
        with dav_errors():
            standing = self.access(environ).standing(space)
            if put:
                nodes, environ[WRITE_CONTEXT_KEY] = self.store.resolve_for_write(space.id,
                                                                                 rel)
            else:
                nodes = request_chain(self.store, environ, space.id, rel)
        found = readable_chain_of(nodes, standing, rel)
        if found is not None:
            if put and len(nodes) > 1:
                # WsgiDAV's PUT asks for the folder next; the same query found it.
                self._cache_parent(cache, path, environ, space, nodes[:-1], standing)
            return make_resource(path, environ, space, found[0][-1], found[1])
        if rel and len(nodes) == rel.count("/"):
            # A new name (PUT, MKCOL): WsgiDAV asks for the folder next; the same
            # query found it.
            self._cache_parent(cache, path, environ, space, nodes, standing)
        return None

    @staticmethod
    def _cache_parent(cache: dict[str, Any], path: str, environ: dict[str, Any],
                      space: SpaceInfo, nodes: list[Any], standing: Any) -> None:
        parent_path = util.get_uri_parent(path.rstrip("/"))
        if parent_path in cache:
            return
        found = readable_chain_of(nodes, standing, nodes[-1].path)
        if found is not None:
            cache[parent_path] = make_resource(parent_path, environ, space, found[0][-1],
                                               found[1])

    def listing_etag(self, environ: dict[str, Any], names: list[str]) -> str:
        """The ETag of a listing of top collections ``names`` (of :data:`TOP_COLLECTIONS`):
        a digest of their spaces' root ETags (one query), of the rubrics the user
        sees and of their standing in each. The trash is left out: what changes it
        changes the live folders too, but for purges, which no client syncs."""
        access = self.access(environ)
        spaces: list[tuple[str, SpaceInfo]] = []
        if DOCUMENTS in names:
            spaces.append((DOCUMENTS, access.personal_space("documents")))
        if BINDER in names and access.has_binder():
            spaces.append((BINDER, access.personal_space("binder")))
        if ARCHIVES in names and (archive := access.archive_space()) is not None:
            spaces.append((ARCHIVES, archive))
        if IMPORTS in names:
            for uai in sorted(access.imports()):
                if (drop := access.imports_space(uai)) is not None:
                    spaces.append((f"{IMPORTS}/{uai}", drop))
        if RUBRICS in names:
            for slug, (_info, standing) in sorted(access.rubrics().items()):
                space = access.rubric_space(slug)
                if space is not None:
                    spaces.append((f"{RUBRICS}/{slug}:{standing.role}:"
                                   f"{sorted(standing.folder_roles.items())}", space))
        roots = self.store.root_etags(s.id for _, s in spaces)
        parts = [f"{label}={roots.get(space.id, '')}" for label, space in spaces]
        if BINDER in names and access.has_binder():  # with its read-only folders
            binder = self.get_resource_inst("/" + BINDER, environ)
            if binder is not None:
                parts.append(f"{BINDER}+={binder.get_etag()}")
        return composite(parts)

    def destination_path(self, destination: str) -> str:
        """The provider path of a ``Destination`` header value (an absolute path on
        this server once the dispatcher localized it). Raises ``DAVError`` 403 for one
        outside ``/dav``."""
        path = unquote(urlsplit(destination).path)
        if not path.startswith(self.share_path + "/"):
            raise DAVError(HTTP_FORBIDDEN, "The destination is not in your files.")
        return path[len(self.share_path):]

    def writable_file(self, path: str, environ: dict[str, Any]) -> FileResource:
        """The file the user may write at provider path ``path``: an existing one
        (``write-content`` on it) or a new name (``bind`` on its folder), as a PUT
        there would check. Raises ``DAVError`` 403 (not allowed, not in a space), 404
        (the folder is not theirs to see), 409 (no such folder, or a folder there)."""
        located = self.locate(path, environ)
        if located is None or not located[1]:
            raise DAVError(HTTP_FORBIDDEN, "The destination is not a file in a space.")
        res = self.get_resource_inst(path, environ)
        if res is None:
            folder = self.get_resource_inst(util.get_uri_parent(path.rstrip("/")), environ)
            if not isinstance(folder, FolderResource):
                raise DAVError(HTTP_CONFLICT, "The destination folder does not exist.")
            return folder.new_file(util.get_uri_name(path.rstrip("/")))
        if not isinstance(res, FileResource):
            raise DAVError(HTTP_CONFLICT, "A folder has that name.")
        res._require("write-content")
        return res

    def ref_url(self, space: SpaceInfo, path: str) -> str:
        """Lock and property key of a provider path in ``space``: the space id in
        front, because ``/porte-documents/x`` is a different file for every user; the
        path in its key form (NFC), so a lock taken in one spelling protects the file
        from a client writing the other (macOS and the browser, issue 17)."""
        return quote(f"/{space.id}{path_key(path).rstrip('/') or '/'}")

    def _tag_ref_url(self, url: str, environ: dict[str, Any]) -> str | None:
        path = unquote(urlsplit(url).path)
        if path != self.share_path and not path.startswith(self.share_path + "/"):
            return None
        path = path[len(self.share_path):] or "/"
        located = self.locate(path, environ)
        return self.ref_url(located[0], path) if located else None

    def ref_url_to_path(self, ref_url: str) -> str:
        """Inverse of :meth:`SpaceResourceMixin.get_ref_url` (drops the space id)."""
        parts = unquote(ref_url).split("/", 2)
        return "/" + (parts[2] if len(parts) > 2 else "")


def _respelling(path: str, environ: dict[str, Any]) -> bool:
    """Whether ``path`` is the Destination of this MOVE and only respells its source
    (same key, other bytes)."""
    if environ.get("REQUEST_METHOD") != "MOVE":
        return False
    source, target = environ.get("PATH_INFO", "").rstrip("/"), path.rstrip("/")
    return source != target and path_key(source) == path_key(target)


def rewrite_if_tags(header: str, ref_url_of: Callable[[str], str | None]) -> str:
    """Replace each resource tag ``<URL>`` of an ``If`` header (RFC 4918 §10.4.2) by the
    key WsgiDAV compares it with, so tagged lists are evaluated instead of ignored.
    Lock tokens inside ``( … )`` are left alone; unknown URLs are kept as sent."""
    out, depth, i = [], 0, 0
    while i < len(header):
        char = header[i]
        if char == "<" and depth == 0:
            end = header.find(">", i)
            if end < 0:
                break
            url = header[i + 1:end]
            out.append("<" + (ref_url_of(url) or url) + ">")
            i = end + 1
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        out.append(char)
        i += 1
    out.append(header[i:])
    return "".join(out)


class _ReadOnlyListing(QuotaReport, DAVCollection):
    """A collection of the drive that only lists spaces: read-only, not lockable; its
    RFC 4331 figures are the user's porte-documents' (:class:`QuotaReport`)."""

    refusal = "Only the spaces live here; open one of them."

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def prevent_locking(self) -> bool:
        return True

    def get_ref_url(self) -> str:
        return "/-" + quote(self.path)

    def create_empty_resource(self, name: str) -> Any:
        raise DAVError(HTTP_FORBIDDEN, self.refusal)

    def handle_delete(self) -> bool:
        # Refused here, whole: else WsgiDAV would walk the spaces below and delete
        # their members one by one before failing on the spaces' roots.
        raise DAVError(HTTP_FORBIDDEN, self.refusal)

    def delete(self) -> None:
        raise DAVError(HTTP_FORBIDDEN, self.refusal)

    def create_collection(self, name: str) -> None:
        raise DAVError(HTTP_FORBIDDEN, self.refusal)

    def get_property_names(self, *, is_allprop: bool) -> list[str]:
        return listed_names(super().get_property_names(is_allprop=is_allprop),
                            is_allprop=is_allprop, extra=[PRIVILEGE_SET])

    def get_property_value(self, name: str) -> Any:
        if name == PRIVILEGE_SET:
            return privilege_set(["read"])
        if name in oc_props.NAMES:  # nothing can be created beside the spaces
            value = oc_props.virtual_value(name, self.path)
            if value is None:
                raise DAVError(HTTP_NOT_FOUND)
            return value
        if name == "{DAV:}getetag":  # RFC 4918 §15.6: quoted, as in the ETag header
            return f'"{self.get_etag()}"'
        return super().get_property_value(name)

    def get_last_modified(self) -> float:
        """A fixed date: a listing of spaces has no time of its own, and the sync apps
        refuse a folder without one (:data:`.oc_props.LISTING_MTIME`)."""
        return oc_props.LISTING_MTIME


class VirtualRoot(_ReadOnlyListing):
    """``/dav/``: lists the user's top collections."""

    def support_etag(self) -> bool:
        return True

    def get_etag(self) -> str:
        """Changes when anything in the listed spaces does (:mod:`.folder_etags`)."""
        return self.provider.listing_etag(self.environ, self.get_member_names())

    def get_member_names(self) -> list[str]:
        access = self.provider.access(self.environ)
        hidden = {BINDER} if not access.has_binder() else set()
        if self.environ.get(SYNC_VIEW_KEY):
            hidden |= NOT_SYNCED
        elif access.archive_space() is None:
            hidden.add(ARCHIVES)
        if not access.imports():
            hidden.add(IMPORTS)
        return [name for name in TOP_COLLECTIONS if name not in hidden]

    def get_display_name(self) -> str:
        return "ENT"


class RubricsRoot(_ReadOnlyListing):
    """``/dav/rubriques/``: the rubrics with shared folders where the user holds a
    role (on the rubric or one of its folders), by slug. Rubric management is not a
    file operation: it is done with ``davserver rubric`` (and later in the browser)."""

    refusal = "Rubrics are created by their managers, not as folders."

    def support_etag(self) -> bool:
        return True

    def get_etag(self) -> str:
        """Changes with any rubric's files, and with the list of rubrics the user
        sees and their role in each (their permissions)."""
        return self.provider.listing_etag(self.environ, [RUBRICS])

    def get_member_names(self) -> list[str]:
        return list(self.provider.access(self.environ).rubrics())

    def get_display_name(self) -> str:
        return "Rubriques"


class ImportsRoot(_ReadOnlyListing):
    """``/dav/imports/``: one folder per school whose imports the user manages, named by
    its UAI (:mod:`providers.drop_folder`). Schools are added with ``davserver school
    add``, not as folders."""

    refusal = ("Each school's imports folder is named by its UAI; schools are added with "
               "`davserver school add`.")

    def get_member_names(self) -> list[str]:
        return list(self.provider.access(self.environ).imports())

    def get_display_name(self) -> str:
        return "Imports"
