"""Deleted activities go to the textbook's corbeille (issue 20, "Undo instead of
loss"), against a real server: a deleted content or homework disappears for the
student, the parent, the head, the week and homework views, the JSON API and its
attachments' URLs, comes back at its place with its attachments when its teacher
restores it, and keeps charging its attachments to the quota meanwhile (nothing
freed, nothing charged twice, ``davserver fsck`` clean); another teacher, a student
and a head cannot delete, restore or purge; a homework with hand-ins and an activity
under a visa are refused (409) as before; « Supprimer définitivement » from the
corbeille frees the charge.

People, lessons and homework: :mod:`tests.integration.handin_kit` (ann teaches MATHS
4B; ben, lea students of 4B, pam ben's parent, carl another teacher, hugo the head;
``L0`` yesterday, ``LF`` in a week; ``M1`` in September, under hugo's visa here).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import requests
from lxml import html

from tests.conftest import IN_TERM, Server
from tests.integration.handin_kit import api, hand_in, handin_server
from tests.integration.oversight_kit import signed_in
from tests.web import WebClient, csrf_token
from web import textbook

pytestmark = pytest.mark.clock(IN_TERM)

IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with handin_server(tmp_path_factory.mktemp("activity-trash"), IDS) as server:
        yield server


def post(client: WebClient, activity: int, action: str) -> requests.Response:
    return client.post(f"/textbook/activites/{activity}/{action}",
                       {"csrf_token": csrf_token(client.get("/").text)})


def attach(client: WebClient, activity: int, name: str, data: bytes) -> requests.Response:
    return api(client, "PUT", f"/api/textbook/activities/{activity}/attachments/{name}", data)


def used(server: Server) -> tuple[int, int]:
    """(used, trash) bytes of ann's porte-documents."""
    with server.app() as app:
        space = app.store.ensure_space("documents", owner_id=IDS["ann"], profile="teacher")
        figures = app.store.usage(space.id)
        assert figures is not None
        return figures.used, figures.trash


def titles(client: WebClient, lesson: str) -> list[str]:
    """The activity titles of a lesson page, in their order."""
    page = client.get(f"/textbook/seances/{IDS[lesson]}")
    assert page.status_code == 200, page.text
    return [t.strip() for t in html.fromstring(page.text).xpath(
        '//li[@data-activity]//h3[@class="title"]/text()')]


def homework_week(client: WebClient) -> str:
    with_due = client.get("/textbook/travail/", params={"week": lf_day()})
    assert with_due.status_code == 200
    return with_due.text


def lf_day() -> str:
    """The day of ``LF``, where the homework of these tests is due (``AAAA-MM-JJ``)."""
    return DAYS["LF"]


DAYS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _days(srv: Server) -> None:
    with srv.transaction() as s:
        DAYS["LF"] = s.get_one(textbook.Lesson, IDS["LF"]).start.date().isoformat()


def add(server: Server, title: str, kind: textbook.ActivityKind, lesson: str = "L0") -> int:
    with server.transaction() as s:
        data = textbook.ActivityInput(kind, title) if kind is textbook.ActivityKind.content \
            else textbook.ActivityInput(kind, title, homework_type="Exercices",
                                        due_lesson_id=IDS["LF"])
        return textbook.add_activity(s, IDS["ann"], IDS[lesson], data).id


def test_a_deleted_content_is_hidden_then_restored_with_its_attachment(srv: Server) -> None:
    ann, ben, pam = (signed_in(srv, who) for who in ("ann", "ben", "pam"))
    first = add(srv, "Cours 1", textbook.ActivityKind.content)
    doomed = add(srv, "Cours 2 à effacer", textbook.ActivityKind.content)
    last = add(srv, "Cours 3", textbook.ActivityKind.content)
    sheet = attach(ann, doomed, "fiche.txt", b"f" * 300)
    assert sheet.status_code == 201, sheet.text
    url = sheet.json()["url"]
    before = used(srv)
    order = titles(ann, "L0")
    assert order.index("Cours 1") < order.index("Cours 2 à effacer") < order.index("Cours 3")
    assert "Cours 2 à effacer" in titles(ben, "L0") and ben.get(url).status_code == 200

    page = html.fromstring(ann.get(f"/textbook/seances/{IDS['L0']}").text)
    confirm = page.xpath(f'//li[@data-activity="{doomed}"]//details[contains(@class, '
                         '"delete-activity")]')
    assert confirm and "à la corbeille" in confirm[0].text_content()
    assert post(ann, doomed, "supprimer").status_code == 303

    for client in (ben, pam, ann):
        assert "Cours 2 à effacer" not in titles(client, "L0")
    assert ben.get(url).status_code == 404
    assert ann.get(f"/textbook/activites/{doomed}/modifier").status_code == 404
    from_api = api(ben, "GET", f"/api/textbook/lessons/{IDS['L0']}").json()
    assert doomed not in [a["id"] for a in from_api["activities"]]
    head = signed_in(srv, "hugo").get(
        f"/textbook/controle/enseignants/{IDS['ann']}/seances/{IDS['L0']}")
    assert head.status_code == 200 and "Cours 2 à effacer" not in head.text
    assert used(srv) == before  # the charge stays while it is in the corbeille
    trash = html.fromstring(ann.get("/textbook/corbeille").text)
    row = trash.xpath(f'//li[@data-activity="{doomed}"]')
    assert row and "1 pièce jointe" in row[0].text_content()
    assert post(ann, doomed, "supprimer").status_code == 404  # already there

    restored = post(ann, doomed, "restaurer")
    assert restored.status_code == 303
    assert restored.headers["Location"].endswith(f"/textbook/seances/{IDS['L0']}"
                                                 f"#activite-{doomed}")
    assert titles(ann, "L0") == order  # at its place again
    assert "Cours 2 à effacer" in titles(ben, "L0") and ben.get(url).text == "f" * 300
    assert used(srv) == before
    assert post(ann, doomed, "restaurer").status_code == 409  # not in the corbeille
    assert not html.fromstring(ann.get("/textbook/corbeille").text).xpath(
        f'//li[@data-activity="{doomed}"]')
    assert first and last
    assert_fsck_clean(srv)


def test_a_deleted_homework_leaves_every_view(srv: Server) -> None:
    ann, ben, pam = (signed_in(srv, who) for who in ("ann", "ben", "pam"))
    homework = add(srv, "Exercice éphémère", textbook.ActivityKind.homework)
    assert "Exercice éphémère" in homework_week(ben)
    assert "Exercice éphémère" in homework_week(pam)
    assert "Exercice éphémère" in ann.get(f"/textbook/seances/{IDS['LF']}").text  # due here
    assert post(ann, homework, "supprimer").status_code == 303
    assert "Exercice éphémère" not in homework_week(ben)
    assert "Exercice éphémère" not in homework_week(pam)
    assert "Exercice éphémère" not in ann.get(f"/textbook/seances/{IDS['LF']}").text
    assert "Exercice éphémère" not in ben.get("/textbook/", params={"week": lf_day()}).text
    assert "Exercice éphémère" not in ben.get("/").text
    assert api(ben, "PUT", f"/api/textbook/activities/{homework}/handin/copie.txt",
               b"x").status_code == 404
    assert post(ann, homework, "restaurer").status_code == 303
    assert "Exercice éphémère" in homework_week(ben)


@pytest.mark.parametrize("login", ["carl", "ben", "hugo", "pam"])
def test_only_its_teachers_delete_restore_or_purge(srv: Server, login: str) -> None:
    ann, other = signed_in(srv, "ann"), signed_in(srv, login)
    live = add(srv, f"Vivante {login}", textbook.ActivityKind.content)
    trashed = add(srv, f"Jetée {login}", textbook.ActivityKind.content)
    assert post(ann, trashed, "supprimer").status_code == 303
    assert post(other, live, "supprimer").status_code == 403
    assert post(other, trashed, "restaurer").status_code == 403
    assert post(other, trashed, "supprimer-definitivement").status_code == 403
    assert f"Vivante {login}" in titles(ann, "L0")
    assert f"Jetée {login}" not in titles(ann, "L0")
    with srv.transaction() as s:
        assert s.get(textbook.TrashedActivity, trashed) is not None
    assert post(ann, 999_999, "supprimer").status_code == 404
    assert post(ann, 999_999, "restaurer").status_code == 404
    if login == "carl":  # another teacher: not in their corbeille either
        assert f"Jetée {login}" not in other.get("/textbook/corbeille").text


def test_hand_ins_and_the_visa_still_refuse(srv: Server) -> None:
    ann, ben = signed_in(srv, "ann"), signed_in(srv, "ben")
    assert hand_in(ben, IDS["HW_OPEN"], "rendu.txt", b"rendu").status_code == 201
    refused = post(ann, IDS["HW_OPEN"], "supprimer")
    assert refused.status_code == 409 and "ne peut plus" in refused.text
    with srv.transaction() as s:
        assert s.get(textbook.TrashedActivity, IDS["HW_OPEN"]) is None
        textbook.put_visa(s, IDS["hugo"], IDS["ann"], date(2026, 9, 8))
    held = post(ann, IDS["A1"], "supprimer")
    assert held.status_code == 409
    assert html.fromstring(held.text).xpath('//p[@class="error"]')
    with srv.transaction() as s:
        assert s.get(textbook.TrashedActivity, IDS["A1"]) is None
    assert not html.fromstring(ann.get(f"/textbook/seances/{IDS['M1']}").text).xpath(
        f'//li[@data-activity="{IDS["A1"]}"]//details[contains(@class, "delete-activity")]')


def test_restored_last_when_its_place_was_taken(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    first = add(srv, "P1", textbook.ActivityKind.content, lesson="LF")
    second = add(srv, "P2", textbook.ActivityKind.content, lesson="LF")
    assert post(ann, first, "supprimer").status_code == 303
    # Moving P2 up renumbers the live activities: P2 takes P1's place.
    assert post(ann, second, "monter").status_code == 303
    third = add(srv, "P3", textbook.ActivityKind.content, lesson="LF")
    assert post(ann, first, "restaurer").status_code == 303
    order = [t for t in titles(ann, "LF") if t in ("P1", "P2", "P3")]
    assert order == ["P2", "P3", "P1"]
    assert third


def test_purge_from_the_corbeille_frees_the_charge(srv: Server) -> None:
    ann = signed_in(srv, "ann")
    before = used(srv)
    doomed = add(srv, "Vidéo lourde", textbook.ActivityKind.content)
    assert attach(ann, doomed, "video.bin", b"v" * 700).status_code == 201
    assert used(srv)[0] == before[0] + 700
    # Not from the lesson page: only what is in the corbeille is purged.
    assert post(ann, doomed, "supprimer-definitivement").status_code == 409
    assert post(ann, doomed, "supprimer").status_code == 303
    assert used(srv)[0] == before[0] + 700
    trash = html.fromstring(ann.get("/textbook/corbeille").text)
    assert trash.xpath(f'//li[@data-activity="{doomed}"]//details[contains(@class, '
                       '"purge-activity")]//button[contains(., "définitive")]')
    gone = post(ann, doomed, "supprimer-definitivement")
    assert gone.status_code == 303 and gone.headers["Location"].endswith("/textbook/corbeille")
    assert used(srv) == before
    with srv.transaction() as s:
        assert s.get(textbook.Activity, doomed) is None
    assert_fsck_clean(srv)


def test_a_homework_whose_hand_in_was_closed_is_purged(srv: Server) -> None:
    """A homework with online submission, closed with nothing handed in, then deleted
    and purged: its closure goes with it (it once ended on a 500, the closure's
    foreign key refusing the delete)."""
    ann = signed_in(srv, "ann")
    with srv.transaction() as s:
        closed = textbook.add_activity(s, IDS["ann"], IDS["L0"], textbook.ActivityInput(
            textbook.ActivityKind.homework, "Exposé clos", homework_type="Exercices",
            due_lesson_id=IDS["LF"], online_submission=True)).id
        textbook.set_closed(s, IDS["ann"], closed, True)
    assert post(ann, closed, "supprimer").status_code == 303
    gone = post(ann, closed, "supprimer-definitivement")
    assert gone.status_code == 303, gone.text
    with srv.transaction() as s:
        assert s.get(textbook.Activity, closed) is None


def assert_fsck_clean(server: Server) -> None:
    done = server.cli("fsck", check=False)
    assert done.returncode == 0 and "fsck: clean" in done.stdout, done.stdout + done.stderr


def test_a_visa_signed_since_the_deletion_keeps_the_activity_out_of_its_lesson(
        srv: Server) -> None:
    """hugo signs ann's textbook after she deleted an activity of ``L0``: the lesson
    he signed did not hold it, so « Restaurer » is refused (409) with his name and the
    time he signed, and the corbeille offers the service's lessons no visa covers;
    restored into ``LF``, it is there and not in ``L0``. An activity deleted after the
    visa goes back to ``L0`` as before (the visa did not sign its absence)."""
    ann = signed_in(srv, "ann")
    gone = add(srv, "Cours retiré avant le visa", textbook.ActivityKind.content)
    assert post(ann, gone, "supprimer").status_code == 303
    with srv.transaction() as s:
        today = s.get_one(textbook.Lesson, IDS["L0"]).start.date() + timedelta(days=1)
        textbook.put_visa(s, IDS["hugo"], IDS["ann"], today)
    refused = post(ann, gone, "restaurer")
    assert refused.status_code == 409, refused.text
    page = html.fromstring(refused.text)
    message = " ".join(page.xpath('//p[@class="error"]')[0].text_content().split())
    assert f"visé jusqu'au {today:%d/%m/%Y}" in message, message
    assert "(direction)" in message and f"le {today:%d/%m/%Y} à " in message, message
    with srv.transaction() as s:
        assert s.get(textbook.TrashedActivity, gone) is not None
    offered = page.xpath(f'//li[@data-activity="{gone}"]//form[contains(@class, '
                         '"restore-elsewhere")]//option/@value')
    assert str(IDS["LF"]) in offered
    assert str(IDS["L0"]) not in offered and str(IDS["M1"]) not in offered
    covered = ann.post(f"/textbook/activites/{gone}/restaurer",
                       {"csrf_token": csrf_token(ann.get("/").text), "seance": IDS["M1"]})
    assert covered.status_code == 409 and "visa" in covered.text

    moved = ann.post(f"/textbook/activites/{gone}/restaurer",
                     {"csrf_token": csrf_token(ann.get("/").text), "seance": IDS["LF"]})
    assert moved.status_code == 303, moved.text
    assert moved.headers["Location"].endswith(f"/textbook/seances/{IDS['LF']}"
                                              f"#activite-{gone}")
    assert "Cours retiré avant le visa" in titles(ann, "LF")
    assert "Cours retiré avant le visa" not in titles(ann, "L0")

    later = add(srv, "Cours ajouté après le visa", textbook.ActivityKind.content)
    assert post(ann, later, "supprimer").status_code == 303
    assert post(ann, later, "restaurer").status_code == 303
    assert "Cours ajouté après le visa" in titles(ann, "L0")
