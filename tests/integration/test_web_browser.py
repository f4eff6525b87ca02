"""The sign-in flow in a real browser: Debian's Chromium, headless, driven by
Playwright against a real server process.

Checks what only a browser shows: the form works with its CSRF token as rendered,
the cookie the browser keeps has the right flags, the navigation and the logout
button work, and the Content-Security-Policy blocks nothing of our own pages
(no inline script or style slipped into a template).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD, Server, running_server
from tests.web import browser_context, take_csp_violations

# One database is enough: a browser walk; the same pages are checked over HTTP on both
# (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clients, pytest.mark.one_database]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]



@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("browser"),
                        users={"alice": "teacher", "bob": "student", "carol": "teacher"}) as srv:
        srv.cli("user", "disable", "carol")
        yield srv


@pytest.fixture
def page(browser: Browser, web_server: Server) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page; a Content Security Policy
    violation fails the test (``tests.web.browser_context``)."""
    with browser_context(browser, web_server.base_url) as context:
        yield context.new_page()


def sign_in(page: Page, login: str, password: str) -> None:
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_login_navigation_and_logout(page: Page) -> None:
    page.goto("/textbook/")
    expect(page).to_have_url(re.compile(r"/login\?next=/textbook/$"))
    expect(page.locator("h1")).to_have_text("Connexion")

    sign_in(page, "alice", PASSWORD)
    expect(page).to_have_url(re.compile(r"/textbook/$"))
    expect(page.locator(".user-name")).to_have_text("alice")
    expect(page.locator(".user-profile")).to_have_text("Enseignant")
    cookies = page.context.cookies()
    session = [c for c in cookies if c["name"] == "ent_session"]
    assert len(session) == 1
    assert session[0]["httpOnly"] is True
    assert session[0]["sameSite"] == "Lax"
    assert session[0]["secure"] is False  # plain http on loopback

    # No resource domain lets alice book anything: the services bar leaves it out
    # (issue 20, "barre des services"); the page itself says why.
    expect(page.get_by_role("link", name="Réservations")).to_have_count(0)
    page.goto("/booking/")
    expect(page.locator("h1")).to_have_text("Réservations")
    expect(page.locator(".notice")).to_contain_text("Aucun domaine de ressources")
    page.get_by_role("link", name="Porte-documents").click()
    expect(page.locator("h1")).to_have_text("Mes espaces")
    expect(page.get_by_role("link", name="Porte-documents").last).to_be_visible()

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.locator('[role="status"]')).to_have_text("Vous êtes déconnecté.")
    page.goto("/textbook/")
    expect(page).to_have_url(re.compile(r"/login\?next=/textbook/$"))


def test_the_policy_would_report_an_inline_script(page: Page) -> None:
    """The CSP check of every browser test can fail: an inline script and an inline
    event handler are refused and reported (then taken, so this test passes)."""
    page.goto("/login")
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.ran = true'; document.body.append(s);
                             const b = document.createElement('button');
                             b.setAttribute('onclick', 'window.clicked = true');
                             document.body.append(b); b.click(); }""")
    assert page.evaluate("() => window.ran === true || window.clicked === true") is False
    reported = take_csp_violations(page)
    assert any("script-src" in v for v in reported), reported
    assert len([v for v in reported if "blocked inline" in v]) == 2, reported


@pytest.mark.parametrize("login,password", [("alice", "wrong-password"), ("carol", PASSWORD)],
                         ids=["bad-password", "disabled-user"])
def test_refused_login_stays_on_the_form(page: Page, login: str, password: str) -> None:
    page.goto("/login")
    sign_in(page, login, password)
    expect(page.get_by_role("alert")).to_have_text(
        "Identifiant ou mot de passe incorrect, ou compte désactivé.")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/textbook/")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_student_sees_the_403_page(page: Page) -> None:
    page.goto("/login?next=/binder/")
    sign_in(page, "bob", PASSWORD)
    expect(page.locator("h1")).to_have_text("Accès refusé (erreur 403)")
    expect(page.locator(".error-reason")).to_have_text(
        "Le classeur pédagogique est réservé aux enseignants.")
    expect(page.get_by_role("link", name="Classeur pédagogique")).to_have_count(0)
