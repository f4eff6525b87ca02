"""A NUL character in a query or a posted form is refused with 400 and a message
naming the field, on every page (``web/security.py``): PostgreSQL refuses NUL in text,
so a search such as the directory's or a rubric manager's answered 500 there, and no
field of ours takes one. The refusal comes before any SQL: one database."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, Server
from tests.web import WebClient, csrf_token

pytestmark = pytest.mark.one_database  # refused before any SQL


def test_a_nul_in_a_query_or_a_form_is_400_and_named(server: Server) -> None:
    alice = WebClient(server)
    assert alice.login("alice", PASSWORD).status_code in (302, 303)
    searched = alice.get("/annuaire/?q=a%00b")
    assert searched.status_code == 400
    assert "« q »" in searched.text and "caractère nul" in searched.text
    token = csrf_token(alice.get("/account/preferences").text)
    posted = alice.post("/account/preferences", {"csrf_token": token, "info-email": "a\x00@b.fr"})
    assert posted.status_code == 400 and "« info-email »" in posted.text
    assert alice.get("/annuaire/?q=ann").status_code == 200  # and the server goes on
    log = server.log_path.read_text() if server.log_path.exists() else ""
    assert "Traceback" not in log
