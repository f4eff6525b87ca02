"""How the file manager shows files: sizes in French binary units, times in the
school's time zone, type icons, sorting, breadcrumbs and the quota bar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

import acl
from providers import NodeInfo
from quotas import Usage

from ..auth import chosen_school, current_principal, web_context
from .places import Place, settings

# French school practice: "Ko, Mo, Go" are binary multiples (500 Mo = 500 MiB).
_UNITS = ("Ko", "Mo", "Go", "To")
SORT_KEYS = ("nom", "taille", "date")

# (start of a content type, type label, icon code): the icon is a short coloured
# label drawn by CSS (``.icon.k-<code>``), which needs no emoji font on the computer.
_KINDS: tuple[tuple[str, LazyString, str], ...] = (
    ("image/", _l("Image"), "img"),
    ("audio/", _l("Son"), "son"),
    ("video/", _l("Vidéo"), "vid"),
    ("application/pdf", _l("PDF"), "pdf"),
    ("text/", _l("Texte"), "txt"),
    ("application/vnd.oasis.opendocument.text", _l("Traitement de texte"), "doc"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml",
     _l("Traitement de texte"), "doc"),
    ("application/msword", _l("Traitement de texte"), "doc"),
    ("application/vnd.oasis.opendocument.spreadsheet", _l("Tableur"), "tab"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml", _l("Tableur"), "tab"),
    ("application/vnd.ms-excel", _l("Tableur"), "tab"),
    ("application/vnd.oasis.opendocument.presentation", _l("Présentation"), "pre"),
    ("application/vnd.openxmlformats-officedocument.presentationml", _l("Présentation"),
     "pre"),
    ("application/zip", _l("Archive"), "zip"),
    ("application/x-7z", _l("Archive"), "zip"),
    ("application/x-tar", _l("Archive"), "zip"),
)
ICON_TEXT = {"dos": "", "img": "IMG", "son": "SON", "vid": "VID", "pdf": "PDF", "txt": "TXT",
             "doc": "DOC", "tab": "TAB", "pre": "PRÉ", "zip": "ZIP", "fic": "FIC"}


def human_size(size: int) -> str:
    """``1536`` → ``1,5 Ko`` (binary units, decimal comma of the locale)."""
    if size < 1024:
        return ngettext("%(num)d octet", "%(num)d octets", size)
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{format_decimal(round(value, 1), format='#,##0.#')} {unit}"
    raise AssertionError("unreachable")


def school_zone() -> ZoneInfo:
    """The signed-in user's school's time zone (Europe/Paris without a school year)."""
    principal = current_principal()
    assert principal is not None
    with web_context().db.transaction(write=False) as s:
        return settings().school_zone(s, acl.user_context(s, principal.id,
                                                          chosen_school()).school_id)


def local_time(epoch: float, zone: ZoneInfo) -> str:
    """``29/11/2026 14:05`` in ``zone`` from UTC epoch seconds."""
    return f"{datetime.fromtimestamp(epoch, zone):%d/%m/%Y %H:%M}"


def kind_of(node: NodeInfo) -> tuple[str, str]:
    """(French type label, icon code) of a node."""
    if node.is_collection:
        return _("Dossier"), "dos"
    ctype = (node.content_type or "").lower()
    for prefix, label, icon in _KINDS:
        if ctype.startswith(prefix):
            return str(label), icon
    return _("Fichier"), "fic"


def place_url(place: Place) -> str:
    """The page of a folder (trailing slash) or the download of a file."""
    url = url_for("documents.place", where=place.where)
    return url + "/" if place.node.is_collection and not url.endswith("/") else url


@dataclass(frozen=True)
class Row:
    """One line of a folder's listing."""

    name: str
    url: str
    is_folder: bool
    size: int
    size_label: str
    modified: float
    modified_label: str
    kind: str
    icon: str
    pending: bool
    author: str | None
    locks: tuple[Any, ...] = ()  # the member's WebDAV locks (lock_view.LockBadge)
    versions_url: str | None = None  # its versions panel, for who may change it


def rows(folder: Place, members: list[Place], sort: str, descending: bool,
         logins: dict[int, str], locks: dict[str, list[Any]] | None = None) -> list[Row]:
    """The listing, folders first, then sorted by ``sort`` (``nom``, ``taille``,
    ``date``); ``locks`` are each member's locks, by name."""
    zone = school_zone()
    locks = locks or {}
    found = []
    for member in members:
        node = member.node
        kind, icon = kind_of(node)
        found.append(Row(node.name, place_url(member), node.is_collection, node.size,
                         "" if node.is_collection else human_size(node.size), node.modified,
                         local_time(node.modified, zone), kind, icon,
                         folder.space.kind == "rubric" and not node.published,
                         logins.get(node.author_id) if node.author_id is not None else None,
                         tuple(locks.get(node.name, ())),
                         None if node.is_collection or not member.allowed("write-content")
                         else place_url(member) + "?versions"))
    keys: dict[str, Any] = {"nom": lambda r: r.name.casefold(),
                            "taille": lambda r: (r.size, r.name.casefold()),
                            "date": lambda r: (r.modified, r.name.casefold())}
    found.sort(key=keys.get(sort, keys["nom"]), reverse=descending)
    found.sort(key=lambda r: not r.is_folder)  # stable: folders first, order kept
    return found


def breadcrumbs(place: Place) -> list[tuple[str, str]]:
    """(name, URL) from the space root down to ``place``."""
    return [(part.name, place_url(part)) for part in place.ancestors()]


@dataclass(frozen=True)
class QuotaBar:
    """A space's usage for the bar: bytes used by its live files and limit, the
    percentage, whether it reached the warning threshold and that threshold in
    bytes, and the bytes its trash holds (not in the usage: a delete frees space at
    once, and the trash gives its room back when a write needs it, issue 17)."""

    used: int
    limit: int
    percent: float
    warning: bool
    warn_at: int
    used_label: str
    limit_label: str
    percent_label: str
    trash: int = 0
    trash_label: str = ""


def quota_bar(figures: Usage | None) -> QuotaBar | None:
    """The bar of a space's figures (None: unknown)."""
    if figures is None:
        return None
    percent = 100.0 * figures.used / figures.limit if figures.limit else 100.0
    threshold = settings().quota_warning_percent
    return QuotaBar(figures.used, figures.limit, percent, percent >= threshold,
                    figures.limit * threshold // 100,
                    human_size(figures.used), human_size(figures.limit),
                    format_decimal(round(percent, 1), format="#,##0.#"),
                    figures.trash, human_size(figures.trash))
