"""Pages of online submission (issue 7, "remise en ligne").

* ``/textbook/activites/<id>/remises``: for the service's teachers, every targeted
  student, handed in or not, when, late or not, their files, a corrected file to
  return to each, close/reopen, and ``…/remises.zip``: every file, one folder per
  student, streamed while it is built;
* ``/textbook/remises/<remise|correction>/<id>``: one file, for its student and the
  service's teachers only (another student 404, anyone else 403);
* ``/textbook/remises/remise/<id>/supprimer``: a student takes a file back.

The student's side is on the lesson page (``textbook/_handin_student.html``); the
uploads go through the JSON API (:mod:`web.textbook.handins.api`).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from davserver.errors import DomainError
from web import textbook
from web.auth import login_required, signed_in, web_context
from web.documents import ZipMember, held_download, stream_zip
from web.forms import ActionForm

from ..forms import moment_label
from ..pages import zone_of

bp = Blueprint("handins", __name__, url_prefix="/textbook")


def _refused(exc: DomainError) -> Any:
    abort(exc.status, description=exc.message)


def _rows(s: Session, activity_id: int) -> tuple[textbook.Homework,
                                                  list[textbook.StudentRow]]:
    try:
        return textbook.student_rows(s, signed_in().id, activity_id)
    except DomainError as exc:
        return _refused(exc)  # type: ignore[no-any-return]


@bp.get("/activites/<int:activity_id>/remises")
@login_required
def page(activity_id: int) -> str:
    """The teacher's page of a homework's hand-ins."""
    with web_context().db.transaction(write=False) as s:
        hw, rows = _rows(s, activity_id)
        tz = zone_of(s, hw.lesson)
        return render_template(
            "textbook/handins.html", hw=hw, rows=rows, action_form=ActionForm(),
            closed=textbook.is_closed(s, activity_id),
            due=moment_label(hw.due.astimezone(tz)) if hw.due else None,
            local=lambda t: moment_label(t.astimezone(tz)),
            handed=sum(1 for r in rows if r.handin is not None))


def _folder(row: textbook.StudentRow) -> str:
    name = f"{row.student.display_name or row.student.login} ({row.student.login})"
    return unicodedata.normalize("NFC", name.replace("/", "-").replace("\\", "-"))


@bp.get("/activites/<int:activity_id>/remises.zip")
@login_required
def download_all(activity_id: int) -> Response:
    """Every handed-in file in one zip, a folder per student who handed in."""
    with web_context().db.transaction(write=False) as s:
        hw, rows = _rows(s, activity_id)
        members: list[ZipMember] = []
        keys = web_context().store.blob_keys(s, [f.blob_id for r in rows for f in r.files])
        for row in rows:
            if not row.files:
                continue
            folder = _folder(row) + "/"
            members.append((folder, None))
            members += [(folder + f.name, (keys[f.blob_id], f.size)) for f in row.files]
        title = hw.activity.title.replace("/", "-").replace("\\", "-")
    try:
        return stream_zip(_("Remises - %(title)s", title=title) + ".zip", members)
    except DomainError as exc:  # more files than web.zip_max_files
        return _refused(exc)  # type: ignore[no-any-return]


def _key(s: Session, blob_id: int) -> str:
    return web_context().store.blob_keys(s, [blob_id])[blob_id]


@bp.get("/remises/<any(remise, correction):kind>/<int:file_id>")
@login_required
def download(kind: str, file_id: int) -> Response:
    """One handed-in or corrected file, as an attachment (never shown inline)."""
    with web_context().db.transaction(write=False) as s:
        try:
            found = textbook.readable_file(s, signed_in(), kind, file_id)
        except DomainError as exc:
            return _refused(exc)  # type: ignore[no-any-return]
        key, name, ctype, size = _key(s, found.blob_id), found.name, found.content_type, found.size
    return held_download(key, name, ctype, size)


@bp.post("/activites/<int:activity_id>/remises/<any(clore, rouvrir):action>")
@login_required
def close(activity_id: int, action: str) -> Response:
    """Close or reopen the hand-in (the service's teachers)."""
    try:
        with web_context().db.transaction() as s:
            textbook.set_closed(s, signed_in().id, activity_id, action == "clore")
    except DomainError as exc:
        return _refused(exc)  # type: ignore[no-any-return]
    flash(_("Remise close : plus aucun dépôt n'est accepté.") if action == "clore"
          else _("Remise rouverte."), "notice")
    return redirect(url_for(".page", activity_id=activity_id), code=303)


@bp.post("/remises/remise/<int:file_id>/supprimer")
@login_required
def take_back(file_id: int) -> Response:
    """A student takes back one of their files (before the due lesson, while open)."""
    try:
        activity_id = textbook.delete_handin_file(web_context().store, signed_in(), file_id)
        with web_context().db.transaction(write=False) as s:
            lesson_id = s.get_one(textbook.Activity, activity_id).lesson_id
    except DomainError as exc:
        return _refused(exc)  # type: ignore[no-any-return]
    flash(_("Fichier retiré de votre remise."), "notice")
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id), code=303)
