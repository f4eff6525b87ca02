"""A number in an address, a query or a form that no row can have is refused like any
other bad number, never handed to the database (``web.security.RowIdConverter``,
``web.forms.parse_number``): SQLite refuses integers past 2**63 (``OverflowError``),
PostgreSQL past 2**31 in an INTEGER column, and ``int`` itself past 4,300 digits, and
each of those was a 500 with a traceback. Both databases: their refusals differ."""

from __future__ import annotations

from tests.conftest import PASSWORD, Server
from tests.web import WebClient, csrf_token
from web.forms import parse_number
from web.security import MAX_NUMBER

HUGE = "9" * 30  # past both databases' integers
ENDLESS = "9" * 5000  # past int()'s 4,300 digits


def test_parse_number_takes_ascii_digits_up_to_the_bound() -> None:
    assert parse_number("42") == 42 and parse_number("0") == 0
    assert parse_number(str(MAX_NUMBER)) == MAX_NUMBER
    for bad in ("", None, "-1", "+1", " 1", "1e3", "²", "١٢", str(MAX_NUMBER + 1), HUGE,
                ENDLESS):
        assert parse_number(bad) is None, bad
    assert parse_number("1000001", maximum=10**6) is None


def test_huge_numbers_are_404_or_400_never_500(server: Server) -> None:
    alice = WebClient(server)
    assert alice.login("alice", PASSWORD).status_code in (302, 303)
    # an address: no row has that id, as for any missing one
    assert alice.get(f"/textbook/seances/{HUGE}").status_code == 404
    assert alice.get(f"/textbook/seances/{MAX_NUMBER}").status_code == 404
    # a query
    for page in (HUGE, ENDLESS):
        listed = alice.get(f"/notifications/?page={page}")
        assert listed.status_code == 400 and "Numéro de page invalide" in listed.text
    # a form: the field is named, nothing is kept
    token = csrf_token(alice.get("/account/preferences").text)
    for minutes in (HUGE, ENDLESS):
        saved = alice.post("/account/preferences/reglages",
                           {"csrf_token": token, "homework_minutes": minutes,
                            "input_mode": "rich"})
        assert saved.status_code == 400 and "nombre de minutes" in saved.text, saved.text[:300]
    chosen = alice.post("/account/preferences/rubriques",
                        {"csrf_token": token, "notify": HUGE})
    assert chosen.status_code == 400 and "Rubrique inconnue" in chosen.text
    assert alice.get("/account/preferences").status_code == 200  # and the server goes on
    log = server.log_path.read_text() if server.log_path.exists() else ""
    assert "Traceback" not in log
