"""Pages of the web layer: the welcome page and the places of the navigation bar.

The file manager (porte-documents) page comes with its issue; until then its
place answers "bientôt disponible" so the navigation already has its final
shape. The textbook is :mod:`web.textbook_views`, booking :mod:`web.booking`.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l

import acl

from .auth import login_required, profile_required

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    """Welcome page: how to mount the drive (public: the address is no secret)."""
    dav_url = request.host_url.rstrip("/") + "/dav/"
    return render_template("index.html", dav_url=dav_url)


def _soon(title: str) -> str:
    return render_template("soon.html", title=title)


@bp.get("/documents/")
@login_required
def documents() -> str:
    """Porte-documents in the browser (issue: file manager)."""
    return _soon(str(_l("Porte-documents")))


@bp.get("/binder/")
@profile_required(*acl.BINDER_PROFILES,
                  reason=_l("Le classeur pédagogique est réservé aux enseignants."))
def binder() -> str:
    """Classeur pédagogique: private to each teacher (DESIGN.md vocabulary)."""
    return _soon(str(_l("Classeur pédagogique")))
