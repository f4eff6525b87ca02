"""``/rubriques/<slug>/gestion``: a rubric's management, for its managers (issue 4,
"Management"; issue 20, "Rubric management in the guide's tabs"; the ``manage``
privilege of ``acl.policy``).

The guide's tabs are pages of their own, so that they work without JavaScript and
each has its address: Généralités (``/gestion``: name, home page, inheritance,
sub-rubrics), Encadré (``/gestion/encadre``), Services (``/gestion/services``),
Accès population (``/gestion/acces-population``), Accès utilisateur
(``/gestion/acces-utilisateur``) and Invitations (``/gestion/invitations``). People,
groups and subjects are picked in lists fed by :mod:`.search` (a typed name is
understood too, when one person bears it).

Who may come: a rubric the user holds no role in is 404, as on the DAV side (its
existence is hidden, STYLE.md habit 12); a user who sees it without ``manage`` gets
the 403 page with the reason. Every POST checks ``manage`` again on the server, in
the same transaction as the change, so a hidden button is never the only guard and
a manager demoted a second ago changes nothing.

Every change is one transaction: bad input (unknown person, group, subject or
folder; a slug taken or invalid; a duplicate invitation; an image that is no
picture) rolls it back whole and the page shows acl's message, with status 400 (409
for a conflict). The encadré's text is cleaned with nh3 before it is stored
(:func:`web.rich_text.sanitize_html`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

import acl
from davserver.errors import BadRequest, DomainError, NotFound
from web.auth import login_required, signed_in, web_context
from web.forms import ActionForm
from web.rich_text import sanitize_html

from .forms import (
    ROLE_LABELS,
    SERVICE_LABELS,
    BoxForm,
    GeneralForm,
    GrantForm,
    InviteForm,
    SettingsForm,
    SubRubricForm,
    holder_label,
)
from .notices import notify_invitation
from .pages import dav_url

bp = Blueprint("rubric_admin", __name__, url_prefix="/rubriques/<slug>/gestion")

NOT_MANAGER = _l("Seuls les gestionnaires de cette rubrique peuvent la gérer.")
SHARED = acl.Service.shared_folders.value

#: The guide's tabs: address segment ("" for Généralités) and title, in order.
TABS = (("", _l("Généralités")), ("encadre", _l("Encadré")), ("services", _l("Services")),
        ("acces-population", _l("Accès population")),
        ("acces-utilisateur", _l("Accès utilisateur")), ("invitations", _l("Invitations")))
TAB_NAMES = frozenset(name for name, _title in TABS)

#: A change: given the session and the managed rubric, do it and return the notice.
Change = Callable[[Session, acl.RubricInfo], str]


def managed_rubric(s: Session, slug: str) -> acl.RubricInfo:
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


MAX_FOLDER_CHOICES = 500  # a longer list is no help; the field takes a typed path too


def _folders(rubric: acl.RubricInfo, grants: list[acl.GrantInfo], *,
             choices: bool) -> tuple[dict[int, str], list[str]]:
    """The paths (as written) of the folders ``grants`` name, by node id (a folder
    since deleted is left out), and, when ``choices``, the first
    :data:`MAX_FOLDER_CHOICES` folder paths of the rubric for the folder field's
    list. One query that reads folders only (``Store.folders``), and none when
    neither is needed: a rubric's space may hold thousands of files."""
    held = {g.folder_node_id for g in grants if g.folder_node_id}
    choices = choices and rubric.has_shared_folders
    if not held and not choices:
        return {}, []
    store = web_context().store
    space = store.ensure_space("rubric", rubric_id=rubric.id)
    found = store.folders(space.id, first=MAX_FOLDER_CHOICES if choices else 0,
                          including=held)
    # The grants' folders come first whatever their path: the rest are the first by
    # path, so the first MAX_FOLDER_CHOICES of them all are among the rows.
    listed = sorted(found.values())[:MAX_FOLDER_CHOICES] if choices else []
    return {i: path for i, path in found.items() if i in held}, listed


def _blank_forms(rubric: acl.RubricInfo, page: acl.HomePage, tab: str) -> dict[str, FlaskForm]:
    """Every tab's forms, blank (formdata=None: never filled from another's POST)."""
    return {
        "general_form": GeneralForm(formdata=None, data={
            "name": rubric.name, "home_page": page.home_page,
            "inherit": rubric.inherit_grants}),
        "box_form": BoxForm(formdata=None, data={"body": page.box_html,
                                                 "image_alt": page.image_alt}),
        "grant_form": GrantForm(formdata=None, data={
            "holder": "population" if tab == "acces-population" else "user"}),
        "invite_form": InviteForm(formdata=None), "sub_form": SubRubricForm(formdata=None),
    }


def _page(slug: str, tab: str, forms: dict[str, FlaskForm] | None = None,
          error: str | None = None, status: int = 200) -> tuple[str, int]:
    """The tab ``tab`` of the management page; ``forms`` replace blank ones (a form
    shown again with its errors)."""
    with web_context().db.transaction(write=False) as s:
        rubric = managed_rubric(s, slug)
        page = acl.home_page_of(s, rubric.id)
        grants = acl.grants_of(s, slug)
        invitations = [i for i in acl.invitations_of(s, slug)
                       if i.status == acl.InvitationStatus.pending]
        parent = acl.rubric_by_id(s, rubric.parent_id) if rubric.parent_id else None
        children = [r for r in acl.list_rubrics(s) if r.parent_id == rubric.id]
        names = acl.names_by_login(s, {g.login for g in grants if g.login}
                                   | {i.login for i in invitations})
        # The lists a page without JavaScript offers (the script asks the search).
        population = tab == "acces-population"
        groups = acl.search_groups(s, rubric.school_id, "", limit=500) if population else []
        subjects = acl.search_subjects(s, rubric.school_id, "", limit=500) if population \
            else []
    given = {**_blank_forms(rubric, page, tab), **(forms or {})}
    access = tab.startswith("acces-")  # the only tabs that list grants
    shown = [g for g in grants
             if access and (g.login is not None) == (tab == "acces-utilisateur")]
    folders, choices = _folders(rubric, shown, choices=access)
    rows = [{"grant": g, "holder": holder_label(g, names),
             "folder": (folders.get(g.folder_node_id, _("(dossier supprimé)"))
                        if g.folder_node_id else None)} for g in shown]
    services = [*rubric.services,
                *(s.value for s in acl.Service if s.value not in rubric.services)]
    return render_template(
        "rubric_manage.html", rubric=rubric, parent=parent, children=children,
        grants=rows, invitations=invitations, names=names, tab=tab, tabs=TABS,
        page=page, groups=groups, subjects=subjects, folder_choices=choices,
        services=[{"name": name, "label": SERVICE_LABELS.get(name, name),
                   "on": name in rubric.services, "position": i + 1}
                  for i, name in enumerate(services)],
        dav_url=dav_url(slug) if rubric.has_shared_folders else None,
        error=error, **given), status


@bp.get("", defaults={"tab": ""})
@bp.get("/<tab>")
@login_required
def manage(slug: str, tab: str) -> tuple[str, int]:
    """One tab of the management page, with the forms that change what it shows."""
    if tab not in TAB_NAMES:
        abort(404)
    return _page(slug, tab)


def _apply(slug: str, form_name: str, form: FlaskForm, change: Change, tab: str) -> Any:
    """Check ``manage`` (in a read, so that refused users learn nothing from input
    checks), validate ``form``, then run ``change`` in one write transaction that
    checks ``manage`` again. Redirects to the tab ``tab`` with a notice, or shows it
    again with the error and nothing changed."""
    forms = {form_name: form} if form_name else {}
    with web_context().db.transaction(write=False) as s:
        managed_rubric(s, slug)
    if not form.validate_on_submit():
        return _page(slug, tab, forms,
                     _("Le formulaire contient des erreurs : rien n'a été modifié."), 400)
    try:
        with web_context().db.transaction() as s:
            notice = change(s, managed_rubric(s, slug))
    except DomainError as exc:
        if exc.status not in (400, 404, 409):
            raise
        message = _("Rien n'a été modifié : %(reason)s", reason=exc.message)
        return _page(slug, tab, forms, message, 409 if exc.status == 409 else 400)
    flash(notice, "notice")
    target = url_for("rubric_admin.manage", slug=slug, tab=tab) if tab else \
        url_for("rubric_admin.manage", slug=slug)
    return redirect(target, code=303)


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


def _person(s: Session, rubric: acl.RubricInfo, text: str) -> str:
    """The login of the person a picker's field names, among those the signed-in
    manager may find in the rubric's school, judged by their profile there
    (``acl.resolve_person``)."""
    return acl.resolve_person(s, rubric.school_id, signed_in().id, text)


@bp.post("/generalites")
@login_required
def general(slug: str) -> Any:
    """The Généralités tab: name, home page and (for a sub-rubric) inheritance. A
    manager who held ``manage`` only through inheritance and switches it off keeps
    it by a grant of their own, so that no one locks themselves out by a checkbox."""
    form = GeneralForm()

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        inherit = bool(form.inherit.data) if rubric.parent_id is not None else None
        acl.set_general(s, rubric.slug, name=form.name.data or "",
                        home_page=bool(form.home_page.data), inherit_grants=inherit)
        return _keep_manager(s, rubric, _("Généralités enregistrées."))

    return _apply(slug, "general_form", form, change, "")


def _keep_manager(s: Session, rubric: acl.RubricInfo, notice: str) -> str:
    me = signed_in()
    standing = acl.standing_in_rubric(s, acl.user_context(s, me.id), rubric.id)
    if acl.allowed(standing, "manage"):
        return notice
    acl.grant(s, rubric.slug, acl.Role.manager, user=me.login)
    return notice + " " + _("Vous restez gestionnaire par un droit personnel.")


@bp.post("/encadre")
@login_required
def box(slug: str) -> Any:
    """The Encadré tab: the box's text (cleaned with nh3) and its image."""
    form = BoxForm()
    upload = form.image.data if form.is_submitted() else None
    image = upload.read(acl.rubric_pages.MAX_IMAGE + 1) if upload and upload.filename else None

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        if image is not None and not image:
            raise BadRequest("the image file is empty")
        acl.set_box(s, rubric.slug, box_html=sanitize_html(form.body.data or ""),
                    image=image, image_alt=form.image_alt.data or "",
                    drop_image=bool(form.drop_image.data))
        return _("Encadré enregistré.")

    return _apply(slug, "box_form", form, change, "encadre")


@bp.post("/services")
@login_required
def services(slug: str) -> Any:
    """The Services tab: the services ticked (``service``), in the order of their
    positions (``position-<service>``, whole numbers; ties keep the list's order)."""
    form = ActionForm()
    chosen = request.form.getlist("service")

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        def position(name: str) -> int:
            raw = request.form.get(f"position-{name}", "").strip()
            if raw and not (raw.isascii() and raw.isdigit()):
                raise BadRequest(f"the position of {name!r} must be a whole number")
            return int(raw) if raw else 0
        ordered = sorted(chosen, key=position)
        acl.set_services(s, rubric.slug, ordered)
        return _("Services enregistrés.")

    return _apply(slug, "", form, change, "services")


@bp.post("/droits")
@login_required
def add_grant(slug: str) -> Any:
    """Give a role to a user, a population or the whole school."""
    form = GrantForm()
    tab = "acces-utilisateur" if form.holder.data == "user" else "acces-population"
    try:
        with web_context().db.transaction(write=False) as s:
            rubric = managed_rubric(s, slug)
        folder = _folder_id(rubric, form.folder.data)
    except NotFound as exc:
        return _page(slug, tab, {"grant_form": form},
                     _("Rien n'a été modifié : %(reason)s", reason=exc.message), 400)

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        login, parts = form.who()
        if login is not None:
            login = _person(s, rubric, login)
        pop = acl.population(s, rubric.school_id, **parts) if parts is not None else None
        role = acl.parse_role(form.role.data or "")
        if not acl.grant(s, slug, role, user=login, pop=pop, folder_node_id=folder):
            return _("Ce droit existait déjà.")
        return _("Droit ajouté : %(role)s.", role=ROLE_LABELS[role])

    return _apply(slug, "grant_form", form, change, tab)


@bp.post("/droits/<int:grant_id>/retirer")
@login_required
def revoke(slug: str, grant_id: int) -> Any:
    """Take one grant back."""
    tab = request.form.get("tab", "acces-utilisateur")
    tab = tab if tab in TAB_NAMES else "acces-utilisateur"

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        acl.revoke_grant(s, rubric.slug, grant_id)
        return _("Droit retiré.")

    return _apply(slug, "", ActionForm(), change, tab)


@bp.post("/invitations")
@login_required
def invite(slug: str) -> Any:
    """Invite a user to a role; the grant is made when they accept. The user is
    notified in the same transaction."""
    form = InviteForm()

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        login = _person(s, rubric, form.login.data or "")
        inv = acl.invite(s, rubric.slug, form.role.data or "", login,
                         invited_by=signed_in().login)
        notify_invitation(s, inv, signed_in().login)
        name = acl.names_by_login(s, {inv.login}).get(inv.login, inv.login)
        return _("Invitation envoyée à %(login)s (%(role)s).", login=name,
                 role=ROLE_LABELS[inv.role])

    return _apply(slug, "invite_form", form, change, "invitations")


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

    return _apply(slug, "sub_form", form, change, "")


@bp.post("/reglages")
@login_required
def settings(slug: str) -> Any:
    """Switch the shared-folders service and grant inheritance (the single page's
    form before the tabs; scripts and bookmarks may still send it)."""
    form = SettingsForm()

    def change(s: Session, rubric: acl.RubricInfo) -> str:
        # A top-level rubric has nothing to inherit: its flag is not on the form.
        inherit = bool(form.inherit.data) if rubric.parent_id is not None else None
        acl.configure(s, rubric.slug, inherit_grants=inherit,
                      services=[SHARED] if form.shared_folders.data else [])
        return _keep_manager(s, rubric, _("Réglages enregistrés."))

    return _apply(slug, "settings_form", form, change, "")
