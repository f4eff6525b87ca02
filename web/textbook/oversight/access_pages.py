"""``/textbook/controle/acces``: the head or an admin opens an inspector's access to a
teacher's textbook, and revokes it (issue 7, "Inspector access").

Both are CSRF-protected POSTs from the oversight page. Only the head and the admins
of the teacher's school come here (403 for other profiles); bad input (the last day
before the first, someone who is not an inspector, a teacher of another school, a
service not the teacher's) shows the page again with the reason, status 400,
nothing stored. Revoking ends the access at once.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from davserver.errors import BadRequest, DomainError
from web import textbook
from web.auth import login_required, signed_in, web_context

from .forms import AccessForm
from .pages import index_page

bp = Blueprint("inspector_access", __name__, url_prefix="/textbook/controle/acces")


def _require_opener() -> None:
    if signed_in().profile not in textbook.OPENERS:
        abort(403, description=textbook.NOT_OPENER)


@bp.post("")
@login_required
def open_access() -> Response | tuple[str, int]:
    """Open the access described by the form."""
    _require_opener()
    form = AccessForm()
    if not form.validate_on_submit():
        return index_page(form, _("Le formulaire contient des erreurs : aucun accès n'a été "
                                  "ouvert."), 400)
    try:
        with web_context().db.transaction() as s:
            access = textbook.open_access(s, signed_in().id, form.to_input())
            period = textbook.period_text(access)
    except BadRequest as exc:
        return index_page(form, exc.message, 400)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(_("Accès ouvert %(period)s.", period=period), "notice")
    return redirect(url_for("oversight.index"), code=303)


@bp.post("/<int:access_id>/revoquer")
@login_required
def revoke(access_id: int) -> Response:
    """End the access now."""
    _require_opener()
    try:
        with web_context().db.transaction() as s:
            textbook.revoke_access(s, signed_in().id, access_id)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(_("Accès révoqué."), "notice")
    return redirect(url_for("oversight.index"), code=303)
