"""Where a WebDAV lock is, as the file manager names it, and the notification its
holder gets when someone else removes it (issue 18: "Breaking a lock notifies its
holder").

Listens to :data:`providers.lock_broken`, sent in the transaction that breaks a lock
(over WebDAV by ``UNLOCK``, from the file manager's "Déverrouiller", or with
``davserver lock break``): the notification exists iff the break commits. A holder
who removes their own lock is not told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy.orm import Session

import acl
from providers import ARCHIVES, BINDER, DOCUMENTS, RUBRICS, SpaceInfo, Store, lock_broken
from providers import relative_path as lock_relative_path
from web.notifications import NotificationKind, notify
from web.notifications.services import MAX_LINK

ZoneOf = Callable[[Session, "int | None"], ZoneInfo]
_zone_of: dict[str, ZoneOf] = {}


def set_school_zone(zone_of: ZoneOf) -> None:
    """How to find a school's time zone (``zone_of(session, school_id)``), for the
    time a lock was taken in a notification; set when the web layer is assembled
    (until then, Europe/Paris)."""
    _zone_of["fn"] = zone_of


def _school_zone(session: Session, school_id: int | None) -> ZoneInfo:
    zone_of = _zone_of.get("fn")
    return zone_of(session, school_id) if zone_of else ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class LockPlace:
    """A lock's resource as the file manager shows it: ``top`` is the browser path of
    its space (``porte-documents``, ``rubriques/<slug>``…), ``label`` the space's name,
    ``path`` the resource's space-relative path (``""`` for the root)."""

    space: SpaceInfo
    top: str
    label: str
    path: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1] if self.path else self.label

    @property
    def folder_url(self) -> str:
        """The file-manager page of the folder holding the resource (of the resource
        itself for a space's root)."""
        folder = self.path.rsplit("/", 1)[0] if self.path else ""
        url = "/documents/" + quote(self.top + folder) + "/"
        return url if len(url) <= MAX_LINK else "/documents/" + quote(self.top) + "/"


def lock_place(session: Session, lock: dict[str, Any]) -> LockPlace | None:
    """Where ``lock`` (a lock storage dict) is; None for a lock of an unknown space."""
    space = Store.space_in(session, lock["space_id"]) if lock.get("space_id") else None
    if space is None:
        return None
    path = lock_relative_path(lock["root"], space.kind)
    if space.kind == "rubric":
        rubric = acl.rubric_by_id(session, space.rubric_id or -1)
        slug, label = (rubric.slug, rubric.name) if rubric else ("?", "?")
        return LockPlace(space, f"{RUBRICS}/{slug}", label, path)
    tops = {"documents": (DOCUMENTS, _("Porte-documents")),
            "binder": (BINDER, _("Classeur pédagogique")),
            "archive": (ARCHIVES, _("Archives de l'établissement"))}
    top, label = tops.get(space.kind, (space.kind, space.kind))
    return LockPlace(space, top, str(label), path)


def on_lock_broken(_storage: Any, *, session: Session, lock: dict[str, Any],
                   broken_by: int | None, **_kw: Any) -> None:
    """Receiver of :data:`providers.lock_broken` (see the module docstring)."""
    holder = acl.find_user(session, lock["principal"])
    if holder is None or holder.id == broken_by:
        return
    place = lock_place(session, lock)
    name = place.name if place else lock["root"]
    who = (acl.names_of(session, {broken_by}).get(broken_by, "?") if broken_by is not None
           else _("L'administration de l'ENT"))
    since = ""
    if lock.get("created"):
        zone = _school_zone(session, acl.school_of_user(session, holder.id))
        taken = datetime.fromtimestamp(lock["created"], zone)
        since = _(" le %(day)s à %(time)s", day=f"{taken:%d/%m/%Y}", time=f"{taken:%H:%M}")
    where = f"{place.label} : {place.path or '/'}" if place else lock["root"]
    notify(session, holder.id, NotificationKind.lock_broken,
           _("Votre verrou sur « %(name)s » a été levé", name=name),
           _("%(who)s a déverrouillé « %(where)s », que vous aviez verrouillé%(since)s. "
             "Si ce fichier est encore ouvert chez vous, enregistrez vos modifications "
             "sous un autre nom : d'autres personnes peuvent maintenant le modifier.",
             who=who, where=where, since=since),
           place.folder_url if place else None)


lock_broken.connect(on_lock_broken)
