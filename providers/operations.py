"""Access and quota decisions of file operations, shared by the DAV resources and the
browser's file manager (``web.documents``): both ask these functions, so a mapped
drive and the browser always allow, refuse and show the same things (issue 8).

Every function here raises domain errors (``davserver.errors``), never DAV or HTTP
ones: each layer translates them in its own one place.
"""

from __future__ import annotations

import acl
import quotas
from acl import NodeRef, Standing
from davserver.errors import Forbidden, InsufficientStorage

from .names import path_key
from .store import NodeInfo, SpaceInfo, Store


def node_ref(node: NodeInfo) -> NodeRef:
    """What ``acl`` decisions need of a node."""
    return NodeRef(node.id, node.author_id, node.published)


def readable_chain(store: Store, standing: Standing, space_id: int,
                   path: str) -> tuple[list[NodeInfo], tuple[NodeRef, ...]] | None:
    """The nodes from the space root down to ``path`` (space-relative, any spelling)
    and their
    refs, when it exists and the user may read it; else None: what the user may not
    read does not exist for them (STYLE.md habit 12). One query."""
    return readable_chain_of(store.resolve_chain(space_id, path), standing, path)


def readable_chain_of(nodes: list[NodeInfo], standing: Standing,
                      path: str) -> tuple[list[NodeInfo], tuple[NodeRef, ...]] | None:
    """:func:`readable_chain` of nodes already read with ``store.resolve_chain``."""
    chain = tuple(node_ref(n) for n in nodes)
    if nodes and nodes[-1].path == path_key(path) and acl.allowed(standing, "read", chain):
        return nodes, chain
    return None


def _reaches_everything(standing: Standing, privilege: str,
                        chain: tuple[NodeRef, ...]) -> bool:
    """Does ``privilege`` below the last node of ``chain`` reach other people's pending
    nodes? Then it reaches every node there (no need to look at each)."""
    probe = (*chain, NodeRef(None, author_id=-1, published=False))
    return acl.allowed(standing, privilege, probe)


def require_subtree(store: Store, standing: Standing, privilege: str, node: NodeInfo,
                    chain: tuple[NodeRef, ...]) -> None:
    """``privilege`` on ``node`` (last of ``chain``) and, when it does not reach every
    node (a writer removes their own things only), on each node below it too.

    Raises ``NotFound`` (unreadable) or ``Forbidden`` (naming the first node of
    someone else's that stops it)."""
    acl.require(standing, privilege, chain)
    if not node.is_collection or _reaches_everything(standing, privilege, chain):
        return
    for member in store.descendants(node):
        if not acl.allowed(standing, privilege, (*chain, node_ref(member))):
            raise Forbidden(f"{privilege} is not granted on everything inside: "
                            f"{member.written_path} is someone else's")


def readable_subtree(store: Store, standing: Standing, node: NodeInfo,
                     chain: tuple[NodeRef, ...], *, recursive: bool) -> set[int] | None:
    """Ids of the nodes of a folder's subtree the user may read, when some are hidden
    from them (a copy or a zip takes only what its author could see); None: all."""
    if not (recursive and node.is_collection) or _reaches_everything(standing, "read",
                                                                      chain):
        return None
    by_id = {node.id: chain}
    visible = {node.id}
    for member in store.descendants(node):  # parents come first
        above = by_id.get(member.parent_id or -1)
        if above is None:
            continue
        member_chain = (*above, node_ref(member))
        if acl.allowed(standing, "read", member_chain):
            by_id[member.id] = member_chain
            visible.add(member.id)
    return visible


def folder_ids(store: Store, space: SpaceInfo, node: NodeInfo) -> list[int]:
    """Ids of ``node`` and of the folders below it when it is a folder of a rubric
    space (where grants may name them); none elsewhere."""
    if space.kind != "rubric" or not node.is_collection:
        return []
    return [node.id, *(n.id for n in store.descendants(node) if n.is_collection)]


def drop_folder_grants(store: Store, ids: list[int]) -> None:
    """Forget the grants of folders that left their rubric (deleted, replaced or moved
    out): otherwise a grant on a gone folder keeps the rubric listed for its holder,
    and a folder moved back in would get its old readers again."""
    if ids:
        with store.db.transaction() as s:
            acl.drop_folder_grants(s, ids)


# Uploads announced smaller than this (bytes) are checked against the free space with
# a read instead of a reservation: their body comes in a socket read or two, and the
# re-check at commit (``quotas.settle``, one conditional UPDATE) still keeps parallel
# uploads from overshooting. A reservation is a write transaction of its own, and
# SQLite writers take turns: a folder of small files paid two turns per file.
RESERVE_FROM = 64 * 1024


def reserve_upload(store: Store, space_id: int, old_size: int, announced: int | None,
                   figures: quotas.Usage | None = None) -> tuple[quotas.Reservation, int]:
    """Reserve an upload's growth before its body is read (STYLE.md habit 10).

    ``old_size``: bytes of the content it replaces (0 for a new file); ``announced``:
    the body's announced size in bytes, or None when unknown. Returns ``(reserved,
    cap)``: the bytes held, under a lease (pass them to ``store.new_writer``, then
    settle them with ``store.commit_write`` or give them back with ``store.release``),
    and the most bytes the body may have before the upload must stop with 507.
    Raises ``InsufficientStorage`` (507) when the announced size does not fit. Below
    :data:`RESERVE_FROM` bytes nothing is held (``reserved`` is 0): the figures are
    read (``figures``: read already in this request, with the path), and the
    commit's re-check charges the real size or answers 507. Nothing is held either
    when the body's size is unknown (chunked) or does not grow the file: the cap is
    the room in ``figures`` when given, read otherwise."""
    growth = max(0, announced - old_size) if announced is not None else 0
    if announced is not None and announced < RESERVE_FROM:
        if figures is None:
            figures = store.usage(space_id)
        if growth > (figures.available if figures else 0):
            raise InsufficientStorage("Not enough room left in this space (quota).")
        return quotas.Reservation(0), old_size + (figures.available if figures else 0)
    if growth <= 0 and figures is not None:  # what store.reserve(0) would read again
        return quotas.Reservation(0, None, figures), old_size + figures.available
    reserved = store.reserve(space_id, growth)
    figures = reserved.figures
    room = figures.available if figures else 0  # unknown figures: no room (fail closed)
    return reserved, old_size + reserved + room
