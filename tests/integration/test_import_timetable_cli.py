"""``davserver import timetable`` and ``davserver import holidays`` as real commands on a
server's database (SQLite, or PostgreSQL when ``DAVSERVER_DATABASE_URL`` is set), with
the fixtures of ``tests/data/timetable/`` and our own layouts' samples.

The commands take the import date from the process's clock: every import here is the
first of its data dir (a first import lays the whole year, whatever the date) and the
school year is named (``--year 2025-2026``), so no outcome depends on the date. Each
test has its own data dir, and each command is a process that loads the whole server
(about 2 s): the file takes about two minutes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import acl
from tests.conftest import Server, drop_database, make_server
from web import textbook

DATA = Path(__file__).resolve().parent.parent / "data"
TT = DATA / "timetable"
UAI = "0754321P"


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[Server]:
    """A server's data (not started: the commands work on the database) with the
    school, added by ``davserver school add``, and its classes, groups and teachers."""
    server, dbname = make_server(tmp_path)
    server.cli("school", "add", "Collège Jean Moulin", "--uai", UAI, "--zone", "C")
    with server.transaction() as s:
        school_id = acl.find_school(s, UAI)
        for name in ("6A", "6B", "5A", "4B", "4C", "3A", "2E1"):
            acl.ensure_group(s, school_id, name)
        for name in ("6A GR1", "6A GR2", "4LV2ESP"):
            acl.ensure_group(s, school_id, name, "group")
        for login, display in (("m.dupont", "Marc Dupont"), ("c.bernard", "Claire Bernard"),
                               ("jp.legall", "Jean-Pierre Le Gall"),
                               ("s.martin", "Sophie Martin"), ("sy.martin", "Sylvain Martin"),
                               ("h.lefevre", "Hélène Lefèvre"), ("p.roux", "Paul Roux")):
            s.add(acl.User(login=login, display_name=display, profile=acl.Profile.teacher,
                           password_hash="-", school_id=school_id))
        acl.ensure_subject(s, school_id, "MATHS", "MATHEMATIQUES")
    try:
        yield server
    finally:
        drop_database(dbname)


def holidays(srv: Server) -> None:
    done = srv.cli("import", "holidays", str(TT / "fr-en-calendrier-scolaire.json"),
                   "--school", UAI, "--year", "2025-2026")
    assert "year 2025-2026: classes from 2025-09-01 to 2026-07-04" in done.stdout


def as_json(srv: Server, *args: str, status: int) -> dict[str, Any]:
    done = srv.cli("import", "timetable", *args, "--school", UAI, "--json", check=False)
    assert done.returncode == status, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def lessons(srv: Server) -> int:
    with srv.transaction() as s:
        return s.scalar(select(func.count()).select_from(textbook.Lesson)) or 0


def test_holidays_then_an_edt_export(srv: Server) -> None:
    done = srv.cli("import", "holidays", str(TT / "fr-en-calendrier-scolaire.json"),
                   "--school", UAI, "--year", "2025-2026")
    assert ("school 'Collège Jean Moulin (0754321P)', zone C, year 2025-2026: classes from "
            "2025-09-01 to 2026-07-04") in done.stdout
    assert "Pont de l'Ascension: no classes from 2026-05-15 to 2026-05-16" in done.stdout
    assert "Ascension: public holiday on 2026-05-14" in done.stdout
    assert ("left out: 20 académie copies, 6 for teachers only, 48 of other zones"
            in done.stdout)
    report = as_json(srv, str(TT / "EXP_COURS.xml"), status=0)
    assert {"courses", "lessons_created", "lessons_cancelled", "lessons_by_week",
            "rejected"} <= set(report)
    assert (report["format"], report["courses"], report["lessons_created"],
            report["lessons_cancelled"], report["rejected"]) == ("edt", 9, 296, 0, [])
    assert len(report["lessons_by_week"]) == 36
    assert report["lessons_by_week"]["2025-09-01"] == 8
    assert lessons(srv) == 296
    again = srv.cli("import", "timetable", str(TT / "EXP_COURS.xml"), "--school", UAI)
    assert "courses 9, services 9, lessons created 0" in again.stdout


def test_udt_text_summary_and_dry_run(srv: Server) -> None:
    holidays(srv)
    dry = srv.cli("import", "timetable", str(TT / "udt.csv"), "--dry-run")
    assert dry.stdout.splitlines()[0].endswith("udt.csv: udt")
    assert ("school 'Collège Jean Moulin (0754321P)', year 2025-2026: courses 11, "
            "services 11, lessons created 365") in dry.stdout
    assert "dry run: nothing was changed" in dry.stdout
    assert "warning: udt.csv, line 11: meal row (REPAS) left out" in dry.stderr
    assert lessons(srv) == 0


def test_pronote_all_or_nothing_then_partial(srv: Server) -> None:
    holidays(srv)
    refused = as_json(srv, str(TT / "pronote_class.ics"), status=1)
    assert (refused["applied"], refused["lessons_created"]) == (False, 0)
    assert [(r["line"], r["reason"][:30]) for r in refused["rejected"]] == [
        (55, "teacher 'MARTIN S.' is ambiguo")]
    assert lessons(srv) == 0
    partial = as_json(srv, str(TT / "pronote_class.ics"), "--partial", status=1)
    assert (partial["applied"], partial["courses"], partial["lessons_created"]) == (
        True, 3, 4)


@pytest.mark.parametrize(("path", "message"), [
    (TT / "fr-en-calendrier-scolaire.json", "use `davserver import holidays`"),
    (TT / "EXP_COURS_truncated.xml", "not well-formed XML at line 117, column 27"),
    (TT / "pronote_student.ics", "a student's PRONOTE calendar"),
    (DATA / "absent.csv", "cannot read"),
])
def test_unreadable_files_exit_2(srv: Server, path: Path, message: str) -> None:
    done = srv.cli("import", "timetable", str(path), "--json", check=False)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["applied"] is False and message in report["rejected"][0]["reason"]


def test_an_aaf_file_is_sent_to_the_people_import(srv: Server, tmp_path: Path) -> None:
    holidays(srv)
    aaf = tmp_path / "ENT_0754321P_Complet_20260901_EtabEducNat_0000.xml"
    aaf.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE ficAlimMENESR '
                   'SYSTEM "ficAlimMENESR.dtd">\n<ficAlimMENESR><addRequest/></ficAlimMENESR>\n',
                   encoding="utf-8")
    done = srv.cli("import", "timetable", str(aaf), check=False)
    assert done.returncode == 2
    assert ("this looks like an AAF directory file (ficAlimMENESR), not a timetable: use "
            "`davserver import people`") in done.stderr


def test_our_csv_and_ics_with_the_year_on_the_command_line(srv: Server) -> None:
    """Our own layouts, the school year and holidays given as options (no ministry
    calendar): the bad rows are named, the good ones imported with --partial."""
    year = ["--year-start", "2025-09-01", "--year-end", "2026-07-04", "--holidays",
            str(DATA / "holidays.ics")]
    with srv.transaction() as s:
        school_id = acl.find_school(s, UAI)
        s.add(acl.User(login="lea", display_name="Léa", profile=acl.Profile.student,
                       password_hash="-", school_id=school_id))
    refused = srv.cli("import", "timetable", str(DATA / "timetable.csv"), *year,
                      check=False)
    assert refused.returncode == 1 and "nothing imported: 4 record(s)" in refused.stdout
    assert lessons(srv) == 0
    done = srv.cli("import", "timetable", str(DATA / "timetable.csv"), *year, "--partial",
                   check=False)
    assert done.returncode == 1, done.stderr
    assert "timetable.csv, line 5: unknown class or group '4Z'" in done.stderr
    assert "timetable.csv, line 7: weekday 'jour férié'" in done.stderr
    assert "services 2, lessons created 69," in done.stdout
    half = srv.cli("import", "timetable", str(DATA / "timetable.csv"), "--year-start",
                   "2025-09-01", check=False)
    assert half.returncode == 2 and "give both --year-start and --year-end" in half.stderr


def test_our_ics(srv: Server) -> None:
    """Our iCalendar layout, taken as given (holidays included) for the stored year."""
    srv.cli("import", "holidays", str(TT / "Zone-C.ics"), "--school", UAI, "--year",
            "2025-2026")
    ics = srv.cli("import", "timetable", str(DATA / "timetable.ics"), "--partial",
                  check=False)
    assert ics.returncode == 1
    assert "timetable.ics, line 23: no 'Classe: …' line in DESCRIPTION" in ics.stderr
    assert "timetable.ics, line 30: RRULE is not FREQ=WEEKLY" in ics.stderr
    # 4B MATHS on the Mondays of Sept–Dec 2025 but two EXDATEs (16), PHYS week B from 9
    # Sept to 21 Oct (4).
    assert "services 2, lessons created 20," in ics.stdout
