"""The imports page over HTTP (issue 24, "Web": "An admin page lists past imports with
their reports, and accepts an upload with a dry run first"): a real server, a
browser-like client (real cookies, CSRF tokens from the forms), SQLite and PostgreSQL.

The school's administrator uploads the ministry's calendar with a SIECLE extraction,
sees what the dry run would change (nothing is changed), applies it; then an EDT
export (lessons laid only once applied); then next year's extraction, whose leaver
(and her only parent) the dry run announces, and abandons it. Rejected records are
listed with their line and reason. Teachers, and administrators of another school,
are refused.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import html
from sqlalchemy import func, select

import acl
from tests.conftest import IN_TERM, PASSWORD, Server, running_server
from tests.web import WebClient, csrf_token
from web import textbook
from web.imports import ImportRun

pytestmark = pytest.mark.clock(IN_TERM)

DATA = Path(__file__).resolve().parent.parent / "data"
UAI, OTHER = "0754321P", "0750653C"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("web-imports"),
                        users={"adm": "admin", "adm2": "admin", "prof": "teacher"}) as server:
        server.cli("school", "add", "Collège Jean Moulin", "--uai", UAI, "--zone", "C")
        server.cli("school", "add", "Collège Voisin", "--uai", OTHER, "--zone", "C")
        with server.transaction() as s:
            ids = {u.login: u.id for u in s.scalars(select(acl.User))}
            school_id = acl.find_school(s, UAI)
            acl.join_school(s, ids["adm"], school_id, acl.Profile.admin)
            acl.join_school(s, ids["prof"], school_id, acl.Profile.teacher)
            acl.join_school(s, ids["adm2"], acl.find_school(s, OTHER), acl.Profile.admin)
            for name in ("6A", "6B", "5A", "4B", "4C", "3A", "2E1"):
                acl.ensure_group(s, school_id, name)
            for name in ("6A GR1", "6A GR2", "4LV2ESP"):
                acl.ensure_group(s, school_id, name, "group")
            for login, display in (("m.dupont", "Marc Dupont"),
                                   ("c.bernard", "Claire Bernard"),
                                   ("jp.legall", "Jean-Pierre Le Gall"),
                                   ("s.martin", "Sophie Martin"),
                                   ("sy.martin", "Sylvain Martin"),
                                   ("h.lefevre", "Hélène Lefèvre"), ("p.roux", "Paul Roux")):
                s.add(acl.User(login=login, display_name=display,
                               profile=acl.Profile.teacher, password_hash="-",
                               school_id=school_id))
        yield server


def signed_in(srv: Server, login: str) -> WebClient:
    client = WebClient(srv)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def upload(client: WebClient, *paths: Path, partial: bool = False) -> int:
    """Upload files on the imports page; the id of the run it redirects to."""
    page = client.get("/imports/")
    assert page.status_code == 200, page.text
    files = [("fichiers", (p.name, p.read_bytes())) for p in paths]
    data = {"csrf_token": csrf_token(page.text)}
    if partial:
        data["partiel"] = "1"
    sent = client.http.post(client.url("/imports/"), data=data, files=files,
                            allow_redirects=False, timeout=60)
    assert sent.status_code == 303, sent.text
    found = re.search(r"/imports/(\d+)$", sent.headers["Location"])
    assert found, sent.headers["Location"]
    return int(found.group(1))


def settled(client: WebClient, run_id: int, timeout: float = 60.0) -> str:
    """The run's page once it is no longer running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get(f"/imports/{run_id}")
        assert page.status_code == 200, page.text
        state = html.fromstring(page.text).xpath('//p[@class="run-state"]/@data-state')[0]
        if state not in ("checking", "applying"):
            return page.text
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still running after {timeout} s")


def press(client: WebClient, run_id: int, action: str, page: str) -> str:
    sent = client.post(f"/imports/{run_id}/{action}", {"csrf_token": csrf_token(page)})
    assert sent.status_code == 303, sent.text
    return sent.headers["Location"]


def count(srv: Server, model: object, *where: object) -> int:
    with srv.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def state(page: str) -> str:
    return str(html.fromstring(page).xpath('//p[@class="run-state"]/@data-state')[0])


def test_only_the_school_administrators_reach_the_page(srv: Server) -> None:
    assert WebClient(srv).get("/imports/").status_code == 302
    assert signed_in(srv, "prof").get("/imports/").status_code == 403
    adm = signed_in(srv, "adm")
    page = adm.get("/imports/")
    assert page.status_code == 200 and "Collège Jean Moulin" in page.text
    assert f"/dav/imports/{UAI}/" in page.text
    assert 'href="/imports/"' in page.text  # the header's link
    run_id = upload(adm, DATA / "people" / "siecle_eleves_2025.csv")
    settled(adm, run_id)
    other = signed_in(srv, "adm2")
    assert other.get(f"/imports/{run_id}").status_code == 404
    assert other.post(f"/imports/{run_id}/appliquer", {
        "csrf_token": csrf_token(other.get("/imports/").text)}).status_code == 404
    page = adm.get(f"/imports/{run_id}")
    press(adm, run_id, "abandonner", page.text)


def test_dry_run_then_apply_people_and_holidays(srv: Server) -> None:
    adm = signed_in(srv, "adm")
    students = (acl.UserSchool.profile == acl.Profile.student,)
    run_id = upload(adm, DATA / "people" / "siecle_eleves_2025.csv",
                    DATA / "timetable" / "fr-en-calendrier-scolaire.json")
    page = settled(adm, run_id)
    assert state(page) == "checked"
    tree = html.fromstring(page)
    question = tree.xpath('//p[@class="question"]')[0].text_content()
    assert "Cet import va créer 10, mettre à jour 0, désactiver 0 compte(s)" in question
    people = tree.xpath('//section[@data-kind="people"]')[0]
    assert people.xpath('.//tr[@data-profile="student"]/td[@class="created"]')[0].text == "5"
    assert people.xpath('.//tr[@data-profile="parent"]/td[@class="created"]')[0].text == "5"
    assert "Liens parent-enfant : 7" in people.text_content()
    holidays = tree.xpath('//section[@data-kind="holidays"]')[0].text_content()
    assert "Année 2026-2027, zone C" in holidays
    assert count(srv, acl.UserSchool, *students) == 0  # a dry run changes nothing
    assert count(srv, textbook.Holiday) == 0

    assert press(adm, run_id, "appliquer", page).endswith(f"/imports/{run_id}")
    page = settled(adm, run_id)
    assert state(page) == "done"
    assert "10 créés" in html.fromstring(page).xpath('//p[@class="import-summary"]')[0].text
    assert count(srv, acl.UserSchool, *students) == 5
    assert count(srv, textbook.Holiday) > 0
    assert f"/dav/imports/{UAI}/import-{run_id}.passwords.csv" in page
    # A second click on "Appliquer" imports nothing more.
    press(adm, run_id, "appliquer", page)
    again = html.fromstring(adm.get(f"/imports/{run_id}").text)
    assert "n'attend pas de confirmation" in again.xpath('//main/p[@class="error"]')[0].text
    assert count(srv, acl.UserSchool, *students) == 5
    listing = html.fromstring(adm.get("/imports/").text)
    row = listing.xpath(f'//tr[@data-run="{run_id}"]')[0]
    assert row.get("data-state") == "done" and "10 créés" in row.text_content()


def test_a_timetable_is_laid_only_once_applied(srv: Server) -> None:
    adm = signed_in(srv, "adm")
    if count(srv, textbook.Holiday) == 0:  # run alone: the school year comes first
        run_id = upload(adm, DATA / "timetable" / "fr-en-calendrier-scolaire.json")
        press(adm, run_id, "appliquer", settled(adm, run_id))
        settled(adm, run_id)
    run_id = upload(adm, DATA / "timetable" / "EXP_COURS.xml")
    page = settled(adm, run_id)
    assert state(page) == "checked", page
    figures = html.fromstring(page).xpath('//section[@data-kind="timetable"]')[0]
    laid = int(re.search(r"(\d+) créées", figures.text_content()).group(1))  # type: ignore[union-attr]
    assert laid > 100
    assert count(srv, textbook.Lesson) == 0
    press(adm, run_id, "appliquer", page)
    assert state(settled(adm, run_id)) == "done"
    assert count(srv, textbook.Lesson) == laid


def test_a_leaver_announced_then_abandoned_and_rejections_listed(srv: Server) -> None:
    adm = signed_in(srv, "adm")
    if count(srv, acl.UserSchool, acl.UserSchool.profile == acl.Profile.student) == 0:
        first = upload(adm, DATA / "people" / "siecle_eleves_2025.csv")
        press(adm, first, "appliquer", settled(adm, first))
        settled(adm, first)
    run_id = upload(adm, DATA / "people" / "siecle_eleves_2025_v2.csv")
    page = settled(adm, run_id)
    tree = html.fromstring(page)
    question = tree.xpath('//p[@class="question"]')[0].text_content()
    assert "créer 1, mettre à jour 3, désactiver 2 compte(s)" in question  # she and her parent
    for profile in ("student", "parent"):
        assert tree.xpath(f'//tr[@data-profile="{profile}"]/td[@class="disabled"]')[0].text == "1"
    staged = srv.data_dir / "imports" / str(run_id)
    assert staged.is_dir()
    assert press(adm, run_id, "abandonner", page).endswith("/imports/")
    assert not staged.exists()
    assert count(srv, acl.UserSchool, acl.UserSchool.left_at.is_not(None)) == 0
    with srv.transaction() as s:
        assert s.get_one(ImportRun, run_id).state == "discarded"

    bad = srv.data_dir / "eleves-doublon.csv"
    lines = (DATA / "people" / "siecle_eleves_2025.csv").read_bytes().split(b"\r\n")
    bad.write_bytes(b"\r\n".join([*lines[:3], lines[2].replace(b"Manon", b"Lola"),
                                  *lines[3:]]))
    run_id = upload(adm, bad)
    tree = html.fromstring(settled(adm, run_id))
    rows = tree.xpath('//table[@class="list import-rejected"]/tbody/tr')
    assert rows, "no rejection listed"
    where = rows[0].xpath('./td[@class="where"]')[0].text
    assert where.startswith("eleves-doublon.csv, ligne "), where
    assert rows[0].xpath('./td[@class="reason"]')[0].text


def test_imports_made_by_the_commands_are_listed_too(srv: Server) -> None:
    srv.cli("import", "holidays", str(DATA / "timetable" / "fr-en-calendrier-scolaire.json"),
            "--school", UAI)
    srv.cli("import", "holidays", str(DATA / "timetable" / "fr-en-calendrier-scolaire.json"),
            "--school", UAI, "--dry-run")  # changes nothing: not listed
    adm = signed_in(srv, "adm")
    rows = html.fromstring(adm.get("/imports/").text).xpath(
        "//table[@class='list import-runs']/tbody/tr")
    first = rows[0].text_content()
    assert "fr-en-calendrier-scolaire.json" in first and "commande" in first
    assert "cli:" in first and "période" in first
    assert "commande" not in rows[1].text_content()
    run_id = rows[0].get("data-run")
    page = html.fromstring(adm.get(f"/imports/{run_id}").text)
    assert page.xpath('//section[@data-kind="holidays"]')
