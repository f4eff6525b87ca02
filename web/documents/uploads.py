"""Uploads from the browser, streamed into the store as a DAV PUT is (issue 8).

The browser sends each file as the raw body of one request (no multipart form:
werkzeug's form parser would spool it). Its Content-Length reserves the quota
before any byte is read (``providers.operations.reserve_upload``, the PUT's own
rule), the body streams block by block into a new blob, and one transaction points
the file at it and settles the usage: the server never holds a file in memory, a
refused or broken upload leaves the old content (or nothing), never half a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from flask_babel import gettext as _

from davserver.errors import InsufficientStorage
from providers import BlobInfo, BlobWriter, NodeInfo, operations, path_key

from .actions import _must, check_name, numbered_path
from .places import Place, Refusal, refuse_if_locked, settings, store
from .present import human_size


def _existing(folder: Place, name: str, *, replace: bool) -> NodeInfo | None:
    """The file ``name`` replaces (checked: ``write-content``, no lock), or None for a
    new one. ``Refusal`` 409 when the name is taken and ``replace`` is off, or by a
    folder or by something the user does not see."""
    found = store().resolve(folder.space.id, folder.node.path + "/" + name)
    if found is None:
        return None
    member = folder.member(found)
    if found.is_collection or member is None or not replace:
        raise Refusal(409, _("« %(name)s » existe déjà dans ce dossier.", name=name))
    _must(member, "write-content", _("Vous ne pouvez pas remplacer « %(name)s ».",
                                     name=name))
    refuse_if_locked(member)
    return found


def _room_refusal(name: str, length: int, space_id: int) -> Refusal:
    figures = store().usage(space_id)
    left = figures.available if figures else 0
    return Refusal(507, _("Espace insuffisant : « %(name)s » (%(size)s) dépasse ce qui "
                          "reste du quota (%(left)s).", name=name, size=human_size(length),
                          left=human_size(left)))


def _stream(body: IO[bytes], writer: BlobWriter, cap: int, name: str, length: int) -> None:
    """Copy the body into ``writer`` block by block, stopping at ``cap`` bytes (the
    counting layer of STYLE.md habit 10) and checking the announced length."""
    block = settings().block_size
    received = 0
    while True:
        data = body.read(block)
        if not data:
            break
        received += len(data)
        if received > cap:
            raise Refusal(507, _("Espace insuffisant : « %(name)s » dépasse ce qui reste "
                                 "du quota.", name=name))
        writer.write(data)
    if received != length:
        raise Refusal(400, _("Envoi de « %(name)s » interrompu : %(got)d octets reçus sur "
                             "%(want)d.", name=name, got=received, want=length))


def taken(folder: Place, raw_name: str) -> dict[str, object] | None:
    """What an upload named ``raw_name`` would meet in ``folder``: None when the name
    is free (in any spelling, NFC or NFD), else ``{"name", "replaceable"}`` where
    ``replaceable`` says whether "Remplacer" can work (a file the user may overwrite;
    not a folder, nor something they do not see). Raises ``Refusal`` 400 for a name
    that can never be used."""
    name = check_name(raw_name)
    return _met(folder, name, store().resolve(folder.space.id, folder.node.path + "/" + name))


def taken_names(folder: Place, raw_names: Iterable[str]) -> list[dict[str, object]]:
    """:func:`taken` for many names at once, in their order, each taken one with
    ``"asked"`` (the name as sent) added; a name that can never be used is left out
    (its own upload says why). The folder's members at those names are read together
    (:meth:`providers.Store.resolve_many`: one query per 500 names), not one query a
    name."""
    wanted: list[tuple[str, str]] = []
    for raw in raw_names:
        try:
            wanted.append((raw, check_name(raw)))
        except Refusal:
            continue
    prefix = folder.node.path + "/"
    found = store().resolve_many(folder.space.id, [prefix + name for _raw, name in wanted])
    out = []
    for raw, name in wanted:
        met = _met(folder, name, found.get(path_key(prefix + name)))
        if met is not None:
            out.append(met | {"asked": raw})
    return out


def _met(folder: Place, name: str, found: NodeInfo | None) -> dict[str, object] | None:
    if found is None:
        return None
    member = folder.member(found)
    return {"name": name, "replaceable": bool(
        member is not None and not found.is_collection
        and member.allowed("write-content"))}


def upload(folder: Place, raw_name: str, body: IO[bytes], length: int | None, *,
           replace: bool = False, keep_both: bool = False) -> NodeInfo:
    """Store the body as ``raw_name`` in ``folder`` (``bind`` on it, or
    ``write-content`` on the file it replaces when ``replace``). With ``keep_both``
    a taken name becomes the first free ``name (2).ext`` (the trash's rule,
    :func:`.actions.numbered_path`); the returned node carries the name used.
    ``length`` is the body's Content-Length in bytes, required (411 without it).
    Raises ``Refusal`` (400, 403, 409, 411, 423, 507) before reading the body
    whenever it can."""
    _must(folder, "bind", _("Vous ne pouvez pas ajouter de fichier dans ce dossier."))
    name = check_name(raw_name)
    if length is None:
        raise Refusal(411, _("La taille du fichier (Content-Length) manque."))
    refuse_if_locked(folder, whole=False)
    if keep_both and store().resolve(folder.space.id,
                                     folder.node.path + "/" + name) is not None:
        name = numbered_path(folder.space.id, folder.node.path + "/" + name).rpartition("/")[2]
    existing = _existing(folder, name, replace=replace)
    old_size = existing.size if existing is not None else 0
    space_id = folder.space.id
    info, reserved = stream_to_blob(space_id, name, body, length, old_size)
    return store().commit_write(space_id, folder.node.path + "/" + name, info,
                                reserved=reserved, stamp=folder.stamp())


def stream_to_blob(space_id: int, name: str, body: IO[bytes], length: int | None,
                   old_size: int = 0) -> tuple[BlobInfo, int]:
    """Reserve the growth of a body of ``length`` bytes (its Content-Length) in the
    space ``space_id`` (``old_size``: bytes of the content it replaces), then stream
    it into a new blob. Returns the finished blob and the bytes reserved, which the
    caller settles when it records the blob (``Store.commit_write`` or
    ``Store.hold_blob``) or gives back on failure. Raises ``Refusal`` 411 (no
    length), 507 (over quota: nothing stored, nothing held) or 400 (body shorter or
    longer than announced), before reading the body whenever it can."""
    if length is None:
        raise Refusal(411, _("La taille du fichier (Content-Length) manque."))
    try:
        reserved, cap = operations.reserve_upload(store(), space_id, old_size, length)
    except InsufficientStorage as exc:
        raise _room_refusal(name, length, space_id) from exc
    writer = store().new_writer(reserved)
    try:
        _stream(body, writer, cap, name, length)
    except BaseException:
        writer.abort()
        store().release(space_id, reserved)
        raise
    return writer.finish(), reserved
