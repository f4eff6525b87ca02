"""``/account/preferences``: "Mes informations", "Mes préférences" and "Mes
rubriques" (the guide's TP 3), stored by :mod:`acl.preferences`; and ``/annuaire/``,
the school's directory for its staff.

* Mes informations: the redirect e-mail address (the ENT's mail goes there; a
  teacher who never set one finds the directory's address filled in), a landline and
  a mobile number, and the "liste rouge" box (numbers seen by administrators only).
* Mes préférences: the portal's "unfold every sub-rubric", "Recevoir les
  notifications" (the e-mail choice of :mod:`web.notifications`), the cahier de
  textes defaults (estimated homework minutes, input mode).
* Mes rubriques: every rubric the user holds a role in, each with "be notified of new
  contributions".

Each section is its own form (POST with the CSRF token); a value that cannot be saved
shows the page again, 400, with the reason next to the field, and nothing saved.
The directory (GET ``/annuaire/?q=``) is 403 for students, parents and inspectors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import acl
from web.notifications import services as notifications

from ..auth import login_required, signed_in, web_context
from ..forms import parse_number

bp = Blueprint("preferences", __name__)
MAX_QUERY = 100


def _rubrics(s: Any, user_id: int) -> list[acl.RubricInfo]:
    """The rubrics the user holds a role in, by name."""
    found = acl.visible_rubrics(s, acl.user_context(s, user_id), service=None)
    return sorted((info for info, _standing in found), key=lambda r: r.name.lower())


def _page(*, errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
          status: int = 200) -> tuple[str, int]:
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:
        prefs = acl.preferences_of(s, principal.id)
        wants_email = notifications.wants_email(s, principal.id)
        rubrics = _rubrics(s, principal.id)
        subscribed = acl.subscriptions_of(s, principal.id)
        user = s.get(acl.User, principal.id)
        imported = user.email if user is not None else None
    redirect_email = prefs.redirect_email
    prefilled = False
    if redirect_email is None and principal.profile is acl.Profile.teacher and imported:
        redirect_email, prefilled = imported, True
    return render_template(
        "account/preferences.html", prefs=prefs, wants_email=wants_email, rubrics=rubrics,
        subscribed=subscribed, redirect_email=redirect_email, prefilled=prefilled,
        errors=errors or {}, typed=typed or {}, modes=acl.InputMode,
        directory=acl.may_use_directory(principal.profile)), status


@bp.get("/account/preferences")
@login_required
def index() -> tuple[str, int]:
    """The three sections."""
    return _page()


def _save(prefs: Callable[[acl.Preferences], acl.Preferences], typed: dict[str, str], *,
          email: bool | None = None) -> Response | tuple[str, int]:
    """Save ``prefs(what is stored now)`` and, when given, the e-mail choice, in one
    transaction: a refusal saves nothing."""
    principal = signed_in()
    try:
        with web_context().db.transaction() as s:
            acl.save_preferences(s, principal.id, prefs(acl.preferences_of(s, principal.id)))
            if email is not None:
                notifications.set_wants_email(s, principal.id, email)
    except acl.PreferenceError as refused:
        return _page(errors={refused.field: str(refused)}, typed=typed, status=400)
    flash(_("Préférences enregistrées."), "notice")
    return redirect(url_for("preferences.index"), code=303)


@bp.post("/account/preferences/informations")
@login_required
def information() -> Response | tuple[str, int]:
    """Mes informations: redirect address, numbers, liste rouge."""
    form = request.form
    typed = {k: form.get(k, "") for k in ("redirect_email", "phone_landline", "phone_mobile")}
    return _save(lambda now: acl.Preferences(
        now.unfold_rubrics, now.homework_minutes, now.input_mode,
        form.get("redirect_email"), form.get("phone_landline"), form.get("phone_mobile"),
        form.get("private_numbers") == "1"), typed)


@bp.post("/account/preferences/reglages")
@login_required
def settings() -> Response | tuple[str, int]:
    """Mes préférences: portal, notifications, cahier de textes defaults."""
    form = request.form
    raw_minutes = form.get("homework_minutes", "").strip()
    typed = {"homework_minutes": raw_minutes}
    minutes = parse_number(raw_minutes)
    if raw_minutes and minutes is None:
        return _page(errors={"homework_minutes": _(
            "« %(value)s » n'est pas un nombre de minutes.", value=raw_minutes[:20])},
            typed=typed, status=400)
    try:
        mode = acl.InputMode(form.get("input_mode", acl.InputMode.rich.value))
    except ValueError:
        return _page(errors={"input_mode": _("Mode de saisie inconnu.")}, status=400)
    return _save(lambda now: acl.Preferences(
        form.get("unfold_rubrics") == "1", minutes, mode,
        now.redirect_email, now.phone_landline, now.phone_mobile, now.private_numbers),
        typed, email=form.get("email") == "1")


@bp.post("/account/preferences/rubriques")
@login_required
def rubric_choices() -> Response | tuple[str, int]:
    """Mes rubriques: the rubrics whose new contributions the user hears of."""
    principal = signed_in()
    chosen: set[int] = set()
    for raw in request.form.getlist("notify"):
        rubric_id = parse_number(raw)
        if rubric_id is None:
            abort(400, description=_("Rubrique inconnue : « %(value)s ».", value=raw[:20]))
        chosen.add(rubric_id)
    with web_context().db.transaction() as s:
        offered = {r.id for r in _rubrics(s, principal.id)}
        if not chosen <= offered:
            abort(400, description=_("Vous ne pouvez suivre que les rubriques où vous avez "
                                     "un rôle."))
        acl.set_subscriptions(s, principal.id, chosen, offered)
    flash(_("Vos rubriques suivies sont enregistrées."), "notice")
    return redirect(url_for("preferences.index"), code=303)


@bp.get("/annuaire/")
@login_required
def directory() -> str:
    """The school's directory for its staff (``?q=``: a name, class or subject)."""
    principal = signed_in()
    if not acl.may_use_directory(principal.profile):
        abort(403, description=_("L'annuaire de l'établissement est réservé à ses "
                                 "personnels."))
    query = request.args.get("q", "").strip()
    if len(query) > MAX_QUERY:
        abort(400, description=_("Recherche trop longue : %(max)d caractères au plus.",
                                 max=MAX_QUERY))
    with web_context().db.transaction(write=False) as s:
        school = acl.school_of_user(s, principal.id)
        people = acl.directory(s, school, principal.profile, query) if school else []
    return render_template("account/directory.html", people=people, query=query,
                           limit=acl.preferences.MAX_RESULTS)
