"""The one WsgiDAV provider behind ``/dav/``: the user's virtual root and their spaces.

Spaces are top collections of one provider, not separate WsgiDAV shares, so COPY
and MOVE between them work (DESIGN.md, "One DAV request"). The files and folders
inside a space are in :mod:`providers.resources`.

``/dav/``                  :class:`VirtualRoot` (the signed-in user's drive)
``/dav/porte-documents/``  their documents space (a folder resource at its root)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from wsgidav import util
from wsgidav.dav_error import HTTP_FORBIDDEN, DAVError
from wsgidav.dav_provider import DAVCollection, DAVProvider

import acl
from acl import Principal

from .errors import dav_errors
from .guards import guarded_request
from .locks import SqlLockStorage
from .names import join_path, split_path
from .propfind import stream_propfind
from .resources import PRINCIPAL_KEY, RESOLVED_KEY, make_resource, space_ref
from .store import SpaceInfo, Store

# Top collection name → space kind. Rubrics and binder arrive with their issues.
TOP_SPACES = {"porte-documents": "documents"}
# Requests whose lock look-ups (WsgiDAV walks every ancestor, and every member for
# DELETE and PROPFIND) are answered from one query. Not LOCK and UNLOCK, which change
# locks and read them back; GET and HEAD look none up.
SNAPSHOT_METHODS = frozenset({"PROPFIND", "PROPPATCH", "PUT", "DELETE", "MOVE", "COPY",
                              "MKCOL"})


class EntProvider(DAVProvider):
    """Serves every space of the signed-in user (``environ['davserver.principal']``)."""

    def __init__(self, store: Store, locks: SqlLockStorage, *, allow_infinity: bool = False,
                 max_xml_body: int = 1024 * 1024) -> None:
        super().__init__()
        self.store = store
        self.locks = locks
        self.allow_infinity = allow_infinity
        self.max_xml_body = max_xml_body

    def is_readonly(self) -> bool:
        return False

    def custom_request_handler(self, environ: dict[str, Any], start_response: Any,
                               default_handler: Any) -> Any:
        """Checks WsgiDAV does not make, before any body is read (see guards)."""
        if "HTTP_IF" in environ:
            environ["HTTP_IF"] = rewrite_if_tags(
                environ["HTTP_IF"], lambda url: self._tag_ref_url(url, environ))
        def handle(environ: dict[str, Any], start_response: Any) -> Any:
            if environ["REQUEST_METHOD"] in ("GET", "HEAD"):
                res = self.get_resource_inst(environ["PATH_INFO"], environ)
                if res is not None and res.is_collection:
                    raise DAVError(HTTP_FORBIDDEN, "This is a folder: open it with a WebDAV "
                                   "client or as a network drive (see the server's home page).")
            located = None
            if environ["REQUEST_METHOD"] in SNAPSHOT_METHODS:
                located = self.locate(environ["PATH_INFO"], environ)
            if located is None:
                return default_handler(environ, start_response)
            # One lock query for the request instead of one per member and ancestor.
            with self.locks.snapshot(self.ref_url(located[0], environ["PATH_INFO"])):
                if environ["REQUEST_METHOD"] == "PROPFIND":
                    streamed = stream_propfind(self, environ, start_response)
                    if streamed is not None:
                        return streamed
                return default_handler(environ, start_response)

        return guarded_request(environ, start_response, handle,
                               allow_infinity=self.allow_infinity,
                               max_xml_body=self.max_xml_body)

    # --- resolution -----------------------------------------------------------

    def space_for(self, top: str, environ: dict[str, Any]) -> SpaceInfo | None:
        """The space behind a top collection name for this request's user, or None."""
        kind = TOP_SPACES.get(top)
        principal: Principal | None = environ.get(PRINCIPAL_KEY)
        if kind is None or principal is None:
            return None
        cache = environ.setdefault("davserver.spaces", {})
        if kind not in cache:
            cache[kind] = self.store.ensure_space(kind, owner_id=principal.id,
                                                  profile=principal.profile.value)
        return cache[kind]

    def locate(self, path: str, environ: dict[str, Any]) -> tuple[SpaceInfo, str] | None:
        """Provider path → (space, space-relative NFC path), or None outside any space."""
        segments = split_path(path)
        if not segments:
            return None
        space = self.space_for(segments[0], environ)
        if space is None:
            return None
        return space, join_path(segments[1:])

    def get_resource_inst(self, path: str, environ: dict[str, Any]) -> Any:
        """Resource at ``path`` (share-relative, decoded), or None (404). One query."""
        cache: dict[str, Any] = environ.setdefault(RESOLVED_KEY, {})
        if path in cache:
            return cache[path]
        if not split_path(path):
            res: Any = VirtualRoot(path or "/", environ)
        else:
            located = self.locate(path, environ)
            res = None
            if located is not None:
                space, rel = located
                # Reading is checked here: a space one may not read does not exist
                # for them (404, STYLE.md habit 12).
                if acl.allowed(environ[PRINCIPAL_KEY].id, "read", space_ref(space)):
                    with dav_errors():
                        node = self.store.resolve(space.id, rel)
                    if node is not None:
                        res = make_resource(path, environ, space, node)
        cache[path] = res
        return res

    def ref_url(self, space: SpaceInfo, path: str) -> str:
        """Lock and property key of a provider path in ``space``: the space id in
        front, because ``/porte-documents/x`` is a different file for every user."""
        return quote(f"/{space.id}{path.rstrip('/') or '/'}")

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


class VirtualRoot(DAVCollection):
    """``/dav/``: lists the user's spaces. Read-only; cannot be locked."""

    def get_member_names(self) -> list[str]:
        return list(TOP_SPACES)

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def get_display_name(self) -> str:
        return "ENT"

    def prevent_locking(self) -> bool:
        return True

    def get_ref_url(self) -> str:
        return "/-" + quote(self.path)

    def create_empty_resource(self, name: str) -> Any:
        raise DAVError(HTTP_FORBIDDEN, "Only the spaces live here; open one of them.")

    def create_collection(self, name: str) -> None:
        raise DAVError(HTTP_FORBIDDEN, "Only the spaces live here; open one of them.")


