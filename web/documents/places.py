"""Where the file manager is: a browser path (``porte-documents/a/b``,
``classeur/a``, ``rubriques/<slug>/a``) resolved to a space, its nodes and the user's standing, with
the very decisions the DAV provider makes (``providers.operations``) — the browser
and a mapped drive show the same tree (issue 8).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session

import acl
from acl import NodeRef, Standing
from davserver.errors import DomainError
from providers import (
    ARCHIVES,
    BINDER,
    DOCUMENTS,
    PRINCIPAL_KEY,
    RUBRICS,
    Handoff,
    NodeInfo,
    RequestAccess,
    SpaceInfo,
    SqlLockStorage,
    Stamp,
    Store,
    operations,
    path_key,
)

from ..auth import current_principal, web_context

SETTINGS_KEY = "ent.documents"


class Refusal(DomainError):
    """A refused file-manager action, with its HTTP ``status`` and a French reason
    for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Settings:
    """What the file manager needs beyond the web context: the DAV lock storage
    (the browser honours locks taken by mapped drives), the quota warning threshold
    (percent), the zip limit (files), the streaming block size (bytes), and how to
    find a school's time zone (``school_zone(session, school_id)``: the textbook's
    school year knows it; the app passes it in, so the file manager does not import
    the textbook, which builds on it), and the hand-over of large downloads to nginx
    (``providers.handoff``; None: the server sends them)."""

    locks: SqlLockStorage | None
    quota_warning_percent: int
    zip_max_files: int
    block_size: int
    school_zone: Callable[[Session, int | None], ZoneInfo]
    handoff: Handoff | None = None


def settings() -> Settings:
    """The file manager's :class:`Settings` (inside a request)."""
    return cast(Settings, current_app.extensions[SETTINGS_KEY])


def store() -> Store:
    """The server's node store, the one the DAV provider uses."""
    return web_context().store


def access() -> RequestAccess:
    """This request's view of the signed-in user's spaces (read once per request, as
    on the DAV side). Only called behind ``login_required``."""
    principal = current_principal()
    assert principal is not None, "view not behind login_required"
    request.environ[PRINCIPAL_KEY] = principal
    found = RequestAccess.of(store(), request.environ)
    assert found is not None
    return found


@dataclass(frozen=True)
class Place:
    """A file or folder the user may read: ``top`` is ``porte-documents`` or
    ``rubriques/<slug>``, ``nodes`` run from the space root down to it."""

    top: str
    label: str
    space: SpaceInfo
    standing: Standing
    nodes: tuple[NodeInfo, ...]
    chain: tuple[NodeRef, ...]

    @property
    def node(self) -> NodeInfo:
        return self.nodes[-1]

    @property
    def where(self) -> str:
        """The browser path: ``porte-documents/a/b`` (no leading or trailing slash),
        with the names as written (issue 17)."""
        return self.top + self.node.written_path

    @property
    def dav_path(self) -> str:
        """The provider path of the same node (``/porte-documents/a/b``)."""
        return "/" + self.where

    @property
    def name(self) -> str:
        return self.node.name or self.label

    def member(self, node: NodeInfo) -> Place | None:
        """A member of this folder as a place, None if the user may not read it."""
        chain = (*self.chain, operations.node_ref(node))
        if not acl.allowed(self.standing, "read", chain):
            return None
        return Place(self.top, self.label, self.space, self.standing, (*self.nodes, node),
                     chain)

    def parent(self) -> Place:
        """The folder holding this node (itself for a space root)."""
        if len(self.nodes) == 1:
            return self
        return Place(self.top, self.label, self.space, self.standing, self.nodes[:-1],
                     self.chain[:-1])

    def ancestors(self) -> list[Place]:
        """The places from the space root down to this one (itself last)."""
        return [Place(self.top, self.label, self.space, self.standing, self.nodes[:depth],
                      self.chain[:depth]) for depth in range(1, len(self.nodes) + 1)]

    def allowed(self, privilege: str) -> bool:
        return acl.allowed(self.standing, privilege, self.chain)

    def require(self, privilege: str) -> None:
        """Raise ``Forbidden`` (or ``NotFound``) unless the user holds ``privilege``."""
        acl.require(self.standing, privilege, self.chain)

    def stamp(self) -> Stamp:
        """Author and publication state of what the user adds in this folder (a
        writer's additions to a rubric wait for a moderator)."""
        return Stamp(self.standing.user_id, acl.publishes_at_once(self.standing, self.chain))


def spaces() -> list[tuple[str, str]]:
    """The spaces the user sees, as (browser path, label): their porte-documents,
    their binder (teachers), then the shared folders of each rubric they hold a role
    in (by name), and the school's archive for the head and admins (read-only)."""
    rubrics = sorted(access().rubrics().values(), key=lambda pair: pair[0].name.lower())
    binder = [(BINDER, _("Classeur pédagogique"))] if access().has_binder() else []
    archive = [(ARCHIVES, _("Archives de l'établissement"))] \
        if access().archive_space() is not None else []
    return [(DOCUMENTS, _("Porte-documents")), *binder] + [
        (f"{RUBRICS}/{info.slug}", info.name) for info, _standing in rubrics] + archive


def _space_of(segments: list[str]) -> tuple[str, str, SpaceInfo, list[str]] | None:
    view = access()
    if segments[:1] == [DOCUMENTS]:
        return DOCUMENTS, _("Porte-documents"), view.personal_space("documents"), segments[1:]
    if segments[:1] == [BINDER] and view.has_binder():
        return BINDER, _("Classeur pédagogique"), view.personal_space("binder"), segments[1:]
    if segments[:1] == [ARCHIVES]:
        archive = view.archive_space()
        if archive is None:
            return None
        return ARCHIVES, _("Archives de l'établissement"), archive, segments[1:]
    if segments[:1] == [RUBRICS] and len(segments) > 1:
        space = view.rubric_space(segments[1])
        if space is None:
            return None
        label = view.rubrics()[segments[1]][0].name
        return f"{RUBRICS}/{segments[1]}", label, space, segments[2:]
    return None


def locate(where: str) -> Place:
    """The place at a browser path (``porte-documents/a/b``). Raises ``Refusal`` 404
    (in French) for anything the user may not read or that does not exist: the same
    answer, on purpose (STYLE.md habit 12)."""
    segments = [s for s in where.split("/") if s]
    found = _space_of([_nfc(s) for s in segments[:2]] + segments[2:])
    if found is not None:
        top, label, space, rest = found
        standing = access().standing(space)
        rel = "".join("/" + s for s in rest)
        resolved = operations.readable_chain(store(), standing, space.id, rel)
        if resolved is not None:
            nodes, chain = resolved
            return Place(top, label, space, standing, tuple(nodes), chain)
    raise Refusal(404, _("Ce fichier ou ce dossier n'existe pas, ou vous n'y avez pas accès."))


def _nfc(name: str) -> str:
    """The top segments (space, rubric slug) compare in NFC; names below go to the
    store as written, which resolves them by their key."""
    return unicodedata.normalize("NFC", name)


def lock_key(space: SpaceInfo, dav_path: str) -> str:
    """The lock storage's key of a node (``EntProvider.ref_url``: space id in front,
    the path in its NFC key form, whatever spelling the lock was taken in)."""
    return quote(f"/{space.id}{path_key(dav_path).rstrip('/') or '/'}")


def refuse_if_locked(place: Place, *, whole: bool = True) -> None:
    """Raise ``Refusal`` 423 when a WebDAV lock protects what the browser is about to
    change. Always: a lock on the node itself (on a folder, even of depth 0, it
    protects the folder's membership: RFC 4918 §7.4) and a depth-infinity lock on a
    folder above. With ``whole`` (the node is removed, renamed or replaced): also a
    lock below it and any lock on its own folder. The browser holds no lock token,
    so any such lock stops it, as it would stop another DAV client."""
    locks = settings().locks
    if locks is None:
        return
    key = lock_key(place.space, place.dav_path)
    if locks.get_lock_list(key, include_root=True, include_children=whole, token_only=True):
        raise Refusal(423, _("« %(name)s » est verrouillé (ouvert dans une autre application) : "
                             "réessayez quand il sera fermé.", name=place.name))
    above = place.ancestors()[:-1]
    for depth, folder in enumerate(above):
        found = locks.get_lock_list(lock_key(folder.space, folder.dav_path),
                                    include_root=True, include_children=False,
                                    token_only=False)
        own_folder = whole and depth == len(above) - 1
        if any(own_folder or lock.get("depth") == "infinity" for lock in found):
            raise Refusal(423, _("Le dossier « %(name)s » est verrouillé (ouvert dans une "
                                 "autre application) : réessayez plus tard.",
                                 name=folder.name))


def french_reason(exc: DomainError) -> str:
    """A French sentence for a domain error raised by ``acl``, the store or the quota
    ledger (their own messages are English, for logs and DAV clients)."""
    if isinstance(exc, Refusal):
        return exc.message
    return str({
        400: _("La demande n'est pas valide."),
        403: _("Vous n'avez pas le droit de faire cela ici."),
        404: _("Ce fichier ou ce dossier n'existe pas, ou vous n'y avez pas accès."),
        409: _("Un élément de ce nom existe déjà, ou le dossier a changé entre-temps."),
        423: _("Cet élément est verrouillé (ouvert dans une autre application)."),
        507: _("Espace insuffisant : le quota de cet espace serait dépassé."),
    }.get(exc.status, _("L'opération a échoué.")))


def describe(place: Place) -> dict[str, Any]:
    """What the picker shows of a folder: its path, name and whether the user may
    add to it."""
    return {"where": place.where, "name": place.name, "writable": place.allowed("bind")}
