"""Teaching services that a people import read (AAF ``ENTAuxEnsClassesMatieres``,
STS-web ``SERVICE``) become the textbook's services.

``acl`` reads the files but may not import ``web``: it hands the services over, as
ids, to the sink this module registers (:func:`acl.register_service_sink`) when the
textbook is imported. A service is a class or group × a subject; its teachers are
added, never taken away (co-teaching accumulates, and a timetable import may have
added others), as :func:`web.textbook.services.ensure_service` does for timetables.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import acl

from .models import TeachingService
from .services import ensure_service


def store_imported_services(session: Session, school_id: int,
                            orders: list[acl.ServiceOrder]) -> dict[str, int]:
    """Create or complete each service of ``orders`` in the caller's transaction;
    returns ``{"services": read, "created": new services, "teachers_added": n}``."""
    created = added = 0
    for order in orders:
        before = session.scalar(select(TeachingService).where(
            TeachingService.group_id == order.group_id,
            TeachingService.subject_id == order.subject_id))
        known = {t.id for t in before.teachers} if before is not None else set()
        service = ensure_service(session, school_id, order.group_id, order.subject_id,
                                 order.teacher_ids)
        created += before is None
        added += len({t.id for t in service.teachers} - known)
    return {"services": len(orders), "created": created, "teachers_added": added}


acl.register_service_sink(store_imported_services)
