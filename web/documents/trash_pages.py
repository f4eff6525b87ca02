"""The trash (corbeille) in the browser (issue 8): ``/corbeille/``.

One section per space whose trash the user may see (their porte-documents, their
binder for teachers, each rubric where ``acl.trash_view`` lets them see something),
each deleted item with where it was, who deleted it and when (UTC). Every change
is a POST with the CSRF token (Flask-WTF):

* restore to the original place (``bind`` on the original folder, as a MOVE there
  over WebDAV would need); when the name is taken again the page asks: replace
  (what is there goes to the trash in turn), keep both (``name (2).ext``) or cancel;
* when the original folder was renamed, moved or deleted, the page says so and offers
  the space's root or a folder picked in the file manager's picker (issue 20), never
  a path to type;
* restore elsewhere: into any folder the user may add to (``bind``), of any space they
  see (a browser path such as ``porte-documents/Cours``, which the picker fills); a
  taken name there becomes ``name (2).ext``; into another space, that space's quota is
  charged (507 refused);
* delete forever one item, or empty the section (a rubric writer's "empty" only
  purges what they deleted, all they see).

Everything goes through ``providers.trash``, as ``/dav/corbeille/`` does: the browser
and a mapped drive show the same trash. An item the user may not see is 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import acl
from davserver import clock
from davserver.errors import DomainError
from providers import SpaceInfo, TrashEntry, path_key, trash
from web.auth import current_principal, login_required, web_context
from web.forms import ActionForm

from .actions import numbered_path
from .places import Refusal, french_reason, locate
from .present import human_size, local_time, school_zone

bp = Blueprint("trash", __name__)
MODES = ("", "replace", "keep-both")
# The page tells of the purges made to make room (issue 17) for this many days.
PURGES_SHOWN_DAYS = 30


@dataclass(frozen=True)
class TrashSpace:
    """One space's trash as the signed-in user sees it."""

    key: str  # "porte-documents", "classeur", "rubriques/<slug>" (as in /dav/corbeille/)
    label: str
    space: SpaceInfo
    standing: acl.Standing


def _principal() -> acl.Principal:
    principal = current_principal()
    assert principal is not None, "view not behind login_required"
    return principal


def _spaces(principal: acl.Principal) -> list[TrashSpace]:
    """The user's porte-documents, their binder (teachers), then the rubrics whose
    trash they may see."""
    ctx = web_context()
    docs = ctx.store.ensure_space("documents", owner_id=principal.id,
                                  profile=principal.profile.value)
    out = [TrashSpace("porte-documents", _("Porte-documents"), docs,
                      acl.Standing(principal.id, acl.SpaceRef("documents", principal.id)))]
    if acl.has_binder(principal.profile):
        binder = ctx.store.ensure_space("binder", owner_id=principal.id,
                                        profile=principal.profile.value)
        out.append(TrashSpace("classeur", _("Classeur pédagogique"), binder,
                              acl.Standing(principal.id, acl.SpaceRef("binder", principal.id))))
    with ctx.db.transaction(write=False) as s:
        found = acl.visible_rubrics(s, acl.user_context(s, principal.id))
    for info, standing in sorted(found, key=lambda pair: pair[0].name):
        if acl.trash_view(standing) is not acl.TrashView.NONE:
            out.append(TrashSpace(f"rubriques/{info.slug}", info.name,
                                  ctx.store.ensure_space("rubric", rubric_id=info.id),
                                  standing))
    return out


def _visible(place: TrashSpace) -> list[TrashEntry]:
    view = acl.trash_view(place.standing)
    return trash.entries(web_context().store, place.space.id,
                         deleted_by=place.standing.user_id if view is acl.TrashView.OWN
                         else None)


def _item(item_id: int) -> tuple[TrashEntry, TrashSpace]:
    """The item and its space, if the user may see it; else 404 (habit 12)."""
    found = trash.entry(web_context().store, item_id)
    if found is not None:
        for place in _spaces(_principal()):
            if place.space.id == found.space_id and acl.sees_trashed(place.standing,
                                                                     found.deleted_by):
                return found, place
    abort(404)


def _page(question: TrashEntry | None = None, status: int = 200, *,
          homeless: tuple[TrashEntry, TrashSpace] | None = None) -> tuple[str, int]:
    """The trash page; ``question``: the item whose name is taken at its original
    place (replace or keep both?); ``homeless``: the item whose original folder is
    gone, with its space (restore at the root, or in a folder picked)."""
    store = web_context().store
    sections = [(place, _visible(place)) for place in _spaces(_principal())]
    ids = {i.deleted_by for _p, items in sections for i in items if i.deleted_by}
    with web_context().db.transaction(write=False) as s:
        logins = acl.names_of(s, ids)
    usage = {place.key: store.usage(place.space.id) for place, _items in sections}
    since = clock.time() - PURGES_SHOWN_DAYS * 86400
    purges = {place.key: trash.purges(store, place.space.id, since)
              for place, _items in sections}
    zone = school_zone()
    return render_template("trash.html", sections=sections, logins=logins, usage=usage,
                           purges=purges, share=round(store.policy.trash_share * 100),
                           form=ActionForm(), question=question, homeless=homeless,
                           size=human_size,
                           local=lambda epoch: local_time(epoch, zone)), status


@bp.get("/corbeille/")
@login_required
def index() -> tuple[str, int]:
    """Every trash the user may see, newest deletion last."""
    return _page()


def _may_replace(place: TrashSpace, path: str) -> bool:
    """May the user remove what stands at ``path`` (unbind, on all of it)?"""
    store = web_context().store
    nodes = store.resolve_chain(place.space.id, path)
    chain = [acl.NodeRef(n.id, n.author_id, n.published) for n in nodes]
    if not acl.allowed(place.standing, "unbind", chain):
        return False
    return all(acl.allowed(place.standing, "unbind",
                           [*chain, acl.NodeRef(n.id, n.author_id, n.published)])
               for n in store.descendants(nodes[-1]))


@bp.post("/corbeille/<int:item_id>/restaurer")
@login_required
def restore(item_id: int) -> Response | tuple[str, int]:
    """Restore to the original place; asks when the name is taken (``mode``:
    replace, keep-both; anything else asks again)."""
    item, place = _item(item_id)
    mode = request.form.get("mode", "")
    store, path = web_context().store, item.original_path
    folder = path.rpartition("/")[0]
    nodes = store.resolve_chain(place.space.id, folder)
    chain = [acl.NodeRef(n.id, n.author_id, n.published) for n in nodes]
    if not nodes or nodes[-1].path != path_key(folder) \
            or not acl.allowed(place.standing, "read", chain):
        return _page(status=409, homeless=(item, place))
    if not acl.allowed(place.standing, "bind", chain):
        flash(_("Vous ne pouvez pas ajouter de fichier dans « %(path)s ».",
                path=folder or "/"), "error")
        return _page(status=403)
    taken = store.resolve(place.space.id, path) is not None
    if taken and mode not in ("replace", "keep-both"):
        return _page(question=item, status=409)
    if taken and mode == "replace" and not _may_replace(place, path):
        flash(_("Vous ne pouvez pas remplacer « %(path)s ».", path=path), "error")
        return _page(status=403)
    target = numbered_path(place.space.id, path) if taken and mode == "keep-both" else path
    try:
        trash.restore(store, item.id, place.space.id, target, overwrite=taken,
                      replaced_by=place.standing.user_id)
    except DomainError as exc:
        flash(_("Restauration refusée : %(reason)s", reason=exc.message), "error")
        return _page(status=exc.status)
    flash(_("« %(name)s » est restauré dans %(place)s : %(path)s.", name=item.name,
            place=place.label, path=target), "notice")
    return redirect(url_for("trash.index"), code=303)


@bp.post("/corbeille/<int:item_id>/restaurer-vers")
@login_required
def restore_to(item_id: int) -> Response | tuple[str, int]:
    """Restore into the folder named by the ``destination`` field (see the module
    docstring); refusals show on the page with their reason."""
    item, _place = _item(item_id)
    where = request.form.get("destination", "").strip().strip("/")
    try:
        if not where:
            raise Refusal(400, _("Choisissez le dossier où restaurer « %(name)s ».",
                                 name=item.name))
        folder = locate(where)
        if not folder.node.is_collection:
            raise Refusal(404, _("Dossier de destination « %(where)s » introuvable.",
                                 where=where))
        if not folder.allowed("bind"):
            raise Refusal(403, _("Vous ne pouvez pas ajouter de fichier dans « %(name)s ».",
                                 name=folder.name))
        path = f"{folder.node.path}/{item.name}"
        if web_context().store.resolve(folder.space.id, path) is not None:
            path = numbered_path(folder.space.id, path)
        trash.restore(web_context().store, item.id, folder.space.id, path,
                      stamp=folder.stamp())
    except DomainError as exc:
        flash(_("Restauration refusée : %(reason)s", reason=french_reason(exc)), "error")
        return _page(status=exc.status)
    flash(_("« %(name)s » est restauré dans %(where)s.", name=item.name,
            where=f"{folder.where}/{path.rpartition('/')[2]}"), "notice")
    return redirect(url_for("trash.index"), code=303)


@bp.post("/corbeille/<int:item_id>/supprimer")
@login_required
def purge(item_id: int) -> Response:
    """Delete one item forever (frees its bytes at once)."""
    item, _place = _item(item_id)
    trash.purge(web_context().store, [item.id])
    flash(_("« %(name)s » est supprimé définitivement.", name=item.name), "notice")
    return redirect(url_for("trash.index"), code=303)


@bp.post("/corbeille/vider/<path:key>")
@login_required
def empty(key: str) -> Response:
    """Empty one space's trash: everything the user sees in it."""
    place = next((p for p in _spaces(_principal()) if p.key == key), None)
    if place is None:
        abort(404)
    view = acl.trash_view(place.standing)
    freed = trash.empty(web_context().store, place.space.id,
                        deleted_by=place.standing.user_id if view is acl.TrashView.OWN
                        else None)
    flash(_("Corbeille vidée (%(place)s) : %(size)s libérés.", place=place.label,
            size=human_size(freed)), "notice")
    return redirect(url_for("trash.index"), code=303)
