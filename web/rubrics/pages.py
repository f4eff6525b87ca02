"""The rubrics a user sees and their invitations, in the browser (issue 4).

* ``/rubriques/``: every rubric where the signed-in user holds a role, the role, the
  address to mount its shared folders over WebDAV (``/dav/rubriques/<slug>/``) when
  that service is on, and the management page for its managers.
* ``/invitations/``: the user's invitations, pending ones with Accept and Decline
  buttons (POST with the CSRF token; accepting creates the grant, ``acl.answer``).
* Every page's header shows how many invitations wait for an answer (one query).

The management page itself is :mod:`web.rubrics.admin_pages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

import acl
from davserver.errors import Conflict, DomainError
from web.auth import current_principal, frame_context, login_required, signed_in, web_context
from web.forms import ActionForm

from . import column
from .forms import ROLE_LABELS, STATUS_LABELS

bp = Blueprint("rubrics", __name__)


def dav_url(slug: str) -> str:
    """The absolute address of a rubric's shared folders (DESIGN.md, "URL space")."""
    return f"{request.host_url.rstrip('/')}/dav/rubriques/{slug}/"


@dataclass(frozen=True)
class SeenRubric:
    """A rubric the user may see, with their standing in it; ``home``: its home page is
    shown to them (switched on, or they manage the rubric: :mod:`.home`'s rule)."""

    rubric: acl.RubricInfo
    standing: acl.Standing
    manages: bool
    home: bool


def seen_rubrics(session: Session, ctx: acl.UserContext) -> list[SeenRubric]:
    """Every rubric where the user of ``ctx`` holds a role, whatever its services
    (:func:`acl.visible_rubrics`, the one rights check), ordered by slug, in all their
    schools. Three queries, whatever the number of rubrics."""
    found = acl.visible_rubrics(session, ctx, service=None)
    home_pages = acl.home_pages_on(session, [r.id for r, _standing in found])
    out = []
    for rubric, standing in found:
        manages = acl.allowed(standing, "manage")
        out.append(SeenRubric(rubric, standing, manages, manages or rubric.id in home_pages))
    return out


@bp.app_context_processor
def _labels_and_count() -> dict[str, Any]:
    """Role and status labels for every template; for the signed-in user, the count of
    pending invitations for the header (one query) and the « Mon établissement »
    column (:mod:`.column`: their preference, the rubrics they see; once per request).
    Nothing is read for anonymous visitors."""
    principal = current_principal()
    pending = 0
    if principal is not None:
        with web_context().db.transaction(write=False) as s:
            pending = acl.pending_invitation_count(s, principal.id)
    return {"role_labels": ROLE_LABELS, "status_labels": STATUS_LABELS,
            "pending_invitations": pending, "school_column": _school_column()}


def _school_column() -> column.SchoolColumn | None:
    """The signed-in user's « Mon établissement » column, read once per request (a
    page rendering two templates reads it once); None for anonymous visitors."""
    if "school_column" not in g:
        ctx = frame_context()
        found = None
        if ctx is not None:
            with web_context().db.transaction(write=False) as s:
                found = column.school_column(
                    s, ctx, [(seen.rubric, seen.home) for seen in seen_rubrics(s, ctx)])
        g.school_column = found
    return g.school_column  # type: ignore[no-any-return]


@bp.get("/rubriques/")
@login_required
def index() -> str:
    """The rubrics the user holds a role in, with the role and the DAV address."""
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:
        found = seen_rubrics(s, acl.user_context(s, principal.id))
    names = {seen.rubric.id: seen.rubric.name for seen in found}
    rows = [{"rubric": seen.rubric, "role": seen.standing.role,
             "folder_roles": sorted(set(seen.standing.folder_roles.values()),
                                    key=lambda role: role.rank),
             "parent": names.get(seen.rubric.parent_id) if seen.rubric.parent_id else None,
             "dav_url": dav_url(seen.rubric.slug) if seen.rubric.has_shared_folders
             else None,
             "manages": seen.manages, "home": seen.home} for seen in found]
    return render_template("rubrics.html", rows=rows)


def _invitations_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    principal = signed_in()
    with web_context().db.transaction() as s:  # reading marks expired ones so
        invitations = acl.invitations_for(s, principal.login)
    return render_template("invitations.html", invitations=invitations,
                           form=ActionForm(), error=error), status


@bp.get("/invitations/")
@login_required
def invitations() -> tuple[str, int]:
    """The user's invitations, newest first: pending, answered and expired."""
    return _invitations_page()


@bp.post("/invitations/<int:invitation_id>/<any(accepter, refuser):decision>")
@login_required
def answer(invitation_id: int, decision: str) -> Response | tuple[str, int]:
    """Accept or decline one invitation (CSRF checked before this view). Someone
    else's invitation is 404, like a missing one: its existence is not the user's
    business (STYLE.md habit 12). An invitation no longer pending is 409, with the
    reason on the page."""
    principal = signed_in()
    accept = decision == "accepter"
    try:
        with web_context().db.transaction() as s:
            inv = acl.answer(s, invitation_id, principal.login, accept=accept)
    except Conflict as exc:
        return _invitations_page(_("Cette invitation ne peut plus recevoir de réponse "
                                   ": %(reason)s", reason=exc.message), 409)
    except DomainError:
        abort(404)
    if accept:
        flash(_("Invitation acceptée : vous êtes maintenant %(role)s de la rubrique "
                "« %(name)s ».", role=ROLE_LABELS[inv.role], name=inv.rubric_name),
              "notice")
    else:
        flash(_("Invitation à la rubrique « %(name)s » refusée.", name=inv.rubric_name),
              "notice")
    return redirect(url_for("rubrics.invitations"), code=303)
