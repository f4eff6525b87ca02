"""The teachers' hand-ins over WebDAV, read-only (issue 7, "Online submission"):
``/dav/classeur/Remises/<service>/<homework>/<student>/<file>``.

``<service>`` is « MATHS 4B » for each service the teacher teaches that has a
homework with online submission; ``<homework>`` its title and id (« Rédaction (12) »:
two homework may share a title); ``<student>`` the login of each student who handed
in; then their files. Only the teacher's own services are there, so a teacher sees
exactly what the hand-ins page shows them. Registered with the provider at import
(:func:`providers.register_binder_folder`); the provider refuses every write inside.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import acl
from providers import (
    Store,
    VirtualEntry,
    VirtualTree,
    composite_etag,
    name_key,
    register_binder_folder,
)

from ..models import Activity, ActivityKind, Lesson, TeachingService, service_teachers
from ..oversight.models import activity_not_trashed
from ..oversight.services import service_labels
from .models import Handin, HandinFile

FOLDER = "Remises"
_T = TypeVar("_T")


def _safe(name: str) -> str:
    """A name usable as one path segment."""
    return name.replace("/", "-").replace("\\", "-").strip() or "-"


def _services(s: Session, teacher_id: int) -> dict[str, int]:
    """The teacher's services with online homework, by folder name."""
    services = list(s.scalars(
        select(TeachingService).join(service_teachers,
                                     service_teachers.c.service_id == TeachingService.id)
        .where(service_teachers.c.user_id == teacher_id,
               select(Activity.id).join(Lesson, Lesson.id == Activity.lesson_id)
               .where(Lesson.service_id == TeachingService.id,
                      Activity.kind == ActivityKind.homework,
                      Activity.online_submission.is_(True), activity_not_trashed()).exists())
        .order_by(TeachingService.id)))
    return {_safe(label): svc.id for svc, label in zip(services,
                                                      service_labels(s, services),
                                                      strict=True)}


def _homework(s: Session, service_id: int) -> dict[str, int]:
    rows = s.execute(select(Activity.id, Activity.title).join(
        Lesson, Lesson.id == Activity.lesson_id).where(
        Lesson.service_id == service_id, Activity.kind == ActivityKind.homework,
        Activity.online_submission.is_(True), activity_not_trashed()).order_by(Activity.id))
    return {_safe(f"{title} ({aid})"): aid for aid, title in rows}


def _students(s: Session, activity_id: int) -> dict[str, Handin]:
    rows = list(s.scalars(select(Handin).where(Handin.activity_id == activity_id)))
    logins = acl.logins_of(s, {r.student_id for r in rows})
    return {logins[r.student_id]: r for r in rows if r.student_id in logins}


def _folders(names: list[str], when: float = 0.0) -> list[VirtualEntry]:
    return [VirtualEntry(n, True, modified=when) for n in sorted(names)]


def _find(found: dict[str, _T], name: str) -> _T | None:
    """The value of the folder named ``name`` in either spelling (NFC or NFD, issue
    17), or None."""
    if name in found:
        return found[name]
    key = name_key(name)
    return next((value for shown, value in found.items() if name_key(shown) == key), None)


def _children(s: Session, store: Store, teacher_id: int,
              segments: list[str]) -> list[VirtualEntry] | None:
    """Members of the folder at ``segments`` (None: no such folder)."""
    services = _services(s, teacher_id)
    if not segments:
        return _folders(list(services))
    service_id = _find(services, segments[0])
    if service_id is None:
        return None
    homework = _homework(s, service_id)
    if len(segments) == 1:
        return _folders(list(homework))
    activity_id = _find(homework, segments[1])
    if activity_id is None:
        return None
    students = _students(s, activity_id)
    if len(segments) == 2:
        return [VirtualEntry(n, True, modified=h.updated.timestamp())
                for n, h in sorted(students.items())]
    handin = _find(students, segments[2]) if len(segments) == 3 else None
    if handin is None:
        return None
    files = list(s.scalars(select(HandinFile).where(
        HandinFile.handin_id == handin.id).order_by(HandinFile.name)))
    keys = store.blob_keys(s, [f.blob_id for f in files])
    return [VirtualEntry(f.name, False, f.size, f.content_type, f.uploaded.timestamp(),
                         keys.get(f.blob_id), keys.get(f.blob_id)) for f in files]


def _scope_digest(s: Session, teacher_id: int, segments: list[str]) -> str | None:
    """What changes below the folder at ``segments`` when a hand-in does: the names
    on the way down and, over every hand-in file below it, their count, the sum of
    their ids (a file replaced by another changes it) and the latest hand-in change.
    None: no such folder (one query per level, then one for the files)."""
    query = (select(func.count(HandinFile.id), func.sum(HandinFile.id), func.max(Handin.updated))
             .join(Handin, Handin.id == HandinFile.handin_id)
             .join(Activity, Activity.id == Handin.activity_id)
             .join(Lesson, Lesson.id == Activity.lesson_id)
             .join(service_teachers, service_teachers.c.service_id == Lesson.service_id)
             .where(service_teachers.c.user_id == teacher_id,
                    Activity.kind == ActivityKind.homework,
                    Activity.online_submission.is_(True)))
    names: list[str] = list(_services(s, teacher_id))
    if segments:
        service = _services(s, teacher_id).get(segments[0])
        if service is None:
            return None
        query = query.where(Lesson.service_id == service)
        homework = _homework(s, service)
        names = list(homework)
        if len(segments) > 1:
            if segments[1] not in homework:
                return None
            query = query.where(Activity.id == homework[segments[1]])
            students = _students(s, homework[segments[1]])
            names = list(students)
            if len(segments) > 2:
                if len(segments) > 3 or segments[2] not in students:
                    return None
                query = query.where(Handin.id == students[segments[2]].id)
                names = []
    count, total, latest = s.execute(query).one()
    return composite_etag(["/".join(sorted(names)), str(count), str(total or 0),
                           str(latest or "")])


class HandinTree(VirtualTree):
    """``Remises`` for a teacher: see the module docstring (other profiles: empty)."""

    def children(self, store: Store, principal: acl.Principal,
                 segments: list[str]) -> list[VirtualEntry]:
        if principal.profile is not acl.Profile.teacher:
            return []
        with store.db.transaction(write=False) as s:
            return _children(s, store, principal.id, segments) or []

    def folder_etag(self, store: Store, principal: acl.Principal,
                    segments: list[str]) -> str | None:
        """Changes when a hand-in below changes (a sync client of the binder lists
        ``Remises`` again only then)."""
        if principal.profile is not acl.Profile.teacher:
            return None
        with store.db.transaction(write=False) as s:
            return _scope_digest(s, principal.id, segments)

    def entry(self, store: Store, principal: acl.Principal,
              segments: list[str]) -> VirtualEntry | None:
        if not segments:
            return VirtualEntry(FOLDER, True)
        if principal.profile is not acl.Profile.teacher:
            return None
        with store.db.transaction(write=False) as s:
            found = _children(s, store, principal.id, segments[:-1]) or []
        return _find({e.name: e for e in found}, segments[-1])


register_binder_folder(FOLDER, HandinTree())
