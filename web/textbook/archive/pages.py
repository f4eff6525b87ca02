"""``/textbook/controle/archives``: the head's button for the year-end archive of the
cahier de textes (issue 7, "Year-end archive": "… and a button for the head").

* ``GET /textbook/controle/archives``: the school's years, each archived (a link to
  its read-only folder in the file manager, ``/documents/archives/<year>``) or with
  an "Archiver" button.
* ``POST /textbook/controle/archives/<year>``: writes the year's PDFs into the
  school's archive space (:mod:`web.textbook.archive.space`, the same code as
  ``davserver archive textbooks``), the page streamed as each PDF is stored, with a
  progress bar (no JavaScript: every step adds a ``<progress>``, the style sheet
  shows the last one).

For the head and the admins of the school (``acl.ARCHIVE_PROFILES``); 403 for
everyone else. A year archived already, or being archived, is refused with the
reason (409); nothing is half-written (see :mod:`web.textbook.archive.space`).
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, abort, render_template, request, stream_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

import acl
from davserver.errors import DomainError
from web.auth import chosen_school, login_required, signed_in, web_context
from web.forms import ActionForm

from ..models import SchoolYear
from . import services as archive
from . import space as archive_space

bp = Blueprint("archives", __name__, url_prefix="/textbook/controle/archives")

def _school() -> int:
    """The signed-in head's or admin's school id (403 for other profiles, or without
    a school)."""
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:
        ctx = acl.user_context(s, principal.id, chosen_school())
        school_id = ctx.school_id if ctx.school_id is not None else acl.school_of_user(
            s, principal.id)
    if not acl.reads_school_archive(ctx.profile):  # their profile in the chosen school
        abort(403, description=_("Les archives sont réservées à la direction et aux "
                                 "administrateurs."))
    if school_id is None:
        abort(403, description=_("Votre compte n'est rattaché à aucun établissement."))
    return school_id


@bp.get("")
@login_required
def index() -> str:
    """The school's years and their archives."""
    school_id = _school()
    store = web_context().store
    done = set(archive_space.archived_years(store, school_id))
    with web_context().db.transaction(write=False) as s:
        years = [(y.label, archive_space.year_ended(y)) for y in s.scalars(select(SchoolYear)
                 .where(SchoolYear.school_id == school_id).order_by(SchoolYear.start.desc()))]
    return render_template("textbook/archives.html", years=years, done=done,
                           form=ActionForm())


@bp.post("/<label>")
@login_required
def run(label: str) -> Iterator[str]:
    """Archive the year ``label``, streaming the progress page."""
    school_id = _school()
    principal = signed_in()
    store = web_context().store
    if label in archive_space.archived_years(store, school_id):
        abort(409, description=_("Les cahiers de textes de %(year)s sont déjà archivés : "
                                 "une archive est écrite une fois, jamais remplacée.",
                                 year=label))

    before_end = request.form.get("avant_fin") == "1"
    with web_context().db.transaction(write=False) as s:
        try:
            year = archive.school_year(s, school_id, label)
        except DomainError as exc:
            abort(exc.status, description=exc.message)
        if not before_end and not archive_space.year_ended(year):
            abort(409, description=_(
                "L'année %(year)s n'est pas terminée : une archive est écrite une fois et "
                "n'est jamais remplacée. Cochez « archiver avant la fin de l'année » pour "
                "l'écrire quand même.", year=label))

    def steps() -> Iterator[tuple[str, str]]:
        with web_context().db.transaction(write=False) as s:
            try:
                year = archive.school_year(s, school_id, label)
                for name in archive_space.archive_into_space(
                        store, s, school_id, year, by=principal.id, before_end=before_end):
                    yield "file", name
            except DomainError as exc:
                yield "error", exc.message
                return
        yield "done", url_for("documents.place", where=f"archives/{label}/")

    with web_context().db.transaction(write=False) as s:
        total = len(archive.services_of_school(s, school_id))
    return stream_template("textbook/archive_run.html", label=label, total=total,
                           steps=steps())
