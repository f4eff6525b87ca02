"""JSON API of activities' attachments under ``/api/textbook/`` (issue 5), with the
rules of :mod:`web.textbook.attachments.services`. Conventions of :mod:`web.jsonapi`: session
cookie, ``X-CSRFToken`` on every PUT, POST and DELETE, errors ``{"error": "<French
reason>"}``.

An upload is the raw body of one PUT per file (no multipart form), as for hand-ins:
the quota of the teacher's porte-documents is reserved from Content-Length before
the body is read (411 without it, 507 over the quota naming the file and the free
space, nothing stored). A pick names a file of the teacher's porte-documents
(``{"path": "/Cours/fiche.pdf"}``): its blob is shared, nothing is charged. The
lesson page's script (``static/handin.js``) uses the upload endpoint.

The editor's « Insérer depuis le porte-documents » (``static/editor.js``, issue 20)
browses the signed-in teacher's own porte-documents through ``…/attachments/choices``
(folders, and files of the image, sound and video types the ``/media`` route plays;
at most :data:`CHOICES_PAGE` a page), then picks the chosen file as above: the
activity's readers read the attachment, never the teacher's private space.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _
from pydantic import BaseModel, Field
from werkzeug.wrappers import Response

import acl
from davserver.errors import BadRequest, NotFound
from providers import NodeInfo
from web import textbook
from web.auth import signed_in, web_context
from web.documents import held_download
from web.jsonapi import api_view, json_body, json_csrf_errors
from web.openapi import documented

from ..handins.api import receive
from .services import MEDIA_TYPES, media_kind

bp = Blueprint("attachment_api", __name__, url_prefix="/api/textbook")
json_csrf_errors(bp)

CHOICES_PAGE = 100  # members of a folder per answer of the picker


class PickBody(BaseModel):
    """A file of the signed-in teacher's porte-documents, by its path from the
    porte-documents' root (``/Cours/fiche.pdf``)."""

    path: str = Field(min_length=1, max_length=4000)


def attachment_view(a: textbook.Attachment) -> dict[str, Any]:
    """One attachment as the API shows it (``url``: its download; ``shared``: picked
    from a porte-documents or copied, charged nowhere)."""
    return {"id": a.id, "activity_id": a.activity_id, "name": a.name, "size": a.size,
            "content_type": a.content_type, "added_at": a.added_at.isoformat(),
            "shared": a.space_id is None,
            "url": url_for("attachments.download", attachment_id=a.id)}


def documents_file(owner: acl.Principal, raw_path: str) -> NodeInfo:
    """The file at ``raw_path`` in ``owner``'s porte-documents. Raises ``NotFound``
    naming the path (no such file; trashed items are not reachable)."""
    path = unicodedata.normalize("NFC", raw_path.strip()).rstrip("/")
    if not path.startswith("/"):
        path = "/" + path
    store = web_context().store
    space = store.ensure_space("documents", owner_id=owner.id, profile=owner.profile.value)
    node = store.resolve(space.id, path) if path != "/" else None
    if node is None:
        raise NotFound(_("Aucun fichier « %(path)s » dans votre porte-documents.",
                         path=path))
    return node


def require_editable(activity_id: int) -> None:
    """Refuse (``NotFound``, ``Forbidden``) anyone but the activity's teachers, before
    any body is read."""
    with web_context().db.transaction(write=False) as s:
        textbook.editable_activity(s, signed_in().id, activity_id)


@bp.get("/activities/<int:activity_id>/attachments")
@documented(tag="textbook")
@api_view
def listing(activity_id: int) -> Response:
    """An activity's attachments, for whoever reads the activity (a student of another
    class 404, another teacher 403)."""
    with web_context().db.transaction(write=False) as s:
        textbook.readable_activity(s, signed_in(), activity_id, web_context().textbook)
        rows = textbook.attachments_of(s, [activity_id]).get(activity_id, [])
        return jsonify({"activity_id": activity_id,
                        "attachments": [attachment_view(a) for a in rows]})


def _folder_path(raw: str) -> str:
    """A folder path of the query string in the form the store resolves (NFC, one
    leading ``/``, none trailing; ``""`` for the root)."""
    path = unicodedata.normalize("NFC", raw.strip()).strip("/")
    return "/" + path if path else ""


@bp.get("/activities/<int:activity_id>/attachments/choices")
@documented(tag="textbook")
@api_view
def choices(activity_id: int) -> Response:
    """One folder of the signed-in teacher's own porte-documents, for the editor's
    picker: its sub-folders and its image, sound and video files, by name,
    ``CHOICES_PAGE`` at a time (query ``dossier``: the folder's path, the root when
    absent; ``depart``: how many members to skip). Only the activity's teachers (a
    student 404, another teacher 403); a missing folder 404."""
    require_editable(activity_id)
    principal = signed_in()
    path = _folder_path(request.args.get("dossier", ""))
    try:
        start = int(request.args.get("depart", "0"))
    except ValueError:
        start = -1
    if start < 0:
        raise BadRequest(_("« depart » doit être un nombre positif ou nul."))
    store = web_context().store
    space = store.ensure_space("documents", owner_id=principal.id,
                               profile=principal.profile.value)
    folder = store.resolve(space.id, path)
    if folder is None or not folder.is_collection:
        raise NotFound(_("Aucun dossier « %(path)s » dans votre porte-documents.",
                         path=path or "/"))
    # The page only is read (a folder of thousands of photos costs the same).
    nodes, total = store.children_page(folder, offset=start, limit=CHOICES_PAGE,
                                       content_types=MEDIA_TYPES)
    page = []
    for node in nodes:
        kind = "folder" if node.is_collection else media_kind(node.content_type)
        if kind is not None:
            page.append({"name": node.name, "path": node.written_path or node.path,
                         "kind": kind, "size": node.size})
    written = folder.written_path or folder.path
    parent = written.rsplit("/", 1)[0] if written else None
    return jsonify({"folder": written or "/", "parent": None if parent is None else parent or "/",
                    "members": page, "total": total,
                    "next": start + CHOICES_PAGE if start + CHOICES_PAGE < total else None})


@bp.put("/activities/<int:activity_id>/attachments/<path:name>")
@documented(status=201, tag="textbook")
@api_view
def upload(activity_id: int, name: str) -> tuple[Response, int]:
    """Attach one uploaded file (raw body; a teacher of the service; charged to their
    porte-documents: 507 over its quota, nothing saved; 409 for a name taken)."""
    require_editable(activity_id)
    principal = signed_in()
    added = textbook.attach_upload(web_context().store, principal.id, activity_id,
                                   receive(principal, name))
    return jsonify(attachment_view(added)), 201


@bp.post("/activities/<int:activity_id>/attachments/pick")
@documented(body=PickBody, status=201, tag="textbook")
@api_view
def pick(activity_id: int) -> tuple[Response, int]:
    """Attach a file of the teacher's porte-documents, sharing its bytes (counted once,
    by the file)."""
    require_editable(activity_id)
    principal = signed_in()
    node = documents_file(principal, json_body(PickBody).path)
    added = textbook.attach_picked(web_context().store, principal.id, activity_id, node)
    return jsonify(attachment_view(added)), 201


@bp.delete("/attachments/<int:attachment_id>")
@documented(tag="textbook")
@api_view
def remove(attachment_id: int) -> Response:
    """Remove an attachment (the activity's teachers); what it charged is freed."""
    activity_id = textbook.remove_attachment(web_context().store, signed_in().id,
                                             attachment_id)
    return jsonify({"deleted": attachment_id, "activity_id": activity_id})


@bp.get("/attachments/<int:attachment_id>")
@documented(tag="textbook")
@api_view
def download(attachment_id: int) -> Response:
    """The attachment's bytes, as a download (``Content-Disposition: attachment``,
    ``CSP: sandbox``, ``nosniff``), for whoever reads its activity."""
    return send_attachment(attachment_id)


def send_attachment(attachment_id: int) -> Response:
    """The download of an attachment the signed-in user reads (raises ``NotFound``,
    ``Forbidden``)."""
    with web_context().db.transaction(write=False) as s:
        found = textbook.readable_attachment(s, signed_in(), attachment_id,
                                             web_context().textbook)
        key = web_context().store.blob_keys(s, [found.blob_id])[found.blob_id]
        name, ctype, size = found.name, found.content_type, found.size
    return held_download(key, name, ctype, size)
