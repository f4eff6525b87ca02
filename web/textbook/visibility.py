"""When students and parents see an activity (issue 5, "Who sees what"; settings in
``config.yaml``, ``textbook:``, :class:`davserver.config.TextbookConfig`).

* Homework shows from its ``visible_from`` time: when it was given, or, when given
  during quiet hours (default 20:00–07:00 and weekends), at the end of the quiet
  period, so students do not find new work late at night.
* Content shows once its lesson ends (or starts, ``content_visible: start``), unless
  the teacher published it earlier (``visible_from`` set).

Teachers of the service always see everything. Times are UTC; quiet hours are
wall-clock in the school's zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_

from davserver.config import TextbookConfig

from .models import Activity, ActivityKind, Lesson


def _quiet(local: datetime, settings: TextbookConfig) -> bool:
    if settings.quiet_weekends and local.weekday() >= 5:
        return True
    t, start, end = local.time(), settings.quiet_start, settings.quiet_end
    return (start <= t or t < end) if start > end else (start <= t < end)


def release_time(given: datetime, settings: TextbookConfig, tz: ZoneInfo) -> datetime:
    """When homework given at ``given`` (aware) shows to students: ``given`` itself,
    or the end of the quiet period it falls in (UTC)."""
    if not settings.quiet_hours:
        return given
    local = given.astimezone(tz)
    if not _quiet(local, settings):
        return given
    # The first quiet_end after ``local`` that is not itself inside a quiet weekend.
    day = local.date() if local.time() < settings.quiet_end else local.date() + \
        timedelta(days=1)
    for _ in range(8):
        candidate = datetime.combine(day, settings.quiet_end, tz)
        if not _quiet(candidate, settings):
            return candidate.astimezone(given.tzinfo)
        day += timedelta(days=1)
    return given  # every hour is quiet: the settings make no sense; do not hide work


def homework_visible(now: datetime) -> ColumnElement[bool]:
    """SQL condition on homework: it shows to students at ``now`` (UTC)."""
    return or_(Activity.visible_from.is_(None), Activity.visible_from <= now)


def visible_condition(now: datetime, settings: TextbookConfig) -> ColumnElement[bool]:
    """SQL condition: the activity shows to students at ``now`` (UTC); the query must
    join the activity's own lesson as :class:`Lesson`."""
    boundary = Lesson.end if settings.content_visible == "end" else Lesson.start
    return or_(
        and_(Activity.visible_from.is_not(None), Activity.visible_from <= now),
        and_(Activity.visible_from.is_(None), Activity.kind == ActivityKind.content,
             boundary <= now),
        and_(Activity.visible_from.is_(None), Activity.kind == ActivityKind.homework))


def is_visible(activity: Activity, lesson: Lesson, now: datetime,
               settings: TextbookConfig) -> bool:
    """Python twin of :func:`visible_condition` for one activity of ``lesson``."""
    if activity.visible_from is not None:
        return activity.visible_from <= now
    if activity.kind is ActivityKind.homework:
        return True
    boundary = lesson.end if settings.content_visible == "end" else lesson.start
    return boundary <= now



def shows_at(activity: Activity, lesson: Lesson, settings: TextbookConfig) -> datetime | None:
    """When ``activity`` of ``lesson`` shows to students (UTC): its ``visible_from``,
    else for content its lesson's end (or start); None for homework shown since it
    was given. The lesson page tells the teacher this time while it is to come
    (issue 20: « la page dit quand les élèves le verront »)."""
    if activity.visible_from is not None:
        return activity.visible_from
    if activity.kind is ActivityKind.homework:
        return None
    return lesson.end if settings.content_visible == "end" else lesson.start
