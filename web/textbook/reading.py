"""Who reads which textbook (issue 5, "Who sees what"), shared by the pages and the
JSON API so they can never disagree:

* a teacher reads the lessons of the services they teach; another teacher's lesson is
  ``Forbidden`` (its existence is no secret among staff);
* a student reads the lessons of their classes and groups, cancelled ones hidden,
  homework aimed at others left out; any other lesson is ``NotFound`` (STYLE.md habit
  12);
* a parent reads what each of their children reads (``acl.children_of``);
* other profiles have no textbook here (``Forbidden``).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import acl
from davserver import clock
from davserver.config import TextbookConfig
from davserver.errors import BadRequest, Forbidden, NotFound
from web.dates import supported

from .activities import is_teacher, lesson_activities
from .calendar import (
    DayPlan,
    monday_of,
    school_zone,
    student_service_ids,
    teacher_service_ids,
    week_plan,
)
from .models import Activity, ActivityKind, Lesson, LessonStatus, TeachingService
from .oversight.models import TrashedLesson, activity_not_trashed
from .visibility import is_visible

NOT_YOURS = _l("Cette séance appartient à un service que vous n'enseignez pas.")
NO_TEXTBOOK = _l("Le cahier de textes est réservé aux enseignants, aux élèves et à "
                 "leurs parents.")

# (the child's login for a parent, else None; that reader's days)
Weeks = list[tuple[str | None, list[DayPlan]]]


def week_school(s: Session, service_ids: list[int]) -> int | None:
    """The school a week of ``service_ids`` is read in: that of the first of them (its
    zone gives the week's days, its calendar the week's holidays), None without
    services. No statement once the service is in the session."""
    return s.get_one(TeachingService, service_ids[0]).school_id if service_ids else None


def asked_monday(s: Session, service_ids: list[int],
                 asked: str | None) -> tuple[date, ZoneInfo]:
    """The Monday of the week holding the day ``asked`` (``YYYY-MM-DD``; today in the
    school's zone when empty) and that zone, the school being that of the first of
    ``service_ids`` (:func:`week_school`). ``BadRequest`` (French) for a malformed or
    out-of-range date."""
    tz = school_zone(s, week_school(s, service_ids))
    try:
        day = date.fromisoformat(asked) if asked else clock.today(tz)
    except ValueError:
        raise BadRequest(str(_l("Date de semaine invalide : %(value)s (attendu : "
                                "AAAA-MM-JJ).", value=asked))) from None
    return monday_of(supported(day, asked)), tz


def weeks_of(s: Session, principal: acl.Principal, asked: str | None,
             settings: TextbookConfig | None = None) -> \
        tuple[date, ZoneInfo, Weeks, int | None]:
    """The week holding the day ``asked`` (``AAAA-MM-JJ``; today in the school's zone
    when None) as ``principal`` reads it: the Monday, the zone, one week per reader
    (a teacher's services; a student; each child of a parent), and the id of the
    school the week is read in (:func:`week_school`: whose zone and whose holidays,
    not the school the user chose in the frame; None without services). ``BadRequest`` for a
    malformed date, ``Forbidden`` for a profile without a textbook. ``settings``: what
    does not show to students yet is left out of their weeks (:mod:`.visibility`)."""
    if principal.profile is acl.Profile.teacher:
        ids = teacher_service_ids(s, principal.id)
        monday, tz = asked_monday(s, ids, asked)
        return monday, tz, [(None, week_plan(s, ids, monday, tz))], week_school(s, ids)
    if principal.profile not in (acl.Profile.student, acl.Profile.parent):
        raise Forbidden(str(NO_TEXTBOOK))
    children = ([principal.id] if principal.profile is acl.Profile.student
                else acl.children_of(s, principal.id))
    all_ids = [student_service_ids(s, c) for c in children]
    every = [i for ids in all_ids for i in ids]
    monday, tz = asked_monday(s, every, asked)
    names = acl.logins_of(s, set(children))
    return monday, tz, [
        (names.get(c, "") if principal.profile is acl.Profile.parent else None,
         week_plan(s, ids, monday, tz, student_id=c, settings=settings))
        for c, ids in zip(children, all_ids, strict=True)], week_school(s, every)


def reader_of(s: Session, principal: acl.Principal, lesson: Lesson) -> int | None:
    """Whose view of ``lesson`` ``principal`` gets: None for a teacher of its service
    (everything, private notes included), else the student (themself, or one of a
    parent's children) whose view is shown. ``Forbidden`` for another teacher and
    profiles without a textbook, ``NotFound`` when no student of theirs has the lesson
    or it is cancelled."""
    if principal.profile is acl.Profile.teacher:
        if is_teacher(s, principal.id, lesson.service_id):
            return None
        raise Forbidden(str(NOT_YOURS))
    if principal.profile is acl.Profile.student:
        readers = [principal.id]
    elif principal.profile is acl.Profile.parent:
        readers = acl.children_of(s, principal.id)
    else:
        raise Forbidden(str(NO_TEXTBOOK))
    for reader in readers:
        if lesson.service_id in student_service_ids(s, reader) \
                and lesson.status is LessonStatus.scheduled:
            return reader
    raise NotFound(str(_l("Cette séance n'existe pas.")))


def readable_activities(s: Session, lesson: Lesson, reader: int | None,
                        settings: TextbookConfig | None = None) -> list[Activity]:
    """The lesson's activities as ``reader`` (from :func:`reader_of`) sees them: all of
    them for a teacher; for a student's view, content and the homework aimed at them,
    and, with ``settings``, only what shows already (:mod:`.visibility`)."""
    items = lesson_activities(s, lesson.id)
    if reader is None:
        return items
    now = clock.now()
    return [a for a in items if _sees(a, lesson, reader, now, settings)]


def homework_due_at(s: Session, lesson: Lesson, reader: int | None,
                    settings: TextbookConfig | None = None
                    ) -> list[tuple[Activity, Lesson]]:
    """The homework due at ``lesson`` with the lesson each was given in, earliest
    given first: all of them for ``reader`` None (its teachers, the head, an
    inspector), else those the student ``reader`` sees (targets, and with
    ``settings`` quiet hours, as :func:`readable_activities`); none from a lesson in
    the corbeille. Two queries whatever their number (the homework with their
    lessons, then their targets)."""
    query = (select(Activity, Lesson).join(Lesson, Lesson.id == Activity.lesson_id)
             .outerjoin(TrashedLesson, TrashedLesson.lesson_id == Lesson.id)
             .where(Activity.due_lesson_id == lesson.id,
                    Activity.kind == ActivityKind.homework,
                    TrashedLesson.lesson_id.is_(None), activity_not_trashed())
             .order_by(Lesson.start, Activity.id))
    if reader is not None:
        query = query.options(selectinload(Activity.targets))
    now = clock.now()
    return [(a, given) for a, given in s.execute(query).all()
            if reader is None or _sees(a, given, reader, now, settings)]


def _sees(activity: Activity, lesson: Lesson, reader: int, now: datetime,
          settings: TextbookConfig | None) -> bool:
    """Whether the student ``reader`` sees ``activity`` of ``lesson`` at ``now``."""
    return ((activity.kind is ActivityKind.content or not activity.targets
             or any(t.id == reader for t in activity.targets))
            and (settings is None or is_visible(activity, lesson, now, settings)))
