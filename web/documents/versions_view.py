"""The "Versions" panel of a file in the file manager (issue 23).

``/documents/<file>?versions`` lists the file's earlier versions (date in the school's
zone, author by name, size), each with a download (``?version=<id>``) and
"Restaurer cette version" (``POST`` on the file, action ``restore_version``; the CSRF
token is checked first). Only who may change the file sees its versions
(``write-content``: the owner, a rubric's writer for their own files, its moderators
and managers); for anyone else the panel and its downloads are 404, as on the DAV
side (:mod:`providers.versions_dav`). A restore makes the current content a version
in its turn; one that does not fit in the quota is refused (507) and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import acl
from davserver.errors import NotFound
from providers import versions

from ..auth import web_context
from ..forms import parse_number
from .downloads import held_download
from .places import Place, refuse_if_locked, store
from .present import breadcrumbs, human_size, local_time, school_zone


@dataclass(frozen=True)
class VersionRow:
    """One version as the panel shows it."""

    id: int
    made: str
    author: str | None
    size_label: str
    download_url: str


def panel_url(place: Place) -> str:
    """The address of a file's versions panel."""
    return url_for("documents.place", where=place.where) + "?versions"


def may_see(place: Place) -> bool:
    """Whether the user sees this file's versions (may change its content)."""
    return not place.node.is_collection and place.allowed("write-content")


def _require(place: Place) -> None:
    if not may_see(place):
        raise NotFound("no versions to show")  # what one may not see does not exist


def page(place: Place, *, error: str | None = None, status: int = 200) -> tuple[str, int]:
    """The versions panel of the file ``place``."""
    _require(place)
    found = versions.versions_of(store(), place.node.id)
    ids = {v.made_by for v in found if v.made_by is not None}
    names: dict[int, str] = {}
    if ids:
        with web_context().db.transaction(write=False) as s:
            names = acl.names_of(s, ids)
    zone = school_zone()
    base = url_for("documents.place", where=place.where)
    listed = [VersionRow(v.id, local_time(v.made_at, zone),
                         names.get(v.made_by) if v.made_by is not None else None,
                         human_size(v.size), f"{base}?version={v.id}") for v in found]
    return render_template("documents/versions.html", place=place,
                           crumbs=breadcrumbs(place), versions=listed, error=error,
                           current_size=human_size(place.node.size),
                           current_made=local_time(place.node.modified, zone)), status


def _of(place: Place, version_id: str) -> versions.VersionInfo:
    """The version ``version_id`` of this file (404 for another file's or a purged one)."""
    _require(place)
    number = parse_number(version_id)
    found = versions.version(store(), number) if number is not None else None
    if found is None or found.node_id != place.node.id:
        raise NotFound(_("Cette version n'existe plus (elle a pu être purgée)."))
    return found


def download(place: Place, version_id: str) -> Response:
    """One version of the file, as an attachment under the usual protections."""
    found = _of(place, version_id)
    stem, dot, ext = place.node.name.rpartition(".")
    stamp = local_time(found.made_at, school_zone()).replace("/", "-").replace(":", "h")
    name = f"{stem} ({stamp}).{ext}" if stem and dot else f"{place.node.name} ({stamp})"
    return held_download(found.blob_key, name, found.content_type or "", found.size)


def restore(place: Place, version_id: str) -> str:
    """Restore a version of the file; returns the message to show. Raises ``Refusal``
    423 while a WebDAV lock protects the file, as every other write of the file
    manager does (:func:`.places.refuse_if_locked`)."""
    found = _of(place, version_id)
    refuse_if_locked(place)
    versions.restore(store(), found.id, made_by=place.standing.user_id)
    return _("Version du %(when)s restaurée ; le contenu remplacé est devenu une version.",
             when=local_time(found.made_at, school_zone()))
