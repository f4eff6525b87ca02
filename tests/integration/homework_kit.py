"""What the student and parent view tests (pages, API, Chromium) share: one school
set up through ``acl`` and ``web.textbook`` on the server's own database.

Collège Jean Moulin, Europe/Paris, weeks of Monday 2026-08-31 and 2026-09-07:

=========  =====  ======================  ===========================================
Mon 31/08  08:00  MATHS 4B (ann) ``P0``   gives ``H6`` « Révisions », due P1
Thu 03/09  08:00  MATHS 4B (ann) ``P1``
Mon 07/09  08:00  MATHS 4B (ann) ``M1``   content ``K1``; gives ``H1`` due M2, ``H3``
                                          due M3 for dora only, ``H4`` due M2 not
                                          visible before 2099
Mon 07/09  10:00  MATHS 4C (ann) ``C1``   gives ``H5`` due C2
Tue 08/09  09:00  FR 4B (carl)   ``F1``   gives ``H2`` « Rédaction » (Devoir maison),
                                          due F2
Tue 08/09  10:00  MATHS 4C (ann) ``C2``
Wed 09/09  10:00  MATHS 4B (ann) ``M2``
Thu 10/09  09:00  FR 4B (carl)   ``F2``
Fri 11/09  08:00  MATHS 4B (ann) ``M3``   gives ``H7`` due M4
Mon 14/09  08:00  MATHS 4B (ann) ``M4``
=========  =====  ======================  ===========================================

People: ann, carl (teachers), hugo (direction), ada (admin); ben, dora (4B), zoe,
eve (4C); paul parent of ben and zoe, mia parent of dora, pia parent of eve.
H2 is given before H1, so the due date, not the id, orders the list.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import acl
from tests.conftest import PASSWORD, Server
from tests.web import WebClient
from web import textbook

PARIS = ZoneInfo("Europe/Paris")
SCHOOL = "Collège Jean Moulin"
WEEK, PREVIOUS = "2026-09-07", "2026-08-31"
PEOPLE = {"ann": ("teacher", ()), "carl": ("teacher", ()), "hugo": ("head", ()),
          "ada": ("admin", ()), "ben": ("student", ("4B",)), "dora": ("student", ("4B",)),
          "zoe": ("student", ("4C",)), "eve": ("student", ("4C",)),
          "paul": ("parent", ()), "mia": ("parent", ()), "pia": ("parent", ())}
PARENTS = {"paul": ("ben", "zoe"), "mia": ("dora",), "pia": ("eve",)}
LESSONS = {  # name: (teacher, group, subject, (month, day), hour)
    "P0": ("ann", "4B", "MATHS", (8, 31), 8), "P1": ("ann", "4B", "MATHS", (9, 3), 8),
    "M1": ("ann", "4B", "MATHS", (9, 7), 8), "C1": ("ann", "4C", "MATHS", (9, 7), 10),
    "F1": ("carl", "4B", "FR", (9, 8), 9), "C2": ("ann", "4C", "MATHS", (9, 8), 10),
    "M2": ("ann", "4B", "MATHS", (9, 9), 10), "F2": ("carl", "4B", "FR", (9, 10), 9),
    "M3": ("ann", "4B", "MATHS", (9, 11), 8), "M4": ("ann", "4B", "MATHS", (9, 14), 8),
}
HOMEWORK = {  # name: (teacher, given in, title, type, due lesson, targets)
    "H2": ("carl", "F1", "Rédaction", "Devoir maison", "F2", ()),
    "H1": ("ann", "M1", "Exercices 1 p. 10", "Exercices", "M2", ()),
    "H3": ("ann", "M1", "Fiche Dora", "Autre", "M3", ("dora",)),
    "H4": ("ann", "M1", "Pas encore visible", "Exercices", "M2", ()),
    "H5": ("ann", "C1", "Problème 4C", "Exercices", "C2", ()),
    "H6": ("ann", "P0", "Révisions", "Exercices", "P1", ()),
    "H7": ("ann", "M3", "Semaine suivante", "Exercices", "M4", ()),
}


def uid(s: Session, login: str) -> int:
    found = acl.find_user(s, login)
    assert found is not None, login
    return found.id


def _people(server: Server, s: Session, school: int) -> None:
    for login, (profile, groups) in PEOPLE.items():
        user = acl.create_user(s, login, PASSWORD, profile, school_id=school)
        for group in groups:
            acl.add_member(s, acl.ensure_group(s, school, group), user.id)
        server.users[login] = PASSWORD
    for parent, children in PARENTS.items():
        for child in children:
            acl.link_parent(s, uid(s, parent), uid(s, child))


def build_school(server: Server) -> dict[str, int]:
    """The school above; returns lesson and activity ids by name."""
    ids: dict[str, int] = {}
    with server.transaction() as s:
        school = acl.ensure_school(s, SCHOOL)
        _people(server, s, school)
        year = textbook.set_school_year(s, school, date(2026, 8, 24), date(2027, 7, 4))
        for name, (teacher, group, subject, (month, day), hour) in LESSONS.items():
            service = textbook.ensure_service(
                s, school, acl.ensure_group(s, school, group),
                acl.ensure_subject(s, school, subject), [uid(s, teacher)])
            start = datetime(2026, month, day, hour, tzinfo=PARIS)
            ids[name] = textbook.create_lesson(s, service, start, start + timedelta(hours=1),
                                               year).id
        ids["K1"] = textbook.add_activity(s, uid(s, "ann"), ids["M1"], textbook.ActivityInput(
            textbook.ActivityKind.content, "Cours sur les fractions")).id
        for name, (teacher, given, title, kind, due, targets) in HOMEWORK.items():
            ids[name] = textbook.add_activity(s, uid(s, teacher), ids[given],
                                              textbook.ActivityInput(
                textbook.ActivityKind.homework, title, body=f"<p>{title} : consignes</p>",
                homework_type=kind, minutes=20, due_lesson_id=ids[due],
                target_ids=tuple(uid(s, t) for t in targets))).id
        s.get_one(textbook.Activity, ids["H4"]).visible_from = datetime(2099, 1, 1, tzinfo=UTC)
    return ids


def rooms_for_teachers(server: Server, managers: tuple[str, ...] = ()) -> None:
    """A resource domain « Salles » where the school's teachers book « Salle B12 »,
    managed by ``managers`` (logins): booking is offered to ann, carl and the
    managers, not to the others (hugo, ada, the students)."""
    from web.booking import admin as booking_admin

    with server.transaction() as s:
        domain = booking_admin.add_domain(s, acl.find_school(s, SCHOOL), "Salles",
                                          booking_admin.Hours(), profiles=["teacher"],
                                          managers=managers)
        booking_admin.add_resource(s, domain, "Salle B12", "place")


def signed_in(server: Server, login: str) -> WebClient:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def ticks(server: Server) -> list[tuple[int, int]]:
    """Every (activity, student) tick, in order."""
    with server.transaction() as s:
        return sorted((a, b) for a, b in s.execute(select(
            textbook.HomeworkDone.activity_id, textbook.HomeworkDone.student_id)))


def type_rows(server: Server) -> int:
    with server.transaction() as s:
        return int(s.scalar(select(func.count(textbook.HomeworkType.id))) or 0)
