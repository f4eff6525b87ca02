"""Error pages in the user's language, in the site layout.

Every HTTP error raised by a view (``abort(403, description=...)``), by routing
(404, 405) or by Flask-WTF's CSRF check (403, as issue 5 asks) is answered with ``error.html``:
a title, the reason, and a way back. A 403 names why, so the user knows it is
no fault of theirs; a refused form names the missing or expired security token.
"""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from davserver import outage

log = logging.getLogger(__name__)

TITLES = {
    400: _l("Requête incorrecte"),
    403: _l("Accès refusé"),
    404: _l("Page introuvable"),
    405: _l("Méthode non autorisée"),
    409: _l("Action impossible"),
    500: _l("Erreur du serveur"),
    503: _l("Service momentanément indisponible"),
}
REASONS = {
    400: _l("La requête envoyée n'est pas valide."),
    403: _l("Vous n'avez pas les droits nécessaires pour voir cette page."),
    404: _l("Cette adresse ne correspond à aucune page. Vérifiez le lien ou revenez à "
            "l'accueil."),
    405: _l("Cette page ne peut pas être ouverte de cette façon."),
    409: _l("Cette action n'est pas possible dans l'état actuel des choses."),
    500: _l("Une erreur inattendue s'est produite. Réessayez dans un instant ; si elle "
            "persiste, prévenez l'administrateur de l'ENT."),
    503: _l("Le serveur ne peut pas répondre pour l'instant (maintenance ou incident). "
            "Réessayez dans quelques secondes ; rien n'a été enregistré."),
}
CSRF_REASON = _l("Le formulaire a été refusé : son jeton de sécurité (CSRF) est absent, "
                 "invalide ou expiré. Rechargez la page puis envoyez le formulaire à "
                 "nouveau.")


def _render(status: int, reason: str, headers: list[tuple[str, str]] | None = None,
            title: str | None = None) -> Response:
    title = title or str(TITLES.get(status, _l("Erreur")))
    body = render_template("error.html", status=status, title=title, reason=reason)
    return Response(body, status=status, headers=headers, mimetype="text/html")


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    # A description given by our own abort() is French already; werkzeug's are English.
    ours = exc.description if exc.description != type(exc).description else None
    kept = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]  # e.g. Allow
    return _render(status, ours or str(REASONS.get(status, REASONS[400])), kept)


def _csrf_error(exc: CSRFError) -> Response:
    log.info("form refused: %s", exc.description)
    return _render(403, str(CSRF_REASON), title=str(_l("Formulaire refusé")))


def _internal_error(exc: Exception) -> Response:
    return _render(500, str(REASONS[500]))


def _maybe_outage(exc: Exception) -> Response:
    """An outage of the database or the blob store (:mod:`davserver.outage`): the 503
    page with ``Retry-After``. Anything else goes on to Flask's 500 (re-raised)."""
    found = outage.outage_of(exc)
    if found is None:
        raise exc
    outage.log_outage(found)
    return _render(503, str(REASONS[503]), outage.headers_of(found))


def init_errors(app: Flask) -> None:
    """Register the handlers above on ``app``."""
    app.register_error_handler(Exception, _maybe_outage)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(500, _internal_error)
