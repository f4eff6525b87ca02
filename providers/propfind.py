"""PROPFIND of our folders, streamed (issue 9; RFC 4918 §9.1).

WsgiDAV builds the whole multistatus tree in memory and calls each property getter
several times per member (``shared/notes/wsgidav-4.4.md`` §1.4): about 650 ms for
10,000 members with allprop. Here the members come from one query
(:meth:`FolderResource.visible_children`, with their dead properties), the lock
look-ups from the request's lock snapshot, and the ``207 Multi-Status`` body is
written as text, one ``<D:response>`` after another into 64 KiB pieces, never as an
element tree (7 MB of XML for 10,000 members with allprop, sent with its length).

Memory stays bounded whatever the listing holds (issue 18: dead properties may
reach 1 MiB per resource): the members come without their dead properties, which
are read :data:`PROPS_BATCH` bytes at a time while the answer is written, and the
answer goes to a spooled file (memory up to :data:`SPOOL_MEMORY`, then disk) so that
it is sent with its ``Content-Length``. A PROPFIND that WsgiDAV answers (which builds
its whole answer in memory) is refused with 507 when the dead properties it would
hold exceed :data:`FALLBACK_MAX_PROPS` (:func:`refuse_unbounded`).

Served here: ``Depth: 0`` and ``1`` on a folder, with allprop (or an empty body) or
with named properties among the standard live ones (``getetag`` quoted, RFC 4918
§15.6), the RFC 4331 quota properties (named, on folders only), ``lockdiscovery``
and ``supportedlock``, ``oc:checksums`` and dead properties (any name outside the
``DAV:`` namespace). Everything else goes to WsgiDAV's own handler, which stays the
reference behaviour: ``propname`` (see :mod:`.compat`), ``<include>``, any other
``DAV:`` name (so a new live property keeps working there until it is added here),
files, ``Depth: infinity``, conditional headers, and bodies this module does not
understand. A live property in another namespace must be added to
:data:`FALLBACK_NAMESPACES`.
"""

from __future__ import annotations

import functools
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from lxml import etree
from wsgidav import util

import acl
from acl import NodeRef

from . import hrefs, oc_props
from .errors import dav_errors
from .live_props import QUOTA_PROPS
from .names import href_quote, xml_safe
from .properties import PropertyLimit, size_of
from .resources import (
    AUTHOR,
    OC_CHECKSUMS,
    OC_NS,
    PUBLICATION_STATE,
    FolderResource,
    make_resource,
)
from .store import NodeInfo

if TYPE_CHECKING:
    from .dav import EntProvider

DAV = "{DAV:}"
# Live properties of WsgiDAV's allprop answer for our resources, in its order.
ALLPROP_LIVE = tuple(DAV + n for n in (
    "resourcetype", "creationdate", "getcontentlength", "getcontenttype",
    "getlastmodified", "displayname", "getetag", "lockdiscovery", "supportedlock"))
LOCK_PROPS = (DAV + "lockdiscovery", DAV + "supportedlock")
# Our own live properties of rubric spaces (in their allprop too).
RUBRIC_PROPS = (PUBLICATION_STATE, AUTHOR)
NATIVE_DAV = frozenset(ALLPROP_LIVE) | frozenset(QUOTA_PROPS)
FALLBACK_NAMESPACES: frozenset[str] = frozenset()
CONDITIONAL_HEADERS = ("HTTP_IF", "HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH",
                       "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE")
CHUNK = 64 * 1024  # bytes per yielded piece of the body
PROPS_BATCH = 2 * 2**20  # bytes of dead properties read at once while writing
SPOOL_MEMORY = 2**20  # bytes of an answer kept in memory; more goes to a temporary file
FALLBACK_MAX_PROPS = 8 * 2**20  # bytes of dead properties WsgiDAV may put in one answer
SUPPORTED_LOCK = (
    "<D:supportedlock><D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype>"
    "<D:write/></D:locktype></D:lockentry><D:lockentry><D:lockscope><D:shared/>"
    "</D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry></D:supportedlock>")
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass(frozen=True)
class PropfindRequest:
    """What the body asks: allprop, or these property names (Clark notation)."""

    allprop: bool
    names: tuple[str, ...] = ()


def parse_request(body: bytes) -> PropfindRequest | None:
    """The request in a PROPFIND body, or None when WsgiDAV should answer it (propname,
    ``<include>``, names served elsewhere, or a body that is not a plain propfind)."""
    if not body.strip():
        return PropfindRequest(allprop=True)
    try:
        root = etree.fromstring(body, _SAFE_PARSER)
    except etree.XMLSyntaxError:
        return None
    if root.tag != DAV + "propfind":
        return None
    children = [c for c in root if isinstance(c.tag, str)]
    if len(children) != 1:
        return None
    if children[0].tag == DAV + "allprop" and len(children[0]) == 0:
        return PropfindRequest(allprop=True)
    if children[0].tag != DAV + "prop":
        return None
    names = tuple(dict.fromkeys(p.tag for p in children[0] if isinstance(p.tag, str)))
    if not names or not all(_native_name(n) for n in names):
        return None
    return PropfindRequest(allprop=False, names=names)


def _native_name(name: str) -> bool:
    namespace, _local = util.split_namespace(name)
    if namespace == "DAV:":
        return name in NATIVE_DAV
    return namespace not in FALLBACK_NAMESPACES


def _read_body(environ: dict[str, Any]) -> bytes:
    """The (already bounded, see ``guards``) XML body; left readable for a fallback."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


def stream_propfind(provider: EntProvider, environ: dict[str, Any],
                    start_response: Any) -> Iterable[bytes] | None:
    """Answer a PROPFIND on one of our folders, or return None (nothing
    sent, the body still readable) for WsgiDAV's handler to answer it.

    Must run inside the request's lock snapshot (``SqlLockStorage.snapshot``): lock
    look-ups happen there."""
    if environ.get("HTTP_DEPTH") not in ("0", "1") or any(
            h in environ for h in CONDITIONAL_HEADERS):
        return None
    folder = provider.get_resource_inst(environ["PATH_INFO"], environ)
    if not isinstance(folder, FolderResource) or folder.node is None \
            or folder.virtual_members():  # the binder root: WsgiDAV lists those too
        return None
    request = parse_request(_read_body(environ))
    if request is None or (request.allprop and not _allprop_is_native(folder)):
        return None
    members = folder.visible_children() if environ["HTTP_DEPTH"] == "1" else []
    writer = _Writer(folder, request, _lock_discoveries(provider, folder, members))
    # The answer is written whole before it is sent, to send a Content-Length: WsgiDAV
    # closes the connection after a response without one, and clients listing folders
    # keep theirs open. Past SPOOL_MEMORY bytes it waits on disk.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
    try:
        for chunk in _chunks(writer.responses(members)):
            spool.write(chunk)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    start_response("207 Multi-Status", [("Content-Type", "application/xml; charset=utf-8"),
                                        ("Content-Length", str(size)),
                                        ("Date", util.get_rfc1123_time())])
    return _read_spool(spool)


def _read_spool(spool: Any) -> Iterator[bytes]:
    """The spooled answer, :data:`CHUNK` bytes at a time; the spool is closed (its
    file removed) at the end, or when the client goes away."""
    try:
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()


def refuse_unbounded(provider: EntProvider, environ: dict[str, Any]) -> None:
    """Before WsgiDAV answers a PROPFIND (it builds the whole multistatus in memory):
    507 when the dead properties of what it would list exceed
    :data:`FALLBACK_MAX_PROPS` bytes. One query; a file or ``Depth: 0`` is bounded by
    the per-resource limit already."""
    depth = environ.get("HTTP_DEPTH", "infinity")
    if depth == "0":
        return
    res = provider.get_resource_inst(environ["PATH_INFO"], environ)
    node = getattr(res, "node", None)
    if node is None or not node.is_collection:
        return
    held = provider.store.props_bytes_below(node, depth=depth)
    if held > FALLBACK_MAX_PROPS:
        with dav_errors():
            raise PropertyLimit(
                f"This listing would hold {held} bytes of dead properties, more than one "
                f"answer may ({FALLBACK_MAX_PROPS}); ask for named properties, or list "
                "with Depth: 0 each member.")


def _allprop_is_native(folder: FolderResource) -> bool:
    """allprop is served here only while the folder's allprop names are ours: a live
    property added to ``get_property_names`` sends allprop back to WsgiDAV."""
    assert folder.node is not None
    names = set(folder.get_property_names(is_allprop=True)) - set(folder.node.dead_props)
    return names <= {*ALLPROP_LIVE, *RUBRIC_PROPS}


Member = tuple[NodeInfo, tuple[NodeRef, ...]]  # a visible member and its chain


def _lock_discoveries(provider: EntProvider, folder: FolderResource,
                      members: list[Member]) -> dict[int, str]:
    """``lockdiscovery`` XML by node id, for the folder and members under a lock; when
    the snapshot holds no lock (the usual case) nothing is looked up."""
    locks = provider.locks.snapshot_locks()
    if locks is not None and not locks:
        return {}
    found: dict[int, str] = {}
    resources = [folder] + [make_resource(util.join_uri(folder.path, n.name), folder.environ,
                                          folder.space, n, chain) for n, chain in members]
    for res in resources:
        assert res.node is not None
        if provider.lock_manager.get_url_lock_list(res.get_ref_url()):
            try:
                element = res.get_property_value(DAV + "lockdiscovery")
            except AttributeError:
                # WsgiDAV resolves each lock's root and calls get_href on it: the root is
                # gone when an UNLOCK (here or in another process) removed its lock-null
                # file since the snapshot. The lock ended: list the member without it.
                continue
            found[res.node.id] = etree.tostring(element, encoding="unicode")
    return found


def _batches(members: list[Member]) -> Iterator[list[Member]]:
    """``members`` in runs whose dead properties hold about :data:`PROPS_BATCH` bytes
    (read together, then let go)."""
    batch: list[Member] = []
    held = 0
    for member in members:
        batch.append(member)
        held += size_of(member[0].dead_props)
        if held >= PROPS_BATCH:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def _chunks(pieces: Iterator[str]) -> Iterator[bytes]:
    """Joins small strings into pieces of about :data:`CHUNK` bytes."""
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")


def _empty_element(name: str) -> str:
    namespace, local = util.split_namespace(name)
    if namespace == "DAV:":
        return f"<D:{local}/>"
    if not namespace:
        return f"<{local}/>"
    return f'<{local} xmlns="{escape(namespace, {chr(34): "&quot;"})}"/>'


# Dates have one-second resolution; files of one folder often share their second.
@functools.lru_cache(maxsize=4096)
def _rfc1123(seconds: int) -> str:
    return formatdate(seconds, usegmt=True)


@functools.lru_cache(maxsize=4096)
def _rfc3339(seconds: int) -> str:
    return str(util.get_rfc3339_time(seconds))


def _text(name: str, value: str) -> str:
    return f"<D:{name[len(DAV):]}>{escape(value)}</D:{name[len(DAV):]}>"


class _Writer:
    """Writes the ``<D:response>`` of the folder, then of each member."""

    def __init__(self, folder: FolderResource, request: PropfindRequest,
                 locks: dict[int, str]) -> None:
        self.folder = folder
        self.request = request
        self.locks = locks
        self.base_href = hrefs.href(folder.environ, folder.provider.share_path,
                                    folder.path.rstrip("/") + "/")
        self.usage: tuple[int, int] | None = None
        if any(n in QUOTA_PROPS for n in request.names):
            self.usage = (folder.get_used_bytes(), folder.get_available_bytes())
        self.rubric = folder.space.kind == "rubric"
        self.standing = folder.access.standing(folder.space)
        self.logins: dict[int, str] = {}
        self.sizes: dict[str, int] | None = None

    def responses(self, members: list[Member]) -> Iterator[str]:
        if self.rubric:  # one query for every author of the listing
            self.logins = self.folder.access.logins(
                {n.author_id for n, _ in members if n.author_id is not None}
                | ({self.folder.node.author_id} if self.folder.node
                   and self.folder.node.author_id is not None else set()))
        yield '<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">'
        assert self.folder.node is not None
        yield self._response(self.base_href, self.folder.node, self.folder.chain,
                             self.folder.get_display_name(),
                             self._props_of([self.folder.node]).get(self.folder.node.id, {}))
        for batch in _batches(members):
            props = self._props_of([node for node, _chain in batch])
            for node, chain in batch:
                href = self.base_href + href_quote(node.name)
                yield self._response(href + "/" if node.is_collection else href, node,
                                     chain, xml_safe(node.name), props.get(node.id, {}))
        yield "</D:multistatus>"

    def _props_of(self, nodes: list[NodeInfo]) -> dict[int, dict[str, str]]:
        """The dead properties of those of ``nodes`` that have some (one query)."""
        return self.folder.store.dead_props_of(n.id for n in nodes if size_of(n.dead_props))

    def _allprop_names(self, node: NodeInfo, chain: tuple[NodeRef, ...],
                       props: dict[str, str]) -> list[str]:
        """WsgiDAV's allprop for this node: no lock properties where the user may not
        lock (see ``prevent_locking``), our rubric properties in rubric spaces."""
        names = list(ALLPROP_LIVE)
        if self.rubric and not acl.allowed(self.standing, "write", chain):
            names = [n for n in names if n not in LOCK_PROPS]
        if self.rubric:
            names.extend(RUBRIC_PROPS)
        return [*names, *props]

    def _response(self, href: str, node: NodeInfo, chain: tuple[NodeRef, ...],
                  display_name: str, props: dict[str, str]) -> str:
        found: list[str] = []
        missing: list[str] = []
        if self.request.allprop:
            names: Iterable[str] = self._allprop_names(node, chain, props)
        else:
            names = self.request.names
        for name in names:
            value = self._value(name, node, chain, display_name, props)
            if value is not None:
                found.append(value)
            elif not self.request.allprop:
                missing.append(_empty_element(name))
        parts = [f"<D:response><D:href>{escape(href)}</D:href>"]
        if found or not missing:
            parts.append(f"<D:propstat><D:prop>{''.join(found)}</D:prop>"
                         "<D:status>HTTP/1.1 200 OK</D:status></D:propstat>")
        if missing:
            parts.append(f"<D:propstat><D:prop>{''.join(missing)}</D:prop>"
                         "<D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>")
        parts.append("</D:response>")
        return "".join(parts)

    def _value(self, name: str, node: NodeInfo, chain: tuple[NodeRef, ...],
               display_name: str, props: dict[str, str]) -> str | None:
        """The property as XML, or None where the resource has none (404)."""
        if name in props:
            return props[name]
        if self.rubric and name in RUBRIC_PROPS:
            return self._rubric_value(name, node)
        if not name.startswith(DAV):
            if name == OC_CHECKSUMS and not node.is_collection:
                return (f'<oc:checksums xmlns:oc="{OC_NS}"><oc:checksum>SHA1:{node.sha1} '
                        f"MD5:{node.md5}</oc:checksum></oc:checksums>")
            if name in oc_props.NAMES:
                return self._oc_value(name, node, chain)
            return None
        return self._live(name, node, display_name)

    def _oc_value(self, name: str, node: NodeInfo, chain: tuple[NodeRef, ...]) -> str | None:
        """A Nextcloud/ownCloud property (:mod:`.oc_props`), from what the listing has
        (a folder's size from the one aggregate query of :meth:`_sizes`)."""
        perms = ""
        if name == oc_props.PERMISSIONS:
            perms = oc_props.permissions(self.standing, chain,
                                         is_collection=node.is_collection,
                                         is_space_root=node.parent_id is None)
        size = node.size
        if name == oc_props.SIZE and node.is_collection:
            sizes = self._sizes()
            size = (sum(sizes.values()) if node.id == self.folder.node.id  # type: ignore[union-attr]
                    else sizes.get(node.path.rsplit("/", 1)[-1], 0))
        value = oc_props.text_value(name, node_id=node.id, size=size, perms=perms)
        return None if value is None else oc_props.element(name, value)

    def _sizes(self) -> dict[str, int]:
        """Bytes below each member of the listed folder (one query, on first use)."""
        if self.sizes is None:
            assert self.folder.node is not None
            self.sizes = self.folder.store.subtree_sizes(self.folder.node)
        return self.sizes

    def _rubric_value(self, name: str, node: NodeInfo) -> str | None:
        local = escape(name.split("}", 1)[1])
        xmlns = f'xmlns="{escape(name[1:].split("}", 1)[0])}"'
        if name == PUBLICATION_STATE:
            state = "published" if node.published else "pending"
            return f"<{local} {xmlns}>{state}</{local}>"
        login = self.logins.get(node.author_id) if node.author_id is not None else None
        return None if login is None else f"<{local} {xmlns}>{escape(login)}</{local}>"

    def _live(self, name: str, node: NodeInfo, display_name: str) -> str | None:
        local = name[len(DAV):]
        if local == "resourcetype":
            return ("<D:resourcetype><D:collection/></D:resourcetype>" if node.is_collection
                    else "<D:resourcetype/>")
        if local == "displayname":
            return _text(name, display_name)
        if local == "getlastmodified":
            return _text(name, _rfc1123(int(node.modified)))
        if local == "creationdate":
            return _text(name, _rfc3339(int(node.created)))
        if local == "lockdiscovery":
            return self.locks.get(node.id, "<D:lockdiscovery/>")
        if local == "supportedlock":
            return SUPPORTED_LOCK
        if local == "getetag":  # files: the content's SHA-1; folders: see folder_etags
            return _text(name, f'"{node.etag}"') if node.etag else None
        if node.is_collection:
            if self.usage is not None and name in QUOTA_PROPS:
                return _text(name, str(self.usage[0 if local == "quota-used-bytes" else 1]))
            return None
        if local == "getcontentlength":
            return _text(name, str(node.size))
        if local == "getcontenttype":
            return _text(name, node.content_type or "application/octet-stream")
        return None
