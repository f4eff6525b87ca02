"""Deleting a lesson or an activity to the textbook's corbeille, and restoring it
(issue 5, "Lessons"; issue 20, "Undo instead of loss").

A deleted lesson keeps its row and activities; a :class:`TrashedLesson` row hides it
from every week, from the due-lesson choices and from the workload, until its
teacher restores it. A lesson covered by a visa cannot be deleted (issue 7:
``Conflict``, 409, naming the visa).

A deleted activity keeps its row, its attachments and their quota charge (as a file
in the files' trash still counts); a :class:`TrashedActivity` row hides it from every
view (:func:`.oversight.models.activity_not_trashed`) until its teacher restores it
to its place in its lesson (unless a visa signed since then covers the lesson: the
head signed the lesson without it; then into another lesson of its service), or
deletes it for good (:func:`purge_activity`, with
:func:`.attachments.services.purge_activity` freeing the attachments). There is no
automatic purge: like the lessons' corbeille, it keeps what it holds until a
teacher acts. Messages are French.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from davserver import clock
from davserver.errors import BadRequest, Conflict, NotFound

from .activities import (
    NEXT_LESSONS,
    default_due_lesson,
    editable_activity,
    get_lesson,
    require_teacher,
)
from .attachments.models import Attachment
from .calendar import school_zone, teacher_service_ids
from .handins.models import Handin, HandinClosure, HandinCorrection
from .models import Activity, ActivityKind, Lesson, LessonStatus, TeachingService
from .oversight.models import (
    TrashedActivity,
    TrashedLesson,
    Visa,
    activity_not_trashed,
    not_trashed,
)
from .oversight.visas import (
    covered_message,
    covering_visa,
    date_label,
    require_not_visaed,
    signer_names,
)

__all__ = ["TrashRow", "TrashedActivityRow", "delete_activity", "delete_lesson",
           "is_trashed", "not_trashed", "purge_activity", "restore_activity",
           "restore_choices", "restore_lesson", "signed_since_message",
           "trashed_activities", "trashed_activity", "trashed_lessons"]

NO_ACTIVITY = "Cette activité n'existe pas."


def is_trashed(session: Session, lesson_id: int) -> bool:
    return session.get(TrashedLesson, lesson_id) is not None


def delete_lesson(session: Session, user_id: int, lesson_id: int) -> Lesson:
    """Put the lesson in the corbeille. Raises ``NotFound``, ``Forbidden`` (not a
    teacher of its service), ``Conflict`` (covered by a visa, or already deleted)."""
    lesson = get_lesson(session, lesson_id)
    require_teacher(session, user_id, lesson)
    if is_trashed(session, lesson.id):
        raise Conflict("Cette séance est déjà dans la corbeille.")
    visa = covering_visa(session, lesson)
    if visa is not None:
        signer = signer_names(session, {visa.by_id}).get(visa.by_id, "")
        raise Conflict(covered_message(visa, signer))
    session.add(TrashedLesson(lesson_id=lesson.id, deleted_by=user_id))
    session.flush()
    return lesson


def restore_lesson(session: Session, user_id: int, lesson_id: int) -> Lesson:
    """Take the lesson out of the corbeille. Raises ``NotFound``, ``Forbidden``,
    ``Conflict`` (not in the corbeille)."""
    lesson = get_lesson(session, lesson_id)
    require_teacher(session, user_id, lesson)
    row = session.get(TrashedLesson, lesson.id)
    if row is None:
        raise Conflict("Cette séance n'est pas dans la corbeille.")
    session.delete(row)
    session.flush()
    return lesson


@dataclass(frozen=True)
class TrashRow:
    lesson: Lesson
    deleted: datetime


def trashed_lessons(session: Session, user_id: int) -> list[TrashRow]:
    """The deleted lessons of the services the teacher teaches, latest deleted first."""
    found = session.execute(
        select(Lesson, TrashedLesson.deleted).join(TrashedLesson)
        .where(Lesson.service_id.in_(teacher_service_ids(session, user_id)))
        .order_by(TrashedLesson.deleted.desc())).tuples().all()
    return [TrashRow(lesson, deleted) for lesson, deleted in found]


# --- activities ------------------------------------------------------------------

def delete_activity(session: Session, user_id: int, activity_id: int) -> int:
    """Put an activity (content or homework, with its attachments) in the corbeille;
    returns its lesson id. Raises ``NotFound`` (no such activity, or already in the
    corbeille), ``Forbidden`` (not a teacher of its service), and ``Conflict`` for a
    homework students handed work in for (issue 7: nothing of a student's is lost
    silently) and for an activity a visa covers
    (:func:`.oversight.visas.require_not_visaed`). Its attachments, and what they
    charge to the quota, stay as they are."""
    activity = editable_activity(session, user_id, activity_id)
    require_not_visaed(session, activity, "supprimée")
    if _handed_in(session, activity_id):
        raise Conflict("Des élèves ont remis leur travail pour ce devoir : il ne peut plus "
                       "être supprimé (vous pouvez le modifier, ou clore la remise).")
    session.add(TrashedActivity(activity_id=activity.id, deleted_by=user_id))
    session.flush()
    return activity.lesson_id


def _handed_in(session: Session, activity_id: int) -> bool:
    """Whether a student's work (a hand-in or its correction) hangs on the activity."""
    return bool(session.scalar(select(
        exists().where(Handin.activity_id == activity_id)
        | exists().where(HandinCorrection.activity_id == activity_id))))


def trashed_activity(session: Session, user_id: int, activity_id: int) -> Activity:
    """The activity in the corbeille, if ``user_id`` teaches its service. Raises
    ``NotFound`` (no such activity), ``Forbidden``, ``Conflict`` (not in the
    corbeille)."""
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound(NO_ACTIVITY)
    require_teacher(session, user_id, get_lesson(session, activity.lesson_id))
    if session.get(TrashedActivity, activity_id) is None:
        raise Conflict("Cette activité n'est pas dans la corbeille.")
    return activity


def restore_activity(session: Session, user_id: int, activity_id: int, *,
                     into: int | None = None) -> int:
    """Take an activity out of the corbeille; returns the lesson it is now in.

    Without ``into`` (or with its own lesson's id) it goes back to its lesson, at the
    place it had, or last when another activity took that place meanwhile; with
    ``into``, to the end of that lesson of the same service (:func:`restore_choices`
    lists them), a homework then due at the lesson after it. Its ``updated`` time
    becomes now, so a visa put before its deletion marks it as changed (issue 7).

    A visa signed after the deletion that covers its lesson refuses the return there
    (``Conflict`` naming the visa, :func:`signed_since_message`): the visa is the
    head's signature on what the lesson held, and the activity was not in it then;
    restoring it would change what was signed. Another lesson is refused alike when
    a visa covers it. Raises as :func:`trashed_activity`, and ``NotFound``,
    ``Forbidden``, ``BadRequest`` (a lesson of another service, cancelled or
    deleted), ``Conflict`` (a homework moved to its service's last lesson) for
    ``into``; nothing changed then."""
    activity = trashed_activity(session, user_id, activity_id)
    trashed = session.get_one(TrashedActivity, activity_id)
    lesson = get_lesson(session, activity.lesson_id)
    if into is None or into == lesson.id:
        visa = covering_visa(session, lesson)
        if visa is not None and visa.created > trashed.deleted:
            raise Conflict(signed_since_message(session, visa, lesson))
        target = lesson
    else:
        target = _other_lesson(session, user_id, lesson, into)
    due = None
    if target.id != lesson.id and activity.kind is ActivityKind.homework:
        due = default_due_lesson(session, target)
        if due is None:
            raise Conflict("Cette séance est la dernière de son service : le travail à "
                           "faire n'y aurait pas d'échéance. Choisissez-en une autre.")
    session.delete(trashed)
    if target.id != lesson.id:
        last = session.scalar(select(func.max(Activity.position))
                              .where(Activity.lesson_id == target.id))
        activity.lesson_id = target.id
        activity.position = 0 if last is None else last + 1
        if due is not None:
            activity.due_lesson_id = due.id
    elif session.scalar(select(exists().where(
            Activity.lesson_id == activity.lesson_id, Activity.position == activity.position,
            Activity.id != activity.id, activity_not_trashed()))):
        last = session.scalar(select(func.max(Activity.position))
                              .where(Activity.lesson_id == activity.lesson_id))
        activity.position = (last or 0) + 1
    activity.updated = clock.now()
    session.flush()
    return activity.lesson_id


def signed_since_message(session: Session, visa: Visa, lesson: Lesson) -> str:
    """Why an activity deleted before ``visa`` was signed cannot go back to
    ``lesson`` (French, shown as is): the visa's date, who signed it and when, on the
    school's wall clock."""
    signer = signer_names(session, {visa.by_id}).get(visa.by_id, "")
    zone = school_zone(session, session.get_one(TeachingService, lesson.service_id).school_id)
    signed = visa.created.astimezone(zone)
    return (f"Cette activité ne peut pas être restaurée dans sa séance : depuis sa "
            f"suppression, le cahier de textes a été visé jusqu'au {date_label(visa.until)} "
            f"par {signer}, le {signed:%d/%m/%Y à %H:%M}. Le visa signe ce que la séance "
            "contenait alors ; la restaurer changerait un document signé. Vous pouvez la "
            "restaurer dans une autre séance du service.")


def _other_lesson(session: Session, user_id: int, lesson: Lesson, lesson_id: int) -> Lesson:
    """The lesson ``lesson_id`` as a place to restore an activity of ``lesson`` into.
    Raises ``NotFound``, ``Forbidden``, ``BadRequest`` (another service, cancelled,
    in the corbeille) and ``Conflict`` (a visa covers it)."""
    target = get_lesson(session, lesson_id)
    require_teacher(session, user_id, target)
    if target.service_id != lesson.service_id:
        raise BadRequest("Choisissez une séance du même service que celle de l'activité.")
    if target.status is LessonStatus.cancelled or is_trashed(session, target.id):
        raise BadRequest("Cette séance est annulée ou supprimée : choisissez-en une autre.")
    visa = covering_visa(session, target)
    if visa is not None:
        raise Conflict(f"Cette séance est couverte par le visa du {date_label(visa.until)} : "
                       "choisissez une séance que le visa ne couvre pas.")
    return target


def restore_choices(session: Session, activity: Activity,
                    limit: int = NEXT_LESSONS) -> list[Lesson]:
    """The lessons of the activity's service that it may be restored into when its
    own is refused: scheduled, not deleted, not its own, and after every day the
    visas of the service's teachers cover (a visa covers the lessons up to its date,
    in the school's zone), soonest first, at most ``limit``. Three queries."""
    lesson = get_lesson(session, activity.lesson_id)
    service = session.get_one(TeachingService, lesson.service_id)
    covered = session.scalar(select(func.max(Visa.until)).where(
        Visa.teacher_id.in_([t.id for t in service.teachers]),
        Visa.school_id == service.school_id))
    query = select(Lesson).where(Lesson.service_id == service.id, Lesson.id != lesson.id,
                                 Lesson.status == LessonStatus.scheduled, not_trashed())
    if covered is not None:
        zone = school_zone(session, service.school_id)
        after = datetime.combine(covered + timedelta(days=1), time(), zone)
        query = query.where(Lesson.start >= after)
    return list(session.scalars(query.order_by(Lesson.start).limit(limit)))


def purge_activity(session: Session, user_id: int, activity_id: int) -> int:
    """Delete an activity of the corbeille for good; returns its lesson id. Its
    attachments must be gone first (:func:`.attachments.services.purge_activity`
    frees their charges and calls this). Its hand-in's closure goes with it. Raises
    as :func:`trashed_activity`, and ``Conflict`` while it has attachments, or a
    student's work (handed in between the deletion's check and its commit: restore it
    to see the work)."""
    activity = trashed_activity(session, user_id, activity_id)
    if session.scalar(select(exists().where(Attachment.activity_id == activity_id))):
        # Their charges and blobs would be lost to the database cascade.
        raise Conflict("Cette activité a des pièces jointes : supprimez-la avec "
                       "attachments.purge_activity, qui les libère.")
    if _handed_in(session, activity_id):
        raise Conflict("Des élèves ont remis leur travail pour ce devoir : restaurez-le "
                       "pour le voir ; il ne peut pas être supprimé définitivement.")
    session.execute(delete(HandinClosure).where(HandinClosure.activity_id == activity_id))
    lesson_id = activity.lesson_id
    session.delete(activity)
    session.flush()
    return lesson_id


@dataclass(frozen=True)
class TrashedActivityRow:
    """An activity of the corbeille, its lesson, when it was deleted (UTC) and how
    many attachments it keeps."""

    activity: Activity
    lesson: Lesson
    deleted: datetime
    attachments: int


def trashed_activities(session: Session, user_id: int) -> list[TrashedActivityRow]:
    """The deleted activities of the services the teacher teaches, latest deleted
    first (two queries)."""
    found = session.execute(
        select(Activity, Lesson, TrashedActivity.deleted)
        .join(TrashedActivity, TrashedActivity.activity_id == Activity.id)
        .join(Lesson, Lesson.id == Activity.lesson_id)
        .where(Lesson.service_id.in_(teacher_service_ids(session, user_id)))
        .order_by(TrashedActivity.deleted.desc(), Activity.id.desc())).tuples().all()
    counts = dict(session.execute(
        select(Attachment.activity_id, func.count())
        .where(Attachment.activity_id.in_([a.id for a, _, _ in found]))
        .group_by(Attachment.activity_id)).tuples().all()) if found else {}
    return [TrashedActivityRow(activity, lesson, deleted, counts.get(activity.id, 0))
            for activity, lesson, deleted in found]
