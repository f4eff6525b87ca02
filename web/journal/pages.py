"""``/journal/``: the school's security journal (RGPD accountability: who signed in,
who shared, deleted or published what, who read which textbook).

Readers: the head (``head``) and administrators (``admin``) of a school. Each sees
the events filed under their school; administrators also see those filed under none
(failed sign-ins of unknown logins, commands not tied to a school). Filters: a login
(who acted, or whose account or share it was), a text the place contains, and a
period of days (``du``, ``au``: both included, read as UTC dates). Newest first, in
pages of :data:`PAGE_SIZE` (``avant``: the id to continue below).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l

import acl
from davserver import journal

from ..auth import current_principal, profile_required, web_context
from ..forms import parse_number

bp = Blueprint("journal", __name__, url_prefix="/journal")

PAGE_SIZE = 100
READERS = (acl.Profile.head, acl.Profile.admin)

KIND_LABELS = {
    "sign_in": _l("Connexion"),
    "sign_in_failed": _l("Connexion refusée"),
    "throttled": _l("Connexions bloquées"),
    "sign_out": _l("Déconnexion"),
    "sessions_ended": _l("Sessions fermées"),
    "app_password_created": _l("Mot de passe d'application créé"),
    "app_password_revoked": _l("Mot de passe d'application révoqué"),
    "app_password_delivered": _l("Mot de passe d'application remis à l'appareil"),
    "charter_changed": _l("Charte modifiée"),
    "charter_accepted": _l("Charte acceptée"),
    "grant": _l("Droit donné"),
    "revoke": _l("Droit retiré"),
    "invitation": _l("Invitation"),
    "invitation_answered": _l("Réponse à une invitation"),
    "rubric_box_changed": _l("Encadré de rubrique modifié"),
    "publish": _l("Mise en ligne"),
    "withdraw": _l("Retrait de la mise en ligne"),
    "lock_broken": _l("Verrou levé"),
    "delete": _l("Suppression"),
    "purge": _l("Suppression définitive"),
    "inspector_access_opened": _l("Accès inspecteur ouvert"),
    "inspector_access_used": _l("Consultation par un inspecteur"),
    "visa": _l("Visa"),
    "import": _l("Import"),
    "user_changed": _l("Compte modifié"),
    "quota_changed": _l("Quota modifié"),
}
OUTCOME_LABELS = {"success": _l("réussi"), "failure": _l("échec"), "refused": _l("refusé")}


def _day(name: str) -> date | None:
    """The date of query parameter ``name`` (``YYYY-MM-DD``), None when absent or bad."""
    text = request.args.get(name, "").strip()
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filter(school_id: int | None, admin: bool) -> tuple[journal.EventFilter, list[str]]:
    """The filter of this request's query, and the problems found in it (French)."""
    problems = []
    since, until = _day("du"), _day("au")
    for name, value in (("du", since), ("au", until)):
        if request.args.get(name, "").strip() and value is None:
            problems.append(str(_l("Date illisible : %(value)s (format AAAA-MM-JJ).",
                                   value=request.args[name])))
    kind = request.args.get("type", "").strip()
    if kind and kind not in KIND_LABELS:
        problems.append(str(_l("Type d'événement inconnu : %(value)s.", value=kind)))
        kind = ""
    return journal.EventFilter(
        since=datetime.combine(since, time(), UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None,
        person=request.args.get("personne", "").strip() or None,
        place=request.args.get("lieu", "").strip() or None,
        kinds=(kind,) if kind else (),
        school_id=school_id, with_unfiled=admin), problems


@bp.get("/")
@profile_required(*READERS, reason=_l("Le journal de sécurité est réservé à la direction "
                                      "et aux administrateurs de l'établissement."))
def index() -> str:
    """The events of the reader's school, filtered by the query's parameters."""
    principal = current_principal()
    assert principal is not None
    db = web_context().db
    with db.transaction(write=False) as s:
        school_id = acl.school_of_user(s, principal.id)
        where, problems = _filter(school_id, principal.profile == acl.Profile.admin)
        before = request.args.get("avant", "")
        rows = journal.events(s, where, limit=PAGE_SIZE + 1,
                              before_id=parse_number(before))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render_template("journal/index.html", rows=rows, more=more, problems=problems,
                           kinds=KIND_LABELS, outcomes=OUTCOME_LABELS, args=request.args)
