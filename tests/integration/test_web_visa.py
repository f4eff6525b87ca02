"""The head's visa (issue 7, "Visa") and the lessons' corbeille (issue 5, "Lessons"),
against a real server: hugo puts a visa on ann's textbook up to Tuesday 08/09/2026;
ann sees it; deleting covered lesson M1 is 409 and deletes nothing; deleting M3
(after the visa's date) works, hides it from the weeks, and it is restored; an
activity edited after the visa is marked on the lesson page.

People and lessons: :mod:`tests.integration.oversight_kit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from lxml import html
from sqlalchemy import func, select

from tests.conftest import IN_TERM, Server, running_server
from tests.integration.oversight_kit import WEEK, add_people, signed_in, today, uid
from tests.web import WebClient, csrf_token
from web import textbook

pytestmark = pytest.mark.clock(IN_TERM)

IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("visa")) as server:
        IDS.update(add_people(server, []))
        with server.transaction() as s:
            IDS["ann"] = uid(s, "ann")
        yield server


def text(answer: requests.Response) -> str:
    return " ".join(html.fromstring(answer.text).text_content().split())


def teacher_page(teacher: int) -> str:
    return f"/textbook/controle/enseignants/{teacher}/?week={WEEK}"


def post_visa(client: WebClient, until: str, comment: str = "",
              token: bool = True) -> requests.Response:
    page = client.get(teacher_page(IDS["ann"]))
    data = {"visa-until": until, "visa-comment": comment}
    if token:
        data["csrf_token"] = csrf_token(page.text) if page.status_code == 200 \
            else csrf_token(client.get("/").text)
    return client.post(f"/textbook/controle/enseignants/{IDS['ann']}/visas", data)


def visa_count(server: Server) -> int:
    with server.transaction() as s:
        return int(s.scalar(select(func.count(textbook.Visa.id))) or 0)


def post_lesson(client: WebClient, lesson: int, action: str) -> requests.Response:
    token = csrf_token(client.get("/").text)
    return client.post(f"/textbook/seances/{lesson}/{action}", {"csrf_token": token})


def lessons_in_week(client: WebClient) -> set[int]:
    tree = html.fromstring(client.get(f"/textbook/?week={WEEK}").text)
    return {int(v) for v in tree.xpath("//div[@data-lesson]/@data-lesson")}


def test_bad_visas_are_refused_and_nothing_is_saved(srv: Server) -> None:
    before = visa_count(srv)
    future = post_visa(signed_in(srv, "hugo"), f"{today() + timedelta(days=1)}")
    assert future.status_code == 400 and "est après aujourd'hui" in text(future)
    bad_date = post_visa(signed_in(srv, "hugo"), "2026-02-31")
    assert bad_date.status_code == 400
    no_token = post_visa(signed_in(srv, "hugo"), "2026-09-08", token=False)
    assert no_token.status_code == 403 and "jeton de sécurité (CSRF)" in text(no_token)
    assert post_visa(signed_in(srv, "carl"), "2026-09-08").status_code == 403  # teacher
    assert post_visa(signed_in(srv, "ada"), "2026-09-08").status_code == 403  # admin
    assert post_visa(signed_in(srv, "hector"), "2026-09-08").status_code == 404  # school B
    assert visa_count(srv) == before


def test_visa_put_shown_and_covered_lesson_kept(srv: Server) -> None:
    hugo = signed_in(srv, "hugo")
    answer = post_visa(hugo, "2026-09-08", "Cahier bien tenu.")
    assert answer.status_code == 303, answer.text
    assert "Visa du 08/09/2026, posé par hugo (direction) : « Cahier bien tenu. »" in \
        text(hugo.get(teacher_page(IDS["ann"])))

    ann = signed_in(srv, "ann")
    week = ann.get(f"/textbook/?week={WEEK}")
    assert "Visa du 08/09/2026, posé par hugo (direction) : « Cahier bien tenu. »" in \
        text(week)
    # ann is notified (issue 7, "Notifications"), with the visa's date.
    notices = text(ann.get("/notifications/"))
    assert "Visa de votre cahier de textes jusqu'au 08/09/2026" in notices
    m1 = ann.get(f"/textbook/seances/{IDS['M1']}")
    assert "Séance couverte par le visa du 08/09/2026" in text(m1)
    assert "Séance couverte" not in text(ann.get(f"/textbook/seances/{IDS['M3']}"))

    refused = post_lesson(ann, IDS["M1"], "supprimer")
    assert refused.status_code == 409
    assert "couverte par le visa du 08/09/2026, posé par hugo (direction)" in text(refused)
    with srv.transaction() as s:
        assert not textbook.is_trashed(s, IDS["M1"])
        assert len(textbook.lesson_activities(s, IDS["M1"])) >= 2
    assert IDS["M1"] in lessons_in_week(ann)
    # carl teaches 4B too, but not this service; no visa was put on him either
    assert post_lesson(signed_in(srv, "carl"), IDS["F1"], "supprimer").status_code == 303
    assert post_lesson(signed_in(srv, "carl"), IDS["F1"], "restaurer").status_code == 303


def test_uncovered_lesson_deleted_then_restored(srv: Server) -> None:
    ann, ben = signed_in(srv, "ann"), signed_in(srv, "ben")
    with srv.transaction() as s:
        textbook.add_activity(s, IDS["ann"], IDS["M3"], textbook.ActivityInput(
            textbook.ActivityKind.content, "Statistiques"))
    assert IDS["M3"] in lessons_in_week(ben)
    assert post_lesson(ben, IDS["M3"], "supprimer").status_code == 403
    assert post_lesson(ann, IDS["M3"], "supprimer").status_code == 303
    assert IDS["M3"] not in lessons_in_week(ann) | lessons_in_week(ben)
    assert ben.get(f"/textbook/seances/{IDS['M3']}").status_code == 404
    trash = ann.get("/textbook/corbeille")
    row = html.fromstring(trash.text).xpath(f'//li[@data-lesson="{IDS["M3"]}"]')
    assert row and "supprimée le mardi 08/12 10:0" in row[0].text_content()  # school time
    assert post_lesson(ann, IDS["M3"], "supprimer").status_code == 409  # already there
    assert "est dans la corbeille" in text(ann.get(f"/textbook/seances/{IDS['M3']}"))

    assert post_lesson(ann, IDS["M3"], "restaurer").status_code == 303
    assert IDS["M3"] in lessons_in_week(ann) and IDS["M3"] in lessons_in_week(ben)
    assert "Statistiques" in text(ben.get(f"/textbook/seances/{IDS['M3']}"))
    assert not html.fromstring(ann.get("/textbook/corbeille").text).xpath(
        f'//li[@data-lesson="{IDS["M3"]}"]')


def test_activity_changed_after_the_visa_is_marked(srv: Server) -> None:
    if not visa_count(srv):
        assert post_visa(signed_in(srv, "hugo"), "2026-09-08").status_code == 303
    ann = signed_in(srv, "ann")
    edit = f"/textbook/activites/{IDS['A1']}/modifier"
    answer = ann.post(edit, {"csrf_token": csrf_token(ann.get(edit).text),
                             "content-title": "Activité A1 corrigée",
                             "content-body": "<p>Précision</p>"})
    assert answer.status_code == 303, answer.text
    with srv.transaction() as s:
        added = textbook.add_activity(s, IDS["ann"], IDS["M1"], textbook.ActivityInput(
            textbook.ActivityKind.content, "Ajout tardif")).id
    for login, path in (("ann", f"/textbook/seances/{IDS['M1']}"),
                        ("hugo", f"/textbook/controle/enseignants/{IDS['ann']}"
                                 f"/seances/{IDS['M1']}")):
        tree = html.fromstring(signed_in(srv, login).get(path).text)

        def mark(activity: int, tree: html.HtmlElement = tree) -> str:
            found = tree.xpath(f'//li[@data-activity="{activity}"]//p[@class="after-visa"]')
            return found[0].text_content().strip() if found else ""

        assert mark(IDS["A1"]) == "modifié après le visa du 08/09/2026", login
        assert mark(added) == "ajouté après le visa du 08/09/2026", login
        assert mark(IDS["A2"]) == "", login  # untouched since the visa



def test_an_activity_in_the_visaed_record_is_kept_in_its_lesson(srv: Server) -> None:
    """What the visa covered stays in its lesson: deleting or moving A2 away is 409
    naming the visa; an activity added after the visa may go; copying is allowed."""
    if not visa_count(srv):
        assert post_visa(signed_in(srv, "hugo"), "2026-09-08").status_code == 303
    with srv.transaction() as s:
        late = textbook.add_activity(s, IDS["ann"], IDS["M1"], textbook.ActivityInput(
            textbook.ActivityKind.content, "Ajout après visa")).id
    ann = signed_in(srv, "ann")
    token = csrf_token(ann.get(f"/textbook/seances/{IDS['M1']}").text)
    refused = ann.post(f"/textbook/activites/{IDS['A2']}/supprimer", {"csrf_token": token})
    assert refused.status_code == 409 and "visé le 08/09/2026" in text(refused)
    moved = ann.post(f"/textbook/activites/{IDS['A2']}/transferer",
                     {"csrf_token": token, "destination": f"deplacer:{IDS['M2']}"})
    assert moved.status_code == 409 and "déplacée" in text(moved)
    with srv.transaction() as s:
        assert s.get_one(textbook.Activity, IDS["A2"]).lesson_id == IDS["M1"]
    copied = ann.post(f"/textbook/activites/{IDS['A2']}/transferer",
                      {"csrf_token": token, "destination": f"copier:{IDS['C1']}"})
    assert copied.status_code == 302
    gone = ann.post(f"/textbook/activites/{late}/supprimer", {"csrf_token": token})
    assert gone.status_code == 303


def test_no_delete_is_offered_for_what_the_visa_holds(srv: Server) -> None:
    """Issue 20: the covered lesson M1 offers no « Supprimer la séance », nor
    « Supprimer » on the activities the visa holds (a refusal page was the only
    answer); an activity added after the visa, and the uncovered M3, keep theirs,
    which ask for confirmation first (the activity's in a form that opens without
    JavaScript)."""
    if not visa_count(srv):
        assert post_visa(signed_in(srv, "hugo"), "2026-09-08").status_code == 303
    with srv.transaction() as s:
        late = textbook.add_activity(s, IDS["ann"], IDS["M1"], textbook.ActivityInput(
            textbook.ActivityKind.content, "Ajouté après le visa")).id
    ann = signed_in(srv, "ann")
    m1 = html.fromstring(ann.get(f"/textbook/seances/{IDS['M1']}").text)
    assert not m1.xpath('//form[contains(@class, "delete-lesson")]')
    for held in (IDS["A1"], IDS["A2"]):
        assert not m1.xpath(f'//li[@data-activity="{held}"]'
                            '//details[contains(@class, "delete-activity")]')
        assert m1.xpath(f'//li[@data-activity="{held}"]//a[.="Modifier"]')
    assert m1.xpath(f'//li[@data-activity="{late}"]//details[contains(@class, '
                    '"delete-activity")]//form//button[.="Mettre à la corbeille"]')
    m3 = html.fromstring(ann.get(f"/textbook/seances/{IDS['M3']}").text)
    assert m3.xpath('//form[contains(@class, "delete-lesson")]/@data-confirm')
    # Asked all the same (an old page), the refusal is the lesson page with the reason.
    refused = post_lesson(ann, IDS["M1"], "supprimer")
    assert refused.status_code == 409
    assert html.fromstring(refused.text).xpath('//p[@class="error"]')
