"""Security-journal events of the file store (:mod:`davserver.journal`): deletes,
purges and publication in shared spaces (rubric spaces). Personal spaces are their
owner's business and are not journaled.

Each function joins the caller's transaction and costs one query (the space's kind
and rubric) before the insert; nothing happens for a personal space.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver import journal

from .models import Space


def shared_place(s: Session, space_id: int, path: str) -> tuple[str, int] | None:
    """``("/rubriques/<slug><path>", school id)`` for a node of a rubric space, else
    None (a personal space, or a rubric gone)."""
    row = s.execute(select(Space.kind, Space.rubric_id).where(Space.id == space_id)).first()
    if row is None or row[0] != "rubric" or row[1] is None:
        return None
    rubric = acl.rubric_by_id(s, row[1])
    if rubric is None:
        return None
    return f"/rubriques/{rubric.slug}{path}", rubric.school_id


def shared_event(s: Session, kind: str, space_id: int, path: str,
                 actor_id: int | None = None, **details: Any) -> None:
    """Journal ``kind`` at ``path`` of space ``space_id`` if it is a shared space; the
    actor is the user ``actor_id`` (else the request's signed-in user)."""
    place = shared_place(s, space_id, path)
    if place is None:
        return
    actor = None
    if actor_id is not None:
        login = acl.logins_of(s, {actor_id}).get(actor_id)
        actor = journal.Who(actor_id, login) if login else None
    journal.record(s, kind, actor=actor, place=place[0], school_id=place[1],
                   details=details or None)
