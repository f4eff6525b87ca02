"""Notifications (issue 7): a list in the web layer with an unread count in the header,
and an optional e-mail copy of each, sent in the background through SMTP.

Public face, for the packages that notify (booking, rubrics, textbook visas,
inspector access, hand-ins, corrections)::

    from web.notifications import NotificationKind, notify
    notify(s, recipient_id, NotificationKind.visa, _("Visa du cahier de textes"),
           body=..., link="/textbook/...")

:func:`notify` and :func:`notify_many` work in the caller's open transaction.
:class:`OutboxSender` sends the e-mails (``davserver serve`` starts one;
``davserver notifications send`` flushes once); :func:`enable_mail` is the
per-process switch set from ``smtp.enabled``.
"""

from __future__ import annotations

from .models import (
    Notification,
    NotificationKind,
    NotificationPreference,
    OutboxMessage,
    OutboxStatus,
)
from .outbox import FlushReport, OutboxSender
from .pages import bp
from .services import (
    enable_mail,
    mail_enabled,
    mark_all_read,
    mark_read,
    notifications_of,
    notify,
    notify_many,
    purge_old,
    set_wants_email,
    unread_count,
    wants_email,
)

__all__ = [
    "FlushReport", "Notification", "NotificationKind", "NotificationPreference",
    "OutboxMessage", "OutboxSender", "OutboxStatus", "bp", "enable_mail", "mail_enabled",
    "mark_all_read", "mark_read", "notifications_of", "notify", "notify_many", "purge_old",
    "set_wants_email", "unread_count", "wants_email",
]
