"""Each school's homework types (issue 5: defaults "Exercices", "Devoir maison",
"Autre", editable per school) and who edits them: the school's head (direction) and
admins, as for the other school-wide textbook settings (:data:`.oversight.services.OPENERS`).

Types are names; an activity keeps its type's text, so renaming or removing a type
changes no homework already given. A school keeps at least one type. Messages are
French: pages and API show them as they are.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import acl
from davserver.errors import BadRequest, Forbidden, NotFound

from .homework_models import HomeworkType
from .models import HOMEWORK_TYPES

MAX_TYPE = 100  # characters, as the activities' homework_type column
TYPE_EDITORS = frozenset({acl.Profile.head, acl.Profile.admin})
NOT_TYPE_EDITOR = ("Seuls la direction et les administrateurs de l'établissement "
                   "modifient les types de travail.")


def homework_types(session: Session, school_id: int | None) -> list[str]:
    """The school's homework types in order (one query); the defaults when it never
    changed them, or for ``school_id`` None."""
    if school_id is None:
        return list(HOMEWORK_TYPES)
    names = list(session.scalars(select(HomeworkType.name)
                                 .where(HomeworkType.school_id == school_id)
                                 .order_by(HomeworkType.position, HomeworkType.id)))
    return names or list(HOMEWORK_TYPES)


def type_editor_school(session: Session, user_id: int, school: int | None = None) -> int:
    """The school whose types ``user_id`` edits: ``school`` (the one they chose, for a
    person of several) or their home school. ``Forbidden`` (403) unless they are the
    head or an admin of it."""
    ctx = acl.user_context(session, user_id, school)
    if ctx.profile not in TYPE_EDITORS or ctx.school_id is None:
        raise Forbidden(NOT_TYPE_EDITOR)
    return ctx.school_id


def _rows(session: Session, school_id: int) -> list[HomeworkType]:
    """The school's rows, the defaults written out first if it has none."""
    rows = list(session.scalars(select(HomeworkType)
                                .where(HomeworkType.school_id == school_id)
                                .order_by(HomeworkType.position, HomeworkType.id)))
    if rows:
        return rows
    rows = [HomeworkType(school_id=school_id, name=name, position=n)
            for n, name in enumerate(HOMEWORK_TYPES)]
    session.add_all(rows)
    session.flush()
    return rows


def _clean(name: str, rows: list[HomeworkType], *, keep: HomeworkType | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise BadRequest("Donnez un nom au type de travail.")
    if len(name) > MAX_TYPE:
        raise BadRequest(f"Le nom du type de travail dépasse {MAX_TYPE} caractères.")
    if any(r.name.casefold() == name.casefold() and r is not keep for r in rows):
        raise BadRequest(f"Le type de travail « {name} » existe déjà.")
    return name


def _find(rows: list[HomeworkType], name: str) -> HomeworkType:
    for row in rows:
        if row.name == name:
            return row
    raise NotFound(f"Le type de travail « {name} » n'existe pas dans votre établissement.")


def add_type(session: Session, user_id: int, name: str,
             school: int | None = None) -> list[str]:
    """Add ``name`` (spaces collapsed, 1 to 100 characters, not already there, any
    case) at the end of the editor's school's types; returns the new list. Raises
    ``Forbidden``, ``BadRequest`` (nothing saved)."""
    school = type_editor_school(session, user_id, school)
    rows = _rows(session, school)
    clean = _clean(name, rows)
    last = session.scalar(select(func.max(HomeworkType.position))
                          .where(HomeworkType.school_id == school)) or 0
    session.add(HomeworkType(school_id=school, name=clean, position=last + 1))
    session.flush()
    return homework_types(session, school)


def rename_type(session: Session, user_id: int, old: str, new: str,
                school: int | None = None) -> list[str]:
    """Rename the type ``old`` to ``new`` (same checks as :func:`add_type`); homework
    already given keeps the old text. Raises ``Forbidden``, ``NotFound`` (no type
    ``old``), ``BadRequest``."""
    school = type_editor_school(session, user_id, school)
    rows = _rows(session, school)
    row = _find(rows, old)
    row.name = _clean(new, rows, keep=row)
    session.flush()
    return homework_types(session, school)


def remove_type(session: Session, user_id: int, name: str,
                school: int | None = None) -> list[str]:
    """Remove the type ``name``; homework already given keeps it as its text. The
    last type stays (``BadRequest``: the homework form needs one). Raises
    ``Forbidden``, ``NotFound``."""
    school = type_editor_school(session, user_id, school)
    rows = _rows(session, school)
    row = _find(rows, name)
    if len(rows) == 1:
        raise BadRequest("Gardez au moins un type de travail.")
    session.delete(row)
    session.flush()
    return homework_types(session, school)
