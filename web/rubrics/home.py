"""A rubric's home page (issue 20, "A rubric's home page"): ``/rubriques/<slug>/``
shows its encadré (rich text and image), its services in the order its managers
chose, and its latest contributions; ``/rubriques/<slug>/image`` is the encadré's
image.

Who sees it: whoever may read the rubric (``acl``: a role on it or on one of its
folders), when its managers switched the home page on; its managers always (a
notice says when readers do not see it). Anyone else gets 404, as on every rubric
page (its existence is hidden, STYLE.md habit 12).

The latest contributions are the rubric's published files, newest first, that the
reader may read (a file below a folder they cannot read is left out; pending files
are none): a reader who holds roles on some folders only gets the newest files of
those folders, however busy the rest of the rubric
(``providers.latest_contributions`` looks below them in SQL, page by page, with a
bound). The image is served from our origin as a raster picture of the type its
bytes show (``acl.rubric_pages``), with ``nosniff``, ``Content-Disposition:
inline`` and a sandbox policy: nothing it holds can run here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

import acl
import providers
from web.auth import login_required, signed_in, web_context

from .forms import SERVICE_LABELS
from .pages import dav_url

bp = Blueprint("rubric_home", __name__, url_prefix="/rubriques/<slug>")

LATEST = 10  # contributions the page lists
IMAGE_POLICY = "sandbox; default-src 'none'"


@dataclass(frozen=True)
class Shown:
    """What the signed-in user may see of one rubric's home page."""

    rubric: acl.RubricInfo
    page: acl.HomePage
    standing: acl.Standing
    manages: bool


def _shown(s: Session, slug: str) -> Shown:
    """The rubric's page if the signed-in user may see it; 404 otherwise."""
    rubric = acl.find_rubric(s, slug)
    if rubric is None:
        abort(404)
    standing = acl.standing_in_rubric(s, acl.user_context(s, signed_in().id), rubric.id)
    if not standing.sees_space:
        abort(404)
    page = acl.home_page_of(s, rubric.id)
    manages = acl.allowed(standing, "manage")
    if not page.home_page and not manages:
        abort(404)
    return Shown(rubric, page, standing, manages)


def _contributions(s: Session, shown: Shown) -> list[dict[str, object]]:
    """The latest published files the user may read, with their author's name."""
    if not shown.rubric.has_shared_folders:
        return []
    store = web_context().store
    space = store.ensure_space("rubric", rubric_id=shown.rubric.id)
    standing = shown.standing
    # A reader with no role on the whole rubric reads below their folders only: the
    # query looks there, not among the newest files of folders they cannot open.
    found = providers.latest_contributions(
        s, space.id, wanted=LATEST,
        readable=lambda c: acl.allowed(standing, "read", c.chain),
        folders=None if standing.role is not None else set(standing.folder_roles))
    names = acl.names_of(s, {c.author_id for c in found if c.author_id is not None})
    top = f"rubriques/{shown.rubric.slug}/"
    # url_for quotes each segment: a name with « # », « ? » or « % » stays a name.
    return [{"name": c.name, "size": c.size,
             "url": url_for("documents.place", where=top + c.written_path.strip("/")),
             "folder": c.written_path.rsplit("/", 1)[0] or "/",
             "author": names.get(c.author_id) if c.author_id is not None else None,
             "modified": datetime.fromtimestamp(c.modified, UTC)} for c in found]


@bp.get("/")
@login_required
def home(slug: str) -> str:
    """The rubric's home page: encadré, services, latest contributions."""
    with web_context().db.transaction(write=False) as s:
        shown = _shown(s, slug)
        latest = _contributions(s, shown)
        parent = acl.rubric_by_id(s, shown.rubric.parent_id) if shown.rubric.parent_id \
            else None
        # A sub-rubric that does not inherit its parent's grants may be read by people
        # who cannot see the parent: its name is not theirs to learn (as /rubriques/).
        if parent is not None and not acl.standing_in_rubric(
                s, acl.user_context(s, signed_in().id), parent.id).sees_space:
            parent = None
    services = [{"name": name, "label": SERVICE_LABELS.get(name, name)}
                for name in shown.rubric.services]
    return render_template(
        "rubric_home.html", rubric=shown.rubric, page=shown.page, manages=shown.manages,
        parent=parent, services=services, latest=latest,
        files_url=url_for("documents.place", where=f"rubriques/{slug}") + "/",
        dav_url=dav_url(slug) if shown.rubric.has_shared_folders else None)


@bp.get("/image")
@login_required
def image(slug: str) -> Response:
    """The encadré's image, for whoever sees the home page; 404 when there is none.
    Revalidated on each use (``no-cache`` with an ETag of its version): a reader who
    lost the right does not keep seeing it from the cache of a shared computer."""
    with web_context().db.transaction(write=False) as s:
        shown = _shown(s, slug)
        found = acl.box_image(s, shown.rubric.id)
    if found is None:
        abort(404)
    data, kind, version = found
    answer = Response(data, mimetype=kind)
    answer.set_etag(f"{shown.rubric.id}-{version}")
    answer.headers["Cache-Control"] = "private, no-cache"
    answer.headers["Content-Disposition"] = "inline"
    answer.headers["Content-Security-Policy"] = IMAGE_POLICY
    answer.headers["X-Content-Type-Options"] = "nosniff"
    return answer.make_conditional(request)
