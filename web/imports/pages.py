"""``/imports/``: the school's imports page (issue 24, "Web": "An admin page lists past
imports with their reports, and accepts an upload with a dry run first").

Readers: the administrators of the school chosen in the header
(:func:`acl.manages_imports` of their profile there). An upload (field ``fichiers``,
one or more files or a zip; ``partiel``: per-record rejection; ``semaine_a``: a day of
a week A) is staged and checked in the background; its page refreshes itself while
the dry run runs, then says what would change (created, updated, disabled by profile,
rejected with the file, line or element and the reason), with "Appliquer" and
"Abandonner". The import itself runs in the background too, and the page shows its
report. Past runs (from the page and from the imports folder over WebDAV) are listed
newest first.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import acl
from davserver import clock
from davserver.errors import DomainError

from ..auth import current_context, login_required, signed_in, web_context
from ..forms import ActionForm
from .drop import where_of
from .models import ImportRun, RunState
from .runs import summary
from .services import Imports, is_running, runs_of

bp = Blueprint("imports", __name__, url_prefix="/imports")

EXTENSION_KEY = "imports"
MAX_UPLOAD = 512 * 1024 * 1024
"""Bytes one upload may hold (a big AAF delivery, unzipped, is a few hundred MB)."""
STUCK_AFTER = 6 * 3600.0
"""Seconds after which a run still marked running, and running in no process that this
request reaches, is shown as interrupted (its process stopped)."""
PROFILE_LABELS = {"student": "élèves", "teacher": "enseignants", "parent": "parents",
                  "staff": "personnels", "head": "direction", "admin": "administrateurs",
                  "inspector": "inspecteurs", "unknown": "profil inconnu"}
KIND_LABELS = {"people": "Annuaire (personnes, classes, groupes)",
               "timetable": "Emploi du temps", "holidays": "Calendrier scolaire",
               "unknown": "Fichier non reconnu"}
STATE_LABELS = {RunState.checking: "vérification en cours", RunState.checked:
                "vérifié, en attente de confirmation", RunState.applying: "import en cours",
                RunState.done: "importé", RunState.failed: "échec",
                RunState.discarded: "abandonné"}


def imports_of_app() -> Imports:
    """This process's :class:`Imports` (``app.extensions``)."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def _school() -> tuple[int, acl.SchoolInfo]:
    """The school chosen in the header, when the signed-in user manages its imports;
    the 403 page otherwise."""
    context = current_context()
    db = web_context().db
    with db.transaction(write=False) as s:
        school_id = context.school_id or acl.school_of_user(s, context.user_id)
        if school_id is None or not acl.manages_imports(context.profile_in(school_id)):
            abort(403, description=_("Les imports sont réservés aux administrateurs de "
                                     "l'établissement."))
        return school_id, acl.school_info(s, school_id)


@bp.get("/")
@login_required
def index() -> str:
    """The upload form and the school's past imports."""
    school_id, school = _school()
    return render_template("imports/index.html", rows=_rows(school_id), school=school,
                           states=STATE_LABELS, form=ActionForm())


def _rows(school_id: int) -> list[dict[str, Any]]:
    """The school's past runs for the list: the run, its one-line result, who ran it."""
    with web_context().db.transaction(write=False) as s:
        runs = runs_of(s, school_id)
        names = acl.names_of(s, {r.user_id for r in runs if r.user_id is not None})
        return [{"run": r, "summary": _run_summary(r), "name": names.get(r.user_id or 0)}
                for r in runs]


def _run_summary(run: Any) -> str:
    if run.error and not (run.report or run.preview):
        return str(run.error)[:200]
    shown = run.report or run.preview
    return summary(shown) if shown else ""


@bp.post("/")
@login_required
def upload() -> Response | tuple[str, int]:
    """Stage the files sent and start their dry run; to the run's page."""
    school_id, school = _school()
    if request.content_length and request.content_length > MAX_UPLOAD:  # before parsing
        return _refuse(school_id, school, _("Fichiers trop gros : au plus %(n)s Mo par "
                                            "import.", n=MAX_UPLOAD // 2**20), 413)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    sent = [f for f in request.files.getlist("fichiers") if f and f.filename]
    week_a = request.form.get("semaine_a", "").strip()
    if week_a:
        try:
            date.fromisoformat(week_a)
        except ValueError:
            return _refuse(school_id, school, _("Date de semaine A illisible : %(v)s "
                                                "(format AAAA-MM-JJ).", v=week_a), 400)
    options = {"partial": request.form.get("partiel") == "1", "week_a": week_a or None}
    try:
        run_id = imports_of_app().start_check(
            school_id, signed_in(), [(_client_name(f.filename), f.stream) for f in sent],
            options)
    except DomainError as exc:
        return _refuse(school_id, school, exc.message, exc.status)
    return redirect(url_for("imports.run", run_id=run_id), 303)


def _client_name(sent: str | None) -> str:
    """The name a browser gave an uploaded file, for messages and reports only (the
    file is staged by number): its last component (old browsers send a Windows path),
    without control characters, at most 200 characters."""
    name = (sent or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:200] or "fichier"


def _refuse(school_id: int, school: acl.SchoolInfo, message: str,
            status: int) -> tuple[str, int]:
    return render_template("imports/index.html", rows=_rows(school_id), school=school,
                           states=STATE_LABELS, form=ActionForm(), problem=message), status


@bp.get("/<int:run_id>")
@login_required
def run(run_id: int) -> str:
    """A run: its progress while it runs, then what it would change (dry run) or
    changed."""
    school_id, school = _school()
    with web_context().db.transaction(write=False) as s:
        found = s.get(ImportRun, run_id)
        if found is None or found.school_id != school_id:
            abort(404)
        author = s.get(acl.User, found.user_id) if found.user_id else None
        shown = found.report or found.preview
        progress = imports_of_app().progress_of(run_id)
        # A run no process has reported on for hours died with its process.
        stuck = progress is None and (clock.now() - found.created).total_seconds() > STUCK_AFTER
        return render_template(
            "imports/run.html", run=found, school=school, author=author,
            running=is_running(found) and not stuck, stuck=is_running(found) and stuck,
            progress=progress,
            shown=shown, summary=summary(shown) if shown else "",
            states=STATE_LABELS, kinds=KIND_LABELS, profiles=PROFILE_LABELS,
            where_of=where_of, form=ActionForm())


@bp.post("/<int:run_id>/appliquer")
@login_required
def apply(run_id: int) -> Response:
    """Apply a checked run, in the background; back to its page."""
    school_id, _school_info = _school()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        imports_of_app().start_apply(run_id, school_id, signed_in())
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    return redirect(url_for("imports.run", run_id=run_id), 303)


@bp.post("/<int:run_id>/abandonner")
@login_required
def discard(run_id: int) -> Response:
    """Give up a checked run (its files are removed); back to the list."""
    school_id, _school_info = _school()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        imports_of_app().discard(run_id, school_id)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("imports.run", run_id=run_id), 303)
    flash(_("Import abandonné : rien n'a été changé."), "info")
    return redirect(url_for("imports.index"), 303)
