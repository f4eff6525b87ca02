"""``davserver import timetable`` as a real command on a server's database (SQLite, or
PostgreSQL when ``DAVSERVER_DATABASE_URL`` is set): CSV then iCalendar, holidays from
an .ics file, the school year stored for later runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

import acl
from tests.conftest import Server, drop_database, make_server
from web import textbook

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server's data (not started: the command works on the database) with 4B and
    teachers m.dupont and c.bernard."""
    server, dbname = make_server(tmp_path_factory.mktemp("timetable"))
    with server.transaction() as s:
        acl.ensure_group(s, acl.ensure_school(s, "Collège Test"), "4B")
        for login in ("m.dupont", "c.bernard"):
            acl.create_user(s, login, "secret-password-1", "teacher")
    try:
        yield server
    finally:
        drop_database(dbname)


def lessons(srv: Server) -> int:
    with srv.transaction() as s:
        return s.scalar(select(func.count()).select_from(textbook.Lesson)) or 0


def test_csv_then_ics(srv: Server) -> None:
    strict = srv.cli("import", "timetable", str(DATA / "timetable.csv"), "--year-start",
                     "2025-09-01", "--year-end", "2026-07-04", "--holidays",
                     str(DATA / "holidays.ics"), "--strict", check=False)
    assert strict.returncode == 1, strict.stderr
    assert "nothing imported" in strict.stdout and lessons(srv) == 0

    done = srv.cli("import", "timetable", str(DATA / "timetable.csv"), "--year-start",
                   "2025-09-01", "--year-end", "2026-07-04", "--holidays",
                   str(DATA / "holidays.ics"), check=False)
    assert done.returncode == 1, done.stderr
    assert "line 5: unknown class or group '4Z'" in done.stderr
    assert "line 7: weekday 'jour férié'" in done.stderr
    assert ("school 'Collège Test', year 2025-2026: services 2, lessons created 72, "
            "rejected 4") in done.stdout
    assert lessons(srv) == 72

    # The year and holidays are remembered; the .ics adds what the CSV lacks.
    ics = srv.cli("import", "timetable", str(DATA / "timetable.ics"), check=False)
    assert ics.returncode == 1, ics.stderr
    assert "line 30: RRULE is not FREQ=WEEKLY" in ics.stderr
    # Lessons already there (same service, same start) are kept; the .ics is taken as
    # given, holidays included: Mondays 22 and 29 Dec (no EXDATE) and Tuesday 21 Oct.
    assert "lessons created 3, rejected 2" in ics.stdout
    assert lessons(srv) == 75


def test_unreadable_input_exits_2(srv: Server, tmp_path: Path) -> None:
    bad = tmp_path / "t.csv"
    bad.write_text("classe;matiere\n4B;MATHS\n", encoding="utf-8")
    done = srv.cli("import", "timetable", str(bad), check=False)
    assert done.returncode == 2 and "missing column(s): professeur" in done.stderr
    none = srv.cli("import", "timetable", str(tmp_path / "absent.csv"), check=False)
    assert none.returncode == 2 and "cannot read" in none.stderr
    half = srv.cli("import", "timetable", str(DATA / "timetable.csv"), "--year-start",
                   "2025-09-01", check=False)
    assert half.returncode == 2 and "give both --year-start and --year-end" in half.stderr
