""""Mon compte" and the directory in Chromium (Playwright) against a real server with
the school of :mod:`tests.integration.homework_kit`, at 1366 px and at 390 px, with
the axe check (no serious or critical WCAG 2.1 A/AA violation) and no sideways
scrolling on each page:

* a teacher puts her mobile number on the liste rouge and sets 35 minutes as the
  default estimated time: the lesson page's homework form starts with 35;
* the directory shows her number to the school's administrator, « liste rouge » to
  another teacher; a student is refused the directory.

The server side is checked over HTTP on both databases in
:mod:`tests.integration.test_web_preferences`; a browser walk needs one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.conftest import Server, running_server
from tests.integration.homework_kit import build_school
from tests.integration.test_web_accessibility import sideways, signed_in_page
from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS
from tests.integration.test_web_file_manager_browser import accessible

pytestmark = [pytest.mark.clock("2026-09-08T10:00 Europe/Paris"), pytest.mark.one_database,
              pytest.mark.clients]
IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("preferences-browser")) as server:
        IDS.update(build_school(server))
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_preferences_saved_used_and_the_directory_respects_them(
        srv: Server, browser: Browser, tmp_path: Path, width: str) -> None:
    """Four sign-ins and axe on six pages per width: 20 to 30 s each on a loaded
    machine (one walk, so that the directory sees what the teacher just saved)."""
    page = signed_in_page(srv, browser, "ann", width)
    page.goto("/account/")
    page.get_by_role("link", name="Mes informations, préférences et rubriques").click()
    expect(page.locator("h1")).to_have_text("Mes informations et préférences")
    accessible(page, tmp_path, f"preferences-{width}")

    # A bad number: refused with its reason next to the field, the typed value kept.
    page.get_by_label("Téléphone portable").fill("appelez le secrétariat")
    page.get_by_role("button", name="Enregistrer mes informations").click()
    expect(page.locator("#phone_mobile-error")).to_contain_text(
        "n'est pas un numéro de téléphone")
    expect(page.get_by_label("Téléphone portable")).to_have_value("appelez le secrétariat")
    accessible(page, tmp_path, f"preferences-refused-{width}")

    page.get_by_label("Téléphone portable").fill("06 12 34 56 78")
    page.get_by_label("Liste rouge : seuls les administrateurs voient mes numéros").check()
    page.get_by_role("button", name="Enregistrer mes informations").click()
    expect(page.get_by_role("status")).to_have_text("Préférences enregistrées.")
    page.get_by_label("Durée estimée du travail donné, par défaut (minutes)").fill("35")
    page.get_by_label("Mode de saisie").select_option(label="Texte simple")
    page.get_by_role("button", name="Enregistrer mes préférences").click()
    expect(page.get_by_role("status")).to_have_text("Préférences enregistrées.")
    expect(page.get_by_label("Téléphone portable")).to_have_value("06 12 34 56 78")
    expect(page.get_by_label("Mode de saisie")).to_have_value("plain")

    # Used: a new homework on the lesson page starts with her default time.
    page.goto(f"/textbook/seances/{IDS['M1']}")
    expect(page.locator('input[name="homework-minutes"]')).to_have_value("35")
    page.context.close()

    teacher = signed_in_page(srv, browser, "carl", width)
    teacher.get_by_role("contentinfo").get_by_role("link", name="Annuaire").click()
    expect(teacher.locator("h1")).to_have_text("Annuaire de l'établissement")
    teacher.get_by_label("Nom, classe ou matière").fill("ann")
    teacher.get_by_role("button", name="Rechercher").click()
    expect(teacher).to_have_url(re.compile(r"/annuaire/\?q=ann$"))
    row = teacher.locator("table.directory tr", has=teacher.locator("td.name"))
    expect(row).to_have_count(1)
    expect(row.locator("td.phones")).to_have_text("liste rouge")
    expect(teacher.locator("main")).not_to_contain_text("06 12 34 56 78")
    accessible(teacher, tmp_path, f"directory-teacher-{width}")
    teacher.context.close()

    admin = signed_in_page(srv, browser, "ada", width)
    admin.goto("/annuaire/?q=ann")
    expect(admin.locator("table.directory td.phones")).to_have_text("06 12 34 56 78")
    accessible(admin, tmp_path, f"directory-admin-{width}")
    admin.context.close()

    student = signed_in_page(srv, browser, "ben", width)
    expect(student.get_by_role("contentinfo").get_by_role("link", name="Annuaire")) \
        .to_have_count(0)
    answer = student.goto("/annuaire/")
    assert answer is not None and answer.status == 403
    expect(student.locator("main")).to_contain_text("réservé à ses personnels")
    assert sideways(student) == 0
    student.context.close()
