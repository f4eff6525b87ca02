"""Four exercises of the training guide walked in Chromium (issue 20, "Tests"), each at
1366 px ("desktop") and at 390 px ("phone"), against one real server with the school
of :mod:`tests.integration.homework_kit` (clock pinned to Tuesday 08/09/2026 10:00,
Paris) and a booking domain « Salles » with the room « Salle B12 »:

* **the binder** (classeur pédagogique): ann makes a folder in ``/binder/``, writes an
  item in it in the rich-text editor, copies the content of her lesson M1 into it
  from the lesson page, then imports both into another lesson, which shows them;
* **the visa**: hugo (direction) opens a teacher's cahier de textes and puts a visa
  on it; on a page opened before the visa the teacher's move of an activity and
  deletion of the lesson come back as the lesson page with the reason (no error
  page); the page now offers no « Supprimer » and no move, and says why;
* **booking from a lesson**: ann books « Salle B12 » from her lesson's « Réserver,
  déplacer ou annuler la séance »; the lesson and ``/booking/`` show it; carl's
  booking of the same room for the same hour is refused with a message naming why;
* **a lesson's life** (« séance »): ann makes a lesson by hand (« Nouvelle séance »),
  moves it to another day, cancels it (marked « annulée » in her week, gone from her
  student ben's), reinstates it (« Rétablir la séance »), deletes it once she answers
  yes to the browser's question, finds it in the textbook's corbeille and restores it;
  her week shows it at each step, with its hours, class, subject and room.

Every page visited scrolls no pixel sideways and has no serious or critical axe
violation (WCAG 2.1 A/AA); each is kept as a screenshot (``ENT_SCREENSHOTS`` or the
test's temporary folder, as in :mod:`tests.integration.test_web_accessibility`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.conftest import Server, running_server
from tests.integration.homework_kit import build_school
from tests.integration.test_web_accessibility import (
    axe_problems,
    browser,  # noqa: F401
    shots,
    sideways,
    signed_in_page,
)
from web import booking

# A browser walk: one database is enough (the same refusals are checked over HTTP on
# both in test_web_booking, test_textbook_api and test_textbook_transfers).
pytestmark = [pytest.mark.clock("2026-09-08T10:00 Europe/Paris"), pytest.mark.one_database,
              pytest.mark.clients]
IDS: dict[str, int] = {}
ROOM = "Salle B12"
WIDTH_NAMES = ["phone", "desktop"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("walks")) as server:
        IDS.update(build_school(server))
        server.cli("booking", "domain", "add", "Salles", "--profile", "teacher")
        server.cli("booking", "resource", "add", "Salles", ROOM, "--kind", "place")
        with server.transaction() as s:
            IDS["room"] = s.scalars(select(booking.Resource.id).where(
                booking.Resource.name == ROOM)).one()
        yield server


def looked_at(page: Page, folder: Path, name: str) -> None:
    """The page fits the width and passes axe; its screenshot is kept as ``name``."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    assert sideways(page) == 0, (name, page.url)
    assert axe_problems(page) == [], (name, page.url)


def open_tools(page: Page, summary: str) -> None:
    """Open the ``<details>`` whose summary is ``summary`` (lesson page tools)."""
    page.locator("summary", has_text=summary).click()


@pytest.mark.parametrize("width", WIDTH_NAMES)
def test_binder(srv: Server, browser: Browser, tmp_path: Path, width: str) -> None:  # noqa: F811
    """Folder, new item, copy from M1, import into M4 (phone) or M3 (desktop)."""
    folder, shot = f"Fractions {width}", f"binder-{width}"
    target, kept = IDS["M4" if width == "phone" else "M3"], shots(tmp_path)
    ann = signed_in_page(srv, browser, "ann", width)
    ann.goto("/binder/")
    expect(ann).to_have_url(f"{srv.base_url}/documents/classeur/")
    looked_at(ann, kept, f"{shot}-1-classeur")

    ann.get_by_label("Nouveau dossier").fill(folder)
    ann.get_by_role("button", name="Créer le dossier").click()
    ann.get_by_role("link", name=folder, exact=True).click()
    expect(ann.get_by_role("heading", level=1)).to_contain_text(folder)
    looked_at(ann, kept, f"{shot}-2-dossier")

    ann.get_by_role("link", name="Nouvel élément (activité)").click()
    expect(ann.get_by_role("heading", level=1)).to_have_text("Nouvel élément du classeur")
    ann.get_by_label("Titre").fill("Réchauffement")
    editor = ann.get_by_role("textbox", name="Texte")
    editor.click()
    ann.keyboard.type("Calculez 3/4 de 12.")
    looked_at(ann, kept, f"{shot}-3-element")
    ann.get_by_role("button", name="Enregistrer dans le classeur").click()
    expect(ann.get_by_text("Élément ajouté au classeur : Réchauffement.html")).to_be_visible()
    expect(ann.get_by_role("link", name="Réchauffement.html")).to_be_visible()
    looked_at(ann, kept, f"{shot}-4-dossier-rempli")

    ann.goto(f"/textbook/seances/{IDS['M1']}")
    open_tools(ann, "Classeur pédagogique : copier ou importer")
    to_binder = ann.locator("form.to-binder")
    to_binder.get_by_label("Cours sur les fractions").check()
    to_binder.get_by_label("Dossier du classeur").select_option(label=f"/{folder}")
    looked_at(ann, kept, f"{shot}-5-copie")
    to_binder.get_by_role("button", name="Copier dans le classeur").click()
    expect(ann.get_by_text("Copié dans le classeur : Cours sur les fractions.html."))\
        .to_be_visible()

    ann.goto(f"/textbook/seances/{target}")
    open_tools(ann, "Classeur pédagogique : copier ou importer")
    from_binder = ann.locator("form.from-binder")
    from_binder.get_by_label(f"{folder}/Réchauffement.html").check()
    from_binder.get_by_label(f"{folder}/Cours sur les fractions.html").check()
    looked_at(ann, kept, f"{shot}-6-import")
    from_binder.get_by_role("button", name="Importer dans la séance").click()
    expect(ann.get_by_text("Importé du classeur : Cours sur les fractions, Réchauffement."))\
        .to_be_visible()
    activities = ann.locator("ol.activities")
    expect(activities.get_by_role("heading", name="Réchauffement")).to_have_count(1)
    expect(activities.get_by_text("Calculez 3/4 de 12.")).to_be_visible()
    expect(activities.get_by_role("heading", name="Cours sur les fractions")).to_have_count(1)
    looked_at(ann, kept, f"{shot}-7-seance")
    ann.context.close()


# Each width visas its own teacher: a visa covers all of a teacher's lessons, and the
# walk starts from a textbook with none.
VISAED = {"phone": ("carl", "F1", "H2", "F2"), "desktop": ("ann", "M1", "K1", "M2")}


@pytest.mark.parametrize("width", WIDTH_NAMES)
def test_visa(srv: Server, browser: Browser, tmp_path: Path, width: str) -> None:  # noqa: F811
    """The head visas; the teacher's stale page is refused with reasons, the new one
    offers no deletion and no move. About 10 s (two people, two tabs)."""
    login, lesson_name, held_name, later = VISAED[width]
    lesson, held, shot = IDS[lesson_name], IDS[held_name], f"visa-{width}"
    kept = shots(tmp_path)
    # The teacher's two tabs on the lesson, opened before the visa.
    moving = signed_in_page(srv, browser, login, width)
    moving.goto(f"/textbook/seances/{lesson}")
    deleting = moving.context.new_page()
    deleting.goto(f"/textbook/seances/{lesson}")
    expect(deleting.get_by_role("button", name="Supprimer la séance")).to_have_count(1)

    hugo = signed_in_page(srv, browser, "hugo", width)
    hugo.goto("/textbook/controle/")
    looked_at(hugo, kept, f"{shot}-1-controle")
    hugo.locator("ul.teachers").get_by_role("link", name=login, exact=True).click()
    expect(hugo.get_by_role("heading", level=1)).to_contain_text(
        f"Cahier de textes de {login}")
    looked_at(hugo, kept, f"{shot}-2-cahier")
    visa = hugo.locator("form.visa")
    expect(visa.get_by_label("Séances couvertes jusqu'au (inclus)")).to_have_value(
        "2026-09-08")
    visa.get_by_label("Commentaire (facultatif)").fill("Cahier tenu avec soin.")
    visa.get_by_role("button", name="Poser le visa").click()
    expect(hugo.get_by_text("Visa posé : séances jusqu'au 08/09/2026 incluses."))\
        .to_be_visible()
    looked_at(hugo, kept, f"{shot}-3-vise")
    hugo.context.close()

    # Moving an activity the visa holds, from the page opened before: refused, and said.
    form = moving.locator(f"#activite-{held} form.transfer")
    form.get_by_label("Destination").select_option(value=f"deplacer:{IDS[later]}")
    form.get_by_role("button", name="Copier / déplacer").click()
    alert = moving.get_by_role("alert")
    expect(alert).to_contain_text("figure au cahier de textes visé le 08/09/2026")
    expect(alert).to_contain_text("ne peut plus être déplacée")
    expect(moving.locator("ol.activities #activite-" + str(held))).to_have_count(1)
    expect(moving.get_by_text(re.compile(r"erreur \d{3}"))).to_have_count(0)
    looked_at(moving, kept, f"{shot}-4-deplacement-refuse")

    # Deleting the lesson, from the other tab: refused, and said.
    deleting.once("dialog", lambda dialog: dialog.accept())
    deleting.get_by_role("button", name="Supprimer la séance").click()
    expect(deleting.get_by_role("alert")).to_contain_text("ne peut plus être supprimée")
    expect(deleting.get_by_text(re.compile(r"erreur \d{3}"))).to_have_count(0)
    deleting.close()

    # The page as it is now: why, and nothing the visa forbids is offered.
    moving.goto(f"/textbook/seances/{lesson}")
    notice = moving.locator(".visa-covered")
    expect(notice).to_contain_text("Séance couverte par le visa du 08/09/2026")
    expect(notice).to_contain_text("ne peuvent être ni supprimées ni déplacées")
    expect(moving.get_by_role("button", name="Supprimer")).to_have_count(0)
    expect(moving.locator(f"#activite-{held} option[value^='deplacer:']")).to_have_count(0)
    expect(moving.locator(f"#activite-{held}").get_by_role("link", name="Modifier"))\
        .to_be_visible()
    looked_at(moving, kept, f"{shot}-5-seance")
    moving.context.close()


# Each width books its own lesson of ann's: M2 (Wednesday 10:00) or M3 (Friday 08:00).
BOOKED = {"phone": ("M2", "2026-09-09", "10:00"), "desktop": ("M3", "2026-09-11", "08:00")}


@pytest.mark.parametrize("width", WIDTH_NAMES)
def test_booking_from_a_lesson(srv: Server, browser: Browser, tmp_path: Path,  # noqa: F811
                               width: str) -> None:
    """ann books the room for her lesson; carl's booking of it at that hour is refused."""
    lesson_name, day, hour = BOOKED[width]
    lesson, shot, kept = IDS[lesson_name], f"reservation-{width}", shots(tmp_path)
    purpose = f"Travaux pratiques ({width})"
    ann = signed_in_page(srv, browser, "ann", width)
    ann.goto(f"/textbook/seances/{lesson}")
    open_tools(ann, "Réserver, déplacer ou annuler la séance")
    looked_at(ann, kept, f"{shot}-1-seance")
    ann.get_by_role("link", name="Réserver une ressource").click()
    ann.get_by_label("Ressources disponibles").select_option(str(IDS["room"]))
    ann.get_by_role("button", name="Ajouter →").click()
    expect(ann.get_by_label("Ressources choisies").locator("option")).to_have_count(1)
    ann.get_by_label("Motif").fill(purpose)
    looked_at(ann, kept, f"{shot}-2-choix")
    ann.get_by_role("button", name="Réserver pour la séance").click()

    expect(ann).to_have_url(f"{srv.base_url}/textbook/seances/{lesson}")
    expect(ann.get_by_text("1 ressource(s) réservée(s) pour la séance.")).to_be_visible()
    expect(ann.locator(".lesson-facts .booked")).to_contain_text(ROOM)
    looked_at(ann, kept, f"{shot}-3-seance-reservee")
    ann.goto("/booking/")
    expect(ann.get_by_role("link", name=ROOM)).to_be_visible()
    looked_at(ann, kept, f"{shot}-4-reservations")
    ann.get_by_role("link", name="Mes réservations").click()
    row = ann.locator("table.bookings tr", has_text=purpose)
    expect(row).to_contain_text(ROOM)
    expect(row).to_contain_text(f"{day[8:]}/{day[5:7]}")
    expect(row).to_contain_text(hour)
    expect(row.locator(".state")).to_have_text("Confirmée")
    looked_at(ann, kept, f"{shot}-5-mes-reservations")
    ann.context.close()

    carl = signed_in_page(srv, browser, "carl", width)
    carl.goto(f"/booking/ressources/{IDS['room']}?jour={day}&heure={hour}")
    expect(carl.locator(f"td.busy[title*='{purpose}']")).to_have_count(1)
    looked_at(carl, kept, f"{shot}-6-salle")
    carl.locator("form.booking").get_by_role("button", name="Réserver").click()
    expect(carl.get_by_role("alert")).to_contain_text("déjà réservé")
    expect(carl.get_by_text(re.compile(r"erreur \d{3}"))).to_have_count(0)
    looked_at(carl, kept, f"{shot}-7-refus")
    carl.context.close()


# Each width makes its own lesson of MATHS 4B, on Thursday 10/09, and moves it to the
# Friday at the same hour: hours the class has free (homework_kit's table).
MADE = {"phone": ("14:00", "15:00"), "desktop": ("15:00", "16:00")}


@pytest.mark.parametrize("width", WIDTH_NAMES)
def test_lesson_life(srv: Server, browser: Browser, tmp_path: Path,  # noqa: F811
                     width: str) -> None:
    """ann creates a lesson, moves it, cancels it (marked « annulée » in her week,
    gone from ben's: issue 5 hides a cancelled lesson from the class), reinstates it,
    deletes it after a confirmation she first refuses, and restores it from the
    corbeille; the week view shows each state. About 12 s (two people, 11 pages with
    axe; up to 20 s on a loaded machine)."""
    start, end = MADE[width]
    shot, kept = f"seance-{width}", shots(tmp_path)
    on_thursday = f"{start}–{end} MATHS · 4B"
    title = f"MATHS · 4B · vendredi 11/09 {start}–{end} · salle B12"
    ann = signed_in_page(srv, browser, "ann", width)
    ann.goto("/textbook/")
    week = ann.get_by_role("link", name=on_thursday)
    expect(week).to_have_count(0)
    ann.get_by_role("link", name="Nouvelle séance").click()
    expect(ann.get_by_role("heading", level=1)).to_have_text("Nouvelle séance")
    ann.get_by_label("Service (classe et matière)").select_option(label="MATHS · 4B")
    ann.get_by_label("Date").fill("2026-09-10")
    ann.get_by_label("Début").fill(start)
    ann.get_by_label("Fin").fill(end)
    ann.get_by_label("Salle").fill("B12")
    looked_at(ann, kept, f"{shot}-01-nouvelle")
    ann.get_by_role("button", name="Créer la séance").click()
    expect(ann.get_by_text("Séance créée.")).to_be_visible()
    expect(ann.get_by_role("heading", level=1)).to_contain_text(
        f"MATHS · 4B · jeudi 10/09 {start}–{end} · salle B12")
    lesson = ann.url.rsplit("/", 1)[1]
    looked_at(ann, kept, f"{shot}-02-creee")
    ann.get_by_role("link", name="← Retour à la semaine").click()
    expect(ann.get_by_role("link", name=on_thursday)).to_have_attribute(
        "href", f"/textbook/seances/{lesson}")
    looked_at(ann, kept, f"{shot}-03-semaine")

    # Moved to Friday, same hours.
    ann.goto(f"/textbook/seances/{lesson}")
    open_tools(ann, "Réserver, déplacer ou annuler la séance")
    ann.get_by_label("Nouvelle date").fill("2026-09-11")
    looked_at(ann, kept, f"{shot}-04-deplacer")
    ann.get_by_role("button", name="Déplacer la séance").click()
    expect(ann.get_by_text("Séance déplacée.")).to_be_visible()
    expect(ann.get_by_role("heading", level=1)).to_contain_text(title)
    ann.goto("/textbook/")
    moved = ann.locator(f"[data-day='2026-09-11'] [data-lesson='{lesson}']")
    expect(moved.get_by_role("link")).to_have_text(f"{start}–{end} MATHS · 4B")
    expect(moved).to_contain_text("salle B12")
    expect(ann.locator(f"[data-day='2026-09-10'] [data-lesson='{lesson}']")).to_have_count(0)
    looked_at(ann, kept, f"{shot}-05-deplacee")

    # Cancelled: marked so for ann, hidden from ben (4B); then reinstated.
    ann.goto(f"/textbook/seances/{lesson}")
    open_tools(ann, "Réserver, déplacer ou annuler la séance")
    ann.get_by_role("button", name="Annuler la séance").click()
    expect(ann.get_by_text("Séance annulée ;")).to_be_visible()
    expect(ann.get_by_text("Cette séance est annulée.")).to_be_visible()
    expect(ann.get_by_role("button", name="Déplacer la séance")).to_have_count(0)
    looked_at(ann, kept, f"{shot}-06-annulee")
    ann.goto("/textbook/")
    expect(ann.locator(f"[data-lesson='{lesson}']")).to_contain_text("annulée")
    ben = signed_in_page(srv, browser, "ben", width)
    ben.goto("/textbook/")
    seen = ben.locator(f"[data-lesson='{lesson}']")
    expect(ben.get_by_role("heading", name="vendredi 11/09")).to_be_visible()
    expect(seen).to_have_count(0)
    looked_at(ben, kept, f"{shot}-07-eleve-annulee")
    ann.goto(f"/textbook/seances/{lesson}")
    ann.get_by_role("button", name="Rétablir la séance").click()
    expect(ann.get_by_text("Séance rétablie.")).to_be_visible()
    expect(ann.get_by_text("Cette séance est annulée.")).to_have_count(0)
    looked_at(ann, kept, f"{shot}-08-retablie")
    ben.reload()
    expect(seen.get_by_role("link")).to_have_text(f"{start}–{end} MATHS")
    ben.context.close()

    # Deleted, once the question is answered yes (a « no » changes nothing).
    asked: list[str] = []

    def answer(accept: bool) -> None:
        def handle(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        ann.once("dialog", handle)

    answer(False)
    ann.get_by_role("button", name="Supprimer la séance").click()
    expect(ann.get_by_role("button", name="Supprimer la séance")).to_be_visible()
    assert asked and "corbeille" in asked[0], asked
    expect(ann.get_by_text("Cette séance est dans la corbeille")).to_have_count(0)
    answer(True)
    ann.get_by_role("button", name="Supprimer la séance").click()
    expect(ann.get_by_text("Séance mise à la corbeille.")).to_be_visible()
    expect(ann.get_by_text("Cette séance est dans la corbeille")).to_be_visible()
    looked_at(ann, kept, f"{shot}-09-supprimee")
    ann.get_by_role("link", name="← Retour à la semaine").click()
    expect(ann.locator(f"[data-lesson='{lesson}']")).to_have_count(0)
    ann.get_by_role("link", name="Corbeille du cahier de textes").click()
    expect(ann.get_by_role("heading", level=1)).to_have_text("Corbeille du cahier de textes")
    trashed = ann.get_by_role("listitem").filter(
        has=ann.get_by_role("link", name=title, exact=True))
    expect(trashed).to_contain_text("supprimée le mardi 08/09")
    looked_at(ann, kept, f"{shot}-10-corbeille")

    # Restored from the corbeille: back in the week, at its place.
    trashed.get_by_role("button", name="Restaurer").click()
    expect(ann.get_by_text("Séance restaurée.")).to_be_visible()
    expect(ann.get_by_text("Cette séance est dans la corbeille")).to_have_count(0)
    expect(ann.get_by_role("button", name="Supprimer la séance")).to_be_visible()
    ann.goto("/textbook/corbeille")
    expect(ann.get_by_role("link", name=title, exact=True)).to_have_count(0)
    ann.goto("/textbook/")
    expect(moved.get_by_role("link")).to_have_text(f"{start}–{end} MATHS · 4B")
    looked_at(ann, kept, f"{shot}-11-restauree")
    ann.context.close()
