"""JSON API of the student and parent view (issue 5, "Student and parent view"), under
``/api/textbook/``, with the rules of the pages (:mod:`web.textbook.homework_pages`,
:mod:`web.textbook.homework_types_pages`): the homework of a week by due date with the ticks,
ticking and unticking (students only), and each school's homework types (read by
everyone of the school, changed by its head and admins). Conventions of
:mod:`web.jsonapi`: session cookie, ``X-CSRFToken`` on POST and DELETE, errors
``{"error": "<French reason>"}``. Times: ``due`` in the school's zone, ``done_at`` UTC.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, Field
from werkzeug.wrappers import Response

import acl
from web import textbook
from web.auth import chosen_school, signed_in, web_context
from web.jsonapi import api_view, json_body, json_csrf_errors
from web.openapi import documented

from .api import activity_json

bp = Blueprint("textbook_homework_api", __name__, url_prefix="/api/textbook")
json_csrf_errors(bp)


class TypeName(BaseModel):
    """A homework type to add, or to remove."""

    name: str = Field(min_length=1, max_length=textbook.MAX_TYPE)


class TypeRename(BaseModel):
    """A homework type ``old`` to rename ``name``."""

    old: str = Field(min_length=1, max_length=textbook.MAX_TYPE)
    name: str = Field(min_length=1, max_length=textbook.MAX_TYPE)


@bp.get("/homework")
@documented(query={"week": "un jour de la semaine voulue, AAAA-MM-JJ (défaut : cette "
                           "semaine)",
                   "child": "pour un parent : l'identifiant de l'enfant (défaut : le "
                            "premier ; un autre enfant que les siens : 403)"},
            tag="textbook")
@api_view
def homework() -> Response:
    """« Travail à faire »: the homework due in the week, by due date, as a student or a
    parent (for one child) reads it, each with ``done`` and ``done_at`` (the student's
    tick, UTC). ``children``: a parent's children's logins. Other profiles: 403."""
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:
        week = textbook.homework_week(s, principal, request.args.get("week"),
                                      web_context().textbook, request.args.get("child"))
        names = dict(week.children)
        return jsonify({
            "monday": week.monday.isoformat(),
            "child": names.get(week.student_id or 0) if week.children else None,
            "children": [login for _, login in week.children],
            "items": [{"due": i.due.isoformat(), "subject": i.subject,
                       "done": i.done_at is not None,
                       "done_at": i.done_at.isoformat() if i.done_at else None,
                       "activity": activity_json(i.activity, False)} for i in week.items]})


def _tick(activity_id: int, done: bool) -> Response:
    with web_context().db.transaction() as s:
        when = textbook.set_done(s, signed_in(), activity_id, done, web_context().textbook)
    return jsonify({"activity_id": activity_id, "done": when is not None,
                    "done_at": when.isoformat() if when else None})


@bp.post("/homework/<int:activity_id>/done")
@documented(tag="textbook")
@api_view
def tick(activity_id: int) -> Response:
    """Tick a homework as done (the signed-in student only: a parent or a teacher gets
    403; a homework the student does not read, 404). Idempotent."""
    return _tick(activity_id, True)


@bp.delete("/homework/<int:activity_id>/done")
@documented(tag="textbook")
@api_view
def untick(activity_id: int) -> Response:
    """Untick a homework (same rights as ticking). Idempotent."""
    return _tick(activity_id, False)


@bp.get("/homework-types")
@documented(tag="textbook")
@api_view
def homework_types() -> Response:
    """The homework types of the signed-in user's school, in order (the defaults
    « Exercices », « Devoir maison », « Autre » until the school changes them)."""
    with web_context().db.transaction(write=False) as s:
        school = acl.user_context(s, signed_in().id, chosen_school()).school_id
        return jsonify({"types": textbook.homework_types(s, school)})


@bp.post("/homework-types")
@documented(body=TypeName, status=201, tag="textbook")
@api_view
def add_type() -> tuple[Response, int]:
    """Add a homework type to the school (its head and admins only: 403 otherwise; a
    name already there, any case: 400)."""
    body = json_body(TypeName)
    with web_context().db.transaction() as s:
        return jsonify({"types": textbook.add_type(s, signed_in().id, body.name,
                                                          chosen_school())}), 201


@bp.post("/homework-types/rename")
@documented(body=TypeRename, tag="textbook")
@api_view
def rename_type() -> Response:
    """Rename a homework type (head and admins); homework already given keeps the old
    text. An unknown ``old``: 404."""
    body = json_body(TypeRename)
    with web_context().db.transaction() as s:
        return jsonify({"types": textbook.rename_type(s, signed_in().id, body.old,
                                                      body.name, chosen_school())})


@bp.post("/homework-types/remove")
@documented(body=TypeName, tag="textbook")
@api_view
def remove_type() -> Response:
    """Remove a homework type (head and admins); homework already given keeps it as
    its text; the last type stays (400)."""
    body = json_body(TypeName)
    with web_context().db.transaction() as s:
        return jsonify({"types": textbook.remove_type(s, signed_in().id, body.name,
                                                      chosen_school())})
