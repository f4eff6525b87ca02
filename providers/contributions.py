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

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from blinker import Namespace
from sqlalchemy import and_, func, or_, select
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


PAGE = 50
"""Files read at a time by :func:`latest_contributions`."""

MAX_PAGES = 20
"""Pages :func:`latest_contributions` reads at most (1,000 files): the bound of its
work when the newest files are mostly out of the reader's reach."""

MAX_FOLDERS = 200
"""Granted folders whose subtrees :func:`latest_contributions` names in its query; a
reader holding more reads the whole space, page by page."""


def latest_contributions(s: Session, space_id: int, *, wanted: int,
                         readable: Callable[[Contribution], bool] = lambda c: True,
                         folders: Collection[int] | None = None) -> list[Contribution]:
    """Up to ``wanted`` of the most recently modified published files of ``space_id``
    (not in the trash) that ``readable`` accepts, newest first, each with its chain.

    ``folders``: the node ids of the folders below which the reader holds a role
    (None: a role on the whole space). The query then reads only the files below
    those folders, so that a reader of one quiet folder sees its files however many
    newer ones the rest of the space holds. ``readable`` (``acl.allowed`` on the
    chain) still decides: a pending folder, a sub-folder they may not read.

    The files are read :data:`PAGE` at a time in the order of the index on
    ``(space_id, modified)``, two queries a page (the files, then their folders),
    until ``wanted`` are found, the space is exhausted, or :data:`MAX_PAGES` pages
    were read: a bounded work, which may show fewer than ``wanted`` when the newest
    thousand files are all out of the reader's reach. Pending files (``published``
    false) are no contributions yet."""
    below = _below_folders(s, space_id, folders) if folders is not None else None
    if below == [] or wanted <= 0:
        return []
    query = (select(Node.id, Node.path, Node.name, Node.written_name, Node.written_path,
                    Node.size, Node.modified, Node.author_id)
             .where(Node.space_id == space_id, Node.is_collection.is_(False),
                    Node.published.is_(True), Node.path.like("/%"))
             .order_by(Node.modified.desc(), Node.id.desc()).limit(PAGE))
    if below:
        query = query.where(or_(*(func.substr(Node.path, 1, len(p) + 1) == p + "/"
                                  for p in below)))
    found: list[Contribution] = []
    after: tuple[float, int] | None = None
    for _page in range(MAX_PAGES):
        page = query if after is None else query.where(or_(
            Node.modified < after[0], and_(Node.modified == after[0], Node.id < after[1])))
        files = list(s.execute(page))
        for contribution in _with_chains(s, space_id, files):
            if readable(contribution):
                found.append(contribution)
                if len(found) == wanted:
                    return found
        if len(files) < PAGE:
            break
        after = (files[-1].modified, files[-1].id)
    return found


def _below_folders(s: Session, space_id: int, folders: Collection[int]) -> list[str] | None:
    """The live key paths of ``folders`` in the space, those below another left out;
    None when there are too many to name in a query (:data:`MAX_FOLDERS`)."""
    if len(folders) > MAX_FOLDERS:
        return None
    if not folders:
        return []
    paths = sorted(s.scalars(select(Node.path).where(
        Node.space_id == space_id, Node.id.in_(list(folders)),
        Node.is_collection.is_(True), Node.path.like("/%"))))
    kept: list[str] = []
    for path in paths:  # sorted: a folder comes before what is below it
        if not any(path.startswith(k + "/") for k in kept):
            kept.append(path)
    return kept


def _with_chains(s: Session, space_id: int, files: list[Any]) -> list[Contribution]:
    """The rows of ``files`` as contributions with their chains (one query for their
    folders); a file whose folders moved meanwhile is left out."""
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
