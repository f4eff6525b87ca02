"""What the online-submission tests share (issue 7, "remise en ligne"): the people and
lessons of :mod:`tests.integration.oversight_kit` plus students and homework whose due
lessons are placed around the clock, and helpers for the JSON API. A module that uses
it pins its clock in term time (``pytestmark = pytest.mark.clock(IN_TERM)``): on a
Sunday, ``LF`` would fall outside every week view (Monday to Saturday), and after the
school year, no lesson could be placed.

Added to school A: lea and max (students of 4B), zoe (student of 4C), pam (parent of
ben). Lessons of MATHS 4B (ann): ``L0`` yesterday, ``LF`` in a week. Homework, all
online unless said:

===========  ======  ======  ===============================================
``HW_OPEN``  L0      LF      the whole class, on time
``HW_BEN``   L0      LF      aimed at ben only
``HW_LATE``  M1      M2      due in September 2026: every hand-in is late
``HW_SHUT``  L0      LF      closed and reopened by the tests
``HW_OFF``   L0      LF      online submission off
===========  ======  ======  ===============================================
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import requests

import acl
from davserver import clock
from tests.conftest import IN_TERM, PASSWORD, Server, instant, running_server
from tests.integration.oversight_kit import SCHOOL_A, add_people, uid
from tests.web import WebClient, csrf_token
from web import textbook

STUDENTS = {"lea": "4B", "max": "4B", "zoe": "4C"}


def _homework(s: object, lesson: int, due: int, title: str, online: bool = True,
              targets: tuple[int, ...] = ()) -> int:
    return textbook.add_activity(s, uid(s, "ann"), lesson, textbook.ActivityInput(  # type: ignore[arg-type]
        textbook.ActivityKind.homework, title, homework_type="Devoir maison",
        due_lesson_id=due, online_submission=online, target_ids=targets)).id


def add_handin_world(server: Server) -> dict[str, int]:
    """Everything of the module docstring; returns ids by name (lessons, homework,
    and every login)."""
    ids = add_people(server, [])
    with server.transaction() as s:
        school = acl.find_school(s, SCHOOL_A)
        for login, group in STUDENTS.items():
            user = acl.create_user(s, login, PASSWORD, "student", school_id=school)
            acl.add_member(s, acl.ensure_group(s, school, group), user.id)
            server.users[login] = PASSWORD
        pam = acl.create_user(s, "pam", PASSWORD, "parent", school_id=school)
        acl.link_parent(s, pam.id, uid(s, "ben"))
        server.users["pam"] = PASSWORD
        service = textbook.ensure_service(s, school, acl.ensure_group(s, school, "4B"),
                                          acl.ensure_subject(s, school, "MATHS"), [])
        year = textbook.current_school_year(s, school)
        now = clock.now().replace(second=0, microsecond=0)
        for name, start in (("L0", now - timedelta(days=1)), ("LF", now + timedelta(days=7))):
            ids[name] = textbook.create_lesson(s, service, start, start + timedelta(hours=1),
                                               year).id
        ids["HW_OPEN"] = _homework(s, ids["L0"], ids["LF"], "Rédaction")
        ids["HW_BEN"] = _homework(s, ids["L0"], ids["LF"], "Exposé de Ben",
                                  targets=(uid(s, "ben"),))
        ids["HW_LATE"] = _homework(s, ids["M1"], ids["M2"], "Exercices de septembre")
        ids["HW_SHUT"] = _homework(s, ids["L0"], ids["LF"], "Fiche de lecture")
        ids["HW_OFF"] = _homework(s, ids["L0"], ids["LF"], "Sur papier", online=False)
        for login in (*server.users, "pam"):
            ids[login] = uid(s, login)
    return ids


@contextmanager
def handin_server(tmp: Path, ids: dict[str, int]) -> Iterator[Server]:
    """A running server with :func:`add_handin_world`, its ids put in ``ids``."""
    pinned_at = instant(IN_TERM)
    assert abs(clock.now() - pinned_at) < timedelta(hours=1), (
        "pin the module's clock: pytestmark = pytest.mark.clock(IN_TERM)")
    with running_server(tmp) as server:
        ids.update(add_handin_world(server))
        yield server


def api(client: WebClient, method: str, path: str, data: bytes | None = None,
        **kw: object) -> requests.Response:
    """An API call with the session's CSRF token (read from the home page)."""
    token = csrf_token(client.get("/").text)
    headers = {"X-CSRFToken": token}
    if data is not None:
        headers["Content-Type"] = "application/octet-stream"
    return client.http.request(method, client.url(path), data=data, headers=headers,
                               allow_redirects=False, timeout=30, **kw)  # type: ignore[arg-type]


def hand_in(client: WebClient, activity: int, name: str, data: bytes) -> requests.Response:
    return api(client, "PUT", f"/api/textbook/activities/{activity}/handin/{name}", data)


def correct(client: WebClient, activity: int, student: int, name: str,
            data: bytes) -> requests.Response:
    return api(client, "PUT",
               f"/api/textbook/activities/{activity}/corrections/{student}/{name}", data)
