"""``/charte``: the charter (charte d'utilisation, :mod:`acl.charters`), reachable from
every page's footer; accepting it; its edition by the school's head and
administrators (``/charte/modifier``: each save publishes a new version, which
everyone accepts again).

**The gate.** Before any other page, a signed-in user whose charter has a version they
have not accepted is sent to ``/charte`` (a GET; other methods get 403 saying why),
then back where they were going. Signing in and out, the charter's own pages, the
identity providers' returns and static files are let through. Two small queries per
request (the user's charter); the acceptance itself is remembered in the session.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, Length

import acl
from davserver.errors import BadRequest

from ..auth import current_context, current_principal, login_required, safe_next, web_context

bp = Blueprint("charter", __name__, url_prefix="/charte")

ACCEPTED_KEY = "charter.accepted"  # session key: [charter id, version] accepted
EDITORS = (acl.Profile.head, acl.Profile.admin)
OPEN_ENDPOINTS = frozenset({
    "static", "charter.show", "charter.accept", "auth.login", "auth.logout",
    "federation.start", "federation.cas_return", "federation.cas_logout",
    "federation.saml_metadata", "federation.saml_acs", "federation.saml_sls",
})


class AcceptForm(FlaskForm):
    """The "I accept" button, naming the version read."""

    charter = IntegerField(validators=[DataRequired()])
    version = IntegerField(validators=[DataRequired()])
    next = HiddenField()


class EditForm(FlaskForm):
    """The charter's text (plain text; blank lines separate paragraphs)."""

    text = TextAreaField(_l("Texte de la charte"), validators=[
        DataRequired(_l("La charte ne peut pas être vide.")),
        Length(max=acl.charters.MAX_TEXT)])


def _pending() -> acl.CharterInfo | None:
    principal = current_principal()
    if principal is None:
        return None
    with web_context().db.transaction(write=False) as s:
        charter = acl.charter_for(s, principal.id)
        if charter is None:
            return None
        if session.get(ACCEPTED_KEY) == [charter.id, charter.version]:
            return None
        pending = acl.pending_charter(s, principal.id)
    if pending is None:
        session[ACCEPTED_KEY] = [charter.id, charter.version]
    return pending


def _gate() -> Response | None:
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
        return None
    if _pending() is None:
        return None
    if request.method != "GET":
        abort(403, description=_("Acceptez d'abord la charte d'utilisation de l'ENT "
                                 "(page « Charte »)."))
    here = request.full_path if request.query_string else request.path
    return redirect(url_for("charter.show", next=here))


def install_gate(app: Flask) -> None:
    """Send users with a charter to accept to it before any other page."""
    app.before_request(_gate)


def _paragraphs(text: str) -> list[list[str]]:
    """Paragraphs (split on blank lines), each a list of lines."""
    return [block.split("\n") for block in text.split("\n\n") if block.strip()]


@bp.get("")
def show() -> str:
    """The charter: the signed-in user's (with the accept button when they have not
    accepted this version), or the deployment's for a visitor."""
    principal = current_principal()
    with web_context().db.transaction(write=False) as s:
        charter = acl.charter_for(s, principal.id) if principal else \
            acl.charter_of_school(s, None)
        pending = acl.pending_charter(s, principal.id) if principal else None
    form = AcceptForm(formdata=None)
    if pending is not None:
        form.charter.data, form.version.data = pending.id, pending.version
        form.next.data = safe_next(request.args.get("next"))
    editable = principal is not None and principal.profile in EDITORS
    return render_template("charter.html", charter=charter,
                           paragraphs=_paragraphs(charter.text) if charter else [],
                           pending=pending, form=form, editable=editable)


@bp.post("/accepter")
@login_required
def accept() -> Response:
    """Record the acceptance of the version the user read; a version changed
    meanwhile shows the new one."""
    form = AcceptForm()
    principal = current_principal()
    assert principal is not None
    if not form.validate_on_submit():
        abort(400, description=_("Formulaire d'acceptation incomplet."))
    with web_context().db.transaction() as s:
        done = acl.accept_charter(s, principal.id, int(form.charter.data or 0),
                                  int(form.version.data or 0))
        pending = acl.pending_charter(s, principal.id)
    if pending is not None:
        if not done:
            flash(_("La charte a changé pendant votre lecture : lisez sa nouvelle "
                    "version."), "notice")
        return redirect(url_for("charter.show", next=safe_next(form.next.data)))
    session[ACCEPTED_KEY] = [int(form.charter.data or 0), int(form.version.data or 0)]
    return redirect(safe_next(form.next.data))


@bp.route("/modifier", methods=["GET", "POST"])
@login_required
def edit() -> Any:
    """The head's and administrators' editor of their school's charter (an
    administrator of no school edits the deployment's)."""
    principal = current_principal()
    if principal is None or principal.profile not in EDITORS:
        abort(403, description=_("Seuls le chef d'établissement et les administrateurs "
                                 "modifient la charte."))
    school = current_context().school_id
    with web_context().db.transaction(write=False) as s:
        charter = acl.charter_of_school(s, school)
    form = EditForm()
    if request.method == "GET" and charter is not None:
        form.text.data = charter.text
    if form.validate_on_submit():
        try:
            with web_context().db.transaction() as s:
                published = acl.publish_charter(s, school, form.text.data or "",
                                                by=principal.login)
        except BadRequest as refused:
            form.text.errors = [*form.text.errors, refused.message]
        else:
            flash(_("Version %(version)d de la charte publiée : chacun devra l'accepter "
                    "à sa prochaine page.", version=published.version), "notice")
            return redirect(url_for("charter.show"))
    return render_template("charter_edit.html", form=form, charter=charter)
