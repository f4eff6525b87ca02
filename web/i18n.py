"""Translation layer (Flask-Babel): every user-facing string goes through it.

French is the source language: strings are written in French in the code and the
templates (``_("Connexion")``), so French needs no catalogue. Another language
needs a compiled catalogue ``web/translations/<locale>/LC_MESSAGES/messages.mo``
(``docs/development.md``, "Translating the web pages"); the locale is ``web.locale`` in the
configuration, one for the whole server.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_babel import Babel
from flask_babel import lazy_gettext as _l

from davserver.config import ConfigError

SOURCE_LOCALE = "fr"
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

PROFILE_LABELS = {
    "student": _l("Élève"),
    "teacher": _l("Enseignant"),
    "parent": _l("Parent"),
    "staff": _l("Personnel"),
    "head": _l("Direction"),
    "admin": _l("Administrateur"),
    "inspector": _l("Inspecteur"),
}
"""French labels of ``acl.Profile`` values (DESIGN.md vocabulary), for display."""


def available_locales() -> list[str]:
    """The source locale and every locale with a compiled catalogue, sorted."""
    compiled = {p.parent.parent.name for p in TRANSLATIONS_DIR.glob("*/LC_MESSAGES/messages.mo")}
    return sorted(compiled | {SOURCE_LOCALE})


def init_babel(app: Flask, locale: str) -> None:
    """Install Flask-Babel on ``app`` with one fixed ``locale``.

    Raises :class:`ConfigError` naming ``web.locale`` when no catalogue exists for it
    (better than silently serving the source language under another ``lang``).
    """
    if locale not in available_locales():
        raise ConfigError(
            f"web.locale: no compiled catalogue for {locale!r} "
            f"(available: {', '.join(available_locales())}; see docs/development.md)"
        )
    app.config["BABEL_DEFAULT_LOCALE"] = locale
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    Babel(app, locale_selector=lambda: locale)

    @app.context_processor
    def _labels() -> dict[str, object]:
        return {"profile_labels": PROFILE_LABELS, "html_lang": locale.replace("_", "-")}
