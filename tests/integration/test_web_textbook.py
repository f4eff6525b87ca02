"""The cahier de textes in the browser (issue 5), against a real server process:
a teacher fills in a lesson (content and homework, bodies sanitized), the default
due lesson and the class's workload, the student's and the parent's weeks, the
table of who sees what, and a form without its CSRF token.

The week of Monday 2026-09-07 (Europe/Paris), class 4B:

========  ========  =====================================  ==================
Mon 7     08:00     MATHS (ann)  ``L1``                     the lesson filled in
Mon 7     10:00     FR (carl)    ``F0``                     gives 30 min for F1
Tue 8     09:00     MATHS 4C (carl)  ``C1``                 another class
Wed 9     08:00     FR (carl)    ``F1``
Wed 9     10:00     MATHS (ann)  ``L2``                     next lesson of L1
Thu 10    14:00     MATHS (ann)  ``X``, cancelled
Fri 11    08:00     MATHS (ann)  ``L3``
========  ========  =====================================  ==================
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from lxml import html
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import acl
from davserver.errors import BadRequest
from tests.conftest import IN_TERM, PASSWORD, Server, running_server
from tests.integration.test_web_accessibility import shots
from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS
from tests.web import WebClient, csrf_token
from web import textbook

pytestmark = pytest.mark.clock(IN_TERM)

USERS = {"ann": "teacher", "carl": "teacher", "fred": "teacher", "ben": "student",
         "dora": "student", "eve": "student", "paul": "parent", "pia": "parent"}
PARIS = ZoneInfo("Europe/Paris")
WEEK = "/textbook/?week=2026-09-07"
NOTE = "Penser à rappeler la calculatrice"
IDS: dict[str, int] = {}  # lesson name → id, filled by the srv fixture
LESSONS = {"L1": ("ann", "4B", "MATHS", 7, 8), "F0": ("carl", "4B", "FR", 7, 10),
           "C1": ("carl", "4C", "MATHS", 8, 9), "F1": ("carl", "4B", "FR", 9, 8),
           "L2": ("ann", "4B", "MATHS", 9, 10), "X": ("ann", "4B", "MATHS", 10, 14),
           "L3": ("ann", "4B", "MATHS", 11, 8)}


def uid(s: Session, login: str) -> int:
    found = acl.find_user(s, login)
    assert found is not None
    return found.id


def _lessons(s: Session, school: int) -> dict[str, int]:
    year = textbook.set_school_year(s, school, date(2026, 9, 1), date(2027, 7, 4))
    ids = {}
    for name, (teacher, group, subject, day, hour) in LESSONS.items():
        service = textbook.ensure_service(
            s, school, acl.ensure_group(s, school, group),
            acl.ensure_subject(s, school, subject), [uid(s, teacher)])
        start = datetime(2026, 9, day, hour, tzinfo=PARIS)
        end = start.replace(hour=hour + 1)
        ids[name] = textbook.create_lesson(s, service, start, end, year).id
    return ids


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The week above; ben and dora in 4B, eve in 4C; paul parent of ben, pia of eve;
    carl's homework in F0 (30 min, due F1 by default)."""
    with running_server(tmp_path_factory.mktemp("textbook-web"), users=USERS) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            for login, group in (("ben", "4B"), ("dora", "4B"), ("eve", "4C")):
                acl.add_member(s, acl.ensure_group(s, school, group), uid(s, login))
            acl.link_parent(s, uid(s, "paul"), uid(s, "ben"))
            acl.link_parent(s, uid(s, "pia"), uid(s, "eve"))
            IDS.update(_lessons(s, school))
            s.get_one(textbook.Lesson, IDS["X"]).status = textbook.LessonStatus.cancelled
            textbook.add_activity(s, uid(s, "carl"), IDS["F0"], textbook.ActivityInput(
                textbook.ActivityKind.homework, "Rédaction", homework_type="Devoir maison",
                minutes=30))
        yield server


def lesson_id(server: Server, name: str) -> int:
    return IDS[name]


def signed_in(server: Server, login: str) -> WebClient:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def page_tree(answer: requests.Response) -> html.HtmlElement:
    assert answer.status_code == 200, answer.text
    return html.fromstring(answer.text)


def post_panel(client: WebClient, lesson: int, kind: str,
               fields: dict[str, str]) -> requests.Response:
    """Submit the lesson page's ``contenus`` or ``travaux`` form with its token;
    field names get the form's prefix (``content-``, ``homework-``)."""
    prefix = "content-" if kind == "contenus" else "homework-"
    token = csrf_token(client.get(f"/textbook/seances/{lesson}").text)
    return client.post(f"/textbook/seances/{lesson}/{kind}",
                       {"csrf_token": token, **{prefix + k: v for k, v in fields.items()}})


def activity_count(server: Server) -> int:
    with server.transaction() as s:
        return int(s.scalar(select(func.count(textbook.Activity.id))) or 0)


def text(node: html.HtmlElement, xpath: str) -> str:
    return " ".join(" ".join("".join(n.itertext()) for n in node.xpath(xpath)).split())


def test_teacher_adds_sanitized_content_and_homework_due_next_lesson(srv: Server) -> None:
    ann, l1 = signed_in(srv, "ann"), lesson_id(srv, "L1")
    tree = page_tree(ann.get(f"/textbook/seances/{l1}"))
    assert "1 travaux (30 min) ; dans la semaine : 1 travaux (30 min)" in \
        text(tree, '//p[contains(@class, "workload")]')
    selected = tree.xpath('//select[@name="homework-due_lesson"]/option[@selected]/@value')
    assert selected == [str(lesson_id(srv, "L2"))]
    options = tree.xpath('//select[@name="homework-due_lesson"]/option/@value')
    assert str(lesson_id(srv, "X")) not in options  # cancelled: no homework due there

    body = ('<p onclick="steal()">Théorème de <b>Pythagore</b><script>alert(1)</script>'
            '</p><iframe src="https://evil.example/"></iframe>')
    answer = post_panel(ann, l1, "contenus", {"title": "Pythagore", "body": body,
                                              "private_note": NOTE})
    assert answer.status_code == 303, answer.text
    answer = post_panel(ann, l1, "travaux", {
        "title": "Exercices 3 et 4 p. 52", "body": "<p>Faire les exercices</p>",
        "homework_type": "Exercices", "minutes": "45", "due_lesson": selected[0]})
    assert answer.status_code == 303, answer.text

    tree = page_tree(ann.get(f"/textbook/seances/{l1}"))
    content = tree.xpath('//li[contains(@class, "activity content")]//div[@class="body"]')[0]
    assert content.xpath(".//b")[0].text == "Pythagore"
    assert not content.xpath(".//script | .//iframe | .//*[@onclick]")
    assert "alert" not in html.tostring(content, encoding="unicode")
    with srv.transaction() as s:  # cleaned when saved, not only when shown
        stored = s.scalar(select(textbook.Activity.body)
                          .where(textbook.Activity.title == "Pythagore"))
    assert stored is not None and "<b>Pythagore</b>" in stored
    assert not any(bad in stored for bad in ("script", "iframe", "onclick", "alert"))
    assert NOTE in text(tree, '//p[@class="private-note"]')
    assert "À faire pour le mercredi 09/09 10:00" in text(tree, '//p[@class="due-at"]')
    assert "2 travaux (75 min) ; dans la semaine : 2 travaux (75 min)" in \
        text(tree, '//p[contains(@class, "workload")]')

    week = page_tree(ann.get(WEEK))
    assert week.xpath(f'//div[@data-lesson="{l1}"][contains(@class, "has-content")]')
    assert not week.xpath(f'//div[@data-lesson="{lesson_id(srv, "L3")}"]'
                          '[contains(@class, "has-content")]')
    assert "Exercices 3 et 4 p. 52" in text(week, '//div[@data-day="2026-09-09"]'
                                                  '//li[@class="homework-due"]')
    assert week.xpath(f'//div[@data-lesson="{lesson_id(srv, "X")}"][contains(@class, '
                      '"cancelled")]')


def test_workload_counts_every_subject_of_the_class(srv: Server) -> None:
    with srv.transaction() as s:
        group = acl.ensure_group(s, acl.find_school(s, "Collège Jean Moulin"), "4B")
        before = textbook.workload_day(s, group, date(2026, 9, 11), PARIS)
        activity = textbook.add_activity(
            s, uid(s, "ann"), lesson_id(srv, "L2"),
            textbook.ActivityInput(textbook.ActivityKind.homework, "Révisions",
                                   homework_type="Autre", minutes=20))
        assert activity.due_lesson_id == lesson_id(srv, "L3")  # next lesson by default
        after = textbook.workload_day(s, group, date(2026, 9, 11), PARIS)
        week = textbook.workload_week(s, group, date(2026, 9, 11), PARIS)
        other = textbook.workload_week(s, acl.ensure_group(
            s, acl.find_school(s, "Collège Jean Moulin"), "4C"), date(2026, 9, 9), PARIS)
    assert (after.count - before.count, after.minutes - before.minutes) == (1, 20)
    assert week.count >= 2 and week.minutes >= 50  # F1's 30 min and L3's 20 min at least
    assert other == textbook.Workload(0, 0)


def test_student_sees_homework_on_due_day_without_private_note(srv: Server) -> None:
    ann, l1 = signed_in(srv, "ann"), lesson_id(srv, "L1")
    assert post_panel(ann, l1, "contenus", {"title": "Aires", "private_note": NOTE}) \
        .status_code == 303
    assert post_panel(ann, l1, "travaux", {
        "title": "Fiche d'exercices", "homework_type": "Exercices", "minutes": "15",
        "due_lesson": str(lesson_id(srv, "L2")), "private_note": NOTE}).status_code == 303
    ben = signed_in(srv, "ben")
    answer = ben.get(WEEK)
    week = page_tree(answer)
    assert NOTE not in answer.text
    assert "Fiche d'exercices" in text(week, '//div[@data-day="2026-09-09"]')
    assert "Fiche d'exercices" not in text(week, '//div[@data-day="2026-09-07"]')
    assert "Aires" in text(week, f'//div[@data-lesson="{l1}"]')
    assert not week.xpath(f'//div[@data-lesson="{lesson_id(srv, "X")}"]')  # cancelled
    lesson_page = ben.get(f"/textbook/seances/{l1}")
    assert lesson_page.status_code == 200 and NOTE not in lesson_page.text
    assert "Fiche d'exercices" in text(page_tree(lesson_page), "//main")
    assert not page_tree(lesson_page).xpath("//form[contains(@class, 'panel')]")
    previous = page_tree(ben.get(WEEK)).xpath('//a[@rel="prev"]/@href')
    assert previous == ["/textbook/?week=2026-08-31"]


def test_homework_for_chosen_students_only(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    with srv.transaction() as s:
        dora = uid(s, "dora")
    answer = post_panel(ann, lesson_id(srv, "L1"), "travaux", {
        "title": "Rattrapage pour Dora", "homework_type": "Autre", "targets": str(dora),
        "due_lesson": str(lesson_id(srv, "L2"))})
    assert answer.status_code == 303, answer.text
    assert "Rattrapage pour Dora" in signed_in(srv, "dora").get(WEEK).text
    assert "Rattrapage pour Dora" not in signed_in(srv, "ben").get(WEEK).text
    with srv.transaction() as s:
        eve = uid(s, "eve")
    refused = post_panel(ann, lesson_id(srv, "L1"), "travaux", {
        "title": "Pour Eve", "homework_type": "Autre", "targets": str(eve),
        "due_lesson": str(lesson_id(srv, "L2"))})
    assert refused.status_code == 400  # not a choice of this class


def test_parent_sees_each_childs_week(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    assert post_panel(ann, lesson_id(srv, "L1"), "travaux", {
        "title": "Lire le chapitre 2", "homework_type": "Exercices",
        "due_lesson": str(lesson_id(srv, "L2")), "private_note": NOTE}).status_code == 303
    answer = signed_in(srv, "paul").get(WEEK)
    week = page_tree(answer)
    assert week.xpath('//section[@data-child="ben"]')
    assert "Lire le chapitre 2" in text(week, '//section[@data-child="ben"]'
                                              '//div[@data-day="2026-09-09"]')
    assert NOTE not in answer.text
    assert "Lire le chapitre 2" not in signed_in(srv, "pia").get(WEEK).text


def test_bad_due_lesson_is_refused_with_the_reason(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    before = activity_count(srv)
    answer = post_panel(ann, lesson_id(srv, "L2"), "travaux", {
        "title": "Trop tôt", "homework_type": "Exercices",
        "due_lesson": str(lesson_id(srv, "L1"))})  # before the lesson: not a choice
    assert answer.status_code == 400
    assert "rien n'a été enregistré" in text(page_tree_any(answer), '//*[@role="alert"]')
    with srv.transaction() as s, pytest.raises(BadRequest, match="séance suivante du même"):
        textbook.add_activity(s, uid(s, "ann"), lesson_id(srv, "L1"), textbook.ActivityInput(
            textbook.ActivityKind.homework, "x", homework_type="Autre",
            due_lesson_id=lesson_id(srv, "F1")))
    assert activity_count(srv) == before


def page_tree_any(answer: requests.Response) -> html.HtmlElement:
    return html.fromstring(answer.text)


def test_missing_csrf_token_is_403_and_saves_nothing(srv: Server) -> None:
    ann, l1 = signed_in(srv, "ann"), lesson_id(srv, "L1")
    before = activity_count(srv)
    answer = ann.post(f"/textbook/seances/{l1}/contenus", {"content-title": "Sans jeton"})
    assert answer.status_code == 403
    assert "jeton de sécurité (CSRF)" in answer.text
    assert ann.post(f"/textbook/seances/{l1}/travaux", {
        "homework-title": "Sans jeton", "homework-homework_type": "Autre"}).status_code == 403
    assert activity_count(srv) == before


# Who sees what (issue 5): lesson L1 of ann's MATHS 4B service, one of its
# activities carrying a private note. Per user: the lesson page's status, whether
# the private note shows, whether L1 is in their week, the status of the teacher's
# GETs (edit form, workload JSON), and of every POST (refused ones change nothing).
WHO_SEES_WHAT = {
    # login: (lesson page, note shown, L1 in week, edit form and workload, POSTs)
    "ann": (200, True, True, 200, 303),    # teacher of the service
    "carl": (403, False, False, 403, 403),  # teacher of another service of 4B
    "fred": (403, False, False, 403, 403),  # teacher without services
    "ben": (200, False, True, 403, 403),   # student of 4B
    "eve": (404, False, False, 403, 403),  # student of 4C
    "paul": (200, False, True, 403, 403),  # parent of ben
    "pia": (404, False, False, 403, 403),  # parent of eve
}


def snapshot(server: Server) -> list[tuple[object, ...]]:
    with server.transaction() as s:
        return [(a.id, a.lesson_id, a.title, a.body, a.private_note, a.position,
                 a.due_lesson_id) for a in s.scalars(
                     select(textbook.Activity).order_by(textbook.Activity.id))]


def _posts(server: Server, activity: int) -> list[tuple[str, dict[str, str]]]:
    l1 = lesson_id(server, "L1")
    return [(f"/textbook/seances/{l1}/contenus", {"content-title": "Intrus"}),
            (f"/textbook/seances/{l1}/travaux", {
                "homework-title": "Intrus", "homework-homework_type": "Autre",
                "homework-due_lesson": str(lesson_id(server, "L2"))}),
            (f"/textbook/activites/{activity}/modifier", {"content-title": "Modifié"}),
            (f"/textbook/activites/{activity}/monter", {}),
            (f"/textbook/activites/{activity}/supprimer", {})]


@pytest.mark.parametrize("login", list(WHO_SEES_WHAT))
def test_who_sees_what(srv: Server, login: str) -> None:
    page_status, note_shown, in_week, edit_status, post_status = WHO_SEES_WHAT[login]
    with srv.transaction() as s:
        activity = textbook.add_activity(s, uid(s, "ann"), lesson_id(srv, "L1"),
                                         textbook.ActivityInput(textbook.ActivityKind.content,
                                                                f"Cours {login}",
                                                                private_note=NOTE)).id
    client = signed_in(srv, login)
    page = client.get(f"/textbook/seances/{lesson_id(srv, 'L1')}")
    assert page.status_code == page_status
    assert (NOTE in page.text) is note_shown
    week = page_tree(client.get(WEEK))
    assert bool(week.xpath(f'//div[@data-lesson="{lesson_id(srv, "L1")}"]')) is in_week
    assert client.get(f"/textbook/activites/{activity}/modifier").status_code == edit_status
    load = client.get(f"/textbook/seances/{lesson_id(srv, 'L1')}/charge"
                      f"?echeance={lesson_id(srv, 'L3')}")
    assert load.status_code == edit_status
    if edit_status == 200:
        assert load.json()["text"].startswith("Charge de la classe pour le vendredi 11/09")
    token = csrf_token(client.get("/").text)
    before = snapshot(srv)
    for path, fields in _posts(srv, activity):
        assert client.post(path, {"csrf_token": token, **fields}).status_code == post_status, \
            path
    if post_status != 303:
        assert snapshot(srv) == before
    else:
        with srv.transaction() as s:  # deleted last: to the corbeille
            assert s.get(textbook.TrashedActivity, activity) is not None


@pytest.mark.one_database  # a browser walk, checked over HTTP on both
@pytest.mark.clients
def test_workload_follows_the_chosen_due_lesson_in_a_browser(srv: Server, tmp_path: Path) -> None:
    """Chromium: the lesson page's script (CSP: our origin only) shows the class's
    load for the due lesson picked in the select; the week renders without a CSP
    report. Saves a screenshot of the teacher's week."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    reports: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_context(base_url=srv.base_url).new_page()
        page.on("console", lambda m: reports.append(m.text)
                if "Content Security Policy" in m.text else None)
        page.goto(f"/login?next=/textbook/seances/{lesson_id(srv, 'L1')}")
        page.get_by_label("Identifiant").fill("ann")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        workload = page.locator("p.workload")
        expect(workload).to_contain_text("Charge de la classe pour le mercredi 09/09")
        page.get_by_text("Donner du travail à faire").click()  # the form opens on demand
        page.select_option('select[name="homework-due_lesson"]', str(lesson_id(srv, "L3")))
        expect(workload).to_contain_text("Charge de la classe pour le vendredi 11/09")
        page.goto(WEEK)
        expect(page.locator(f'[data-lesson="{lesson_id(srv, "L1")}"]')).to_be_visible()
        page.screenshot(path=str(shots(tmp_path) / "textbook-teacher-week.png"), full_page=True)
        browser.close()
    assert reports == []
    assert (shots(tmp_path) / "textbook-teacher-week.png").stat().st_size > 0


def _titles(client: WebClient, lesson: int) -> list[str]:
    tree = page_tree(client.get(f"/textbook/seances/{lesson}"))
    return [h.text for h in tree.xpath('//li[contains(@class, "activity")]/h3')]


def test_reorder_and_edit_homework_due_lesson(srv: Server) -> None:
    ann, l3 = signed_in(srv, "ann"), lesson_id(srv, "L3")
    with srv.transaction() as s:  # L3 is the last lesson: no next one, so content only
        for title in ("Un", "Deux", "Trois"):
            textbook.add_activity(s, uid(s, "ann"), l3, textbook.ActivityInput(
                textbook.ActivityKind.content, title))
        last = max(a.id for a in textbook.lesson_activities(s, l3))
    assert _titles(ann, l3) == ["Un", "Deux", "Trois"]
    token = csrf_token(ann.get(f"/textbook/seances/{l3}").text)
    assert ann.post(f"/textbook/activites/{last}/monter",
                    {"csrf_token": token}).status_code == 303
    assert _titles(ann, l3) == ["Un", "Trois", "Deux"]
    assert ann.post(f"/textbook/activites/{last}/descendre",
                    {"csrf_token": token}).status_code == 303
    assert ann.post(f"/textbook/activites/{last}/descendre",
                    {"csrf_token": token}).status_code == 303  # already last: stays
    assert _titles(ann, l3) == ["Un", "Deux", "Trois"]

    with srv.transaction() as s:
        homework = textbook.add_activity(s, uid(s, "ann"), lesson_id(srv, "L1"),
                                         textbook.ActivityInput(
                                             textbook.ActivityKind.homework, "Devoir",
                                             homework_type="Devoir maison", minutes=60)).id
    form = page_tree(ann.get(f"/textbook/activites/{homework}/modifier"))
    assert form.xpath('//select[@name="homework-due_lesson"]/option[@selected]/@value') == \
        [str(lesson_id(srv, "L2"))]
    answer = ann.post(f"/textbook/activites/{homework}/modifier", {
        "csrf_token": csrf_token(ann.get("/").text), "homework-title": "Devoir",
        "homework-body": '<a href="javascript:alert(1)">lien</a>',
        "homework-homework_type": "Devoir maison", "homework-minutes": "60",
        "homework-due_lesson": str(l3)})
    assert answer.status_code == 303, answer.text
    with srv.transaction() as s:
        saved = s.get_one(textbook.Activity, homework)
        assert saved.due_lesson_id == l3
        assert "javascript" not in saved.body and "lien" in saved.body


def test_bad_week_date_is_400(srv: Server) -> None:
    answer = signed_in(srv, "ben").get("/textbook/?week=2026-13-40")
    assert answer.status_code == 400
    assert "2026-13-40" in answer.text
    for far in ("9999-12-31", "0001-01-01"):  # valid dates, out of range: not a 500
        answer = signed_in(srv, "ann").get(f"/textbook/?week={far}")
        assert answer.status_code == 400 and "hors des dates prises en charge" in answer.text


def test_teachers_week_as_a_list(srv: Server) -> None:
    """The « Liste » tab: each day's lessons with what was entered and the homework
    due that day; the week links keep the list."""
    carl = signed_in(srv, "carl")
    tree = page_tree(carl.get(WEEK + "&vue=liste"))
    days = tree.xpath('//ol[@class="week-list"]/li[@class="day"]/@data-day')
    assert days == ["2026-09-07", "2026-09-08", "2026-09-09"]  # carl's lessons only
    monday = tree.xpath('//li[@data-day="2026-09-07"]')[0].text_content()
    assert "10:00–11:00 FR · 4B" in " ".join(monday.split()) and "Rédaction" in monday
    wednesday = " ".join(tree.xpath('//li[@data-day="2026-09-09"]')[0].text_content().split())
    assert "À faire pour ce jour : FR — Rédaction" in wednesday
    assert tree.xpath('//a[@rel="next"]/@href') == ["/textbook/?week=2026-09-14&vue=liste"]
    assert tree.xpath('//nav[@class="tabs"]/a[@aria-current="page"]/text()') == ["Liste"]
