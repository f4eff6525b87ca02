"""Forms every feature's pages share."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A button that changes something: nothing but the CSRF token (revoke, accept,
    decline)."""
