"""What every JSON API under ``/api/`` shares (booking, textbook): the session as
authentication, JSON errors ``{"error": "<French reason>"}`` with the domain error's
status, request bodies checked by pydantic, and the CSRF refusal as JSON.

Authentication is the web layer's: the session cookie of ``POST /login`` (there is no
Basic authentication on the web side). Every POST carries the session's CSRF token in
the ``X-CSRFToken`` header (Flask-WTF), given by ``GET /api/booking/session``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from pydantic import BaseModel, ValidationError
from werkzeug.wrappers import Response

from davserver.errors import BadRequest, DomainError

from .auth import current_principal

F = TypeVar("F", bound=Callable[..., Any])
# Extra JSON members of a domain error's answer, by error type (e.g. the conflicts of a
# booking series); registered by the API that raises them.
ERROR_DETAILS: dict[type[DomainError], Callable[[Any], dict[str, Any]]] = {}


def error(status: int, message: str, **extra: Any) -> Response:
    """A JSON error answer: ``{"error": message, **extra}`` with ``status``."""
    answer = jsonify({"error": message, **extra})
    answer.status_code = status
    return answer


def _domain_error(exc: DomainError) -> Response:
    for kind, details in ERROR_DETAILS.items():
        if isinstance(exc, kind):
            return error(exc.status, exc.message, **details(exc))
    return error(exc.status, exc.message)


def api_view(view: F) -> F:
    """Decorator: 401 JSON for anonymous callers; domain errors (with their status)
    and invalid bodies (400, naming the fields) as JSON."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_principal() is None:
            return error(401, _("Connectez-vous d'abord (POST /login)."))
        try:
            return view(*args, **kwargs)
        except DomainError as exc:
            return _domain_error(exc)
        except ValidationError as exc:
            where = ", ".join(".".join(str(p) for p in e["loc"]) + " : " + e["msg"]
                              for e in exc.errors())
            return error(400, _("Requête invalide (%(where)s).", where=where))

    return cast(F, wrapper)


def json_body(model: type[BaseModel]) -> Any:
    """The request's JSON object checked by ``model`` (``BadRequest`` if not an
    object, pydantic's ``ValidationError`` naming the fields otherwise)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest(_("Le corps de la requête doit être un objet JSON."))
    return model.model_validate(data)


def json_csrf_errors(bp: Blueprint) -> None:
    """Answer a missing or wrong CSRF token on ``bp`` with JSON 403."""

    @bp.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response:
        return error(403, _("Jeton CSRF absent ou invalide : envoyez l'en-tête "
                            "X-CSRFToken donné par GET /api/booking/session."))
