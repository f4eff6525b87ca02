"""Pages of the web layer: the welcome page and the places of the navigation bar.

The file manager is :mod:`web.documents` (the binder's link leads there), the
textbook :mod:`web.textbook.pages`, booking :mod:`web.booking`.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

import acl
from web.auth import SCHOOL_KEY, login_required, profile_required, safe_next, school_choices

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    """Welcome page: how to mount the drive (public: the address is no secret)."""
    dav_url = request.host_url.rstrip("/") + "/dav/"
    return render_template("index.html", dav_url=dav_url)


@bp.get("/binder/")
@profile_required(*acl.BINDER_PROFILES,
                  reason=_l("Le classeur pédagogique est réservé aux enseignants."))
def binder() -> Response:
    """Classeur pédagogique: private to each teacher (DESIGN.md vocabulary), kept in
    the file manager beside the porte-documents."""
    return redirect(url_for("documents.place", where="classeur") + "/")


@bp.post("/etablissement")
@login_required
def choose_school() -> Response:
    """The header's switch, for a person of several schools: the school that the
    school-wide pages (the head's oversight and archives, homework types, times)
    show. 404 for a school that is not theirs."""
    try:
        wanted = int(request.form.get("school", ""))
    except ValueError:
        abort(400, description=_l("Choisissez un établissement."))
    schools, _current = school_choices()
    if wanted not in {info.id for info in schools}:
        abort(404)
    session[SCHOOL_KEY] = wanted
    return redirect(safe_next(request.form.get("next")), 303)
