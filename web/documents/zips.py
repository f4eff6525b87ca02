"""A folder or a selection downloaded as one zip, streamed as it is built
(zipstream-ng): each file's blob is opened when the zip reaches it and read block by
block, so memory stays flat whatever the size. A copy's rule applies: the zip holds
only what the user may read. Above ``web.zip_max_files`` files it is refused, with
the limit stated.

Entry names are made safe to extract whatever names are stored (:func:`safe_members`,
the "zip slip" family): no ``..`` or ``.`` segment, no absolute path, no backslash
(Windows' separator), no colon (a drive letter, an NTFS stream), no control or
bidirectional formatting character, and no two entries that a case-insensitive disk
would take for one."""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _
from werkzeug.wrappers import Response
from zipstream import ZipStream

from providers import NodeInfo, operations

from .downloads import blob_chunks, protect
from .places import Place, Refusal, settings, store

Entry = tuple[str, NodeInfo | None]  # name in the zip, the file (None: a folder)


def _entries(item: Place) -> list[Entry]:
    """Zip entries of one selected item: the file, or the folder and what the user may
    read below it (parents before members)."""
    node = item.node
    if not node.is_collection:
        return [(node.name, node)]
    visible = operations.readable_subtree(store(), item.standing, node, item.chain,
                                          recursive=True)
    base = item.name
    found: list[Entry] = [(base + "/", None)]
    for member in store().descendants(node):
        if visible is not None and member.id not in visible:
            continue
        arcname = base + member.written_path[len(node.written_path):]
        found.append((arcname + "/", None) if member.is_collection else (arcname, member))
    return found


def zip_response(folder: Place, items: list[Place]) -> Response:
    """The zip of ``items`` (default: the whole ``folder``), named after the folder.
    Raises ``Refusal`` 400 above the configured number of files."""
    entries: list[Entry] = []
    if not items:
        entries = [e for e in _entries(folder) if e[0] != folder.name + "/"]
        entries = [(name[len(folder.name) + 1:], node) for name, node in entries]
    for item in items:
        entries += _entries(item)
    return stream_zip(folder.name + ".zip",
                      [(name, (node.blob_key, node.size) if node else None)
                       for name, node in entries])


ZipMember = tuple[str, tuple[str | None, int] | None]
"""A zip entry: its name in the zip, and its blob (key, None for empty content; size
in bytes), or None for a folder (name ending in ``/``)."""


def stream_zip(filename: str, members: list[ZipMember]) -> Response:
    """A zip download named ``filename``, streamed while it is built: each blob is
    opened when the zip reaches it and read block by block (flat memory). Folders come
    before their members; the caller checks who may read what. Raises ``Refusal`` 400
    above ``web.zip_max_files`` files."""
    members = safe_members(members)
    count = sum(1 for _name, blob in members if blob is not None)
    limit = settings().zip_max_files
    if count > limit:
        raise Refusal(400, _("Ce zip contiendrait %(files)d fichiers : %(limit)d au plus par "
                             "téléchargement. Choisissez moins d'éléments ou un sous-dossier.",
                             files=count, limit=limit))
    archive = ZipStream(sized=False)
    files, block = store(), settings().block_size
    for name, blob in members:
        if blob is None:
            archive.mkdir(name)
        else:
            archive.add(blob_chunks(files, blob[0], block), name, size=blob[1])
    response = Response(archive, mimetype="application/zip", direct_passthrough=True)
    response.headers["Cache-Control"] = "no-store"
    return protect(response, filename)


# Characters no entry name keeps: Windows' separator and drive/stream mark, and the
# invisible bidirectional controls that make "txt.exe" read as "exe.txt".
_UNSAFE = frozenset("\\:\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _segment(name: str) -> str:
    """One path segment made safe: unsafe and control characters become ``_``, and a
    segment that is empty, ``.`` or ``..`` becomes ``_``."""
    safe = "".join("_" if ch in _UNSAFE or unicodedata.category(ch) == "Cc" else ch
                   for ch in name)
    return "_" if safe in ("", ".", "..") else safe


def _unique(path: str, taken: set[str]) -> str:
    """``path``, or ``name~2.ext``, ``name~3.ext``… when a case-insensitive disk would
    already have it."""
    if path.casefold() not in taken:
        return path
    parent, _, leaf = path.rpartition("/")
    stem, dot, ext = leaf.rpartition(".")
    if not stem:
        stem, dot, ext = leaf, "", ""
    n = 2
    while True:
        candidate = f"{stem}~{n}{dot}{ext}"
        candidate = f"{parent}/{candidate}" if parent else candidate
        if candidate.casefold() not in taken:
            return candidate
        n += 1


def safe_members(members: list[ZipMember]) -> list[ZipMember]:
    """``members`` with names safe to extract anywhere (see the module docstring).
    Each segment is cleaned alone; a folder renamed to stay unique takes its members
    along (folders come before their members). Stored names are never trusted: the
    web side and hand-ins build names from what users typed, and rows may predate a
    rule."""
    taken: set[str] = set()
    folders: dict[str, str] = {}  # a folder's name as given → its safe name
    safe: list[ZipMember] = []
    for name, blob in members:
        raw = name.rstrip("/") if blob is None else name
        above, _, leaf = raw.rpartition("/")
        parent = folders.get(above)
        if parent is None:
            parent = "/".join(_segment(s) for s in above.split("/") if s)
        path = _unique(f"{parent}/{_segment(leaf)}" if parent else _segment(leaf), taken)
        taken.add(path.casefold())
        if blob is None:
            folders[raw] = path
            safe.append((path + "/", None))
        else:
            safe.append((path, blob))
    return safe
