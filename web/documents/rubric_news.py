"""« Mes rubriques »: a notification for each new contribution in a rubric the user
follows (:mod:`acl.preferences` subscriptions), over WebDAV or in the browser.

Receiver of :data:`providers.contribution_published`, in the transaction that made the
file visible: its notifications exist iff that commits. Told: the rubric's followers
who may read the file now (``acl.allowed``, with their standing in the rubric), the
author excepted; the link opens the file's folder in the file manager.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask_babel import gettext as _
from sqlalchemy.orm import Session

import acl
from providers import contribution_published
from web.notifications import NotificationKind, notify_many


def on_contribution(space_id: int, *, session: Session, rubric_id: int, name: str,
                    written_path: str, author_id: int | None,
                    chain: tuple[acl.NodeRef, ...], **_kw: Any) -> None:
    """Notify the rubric's followers who may read the new file (module docstring)."""
    followers = acl.subscribers(session, rubric_id) - {author_id}
    if not followers:
        return
    rubric = acl.rubric_by_id(session, rubric_id)
    if rubric is None:
        return
    # Every follower's standing at once: a bounded number of queries in the writer's
    # transaction, whatever the number of followers.
    readers = {uid for uid, standing in acl.standings_in_rubric(
        session, followers, rubric_id).items() if acl.allowed(standing, "read", chain)}
    if not readers:
        return
    author = acl.names_of(session, {author_id}).get(author_id) if author_id else None
    folder = written_path.rpartition("/")[0]
    notify_many(session, readers, NotificationKind.rubric_contribution,
                _("Nouveau dans « %(rubric)s » : %(name)s", rubric=rubric.name, name=name),
                _("%(who)s a ajouté « %(name)s » dans %(where)s.",
                  who=author or _("Quelqu'un"), name=name, where=folder or "/"),
                f"/documents/rubriques/{quote(rubric.slug)}{quote(folder)}/")


contribution_published.connect(on_contribution)
