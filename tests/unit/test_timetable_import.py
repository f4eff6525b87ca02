"""Timetable and holiday imports (``web.textbook.import_timetable``,
``import_holidays``) on a real database, SQLite and PostgreSQL, with the fixtures of
``tests/data/timetable/`` (built from the public descriptions of each format, notes
§2 and §4) and ``tests/data/timetable.csv`` / ``timetable.ics`` (our own layouts).

The school: Collège Jean Moulin, UAI 0754321P, zone C (Paris), its year 2025-2026
from the ministry's calendar: 1 Sept 2025 to 4 July 2026, 36 weeks of classes (44
weeks, 8 in holidays), public holidays on school days: 11 Nov (Tue), 6 Apr (Mon,
Easter Monday), 8 May (Fri), 14 May (Thu, Ascension), 25 May (Mon, Whit Monday);
15 May (Fri) is the Pont de l'Ascension. So a weekly course gives 34 lessons on
Mondays, 35 on Tuesdays, 36 on Wednesdays, 35 on Thursdays, 34 on Fridays, and a
fortnightly one 18 (weeks A and B: 36 school weeks), less its public holidays.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import acl
from davserver.db import Database
from davserver.errors import BadRequest
from web import textbook
from web.booking.models import Booking, BookingStatus, Resource, ResourceDomain, ResourceKind
from web.textbook import Activity, ActivityKind, Lesson, LessonStatus, TeachingService, Week

DATA = Path(__file__).resolve().parent.parent / "data"
TT = DATA / "timetable"
PARIS = ZoneInfo("Europe/Paris")
UAI = "0754321P"
BEFORE_YEAR = date(2025, 8, 25)
TEACHERS = [("m.dupont", "Marc Dupont"), ("c.bernard", "Claire Bernard"),
            ("jp.legall", "Jean-Pierre Le Gall"), ("s.martin", "Sophie Martin"),
            ("sy.martin", "Sylvain Martin"), ("h.lefevre", "Hélène Lefèvre"),
            ("p.roux", "Paul Roux")]


def people(s: Session, school_id: int) -> None:
    """Classes, groups and teachers as ``davserver import people`` leaves them (users
    written directly: an argon2 hash each would cost seconds)."""
    for name in ("6A", "6B", "5A", "4B", "4C", "3A", "2E1"):
        acl.ensure_group(s, school_id, name)
    for name in ("6A GR1", "6A GR2", "4LV2ESP"):
        acl.ensure_group(s, school_id, name, "group")
    for login, display in TEACHERS:
        s.add(acl.User(login=login, display_name=display, profile=acl.Profile.teacher,
                       password_hash="-", school_id=school_id))
    acl.ensure_subject(s, school_id, "MATHS", "MATHEMATIQUES")


@pytest.fixture
def school(db: Database) -> Iterator[int]:
    with db.transaction() as s:
        school_id = acl.add_school(s, "Collège Jean Moulin", uai=UAI, zone="C").id
        people(s, school_id)
    report = textbook.import_holidays(
        db, textbook.ImportSource.from_path(TT / "fr-en-calendrier-scolaire.json"), UAI,
        textbook.HolidayOptions(today=BEFORE_YEAR))
    assert report.applied
    yield school_id


def run(db: Database, name: str, today: date = BEFORE_YEAR, path: Path = TT,
        **options: Any) -> textbook.TimetableReport:
    return textbook.import_timetable(db, textbook.ImportSource.from_path(path / name), UAI,
                                     textbook.TimetableOptions(today=today, **options))


def lessons_of(s: Session, subject: str, group: str) -> list[Lesson]:
    return list(s.scalars(select(Lesson).join(TeachingService).join(
        acl.Subject, acl.Subject.id == TeachingService.subject_id).join(
        acl.Group, acl.Group.id == TeachingService.group_id).where(
        acl.Subject.code == subject, acl.Group.name == group).order_by(Lesson.start)))


def local(lesson: Lesson) -> datetime:
    return lesson.start.astimezone(PARIS)


def count(db: Database) -> int:
    with db.transaction(write=False) as s:
        return s.scalar(select(func.count()).select_from(Lesson)) or 0


# -- holidays ---------------------------------------------------------------------

def test_the_ministry_calendar_gives_the_year_and_its_holidays(db: Database,
                                                               school: int) -> None:
    with db.transaction(write=False) as s:
        year = textbook.current_school_year(s, school)
        assert year is not None
        assert (year.label, year.start, year.end) == ("2025-2026", date(2025, 9, 1),
                                                      date(2026, 7, 4))
        assert [(p.name, p.start, p.end) for p in textbook.holidays_of(s, school)] == [
            ("Vacances de la Toussaint", date(2025, 10, 19), date(2025, 11, 2)),
            ("Vacances de Noël", date(2025, 12, 21), date(2026, 1, 4)),
            ("Vacances d'Hiver", date(2026, 2, 22), date(2026, 3, 8)),
            ("Vacances de Printemps", date(2026, 4, 19), date(2026, 5, 3)),
            ("Pont de l'Ascension", date(2026, 5, 15), date(2026, 5, 16))]
    again = textbook.import_holidays(
        db, textbook.ImportSource.from_path(TT / "Zone-C.ics"), UAI,
        textbook.HolidayOptions(today=BEFORE_YEAR))
    assert (again.replaced, len(again.periods), again.teachers_only) == (5, 5, 2)
    assert again.public_holidays[date(2026, 5, 14)] == "Ascension"


def test_holidays_of_the_school_zone_only(db: Database) -> None:
    """The JSON holds every académie's copy of every record, teachers' summers and the
    three zones: a zone A school keeps one copy of its zone's records for pupils."""
    with db.transaction() as s:
        acl.add_school(s, "Lycée du Parc", uai="0690026D", zone="A")
    report = textbook.import_holidays(
        db, textbook.ImportSource.from_path(TT / "fr-en-calendrier-scolaire.json"),
        "0690026D", textbook.HolidayOptions(today=BEFORE_YEAR))
    assert report.zone == "A" and report.year == "2025-2026"
    # 2 académies × 12 records in zone A; B and C: 5 × 12; 2 summers for teachers each.
    assert (report.duplicates, report.teachers_only, report.other_zones) == (10, 4, 60)
    assert ("Vacances d'Hiver", date(2026, 2, 8), date(2026, 2, 22)) in [
        (p.name, p.start, p.end) for p in report.periods]
    # A school year is picked by the import date: the next one once this one is over.
    later = textbook.import_holidays(
        db, textbook.ImportSource.from_path(TT / "fr-en-calendrier-scolaire.json"),
        "0690026D", textbook.HolidayOptions(today=date(2026, 12, 6), dry_run=True))
    assert (later.year, later.first_day, later.last_day, later.applied) == (
        "2026-2027", date(2026, 9, 1), date(2027, 7, 3), False)


def test_a_school_without_zone_or_a_file_of_another_zone_is_refused(db: Database) -> None:
    with db.transaction() as s:
        acl.add_school(s, "Collège sans zone", uai="0754322R")
        acl.add_school(s, "Collège de Lyon", uai="0690027E", zone="A")
    source = textbook.ImportSource.from_path(TT / "Zone-C.ics")
    options = textbook.HolidayOptions(today=BEFORE_YEAR)
    with pytest.raises(BadRequest, match="no holiday zone: set it with"):
        textbook.import_holidays(db, source, "0754322R", options)
    with pytest.raises(BadRequest, match="zone C's; the school is in zone A"):
        textbook.import_holidays(db, source, "0690027E", options)
    with pytest.raises(BadRequest, match="not the ministry's school calendar"):
        textbook.import_holidays(db, textbook.ImportSource.from_path(
            TT / "EXP_COURS.xml"), "0690027E", options)


# -- EDT ----------------------------------------------------------------------------

def test_edt_export(db: Database, school: int) -> None:
    report = run(db, "EXP_COURS.xml")
    assert report.applied and report.first_import and report.rejected == []
    # 11 <Cours>: numero 8 and 9 are one course (NUMERO 8, one row per class), numero
    # 10 has no class (a permanence: left out, warned).
    assert report.courses == 9 and len(report.services) == 9
    assert report.warnings == [
        'EXP_COURS.xml, line 165, <Cours numero="10">: PERM has no class or group '
        "(CLASSE empty): left out"]
    # MATHS 4B Mon 34 + Thu 35, FRANC 6A Tue 35, SVT 6A GR1 and GR2 one week out of two
    # 18 + 18, ESP2 4LV2ESP Fri 34, TECHN 3A Mon 34, EDMUS 6A and 6B Thu 35 + 35, HG 5A
    # Tue week B 18.
    assert report.lessons_created == 296 == sum(report.lessons_by_week.values())
    assert len(report.lessons_by_week) == 36
    assert list(report.lessons_by_week.items())[:3] == [
        ("2025-09-01", 8), ("2025-09-08", 9), ("2025-09-15", 8)]
    assert "2025-10-20" not in report.lessons_by_week  # Toussaint
    with db.transaction(write=False) as s:
        maths = lessons_of(s, "MATHS", "4B")
        assert len(maths) == 69
        days = {local(x).date() for x in maths}
        assert date(2026, 5, 14) not in days  # Ascension Day: a Thursday, no lesson
        assert date(2026, 5, 21) in days
        assert {local(x).time() for x in maths} == {time(8), time(10)}
        # DST (29 March 2026): 8:00 on both sides, one hour apart in UTC.
        monday = {local(x).date(): x for x in maths}
        assert monday[date(2026, 3, 23)].start == datetime(2026, 3, 23, 7, tzinfo=UTC)
        assert monday[date(2026, 3, 30)].start == datetime(2026, 3, 30, 6, tzinfo=UTC)
        gr1, gr2 = lessons_of(s, "SVT", "6A GR1"), lessons_of(s, "SVT", "6A GR2")
        assert (len(gr1), len(gr2)) == (18, 18)
        assert {x.week for x in gr1} == {Week.A} and local(gr1[0]).date() == date(2025, 9, 3)
        assert local(gr2[0]).date() == date(2025, 9, 10)
        # The week after the Toussaint continues the alternation: 15 Oct was A, 5 Nov B.
        assert date(2025, 10, 15) in {local(x).date() for x in gr1}
        assert date(2025, 11, 5) in {local(x).date() for x in gr2}
        techno = s.scalars(select(TeachingService).join(acl.Subject).where(
            acl.Subject.code == "TECHN")).one()
        assert [t.login for t in techno.teachers] == ["jp.legall", "s.martin"]
        assert len(lessons_of(s, "EDMUS", "6A")) == len(lessons_of(s, "EDMUS", "6B")) == 35
        assert len(lessons_of(s, "ESP2", "4LV2ESP")) == 34
        french = lessons_of(s, "FRANC", "6A")
        assert {x.end - x.start for x in french} == {datetime(1, 1, 1, 11) - datetime(
            1, 1, 1, 9)}
        assert s.scalar(select(acl.Subject.name).where(acl.Subject.code == "SVT")) == \
            "SCIENCES VIE & TERRE"


def test_edt_in_latin1_and_an_old_edt(db: Database, school: int) -> None:
    report = run(db, "EXP_COURS_latin1.xml")
    assert (report.courses, report.lessons_created) == (1, 35)
    with db.transaction(write=False) as s:
        service = s.scalars(select(TeachingService)).one()
        assert [t.login for t in service.teachers] == ["h.lefevre"]  # "Hélène" in Latin-1


def test_edt_week_a_anchor_is_kept_with_the_year(db: Database, school: int) -> None:
    run(db, "EXP_COURS.xml", week_a=date(2025, 9, 10))
    with db.transaction(write=False) as s:
        assert local(lessons_of(s, "SVT", "6A GR1")[0]).date() == date(2025, 9, 10)
        year = textbook.current_school_year(s, school)
        assert year is not None and year.week_a == date(2025, 9, 10)


# -- UnDeuxTEMPS --------------------------------------------------------------------

def test_udt_export(db: Database, school: int) -> None:
    report = run(db, "udt.csv")
    assert report.applied and report.rejected == []
    # 18 data rows: 2 meals left out, hours merged (MATHS 8H+9H, FRANCAIS 9H+10H),
    # regroupement 4LV2ESP (4B, 4C), co-teaching (TECHNO), EDUC MUSICALE 6A and 6B.
    assert report.courses == 11
    assert [w for w in report.warnings if "meal" in w] == [
        "udt.csv, line 11: meal row (REPAS) left out",
        "udt.csv, line 12: meal row (Repas) left out"]
    assert report.lessons_created == 365
    with db.transaction(write=False) as s:
        maths = lessons_of(s, "MATHS", "4B")
        monday = [x for x in maths if local(x).weekday() == 0]
        assert len(monday) == 34
        assert {(local(x).time(), x.end - x.start) for x in monday} == {
            (time(8), datetime(1, 1, 1, 10) - datetime(1, 1, 1, 8))}
        assert len(lessons_of(s, "ESPAGNOL", "4LV2ESP")) == 34
        assert lessons_of(s, "ESPAGNOL", "4B") == []
        assert len(lessons_of(s, "ANGLAIS", "2E1")) == 35  # Excel's 2,00E+01
        assert {x.week for x in lessons_of(s, "HIST-GEO", "5A")} == {Week.B}
        physics = lessons_of(s, "PHYS", "3A")
        assert {local(x).time() for x in physics} == {time(10)}
        assert {x.end - x.start for x in physics} == {
            datetime(1, 1, 1, 11, 30) - datetime(1, 1, 1, 10)}


# -- PRONOTE ------------------------------------------------------------------------

def test_pronote_teacher_calendar(db: Database, school: int) -> None:
    report = run(db, "pronote_teacher.ics")
    assert report.applied and report.rejected == []
    assert (report.courses, len(report.services)) == (5, 3)
    assert (report.lessons_created, report.lessons_cancelled) == (11, 3)
    assert report.lessons_by_week == {"2026-03-16": 4, "2026-03-23": 4, "2026-03-30": 3}
    with db.transaction(write=False) as s:
        # "MATHEMATIQUES" is the subject of code MATHS (its name), never the SUMMARY.
        maths = lessons_of(s, "MATHS", "4B")
        assert [(local(x).strftime("%d %H:%M"), x.status.value) for x in maths] == [
            ("16 08:00", "scheduled"), ("17 16:00", "cancelled"), ("19 10:00", "scheduled"),
            ("23 08:00", "scheduled"), ("26 10:00", "cancelled"), ("30 08:00", "scheduled"),
            ("02 10:00", "scheduled")]
        assert maths[5].start == datetime(2026, 3, 30, 6, tzinfo=UTC)  # after DST
        physics = lessons_of(s, "PHYSIQUE-CHIMIE", "3A")
        assert [x.status for x in physics] == [LessonStatus.scheduled,
                                               LessonStatus.cancelled,  # "Prof. absent"
                                               LessonStatus.scheduled]
        assert physics[0].room == "Labo Sciences"
        science = s.scalars(select(TeachingService).join(acl.Group).where(
            acl.Group.name == "6A GR1")).one()
        assert [t.login for t in science.teachers] == ["c.bernard", "m.dupont"]
        assert s.scalar(select(func.count()).select_from(acl.Subject).where(
            acl.Subject.code.like("%SUMMARY%"))) == 0


def test_pronote_class_calendar_with_an_ambiguous_teacher(db: Database, school: int) -> None:
    before = count(db)
    refused = run(db, "pronote_class.ics")
    assert not refused.applied and refused.lessons_created == 0 and count(db) == before
    assert [r.as_dict() for r in refused.rejected] == [{
        "file": "pronote_class.ics", "line": 55,
        "reason": "teacher 'MARTIN S.' is ambiguous: s.martin (Sophie Martin), sy.martin "
                  "(Sylvain Martin); give them names that tell them apart in the directory"}]
    with db.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(acl.Subject)) == 1  # MATHS only
    partial = run(db, "pronote_class.ics", partial=True)
    assert partial.applied and (partial.courses, partial.lessons_created) == (3, 4)
    with db.transaction(write=False) as s:
        history = s.scalars(select(TeachingService).join(acl.Subject).where(
            acl.Subject.code == "HISTOIRE-GEOGRAPHIE")).one()
        assert [t.login for t in history.teachers] == ["jp.legall"]  # "LE GALL J.-P."
        assert len(lessons_of(s, "ESPAGNOL LV2", "4LV2ESP")) == 1


def test_a_student_calendar_is_refused(db: Database, school: int) -> None:
    with pytest.raises(BadRequest, match="a student's PRONOTE calendar \\(MARTIN Lucas\\)"):
        run(db, "pronote_student.ics")


# -- re-import ----------------------------------------------------------------------

def _booking(s: Session, school_id: int, lesson: Lesson, by: int) -> Booking:
    domain = ResourceDomain(school_id=school_id, name="Salles", opens=time(7),
                            closes=time(19), weekdays="012345")
    s.add(domain)
    s.flush()
    resource = Resource(domain_id=domain.id, kind=ResourceKind.place, name="Salle info")
    s.add(resource)
    s.flush()
    booking = Booking(resource_id=resource.id, booked_by=by, start=lesson.start,
                      end=lesson.end, status=BookingStatus.confirmed, lesson_id=lesson.id)
    s.add(booking)
    s.flush()
    return booking


def test_reimport_from_the_import_date_on(db: Database, school: int) -> None:
    """MATHS 4B's Monday course moves to Tuesday 11:00 and FRANC 6A is gone, seen on 7
    January 2026: earlier lessons stay as they were; later ones move (their content and
    bookings with them) or go, except those with content or homework due."""
    run(db, "EXP_COURS.xml")
    with db.transaction() as s:
        teacher = s.scalars(select(acl.User.id).where(acl.User.login == "m.dupont")).one()
        maths_on = {local(x).date(): x for x in lessons_of(s, "MATHS", "4B")}
        french_on = {local(x).date(): x for x in lessons_of(s, "FRANC", "6A")}
        moved = maths_on[date(2026, 1, 12)]
        s.add(Activity(lesson_id=moved.id, kind=ActivityKind.content, title="Pythagore",
                       created_by=teacher))
        booking = _booking(s, school, maths_on[date(2026, 1, 19)], teacher)
        kept = french_on[date(2026, 1, 13)]
        s.add(Activity(lesson_id=kept.id, kind=ActivityKind.homework, title="Rédaction",
                       created_by=teacher, due_lesson_id=french_on[date(2026, 1, 20)].id))
        s.add(Activity(lesson_id=french_on[date(2025, 11, 4)].id, kind=ActivityKind.content,
                       title="Le conte", created_by=teacher))
        gone_booking = _booking(s, school, french_on[date(2026, 1, 27)], teacher)
        ids = (moved.id, kept.id, booking.id, gone_booking.id)
    report = run(db, "EXP_COURS_changed.xml", today=date(2026, 1, 7))
    assert report.applied and not report.first_import
    # Mondays from 12 Jan to 29 June: 19 lessons move to the Tuesday of their week; the
    # weeks of Easter and Whit Mondays had no Monday lesson: 2 new Tuesday lessons.
    assert (report.lessons_moved, report.lessons_created) == (19, 2)
    # FRANC 6A: 21 Tuesdays from 13 Jan; 13 Jan has homework, 20 Jan homework due.
    assert report.lessons_deleted == 19
    assert [(k.service, k.start.astimezone(PARIS).date()) for k in report.kept] == [
        ("FRANC 6A", date(2026, 1, 13)), ("FRANC 6A", date(2026, 1, 20))]
    with db.transaction(write=False) as s:
        maths = lessons_of(s, "MATHS", "4B")
        mondays = [local(x).date() for x in maths if local(x).weekday() == 0]
        assert mondays[-1] == date(2026, 1, 5)  # before the import date: as it was
        assert len(mondays) == 15
        lesson = s.get_one(Lesson, ids[0])
        assert local(lesson) == datetime(2026, 1, 13, 11, tzinfo=PARIS)
        assert s.scalar(select(Activity.title).where(Activity.lesson_id == ids[0])) == \
            "Pythagore"
        moved_booking = s.get_one(Booking, ids[2])
        assert moved_booking.start == datetime(2026, 1, 20, 10, tzinfo=UTC)
        assert moved_booking.status is BookingStatus.confirmed
        cancelled = s.get_one(Booking, ids[3])
        assert (cancelled.status, cancelled.lesson_id) == (BookingStatus.cancelled, None)
        french = lessons_of(s, "FRANC", "6A")
        assert [local(x).date() for x in french if local(x).date() >= date(2026, 1, 7)] == [
            date(2026, 1, 13), date(2026, 1, 20)]
        assert len(french) == 14 + 2  # 14 Tuesdays before 7 January (11 Nov excepted)
    again = run(db, "EXP_COURS_changed.xml", today=date(2026, 1, 7))
    assert (again.lessons_created, again.lessons_moved, again.lessons_deleted) == (0, 0, 0)
    assert len(again.kept) == 2


def test_a_teacher_calendar_over_the_school_timetable(db: Database, school: int) -> None:
    """After the EDT import, Marc Dupont's PRONOTE calendar (16 March to 3 April) is
    compared with his services' lessons in those weeks: the same lessons stay, the one
    it cancels is cancelled (its booking too), its new ones are created, and the
    school's lessons it does not list (SVT 6A GR1 on 18 March and 1 April, which
    Claire Bernard gives alone) are none of its business."""
    run(db, "EXP_COURS.xml")
    with db.transaction() as s:
        teacher = s.scalars(select(acl.User.id).where(acl.User.login == "m.dupont")).one()
        thursday = next(x for x in lessons_of(s, "MATHS", "4B")
                        if local(x).date() == date(2026, 3, 26))
        booking_id = _booking(s, school, thursday, teacher).id
    steps: list[tuple[str, int, int]] = []
    report = textbook.import_timetable(
        db, textbook.ImportSource.from_path(TT / "pronote_teacher.ics"), UAI,
        textbook.TimetableOptions(today=date(2026, 3, 10)),
        lambda stage, done, total: steps.append((stage, done, total)))
    assert report.applied and report.first_import  # the first from this calendar
    # 17 March (a cancelled extra lesson), SVT 6A GR1 on 25 March ("Exceptionnel") and
    # PHYSIQUE-CHIMIE 3A's three are new; 26 March is cancelled; the Mondays and the
    # other Thursdays are already there.
    assert (report.lessons_created, report.lessons_updated, report.lessons_cancelled,
            report.lessons_unchanged, report.lessons_deleted) == (5, 1, 3, 5, 0)
    assert steps[0] == ("courses", 0, 5) and ("courses", 5, 5) in steps
    assert steps[-1] == ("lessons", 5, 5)
    with db.transaction(write=False) as s:
        assert s.get_one(Lesson, thursday.id).status is LessonStatus.cancelled
        booking = s.get_one(Booking, booking_id)
        assert (booking.status, booking.refusal_reason) == (BookingStatus.cancelled,
                                                            "Séance annulée.")
        svt = s.scalars(select(TeachingService).join(acl.Group).where(
            acl.Group.name == "6A GR1")).one()
        assert [t.login for t in svt.teachers] == ["c.bernard", "m.dupont"]
        days = [local(x).date() for x in lessons_of(s, "SVT", "6A GR1")]
        assert {date(2026, 3, 18), date(2026, 3, 25), date(2026, 4, 1)} <= set(days)
    again = textbook.import_timetable(
        db, textbook.ImportSource.from_path(TT / "pronote_teacher.ics"), UAI,
        textbook.TimetableOptions(today=date(2026, 3, 10)))
    assert (again.first_import, again.lessons_created, again.lessons_deleted,
            again.lessons_unchanged) == (False, 0, 0, 11)


def test_dry_run_changes_nothing(db: Database, school: int) -> None:
    report = run(db, "udt.csv", dry_run=True)
    assert report.dry_run and not report.applied and report.lessons_created == 365
    assert count(db) == 0
    with db.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(TeachingService)) == 0


# -- bad input ----------------------------------------------------------------------

def test_bad_records_are_named_and_refuse_the_file(db: Database, school: int,
                                                   tmp_path: Path) -> None:
    edt = (TT / "EXP_COURS.xml").read_bytes()
    duplicate = edt.replace(b'<Cours numero="2">', b'<Cours numero="1">')
    unknown = edt.replace(b"<PROF_NOM>ROUX</PROF_NOM>", b"<PROF_NOM>INCONNU</PROF_NOM>", 1)
    late = (TT / "pronote_teacher.ics").read_bytes().replace(
        b"DTSTART:20260402T080000Z\r\nDTEND:20260402T090000Z",
        b"DTSTART:20260707T080000Z\r\nDTEND:20260707T090000Z")
    for name, data in (("dup.xml", duplicate), ("unknown.xml", unknown),
                       ("late.ics", late)):
        (tmp_path / name).write_bytes(data)
    assert [r.as_dict() for r in run(db, "dup.xml", path=tmp_path).rejected] == [{
        "file": "dup.xml", "line": 21, "element": '<Cours numero="1">',
        "reason": "duplicate id: numero 1 already at line 3"}]
    assert [r.as_dict() for r in run(db, "unknown.xml", path=tmp_path).rejected] == [{
        "file": "unknown.xml", "line": 93, "element": '<Cours numero="6">',
        "reason": "teacher 'INCONNU Paul' is not in the directory (no enabled teacher of "
                  "the school has that name)"}]
    assert [r.as_dict() for r in run(db, "late.ics", path=tmp_path).rejected] == [{
        "file": "late.ics", "line": 79,
        "reason": "lesson on 2026-07-07 is outside the school year 2025-2026 (2025-09-01 "
                  "to 2026-07-04)"}]
    assert count(db) == 0


@pytest.mark.parametrize(("data", "message"), [
    ((TT / "EXP_COURS_truncated.xml").read_bytes(),
     "not well-formed XML at line 117.*truncated"),
    ("Jour;Heure;Div\r\n".encode("utf-16-le"), "NUL bytes: it looks like UTF-16"),
    (b"Jour;Heure;Div;Mati\xe8re;Professeur;Salle;Groupe;Regroup;Eff;Mo;Freq;Aire\r\n"
     b"Lundi;8H;4B;MATHS;DUPONT \x81;14;;;;;;\r\n",
     "line 2: byte 0x81 is not UTF-8 nor Windows-1252"),
    ((DATA / "holidays.ics").read_bytes(), "holiday calendar.*davserver import holidays"),
    ((TT / "fr-en-calendrier-scolaire.json").read_bytes(),
     "ministry's school calendar.*davserver import holidays"),
    (b'<?xml version="1.0" encoding="UTF-8"?>\n<ficAlimMENESR><addRequest/></ficAlimMENESR>',
     "AAF directory file.*davserver import people"),
    ("login;nom;prenom;profil\nlea;Girard;Léa;élève\n".encode(),
     "people file.*davserver import people"),
    (b"PK\x03\x04rest of a zip", "zip archive"),
    (b"%PDF-1.7", "PDF"),
])
def test_files_that_cannot_be_read(db: Database, school: int, tmp_path: Path, data: bytes,
                                   message: str) -> None:
    (tmp_path / "in").write_bytes(data)
    with pytest.raises(BadRequest, match=message):
        run(db, "in", path=tmp_path)
    assert count(db) == 0


# -- our CSV and iCalendar ------------------------------------------------------------

@pytest.fixture
def csv_school(db: Database) -> Iterator[int]:
    """Our layouts' samples: 4B, teachers m.dupont and c.bernard, student lea; year
    2025-2026 and the holidays of ``tests/data/holidays.ics`` (zone C)."""
    with db.transaction() as s:
        school_id = acl.add_school(s, "Collège Test", uai=UAI, zone="C").id
        acl.ensure_group(s, school_id, "4B")
        for login, profile in (("m.dupont", "teacher"), ("c.bernard", "teacher"),
                               ("lea", "student")):
            s.add(acl.User(login=login, display_name=login, password_hash="-",
                           profile=acl.Profile(profile), school_id=school_id))
    yield school_id


def legacy(db: Database, name: str, **options: Any) -> textbook.TimetableReport:
    holidays = [textbook.Period(*p) for p in textbook.read_holidays(
        (DATA / "holidays.ics").read_bytes())]
    return run(db, name, path=DATA, year_start=date(2025, 9, 1), year_end=date(2026, 7, 4),
               holidays=holidays, **options)


def test_our_csv(db: Database, csv_school: int) -> None:
    refused = legacy(db, "timetable.csv")
    assert not refused.applied and count(db) == 0
    report = legacy(db, "timetable.csv", partial=True)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (5, "unknown class or group '4Z' (import people first)"),
        (6, "unknown teacher 'inconnu'"),
        (7, "weekday 'jour férié' is not a day name (lundi, Monday) or 1 to 7"),
        (8, "ends at 09:00, not after its start 10:00"),
    ]
    assert len(report.services) == 2  # 4B MATHS, 4B PHYS (A and B rows share it)
    # MATHS every Monday (34: Easter and Whit Monday off), PHYS every Tuesday, A or B
    # (35: 11 November off).
    assert report.lessons_created == count(db) == 34 + 35
    with db.transaction(write=False) as s:
        phys = s.scalars(select(TeachingService).join(acl.Subject).where(
            acl.Subject.code == "PHYS")).one()
        assert [t.login for t in phys.teachers] == ["c.bernard", "m.dupont"]
    again = legacy(db, "timetable.csv", partial=True)
    assert (again.lessons_created, count(db)) == (0, 69)


def test_our_ics_events_taken_as_given(db: Database, csv_school: int) -> None:
    report = legacy(db, "timetable.ics", partial=True)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (23, "no 'Classe: …' line in DESCRIPTION"), (30, "RRULE is not FREQ=WEEKLY")]
    with db.transaction(write=False) as s:
        found = list(s.scalars(select(Lesson).order_by(Lesson.start)))
        maths = [x for x in found if x.room == "B12"]
        phys = [x for x in found if x.room == "Labo 1"]
        assert len(maths) == 16  # Mondays of Sept–Dec 2025, less two EXDATEs
        assert {local(x).hour for x in maths} == {8}
        assert [local(x).date() for x in phys] == [
            date(2025, 9, 9), date(2025, 9, 23), date(2025, 10, 7), date(2025, 10, 21)]
        assert {x.week for x in phys} == {Week.B}  # 9 Sept is in the year's second week


def test_a_student_is_not_a_teacher(db: Database, csv_school: int, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("classe;matiere;professeur;jour;debut;fin\n"
                                    "4B;MATHS;lea;1;8:00;9:00\n", encoding="utf-8")
    report = run(db, "t.csv", path=tmp_path, year_start=date(2025, 9, 1),
                 year_end=date(2026, 7, 4))
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "'lea' is not a teacher (student)")]
