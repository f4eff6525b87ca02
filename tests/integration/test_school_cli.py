"""``davserver school``: a fresh deployment adds its schools, then names them by UAI
or name in the other commands; bad UAIs, zones and time zones are named and change
nothing. The commands run against a real data directory (no server needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import Server, drop_database, make_server


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server, dbname = make_server(tmp_path_factory.mktemp("schools"))
    try:
        yield server
    finally:
        drop_database(dbname)


def run(srv: Server, *args: str, status: int = 0) -> tuple[str, str]:
    done = srv.cli(*args, check=False)
    assert done.returncode == status, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stdout, done.stderr


def test_a_fresh_deployment_adds_its_school_then_its_rubrics(srv: Server) -> None:
    _, err = run(srv, "rubric", "add", "vie", "--name", "Vie scolaire", status=1)
    assert "no school yet: add one with `davserver school add NAME --uai UAI`" in err
    out, _ = run(srv, "school", "add", "Collège Jean Moulin", "--uai", "0750654d",
                 "--zone", "C")
    assert out.strip() == "added school Collège Jean Moulin (0750654D)"
    run(srv, "school", "add", "Lycée de Bain", "--uai", "0352318E", "--zone", "B",
        "--time-zone", "Europe/Paris")
    _, err = run(srv, "rubric", "add", "vie", "--name", "Vie scolaire", status=1)
    assert "several schools" in err
    run(srv, "rubric", "add", "vie", "--name", "Vie scolaire", "--school", "0750654D")
    run(srv, "rubric", "add", "cdi", "--name", "CDI", "--school", "Lycée de Bain")
    listed = json.loads(run(srv, "school", "list", "--json")[0])
    assert [(s["uai"], s["name"], s["holiday_zone"], s["time_zone"]) for s in listed] == [
        ("0750654D", "Collège Jean Moulin", "C", "Europe/Paris"),
        ("0352318E", "Lycée de Bain", "B", "Europe/Paris")]
    out, _ = run(srv, "school", "set", "0352318E", "--zone", "none",
                 "--time-zone", "America/Guadeloupe", "--name", "Lycée de Bain-de-Bretagne")
    assert "zone none, time zone America/Guadeloupe" in out
    assert run(srv, "school", "list")[0].splitlines()[1] == (
        "0352318E\tLycée de Bain-de-Bretagne\tzone -\tAmerica/Guadeloupe")


BAD = [
    (("add", "X", "--uai", "0750654E"), "its check letter should be D (0750654D)"),
    (("add", "X", "--uai", "75065D"), "seven digits and a letter"),
    (("add", "X", "--uai", "0301674G", "--zone", "D"), "unknown holiday zone 'D'"),
    (("add", "X", "--uai", "0301674G", "--time-zone", "Mars/Olympus"),
     "unknown time zone 'Mars/Olympus'"),
    (("add", "Collège Jean Moulin", "--uai", "0301674G"), "already has the name"),
    (("set", "0750653C", "--zone", "A"), "no school '0750653C'"),
]


def test_bad_values_are_named_and_change_nothing(srv: Server) -> None:
    before = run(srv, "school", "list")[0]
    for args, reason in BAD:
        _, err = run(srv, "school", *args, status=1)
        assert reason in err, (args, err)
    assert run(srv, "school", "list")[0] == before
