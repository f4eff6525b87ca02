"""Times shown to people are in their school's time zone (issue 20: « les dates et
heures sont à l'heure de l'établissement partout, notifications comprises »).

The database keeps UTC (:class:`web.columns.UTCDateTime`); a school's zone is its
school year's (``SchoolYear.time_zone``, read by :func:`web.textbook.school_zone`).
Shared modules may not import a feature, so the app assembly hands that function in
once (:func:`use_school_zone`); until then, and for a school without a year,
Europe/Paris. Pages format with the ``school_time`` template filter (the signed-in
user's chosen school, else their home school, looked up once per request); code that
writes a sentence for someone else (a notification) names that person's school with
:func:`user_zone`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, g, has_request_context
from sqlalchemy.orm import Session

import acl

from .auth import chosen_school, current_principal, web_context

DEFAULT_ZONE = ZoneInfo("Europe/Paris")
FORMAT = "%d/%m/%Y %H:%M"

SchoolZone = Callable[[Session, int | None], ZoneInfo]
_school_zone: SchoolZone | None = None


def use_school_zone(app: Flask, school_zone: SchoolZone) -> None:
    """Install ``school_zone(session, school_id)`` (the textbook's) as the way to find
    a school's zone, and the ``school_time`` template filter on ``app``."""
    global _school_zone
    _school_zone = school_zone
    app.add_template_filter(school_time, "school_time")


def zone_of_school(session: Session, school_id: int | None) -> ZoneInfo:
    """The zone of the school ``school_id`` (None: the default)."""
    if _school_zone is None or school_id is None:
        return DEFAULT_ZONE
    return _school_zone(session, school_id)


def user_zone(session: Session, user_id: int) -> ZoneInfo:
    """The zone of the home school of ``user_id`` (:func:`acl.school_of_user`)."""
    return zone_of_school(session, acl.school_of_user(session, user_id))


def viewer_zone() -> ZoneInfo:
    """The zone of the signed-in user's chosen school, else of their home school;
    the default for an anonymous visitor or outside a request. One lookup per
    request."""
    if not has_request_context():
        return DEFAULT_ZONE
    found: ZoneInfo | None = g.get("ent_viewer_zone")
    if found is None:
        principal = current_principal()
        if principal is None:
            found = DEFAULT_ZONE
        else:
            with web_context().db.transaction(write=False) as s:
                school = chosen_school() or acl.school_of_user(s, principal.id)
                found = zone_of_school(s, school)
        g.ent_viewer_zone = found
    return found


def school_time(moment: datetime | None, fmt: str = FORMAT) -> str:
    """``moment`` (aware, UTC from the database; naive read as UTC) on the wall clock
    of :func:`viewer_zone`, as ``06/12/2026 09:30`` (``fmt``); "" for None."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(viewer_zone()).strftime(fmt)
