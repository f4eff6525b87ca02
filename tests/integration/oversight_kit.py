"""What the oversight tests (visa, inspectors' accesses) share: two schools set up
through ``acl`` and ``web.textbook`` on the server's own database, in one
transaction, and signed-in web clients.

Collège Jean Moulin (school A), week of Monday 2026-09-07, Europe/Paris:

=========  =====  ==========================  =====
Mon 7      08:00  MATHS 4B (ann)  ``M1``       activities ``A1`` (content), ``A2``
Tue 8      09:00  MATHS 4C (ann)  ``C1``
Mon 7      10:00  FR 4B (carl)    ``F1``
Wed 9      10:00  MATHS 4B (ann)  ``M2``
Fri 11     08:00  MATHS 4B (ann)  ``M3``
=========  =====  ==========================  =====

People of A: ann and carl (teachers), hugo (direction), ada (admin), ben (student
of 4B), inspectors. Lycée Victor Hugo (school B): hector (direction) and tom
(teacher, MATHS 2A ``T1``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

import acl
from tests.conftest import PASSWORD, Server, school_today
from tests.web import WebClient
from web import textbook

PARIS = ZoneInfo("Europe/Paris")
SCHOOL_A, SCHOOL_B = "Collège Jean Moulin", "Lycée Victor Hugo"
WEEK = "2026-09-07"
PEOPLE = {  # login: (school, profile, groups)
    "ann": (SCHOOL_A, "teacher", ()), "carl": (SCHOOL_A, "teacher", ()),
    "hugo": (SCHOOL_A, "head", ()), "ada": (SCHOOL_A, "admin", ()),
    "ben": (SCHOOL_A, "student", ("4B",)),
    "hector": (SCHOOL_B, "head", ()), "tom": (SCHOOL_B, "teacher", ()),
}
LESSONS = {  # name: (school, teacher, group, subject, day of September 2026, hour)
    "M1": (SCHOOL_A, "ann", "4B", "MATHS", 7, 8), "C1": (SCHOOL_A, "ann", "4C", "MATHS", 8, 9),
    "F1": (SCHOOL_A, "carl", "4B", "FR", 7, 10), "M2": (SCHOOL_A, "ann", "4B", "MATHS", 9, 10),
    "M3": (SCHOOL_A, "ann", "4B", "MATHS", 11, 8), "T1": (SCHOOL_B, "tom", "2A", "MATHS", 7, 8),
}


def today() -> date:
    """Today in the schools' time zone (what the server compares access dates with)."""
    return school_today()


def uid(s: Session, login: str) -> int:
    found = acl.find_user(s, login)
    assert found is not None, login
    return found.id


def add_people(server: Server, inspectors: list[str]) -> dict[str, int]:
    """The schools, :data:`PEOPLE`, the inspectors (no school: they visit many), the
    lessons of :data:`LESSONS` and activities A1, A2 in M1; returns lesson and
    activity ids by name. Everyone gets :data:`PASSWORD`."""
    ids: dict[str, int] = {}
    with server.transaction() as s:
        schools = {name: acl.ensure_school(s, name) for name in (SCHOOL_A, SCHOOL_B)}
        people = {**PEOPLE, **{login: (None, "inspector", ()) for login in inspectors}}
        for login, (school, profile, groups) in people.items():
            user = acl.create_user(s, login, PASSWORD, profile,
                                   school_id=schools[school] if school else None)
            for group in groups:
                acl.add_member(s, acl.ensure_group(s, schools[school], group), user.id)
            server.users[login] = PASSWORD
        years = {name: textbook.set_school_year(s, sid, date(2026, 9, 1), date(2027, 7, 4))
                 for name, sid in schools.items()}
        for name, (school, teacher, group, subject, day, hour) in LESSONS.items():
            service = textbook.ensure_service(
                s, schools[school], acl.ensure_group(s, schools[school], group),
                acl.ensure_subject(s, schools[school], subject), [uid(s, teacher)])
            start = datetime(2026, 9, day, hour, tzinfo=PARIS)
            ids[name] = textbook.create_lesson(s, service, start, start + timedelta(hours=1),
                                               years[school]).id
        for name in ("A1", "A2"):
            ids[name] = textbook.add_activity(s, uid(s, "ann"), ids["M1"], textbook.ActivityInput(
                textbook.ActivityKind.content, f"Activité {name}")).id
    return ids


def signed_in(server: Server, login: str) -> WebClient:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def open_access(server: Server, inspector: str, first: date, last: date,
                services: tuple[str, ...] = ()) -> int:
    """An access opened by hugo on ann's textbook through the service; ``services``
    are ``(group, subject)`` pairs such as ``"4B MATHS"``."""
    with server.transaction() as s:
        school = acl.find_school(s, SCHOOL_A)
        service_ids = []
        for name in services:
            group, subject = name.split()
            service_ids.append(textbook.ensure_service(
                s, school, acl.ensure_group(s, school, group),
                acl.ensure_subject(s, school, subject), []).id)
        return textbook.open_access(s, uid(s, "hugo"), textbook.AccessInput(
            uid(s, inspector), uid(s, "ann"), first, last, tuple(service_ids))).id
