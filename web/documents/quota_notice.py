"""One notification when a personal space crosses the warning share of its quota
(issue 8: "at 80 % of a quota ... gets one notification when crossing it").

Listens to :data:`quotas.usage_grew`, sent in the transaction of every write that made
a space's used bytes grow, over WebDAV or in the browser: the notification exists iff
the write commits, and a write that stays above the line (or below it) sends none, so
the user is told once per crossing. Rubric spaces have no single owner to tell.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

import quotas
from providers import Store
from web.notifications import NotificationKind, notify

from .present import human_size

PERSONAL = {"documents": ("porte-documents", "Porte-documents"),
            "binder": ("classeur", "Classeur pédagogique")}
_threshold = {"percent": 80}


def set_warning_percent(percent: int) -> None:
    """The share of a quota (1–100) whose crossing is notified (``web.quota_warning_percent``)."""
    _threshold["percent"] = percent


def on_usage_grew(space_id: int, *, session: Session, grown: int,
                  policy: quotas.QuotaPolicy, figures: quotas.Usage | None = None,
                  **_kw: Any) -> None:
    """Receiver of :data:`quotas.usage_grew` (see the module docstring); ``figures``
    are the space's after the change (read again when not given)."""
    if figures is None:
        figures = quotas.usage(session, space_id, policy)
    if figures is None or figures.limit <= 0:
        return
    line = figures.limit * _threshold["percent"] / 100
    if not figures.used - grown < line <= figures.used:
        return
    space = Store.space_in(session, space_id)
    if space is None or space.owner_id is None or space.kind not in PERSONAL:
        return
    top, label = PERSONAL[space.kind]
    share = round(100 * figures.used / figures.limit)
    notify(session, space.owner_id, NotificationKind.quota_warning,
           _("%(space)s rempli à %(share)d %%", space=label, share=share),
           _("Votre %(space)s utilise %(used)s sur %(limit)s. Libérez de la place (et "
             "videz la corbeille) avant qu'il ne soit plein : au-delà, les envois sont "
             "refusés.", space=label.lower(), used=human_size(figures.used),
             limit=human_size(figures.limit)),
           f"/documents/{top}/")


quotas.usage_grew.connect(on_usage_grew)
