"""JSON API of the activities' moves and copies and of the binder (issue 5, "API":
"Everything the pages do is also a JSON API"), the same functions as the pages
(:mod:`web.textbook.binder.pages`), conventions of :mod:`web.jsonapi`.

* ``GET /api/textbook/binder``: the teacher's binder folders and HTML items;
* ``POST /api/textbook/activities/<id>/move`` ``{"lesson_id"}``;
* ``POST /api/textbook/activities/<id>/copy`` ``{"lesson_id"}`` or ``{"binder_folder"}``;
* ``POST /api/textbook/lessons/<id>/binder-export`` ``{"activity_ids", "folder"}``;
* ``POST /api/textbook/lessons/<id>/binder-import`` ``{"items"}`` (all or none);
* ``POST /api/textbook/binder/items``: a new item written straight into a folder.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field, model_validator
from werkzeug.wrappers import Response

from davserver.errors import BadRequest
from web import textbook
from web.auth import signed_in, web_context
from web.jsonapi import api_view, json_body, json_csrf_errors
from web.openapi import documented

from ..api import activity_json
from . import transfers
from .pages import add_items, binder_folder, binder_tree, read_items, save_to_binder, write_item

bp = Blueprint("textbook_binder_api", __name__, url_prefix="/api/textbook")
json_csrf_errors(bp)


class MoveBody(BaseModel):
    """The lesson an activity moves to (one the teacher teaches)."""

    lesson_id: int


class CopyBody(BaseModel):
    """Where a copy goes: a lesson, or a folder of the teacher's binder (``/``: its
    root), exactly one of the two."""

    lesson_id: int | None = None
    binder_folder: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _one(self) -> CopyBody:
        if (self.lesson_id is None) == (self.binder_folder is None):
            raise ValueError("give lesson_id or binder_folder, not both")
        return self


class ExportBody(BaseModel):
    """Activities of the lesson to save as binder items into ``folder``."""

    activity_ids: list[int] = Field(min_length=1, max_length=200)
    folder: str = Field("/", max_length=4000)


class ItemBody(BaseModel):
    """A new binder item: an activity kept for later, in ``folder`` (``/``: the root)."""

    folder: str = Field("/", max_length=4000)
    kind: str = Field(pattern="^(content|homework)$")
    title: str = Field(min_length=1, max_length=200)
    body: str = Field("", max_length=100_000, description="HTML, cleaned with nh3")
    minutes: int | None = Field(None, ge=0, le=600)
    homework_type: str | None = Field(None, max_length=100)


class ImportBody(BaseModel):
    """Binder items (paths from ``GET /api/textbook/binder``) to add to the lesson."""

    items: list[str] = Field(min_length=1, max_length=200)


def _transfer_json(done: transfers.Transfer) -> dict[str, Any]:
    return {"activity": activity_json(done.activity, True), "lesson_id": done.activity.lesson_id,
            "due_lesson_id": done.due.id if done.due else None}


@bp.get("/binder")
@documented(tag="textbook")
@api_view
def binder() -> Response:
    """The signed-in teacher's binder: folders (``/`` first) and HTML items (404 for
    a profile without a binder)."""
    folders, items = binder_tree()
    return jsonify({"folders": folders, "items": [
        {"path": n.written_path, "name": n.name, "size": n.size} for n in items]})


@bp.post("/activities/<int:activity_id>/move")
@documented(body=MoveBody, tag="textbook")
@api_view
def move(activity_id: int) -> Response:
    """Move an activity to another lesson; a homework's due lesson becomes the next
    one after it (given back as ``due_lesson_id``); 409 at a service's last lesson."""
    body = json_body(MoveBody)
    with web_context().db.transaction() as s:
        return jsonify(_transfer_json(transfers.move_to_lesson(
            s, signed_in().id, activity_id, body.lesson_id)))


@bp.post("/activities/<int:activity_id>/copy")
@documented(body=CopyBody, status=201, tag="textbook")
@api_view
def copy(activity_id: int) -> tuple[Response, int]:
    """Copy an activity to a lesson (a new activity) or into a binder folder (an
    HTML item; ``{"item": name}``; 507 when the binder is full)."""
    body = json_body(CopyBody)
    user = signed_in()
    if body.binder_folder is not None:
        with web_context().db.transaction(write=False) as s:
            name = save_to_binder(s, user.id, activity_id, binder_folder(body.binder_folder))
        return jsonify({"item": name}), 201
    assert body.lesson_id is not None
    with web_context().db.transaction() as s:
        return jsonify(_transfer_json(transfers.copy_to_lesson(
            s, user.id, activity_id, body.lesson_id, web_context().textbook))), 201


@bp.post("/lessons/<int:lesson_id>/binder-export")
@documented(body=ExportBody, status=201, tag="textbook")
@api_view
def export(lesson_id: int) -> tuple[Response, int]:
    """Save activities of the lesson as items into one binder folder."""
    body = json_body(ExportBody)
    user = signed_in()
    with web_context().db.transaction(write=False) as s:
        folder = binder_folder(body.folder)
        for activity_id in body.activity_ids:
            if textbook.editable_activity(s, user.id, activity_id).lesson_id != lesson_id:
                raise BadRequest(f"L'activité {activity_id} n'est pas dans cette séance.")
        names = [save_to_binder(s, user.id, i, folder) for i in body.activity_ids]
    return jsonify({"items": names}), 201


@bp.post("/lessons/<int:lesson_id>/binder-import")
@documented(body=ImportBody, status=201, tag="textbook")
@api_view
def import_(lesson_id: int) -> tuple[Response, int]:
    """Add binder items to the lesson, all or none (a homework is due at the next
    lesson: change it after with the activity's edit)."""
    body = json_body(ImportBody)
    items = read_items(body.items)
    with web_context().db.transaction() as s:
        added = add_items(s, signed_in().id, lesson_id, items)
        return jsonify({"activities": [activity_json(a, True) for a in added]}), 201


@bp.post("/binder/items")
@documented(body=ItemBody, status=201, tag="textbook")
@api_view
def new_item() -> tuple[Response, int]:
    """Write a new item into a folder of the teacher's binder (``{"item": name}``;
    404 for a profile without a binder or an unknown folder, 507 when it is full)."""
    body = json_body(ItemBody)
    kind = textbook.ActivityKind(body.kind)
    homework = kind is textbook.ActivityKind.homework
    draft = textbook.Activity(kind=kind, title=body.title.strip(), body=body.body,
                              minutes=body.minutes if homework else None,
                              homework_type=body.homework_type if homework else None)
    return jsonify({"item": write_item(binder_folder(body.folder), draft)}), 201
