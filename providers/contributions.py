"""New contributions in a rubric's shared folders, announced to whoever listens (issue
20, "Mes rubriques": a user may choose to hear of each new contribution in a rubric).

A contribution is what becomes visible to the rubric's readers: a new file stored
published (a publisher's, a moderator's, a manager's), a pending file a moderator
publishes, or a file or folder copied or moved in from another space by someone who
publishes at once (one announcement for the whole folder). :data:`contribution_published`
is sent in the transaction that makes it so, over WebDAV or in the browser: a
receiver's rows (the web layer's notifications, ``web/documents/rubric_news.py``) exist
iff that transaction commits. Replaced contents, renames and moves inside the rubric,
and personal spaces are no contributions.
"""

from __future__ import annotations

from dataclasses import dataclass

from blinker import Namespace
from sqlalchemy import select
from sqlalchemy.orm import Session

from acl import NodeRef

from .folder_etags import ancestors
from .models import Node, Space

contribution_published = Namespace().signal("contribution-published")
"""Sent with the space id as sender and ``session`` (the open write transaction),
``rubric_id``, ``node_id`` (a file, or the top of a folder copied or moved in),
``name`` (as written), ``written_path`` (the space-relative path as written,
``/Affiches/a.png``), ``author_id`` (None when unknown) and ``chain`` (the
:class:`acl.NodeRef` of each node from the space root down to the node, for
``acl.allowed``). Receivers work inside that transaction and must not block."""


def announce_published(s: Session, space_id: int, node_id: int, path: str, *,
                       kind: str | None = None) -> None:
    """Send :data:`contribution_published` for the node ``node_id`` at the key path
    ``path`` of ``space_id`` when that space is a rubric's; nothing otherwise (and
    nothing when no receiver is connected, or when ``kind``, the space's kind if the
    caller knows it, is not ``"rubric"``: no query)."""
    if not contribution_published.receivers or kind not in (None, "rubric"):
        return
    space = s.execute(select(Space.kind, Space.rubric_id).where(Space.id == space_id)).first()
    if space is None or space.kind != "rubric" or space.rubric_id is None:
        return
    paths = [*ancestors(path), path]
    # Columns, not entities: a session's stale copy of a row just moved is not read.
    rows = {row.path: row for row in s.execute(
        select(Node.id, Node.path, Node.name, Node.written_name, Node.written_path,
               Node.author_id, Node.published)
        .where(Node.space_id == space_id, Node.path.in_(paths)))}
    if len(rows) != len(paths) or rows[path].id != node_id:
        return
    file = rows[path]
    contribution_published.send(
        space_id, session=s, rubric_id=space.rubric_id, node_id=node_id,
        name=file.written_name or file.name, written_path=file.written_path or path,
        author_id=file.author_id,
        chain=tuple(NodeRef(rows[p].id, rows[p].author_id, rows[p].published)
                    for p in paths))


@dataclass(frozen=True)
class Contribution:
    """A published file of a rubric's space, as its home page lists it: ``path`` is
    the space-relative key path, ``written_path`` as written, ``modified`` UTC epoch
    seconds, ``chain`` the :class:`acl.NodeRef` of each node from the root down to
    the file (for ``acl.allowed``: a reader sees it only if every folder above is
    readable to them)."""

    node_id: int
    name: str
    written_path: str
    size: int
    modified: float
    author_id: int | None
    chain: tuple[NodeRef, ...]


def latest_contributions(s: Session, space_id: int, *, scan: int = 50) -> list[Contribution]:
    """The ``scan`` most recently modified published files of ``space_id`` (not in
    the trash), newest first, each with its chain. Two queries: the files, then
    their folders. Pending files (``published`` false) are no contributions yet."""
    files = list(s.execute(
        select(Node.id, Node.path, Node.name, Node.written_name, Node.written_path,
               Node.size, Node.modified, Node.author_id)
        .where(Node.space_id == space_id, Node.is_collection.is_(False),
               Node.published.is_(True), Node.path.like("/%"))
        .order_by(Node.modified.desc(), Node.id.desc()).limit(scan)))
    wanted = {p for f in files for p in ancestors(f.path)}
    folders = {row.path: NodeRef(row.id, row.author_id, row.published) for row in s.execute(
        select(Node.id, Node.path, Node.author_id, Node.published)
        .where(Node.space_id == space_id, Node.path.in_(wanted)))} if wanted else {}
    found = []
    for f in files:
        above = ancestors(f.path)
        if not all(p in folders for p in above):
            continue  # moved away meanwhile: its new place is listed next time
        found.append(Contribution(
            f.id, f.written_name or f.name, f.written_path or f.path, f.size, f.modified,
            f.author_id,
            (*(folders[p] for p in above), NodeRef(f.id, f.author_id, True))))
    return found
