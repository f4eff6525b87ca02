"""JSON API of the cahier de textes under ``/api/textbook/`` (issue 5), with the rules of
the pages (:mod:`web.textbook.reading` decides who reads what; the services check the
teacher again on every change). Conventions of :mod:`web.jsonapi`: session cookie,
``X-CSRFToken`` on POSTs, errors ``{"error": "<French reason>"}``.

Times are ISO 8601: answers give UTC (``start``, ``end``) and the school's wall-clock
time (``local_start``, ``local_end``); a request's time without an offset is the
school's wall-clock time. Private notes are only in teachers' answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from davserver.errors import BadRequest
from web import textbook
from web.auth import signed_in, web_context
from web.dates import supported
from web.jsonapi import api_view, json_body, json_csrf_errors
from web.openapi import documented

bp = Blueprint("textbook_api", __name__, url_prefix="/api/textbook")
json_csrf_errors(bp)


class ActivityBody(BaseModel):
    """An activity to add to a lesson (``kind`` "content" or "homework")."""

    kind: str = Field(pattern="^(content|homework)$")
    title: str = Field(min_length=1, max_length=200)
    body: str = Field("", max_length=100_000, description="HTML, cleaned with nh3")
    private_note: str = Field("", max_length=2000)
    homework_type: str | None = Field(None, max_length=100,
                                      description="for homework, one of the school's "
                                      "types (GET /api/textbook/homework-types); "
                                      "default: the first")
    minutes: int | None = Field(None, ge=1, le=600)
    due_lesson_id: int | None = None
    online_submission: bool = False
    target_ids: list[int] = Field(default_factory=list, max_length=200)


class LessonTimes(BaseModel):
    """New times of a lesson, ISO 8601 (without an offset: the school's time)."""

    start: str
    end: str


class NewLesson(LessonTimes):
    """A lesson made by hand in one of the teacher's services."""

    service_id: int
    room: str = Field("", max_length=100)


def activity_json(a: textbook.Activity, teacher: bool) -> dict[str, Any]:
    """An activity as the API gives it (private note and targets for teachers only)."""
    view: dict[str, Any] = {"id": a.id, "kind": a.kind.value, "title": a.title,
            "visible_from": a.visible_from.isoformat() if a.visible_from else None,
            "body": textbook.sanitize_html(a.body), "homework_type": a.homework_type,
            "minutes": a.minutes, "due_lesson_id": a.due_lesson_id,
            "online_submission": a.online_submission}
    if teacher:
        view["private_note"] = a.private_note
        view["target_ids"] = [t.id for t in a.targets]
    return view


def _times(start: datetime, end: datetime, tz: Any) -> dict[str, str]:
    return {"start": start.astimezone(UTC).isoformat(), "end": end.astimezone(UTC).isoformat(),
            "local_start": start.astimezone(tz).isoformat(),
            "local_end": end.astimezone(tz).isoformat()}


def _lesson(s: Session, lesson: textbook.Lesson, teacher: bool,
            activities: list[textbook.Activity]) -> dict[str, Any]:
    tz = textbook.school_zone(s, s.get_one(textbook.TeachingService,
                                           lesson.service_id).school_id)
    return {"id": lesson.id, "service_id": lesson.service_id, "room": lesson.room,
            "status": lesson.status.value, **_times(lesson.start, lesson.end, tz),
            "activities": [activity_json(a, teacher) for a in activities]}


def _parse(text: str, tz: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(f"{name} : date et heure « {text} » invalides (attendu "
                         "AAAA-MM-JJTHH:MM).") from None
    return supported(moment if moment.tzinfo else moment.replace(tzinfo=tz), text)


@bp.get("/week")
@documented(query={"week": "un jour de la semaine voulue, AAAA-MM-JJ (défaut : cette "
                           "semaine)"}, tag="textbook")
@api_view
def week() -> Response:
    """The signed-in user's week, as their week page shows it: one entry per reader (a
    teacher's services; a student; each child of a parent, ``child`` their login), each
    day's lessons with their activities and the homework due that day."""
    principal = signed_in()
    teacher = principal.profile.value == "teacher"
    with web_context().db.transaction(write=False) as s:
        monday, tz, weeks, _school = textbook.weeks_of(s, principal, request.args.get("week"),
                                                web_context().textbook)
        return jsonify({"monday": monday.isoformat(), "weeks": [{
            "child": child,
            "days": [{"day": d.day.isoformat(),
                      "lessons": [{"id": r.lesson.id, "subject": r.subject, "group": r.group,
                                   "status": r.lesson.status.value, "room": r.lesson.room,
                                   **_times(r.start, r.end, tz),
                                   "activities": [activity_json(a, teacher)
                                                  for a in r.activities]}
                                  for r in d.lessons],
                      "due": [{"subject": row.subject, "due": row.due.isoformat(),
                               "activity": activity_json(row.activity, teacher)}
                              for row in d.due]} for d in days]}
            for child, days in weeks]})


@bp.get("/lessons/<int:lesson_id>")
@documented(tag="textbook")
@api_view
def lesson(lesson_id: int) -> Response:
    """A lesson and the activities its reader may see (404 for a student or parent
    whose children do not have it, 403 for another teacher). For its teachers, each
    homework has ``done_count`` and ``student_count``: how many of the students it is
    aimed at ticked it done."""
    principal = signed_in()
    with web_context().db.transaction(write=False) as s:
        found = textbook.get_lesson(s, lesson_id)
        reader = textbook.reader_of(s, principal, found)
        items = textbook.readable_activities(s, found, reader, web_context().textbook)
        answer = _lesson(s, found, reader is None, items)
        counts = textbook.done_counts(s, items) if reader is None else {}
        for view in answer["activities"]:
            if view["id"] in counts:
                view["done_count"], view["student_count"] = counts[view["id"]]
        return jsonify(answer)


@bp.post("/lessons/<int:lesson_id>/activities")
@documented(body=ActivityBody, status=201, tag="textbook")
@api_view
def add_activity(lesson_id: int) -> tuple[Response, int]:
    """Add a content or a homework to a lesson of one of the teacher's services (the
    due lesson: one of the service's next lessons, the next one by default)."""
    body = json_body(ActivityBody)
    principal = signed_in()
    with web_context().db.transaction() as s:
        kind_of = body.homework_type
        if body.kind == "homework" and not kind_of:
            school = s.get_one(textbook.TeachingService, textbook.get_lesson(
                s, lesson_id).service_id).school_id
            kind_of = textbook.homework_types(s, school)[0]
        data = textbook.ActivityInput(
            kind=textbook.ActivityKind(body.kind), title=body.title, body=body.body,
            private_note=body.private_note, homework_type=kind_of, minutes=body.minutes,
            due_lesson_id=body.due_lesson_id, online_submission=body.online_submission,
            target_ids=tuple(body.target_ids))
        activity = textbook.add_activity(s, principal.id, lesson_id, data,
                                         web_context().textbook)
        return jsonify(activity_json(activity, True)), 201


@bp.post("/lessons")
@documented(body=NewLesson, status=201, tag="textbook")
@api_view
def new_lesson() -> tuple[Response, int]:
    """Make a lesson by hand ("Nouvelle séance") in one of the teacher's services."""
    body = json_body(NewLesson)
    principal = signed_in()
    with web_context().db.transaction() as s:
        service = s.get(textbook.TeachingService, body.service_id)
        tz = textbook.school_zone(s, service.school_id if service else None)
        made = textbook.new_lesson(s, principal.id, body.service_id,
                                   _parse(body.start, tz, "start"),
                                   _parse(body.end, tz, "end"), body.room)
        return jsonify(_lesson(s, made, True, [])), 201


@bp.post("/lessons/<int:lesson_id>/move")
@documented(body=LessonTimes, tag="textbook")
@api_view
def move_lesson(lesson_id: int) -> Response:
    """Move a future lesson (its resource bookings follow when free)."""
    body = json_body(LessonTimes)
    principal = signed_in()
    with web_context().db.transaction() as s:
        found = textbook.get_lesson(s, lesson_id)
        tz = textbook.school_zone(s, s.get_one(textbook.TeachingService,
                                               found.service_id).school_id)
        moved = textbook.reschedule_lesson(s, principal.id, lesson_id,
                                           _parse(body.start, tz, "start"),
                                           _parse(body.end, tz, "end"))
        return jsonify(_lesson(s, moved, True, textbook.lesson_activities(s, moved.id)))


@bp.post("/lessons/<int:lesson_id>/cancel")
@documented(tag="textbook")
@api_view
def cancel_lesson(lesson_id: int) -> Response:
    """Cancel a lesson (it stays, marked cancelled; its resource bookings are
    cancelled)."""
    principal = signed_in()
    with web_context().db.transaction() as s:
        done = textbook.cancel_lesson(s, principal.id, lesson_id)
        return jsonify(_lesson(s, done, True, textbook.lesson_activities(s, done.id)))


@bp.post("/lessons/<int:lesson_id>/uncancel")
@documented(tag="textbook")
@api_view
def uncancel_lesson(lesson_id: int) -> Response:
    """Reinstate a cancelled lesson (409 when it is not cancelled, or when the class
    has another lesson at that time now); its cancelled bookings are not made again."""
    principal = signed_in()
    with web_context().db.transaction() as s:
        done = textbook.uncancel_lesson(s, principal.id, lesson_id)
        return jsonify(_lesson(s, done, True, textbook.lesson_activities(s, done.id)))
