"""Quotas: limits, the usage ledger and upload reservations of every space
(DESIGN.md: ``quotas/``; RFC 4331 values come from :func:`usage`)."""

from . import leases
from .leases import (
    Holder,
    Reservation,
    UploadLease,
    lease,
    lease_seconds,
    reclaim,
    this_process,
)
from .ledger import (
    GIB,
    MIB,
    QuotaPolicy,
    SpaceUsage,
    Usage,
    all_usage,
    charge,
    drop_trash,
    figures_columns,
    figures_of,
    from_trash,
    lock,
    open_account,
    release,
    reserve,
    set_limit,
    set_used,
    settle,
    to_trash,
    to_versions,
    usage,
    usage_grew,
)

__all__ = [
    "GIB", "MIB", "QuotaPolicy", "SpaceUsage", "Usage", "all_usage", "charge", "drop_trash",
    "figures_columns", "figures_of", "from_trash", "lock", "open_account", "release",
    "reserve", "set_limit", "set_used",
    "settle", "to_trash", "to_versions", "usage", "usage_grew",
    "Holder", "Reservation", "UploadLease", "lease", "lease_seconds", "reclaim", "this_process",
    "leases",
]
