"""Quotas: limits and the usage ledger of every space (DESIGN.md: ``quotas/``)."""

from .ledger import SpaceUsage, Usage, charge, open_account, set_used, usage

__all__ = ["SpaceUsage", "Usage", "charge", "open_account", "set_used", "usage"]
