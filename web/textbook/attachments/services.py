"""Attachments of textbook activities (issue 5, "Teacher's textbook" and "Bad input").

Rules:

* only a teacher of the activity's service adds or removes attachments
  (:func:`..activities.editable_activity`: ``Forbidden``, 403);
* an upload is charged to the uploading teacher's porte-documents: the caller
  streams the body into a blob with its quota reserved first
  (:func:`web.documents.stream_to_blob`: 507 with the file's name and the free
  space, nothing saved), then :func:`attach_upload` records it in one transaction
  (``Store.hold_blob``);
* a file picked from the teacher's porte-documents shares the file's blob and is
  charged nowhere (the file's node counts its bytes: counted once). If the teacher
  later deletes the file, the attachment keeps the bytes (the store keeps blobs a
  registered holder points at) and they stop counting;
* a copy of the activity to another lesson shares the attachments, no new charge;
* an activity put in the corbeille (:func:`..trash.delete_activity`) keeps its
  attachments and their charges, as a file in the files' trash still counts; they
  come back with it. Removing an attachment, or deleting its activity for good from
  the corbeille (:func:`purge_activity`), frees its charge; if another attachment
  still shares the blob (a copy), that one takes the charge over, so the bytes
  keep counting once. The blob's file goes when nothing points at it any more (no
  node, no holder row);
* an attachment is read by exactly who reads its activity
  (:func:`readable_attachment`).

This module registers the attachments as a holder of blobs
(:mod:`providers.holders`), so ``davserver fsck`` counts them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import acl
from davserver import clock
from davserver.config import TextbookConfig
from davserver.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound
from providers import NodeInfo, Store, bare_type, register_blob_holder, sniff

from .. import activities, trash
from ..handins.files import Upload, record_upload
from ..models import Activity, Lesson, TeachingService
from ..oversight.models import TrashedLesson
from ..oversight.services import read_scope
from ..reading import readable_activities, reader_of
from .models import Attachment

NO_ATTACHMENT = _l("Cette pièce jointe n'existe pas.")
# What browsers show or play inline and cannot run: raster images, sounds, videos
# (the ``/media`` route of the pages, the porte-documents picker of the editor).
# SVG is an image that runs script: it stays a download.
MEDIA_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif",
    "audio/mpeg", "audio/ogg", "audio/wav", "audio/x-wav", "audio/vnd.wave", "audio/webm",
    "audio/mp4", "audio/x-m4a",
    "audio/aac", "audio/flac", "video/mp4", "video/webm", "video/ogg"})


def media_kind(content_type: str | None) -> str | None:
    """``image``, ``audio`` or ``video`` for a type of :data:`MEDIA_TYPES` (compared as
    :func:`providers.bare_type` makes it: parameters such as ``; charset``, blanks and
    case ignored, as the picker's page is counted in SQL), else None."""
    ctype = bare_type(content_type)
    return ctype.split("/")[0] if ctype in MEDIA_TYPES else None


def attachments_of(s: Session, activity_ids: Iterable[int]) -> dict[int, list[Attachment]]:
    """The attachments of each activity (one query), by name; activities without any
    are left out."""
    ids = set(activity_ids)
    found: dict[int, list[Attachment]] = defaultdict(list)
    if ids:
        for row in s.scalars(select(Attachment).where(Attachment.activity_id.in_(ids))
                             .order_by(Attachment.name, Attachment.id)):
            found[row.activity_id].append(row)
    return dict(found)


def _touch(activity: Activity) -> None:
    """An attachment added or removed changes the activity: after a visa, the page
    says so (issue 7, the textbook is an official record)."""
    activity.updated = clock.now()


def _check_free_name(s: Session, activity_id: int, name: str) -> None:
    taken = s.scalar(select(Attachment.id).where(Attachment.activity_id == activity_id,
                                                 Attachment.name == name))
    if taken is not None:
        raise Conflict(_("Cette activité a déjà une pièce jointe nommée « %(name)s » : "
                         "retirez-la d'abord.", name=name))


def attach_upload(store: Store, teacher_id: int, activity_id: int,
                  upload: Upload) -> Attachment:
    """Record an uploaded blob (:class:`..handins.files.Upload`, charged to
    ``upload.space_id``) as an attachment of the activity. Raises ``NotFound``,
    ``Forbidden`` (not a teacher of its service), ``Conflict`` (409: the name is
    taken), ``InsufficientStorage``; then the blob is deleted and the reservation
    given back: nothing saved."""

    def write(s: Session, blob_id: int) -> Attachment:
        _touch(activities.editable_activity(s, teacher_id, activity_id))
        _check_free_name(s, activity_id, upload.name)
        row = Attachment(activity_id=activity_id, name=upload.name, size=upload.blob.size,
                         content_type=sniff(upload.blob.head, upload.name), blob_id=blob_id,
                         space_id=upload.space_id, added_by=teacher_id)
        s.add(row)
        s.flush()
        return row

    return record_upload(store, upload, write)


def attach_picked(store: Store, teacher_id: int, activity_id: int,
                  node: NodeInfo) -> Attachment:
    """Attach a file of the teacher's porte-documents (``node``, resolved by the
    caller in that space) by sharing its blob: no bytes copied, no charge. The same
    file picked again (same name, same bytes) gives the attachment it already made.
    Raises
    ``NotFound``, ``Forbidden``, ``BadRequest`` (a folder, or an empty file: nothing
    to share), ``Conflict`` (the name is taken, or the file changed meanwhile)."""
    if node.is_collection:
        raise BadRequest(_("« %(name)s » est un dossier : choisissez un fichier.",
                           name=node.name))
    if node.blob_key is None:
        raise BadRequest(_("« %(name)s » est vide : rien à joindre.", name=node.name))
    changed = Conflict(_("« %(name)s » a été modifié ou supprimé entre-temps : "
                         "choisissez-le à nouveau.", name=node.name))
    try:
        with store.db.transaction() as s:
            _touch(activities.editable_activity(s, teacher_id, activity_id))
            blob_id = store.blob_id_of(s, node.blob_key)
            if blob_id is None:
                raise changed
            same = s.scalar(select(Attachment).where(Attachment.activity_id == activity_id,
                                                     Attachment.name == node.name,
                                                     Attachment.blob_id == blob_id))
            if same is not None:  # picked again (a second copy of an image in the text)
                return same
            _check_free_name(s, activity_id, node.name)
            row = Attachment(activity_id=activity_id, name=node.name, size=node.size,
                             content_type=node.content_type or "application/octet-stream",
                             blob_id=blob_id, space_id=None, added_by=teacher_id)
            s.add(row)
            s.flush()
            return row
    except IntegrityError:  # the blob row went between the lookup and the insert
        raise changed from None


def _forget(s: Session, store: Store, row: Attachment) -> list[str]:
    """Delete one attachment row in ``s``; its charge passes to another attachment
    sharing the blob without one, else is freed. Returns blob keys to remove after
    commit."""
    space_id, blob_id, size = row.space_id, row.blob_id, row.size
    s.delete(row)
    s.flush()  # the row goes before the blob row it references
    if space_id is not None:
        heir = s.scalar(select(Attachment).where(Attachment.blob_id == blob_id,
                                                 Attachment.space_id.is_(None))
                        .order_by(Attachment.id).limit(1))
        if heir is not None:
            heir.space_id = space_id
            return []
    return store.free_blob(s, space_id, blob_id, size)


def remove_attachment(store: Store, teacher_id: int, attachment_id: int) -> int:
    """A teacher of the service removes an attachment; what it charged is freed.
    Returns the activity's id. Raises ``NotFound`` and ``Forbidden``."""
    with store.db.transaction() as s:
        row = s.get(Attachment, attachment_id)
        if row is None:
            raise NotFound(str(NO_ATTACHMENT))
        _touch(activities.editable_activity(s, teacher_id, row.activity_id))
        activity_id = row.activity_id
        keys = _forget(s, store, row)
    store.delete_blob_files(keys)
    return activity_id


def purge_activity(store: Store, teacher_id: int, activity_id: int) -> int:
    """:func:`..trash.purge_activity` (delete an activity of the corbeille for good)
    with its attachments, whose charges are freed in the same transaction. Returns
    the lesson id; raises as that function."""
    keys: list[str] = []
    with store.db.transaction() as s:
        trash.trashed_activity(s, teacher_id, activity_id)
        for row in attachments_of(s, [activity_id]).get(activity_id, []):
            keys += _forget(s, store, row)
        lesson_id = trash.purge_activity(s, teacher_id, activity_id)
    store.delete_blob_files(keys)
    return lesson_id


def share_attachments(s: Session, teacher_id: int, source_id: int, target_id: int) -> int:
    """Give the activity ``target_id`` (a copy of ``source_id``) the same attachments,
    sharing their blobs, charged nowhere (issue 5: the blob is shared, counted once).
    Returns how many."""
    rows = attachments_of(s, [source_id]).get(source_id, [])
    copies = {}
    for row in rows:
        copies[row.id] = Attachment(activity_id=target_id, name=row.name, size=row.size,
                                    content_type=row.content_type, blob_id=row.blob_id,
                                    space_id=None, added_by=teacher_id)
        s.add(copies[row.id])
    s.flush()
    target = s.get_one(Activity, target_id)
    target.body = follow_copies(target.body, {old: new.id for old, new in copies.items()})
    return len(rows)


_ATTACHMENT_URL = re.compile(r"/textbook/pieces-jointes/(\d+)(?=[/\"'?#]|$)")


def follow_copies(body: str, moved: dict[int, int]) -> str:
    """``body`` with its links to attachments (the images, sounds and videos the editor
    embeds, ``/textbook/pieces-jointes/<id>/media``) pointing at their copies
    (``moved``: old id → new id): the copy's readers may not read the original's."""
    return _ATTACHMENT_URL.sub(
        lambda m: f"/textbook/pieces-jointes/{moved.get(int(m.group(1)), m.group(1))}",
        body)


def _supervises(s: Session, principal: acl.Principal, lesson: Lesson) -> bool:
    """Whether a head or an inspector reads the lesson's service now (issue 7)."""
    service = s.get_one(TeachingService, lesson.service_id)
    for teacher in service.teachers:
        try:
            if lesson.service_id in read_scope(s, principal.id, teacher.id).service_ids:
                return True
        except DomainError:
            continue
    return False


def readable_activity(s: Session, principal: acl.Principal, activity_id: int,
                      settings: TextbookConfig | None = None) -> Activity:
    """The activity if ``principal`` reads it (:mod:`..reading`, with the students'
    visibility ``settings``; the head and a current inspector, issue 7). Raises
    ``NotFound`` (no such activity, or a student or parent who does not see it: they
    may not know it exists) or ``Forbidden`` (another teacher, profiles without a
    textbook)."""
    activity = activities.get_activity(s, activity_id)
    lesson = s.get_one(Lesson, activity.lesson_id)
    try:
        reader = reader_of(s, principal, lesson)
    except Forbidden:
        if _supervises(s, principal, lesson):
            return activity
        raise
    if reader is not None and (
            s.get(TrashedLesson, lesson.id) is not None
            or activity not in readable_activities(s, lesson, reader, settings)):
        raise NotFound("Cette activité n'existe pas.")
    return activity


def readable_attachment(s: Session, principal: acl.Principal, attachment_id: int,
                        settings: TextbookConfig | None = None) -> Attachment:
    """The attachment if ``principal`` reads its activity (:func:`readable_activity`:
    an attachment is read by exactly who reads its activity). Raises ``NotFound``
    and ``Forbidden`` as that function."""
    row = s.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(str(NO_ATTACHMENT))
    try:
        readable_activity(s, principal, row.activity_id, settings)
    except NotFound:
        raise NotFound(str(NO_ATTACHMENT)) from None
    return row


# --- what fsck and the store must know (providers.holders) -----------------------

def _referenced(s: Session) -> set[int]:
    return set(s.scalars(select(Attachment.blob_id)))


def _usage(s: Session) -> dict[int, int]:
    rows = s.execute(select(Attachment.space_id, func.sum(Attachment.size))
                     .where(Attachment.space_id.is_not(None))
                     .group_by(Attachment.space_id))
    return {int(space): int(total) for space, total in rows if space is not None}


def _holds(s: Session, ids: set[int]) -> set[int]:
    return set(s.scalars(select(Attachment.blob_id).where(Attachment.blob_id.in_(ids))))


register_blob_holder("textbook.attachments", _referenced, _usage, _holds,
                     columns=(Attachment.blob_id,))
