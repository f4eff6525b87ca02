"""Pages of activities' attachments (issue 5), shown on the lesson page
(``textbook/_attachments.html``):

* ``/textbook/pieces-jointes/<id>``: the download, for whoever reads the activity
  (a student of another class 404, another teacher 403);
* ``/textbook/pieces-jointes/<id>/media``: the same readers' inline copy of an image,
  a sound or a video, for the ``<img>``, ``<audio>`` and ``<video>`` of the activity's
  text (issue 20): only the types of :data:`MEDIA_TYPES` (never SVG nor HTML: they
  run script), ``nosniff`` and a sandbox policy, with byte ranges (RFC 9110 §14) so
  that players seek;
* ``/textbook/pieces-jointes/<id>/retirer``: a teacher of the service removes it;
* ``/textbook/activites/<id>/pieces-jointes/choisir``: a teacher attaches a file of
  their porte-documents (form field ``chemin``), sharing its bytes;
* ``/textbook/activites/<id>/pieces-jointes``: an upload from a plain form (no
  JavaScript; the page's script sends the raw file to the JSON API instead).

Refusals show the lesson page's error page with their status; nothing is saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import ContentRange
from werkzeug.wrappers import Response

import acl
from davserver.errors import DomainError
from providers import Store
from web import textbook
from web.auth import login_required, signed_in, web_context
from web.documents import Refusal, check_name, stream_to_blob
from web.documents.present import human_size

from .api import documents_file, require_editable, send_attachment
from .services import MEDIA_TYPES

bp = Blueprint("attachments", __name__, url_prefix="/textbook")

MAX_PICKER_FILES = 500  # a picker longer than that is no help; the path field remains
MEDIA_POLICY = "sandbox; default-src 'none'"
MEDIA_BLOCK = 64 * 1024  # bytes read and sent at a time


@bp.app_template_filter("human_size")
def human_size_filter(size: int) -> str:
    """A size in bytes as the file manager writes it (« 1,2 Mo »)."""
    return human_size(size)


def porte_documents_files(owner: acl.Principal) -> list[str]:
    """Paths of the files in ``owner``'s porte-documents (one query), for the picker;
    at most :data:`MAX_PICKER_FILES`."""
    store = web_context().store
    space = store.ensure_space("documents", owner_id=owner.id, profile=owner.profile.value)
    root = store.resolve(space.id, "")
    if root is None:
        return []
    return [n.written_path for n in store.descendants(root)
            if not n.is_collection][:MAX_PICKER_FILES]


def _refused(exc: DomainError) -> Any:
    abort(exc.status, description=exc.message)


def _back(activity_id: int, notice: str) -> Response:
    with web_context().db.transaction(write=False) as s:
        lesson_id = s.get_one(textbook.Activity, activity_id).lesson_id
    flash(notice, "notice")
    return redirect(url_for("textbook.lesson", lesson_id=lesson_id), code=303)


@bp.get("/pieces-jointes/<int:attachment_id>")
@login_required
def download(attachment_id: int) -> Response:
    """One attachment, as a download (never shown inline)."""
    try:
        return send_attachment(attachment_id)
    except DomainError as exc:
        return _refused(exc)  # type: ignore[no-any-return]


def _media_chunks(files: Store, key: str | None, start: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of a blob from ``start``, read when the answer is sent (after
    the view returned: no request context there)."""
    with files.open_blob(key) as content:
        content.seek(start)
        while length > 0 and (data := content.read(min(MEDIA_BLOCK, length))):
            length -= len(data)
            yield data


@bp.get("/pieces-jointes/<int:attachment_id>/media")
@login_required
def media(attachment_id: int) -> Response:
    """An image, sound or video attachment shown inline (``Content-Disposition:
    inline``), for the activity's readers; a single byte range gets 206, a range
    past the end 416. Any other type: 404 naming why (it stays a download)."""
    try:
        with web_context().db.transaction(write=False) as s:
            found = textbook.readable_attachment(s, signed_in(), attachment_id,
                                                 web_context().textbook)
            key = web_context().store.blob_keys(s, [found.blob_id])[found.blob_id]
            ctype, size = (found.content_type or "").split(";")[0].strip().lower(), found.size
    except DomainError as exc:
        return _refused(exc)  # type: ignore[no-any-return]
    if ctype not in MEDIA_TYPES:
        abort(404, description=_("Cette pièce jointe n'est ni une image, ni un son, ni "
                                 "une vidéo : elle reste à télécharger."))
    start, stop, status = 0, size, 200
    wanted = request.range
    if wanted is not None and wanted.units == "bytes":
        span = wanted.range_for_length(size)
        if span is None:
            answer = Response(status=416)
            answer.headers["Content-Range"] = f"bytes */{size}"
            return answer
        (start, stop), status = span, 206
    answer = Response(_media_chunks(web_context().store, key, start, stop - start), status=status,
                      mimetype=ctype, direct_passthrough=True)
    answer.headers["Content-Length"] = str(stop - start)
    answer.headers["Accept-Ranges"] = "bytes"
    if status == 206:
        answer.content_range = ContentRange("bytes", start, stop, size)
    answer.headers["Content-Disposition"] = "inline"
    answer.headers["Content-Security-Policy"] = MEDIA_POLICY
    answer.headers["X-Content-Type-Options"] = "nosniff"
    answer.headers["Cache-Control"] = "private, no-cache"
    return answer


@bp.post("/pieces-jointes/<int:attachment_id>/retirer")
@login_required
def remove(attachment_id: int) -> Response:
    """Remove an attachment (the activity's teachers)."""
    try:
        activity_id = textbook.remove_attachment(web_context().store, signed_in().id,
                                                 attachment_id)
    except DomainError as exc:
        return _refused(exc)  # type: ignore[no-any-return]
    return _back(activity_id, _("Pièce jointe retirée."))


@bp.post("/activites/<int:activity_id>/pieces-jointes/choisir")
@login_required
def pick(activity_id: int) -> Response:
    """Attach a file of the teacher's porte-documents (field ``chemin``)."""
    try:
        require_editable(activity_id)
        principal = signed_in()
        node = documents_file(principal, request.form.get("chemin", ""))
        added = textbook.attach_picked(web_context().store, principal.id, activity_id, node)
    except DomainError as exc:
        return _refused(exc)  # type: ignore[no-any-return]
    return _back(activity_id, _("« %(name)s » joint depuis votre porte-documents.",
                                name=added.name))


@bp.post("/activites/<int:activity_id>/pieces-jointes")
@login_required
def upload(activity_id: int) -> Response:
    """Attach a file sent by a plain form (field ``fichier``, no JavaScript). The
    form parser spools it first; the quota is then reserved from its size as for
    the raw upload (507 naming the file and the free space, nothing saved)."""
    try:
        require_editable(activity_id)
        sent = request.files.get("fichier")
        if sent is None or not sent.filename:
            raise Refusal(400, _("Choisissez d'abord un fichier."))
        name = textbook.check_separators(check_name(sent.filename))
        principal = signed_in()
        store = web_context().store
        space = store.ensure_space("documents", owner_id=principal.id,
                                   profile=principal.profile.value)
        sent.stream.seek(0, 2)
        length = sent.stream.tell()
        sent.stream.seek(0)
        blob, reserved = stream_to_blob(space.id, name, sent.stream, length)
        added = textbook.attach_upload(store, principal.id, activity_id,
                                       textbook.Upload(name, blob, space.id, reserved))
    except DomainError as exc:
        return _refused(exc)  # type: ignore[no-any-return]
    return _back(activity_id, _("« %(name)s » joint à l'activité.", name=added.name))
