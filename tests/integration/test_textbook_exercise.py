"""The exercise a new teacher is trained on (issue 5, "Tests in a real browser"), in
Chromium against the real server, then what a student and a parent see.

Dates are relative to today (school time, Europe/Paris), weekdays only: ``L1`` the
last MATHS 4B lesson before today (08:00), ``L2``…``L4`` the next three (10:00);
``K1``/``K2`` MATHS 4C on the first two of those days (09:00). ann teaches both
classes; ben is in 4B, paul is his parent. Screenshots (the teacher's week, the
student's homework list) are kept in ``ENT_SCREENSHOTS`` or the test's tmp dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect, sync_playwright

import acl
from tests.conftest import PASSWORD, Server, running_server, school_today
from tests.integration.test_web_accessibility import shots
from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS, sign_in
from web import textbook

# One database is enough: a browser walk; the same actions are checked over HTTP on both
# (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.time_sensitive, pytest.mark.one_database]  # dates relative to the clock

PARIS = ZoneInfo("Europe/Paris")
USERS = {"ann": "teacher", "ben": "student", "paul": "parent"}
IDS: dict[str, int] = {}
DAYS: dict[str, date] = {}


def _weekdays(start: date, step: int, count: int) -> list[date]:
    found, day = [], start
    while len(found) < count:
        day += timedelta(days=step)
        if day.weekday() < 5:
            found.append(day)
    return found


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    today = school_today()
    [DAYS["L1"]] = _weekdays(today, -1, 1)
    DAYS["L2"], DAYS["L3"], DAYS["L4"] = _weekdays(today, 1, 3)
    DAYS["K1"], DAYS["K2"] = DAYS["L2"], DAYS["L3"]
    plan = {"L1": ("4B", 8), "L2": ("4B", 10), "L3": ("4B", 10), "L4": ("4B", 10),
            "K1": ("4C", 9), "K2": ("4C", 9)}
    with running_server(tmp_path_factory.mktemp("exercise"), users=USERS) as server:
        with server.transaction() as s:
            school = acl.ensure_school(s, "Collège Jean Moulin")
            uid = {login: acl.find_user(s, login).id for login in USERS}  # type: ignore[union-attr]
            acl.add_member(s, acl.ensure_group(s, school, "4B"), uid["ben"])
            acl.link_parent(s, uid["paul"], uid["ben"])
            year = textbook.set_school_year(s, school, today - timedelta(days=120),
                                            today + timedelta(days=200))
            for name, (group, hour) in plan.items():
                service = textbook.ensure_service(
                    s, school, acl.ensure_group(s, school, group),
                    acl.ensure_subject(s, school, "MATHS"), [uid["ann"]])
                start = datetime.combine(DAYS[name], datetime.min.time(), PARIS) \
                    .replace(hour=hour)
                IDS[name] = textbook.create_lesson(s, service, start,
                                                   start + timedelta(hours=1), year).id
        yield server


@pytest.fixture(scope="module")
def browser(srv: Server) -> Iterator[object]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def tab(browser: object, srv: Server, login: str) -> Page:
    context = browser.new_context(base_url=srv.base_url)  # type: ignore[attr-defined]
    page: Page = context.new_page()
    page.goto("/login")
    sign_in(page, login, PASSWORD)
    expect(page.locator("h1")).not_to_have_text("Connexion")
    return page


def activity(page: Page, title: str):  # type: ignore[no-untyped-def]
    return page.locator("li.activity", has=page.locator("h3.title", has_text=title))


def transfer(page: Page, title: str, value: str) -> None:
    item = activity(page, title)
    item.locator("select[name=destination]").select_option(value=value)
    item.get_by_role("button", name="Copier / déplacer").click()


def open_tool(page: Page, name: str) -> None:
    """Open the lesson page's tool ``name`` (its « details », closed on each load)."""
    tool = page.locator(f"details.{name}")
    if tool.get_attribute("open") is None:
        tool.locator("> summary").click()


def add(page: Page, kind: str, title: str, body: str, minutes: str = "") -> None:
    open_tool(page, f"add-{kind}")
    form = page.locator(f"form.{kind}")
    form.get_by_label("Titre").fill(title)
    form.get_by_label("Texte").fill(body)
    if minutes:
        form.get_by_label("Durée estimée (minutes)").fill(minutes)
    label = "Enregistrer le contenu" if kind == "content" else "Enregistrer le travail"
    form.get_by_role("button", name=label).click()
    expect(activity(page, title)).to_be_visible()


def new_binder_item(page: Page, folder: str, kind: str, title: str, body: str,
                    minutes: str = "") -> None:
    page.goto(f"/documents/classeur/{folder}/")
    page.get_by_role("link", name="Nouvel élément (activité)").click()
    page.get_by_role("radio", name=kind).check()
    page.get_by_label("Titre").fill(title)
    page.get_by_label("Texte").fill(body)
    if minutes:
        page.get_by_label("Durée estimée (minutes, travail à faire)").fill(minutes)
    page.get_by_role("button", name="Enregistrer dans le classeur").click()
    expect(page.get_by_text(f"Élément ajouté au classeur : {title}")).to_be_visible()


def test_the_new_teachers_exercise_then_what_students_and_parents_see(
        srv: Server, browser: object, tmp_path: Path) -> None:
    ann = tab(browser, srv, "ann")
    shown = ann.locator("li.activity h3.title")  # the lesson page's activities, in order
    lesson = {name: f"/textbook/seances/{i}" for name, i in IDS.items()}

    # Fill in the last lesson: content C1, homework T1 due at the next lesson.
    ann.goto(lesson["L1"])
    add(ann, "content", "C1 Pythagore", "Énoncé du théorème de Pythagore.")
    add(ann, "homework", "T1 Exercices", "Exercices 1 à 4 page 52.", minutes="20")
    expect(shown).to_have_text(["C1 Pythagore", "T1 Exercices"])
    # The marker on the lesson, the homework on the day it is due.
    ann.goto(f"/textbook/?week={DAYS['L1'].isoformat()}")
    expect(ann.locator(f".lesson[data-lesson='{IDS['L1']}'] .content-marker")).to_be_visible()
    ann.goto(f"/textbook/?week={DAYS['L2'].isoformat()}")
    expect(ann.locator(f".day[data-day='{DAYS['L2'].isoformat()}'] .homework-due")) \
        .to_contain_text("T1 Exercices")

    # Edit C1, then copy it to the binder and to the other class's next lesson.
    ann.goto(lesson["L1"])
    activity(ann, "C1 Pythagore").get_by_role("link", name="Modifier").click()
    ann.get_by_label("Titre").fill("C1 Pythagore révisé")
    ann.get_by_role("button", name="Enregistrer").click()
    expect(activity(ann, "C1 Pythagore révisé")).to_be_visible()
    transfer(ann, "C1 Pythagore révisé", "classeur:/")
    expect(ann.get_by_text("Copié dans le classeur : C1 Pythagore révisé.html")).to_be_visible()
    transfer(ann, "C1 Pythagore révisé", f"copier:{IDS['K1']}")
    expect(ann.get_by_text("Activité copiée.")).to_be_visible()

    # The binder: a folder per level and a subfolder; C1 moved there; C2 and T2 written.
    ann.goto("/documents/classeur/")
    for name in ("4e", "3e"):
        ann.get_by_label("Nouveau dossier").fill(name)
        ann.get_by_role("button", name="Créer le dossier").click()
        expect(ann.get_by_role("link", name=name, exact=True)).to_be_visible()
    ann.goto("/documents/classeur/4e/")
    ann.get_by_label("Nouveau dossier").fill("Géométrie")
    ann.get_by_role("button", name="Créer le dossier").click()
    ann.goto("/documents/classeur/")
    ann.get_by_label("Sélectionner C1 Pythagore révisé.html").check()
    ann.locator("#destination").fill("classeur/4e/Géométrie")
    ann.get_by_role("button", name="Déplacer").click()
    ann.goto("/documents/classeur/4e/G%C3%A9om%C3%A9trie/")
    expect(ann.get_by_role("link", name="C1 Pythagore révisé.html")).to_be_visible()
    new_binder_item(ann, "4e", "Contenu de séance", "C2 Aires", "Aire du triangle.")
    new_binder_item(ann, "4e", "Travail à faire", "T2 Fiche", "Fiche d'aires.", minutes="30")
    # Import C3 from a lesson into the binder.
    ann.goto(lesson["L1"])
    add(ann, "content", "C3 Réciproque", "La réciproque du théorème.")
    open_tool(ann, "binder")
    panel = ann.locator("form.to-binder")
    panel.get_by_label("C3 Réciproque").check()
    panel.get_by_label("Dossier du classeur").select_option("/4e")
    panel.get_by_role("button", name="Copier dans le classeur").click()
    expect(ann.get_by_text("Copié dans le classeur : C3 Réciproque.html")).to_be_visible()

    # C2 and T2 into the next lesson; T2 due at L4 instead of L3.
    ann.goto(lesson["L2"])
    open_tool(ann, "binder")
    panel = ann.locator("form.from-binder")
    panel.get_by_label("4e/C2 Aires.html").check()
    panel.get_by_label("4e/T2 Fiche.html").check()
    panel.get_by_role("button", name="Importer dans la séance").click()
    expect(shown).to_have_text(["C2 Aires", "T2 Fiche"])
    activity(ann, "T2 Fiche").get_by_role("link", name="Modifier").click()
    ann.locator("select[name=homework-due_lesson]").select_option(value=str(IDS["L4"]))
    ann.get_by_role("button", name="Enregistrer").click()
    with srv.transaction() as s:
        t2 = s.query(textbook.Activity).filter_by(title="T2 Fiche").one()
        assert (t2.lesson_id, t2.due_lesson_id) == (IDS["L2"], IDS["L4"])

    # Swap C1 and C3 in the last lesson.
    ann.goto(lesson["L1"])
    expect(shown).to_have_text(["C1 Pythagore révisé", "T1 Exercices", "C3 Réciproque"])
    for _ in range(2):
        activity(ann, "C3 Réciproque").get_by_role("button", name="Monter").click()
    activity(ann, "C1 Pythagore révisé").get_by_role("button", name="Descendre").click()
    expect(shown).to_have_text(["C3 Réciproque", "T1 Exercices", "C1 Pythagore révisé"])

    # C2 and T2 to the following lesson; T2's due lesson follows, and the page says so.
    ann.goto(lesson["L2"])
    transfer(ann, "C2 Aires", f"deplacer:{IDS['L3']}")
    transfer(ann, "T2 Fiche", f"deplacer:{IDS['L3']}")
    expect(ann.get_by_text("Le travail est désormais à faire pour le")).to_be_visible()
    ann.goto(lesson["L3"])
    expect(shown).to_have_text(["C2 Aires", "T2 Fiche"])

    # A lesson made by hand, moved to the next weekday 13:00–14:00, cancelled, deleted
    # to the corbeille and restored.
    ann.goto("/textbook/seances/nouvelle")
    service = ann.get_by_label("Service (classe et matière)")
    service.select_option(label=next(o for o in service.locator("option").all_inner_texts()
                                     if "4B" in o))
    ann.get_by_label("Date").fill(DAYS["L3"].isoformat())
    ann.get_by_label("Début").fill("15:00")
    ann.get_by_label("Fin").fill("16:00")
    ann.get_by_role("button", name="Créer la séance").click()
    made = int(ann.url.rstrip("/").rsplit("/", 1)[1])
    ann.locator("details.lesson-actions summary").click()
    move = ann.locator("form.move-lesson")
    move.get_by_label("Nouvelle date").fill(DAYS["L2"].isoformat())
    move.get_by_label("Début").fill("13:00")
    move.get_by_label("Fin").fill("14:00")
    move.get_by_role("button", name="Déplacer la séance").click()
    ann.goto(f"/textbook/seances/{made}")
    ann.locator("details.lesson-actions summary").click()
    ann.get_by_role("button", name="Annuler la séance").click()
    week = f"/textbook/?week={DAYS['L2'].isoformat()}"
    ann.goto(week)
    cancelled = ann.locator(f".lesson.cancelled[data-lesson='{made}']")
    expect(cancelled).to_contain_text("13:00–14:00")
    ann.goto(f"/textbook/seances/{made}")
    ann.once("dialog", lambda dialog: dialog.accept())  # « Mettre cette séance à la corbeille ? »
    ann.get_by_role("button", name="Supprimer la séance").click()
    expect(ann.get_by_text("Séance mise à la corbeille.")).to_be_visible()
    ann.goto("/textbook/corbeille")
    ann.get_by_role("button", name="Restaurer").click()
    ann.goto(week)
    expect(cancelled).to_be_visible()
    ann.screenshot(path=str(shots(tmp_path) / "exercise-teacher-week.png"), full_page=True)

    # The student: T1 due at L2, no private note, the cancelled lesson absent; the
    # lessons' content only once they are over (L1's, not L3's).
    ben = tab(browser, srv, "ben")
    ben.goto(f"/textbook/travail/?week={DAYS['L2'].isoformat()}")
    expect(ben.get_by_text("T1 Exercices")).to_be_visible()
    ben.screenshot(path=str(shots(tmp_path) / "exercise-student-homework.png"), full_page=True)
    ben.goto(week)
    expect(ben.locator(f".lesson[data-lesson='{made}']")).to_have_count(0)
    ben.goto(f"/textbook/?week={DAYS['L1'].isoformat()}")
    expect(ben.get_by_text("C3 Réciproque")).to_be_visible()
    ben.goto(f"/textbook/?week={DAYS['L3'].isoformat()}")
    expect(ben.get_by_text("C2 Aires")).to_have_count(0)
    # The parent sees the same homework for their child.
    paul = tab(browser, srv, "paul")
    paul.goto(f"/textbook/travail/?week={DAYS['L2'].isoformat()}")
    expect(paul.get_by_text("T1 Exercices")).to_be_visible()
    # Cancelled by mistake: the teacher reinstates it, and the student sees it again.
    ann.goto(f"/textbook/seances/{made}")
    ann.get_by_role("button", name="Rétablir la séance").click()
    expect(ann.get_by_text("Séance rétablie.")).to_be_visible()
    ben.goto(week)
    expect(ben.locator(f".lesson[data-lesson='{made}']")).to_have_count(1)
    assert (shots(tmp_path) / "exercise-teacher-week.png").stat().st_size > 10_000
