"""Pages of the web layer: the welcome page and the places of the navigation bar.

The file manager is :mod:`web.documents` (the binder's link leads there), the
textbook :mod:`web.textbook.pages`, booking :mod:`web.booking`.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

import acl
from web import textbook
from web.auth import (
    SCHOOL_KEY,
    current_context,
    current_principal,
    login_required,
    profile_required,
    safe_next,
    school_choices,
    web_context,
)

from .blocks import home_blocks

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    """Home page: for a signed-in person, the blocks of :mod:`web.home.blocks` (their
    lessons, homework, bookings, notifications, quota); for anyone else, how to mount
    the drive (public: the address is no secret)."""
    principal = current_principal()
    if principal is None:
        return render_template("index.html", dav_url=_dav_url(), blocks=None)
    with web_context().db.transaction(write=False) as s:
        tz = textbook.school_zone(s, current_context().school_id)
        return render_template("index.html", dav_url=_dav_url(),
                               blocks=home_blocks(s, principal, tz))


@bp.get("/connecter")
def connect() -> str:
    """How to mount the porte-documents as a network drive (Windows, macOS, Linux,
    rclone), its own page since the home page shows blocks (issue 20)."""
    return render_template("connect.html", dav_url=_dav_url())


def _dav_url() -> str:
    return request.host_url.rstrip("/") + "/dav/"


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
