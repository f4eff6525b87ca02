"""The « Mon établissement » column of every signed-in page (issue 20, "Navigation"):
the rubrics and sub-rubrics of the user's current school that they may see, as a
tree, each linked to its home page.

Which rubrics: those :func:`web.rubrics.pages.seen_rubrics` gives (``acl``'s
rights check, the one ``/rubriques/`` uses), in the school the user chose in the
header (their home school otherwise; every school for a user of none). A sub-rubric
whose parent the user cannot see stands at the top: the parent's name is not theirs
to learn (as on ``/rubriques/``). Siblings are ordered by name.

Where each links: its home page (``/rubriques/<slug>/``) when the user is shown it
(switched on, or they manage the rubric); otherwise its shared folders in the file
manager; otherwise nowhere (the name alone, with its sub-rubrics under it), since the
home page would answer 404.

Sub-rubrics are unfolded or folded (``<details>``) as the user's preference
« Déplier toutes les sous-rubriques » says (``acl.Preferences.unfold_rubrics``, set
in « Mes préférences »); it is read only when some rubric has sub-rubrics.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import url_for
from sqlalchemy.orm import Session

import acl


@dataclass(frozen=True)
class ColumnRubric:
    """One rubric of the column; ``url`` None: nothing of it to open (no home page
    shown, no shared folders)."""

    slug: str
    name: str
    url: str | None
    children: tuple[ColumnRubric, ...]


@dataclass(frozen=True)
class SchoolColumn:
    """The column: its top rubrics, and whether their sub-rubrics show unfolded."""

    rubrics: tuple[ColumnRubric, ...]
    unfold: bool


def _url(rubric: acl.RubricInfo, home: bool) -> str | None:
    if home:
        return url_for("rubric_home.home", slug=rubric.slug)
    if rubric.has_shared_folders:
        return url_for("documents.place", where=f"rubriques/{rubric.slug}") + "/"
    return None


def school_column(session: Session, ctx: acl.UserContext,
                  seen: Iterable[tuple[acl.RubricInfo, bool]]) -> SchoolColumn | None:
    """The column of the user of ``ctx`` from the rubrics they see (each with whether
    its home page is shown to them), or None when they see none in the current
    school. At most one query (the preference), made only when some rubric has
    sub-rubrics. Call inside a request (it builds URLs)."""
    here = [(r, home) for r, home in seen
            if ctx.school_id is None or r.school_id == ctx.school_id]
    if not here:
        return None
    ids = {r.id for r, _home in here}
    below: dict[int | None, list[tuple[acl.RubricInfo, bool]]] = {}
    for rubric, home in here:
        parent = rubric.parent_id if rubric.parent_id in ids else None
        below.setdefault(parent, []).append((rubric, home))

    def tree(parent: int | None) -> tuple[ColumnRubric, ...]:
        rows = sorted(below.get(parent, ()), key=lambda pair: (pair[0].name.casefold(),
                                                               pair[0].slug))
        return tuple(ColumnRubric(r.slug, r.name, _url(r, home), tree(r.id))
                     for r, home in rows)

    top = tree(None)
    nested = any(parent is not None for parent in below)
    unfold = nested and acl.preferences_of(session, ctx.user_id).unfold_rubrics
    return SchoolColumn(top, unfold)
