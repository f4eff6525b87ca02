"""Who reads a teacher's textbook when (issue 7, "Inspector access" and the head's
view), against a real server: the table of every viewer, opening an access from
the page with its bad inputs, revoking it, the teacher's list of accesses, the
message the teacher will be sent, and the inspector's list in Chromium.

People and lessons: :mod:`tests.integration.oversight_kit`. Each inspector login
holds one access to ann's textbook, in the state its name says.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import html
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import func, select

from tests.conftest import IN_TERM, PASSWORD, Server, running_server
from tests.integration.oversight_kit import (
    WEEK,
    add_people,
    open_access,
    signed_in,
    today,
    uid,
)
from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS
from tests.web import WebClient, csrf_token
from web import textbook
from web.notifications import Notification, NotificationKind

pytestmark = pytest.mark.clock(IN_TERM)

INSPECTORS = ["insp.avant", "insp.pendant", "insp.apres", "insp.restreint", "insp.revoque",
              "insp.jamais", "insp.nouveau", "insp.passe", "insp.ui"]
IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("oversight")) as server:
        IDS.update(add_people(server, INSPECTORS))
        day = today()
        open_access(server, "insp.avant", day + timedelta(days=3), day + timedelta(days=10))
        open_access(server, "insp.pendant", day - timedelta(days=1), day + timedelta(days=1))
        open_access(server, "insp.apres", day - timedelta(days=10), day - timedelta(days=3))
        open_access(server, "insp.restreint", day, day, services=("4B MATHS",))
        revoked = open_access(server, "insp.revoque", day, day + timedelta(days=5))
        with server.transaction() as s:
            textbook.revoke_access(s, uid(s, "hugo"), revoked)
            IDS["ann"] = uid(s, "ann")
        yield server


def text(answer: object) -> str:
    """The page's text as a reader sees it (entities decoded, spaces collapsed)."""
    return " ".join(html.fromstring(answer.text).text_content().split())  # type: ignore[attr-defined]


def period(first: int, last: int) -> str:
    day = today()
    return (f"du {day + timedelta(days=first):%d/%m/%Y} "
            f"au {day + timedelta(days=last):%d/%m/%Y}")


# login: (ann's week, lesson M1 of MATHS 4B, lesson C1 of MATHS 4C, words in the refusal)
WHO_SEES_WHICH_TEXTBOOK_WHEN = {
    "hugo": (200, 200, 200, None),             # head of ann's school: always
    "insp.avant": (403, 403, 403, ("n'est ouvert que", 3, 10)),  # words, then period()
    "insp.pendant": (200, 200, 200, None),
    "insp.apres": (403, 403, 403, ("était ouvert", -10, -3)),
    "insp.restreint": (200, 200, 403, None),   # granted MATHS 4B only
    "insp.revoque": (403, 403, 403, "a été révoqué"),
    "insp.jamais": (403, 403, 403, "Aucun accès"),
    "carl": (403, 403, 403, "Seule la direction"),  # another teacher
    "ada": (403, 403, 403, "Seule la direction"),   # admin: opens accesses, reads nothing
    "ben": (403, 403, 403, "Seule la direction"),   # student
    "hector": (404, 404, 404, None),           # head of another school
}


@pytest.mark.parametrize("login", list(WHO_SEES_WHICH_TEXTBOOK_WHEN))
def test_who_sees_which_textbook_when(srv: Server, login: str) -> None:
    week_status, m1_status, c1_status, refusal = WHO_SEES_WHICH_TEXTBOOK_WHEN[login]
    if isinstance(refusal, tuple):  # dated when the test runs, on the module's clock
        words, first, last = refusal
        refusal = f"{words} {period(first, last)}"
    client = signed_in(srv, login)
    base = f"/textbook/controle/enseignants/{IDS['ann']}"
    week = client.get(f"{base}/?week={WEEK}")
    assert week.status_code == week_status
    if refusal:
        assert refusal in text(week)
    if week_status == 200:
        tree = html.fromstring(week.text)
        assert bool(tree.xpath(f'//div[@data-lesson="{IDS["M1"]}"]'))
        assert bool(tree.xpath(f'//div[@data-lesson="{IDS["C1"]}"]')) is (c1_status == 200)
        assert not tree.xpath(f'//div[@data-lesson="{IDS["F1"]}"]')  # carl's, not ann's
    assert client.get(f"{base}/seances/{IDS['M1']}").status_code == m1_status
    assert client.get(f"{base}/seances/{IDS['C1']}").status_code == c1_status
    assert client.get(f"{base}/seances/{IDS['F1']}").status_code in (403, 404)


def test_head_lists_the_teachers_of_the_school(srv: Server) -> None:
    hugo = signed_in(srv, "hugo")
    assert hugo.get("/textbook/").headers["Location"].endswith("/textbook/controle/")
    tree = html.fromstring(hugo.get("/textbook/controle/").text)
    teachers = [" ".join(li.text_content().split())
                for li in tree.xpath('//ul[@class="teachers"]/li')]
    assert teachers == ["ann : MATHS 4B, MATHS 4C", "carl : FR 4B"]
    assert tree.xpath(f'//li[@data-teacher="{IDS["ann"]}"]/a/@href') == \
        [f"/textbook/controle/enseignants/{IDS['ann']}/"]
    other = html.fromstring(signed_in(srv, "hector").get("/textbook/controle/").text)
    assert [" ".join(li.text_content().split())
            for li in other.xpath('//ul[@class="teachers"]/li')] == ["tom : MATHS 2A"]


def test_student_keeps_only_the_student_view(srv: Server) -> None:
    ben = signed_in(srv, "ben")
    assert ben.get(f"/textbook/seances/{IDS['M1']}").status_code == 200  # his class
    assert ben.get(f"/textbook/seances/{IDS['C1']}").status_code == 404  # not his class
    assert ben.get("/textbook/controle/").status_code == 403


def test_readers_see_no_private_note_and_no_forms(srv: Server) -> None:
    with srv.transaction() as s:
        textbook.add_activity(s, uid(s, "ann"), IDS["M2"], textbook.ActivityInput(
            textbook.ActivityKind.content, "Fonctions", private_note="Note privée XYZ"))
    for login in ("hugo", "insp.pendant"):
        page = signed_in(srv, login).get(
            f"/textbook/controle/enseignants/{IDS['ann']}/seances/{IDS['M2']}")
        assert page.status_code == 200 and "Fonctions" in page.text
        assert "Note privée XYZ" not in page.text
        assert not html.fromstring(page.text).xpath("//form[contains(@class, 'panel')]")


def access_count(server: Server) -> int:
    with server.transaction() as s:
        return int(s.scalar(select(func.count(textbook.InspectorAccess.id))) or 0)


def post_access(client: WebClient, fields: dict[str, str], token: bool = True) -> object:
    page = client.get("/textbook/controle/")
    data = {"access-" + k: v for k, v in fields.items()}
    if token:
        data["csrf_token"] = csrf_token(page.text)
    return client.post("/textbook/controle/acces", data)


def test_head_opens_an_access_the_teacher_sees_it(srv: Server) -> None:
    hugo = signed_in(srv, "hugo")
    with srv.transaction() as s:
        fields = {"inspector": str(uid(s, "insp.nouveau")), "teacher": str(IDS["ann"]),
                  "valid_from": f"{today() + timedelta(days=20)}",
                  "valid_until": f"{today() + timedelta(days=30)}"}
    answer = post_access(hugo, fields)
    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    ann_week = signed_in(srv, "ann").get(f"/textbook/?week={WEEK}").text
    accesses = html.fromstring(ann_week).xpath('//section[@class="inspector-accesses"]//li')
    texts = [" ".join(li.text_content().split()) for li in accesses]
    assert f"insp.nouveau : tous ses services, {period(20, 30)} (à venir)" in texts
    assert f"insp.restreint : MATHS 4B, {period(0, 0)} (en cours)" in texts
    assert any(t.startswith("insp.revoque") and t.endswith("(révoqué)") for t in texts)
    open_access(srv, "insp.nouveau", today() + timedelta(days=40), today()
                + timedelta(days=41), services=("4C MATHS",))
    with srv.transaction() as s:  # the teacher is notified (issue 7)
        bodies = [n.body for n in s.scalars(select(Notification).where(
            Notification.user_id == IDS["ann"],
            Notification.kind == NotificationKind.inspector_access))]
    assert (f"hugo a ouvert à l'inspecteur insp.nouveau l'accès en lecture à votre cahier de "
            f"textes (MATHS 4C) {period(40, 41)}.") in bodies


BAD_ACCESSES = {  # case: (fields changed, words of the refusal)
    "until-before-from": ({"valid_until": "2026-09-01", "valid_from": "2026-09-10"},
                          "Le dernier jour précède le premier"),
    "not-an-inspector": ({"inspector": "carl"}, "n'a pas le profil inspecteur"),
    "teacher-of-another-school": ({"teacher": "tom"},
                                  "n'enseigne pas dans votre établissement"),
}


@pytest.mark.parametrize("case", list(BAD_ACCESSES))
def test_bad_access_is_refused_with_the_reason(srv: Server, case: str) -> None:
    changed, reason = BAD_ACCESSES[case]
    with srv.transaction() as s:
        fields = {"inspector": str(uid(s, "insp.nouveau")), "teacher": str(IDS["ann"]),
                  "valid_from": "2026-09-01", "valid_until": "2026-09-10"}
        fields.update({k: str(uid(s, v)) if k in ("inspector", "teacher") else v
                       for k, v in changed.items()})
    before = access_count(srv)
    answer = post_access(signed_in(srv, "hugo"), fields)
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert reason in text(answer)
    assert access_count(srv) == before


def test_refused_openers_and_missing_csrf(srv: Server) -> None:
    with srv.transaction() as s:
        fields = {"inspector": str(uid(s, "insp.nouveau")), "teacher": str(IDS["ann"]),
                  "valid_from": "2026-09-01", "valid_until": "2026-09-10"}
    before = access_count(srv)
    no_token = post_access(signed_in(srv, "hugo"), fields, token=False)
    assert no_token.status_code == 403  # type: ignore[attr-defined]
    assert "jeton de sécurité (CSRF)" in text(no_token)
    carl = signed_in(srv, "carl")
    token = csrf_token(carl.get("/").text)
    assert carl.post("/textbook/controle/acces", {"csrf_token": token, **{
        "access-" + k: v for k, v in fields.items()}}).status_code == 403
    hector = post_access(signed_in(srv, "hector"), fields)  # ann is not of his school
    assert hector.status_code == 400  # type: ignore[attr-defined]
    assert access_count(srv) == before


def test_revoking_ends_the_access_at_once(srv: Server) -> None:
    access = open_access(srv, "insp.passe", today(), today() + timedelta(days=2))
    inspector = signed_in(srv, "insp.passe")
    page = f"/textbook/controle/enseignants/{IDS['ann']}/"
    assert inspector.get(page).status_code == 200
    ada = signed_in(srv, "ada")  # an admin of the school may revoke
    token = csrf_token(ada.get("/textbook/controle/").text)
    assert ada.post(f"/textbook/controle/acces/{access}/revoquer", {}).status_code == 403
    assert inspector.get(page).status_code == 200  # the token-less POST changed nothing
    hector = signed_in(srv, "hector")  # head of another school: no such access for him
    assert hector.post(f"/textbook/controle/acces/{access}/revoquer",
                       {"csrf_token": csrf_token(hector.get("/").text)}).status_code == 404
    assert ada.post(f"/textbook/controle/acces/{access}/revoquer",
                    {"csrf_token": token}).status_code == 303
    refused = inspector.get(page)
    assert refused.status_code == 403
    assert f"a été révoqué le {today():%d/%m/%Y}" in text(refused)


@pytest.mark.one_database  # a browser walk, checked over HTTP on both
@pytest.mark.clients
def test_inspector_list_during_the_period_until_revoked(srv: Server, tmp_path: Path) -> None:
    """Chromium: hugo opens an access for insp.ui from the page; insp.ui finds ann's
    textbook in their list and opens it; hugo revokes it; the list is empty."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        head = _signed_in_page(browser, srv, "hugo")
        head.goto("/textbook/")  # the head is sent to the oversight page
        head.select_option('select[name="access-inspector"]', label="insp.ui")
        head.select_option('select[name="access-teacher"]', label="ann")
        head.fill('input[name="access-valid_from"]', f"{today() - timedelta(days=1)}")
        head.fill('input[name="access-valid_until"]', f"{today() + timedelta(days=1)}")
        head.get_by_role("button", name="Ouvrir l'accès").click()
        expect(head.locator('[role="status"]')).to_contain_text("Accès ouvert")
        inspector = _signed_in_page(browser, srv, "insp.ui")
        inspector.goto("/textbook/")
        link = inspector.get_by_role("link", name="Cahier de textes de ann")
        expect(link).to_be_visible()
        link.click()
        expect(inspector.locator("p.access-period")).to_contain_text(period(-1, 1))
        row = head.locator("li.access", has_text="insp.ui")
        row.get_by_role("button", name="Révoquer").click()
        expect(head.locator("li.access", has_text="insp.ui")).to_contain_text("révoqué")
        inspector.goto("/textbook/controle/")
        expect(inspector.get_by_role("link", name="Cahier de textes de ann")).to_have_count(0)
        expect(inspector.locator("p.hint")).to_contain_text("Aucun accès ne vous est ouvert")
        browser.close()


def _signed_in_page(browser, server: Server, login: str):  # type: ignore[no-untyped-def]
    page = browser.new_context(base_url=server.base_url).new_page()
    page.goto("/login")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".user-name")).to_have_text(login)
    return page
