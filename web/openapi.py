"""The OpenAPI 3.1 document of the JSON APIs under ``/api/``, served at
``GET /api/openapi.json``.

It is read from the application itself, so it cannot drift from the code: every URL
rule under ``/api/`` is an operation (its path parameters from the rule's converters,
its summary and description from the view's docstring); a view declares its JSON body
(a pydantic model, whose JSON Schema pydantic writes), its query parameters and its
success status with :func:`documented`. Errors share one schema,
``{"error": "<French reason>"}`` (the APIs' convention, :mod:`web.booking.api`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, jsonify
from pydantic import BaseModel
from werkzeug.wrappers import Response

API_PREFIX = "/api/"
ATTRIBUTE = "openapi_operation"
ERRORS = {
    "400": "Requête invalide (corps, paramètre ou date mal formés)",
    "401": "Non connecté : se connecter d'abord (POST /login)",
    "403": "Interdit, ou jeton CSRF absent (en-tête X-CSRFToken)",
    "404": "Introuvable",
    "409": "Conflit (plus d'unité libre, série en conflit)",
    "422": "Refusé par une règle (heures d'ouverture, durée, délai…)",
}
F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("openapi", __name__, url_prefix="/api")


@dataclass(frozen=True)
class Operation:
    """What a view tells the document beyond its URL rule and docstring: its JSON body
    model, its query parameters (name → description), its success status, and the
    tag that groups it."""

    body: type[BaseModel] | None = None
    query: dict[str, str] = field(default_factory=dict)
    status: int = 200
    tag: str = ""


def documented(*, body: type[BaseModel] | None = None, query: dict[str, str] | None = None,
               status: int = 200, tag: str = "") -> Callable[[F], F]:
    """Decorator: attach an :class:`Operation` to a view (no behaviour change)."""

    def attach(view: F) -> F:
        setattr(view, ATTRIBUTE, Operation(body, query or {}, status, tag))
        return view

    return attach


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", rule):
        kind = {"int": "integer"}.get(converter or "string", "string")
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {"type": kind}})
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule), params


def _operation(view: Callable[..., Any], op: Operation, params: list[dict[str, Any]],
               schemas: dict[str, Any]) -> dict[str, Any]:
    doc = inspect.cleandoc(view.__doc__ or "").strip()
    summary, _, rest = doc.partition("\n")
    answer: dict[str, Any] = {
        "operationId": view.__name__, "summary": summary.strip() or view.__name__,
        "parameters": params + [{"name": n, "in": "query", "required": False,
                                 "description": d, "schema": {"type": "string"}}
                                for n, d in op.query.items()],
        "responses": {str(op.status): {"description": "OK", "content": {
            "application/json": {"schema": {}}}}} | {
            code: {"description": text, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}
            for code, text in ERRORS.items()},
    }
    if rest.strip():
        answer["description"] = " ".join(rest.split())
    if op.tag:
        answer["tags"] = [op.tag]
    if op.body is not None:
        schema = op.body.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[op.body.__name__] = schema
        answer["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}}}
    return answer


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s rules under ``/api/`` (a JSON-ready dict)."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "string", "description": "la raison, en français"}}}}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX) or rule.endpoint == "openapi.spec":
            continue
        view = app.view_functions[rule.endpoint]
        op = getattr(view, ATTRIBUTE, None) or Operation()
        path, params = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(view, op, params,
                                                                    schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ENT davserver", "version": "1",
                 "description": "JSON APIs of the ENT. Authentication: the web session "
                                "cookie of POST /login; every POST sends the session's "
                                "CSRF token in the X-CSRFToken header."},
        "paths": paths,
        "components": {"schemas": schemas},
    }


@bp.get("/openapi.json")
def spec() -> Response:
    """The OpenAPI document (public: it describes the API, not its data)."""
    return jsonify(document(current_app))
