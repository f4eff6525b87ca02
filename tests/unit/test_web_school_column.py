"""The « Mon établissement » column and the services bar of every signed-in page
(issue 20, "Navigation"; ``web/rubrics/column.py``, ``base.html``).

The whole application runs in-process (WSGI, no socket) on SQLite, signed in through
the real sign-in form, as in :mod:`tests.unit.test_web_queries`: a student sees the
rubrics granted to students, not the teachers' one; sub-rubrics are folded or
unfolded as their preference says; the column costs the same number of SQL
statements for 3 and for 40 rubrics. « Réservations » is offered only to whoever may
book a resource or manages a domain.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html
from werkzeug.test import Client

import acl
from davserver.app import Application
from tests.unit.conftest import count_queries
from tests.unit.test_web_queries import PASSWORD, _app, _signed_in
from web import booking
from web.booking import admin as booking_admin

# The rights check is acl's, tested on both databases; here only the page's use of it,
# in-process on SQLite (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

STUDENTS = acl.Population(profile=acl.Profile.student)
TEACHERS = acl.Population(profile=acl.Profile.teacher)


def _school(app: Application, clubs: int = 0) -> int:
    """Collège Jean Moulin: ben (student, 4B), ann (teacher). « Vie scolaire » is read
    by students and shows its home page; its sub-rubric « CDI » inherits the grant
    (no home page: its shared folders); « Conseil pédagogique » is for teachers only;
    ``clubs`` more rubrics for students, each with one sub-rubric."""
    with app.db.transaction() as s:
        school = acl.ensure_school(s, "Collège Jean Moulin")
        ben = acl.create_user(s, "ben", PASSWORD, "student", school_id=school).id
        acl.add_member(s, acl.ensure_group(s, school, "4B"), ben)
        acl.create_user(s, "ann", PASSWORD, "teacher", school_id=school)
        acl.add_rubric(s, "vie-scolaire", "Vie scolaire", school_id=school)
        acl.grant(s, "vie-scolaire", acl.Role.visitor, pop=STUDENTS)
        acl.set_general(s, "vie-scolaire", name="Vie scolaire", home_page=True)
        acl.add_rubric(s, "cdi", "CDI", parent="vie-scolaire")
        acl.add_rubric(s, "conseil-pedagogique", "Conseil pédagogique", school_id=school)
        acl.grant(s, "conseil-pedagogique", acl.Role.visitor, pop=TEACHERS)
        for i in range(clubs):
            acl.add_rubric(s, f"club-{i:03d}", f"Club {i:03d}", school_id=school)
            acl.grant(s, f"club-{i:03d}", acl.Role.visitor, pop=STUDENTS)
            acl.add_rubric(s, f"club-{i:03d}-photos", f"Photos du club {i:03d}",
                           parent=f"club-{i:03d}")
        return ben


def _column(client: Client, url: str = "/notifications/") -> html.HtmlElement:
    answer = client.get(url)
    assert answer.status_code == 200, url
    found = html.fromstring(answer.get_data(as_text=True)).xpath(
        '//aside[@class="school-column"]//nav[@aria-labelledby="school-column-title"]')
    assert len(found) == 1, "no « Mon établissement » column"
    return found[0]


def _links(column: html.HtmlElement) -> dict[str, str]:
    return {a.text_content().strip(): a.get("href") for a in column.iter("a")}


def test_a_student_sees_the_rubrics_they_may_read_and_not_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(tmp_path, monkeypatch)
    _school(app)
    column = _column(_signed_in(app, "ben"))
    title = column.xpath('.//summary[@id="school-column-title"]')
    assert [t.text_content() for t in title] == ["Mon établissement"]
    # The home page when it is shown to readers, else the shared folders.
    assert _links(column) == {"Vie scolaire": "/rubriques/vie-scolaire/",
                              "CDI": "/documents/rubriques/cdi/"}
    sub = column.xpath('.//li[a="Vie scolaire"]/details[@class="sub-rubrics"]//a')
    assert [a.text for a in sub] == ["CDI"]
    # The teacher sees theirs too, and it leads to its folders (no home page).
    assert _links(_column(_signed_in(app, "ann"))) == {
        "Conseil pédagogique": "/documents/rubriques/conseil-pedagogique/"}


def test_sub_rubrics_fold_or_unfold_as_the_preference_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(tmp_path, monkeypatch)
    ben = _school(app)
    client = _signed_in(app, "ben")
    folds = _column(client).xpath('.//details[@class="sub-rubrics"]')
    assert len(folds) == 1 and folds[0].get("open") is None
    with app.db.transaction() as s:
        acl.save_preferences(s, ben, acl.Preferences(unfold_rubrics=True))
    folds = _column(client).xpath('.//details[@class="sub-rubrics"]')
    assert len(folds) == 1 and folds[0].get("open") is not None
    assert "aria-current" in html.tostring(_column(client, "/rubriques/vie-scolaire/"),
                                           encoding="unicode")


def test_the_column_costs_the_same_for_3_and_40_rubrics(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = {}
    for clubs in (0, 20):
        app = _app(tmp_path / str(clubs), monkeypatch)
        ben = _school(app, clubs)
        with app.db.transaction() as s:
            acl.save_preferences(s, ben, acl.Preferences(unfold_rubrics=True))
        client = _signed_in(app, "ben")
        assert len(_links(_column(client))) == 2 + 2 * clubs
        with count_queries(app.db) as counter:
            assert client.get("/notifications/").status_code == 200
        counts[clubs] = len(counter.statements)
    assert counts[0] == counts[20], counts


def test_reservations_is_offered_to_who_may_book_or_manages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(tmp_path, monkeypatch)
    _school(app)
    with app.db.transaction() as s:
        acl.create_user(s, "gest", PASSWORD, "staff",
                        school_id=acl.ensure_school(s, "Collège Jean Moulin"))

    def offered(login: str) -> bool:
        page = _signed_in(app, login).get("/notifications/").get_data(as_text=True)
        nav = html.fromstring(page).xpath('//nav[@aria-label="Navigation principale"]')[0]
        return "Réservations" in [a.text_content().strip() for a in nav.iter("a")]

    assert not offered("ann") and not offered("ben") and not offered("gest")
    with app.db.transaction() as s:
        school = acl.ensure_school(s, "Collège Jean Moulin")
        rooms = booking_admin.add_domain(s, school, "Salles", booking_admin.Hours(),
                                         profiles=["teacher"], managers=["gest"]).id
    # A domain without a resource: nothing to book yet, but its manager manages it.
    assert not offered("ann") and offered("gest")
    with app.db.transaction() as s:
        domain = s.get_one(booking.ResourceDomain, rooms)
        booking_admin.add_resource(s, domain, "Salle B12", "place")
    assert offered("ann") and not offered("ben")
