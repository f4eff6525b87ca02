"""The e-mail copy of a notification: composed with ``email.message.EmailMessage`` and
sent with the standard library's ``smtplib`` (issue 7: "the message sent through the
standard library's SMTP client").

Plain text, UTF-8, in French (the source language; the sender runs outside any web
request). The link is made absolute with ``web.base_url`` when it is set.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask_babel import gettext as _

from davserver.config import SmtpConfig

from .models import Notification


def absolute(link: str, base_url: str | None) -> str:
    """``link`` (a path on this site) under ``base_url`` (no trailing slash), or the
    bare path when no base address is configured."""
    return f"{base_url}{link}" if base_url else link


def compose(note: Notification, to_address: str, from_address: str,
            base_url: str | None) -> EmailMessage:
    """The message for ``note``: subject "[ENT] <subject>", the body, the link, and how
    to stop these e-mails. ``note.subject`` is one line already (``service.notify``)."""
    msg = EmailMessage()
    msg["Subject"] = _("[ENT] %(subject)s", subject=note.subject)
    msg["From"] = from_address
    msg["To"] = to_address
    msg["Date"] = format_datetime(note.created)
    msg["Message-ID"] = make_msgid(idstring=f"notification-{note.id}")
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    parts = [note.subject]
    if note.body.strip():
        parts.append(note.body.strip())
    if note.link:
        parts.append(_("Voir sur l'ENT : %(url)s", url=absolute(note.link, base_url)))
    parts.append("-- \n" + _(
        "Message envoyé automatiquement par l'ENT. Pour ne plus recevoir ces e-mails, "
        "décochez « Recevoir les notifications » dans vos préférences : %(url)s",
        url=absolute("/notifications/preferences", base_url)))
    msg.set_content("\n\n".join(parts) + "\n")
    return msg


def send(msg: EmailMessage, smtp: SmtpConfig) -> None:
    """Deliver ``msg`` through the configured server (``smtp.security``: plain, STARTTLS
    per RFC 3207, or implicit TLS per RFC 8314; certificates checked against the
    system's authorities). Raises ``OSError`` (network, timeout after
    ``smtp.timeout`` seconds) or ``smtplib.SMTPException`` (refused)."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.security == "tls":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout,
                                  context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        client.send_message(msg)
