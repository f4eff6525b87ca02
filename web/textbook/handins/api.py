"""JSON API of online submission under ``/api/textbook/`` (issue 7, "remise en
ligne"), with the rules of :mod:`web.textbook.handins.services`. Conventions of
:mod:`web.jsonapi`: session cookie, ``X-CSRFToken`` on every PUT, POST and DELETE,
errors ``{"error": "<French reason>"}``.

Uploads are the raw body of one PUT per file (no multipart form), as in the file
manager: the quota is reserved from Content-Length before the body is read (411
without it, 507 over the quota, nothing stored), then the body streams into a blob.
A student's files count in their porte-documents, a correction in the teacher's.
The lesson page's script (``static/handin.js``) uses these endpoints.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for
from werkzeug.wrappers import Response

import acl
from web import textbook
from web.auth import signed_in, web_context
from web.documents import check_name, stream_to_blob
from web.jsonapi import api_view, json_csrf_errors
from web.openapi import documented

bp = Blueprint("handin_api", __name__, url_prefix="/api/textbook")
json_csrf_errors(bp)


def receive(owner: acl.Principal, raw_name: str) -> textbook.Upload:
    """This request's body as a finished blob charged to ``owner``'s porte-documents
    (``Refusal`` 400 for a bad name, 411, 507); call only once the rules said yes."""
    name = textbook.check_separators(check_name(raw_name))
    store = web_context().store
    space = store.ensure_space("documents", owner_id=owner.id, profile=owner.profile.value)
    blob, reserved = stream_to_blob(space.id, name, request.stream, request.content_length)
    return textbook.Upload(name, blob, space.id, reserved)


def file_view(f: textbook.HandinFile | textbook.HandinCorrection) -> dict[str, Any]:
    """One file as the API shows it (``url``: its download, for its readers only)."""
    kind = "remise" if isinstance(f, textbook.HandinFile) else "correction"
    when = f.uploaded if isinstance(f, textbook.HandinFile) else f.returned_at
    return {"id": f.id, "name": f.name, "size": f.size, "content_type": f.content_type,
            "at": when.isoformat(),
            "url": url_for("handins.download", kind=kind, file_id=f.id)}


def _handin(found: textbook.Handin | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"submitted": found.submitted.isoformat(), "updated": found.updated.isoformat(),
            "late": found.late}


@bp.get("/activities/<int:activity_id>/handins")
@documented(tag="textbook")
@api_view
def handins(activity_id: int) -> Response:
    """A homework's hand-ins: for a teacher of the service, every targeted student
    (``handin`` null when nothing handed in); for a targeted student, their own."""
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:
        hw = (textbook.student_homework(s, principal, activity_id)
              if principal.profile is acl.Profile.student
              else textbook.handin_homework(s, activity_id))
        closed = textbook.is_closed(s, activity_id)
        due = hw.due.isoformat() if hw.due else None
        if principal.profile is acl.Profile.student:
            mine = textbook.student_handins(s, principal.id, [hw.activity])[activity_id]
            return jsonify({"closed": closed, "due": due, "handin": _handin(mine.handin),
                            "files": [file_view(f) for f in mine.files],
                            "corrections": [file_view(f) for f in mine.corrections]})
        _hw, rows = textbook.student_rows(s, principal.id, activity_id)
        return jsonify({"closed": closed, "due": due, "students": [{
            "id": r.student.id, "login": r.student.login, "name": r.student.display_name,
            "handin": _handin(r.handin), "files": [file_view(f) for f in r.files],
            "corrections": [file_view(f) for f in r.corrections]} for r in rows]})


@bp.put("/activities/<int:activity_id>/handin/<path:name>")
@documented(status=201, tag="textbook")
@api_view
def hand_in(activity_id: int, name: str) -> tuple[Response, int]:
    """Hand in one file (raw body; a targeted student; 409 once closed, ``late`` after
    the due lesson's start; 507 over the student's quota)."""
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:  # refused before the body
        textbook.lateness(s, textbook.student_homework(s, principal, activity_id))
    added = textbook.hand_in(web_context().store, principal, activity_id,
                             receive(principal, name))
    with web_context().db.transaction(write=False) as s:
        late = s.get_one(textbook.Handin, added.handin_id).late
    return jsonify(file_view(added) | {"late": late}), 201


@bp.delete("/handin-files/<int:file_id>")
@documented(tag="textbook")
@api_view
def take_back(file_id: int) -> Response:
    """Take back one of one's handed-in files (before the due lesson, while open)."""
    activity_id = textbook.delete_handin_file(web_context().store, signed_in(), file_id)
    return jsonify({"deleted": file_id, "activity_id": activity_id})


@bp.put("/activities/<int:activity_id>/corrections/<int:student_id>/<path:name>")
@documented(status=201, tag="textbook")
@api_view
def correct(activity_id: int, student_id: int, name: str) -> tuple[Response, int]:
    """Return a corrected file to one student (raw body; a teacher of the service;
    charged to the teacher's porte-documents)."""
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:  # refused before the body
        textbook.require_service_teacher(s, principal.id, textbook.handin_homework(s, activity_id))
    added = textbook.return_correction(web_context().store, principal, activity_id,
                                       student_id, receive(principal, name))
    return jsonify(file_view(added)), 201


def _set_closed(activity_id: int, closed: bool) -> Response:
    with web_context().db.transaction() as s:
        textbook.set_closed(s, signed_in().id, activity_id, closed)
    return jsonify({"closed": closed})


@bp.post("/activities/<int:activity_id>/close")
@documented(tag="textbook")
@api_view
def close(activity_id: int) -> Response:
    """Close a homework's hand-in (its teachers): later hand-ins get 409."""
    return _set_closed(activity_id, True)


@bp.post("/activities/<int:activity_id>/reopen")
@documented(tag="textbook")
@api_view
def reopen(activity_id: int) -> Response:
    """Reopen a homework's hand-in (its teachers)."""
    return _set_closed(activity_id, False)
