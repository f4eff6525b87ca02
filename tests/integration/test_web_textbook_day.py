"""The textbook's rough edges seen in the teacher's-day walk (issue 20, "Textbook
fixes"), against a real server on a Sunday evening (Europe/Paris), with the school of
:mod:`tests.integration.homework_kit`:

* « Travail à faire » opens on the week of the next homework due, not on the
  calendar week (on Sunday 06/09, Wednesday 09/09's homework, not « Aucun travail »);
* a homework handed in online says so in the list and links to the hand-in;
* homework given on a Sunday (quiet hours) shows on Monday at 07:00, the page and the
  message say so, and « Publier maintenant » shows it at once;
* a cancelled lesson can be reinstated (not over another lesson of the class);
* the delete buttons ask for confirmation (``data-confirm``), in Chromium too;
* people are named, never shown by login (a parent's children, homework recipients,
  the visa's signer); a lesson says its subject and class, copy targets too; a
  notification's time is the school's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from lxml import html
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.integration.homework_kit import build_school, signed_in, uid
from tests.integration.test_web_accessibility import shots
from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS
from tests.web import WebClient, csrf_token
from web import textbook

SUNDAY = "2026-09-06T18:00 Europe/Paris"
pytestmark = pytest.mark.clock(SUNDAY)

IDS: dict[str, int] = {}
LIST = "/textbook/travail/"
NAMES = {"ann": "Anne Dupont", "hugo": "Hugo Martin", "ben": "Ben Roux",
         "zoe": "Zoé Petit", "dora": "Dora Lefèvre", "paul": "Paul Roux"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Quiet hours as shipped (20:00–07:00 and weekends): the clock is pinned on a Sunday.
    with running_server(tmp_path_factory.mktemp("textbook-day"),
                        {"DAVSERVER_TEXTBOOK__QUIET_HOURS": "true"}) as server:
        IDS.update(build_school(server))
        with server.transaction() as s:
            for login, name in NAMES.items():
                s.get_one(acl.User, uid(s, login)).display_name = name
            s.get_one(textbook.Lesson, IDS["M1"]).room = "B12"
            school = acl.ensure_school(s, "Collège Jean Moulin")
            acl.create_user(s, "lea", PASSWORD, "student", school_id=school)  # no class
        server.users["lea"] = PASSWORD
        yield server


def tree(answer: requests.Response) -> html.HtmlElement:
    assert answer.status_code == 200, answer.text
    return html.fromstring(answer.text)


def said(answer: requests.Response) -> str:
    return " ".join(html.fromstring(answer.text).text_content().split())


def titles(page: html.HtmlElement) -> list[str]:
    return [" ".join(h.text_content().split())
            for h in page.xpath('//ol[@class="homework-list"]/li/h2')]


def post(client: WebClient, path: str, data: dict[str, str] | None = None,
         ) -> requests.Response:
    return client.post(path, {"csrf_token": csrf_token(client.get("/").text), **(data or {})})


def test_the_list_opens_on_the_next_homework_due(srv: Server) -> None:
    """Sunday 06/09: the calendar week (31/08) has nothing left; the list opens on the
    week of Wednesday 09/09, says when the next homework is due, and « Cette semaine »
    still leads to the calendar week."""
    page = tree(signed_in(srv, "ben").get(LIST))
    assert "semaine du 07/09/2026" in page.xpath("string(//h1)")
    assert titles(page) == ["Exercices 1 p. 10", "Rédaction"]
    assert " ".join(page.xpath("string(//p[contains(@class, 'next-due')])").split()) == \
        "Prochain travail à faire : pour le mercredi 09/09."
    assert page.xpath('//a[@class="this-week"]/@href') == [f"{LIST}?week=2026-08-31"]
    assert page.xpath('//a[@rel="prev"]/@href') == [f"{LIST}?week=2026-08-31"]
    assert "Aucun travail" not in page.text_content()
    # The week asked for is the week shown, next homework or not.
    assert titles(tree(signed_in(srv, "ben").get(f"{LIST}?week=2026-08-31"))) == ["Révisions"]
    # The calendar tab keeps the calendar week.
    calendar = tree(signed_in(srv, "ben").get("/textbook/"))
    assert calendar.xpath('//div[@data-day="2026-08-31"]')
    # A parent's child: zoe's next homework is Tuesday 08/09's, in 4C.
    zoe = tree(signed_in(srv, "paul").get(f"{LIST}?enfant=zoe"))
    assert titles(zoe) == ["Problème 4C"] and "semaine du 07/09/2026" in zoe.xpath("string(//h1)")
    # Nothing due from today on: this week, and a sentence saying so.
    lea = signed_in(srv, "lea").get(LIST)
    assert "semaine du 31/08/2026" in tree(lea).xpath("string(//h1)")
    assert "Aucun travail à faire à venir." in said(lea)


def test_online_hand_in_is_shown_in_the_list_with_its_link(srv: Server) -> None:
    with srv.transaction() as s:
        s.get_one(textbook.Activity, IDS["H1"]).online_submission = True
    try:
        page = tree(signed_in(srv, "ben").get(LIST))
        item = page.xpath(f'//li[@data-activity="{IDS["H1"]}"]')[0]
        line = " ".join(item.xpath("string(.//p[@class='online-handin'])").split())
        assert line.startswith("Remise en ligne pas encore remis"), line
        link = f"/textbook/seances/{IDS['M1']}#remise-{IDS['H1']}"
        assert item.xpath(".//a[@class='handin-link']/@href") == [link]
        assert item.xpath("string(.//a[@class='handin-link'])") == "Remettre mon travail"
        # The calendar tab marks it too, and links the student to the hand-in.
        calendar = tree(signed_in(srv, "ben").get("/textbook/?week=2026-09-07"))
        assert calendar.xpath(f'//li[@data-activity="{IDS["H1"]}"]'
                              '//a[contains(@class, "handin-link")]/@href') == [link]
        other = page.xpath(f'//li[@data-activity="{IDS["H2"]}"]')[0]
        assert not other.xpath(".//p[@class='online-handin']")
        # The link's target: the hand-in form of that homework on the lesson page.
        lesson = tree(signed_in(srv, "ben").get(link.split("#")[0]))
        assert lesson.xpath(f'//section[@id="remise-{IDS["H1"]}"]//form')
        # A parent reads that it is handed in online, with no hand-in link.
        parent = tree(signed_in(srv, "paul").get(f"{LIST}?enfant=ben"))
        item = parent.xpath(f'//li[@data-activity="{IDS["H1"]}"]')[0]
        assert item.xpath(".//span[contains(@class, 'handin-badge')]")
        assert not item.xpath(".//a[@class='handin-link']")
        # Handed in: the list says when, and the link reads « Voir ma remise ».
        ben = signed_in(srv, "ben")
        put = ben.http.put(ben.url(f"/api/textbook/activities/{IDS['H1']}/handin/copie.txt"),
                           data=b"ma copie", timeout=30,
                           headers={"X-CSRFToken": csrf_token(ben.get("/").text)})
        assert put.status_code == 201, put.text
        item = tree(ben.get(LIST)).xpath(f'//li[@data-activity="{IDS["H1"]}"]')[0]
        assert "remis le dimanche 06/09" in item.xpath("string(.//span[@class='handin-state'])")
        assert item.xpath("string(.//a[@class='handin-link'])") == "Voir ma remise"
    finally:
        with srv.transaction() as s:
            s.get_one(textbook.Activity, IDS["H1"]).online_submission = False


def homework_form(client: WebClient, lesson: int, title: str) -> requests.Response:
    page = tree(client.get(f"/textbook/seances/{lesson}"))
    due = page.xpath('//select[@name="homework-due_lesson"]/option/@value')[0]
    return client.post(f"/textbook/seances/{lesson}/travaux", {
        "csrf_token": page.xpath('//input[@name="csrf_token"]/@value')[0],
        "homework-title": title, "homework-body": "<p>Pour lundi</p>",
        "homework-homework_type": "Exercices", "homework-minutes": "15",
        "homework-due_lesson": due})


def test_homework_in_quiet_hours_says_when_and_publishes_now(srv: Server) -> None:
    """Given on Sunday evening, the homework shows on Monday 07:00; the message and the
    lesson page say so; « Publier maintenant » shows it to ben at once."""
    ann, ben = signed_in(srv, "ann"), signed_in(srv, "ben")
    given = homework_form(ann, IDS["M2"], "Travail du dimanche")
    assert given.status_code == 303, said(given)
    page = tree(ann.get(f"/textbook/seances/{IDS['M2']}"))
    assert "les élèves le verront le lundi 07/09 07:00" in \
        page.xpath("string(//p[@class='notice'])")
    with srv.transaction() as s:
        activity = s.scalars(select(textbook.Activity.id).where(
            textbook.Activity.title == "Travail du dimanche")).one()
    item = page.xpath(f'//li[@data-activity="{activity}"]')[0]
    assert "visible par les élèves le lundi 07/09 07:00" in \
        item.xpath("string(.//span[contains(@class, 'shows-at')])")
    publish = item.xpath(".//form[contains(@class, 'publish-now')]/@action")
    assert publish == [f"/textbook/activites/{activity}/publier"]
    # Not in ben's list yet (due Friday 11/09, in the week the list opens on).
    assert "Travail du dimanche" not in titles(tree(ben.get(f"{LIST}?week=2026-09-07")))
    assert post(ben, publish[0]).status_code == 403  # a student cannot publish
    published = post(ann, publish[0])
    assert published.status_code == 303
    assert "Travail visible par les élèves dès maintenant." in said(ann.get(
        published.headers["Location"]))
    assert "Travail du dimanche" in titles(tree(ben.get(f"{LIST}?week=2026-09-07")))
    again = tree(ann.get(f"/textbook/seances/{IDS['M2']}"))
    item = again.xpath(f'//li[@data-activity="{activity}"]')[0]
    assert not item.xpath(".//form[contains(@class, 'publish-now')]")
    assert not item.xpath(".//span[contains(@class, 'shows-at')]")
    # A content not published shows at the end of its lesson, and the page says when.
    with srv.transaction() as s:
        content = textbook.add_activity(s, uid(s, "ann"), IDS["M2"], textbook.ActivityInput(
            textbook.ActivityKind.content, "Cours de mercredi")).id
    item = tree(ann.get(f"/textbook/seances/{IDS['M2']}")).xpath(
        f'//li[@data-activity="{content}"]')[0]
    assert "visible par les élèves le mercredi 09/09 11:00" in item.text_content()
    assert item.xpath(".//form[contains(@class, 'publish-now')]")


def lesson_status(server: Server, name: str) -> str:
    with server.transaction() as s:
        return s.get_one(textbook.Lesson, IDS[name]).status.value


def ben_sees(server: Server, name: str) -> bool:
    page = tree(signed_in(server, "ben").get("/textbook/?week=2026-09-07"))
    return bool(page.xpath(f'//div[@data-lesson="{IDS[name]}"]'))


def test_a_cancelled_lesson_is_reinstated(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    lesson = f"/textbook/seances/{IDS['M3']}"
    assert post(ann, f"{lesson}/annuler").status_code == 303
    assert lesson_status(srv, "M3") == "cancelled" and not ben_sees(srv, "M3")
    page = tree(ann.get(lesson))
    assert page.xpath(f'//form[@action="{lesson}/retablir"]//button[.="Rétablir la séance"]')
    assert post(signed_in(srv, "carl"), f"{lesson}/retablir").status_code == 403
    assert post(signed_in(srv, "ben"), f"{lesson}/retablir").status_code == 403
    assert lesson_status(srv, "M3") == "cancelled"
    back = post(ann, f"{lesson}/retablir")
    assert back.status_code == 303 and back.headers["Location"] == lesson
    assert "Séance rétablie." in said(ann.get(lesson))
    assert lesson_status(srv, "M3") == "scheduled" and ben_sees(srv, "M3")
    again = post(ann, f"{lesson}/retablir")
    assert again.status_code == 303
    assert "Cette séance n'est pas annulée." in said(ann.get(lesson))
    assert not tree(ann.get(lesson)).xpath(f'//form[@action="{lesson}/retablir"]')


def test_reinstating_over_another_lesson_of_the_class_is_refused(srv: Server) -> None:
    """M2 (Wed 10:00–11:00) is cancelled and carl puts French at 10:30 in its place:
    M2 cannot come back over it, and stays cancelled."""
    ann, carl = signed_in(srv, "ann"), signed_in(srv, "carl")
    lesson = f"/textbook/seances/{IDS['M2']}"
    assert post(ann, f"{lesson}/annuler").status_code == 303
    form = tree(carl.get("/textbook/seances/nouvelle"))
    french = [v for v, t in zip(form.xpath('//select[@name="service"]/option/@value'),
                                form.xpath('//select[@name="service"]/option/text()'),
                                strict=True) if "4B" in t]
    made = post(carl, "/textbook/seances/nouvelle", {
        "service": french[0], "day": "2026-09-09", "start": "10:30", "end": "11:30",
        "room": "B12"})
    assert made.status_code == 303, said(made)
    refused = post(ann, f"{lesson}/retablir")
    assert refused.status_code == 303
    assert "La classe a désormais une autre séance de 10:30 à 11:30" in said(ann.get(lesson))
    assert lesson_status(srv, "M2") == "cancelled"


@pytest.mark.one_database  # a browser walk, checked over HTTP on both
@pytest.mark.clients
def test_deleting_asks_first_in_chromium(srv: Server, tmp_path: Path) -> None:
    """ann deletes an activity: « Supprimer » opens a confirmation (no JavaScript
    dialog: a details form); closed again, nothing is deleted; confirmed, it goes to
    the corbeille, whence « Restaurer » brings it back to its lesson (issue 20). The
    lesson's delete button asks through the browser's dialog."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with srv.transaction() as s:
        doomed = textbook.add_activity(s, uid(s, "ann"), IDS["M4"], textbook.ActivityInput(
            textbook.ActivityKind.content, "À effacer")).id
    asked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_context(base_url=srv.base_url).new_page()
        page.goto(f"/login?next=/textbook/seances/{IDS['M4']}")
        page.get_by_label("Identifiant").fill("ann")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        item = page.locator(f'li[data-activity="{doomed}"]')
        confirm = item.get_by_role("button", name="Mettre à la corbeille")
        expect(confirm).to_be_hidden()
        item.get_by_text("Supprimer", exact=True).click()
        expect(confirm).to_be_visible()
        expect(item).to_contain_text("Mettre l'activité « À effacer » à la corbeille ?")
        item.get_by_text("Supprimer", exact=True).click()  # closed: nothing sent
        expect(confirm).to_be_hidden()
        item.get_by_text("Supprimer", exact=True).click()
        confirm.click()
        expect(page.locator('p[role="status"]')).to_contain_text("Activité mise à la corbeille")
        expect(page.locator(f'li[data-activity="{doomed}"]')).to_have_count(0)
        page.goto("/textbook/corbeille")
        page.locator(f'li[data-activity="{doomed}"]').get_by_role(
            "button", name="Restaurer").click()
        expect(page.locator('p[role="status"]')).to_have_text("Activité restaurée.")
        expect(page.locator(f'li[data-activity="{doomed}"]')).to_be_visible()

        def on_dialog(dialog: object) -> None:
            asked.append(dialog.message)  # type: ignore[attr-defined]
            dialog.dismiss()  # type: ignore[attr-defined]

        page.on("dialog", on_dialog)
        page.get_by_role("button", name="Supprimer la séance").click()
        expect(page.locator("form.delete-lesson")).to_be_visible()
        page.screenshot(path=str(shots(tmp_path) / "textbook-day-lesson.png"), full_page=True)
        browser.close()
    assert asked == [
        "Mettre cette séance à la corbeille ? Elle disparaît du cahier de textes des "
        "élèves ; vous pourrez la restaurer depuis la corbeille."]
    with srv.transaction() as s:
        assert s.get(textbook.TrashedActivity, doomed) is None
        assert s.get(textbook.Activity, doomed) is not None
        assert not textbook.is_trashed(s, IDS["M4"])


def test_people_by_name_lessons_by_class_and_subject(srv: Server) -> None:
    paul = tree(signed_in(srv, "paul").get(LIST))
    assert paul.xpath('//select[@name="enfant"]/option/text()') == ["Ben Roux", "Zoé Petit"]
    assert paul.xpath('//select[@name="enfant"]/option/@value') == ["ben", "zoe"]
    calendar = tree(signed_in(srv, "paul").get("/textbook/?week=2026-09-07&enfant=zoe"))
    assert calendar.xpath('string(//section[@data-child="zoe"]/h2)') == "Semaine de Zoé Petit"
    mia = tree(signed_in(srv, "mia").get(LIST))
    assert mia.xpath('string(//p[@class="child-name"])') == "Enfant : Dora Lefèvre"

    m1 = tree(signed_in(srv, "ann").get(f"/textbook/seances/{IDS['M1']}"))
    assert m1.xpath('string(//h1)') == "MATHS · 4B · lundi 07/09 08:00–09:00 · salle B12"
    assert m1.xpath("string(//title)").startswith("MATHS · 4B · lundi 07/09 08:00–09:00")
    assert m1.xpath(f'string(//li[@data-activity="{IDS["H3"]}"]//span[@class="targets"])') \
        == "pour : Dora Lefèvre"
    copies = m1.xpath(f'//li[@data-activity="{IDS["K1"]}"]//select[@name="destination"]'
                      '/optgroup[starts-with(@label, "Copier vers")]/option/text()')
    assert copies == ["MATHS · 4C — lundi 07/09 10:00"]


def test_the_visa_names_its_signer_and_notifications_show_school_time(srv: Server) -> None:
    """hugo (the head) visas ann's textbook up to Friday 04/09 on Sunday 06/09 at 18:00
    Paris time (16:00 UTC): the week and the refusal name « Hugo Martin (direction) »,
    the notification is dated 06/09/2026 18:0x."""
    with srv.transaction() as s:
        textbook.put_visa(s, uid(s, "hugo"), uid(s, "ann"), date(2026, 9, 4), "Bien tenu.")
    ann = signed_in(srv, "ann")
    week = said(ann.get("/textbook/?week=2026-08-31"))
    assert "Visa du 04/09/2026, posé par Hugo Martin (direction) : « Bien tenu. »" in week
    refused = post(ann, f"/textbook/seances/{IDS['P1']}/supprimer")
    assert refused.status_code == 409
    assert "posé par Hugo Martin (direction)" in said(refused)
    notes = tree(ann.get("/notifications/"))
    note = notes.xpath('//li[@data-kind="visa"]')[0]
    assert "Hugo Martin (direction) a visé votre cahier de textes" in note.text_content()
    when = note.xpath('string(.//p[@class="when"])')
    assert when.startswith("06/09/2026 18:0") and "UTC" not in when, when
