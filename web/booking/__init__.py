"""Resource booking (réservations, issue 6): resource domains, resources, bookings
single or recurring, managers' validation, and the pages and JSON API that serve them.

Models in :mod:`.models`; the rules in :mod:`.rules`; who may see, book and manage in
:mod:`.access`; booking and cancelling in :mod:`.services`, recurring series in
:mod:`.series`, editing in place in :mod:`.edits`, the managers' queue in :mod:`.validation`.
"""

from . import lessons  # connects the receivers that make bookings follow their lesson
from .access import (
    beneficiary,
    domain_for,
    managed_domain_ids,
    manages,
    may_book,
    resource_for,
    school_zone,
    visible_domains,
)
from .edits import Change, EditResult, edit, editable, may_edit
from .models import (
    HOLDING,
    Booking,
    BookingStatus,
    DomainProfile,
    Resource,
    ResourceDomain,
    ResourceKind,
    Unavailability,
)
from .rules import BookingRefused, NoUnitLeft, Request
from .series import Occurrence, SeriesConflicts, SeriesResult, book_series
from .services import Booker, book, cancel, cancel_series, may_cancel
from .validation import (
    Outcome,
    add_unavailability,
    pending_queue,
    refuse,
    validate,
    validate_many,
)

__all__ = [
    "HOLDING", "Booker", "Change", "EditResult", "edit", "editable", "may_edit",
    "lessons", "Booking", "BookingRefused", "BookingStatus", "DomainProfile",
    "NoUnitLeft", "Occurrence", "Outcome", "Request", "Resource", "ResourceDomain",
    "add_unavailability",
    "ResourceKind", "SeriesConflicts", "SeriesResult", "Unavailability", "beneficiary",
    "book", "book_series", "cancel", "cancel_series", "domain_for", "managed_domain_ids",
    "manages", "may_book", "may_cancel", "pending_queue", "refuse", "resource_for",
    "school_zone", "validate", "validate_many", "visible_domains",
]
