"""Pages of the web layer: the welcome page and the places of the navigation bar.

The home page's blocks are :mod:`.blocks`; ``/accueil/organiser`` is where a person
hides, shows and reorders them, with no JavaScript needed (a form: a box per block,
« Monter » and « Descendre » buttons); each block of ``/`` also has its « Masquer »
button, and the hidden ones an « Afficher » button under the blocks.

The file manager is :mod:`web.documents` (the binder's link leads there), the
textbook :mod:`web.textbook.pages`, booking :mod:`web.booking`.
"""

from __future__ import annotations

from flask import (
    Blueprint,
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
    signed_in,
    web_context,
)

from .blocks import BLOCK_NAMES, BlockKind, arrangement, home_blocks, with_blocks_not_offered

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    """Home page: for a signed-in person, the blocks of :mod:`web.home.blocks` (their
    lessons, homework, bookings, notifications, quota); for anyone else, how to mount
    the drive (public: the address is no secret)."""
    principal = current_principal()
    if principal is None:
        return render_template("index.html", dav_url=_dav_url(), blocks=None)
    ctx = current_context()
    with web_context().db.transaction(write=False) as s:
        tz = textbook.school_zone(s, ctx.school_id)
        blocks, hidden = home_blocks(s, principal, ctx, tz)
        return render_template("index.html", dav_url=_dav_url(), blocks=blocks,
                               hidden=hidden)


def _arrange_page(error: str | None = None, status: int = 200,
                  focus: tuple[str, str] | None = None) -> tuple[str, int]:
    principal, ctx = signed_in(), current_context()
    with web_context().db.transaction(write=False) as s:
        rows = arrangement(s, principal, ctx)
    return render_template("home_arrange.html", rows=rows, error=error,
                           focus=focus), status


@bp.get("/accueil/organiser")
@login_required
def arrange() -> tuple[str, int]:
    """« Organiser ma page d'accueil »: the person's blocks in their order, each with
    a « Afficher ce bloc » box and « Monter » / « Descendre » buttons. After a move,
    ``?bloc=<name>&sens=up|down`` puts the keyboard focus back on the moved block's
    button (``autofocus``: no script), so that pressing it again moves it on."""
    name, way = request.args.get("bloc", ""), request.args.get("sens", "")
    return _arrange_page(focus=(name, way) if name in BLOCK_NAMES and way in ("up", "down")
                         else None)


def _moved(order: list[str], move: str) -> list[str]:
    """``order`` with the block of ``move`` (``up:<name>`` or ``down:<name>``) swapped
    with its neighbour; unchanged at either end. ``ValueError`` for another shape or
    a block not in ``order``."""
    way, _sep, name = move.partition(":")
    if way not in ("up", "down") or name not in order:
        raise ValueError(move)
    at = order.index(name)
    to = at - 1 if way == "up" else at + 1
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]
    return order


def _title(kinds: list[tuple[BlockKind, bool]], name: str) -> str:
    return next((str(k.title) for k, _off in kinds if k.name == name), name)


@bp.post("/accueil/organiser")
@login_required
def save_arrangement() -> Response | tuple[str, int]:
    """Keep the person's arrangement (CSRF checked before this view). The form of
    :func:`arrange` sends ``order`` (every block, in order), ``shown`` (the ticked
    boxes) and ``move`` (a « Monter » / « Descendre » button) or ``reset``; a block of
    ``/`` sends ``hide`` or ``show`` alone. A name that is no block is 400 with the
    reason, and nothing is kept."""
    principal, ctx = signed_in(), current_context()
    form = request.form
    try:
        with web_context().db.transaction() as s:
            kinds = arrangement(s, principal, ctx)
            order = [k.name for k, _off in kinds]
            hidden = {k.name for k, off in kinds if off}
            done = _("Votre page d'accueil est organisée.")
            back = url_for("pages.index")
            if "reset" in form:
                order, hidden = [], set()
                done = _("Votre page d'accueil a repris sa présentation d'origine.")
            elif "hide" in form or "show" in form:
                name = form.get("hide") or form.get("show") or ""
                if name not in BLOCK_NAMES:
                    raise acl.PreferenceError("home_layout", _(
                        "« %(name)s » n'est pas un bloc de la page d'accueil.",
                        name=name[:40]))
                if "hide" in form:
                    hidden.add(name)
                    done = _("Bloc « %(title)s » masqué : « Organiser ma page d'accueil » "
                             "permet de l'afficher de nouveau.", title=_title(kinds, name))
                else:
                    hidden.discard(name)
                    done = _("Bloc « %(title)s » affiché.", title=_title(kinds, name))
            else:
                order = form.getlist("order")
                shown = form.getlist("shown")
                unknown = [n for n in (*order, *shown) if n not in BLOCK_NAMES]
                if unknown:
                    raise acl.PreferenceError("home_layout", _(
                        "« %(name)s » n'est pas un bloc de la page d'accueil.",
                        name=unknown[0][:40]))
                hidden = set(order) - set(shown)
                if "move" in form:
                    try:
                        order = _moved(order, form.get("move", ""))
                    except ValueError:
                        raise acl.PreferenceError("home_layout", _(
                            "Ce déplacement ne désigne aucun bloc de la liste.")) from None
                    # No #fragment: a page opened at one ignores autofocus (HTML).
                    way, _sep, name = form.get("move", "").partition(":")
                    back = url_for("pages.arrange", bloc=name, sens=way)
                    done = ""
            if "reset" not in form:
                order, hidden = with_blocks_not_offered(s, principal, kinds, order, hidden)
            acl.save_home_layout(s, principal.id, order, hidden, BLOCK_NAMES)
    except acl.PreferenceError as refused:
        return _arrange_page(str(refused), 400)
    if done:
        flash(done, "notice")
    return redirect(back, code=303)


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
