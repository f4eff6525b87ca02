"""``davserver lock list|break`` against a running server's database (issue 18): IT
staff see every lock with its holder and place, and break one by token or by place;
the holder is notified and the client's writes go through again."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import running_server
from tests.integration.lock_kit import Club, lock, make_club, put
from tests.integration.rubric_kit import cli, cli_ok, cli_refused
from web.notifications import NotificationKind, notifications_of


@pytest.fixture(scope="module")
def club(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Club]:
    with running_server(tmp_path_factory.mktemp("lock-cli")) as srv:
        yield make_club(srv, "ca")


def _broken_notes(club: Club, login: str) -> list[str]:
    with club.server.app() as app, app.db.transaction(write=False) as s:
        return [n.body for n in notifications_of(s, club.ids[login])
                if n.kind == NotificationKind.lock_broken]


def test_list_and_break_by_token(club: Club) -> None:
    club.mkdir("/Comptes rendus", "writer")
    club.put_file("/Comptes rendus/juin.odt", "writer")
    writer = club.server.session("writer")
    held = lock(writer, club.url("/Comptes rendus/juin.odt"), timeout="Infinite")
    assert held.status == 200
    rows = json.loads(cli_ok(club.server, "lock", "list", "--json"))
    mine = [r for r in rows if r["token"] == held.token]
    assert mine == [{
        "token": held.token, "place": "rubric:ca:/Comptes rendus/juin.odt",
        "holder": "writer", "scope": "exclusive", "depth": "0", "since": mine[0]["since"],
        "expires": mine[0]["expires"], "created_by_lock": False}]
    text = cli_ok(club.server, "lock", "list", "--space", "rubric:ca")
    assert "rubric:ca:/Comptes rendus/juin.odt" in text and held.token in text
    assert "(no active lock)" in cli_ok(club.server, "lock", "list", "--space", "moderator")
    assert put(club.server.session("moderator"),
               club.url("/Comptes rendus/juin.odt")) == 423
    out = cli_ok(club.server, "lock", "break", held.token)
    assert "rubric:ca:/Comptes rendus/juin.odt" in out and "writer" in out
    assert put(club.server.session("moderator"),
               club.url("/Comptes rendus/juin.odt")) == 204
    notes = _broken_notes(club, "writer")
    assert notes and notes[0].startswith("L'administration de l'ENT a déverrouillé")
    assert "juin.odt" in notes[0]


def test_break_by_place_in_a_porte_documents(club: Club) -> None:
    """Every lock held on a place goes (two shared ones here), named as ``list``
    writes places; the real command, in its own process."""
    alice = club.server.session("manager")
    url = club.server.documents_url + "/Réunion.txt"
    assert put(alice, url) == 201
    first, second = lock(alice, url, scope="shared"), lock(alice, url, scope="shared")
    assert (first.status, second.status) == (200, 200)
    listed = club.server.cli("lock", "list", "--space", "manager").stdout
    assert "manager:/Réunion.txt" in listed
    done = club.server.cli("lock", "break", "manager:/Réunion.txt")
    assert done.returncode == 0, done.stderr
    assert first.token in done.stdout and second.token in done.stdout
    assert "Réunion.txt" not in club.server.cli("lock", "list").stdout
    assert _broken_notes(club, "manager")


@pytest.mark.parametrize("args", [
    ("lock", "break", "opaquelocktoken:0xdeadbeef"),
    ("lock", "break", "rubric:ca:/nothing-locked-here"),
    ("lock", "break", "personne:/x"),
    ("lock", "break", "no-colon-slash"),
    ("lock", "list", "--space", "rubric:inconnue"),
])
def test_refusals_are_clear(club: Club, args: tuple[str, ...]) -> None:
    message = cli_refused(club.server, *args)
    assert len(message.strip().splitlines()) == 1, message


def test_usage_errors(club: Club) -> None:
    assert cli(club.server, "lock").returncode == 2
    assert cli(club.server, "lock", "break").returncode == 2
