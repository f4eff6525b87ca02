"""The bytes of online submission (issue 7): a student's files and a teacher's
corrections, each a blob of the node store charged to a porte-documents.

The caller streams the body into a finished blob with its quota reserved first
(:func:`web.documents.stream_to_blob`); :func:`hand_in` and
:func:`return_correction` then check the rules of :mod:`.services` again and, in one
transaction, record the blob with its charge (``Store.hold_blob``), insert the file
row and notify. On any refusal the blob is deleted and the reservation released:
nothing stored. This module registers the hand-in tables as a holder of blobs, so
``davserver fsck`` counts them (:mod:`providers.holders`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask_babel import gettext as _
from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

import acl
from davserver import clock
from davserver.errors import BadRequest, Conflict, NotFound
from providers import BlobInfo, Store, name_key, register_blob_holder, sniff

from .models import Handin, HandinCorrection, HandinFile
from .services import (
    CLOSED,
    handin_homework,
    handin_of,
    is_closed,
    lateness,
    require_service_teacher,
    student_homework,
    targeted_students,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Upload:
    """A finished blob not recorded yet: ``name`` (checked), the ``space_id`` charged
    and the bytes ``reserved`` there for it."""

    name: str
    blob: BlobInfo
    space_id: int
    reserved: int


def check_separators(name: str) -> str:
    """``BadRequest`` for a name holding a path separator (``\\`` as well: a file
    name from Windows must not become a folder in the teacher's zip)."""
    if "\\" in name or "/" in name:
        raise BadRequest(_("Un nom de fichier ne peut pas contenir « / » ni « \\ » : "
                           "« %(name)s ».", name=name))
    return name


def record_upload(store: Store, upload: Upload, write: Callable[[Session, int], T]) -> T:
    """Run ``write(session, blob_id)`` in the transaction that records the blob and
    settles its charge (``Store.hold_blob``); on any failure, nothing stays (blob
    file, reservation). Shared by hand-ins, corrections and attachments."""
    try:
        with store.db.transaction() as s:
            blob_id = store.hold_blob(s, upload.space_id, upload.blob, upload.reserved)
            return write(s, blob_id)
    except BaseException:
        store.discard_blob(upload.blob, upload.space_id, upload.reserved)
        raise


def _taken(s: Session, handin_id: int, name: str) -> bool:
    """Whether the hand-in has a file of that name, in either spelling (NFC or NFD:
    one name, issue 17)."""
    key = name_key(name)
    return any(name_key(other) == key for other in s.scalars(
        select(HandinFile.name).where(HandinFile.handin_id == handin_id)))


def hand_in(store: Store, principal: acl.Principal, activity_id: int,
            upload: Upload) -> HandinFile:
    """Add one file to ``principal``'s hand-in of the homework and notify the
    service's teachers (:attr:`NotificationKind.hand_in`). Raises what
    :func:`.services.student_homework` and :func:`.services.lateness` raise, and
    ``Conflict`` (409) for a name already handed in; then nothing is stored."""

    def write(s: Session, blob_id: int) -> HandinFile:
        hw = student_homework(s, principal, activity_id)
        now = clock.now()
        late = lateness(s, hw, now)
        row = handin_of(s, activity_id, principal.id)
        if row is None:
            row = Handin(activity_id=activity_id, student_id=principal.id, submitted=now)
            s.add(row)
            s.flush()
        elif _taken(s, row.id, upload.name):
            raise Conflict(_("Vous avez déjà remis un fichier nommé « %(name)s » : "
                             "supprimez-le d'abord.", name=upload.name))
        row.updated, row.late = now, late
        added = HandinFile(handin_id=row.id, name=upload.name, size=upload.blob.size,
                           content_type=sniff(upload.blob.head, upload.name),
                           blob_id=blob_id, space_id=upload.space_id, uploaded=now)
        s.add(added)
        s.flush()
        from web.notifications import NotificationKind, notify_many  # builds on the textbook

        who = principal.display_name or principal.login
        notify_many(s, hw.teacher_ids, NotificationKind.hand_in,
                    _("Travail remis : « %(title)s » par %(who)s",
                      title=hw.activity.title, who=who),
                    body=(_("Remis en retard.") if late else _("Remis à l'heure.")),
                    link=f"/textbook/activites/{activity_id}/remises")
        return added

    return record_upload(store, upload, write)


def delete_handin_file(store: Store, principal: acl.Principal, file_id: int) -> int:
    """The student takes back one of their files, while the hand-in is open and
    before the due lesson begins; its bytes are freed. Returns the homework's id.
    Raises ``NotFound`` (not theirs) and ``Conflict`` (closed, or due time past)."""
    with store.db.transaction() as s:
        found = s.get(HandinFile, file_id)
        row = s.get(Handin, found.handin_id) if found else None
        if found is None or row is None or row.student_id != principal.id:
            raise NotFound(_("Ce fichier n'existe pas."))
        hw = handin_homework(s, row.activity_id)
        if is_closed(s, hw.activity.id):
            raise Conflict(str(CLOSED))
        if hw.due is not None and clock.now() >= hw.due:
            raise Conflict(_("La séance d'échéance a commencé : votre remise ne peut plus "
                             "être modifiée."))
        space_id, blob_id, size = found.space_id, found.blob_id, found.size
        s.delete(found)
        s.flush()  # the row goes before the blob row it references
        keys = store.free_blob(s, space_id, blob_id, size)
        if not s.scalar(select(func.count()).where(HandinFile.handin_id == row.id)):
            s.delete(row)
        activity_id = hw.activity.id
    store.delete_blob_files(keys)
    return activity_id


def return_correction(store: Store, teacher: acl.Principal, activity_id: int,
                      student_id: int, upload: Upload) -> HandinCorrection:
    """A teacher of the service returns a corrected file to one targeted student, who
    is notified (:attr:`NotificationKind.correction_returned`). Raises ``Forbidden``
    (not a teacher of the service) and ``NotFound`` (a student not asked)."""

    def write(s: Session, blob_id: int) -> HandinCorrection:
        hw = handin_homework(s, activity_id)
        require_service_teacher(s, teacher.id, hw)
        if student_id not in {p.id for p in targeted_students(s, hw)}:
            raise NotFound(_("Cet élève n'a pas ce travail à faire."))
        added = HandinCorrection(
            activity_id=activity_id, student_id=student_id, name=upload.name,
            size=upload.blob.size, content_type=sniff(upload.blob.head, upload.name),
            blob_id=blob_id, space_id=upload.space_id, returned_by=teacher.id)
        s.add(added)
        s.flush()
        from web.notifications import NotificationKind, notify  # builds on the textbook

        notify(s, student_id, NotificationKind.correction_returned,
               _("Correction rendue : « %(title)s »", title=hw.activity.title),
               body=upload.name, link=f"/textbook/seances/{hw.lesson.id}")
        return added

    return record_upload(store, upload, write)


# --- what fsck must know (providers.holders) -------------------------------------

_HELD = union_all(
    select(HandinFile.blob_id.label("blob_id"), HandinFile.space_id.label("space_id"),
           HandinFile.size.label("size")),
    select(HandinCorrection.blob_id, HandinCorrection.space_id, HandinCorrection.size),
).subquery()


def _referenced(s: Session) -> set[int]:
    return set(s.scalars(select(_HELD.c.blob_id)))


def _usage(s: Session) -> dict[int, int]:
    rows = s.execute(select(_HELD.c.space_id, func.sum(_HELD.c.size))
                     .group_by(_HELD.c.space_id))
    return {int(space): int(total) for space, total in rows}


def _holds(s: Session, ids: set[int]) -> set[int]:
    return set(s.scalars(select(_HELD.c.blob_id).where(_HELD.c.blob_id.in_(ids))))


register_blob_holder("textbook.handins", _referenced, _usage, _holds,
                     columns=(HandinFile.blob_id, HandinCorrection.blob_id))
