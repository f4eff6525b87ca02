"""JSON endpoints of the file manager under ``/documents/api/`` (session cookie
authentication; every PUT carries the page's CSRF token in ``X-CSRFToken``).

* ``PUT /documents/api/fichiers/<folder path>/<name>[?remplacer=1|?garder=1]``: the
  raw body is the file (no multipart form), streamed into the store with the quota
  reserved from Content-Length first. A taken name is refused (409, with
  ``"taken": true``) unless ``remplacer=1`` (overwrite the file) or ``garder=1``
  (keep both: stored as ``name (2).ext``). 201 ``{"name", "size", "pending"}``,
  ``name`` being the name used; errors are ``{"error": "<French reason>"}`` with 400
  (bad name), 401, 403 (no right, or no CSRF token), 404, 409 (name taken), 411, 423
  (locked), 507 (quota).
* ``POST /documents/api/noms-pris/<folder path>`` with ``{"names": [...]}`` (at most
  1000 names, CSRF token in ``X-CSRFToken``): which of them are taken in the folder,
  ``{"taken": [{"asked", "name", "replaceable"}]}`` (``asked``: the name as sent), so
  the page asks "Remplacer / Garder les deux / Ignorer" before sending any byte. A
  name that can never be used is left out: its own upload says why.
* ``GET /documents/api/dossiers[?dans=<folder path>][&fichiers=1]``: the picker.
  Without ``dans``: the spaces the user sees; with it: that folder and its
  sub-folders, each ``{"where", "name", "writable"}`` (``writable``: the user may add
  to it), and with ``fichiers=1`` its files too (``"files": [{"where", "name"}]``,
  for "import from my porte-documents").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response

from davserver.errors import DomainError

from ..auth import current_principal
from . import uploads
from .places import Refusal, describe, french_reason, locate, spaces, store
from .uploads import taken, upload

bp = Blueprint("documents_api", __name__, url_prefix="/documents/api")
F = TypeVar("F", bound=Callable[..., Any])
MAX_NAMES = 1000  # names checked in one request: a big drop, not a flood


def _error(status: int, message: str) -> Response:
    answer = jsonify({"error": message})
    answer.status_code = status
    return answer


def api_view(view: F) -> F:
    """Decorator: 401 JSON for anonymous callers; refusals as JSON with their status."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_principal() is None:
            return _error(401, _("Votre session a expiré : reconnectez-vous."))
        try:
            return view(*args, **kwargs)
        except DomainError as exc:
            return _error(exc.status, french_reason(exc))

    return cast(F, wrapper)


@bp.errorhandler(CSRFError)
def _csrf(exc: CSRFError) -> Response:
    return _error(403, _("Envoi refusé : le jeton de sécurité (CSRF) manque ou a expiré. "
                         "Rechargez la page puis recommencez."))


@bp.put("/fichiers/<path:where>")
@api_view
def put_file(where: str) -> Response:
    """Upload one file (see the module docstring)."""
    folder_where, _sep, name = where.rstrip("/").rpartition("/")
    folder = locate(folder_where)
    if not folder.node.is_collection:
        raise Refusal(409, _("On ne peut ajouter un fichier que dans un dossier."))
    replace = request.args.get("remplacer") == "1"
    keep_both = request.args.get("garder") == "1"
    if replace and keep_both:
        raise Refusal(400, _("Choisissez « remplacer » ou « garder les deux », pas les deux."))
    try:
        node = upload(folder, name, request.stream, request.content_length,
                      replace=replace, keep_both=keep_both)
    except Refusal as exc:
        if exc.status != 409 or taken(folder, name) is None:
            raise
        answer = jsonify({"error": exc.message, "taken": True})
        answer.status_code = 409
        return answer
    answer = jsonify({"name": node.name, "size": node.size, "pending": not node.published})
    answer.status_code = 201
    return answer


@bp.post("/noms-pris/<path:where>")
@api_view
def taken_names(where: str) -> Response:
    """The names of an upload that are taken (see the module docstring)."""
    folder = locate(where)
    if not folder.node.is_collection:
        raise Refusal(400, _("Ce n'est pas un dossier."))
    body = request.get_json(silent=True)
    names = body.get("names") if isinstance(body, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) \
            or len(names) > MAX_NAMES:
        raise Refusal(400, _("Envoyez {\"names\": [...]}, une liste d'au plus %(max)d noms.",
                             max=MAX_NAMES))
    return jsonify({"taken": uploads.taken_names(folder, names)})


@bp.get("/dossiers")
@api_view
def folders() -> Response:
    """The folder picker's data (see the module docstring)."""
    where = request.args.get("dans", "").strip("/")
    if not where:
        found = [describe(locate(top)) | {"name": label} for top, label in spaces()]
        return jsonify({"where": "", "name": _("Mes espaces"), "crumbs": [],
                        "folders": found, "writable": False})
    folder = locate(where)
    if not folder.node.is_collection:
        raise Refusal(400, _("Ce n'est pas un dossier."))
    members = [m for m in (folder.member(n) for n in store().children(folder.node))
               if m is not None]
    crumbs = [describe(part) for part in folder.ancestors()]
    answer = describe(folder) | {
        "crumbs": crumbs,
        "folders": [describe(m) for m in members if m.node.is_collection]}
    if request.args.get("fichiers") == "1":
        answer["files"] = [{"where": m.where, "name": m.name} for m in members
                           if not m.node.is_collection]
    return jsonify(answer)
