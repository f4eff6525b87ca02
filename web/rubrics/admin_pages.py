"""``/rubriques/<slug>/gestion``: a rubric's management page, for its managers
(issue 4, "Management"; the ``manage`` privilege of ``acl.policy``).

Who may come: a rubric the user holds no role in is 404, as on the DAV side (its
existence is hidden, STYLE.md habit 12); a user who sees it without ``manage`` gets
the 403 page with the reason. Every POST checks ``manage`` again on the server, in
the same transaction as the change, so a hidden button is never the only guard and
a manager demoted a second ago changes nothing.

Every change is one transaction: bad input (unknown login, group, subject or
folder; a slug taken or invalid; a duplicate invitation) rolls it back whole and the
page shows acl's message, with status 400 (409 for a conflict).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

import acl
from davserver.errors import DomainError, NotFound
from web.auth import login_required, signed_in, web_context
from web.forms import ActionForm

from .forms import ROLE_LABELS, GrantForm, InviteForm, SettingsForm, SubRubricForm, holder_label
from .notices import notify_invitation
from .pages import dav_url

bp = Blueprint("rubric_admin", __name__, url_prefix="/rubriques/<slug>/gestion")

NOT_MANAGER = _l("Seuls les gestionnaires de cette rubrique peuvent la gérer.")
SHARED = acl.Service.shared_folders.value

#: A change: given the session and the managed rubric, do it and return the notice.
Change = Callable[[Session, acl.RubricInfo], str]


def _managed(s: Session, slug: str) -> acl.RubricInfo:
    """The rubric ``slug`` if the signed-in user manages it; aborts with 404 when
    they do not see it (or it does not exist), 403 when they see it only."""
    principal = signed_in()
    rubric = acl.find_rubric(s, slug)
    if rubric is None:
        abort(404)
    standing = acl.standing_in_rubric(s, acl.user_context(s, principal.id), rubric.id)
    if not standing.sees_space:
        abort(404)
    if not acl.allowed(standing, "manage"):
        abort(403, description=str(NOT_MANAGER))
    return rubric


def _folder_paths(rubric: acl.RubricInfo, grants: list[acl.GrantInfo]) -> dict[int, str]:
    """Paths of the folders that carry grants (one query, only when some do)."""
    if not any(g.folder_node_id for g in grants):
        return {}
    store = web_context().store
    space = store.ensure_space("rubric", rubric_id=rubric.id)
    root = store.resolve(space.id, "")
    return {n.id: n.written_path for n in store.descendants(root)} if root else {}


def _page(slug: str, forms: dict[str, FlaskForm] | None = None, error: str | None = None,
          status: int = 200) -> tuple[str, int]:
    with web_context().db.transaction(write=False) as s:
        rubric = _managed(s, slug)
        grants = acl.grants_of(s, slug)
        invitations = [i for i in acl.invitations_of(s, slug)
                       if i.status == acl.InvitationStatus.pending]
        parent = acl.rubric_by_id(s, rubric.parent_id) if rubric.parent_id else None
        children = [r for r in acl.list_rubrics(s) if r.parent_id == rubric.id]
    # Forms not being answered start blank (formdata=None), not from another's POST.
    settings = SettingsForm(formdata=None, data={"shared_folders": rubric.has_shared_folders,
                                                 "inherit": rubric.inherit_grants})
    given = {"grant_form": GrantForm(formdata=None), "invite_form": InviteForm(formdata=None),
             "sub_form": SubRubricForm(formdata=None), "settings_form": settings,
             **(forms or {})}
    folders = _folder_paths(rubric, grants)
    rows = [{"grant": g, "holder": holder_label(g),
             "folder": (folders.get(g.folder_node_id, _("(dossier supprimé)"))
                        if g.folder_node_id else None)} for g in grants]
    return render_template("rubric_manage.html", rubric=rubric, parent=parent,
                           children=children, grants=rows, invitations=invitations,
                           dav_url=dav_url(slug) if rubric.has_shared_folders else None,
                           error=error, **given), status


@bp.get("")
@login_required
def manage(slug: str) -> tuple[str, int]:
    """Who holds what, pending invitations, sub-rubrics and settings, with the forms
    that change them."""
    return _page(slug)


def _apply(slug: str, form_name: str, form: FlaskForm, change: Change) -> Any:
    """Check ``manage`` (in a read, so that refused users learn nothing from input
    checks), validate ``form``, then run ``change`` in one write transaction that
    checks ``manage`` again. Redirects to the page with a notice, or shows the page
    again with the error and nothing changed."""
    forms = {form_name: form} if form_name else {}
    with web_context().db.transaction(write=False) as s:
        _managed(s, slug)
    if not form.validate_on_submit():
        return _page(slug, forms,
                     _("Le formulaire contient des erreurs : rien n'a été modifié."), 400)
    try:
        with web_context().db.transaction() as s:
            notice = change(s, _managed(s, slug))
    except DomainError as exc:
        if exc.status not in (400, 404, 409):
            raise
        message = _("Rien n'a été modifié : %(reason)s", reason=exc.message)
        return _page(slug, forms, message, 409 if exc.status == 409 else 400)
    flash(notice, "notice")
    return redirect(url_for("rubric_admin.manage", slug=slug), code=303)


def _folder_id(rubric: acl.RubricInfo, path: str | None) -> int | None:
    """The node id of a folder of the rubric's space, given as ``/A/B``; None for
    no path (a grant on the whole rubric). ``NotFound`` for no such folder."""
    rel = "/".join(p for p in (path or "").split("/") if p)
    if not rel:
        return None
    store = web_context().store
    node = store.resolve(store.ensure_space("rubric", rubric_id=rubric.id).id, "/" + rel)
    if node is None or not node.is_collection:
        raise NotFound(f"no folder {path!r} in rubric {rubric.slug!r}")
    return node.id


@bp.post("/droits")
@login_required
def add_grant(slug: str) -> Any:
    """Give a role to a user, a population or the whole school."""
    form = GrantForm()
    try:
        with web_context().db.transaction(write=False) as s:
            rubric = _managed(s, slug)
        folder = _folder_id(rubric, form.folder.data)
    except NotFound as exc:
        return _page(slug, {"grant_form": form},
                     _("Rien n'a été modifié : %(reason)s", reason=exc.message), 400)

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        login, parts = form.who()
        pop = acl.population(s, rubric.school_id, **parts) if parts is not None else None
        role = acl.parse_role(form.role.data or "")
        if not acl.grant(s, slug, role, user=login, pop=pop, folder_node_id=folder):
            return _("Ce droit existait déjà.")
        return _("Droit ajouté : %(role)s.", role=ROLE_LABELS[role])

    return _apply(slug, "grant_form", form, change)


@bp.post("/droits/<int:grant_id>/retirer")
@login_required
def revoke(slug: str, grant_id: int) -> Any:
    """Take one grant back."""

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        acl.revoke_grant(s, rubric.slug, grant_id)
        return _("Droit retiré.")

    return _apply(slug, "", ActionForm(), change)


@bp.post("/invitations")
@login_required
def invite(slug: str) -> Any:
    """Invite a user to a role; the grant is made when they accept. The user is
    notified in the same transaction."""
    form = InviteForm()

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        inv = acl.invite(s, rubric.slug, form.role.data or "", (form.login.data or "").strip(),
                         invited_by=signed_in().login)
        notify_invitation(s, inv, signed_in().login)
        return _("Invitation envoyée à %(login)s (%(role)s).", login=inv.login,
                 role=ROLE_LABELS[inv.role])

    return _apply(slug, "invite_form", form, change)


@bp.post("/sous-rubriques")
@login_required
def add_sub_rubric(slug: str) -> Any:
    """Create a sub-rubric. When it does not inherit, its creator is made its
    manager, or nobody could manage it from here."""
    form = SubRubricForm()

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        sub = acl.add_rubric(s, (form.slug.data or "").strip(), form.name.data or "",
                             parent=rubric.slug, inherit_grants=bool(form.inherit.data),
                             services=[SHARED] if form.shared_folders.data else [])
        if not sub.inherit_grants:
            acl.grant(s, sub.slug, acl.Role.manager, user=signed_in().login)
        return _("Sous-rubrique « %(name)s » créée.", name=sub.name)

    return _apply(slug, "sub_form", form, change)


@bp.post("/reglages")
@login_required
def settings(slug: str) -> Any:
    """Switch the shared-folders service and grant inheritance. A manager who held
    ``manage`` only through inheritance and switches it off keeps it by a grant of
    their own, so that no one locks themselves out by a checkbox."""
    form = SettingsForm()

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        # A top-level rubric has nothing to inherit: its flag is not on the form.
        inherit = bool(form.inherit.data) if rubric.parent_id is not None else None
        acl.configure(s, rubric.slug, inherit_grants=inherit,
                      services=[SHARED] if form.shared_folders.data else [])
        me = signed_in()
        standing = acl.standing_in_rubric(s, acl.user_context(s, me.id), rubric.id)
        if not acl.allowed(standing, "manage"):
            acl.grant(s, rubric.slug, acl.Role.manager, user=me.login)
            return _("Réglages enregistrés ; vous restez gestionnaire par un droit "
                     "personnel.")
        return _("Réglages enregistrés.")

    return _apply(slug, "settings_form", form, change)

