"""The student and parent view of the cahier de textes (issue 5, "Student and parent
view") and the school's homework types, in the browser's HTTP, against a real server
(the school of :mod:`tests.integration.homework_kit`): the list « Travail à faire »
holds exactly the homework the student reads, by due date; ticks and unticks;
parents read the ticks of their own children only; the teacher's count; the types
page and its rights; bad input saves nothing. Then the same in Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from lxml import html
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import delete

from davserver import clock
from tests.conftest import IN_TERM, PASSWORD, Server, running_server
from tests.integration.homework_kit import (
    PREVIOUS,
    WEEK,
    build_school,
    signed_in,
    ticks,
    type_rows,
    uid,
)
from tests.integration.test_web_accessibility import shots
from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS
from tests.web import WebClient, csrf_token
from web import textbook

pytestmark = pytest.mark.clock(IN_TERM)

IDS: dict[str, int] = {}
LIST = "/textbook/travail/"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("homework-web")) as server:
        IDS.update(build_school(server))
        yield server


def tree_of(answer: requests.Response) -> html.HtmlElement:
    assert answer.status_code == 200, answer.text
    return html.fromstring(answer.text)


def said(answer: requests.Response) -> str:
    """The page's text, entities decoded (« n'existe pas », not « n&#39;existe »)."""
    return " ".join(html.fromstring(answer.text).text_content().split())


def titles(client: WebClient, query: str = f"?week={WEEK}") -> list[str]:
    tree = tree_of(client.get(LIST + query))
    return [" ".join(h.text_content().split())
            for h in tree.xpath('//ol[@class="homework-list"]/li/h2')]


def tick(client: WebClient, activity: int, state: str = "fait",
         token: str | None = None) -> requests.Response:
    token = token if token is not None else csrf_token(client.get("/").text)
    return client.post(f"{LIST}{activity}/{state}",
                       {"csrf_token": token, "next": f"{LIST}?week={WEEK}"})


def user_id(server: Server, login: str) -> int:
    with server.transaction() as s:
        return uid(s, login)


def test_list_holds_exactly_the_visible_homework_by_due_date(srv: Server) -> None:
    ben, dora = signed_in(srv, "ben"), signed_in(srv, "dora")
    # H2 (Thursday) was given before H1 (Wednesday): the due date orders the list.
    # Not there: H3 (for dora only), H4 (not visible yet), H5 (4C), H6 and H7 (other
    # weeks), the content K1.
    assert titles(ben) == ["Exercices 1 p. 10", "Rédaction"]
    assert titles(dora) == ["Exercices 1 p. 10", "Rédaction", "Fiche Dora"]
    page = tree_of(ben.get(f"{LIST}?week={WEEK}"))
    assert page.xpath('//li[@data-activity]/@data-due') == ["2026-09-09", "2026-09-10"]
    assert "Pour le mercredi 09/09 10:00" in page.xpath(
        "string(//ol[@class='homework-list']/li[1])")
    assert page.xpath('//a[@rel="prev"]/@href') == [f"{LIST}?week={PREVIOUS}"]
    assert titles(ben, f"?week={PREVIOUS}") == ["Révisions"]
    assert titles(ben, "?week=2026-09-14") == ["Semaine suivante"]
    assert page.xpath('//nav[@class="tabs"]/a[.="Calendrier"]/@href') == \
        [f"/textbook/?week={WEEK}"]
    # The navigation bar's « Cahier de textes » opens this list for students.
    assert page.xpath('//nav[@class="main-nav"]//a[.="Cahier de textes"]/@href') == [LIST]
    calendar = tree_of(ben.get(f"/textbook/?week={WEEK}"))
    assert calendar.xpath('//nav[@class="tabs"]/a[.="Liste"]/@href') == \
        [f"{LIST}?week={WEEK}"]
    assert calendar.xpath(f'//div[@data-lesson="{IDS["M1"]}"]')
    assert calendar.xpath('//a[@rel="prev"]/@href') == [f"/textbook/?week={PREVIOUS}"]
    assert ben.get(f"{LIST}?week=2026-02-31").status_code == 400
    # Teachers keep their week.
    assert signed_in(srv, "ann").get(LIST).headers["Location"] == "/textbook/"


def test_student_ticks_and_unticks(srv: Server) -> None:
    ben, ben_id = signed_in(srv, "ben"), user_id(srv, "ben")
    before = clock.now()
    answer = tick(ben, IDS["H1"])
    assert answer.status_code == 303 and answer.headers["Location"] == f"{LIST}?week={WEEK}"
    assert (IDS["H1"], ben_id) in ticks(srv)
    assert tick(ben, IDS["H1"]).status_code == 303  # twice: still one tick
    assert ticks(srv).count((IDS["H1"], ben_id)) == 1
    with srv.transaction() as s:
        done_at = s.get_one(textbook.HomeworkDone, (IDS["H1"], ben_id)).done_at
    assert before - timedelta(seconds=5) <= done_at <= clock.now()
    page = tree_of(ben.get(f"{LIST}?week={WEEK}"))
    assert page.xpath(f'//li[@data-activity="{IDS["H1"]}"][contains(@class, "done")]')
    assert not page.xpath(f'//li[@data-activity="{IDS["H2"]}"][contains(@class, "done")]')
    calendar = tree_of(ben.get(f"/textbook/?week={WEEK}"))
    assert calendar.xpath(f'//li[@data-activity="{IDS["H1"]}"]/span[@class="done-mark"]')

    assert tick(ben, IDS["H2"]).status_code == 303
    assert tick(ben, IDS["H2"], "pas-fait").status_code == 303
    assert tick(ben, IDS["H2"], "pas-fait").status_code == 303  # untick twice: fine
    assert (IDS["H2"], ben_id) not in ticks(srv)
    assert (IDS["H1"], ben_id) in ticks(srv)


def test_parent_reads_the_ticks_of_their_own_children_only(srv: Server) -> None:
    ben = signed_in(srv, "ben")
    assert tick(ben, IDS["H1"]).status_code == 303
    paul = signed_in(srv, "paul")
    page = tree_of(paul.get(f"{LIST}?week={WEEK}"))
    assert page.xpath('//select[@name="enfant"]/option/@value') == ["ben", "zoe"]
    assert page.xpath('//select[@name="enfant"]/option[@selected]/@value') == ["ben"]
    done = page.xpath(f'//li[@data-activity="{IDS["H1"]}"]')[0]
    assert "Fait" in done.text_content() and not done.xpath(".//form | .//button")
    assert titles(paul) == ["Exercices 1 p. 10", "Rédaction"]
    assert titles(paul, f"?week={WEEK}&enfant=zoe") == ["Problème 4C"]
    zoe_page = tree_of(paul.get(f"{LIST}?week={WEEK}&enfant=zoe"))
    assert zoe_page.xpath('//a[@rel="prev"]/@href') == [f"{LIST}?week={PREVIOUS}&enfant=zoe"]
    calendar = tree_of(paul.get(f"/textbook/?week={WEEK}&enfant=zoe"))
    assert calendar.xpath('//section[@data-child="zoe"]')
    assert not calendar.xpath('//section[@data-child="ben"]')

    before = ticks(srv)
    token = csrf_token(paul.get(LIST).text)
    for activity, state in ((IDS["H2"], "fait"), (IDS["H1"], "pas-fait")):
        refused = tick(paul, activity, state, token)
        assert refused.status_code == 403 and "Seul l'élève" in said(refused)
    for child in ("eve", "dora", "personne"):
        assert paul.get(f"{LIST}?week={WEEK}&enfant={child}").status_code == 403
        assert paul.get(f"/textbook/?week={WEEK}&enfant={child}").status_code == 403
    assert signed_in(srv, "pia").get(f"{LIST}?enfant=ben").status_code == 403
    assert ticks(srv) == before


def test_teacher_sees_how_many_did_it(srv: Server) -> None:
    for login in ("ben", "dora"):
        assert tick(signed_in(srv, login), IDS["H1"]).status_code == 303
    dora = signed_in(srv, "dora")
    assert tick(dora, IDS["H3"]).status_code == 303
    page = tree_of(signed_in(srv, "ann").get(f"/textbook/seances/{IDS['M1']}"))

    def count(activity: int) -> str:
        return " ".join(page.xpath(f'string(//li[@data-activity="{activity}"]'
                                   '//p[@class="done-count"])').split())

    assert count(IDS["H1"]) == "fait par 2 / 2 élèves"
    assert count(IDS["H3"]) == "fait par 1 / 1 élèves"  # aimed at dora only
    assert count(IDS["H4"]) == "fait par 0 / 2 élèves"
    assert count(IDS["K1"]) == ""  # content: nothing to tick
    student_page = signed_in(srv, "ben").get(f"/textbook/seances/{IDS['M1']}")
    assert "fait par" not in student_page.text


def test_bad_ticks_are_refused_and_save_nothing(srv: Server) -> None:
    ben = signed_in(srv, "ben")
    before = ticks(srv)
    for activity in (999_999, IDS["H5"], IDS["H3"], IDS["H4"], IDS["K1"]):
        # unknown, another class's, aimed at dora, not visible yet, a content
        answer = tick(ben, activity)
        assert answer.status_code == 404, activity
        assert "Ce travail à faire n'existe pas." in said(answer)
    no_token = ben.post(f"{LIST}{IDS['H2']}/fait", {})
    assert no_token.status_code == 403 and "CSRF" in said(no_token)
    assert tick(signed_in(srv, "ann"), IDS["H2"]).status_code == 403
    assert ticks(srv) == before


def _types_page(client: WebClient) -> list[str]:
    tree = tree_of(client.get("/textbook/types-de-travail/"))
    return [td.text for td in tree.xpath('//td[@class="type-name"]')]


def _offered(client: WebClient, path: str) -> list[str]:
    tree = tree_of(client.get(path))
    return tree.xpath('//select[@name="homework-homework_type"]/option/@value')


def _types_post(client: WebClient, action: str, fields: dict[str, str]) -> requests.Response:
    token = csrf_token(client.get("/").text)
    return client.post(f"/textbook/types-de-travail/{action}", {"csrf_token": token, **fields})


def test_teachers_students_and_parents_cannot_edit_types(srv: Server) -> None:
    for login in ("ann", "ben", "paul"):
        client = signed_in(srv, login)
        assert client.get("/textbook/types-de-travail/").status_code == 403
        for action, fields in (("ajouter", {"name": "Exposé"}),
                               ("renommer", {"old": "Autre", "name": "Divers"}),
                               ("supprimer", {"old": "Autre"})):
            answer = _types_post(client, action, fields)
            assert answer.status_code == 403, (login, action)
    assert type_rows(srv) == 0  # still the defaults, never written out


def test_head_and_admin_edit_the_schools_types(srv: Server) -> None:
    hugo, ann = signed_in(srv, "hugo"), signed_in(srv, "ann")
    m1 = f"/textbook/seances/{IDS['M1']}"
    assert _types_page(hugo) == ["Exercices", "Devoir maison", "Autre"]
    assert _offered(ann, m1) == ["Exercices", "Devoir maison", "Autre"]
    assert tree_of(hugo.get("/textbook/controle/")).xpath('//a[@class="homework-types-link"]')

    assert _types_post(hugo, "ajouter", {"name": "  Exposé   oral "}).status_code == 303
    assert _types_post(hugo, "renommer", {"old": "Autre", "name": "Recherche"}).status_code == 303
    ada = signed_in(srv, "ada")
    assert _types_post(ada, "supprimer", {"old": "Devoir maison"}).status_code == 303
    assert _types_page(hugo) == ["Exercices", "Recherche", "Exposé oral"]
    assert _offered(ann, m1) == ["Exercices", "Recherche", "Exposé oral"]

    # Homework given keeps its type's text; its edit form still offers it.
    assert "Devoir maison" in tree_of(signed_in(srv, "ben").get(
        f"{LIST}?week={WEEK}")).xpath(f'string(//li[@data-activity="{IDS["H2"]}"])')
    assert _offered(signed_in(srv, "carl"), f"/textbook/activites/{IDS['H2']}/modifier") \
        == ["Exercices", "Recherche", "Exposé oral", "Devoir maison"]
    with srv.transaction() as s:
        assert s.get_one(textbook.Activity, IDS["H3"]).homework_type == "Autre"

    # A removed type is no choice for new homework.
    token = csrf_token(ann.get(m1).text)
    refused = ann.post(f"{m1}/travaux", {
        "csrf_token": token, "homework-title": "Ancien type",
        "homework-homework_type": "Devoir maison",
        "homework-due_lesson": str(IDS["M2"])})
    assert refused.status_code == 400
    given = ann.post(f"{m1}/travaux", {
        "csrf_token": token, "homework-title": "Exposé sur Thalès",
        "homework-homework_type": "Exposé oral", "homework-due_lesson": str(IDS["M2"])})
    assert given.status_code == 303, given.text


def test_bad_type_input_is_refused_and_saves_nothing(srv: Server) -> None:
    hugo = signed_in(srv, "hugo")
    before = _types_page(hugo)
    for action, fields, status, reason in (
            ("ajouter", {"name": "   "}, 400, "rien n'a été enregistré"),
            ("ajouter", {"name": "x" * 101}, 400, "rien n'a été enregistré"),
            ("ajouter", {"name": "exercices"}, 400, "existe déjà"),
            ("renommer", {"old": "Recherche", "name": "EXERCICES"}, 400, "existe déjà"),
            ("renommer", {"old": "Inconnu", "name": "Autre"}, 404, "n'existe pas"),
            ("supprimer", {"old": "Inconnu"}, 404, "n'existe pas")):
        answer = _types_post(hugo, action, fields)
        assert answer.status_code == status, (action, fields)
        assert reason in said(answer), (action, fields)
    assert _types_page(hugo) == before
    no_token = hugo.post("/textbook/types-de-travail/ajouter", {"name": "Sans jeton"})
    assert no_token.status_code == 403
    assert _types_page(hugo) == before


@pytest.mark.one_database  # a browser walk, checked over HTTP on both
@pytest.mark.clients
def test_student_and_parent_in_chromium(srv: Server, tmp_path: Path) -> None:
    """dora opens her list, ticks « Fiche Dora », goes to the Calendrier tab and to
    the previous week; mia, her parent, sees the tick. Saves a screenshot of the
    student's homework list."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with srv.transaction() as s:  # earlier tests of the module may have ticked it
        s.execute(delete(textbook.HomeworkDone).where(
            textbook.HomeworkDone.activity_id == IDS["H3"]))
    reports: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for login in ("dora", "mia"):
            page = browser.new_context(base_url=srv.base_url).new_page()
            page.on("console", lambda m: reports.append(m.text)
                    if "Content Security Policy" in m.text else None)
            page.goto(f"/login?next={LIST}?week={WEEK}")
            page.get_by_label("Identifiant").fill(login)
            page.get_by_label("Mot de passe").fill(PASSWORD)
            page.get_by_role("button", name="Se connecter").click()
            item = page.locator(f'li[data-activity="{IDS["H3"]}"]')
            if login == "mia":
                expect(page.locator('p.child-name')).to_have_text("Enfant : dora")
                expect(item.locator(".done-mark")).to_have_text("Fait")
                expect(item.get_by_role("button")).to_have_count(0)
                break
            expect(page.locator("h1")).to_contain_text("Travail à faire")
            expect(item.locator(".todo-mark")).to_be_visible()
            item.get_by_role("button", name="Marquer comme fait").click()
            expect(page.locator('[role="status"]')).to_have_text("Travail marqué comme fait.")
            expect(item.locator(".done-mark")).to_have_text("Fait")
            page.screenshot(path=str(shots(tmp_path) / "homework-student-homework.png"),
                            full_page=True)
            page.get_by_role("link", name="Calendrier").click()
            expect(page.locator(f'div[data-lesson="{IDS["M1"]}"]')).to_be_visible()
            expect(page.locator(f'li[data-activity="{IDS["H3"]}"] .done-mark')).to_be_visible()
            page.get_by_role("link", name="← Semaine précédente").click()
            expect(page.locator('div[data-day="2026-09-03"]')).to_contain_text("Révisions")
            page.get_by_role("link", name="Liste").click()
            expect(page.locator("ol.homework-list h2")).to_have_text(["Révisions"])
            page.context.close()
        browser.close()
    assert reports == []
    assert (shots(tmp_path) / "homework-student-homework.png").stat().st_size > 0
