"""Web sign-in, sign-out, CSRF, cookies, error pages and headers, against a real
server process (requests with real cookies, and curl for the raw Set-Cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import html

from tests.conftest import PASSWORD, Server, running_server
from tests.curl import Curl
from tests.web import WebClient, csrf_token

# One database is enough: sign-in pages, CSRF, cookies and headers, no SQL of their own
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database
REFUSED = "Identifiant ou mot de passe incorrect, ou compte désactivé."


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """alice (teacher), bob (student), carol (teacher, disabled before any login)."""
    with running_server(tmp_path_factory.mktemp("web"),
                        users={"alice": "teacher", "bob": "student", "carol": "teacher"}) as srv:
        srv.cli("user", "disable", "carol")
        yield srv


@pytest.fixture
def client(web_server: Server) -> WebClient:
    return WebClient(web_server)


@pytest.fixture
def alice(client: WebClient) -> WebClient:
    assert client.login("alice", PASSWORD).status_code == 302
    return client


def text_of(page: str, xpath: str) -> str:
    """The text of the nodes ``xpath`` selects, whitespace collapsed."""
    nodes = html.fromstring(page).xpath(xpath)
    return " ".join(" ".join("".join(n.itertext()) for n in nodes).split())


def test_good_password_signs_in_and_returns_to_next(client: WebClient) -> None:
    answer = client.login("alice", PASSWORD, next_path="/documents/")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/documents/"
    page = client.get("/documents/")
    assert page.status_code == 200
    assert text_of(page.text, '//*[@class="user-name"]') == "alice"
    assert text_of(page.text, '//*[@class="user-profile"]') == "Enseignant"
    assert text_of(page.text, "//h1") == "Mes espaces"
    assert page.text.count('action="/logout"') == 1


@pytest.mark.parametrize("login,password", [("alice", "wrong-password"),
                                            ("nobody", PASSWORD), ("carol", PASSWORD)],
                         ids=["bad-password", "unknown-login", "disabled-user"])
def test_refused_login_says_why(client: WebClient, login: str, password: str) -> None:
    """The same sentence whatever failed (the same argon2 work too: an unknown or
    disabled login is checked against a dummy hash, tests/unit/test_auth_cache.py)."""
    answer = client.login(login, password)
    assert answer.status_code == 200
    assert text_of(answer.text, '//*[@role="alert"]') == REFUSED
    assert client.get("/textbook/").status_code == 302


def test_anonymous_is_sent_to_login_with_next(client: WebClient) -> None:
    answer = client.get("/documents/?tri=nom")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=/documents/?tri%3Dnom"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/x",
                                    "/\\evil.example", "textbook/"])
def test_next_never_leaves_the_site(client: WebClient, target: str) -> None:
    answer = client.login("alice", PASSWORD, next_path=target)
    assert answer.headers["Location"] == "/"


def test_logout_ends_the_session(alice: WebClient) -> None:
    assert alice.get("/textbook/").status_code == 200
    answer = alice.logout()
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?logged_out=1"
    assert "Vous êtes déconnecté." in alice.get(answer.headers["Location"]).text
    assert alice.get("/textbook/").status_code == 302


def test_logout_by_get_is_refused(alice: WebClient) -> None:
    answer = alice.get("/logout")
    assert answer.status_code == 405
    assert answer.headers["Allow"].split(", ").count("POST") == 1
    assert alice.get("/textbook/").status_code == 200


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "forged"])
def test_form_without_valid_csrf_token_is_403(alice: WebClient, token: str | None) -> None:
    data = {"csrf_token": token} if token else {}
    answer = alice.post("/logout", data)
    assert answer.status_code == 403
    assert text_of(answer.text, "//h1") == "Formulaire refusé (erreur 403)"
    assert "jeton de sécurité (CSRF) est absent, invalide ou expiré" in answer.text
    assert alice.get("/textbook/").status_code == 200  # still signed in


def test_login_form_needs_its_csrf_token(client: WebClient) -> None:
    answer = client.post("/login", {"login": "alice", "password": PASSWORD})
    assert answer.status_code == 403
    assert client.get("/textbook/").status_code == 302


def test_csrf_token_of_another_browser_is_refused(web_server: Server, alice: WebClient) -> None:
    other = WebClient(web_server)
    token = csrf_token(other.get("/login").text)
    assert alice.post("/logout", {"csrf_token": token}).status_code == 403


def test_session_cookie_flags_on_plain_http(web_server: Server, tmp_path: Path) -> None:
    curl = Curl(web_server, tmp_path)
    for extra in ([], ["-H", "X-Forwarded-Proto: https"]):  # untrusted: ignored
        cookie = curl(*extra, web_server.base_url + "/login").headers["set-cookie"]
        attributes = [a.strip().lower() for a in cookie.split(";")]
        assert attributes[0].startswith("ent_session=")
        assert "httponly" in attributes
        assert "samesite=lax" in attributes
        assert "secure" not in attributes  # a Secure cookie never comes back over http


def test_403_page_says_why_in_french(web_server: Server) -> None:
    bob = WebClient(web_server)
    bob.login("bob", PASSWORD)
    answer = bob.get("/binder/")
    assert answer.status_code == 403
    assert text_of(answer.text, "//h1") == "Accès refusé (erreur 403)"
    assert text_of(answer.text, '//*[@class="error-reason"]') == \
        "Le classeur pédagogique est réservé aux enseignants."
    assert text_of(answer.text, '//*[@class="user-profile"]') == "Élève"
    assert 'href="/binder/"' not in answer.text  # not offered in bob's navigation


def test_404_page_in_french(alice: WebClient) -> None:
    answer = alice.get("/no-such-page")
    assert answer.status_code == 404
    assert text_of(answer.text, "//h1") == "Page introuvable (erreur 404)"


ENGLISH = ["Not Found", "Forbidden", "Bad Request", "Method Not Allowed", "Redirecting",
           "CSRF token", "This field", "Login", "Password", "Sign in", "Log out", "Error"]


@pytest.mark.parametrize("path,status", [
    ("/", 200), ("/textbook/", 200), ("/booking/", 200), ("/documents/", 200),
    ("/documents/porte-documents/", 200), ("/documents/classeur/", 200), ("/missing", 404),
    ("/logout", 405),
])
def test_every_page_is_french(alice: WebClient, path: str, status: int) -> None:
    answer = alice.get(path)
    assert answer.status_code == status
    assert_french(answer.text)


def test_login_and_refusal_pages_are_french(client: WebClient) -> None:
    assert_french(client.get("/login").text)
    assert_french(client.login("alice", "wrong-password").text)
    assert_french(client.post("/login", {"login": "", "password": ""}).text)
    form = client.get("/login").text
    empty = client.post("/login", {"csrf_token": csrf_token(form), "login": "", "password": ""})
    assert "Saisissez votre identifiant." in empty.text
    assert_french(empty.text)


def assert_french(page: str) -> None:
    root = html.fromstring(page)
    assert root.get("lang") == "fr"
    text = " ".join(root.itertext())
    assert [w for w in ENGLISH if w in text] == []


def test_security_headers(alice: WebClient) -> None:
    for path in ("/", "/textbook/", "/missing", "/login"):
        headers = alice.get(path).headers
        csp = [d.strip() for d in headers["Content-Security-Policy"].split(";")]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in headers  # plain HTTP (RFC 6797 §7.2)
    untrusted = alice.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in untrusted.headers  # no trusted proxy


def test_stylesheet_is_served(client: WebClient) -> None:
    page = client.get("/login").text
    # the design system (vendored Pico CSS), then our own layer on it
    texts = []
    for href in html.fromstring(page).xpath('//link[@rel="stylesheet"]/@href'):
        css = client.get(href)
        assert css.status_code == 200
        assert css.headers["Content-Type"].startswith("text/css")
        texts.append(css.text)
    assert len(texts) == 2 and "Pico CSS" in texts[0] and ".site-header" in texts[1]


def test_dav_basic_auth_unchanged_by_the_web_layer(web_server: Server) -> None:
    s = web_server.session("alice")
    assert s.request("PROPFIND", web_server.documents_url + "/",
                     headers={"Depth": "0"}).status_code == 207


def test_an_account_disabled_while_signed_in_is_signed_out(web_server: Server,
                                                            client: WebClient) -> None:
    web_server.add_user("dave", profile="teacher")
    assert client.login("dave", PASSWORD).status_code == 302
    assert client.get("/textbook/").status_code == 200
    web_server.cli("user", "disable", "dave")
    answer = client.get("/textbook/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
