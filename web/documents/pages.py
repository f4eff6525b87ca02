"""The file manager's pages under ``/documents/`` (issue 8). URLs mirror the DAV tree:

* ``/documents/``: the spaces the user sees (porte-documents, binder, rubrics'
  shared folders), each with its quota bar;
* ``/documents/porte-documents/<path>``, ``/documents/classeur/<path>`` (teachers),
  ``/documents/rubriques/<slug>/<path>``: a
  folder's page (breadcrumbs, sortable listing, quota bar and warning, actions), or
  a file's download with the DAV side's safe headers;
* ``/documents/<file>?versions``: the file's versions panel (:mod:`.versions_view`),
  ``?version=<id>`` one version's download, ``POST`` with ``action=restore_version``
  its restore;
* ``POST`` on a folder's page: an action (form field ``action``: ``mkdir``,
  ``rename``, ``delete``, ``move``, ``copy``, ``zip``, and in a rubric for its
  moderators and managers ``publish``/``withdraw``) on the members named in
  ``items``, ``import`` (a copy here of the file or folder at ``source``, e.g.
  from the user's porte-documents), or ``unlock`` (remove the WebDAV lock
  ``lock_token``: "Déverrouiller", :mod:`.lock_view`); the CSRF token is checked first
  (403 without it).

A refused action shows the folder again with its French reason and the HTTP status
of the refusal (400, 403, 404, 409, 423, 507); nothing was changed by it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, send_file
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import acl
from davserver.errors import DomainError
from providers import NodeInfo

from ..auth import login_required, web_context
from . import actions, lock_view, versions_view
from .downloads import protect
from .places import (
    Place,
    Refusal,
    french_reason,
    locate,
    settings,
    spaces,
    store,
)
from .present import (
    ICON_TEXT,
    SORT_KEYS,
    breadcrumbs,
    place_url,
    quota_bar,
    rows,
    school_zone,
)
from .zips import zip_response

bp = Blueprint("documents", __name__, url_prefix="/documents")

Page = Response | tuple[str, int]


@bp.errorhandler(DomainError)
def _refused(exc: DomainError) -> tuple[str, int]:
    """A refusal outside a folder's page (unknown path, action on a file)."""
    return render_template("error.html", status=exc.status, title=_("Action impossible"),
                           reason=french_reason(exc)), exc.status


@bp.get("/")
@login_required
def index() -> str:
    """The spaces the user sees, with their quota bars."""
    found = []
    for where, label in spaces():
        place = locate(where)
        found.append({"label": label, "url": place_url(place),
                      "quota": quota_bar(store().usage(place.space.id))})
    return render_template("documents/index.html", spaces=found)


def download(place: Place) -> Response:
    """A file, as an attachment under the same protections as a DAV GET: ``CSP:
    sandbox`` and ``nosniff``, so uploaded HTML or SVG never runs on our origin."""
    node = place.node
    handed = _handed_over(node)
    if handed is not None:
        return protect(handed, node.name)
    content = store().open(node)
    content.read(0)  # an object store's GET starts here: a missing object fails now
    response = send_file(content,
                         mimetype=node.content_type or "application/octet-stream",
                         as_attachment=True, download_name=node.name, etag=node.etag or False,
                         last_modified=node.modified, conditional=True, max_age=0)
    # Revalidated each time; send_file's Expires (its own "now") would say no more, and
    # a download handed to nginx (below) has none.
    response.headers["Cache-Control"] = "private, no-cache"
    del response.headers["Expires"]
    return protect(response, node.name)


def _handed_over(node: NodeInfo) -> Response | None:
    """A large download handed to nginx (``providers.handoff``): no body, the headers
    ``send_file`` gives, and ``X-Accel-Redirect``; or the 304 of a copy still fresh.
    None: sent here."""
    handoff = settings().handoff
    if handoff is None:
        return None
    location = handoff.location(request.environ, node.size, node.blob_key,
                                f"{node.path} (space {node.space_id})")
    if location is None:
        return None
    response = Response(b"", mimetype=node.content_type or "application/octet-stream")
    if node.etag:
        response.set_etag(node.etag)
    response.last_modified = node.modified  # type: ignore[assignment]
    response.headers["Cache-Control"] = "private, no-cache"
    response = response.make_conditional(request)
    if response.status_code == 200:
        response.headers["X-Accel-Redirect"] = location
    return response


def _members(folder: Place) -> list[Place]:
    found = [folder.member(node) for node in store().children(folder.node)]
    return [m for m in found if m is not None]


def _author_names(folder: Place, members: list[Place]) -> dict[int, str]:
    """The authors of a rubric folder's files by name (issue 20: people by name; the
    DAV properties keep the login, :meth:`providers.access.RequestAccess.logins`)."""
    if folder.space.kind != "rubric":
        return {}
    ids = {m.node.author_id for m in members if m.node.author_id is not None}
    if not ids:
        return {}
    with web_context().db.transaction(write=False) as s:
        return acl.names_of(s, ids)


def folder_page(folder: Place, *, error: str | None = None, status: int = 200) -> Page:
    """The page of a folder (``error``: a refused action's reason, shown on top)."""
    sort = request.args.get("tri", "nom")
    sort = sort if sort in SORT_KEYS else "nom"
    descending = request.args.get("ordre") == "desc"
    # Read before the members: expired locks go first, with the empty files they left.
    found_locks = lock_view.locks_around(folder)
    members = _members(folder)
    folder_locks, member_locks = lock_view.badges(folder, members, found_locks,
                                                  school_zone())
    listing = rows(folder, members, sort, descending, _author_names(folder, members),
                   member_locks)
    return render_template(
        "documents/folder.html", place=folder, crumbs=breadcrumbs(folder), rows=listing,
        sort=sort, descending=descending, quota=quota_bar(store().usage(folder.space.id)),
        can_add=folder.allowed("bind"), error=error,
        can_publish=folder.space.kind == "rubric" and folder.allowed("publish"),
        icon_text=ICON_TEXT,
        upload_where=folder.where, folder_locks=folder_locks), status


@bp.get("/<path:where>")
@login_required
def place(where: str) -> Page:
    """A folder's page, or a file's download."""
    found = locate(where)
    if not found.node.is_collection:
        if "versions" in request.args:
            return versions_view.page(found)
        if "version" in request.args:
            return versions_view.download(found, request.args["version"])
        return download(found)
    if not request.path.endswith("/"):
        return redirect(place_url(found), code=308)
    return folder_page(found)


def _selected(folder: Place) -> list[Place]:
    """The members named in the form's ``items`` (each must be readable)."""
    chosen = []
    for raw in request.form.getlist("items"):
        # A member's name only: "a/b" would reach below a folder whose own rights
        # were never looked at. The store finds it in either spelling (NFC, NFD).
        name = raw
        node: NodeInfo | None = None
        if name and "/" not in name:
            node = store().resolve(folder.space.id, folder.node.path + "/" + name)
        member = folder.member(node) if node is not None else None
        if member is None:
            raise Refusal(404, _("« %(name)s » n'existe plus dans ce dossier.", name=name))
        chosen.append(member)
    return chosen


def _one(items: list[Place]) -> Place:
    if len(items) != 1:
        raise Refusal(400, _("Cochez un seul élément à renommer."))
    return items[0]


def _target() -> Place:
    where = request.form.get("destination", "").strip().strip("/")
    if not where:
        raise Refusal(400, _("Choisissez le dossier de destination."))
    target = locate(where)
    if not target.node.is_collection:
        raise Refusal(400, _("La destination doit être un dossier."))
    return target


def _report(verb: str, done: list[str], refused: list[tuple[str, DomainError]]) -> None:
    """Flash what was done; raise the refusals as one (the first one's status)."""
    if done:
        flash(_("%(verb)s : %(names)s.", verb=verb, names=", ".join(f"« {n} »" for n in done)),
              "notice")
    if refused:
        raise Refusal(refused[0][1].status, " ".join(
            f"« {name} » : {french_reason(exc)}" for name, exc in refused))


def _act(folder: Place, action: str) -> Response | None:
    """Run one action; a zip, or None when done (refusals raise ``DomainError``)."""
    items = _selected(folder)
    if action == "mkdir":
        name = actions.make_folder(folder, request.form.get("name", ""))
        flash(_("Dossier « %(name)s » créé.", name=name), "notice")
        return None
    if action == "zip":
        return zip_response(folder, items)
    if action == "unlock":
        name, holder = lock_view.unlock(folder, request.form.get("lock_token", ""))
        flash(_("« %(name)s » est déverrouillé ; %(holder)s en est averti.", name=name,
                holder=holder), "notice")
        return None
    if action == "import":
        source = locate(request.form.get("source", "").strip().strip("/"))
        name = actions.copy(source, folder)
        flash(_("Importé : « %(name)s ».", name=name), "notice")
        return None
    if not items:
        raise Refusal(400, _("Cochez d'abord au moins un élément."))
    if action == "rename":
        item = _one(items)
        name = actions.rename(item, request.form.get("new_name", ""))
        flash(_("« %(old)s » renommé en « %(new)s ».", old=item.name, new=name), "notice")
        return None
    if action == "delete":
        _report(_("Supprimé"), *actions.for_each(items, actions.delete_item))
        return None
    if action in ("publish", "withdraw"):
        published = action == "publish"
        _report(_("Publié") if published else _("Retiré (en attente de publication)"),
                *actions.for_each(items, lambda item: actions.set_publication(item, published)))
        return None
    if action in ("move", "copy"):
        target = _target()
        if action == "move":
            _report(_("Déplacé"), *actions.for_each(
                items, lambda item: actions.move(item, target)))
        else:
            _report(_("Copié"), *actions.for_each(
                items, lambda item: actions.copy(item, target)))
        return None
    raise Refusal(400, _("Action inconnue."))


def _restore_version(file: Place) -> Page:
    """"Restaurer cette version" on a file's versions panel."""
    try:
        flash(versions_view.restore(file, request.form.get("version", "")), "info")
    except DomainError as exc:
        if exc.status == 404 and not versions_view.may_see(file):
            raise
        fresh = locate(file.where)
        return versions_view.page(fresh, error=french_reason(exc), status=exc.status)
    return redirect(versions_view.panel_url(locate(file.where)), code=303)


@bp.post("/<path:where>")
@login_required
def act(where: str) -> Page:
    """Run the form's action on this folder (CSRF checked before, by Flask-WTF)."""
    folder = locate(where)
    if not folder.node.is_collection:
        if request.form.get("action") == "restore_version":
            return _restore_version(folder)
        raise Refusal(405, _("Les actions se font depuis la page du dossier."))
    try:
        outcome = _act(folder, request.form.get("action", ""))
    except DomainError as exc:
        return folder_page(folder, error=french_reason(exc), status=exc.status)
    if outcome is not None:
        return outcome
    return redirect(place_url(folder), code=303)
