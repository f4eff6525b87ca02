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

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import acl
from davserver.errors import Conflict, DomainError
from web.auth import current_principal, login_required, signed_in, web_context
from web.forms import ActionForm

from .forms import ROLE_LABELS, STATUS_LABELS

bp = Blueprint("rubrics", __name__)


def dav_url(slug: str) -> str:
    """The absolute address of a rubric's shared folders (DESIGN.md, "URL space")."""
    return f"{request.host_url.rstrip('/')}/dav/rubriques/{slug}/"


@bp.app_context_processor
def _labels_and_count() -> dict[str, Any]:
    """Role and status labels for every template, and the signed-in user's count of
    pending invitations for the header (one query; none for anonymous visitors)."""
    principal = current_principal()
    pending = 0
    if principal is not None:
        with web_context().db.transaction(write=False) as s:
            pending = acl.pending_invitation_count(s, principal.id)
    return {"role_labels": ROLE_LABELS, "status_labels": STATUS_LABELS,
            "pending_invitations": pending}


@bp.get("/rubriques/")
@login_required
def index() -> str:
    """The rubrics the user holds a role in, with the role and the DAV address."""
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:
        ctx = acl.user_context(s, principal.id)
        found = acl.visible_rubrics(s, ctx, service=None)
        home_pages = acl.home_pages_on(s, [r.id for r, _standing in found])
    names = {r.id: r.name for r, _standing in found}
    rows = [{"rubric": r, "role": st.role,
             "folder_roles": sorted({role for role in st.folder_roles.values()},
                                    key=lambda role: role.rank),
             "parent": names.get(r.parent_id) if r.parent_id else None,
             "dav_url": dav_url(r.slug) if r.has_shared_folders else None,
             "manages": acl.allowed(st, "manage"),
             "home": r.id in home_pages or acl.allowed(st, "manage")} for r, st in found]
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
