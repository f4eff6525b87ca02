"""A rubric's home page and its encadré (issue 20, "Rubric management": the guide's
Généralités, Encadré and Services tabs), kept in :class:`~acl.rubric_models.RubricPage`.

Every function takes the caller's session and leaves committing to it. The box's
HTML is stored as given: the web layer cleans it with nh3 before (and again when
showing it). Errors are ``davserver.errors`` domain errors naming what was wrong:
``NotFound`` for an unknown rubric, ``BadRequest`` for an empty name, an image that
is too large or of a type browsers could run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from davserver import clock, journal
from davserver.errors import BadRequest

from .rubric_models import RubricPage
from .rubrics import RubricInfo, _rubric, configure

MAX_IMAGE = 2 * 1024 * 1024
"""Bytes an encadré's image may take (a header picture, not a photo album)."""

MAX_NAME = 200  # Rubric.name
MAX_ALT = 300  # RubricPage.image_alt

# Raster types only, told by their first bytes (the name and the browser's type are
# the client's word): SVG runs script and is refused.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True)
class HomePage:
    """What a rubric's home page shows besides its services and contributions.
    ``image_version`` is 0 when the box has no image."""

    rubric_id: int
    home_page: bool
    box_html: str
    image_type: str | None
    image_alt: str
    image_version: int

    @property
    def has_image(self) -> bool:
        return self.image_type is not None


def image_type_of(data: bytes) -> str | None:
    """The raster type of ``data`` from its signature (PNG, JPEG, GIF, WebP), or None
    for anything else (SVG, HTML, an empty file)."""
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def home_page_of(session: Session, rubric_id: int) -> HomePage:
    """The rubric's page settings; a rubric never configured has none shown and an
    empty box."""
    row = session.get(RubricPage, rubric_id)
    if row is None:
        return HomePage(rubric_id, False, "", None, "", 0)
    return HomePage(rubric_id, row.home_page, row.box_html or "", row.image_type,
                    row.image_alt or "", row.image_version if row.image_type else 0)


def _page_row(session: Session, rubric_id: int) -> RubricPage:
    row = session.get(RubricPage, rubric_id)
    if row is None:
        row = RubricPage(rubric_id=rubric_id, home_page=False, box_html="", image_alt="",
                         image_version=0)
        session.add(row)
    row.updated = clock.now()
    return row


def set_general(session: Session, slug: str, *, name: str, home_page: bool,
                inherit_grants: bool | None = None) -> RubricInfo:
    """The Généralités tab: the rubric's name (trimmed, 1 to :data:`MAX_NAME`
    characters), whether its home page is shown to its readers, and (for a
    sub-rubric; None leaves it) whether it inherits its parent's grants."""
    name = " ".join(name.split())
    if not name:
        raise BadRequest("a rubric needs a name")
    if len(name) > MAX_NAME:
        raise BadRequest(f"a rubric's name has at most {MAX_NAME} characters")
    row = _rubric(session, slug)
    row.name = name
    _page_row(session, row.id).home_page = home_page
    return configure(session, slug, inherit_grants=inherit_grants)


def set_services(session: Session, slug: str, services: Sequence[str]) -> RubricInfo:
    """The Services tab: which services are on, in the order the home page shows
    them (``BadRequest`` for an unknown one; duplicates are kept once)."""
    return configure(session, slug, services=list(dict.fromkeys(services)))


def set_box(session: Session, slug: str, *, box_html: str, image: bytes | None = None,
            image_alt: str | None = None, drop_image: bool = False) -> HomePage:
    """The Encadré tab: the box's cleaned HTML, and its image: ``image`` replaces it
    (PNG, JPEG, GIF or WebP, at most :data:`MAX_IMAGE` bytes), ``drop_image``
    removes it, neither keeps it. ``image_alt`` (None leaves it) is its text
    alternative; empty marks it decorative. Journaled (``rubric_box_changed``: who,
    which rubric, when, and which parts changed, not the text)."""
    rubric = _rubric(session, slug)
    row = _page_row(session, rubric.id)
    had_image, old_html, old_alt = row.image_type is not None, row.box_html or "", \
        row.image_alt or ""
    if image is not None:
        if len(image) > MAX_IMAGE:
            raise BadRequest(f"the image takes {len(image)} bytes: at most {MAX_IMAGE}")
        kind = image_type_of(image)
        if kind is None:
            raise BadRequest("the image must be a PNG, JPEG, GIF or WebP picture")
        row.image, row.image_type = image, kind
        row.image_version = (row.image_version or 0) + 1
    elif drop_image:
        row.image = row.image_type = None
    if image_alt is not None:
        alt = " ".join(image_alt.split())
        if len(alt) > MAX_ALT:
            raise BadRequest(f"the image's description has at most {MAX_ALT} characters")
        row.image_alt = alt
    row.box_html = box_html
    session.flush()
    image_change = ("replaced" if had_image else "added") if image is not None else \
        ("removed" if drop_image and had_image else "kept")
    # What changed, not the text itself: the journal keeps who and when (the box is
    # on the page for what), without copying the school's content into it.
    journal.record(session, journal.Kind.rubric_box_changed, place=f"/rubriques/{slug}",
                   school_id=rubric.school_id,
                   details={"text": "changed" if box_html != old_html else "kept",
                            "text_bytes": len(box_html.encode()), "image": image_change,
                            "image_alt": "changed" if row.image_alt != old_alt else "kept"})
    return home_page_of(session, row.rubric_id)


def box_image(session: Session, rubric_id: int) -> tuple[bytes, str, int] | None:
    """The encadré's image: its bytes, type and version; None when there is none."""
    found = session.execute(select(RubricPage.image, RubricPage.image_type,
                                   RubricPage.image_version)
                            .where(RubricPage.rubric_id == rubric_id)).first()
    if found is None or found.image is None or found.image_type is None:
        return None
    return bytes(found.image), found.image_type, found.image_version


def home_pages_on(session: Session, rubric_ids: Sequence[int]) -> set[int]:
    """Which of these rubrics show their home page to their readers (one query)."""
    if not rubric_ids:
        return set()
    return set(session.scalars(select(RubricPage.rubric_id).where(
        RubricPage.rubric_id.in_(list(rubric_ids)), RubricPage.home_page.is_(True))))
