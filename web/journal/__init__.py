"""The security journal's page for a school's head and admins (``/journal/``):
events of :mod:`davserver.journal` filtered by person, place and period."""

from .pages import bp

__all__ = ["bp"]
