"""Making, reading and marking notifications; each user's e-mail preference.

Other packages call :func:`notify` (or :func:`notify_many`) inside their own write
transaction, right where the action happens: the notification, and its e-mail copy in
the outbox, then exist if and only if the action commits. Sending is never done here
(:mod:`.outbox` does it in the background).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.orm import Session

import acl
from davserver import clock
from davserver.db import rows_matched
from davserver.errors import NotFound

from .models import (
    MAX_LINK,
    MAX_SUBJECT,
    Notification,
    NotificationKind,
    NotificationPreference,
    OutboxMessage,
    OutboxStatus,
)

_WAKE_KEY = "notifications.wake"
_mail = {"enabled": False}
_wakers: list[Callable[[], None]] = []
_wakers_lock = threading.Lock()


def enable_mail(enabled: bool) -> None:
    """Whether :func:`notify` queues e-mail copies in this process (``smtp.enabled``).
    Called by ``web.create_web_app`` and by the command-line commands that notify;
    off until then, so that no outbox row piles up where no sender will ever run."""
    _mail["enabled"] = enabled


def mail_enabled() -> bool:
    """The switch of :func:`enable_mail`."""
    return _mail["enabled"]


def on_mail_queued(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` (no argument, must not block) after each commit that queued
    e-mail in this process: the background sender wakes at once instead of at its next
    poll. Returns a function that removes it."""
    with _wakers_lock:
        _wakers.append(callback)

    def remove() -> None:
        with _wakers_lock:
            if callback in _wakers:
                _wakers.remove(callback)

    return remove


def _wake(_session: Any) -> None:
    with _wakers_lock:
        callbacks = list(_wakers)
    for callback in callbacks:
        callback()


def _check_link(link: str | None) -> str | None:
    """A path on this site, or None; ``ValueError`` for anything else (another host,
    a scheme, ``//host``, a backslash): a notification never sends users elsewhere."""
    if link is None or link == "":
        return None
    parts = urlsplit(link)
    if (parts.scheme or parts.netloc or not link.startswith("/") or link.startswith("//")
            or "\\" in link or any(c.isspace() for c in link)):
        raise ValueError(f"notification link must be a path on this site: {link!r}")
    if len(link) > MAX_LINK:
        raise ValueError(f"notification link longer than {MAX_LINK} characters")
    return link


def _one_line(subject: str) -> str:
    """The subject on one line (it becomes an e-mail header), cut to its column."""
    flat = re.sub(r"\s+", " ", subject).strip()
    if not flat:
        raise ValueError("a notification needs a subject")
    return flat if len(flat) <= MAX_SUBJECT else flat[:MAX_SUBJECT - 1] + "…"


def notify(s: Session, recipient_id: int, kind: NotificationKind, subject: str,
           body: str = "", link: str | None = None) -> None:
    """Notify one user, in the caller's open transaction ``s``.

    ``subject``: one line in the user's language (French source strings through
    Flask-Babel), at most 200 characters (longer is cut); ``body``: plain text, may be
    empty; ``link``: a path on this site (``/booking/mes-reservations``), or None.
    When the recipient wants e-mails (their preference), has an address and SMTP is
    enabled, an outbox row for the e-mail copy is added in the same transaction.
    Raises ``davserver.errors.NotFound`` for no such user and ``ValueError`` for an
    empty subject or a link that is not a path on this site."""
    notify_many(s, [recipient_id], kind, subject, body, link)


def notify_many(s: Session, recipient_ids: Iterable[int], kind: NotificationKind,
                subject: str, body: str = "", link: str | None = None) -> None:
    """:func:`notify` for several users at once (each id once, whatever repeats);
    two reads and one or two bulk INSERTs whatever their number, in ``s``'s
    transaction.
    Errors as :func:`notify`, raised before anything is added."""
    ids = set(recipient_ids)
    if not ids:
        return
    kind, subject, link = NotificationKind(kind), _one_line(subject), _check_link(link)
    contacts = acl.contacts_of(s, ids)
    missing = sorted(ids - contacts.keys())
    if missing:
        raise NotFound(f"no user #{missing[0]} to notify")
    mailing = _mail_recipients(s, contacts.values()) if mail_enabled() else {}
    now = clock.now()
    rows = [{"user_id": uid, "school_id": contacts[uid].school_id, "kind": kind,
             "subject": subject, "body": body, "link": link, "created": now}
            for uid in sorted(ids)]
    # Bulk INSERTs (executemany): a class's or a rubric's followers cost what one does.
    if not mailing:
        s.execute(insert(Notification), rows)
    else:
        made = s.execute(insert(Notification).returning(
            Notification.id, Notification.user_id, sort_by_parameter_order=True), rows).all()
        s.execute(insert(OutboxMessage), [
            {"notification_id": note_id, "to_address": mailing[uid], "next_attempt": now,
             "created": now} for note_id, uid in made if uid in mailing])
    if mailing and not s.info.get(_WAKE_KEY):
        s.info[_WAKE_KEY] = True
        event.listen(s, "after_commit", _wake, once=True)


def _mail_recipients(s: Session, contacts: Iterable[acl.Contact]) -> dict[int, str]:
    """Address by user id of those who have one and did not untick e-mails."""
    with_address = {c.user_id: c.email for c in contacts if c.email}
    if not with_address:
        return {}
    declined = set(s.scalars(select(NotificationPreference.user_id).where(
        NotificationPreference.user_id.in_(with_address),
        NotificationPreference.email.is_(False))))
    return {uid: email for uid, email in with_address.items() if uid not in declined}


def unread_count(s: Session, user_id: int) -> int:
    """How many of the user's notifications are unread (one query, on an index)."""
    return s.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def notifications_of(s: Session, user_id: int, *, limit: int = 50,
                     offset: int = 0) -> list[Notification]:
    """The user's notifications, newest first (``limit`` of them from ``offset``)."""
    return list(s.scalars(select(Notification).where(Notification.user_id == user_id)
                          .order_by(Notification.created.desc(), Notification.id.desc())
                          .limit(limit).offset(offset)))


def mark_read(s: Session, user_id: int, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (kept as first read if it was).
    ``NotFound`` when there is no such notification *of this user*: another user's is
    not told apart from a missing one (STYLE.md habit 12)."""
    note = s.get(Notification, notification_id)
    if note is None or note.user_id != user_id:
        raise NotFound(f"no notification #{notification_id}")
    if note.read_at is None:
        note.read_at = clock.now()
    return note


def mark_all_read(s: Session, user_id: int) -> int:
    """Mark every unread notification of the user read; returns how many (one UPDATE)."""
    result = s.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)


def wants_email(s: Session, user_id: int) -> bool:
    """The user's "Recevoir les notifications" choice (yes when never set)."""
    choice = s.get(NotificationPreference, user_id)
    return True if choice is None else choice.email


def set_wants_email(s: Session, user_id: int, wanted: bool) -> None:
    """Record the user's e-mail choice."""
    choice = s.get(NotificationPreference, user_id)
    if choice is None:
        s.add(NotificationPreference(user_id=user_id, email=wanted))
    else:
        choice.email = wanted


def purge_old(s: Session, cutoff: datetime, *, unread_too: bool = False) -> tuple[int, int]:
    """Delete notifications created before ``cutoff`` (UTC) that were read — and the
    unread ones too with ``unread_too`` — with their e-mail copies, except copies
    still waiting to be sent. Returns (notifications, e-mail copies) deleted.

    A school keeps its notification list short: what was read months ago helps no
    one, and the outbox keeps every message ever sent otherwise."""
    old = [Notification.created < cutoff]
    if not unread_too:
        old.append(Notification.read_at.is_not(None))
    waiting = select(OutboxMessage.notification_id).where(
        OutboxMessage.status == OutboxStatus.pending)
    doomed = select(Notification.id).where(*old, Notification.id.not_in(waiting))
    copies = rows_matched(s.execute(delete(OutboxMessage).where(
        OutboxMessage.notification_id.in_(doomed))))
    gone = rows_matched(s.execute(delete(Notification).where(
        *old, Notification.id.not_in(waiting))))
    return gone, copies
