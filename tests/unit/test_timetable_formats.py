"""The readers of the timetable formats and of the ministry's school calendar, and the
school calendar they are laid on (``web.textbook.timetable``), without a database:
the fixtures of ``tests/data/timetable/`` and small files made here for one pitfall
each (notes §5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from davserver.errors import BadRequest
from web.textbook import Period, Week
from web.textbook.timetable import (
    SchoolCalendar,
    TeacherRef,
    WrongKind,
    detect_format,
    public_holidays,
    read_dataset,
    read_timetable,
    year_calendar,
)
from web.textbook.timetable.from_edt import audiences_of
from web.textbook.timetable.text import decode_text, parse_clock, parse_duration, parse_week

TT = Path(__file__).resolve().parent.parent / "data" / "timetable"
HOUR = timedelta(hours=1)


def read(name: str) -> bytes:
    return (TT / name).read_bytes()


# -- detection ------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kind"), [
    ("EXP_COURS.xml", "edt"), ("EXP_COURS_latin1.xml", "edt"), ("udt.csv", "udt"),
    ("pronote_teacher.ics", "pronote"), ("pronote_class.ics", "pronote"),
])
def test_the_format_comes_from_the_content(name: str, kind: str) -> None:
    assert detect_format(read(name)) == kind


def test_a_udt_export_without_its_header_line_is_recognised() -> None:
    text = read("udt.csv").split(b"\r\n", 1)[1]
    assert detect_format(text) == "udt"
    assert len(read_timetable(text, "udt.csv").courses) == 11


@pytest.mark.parametrize(("data", "says"), [
    (b"<?xml version='1.0'?><TABLE nom=\"Salles\"><Salles/></TABLE>",
     "EDT text export of 'Salles', not of courses"),
    (b"<BEE_ELEVES VERSION='3.0'><DONNEES/></BEE_ELEVES>", "SIECLE export"),
    (b"<STS_EDT><PARAMETRES/></STS_EDT>", "STS-web export"),
    (b"<!DOCTYPE html><html><body>Pronote</body></html>", "web page"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel 97 workbook"),
    (b"Nom;Pr\xe9nom;Date naissance;Division\r\nGIRARD;L\xe9a;01/02/2012;4B\r\n",
     "list of people"),
    (b"a,b,c\n1,2,3\n", "not a timetable this import reads"),
    (b'{"total_count": 1, "results": [{"description": "Vacances de No\xc3\xabl", '
     b'"start_date": "2025-12-19T23:00:00+00:00"}]}', "davserver import holidays"),
])
def test_wrong_kinds_say_what_they_look_like(data: bytes, says: str) -> None:
    with pytest.raises(WrongKind, match=says):
        detect_format(data)


# -- encodings and cells ----------------------------------------------------------------

def test_encodings() -> None:
    assert decode_text("Matière".encode("cp1252")) == ("Matière", "cp1252")
    assert decode_text(b"\xef\xbb\xbf\xef\xbb\xbfMati\xc3\xa8re") == ("Matière", "utf-8-sig")
    assert decode_text("Matière".encode("utf-16")) == ("Matière", "utf-16")
    with pytest.raises(BadRequest, match="line 2: byte 0x8f"):
        decode_text(b"ok\r\nbad \x8f\r\n")


@pytest.mark.parametrize(("cell", "week"), [
    ("", None), ("H", None), ("h", None), ("A", Week.A), ("Q1", Week.A), ("1", Week.A),
    ("Sem. A", Week.A), ("semaine B", Week.B), ("Q2", Week.B), ("S2", Week.B),
])
def test_week_codes(cell: str, week: Week | None) -> None:
    assert parse_week(cell) is week


def test_odd_and_even_weeks_are_not_weeks_a_and_b() -> None:
    with pytest.raises(BadRequest, match="'impaire' is not a week code"):
        parse_week("impaire")


def test_times_and_durations() -> None:
    assert parse_clock("  13h30") == time(13, 30)
    assert parse_clock("8H") == time(8) == parse_clock("08:00")
    assert parse_duration("1h00") == HOUR
    assert parse_duration("0h55") == timedelta(minutes=55) == parse_duration("55")
    with pytest.raises(BadRequest, match="between 5 minutes and 12 hours"):
        parse_duration("14h00")


# -- EDT ----------------------------------------------------------------------------------

def test_edt_class_notation() -> None:
    assert audiences_of("4B") == ("4B",)
    assert audiences_of("4A, 4B") == ("4A", "4B")
    assert audiences_of("[4 ARTS2]<4 B> <SIECLE> 4 ARTS2, [4 ARTS2]<4 C> <SIECLE> 4 ARTS2, "
                        "[4 ARTS2]<4 D> <SIECLE> 4 ARTS2") == ("4 ARTS2",)
    assert audiences_of("3D, <3D> <Dédoublement> 3D GR2") == ("3D", "3D GR2")
    assert audiences_of("[5D - VIE DE CLASSE]") == ("5D - VIE DE CLASSE",)


def test_edt_courses() -> None:
    found = read_timetable(read("EXP_COURS.xml"), "EXP_COURS.xml")
    assert (found.kind, found.records, len(found.courses), found.rejected) == (
        "edt", 11, 9, [])
    first = found.courses[0]
    assert (first.subject, first.subject_name, first.audiences, first.room) == (
        "MATHS", "MATHEMATIQUES", ("4B",), "14")
    assert first.slot is not None and (first.slot.weekday, first.slot.start,
                                       first.slot.duration) == (0, time(8), HOUR)
    co_taught = found.courses[6]
    assert [(t.last, t.first) for t in co_taught.teachers] == [
        ("LE GALL", "Jean-Pierre"), ("MARTIN", "Sophie")]
    both = found.courses[7]  # numero 8 and 9: NUMERO 8, one row per class
    assert both.audiences == ("6A", "6B")
    old = found.courses[8]  # an older EDT: ALT. and MOD.
    assert old.slot is not None and old.slot.week is Week.B
    assert [c.where.element for c in found.courses][:2] == [
        '<Cours numero="1">', '<Cours numero="2">']


def test_edt_external_entities_are_not_read(tmp_path: Path) -> None:
    """An external entity is neither read nor fetched: the field is empty, and the
    course is refused for it."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET", encoding="utf-8")
    xml = (f'<?xml version="1.0"?><!DOCTYPE TABLE [<!ENTITY x SYSTEM "file://{secret}">]>'
           '<TABLE nom="Cours"><Cours numero="1"><MAT_CODE>&x;</MAT_CODE><JOUR>lundi</JOUR>'
           "<H.DEBUT>08h00</H.DEBUT><DUREE>1h00</DUREE><CLASSE>4B</CLASSE>"
           "<PROF_NOM>DUPONT</PROF_NOM></Cours></TABLE>").encode()
    found = read_timetable(xml, "evil.xml")
    assert [r.reason for r in found.rejected] == ["no subject (MAT_CODE and MAT_LIBELLE "
                                                  "empty)"]
    assert "TOP SECRET" not in repr(found)


def test_edt_entity_bombs_are_refused() -> None:
    """Billion laughs: libxml2 stops the amplification; a clear refusal, no memory
    blown."""
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 9))
    xml = (f'<?xml version="1.0"?><!DOCTYPE TABLE [<!ENTITY l0 "ha">{laughs}]>'
           '<TABLE nom="Cours"><Cours numero="1"><MAT_LIBELLE>&l8;</MAT_LIBELLE></Cours>'
           "</TABLE>").encode()
    with pytest.raises(BadRequest, match="not well-formed XML.*entity amplification"):
        read_timetable(xml, "bomb.xml")


def test_truncated_edt() -> None:
    with pytest.raises(BadRequest, match="line 117, column 27.*truncated"):
        read_timetable(read("EXP_COURS_truncated.xml"), "EXP_COURS.xml")


def test_edt_bad_fields_name_the_element() -> None:
    xml = (b'<TABLE nom="Cours"><Cours numero="7"><MAT_CODE>M</MAT_CODE><JOUR>funday</JOUR>'
           b"<H.DEBUT>8h</H.DEBUT><DUREE>1h</DUREE><CLASSE>4B</CLASSE><PROF_NOM>X</PROF_NOM>"
           b"<FREQUENCE>Q3</FREQUENCE></Cours></TABLE>")
    found = read_timetable(xml, "e.xml")
    assert [r.as_dict() for r in found.rejected] == [{
        "file": "e.xml", "line": 1, "element": '<Cours numero="7">',
        "reason": "weekday 'funday' is not a day name (lundi, Monday) or 1 to 7"}]


# -- UnDeuxTEMPS ----------------------------------------------------------------------------

def test_udt_courses() -> None:
    found = read_timetable(read("udt.csv"), "udt.csv")
    assert (found.records, len(found.courses), found.rejected) == (18, 11, [])
    by_line = {c.where.line: c for c in found.courses}
    maths = by_line[2]  # 8H and 9H: one two-hour course
    assert maths.slot is not None and (maths.slot.start, maths.slot.duration) == (
        time(8), 2 * HOUR)
    spanish = by_line[9]  # a regroupement of 4B and 4C
    assert (spanish.audiences, spanish.fallbacks) == (("4LV2ESP",), (("4B", "4C"),))
    techno = by_line[13]  # two teachers, one class: co-teaching
    assert [t.text for t in techno.teachers] == ["LE GALL JEAN-PIERRE", "MARTIN SOPHIE"]
    music = by_line[15]  # one teacher for 6A and 6B at once
    assert music.audiences == ("6A", "6B")
    assert by_line[18].audiences == ("2E1",)
    assert by_line[19].slot is not None and by_line[19].slot.duration == timedelta(
        minutes=90)


def test_udt_unknown_week_code_names_the_line() -> None:
    data = ("Jour;Heure;Div;Matière;Professeur;Salle;Groupe;Regroup;Eff;Mo;Freq;Aire;\r\n"
            "Lundi;8H;4B;MATHS;DUPONT MARC;14;;;25;CG;SX;;\r\n").encode("cp1252")
    found = read_timetable(data, "u.csv")
    assert [(r.line, r.reason[:28]) for r in found.rejected] == [
        (2, "week 'SX' is not a week code")]


# -- PRONOTE --------------------------------------------------------------------------------

def test_pronote_teacher_calendar() -> None:
    found = read_timetable(read("pronote_teacher.ics"), "Edt.ics")
    assert (found.kind, found.school_wide, found.span) == (
        "pronote", False, (date(2026, 3, 16), date(2026, 4, 4)))
    assert [c.key for c in found.courses] == [
        "Cours-101", "Cours-102", "Cours-103", "Cours-104", "Cours-105"]
    maths = found.courses[1]
    assert (maths.subject, maths.subject_is_label, maths.audiences) == (
        "MATHEMATIQUES", True, ("4B",))
    assert [(e.start, e.cancelled) for e in maths.events] == [
        (datetime(2026, 3, 19, 9, tzinfo=UTC), False),
        (datetime(2026, 3, 26, 9, tzinfo=UTC), True),
        (datetime(2026, 4, 2, 8, tzinfo=UTC), False)]
    assert [e.cancelled for e in found.courses[2].events] == [False, True, False]
    science = found.courses[3]  # HTML entities inside iCalendar escaping
    assert (science.subject, science.audiences) == ("SCIENCES VIE & TERRE", ("6A GR1",))
    assert [(t.last, t.initials) for t in science.teachers] == [("DUPONT", "M."),
                                                                ("BERNARD", "C.")]
    assert found.courses[4].events[0].cancelled  # STATUS:CANCELLED
    assert found.warnings == ["Edt.ics, line 163: Lundi de Pâques is not a lesson: left out"]


def test_pronote_folded_inside_a_character() -> None:
    """The fixture folds a line at 75 octets between the two bytes of an "é"."""
    data = read("pronote_teacher.ics")
    assert any(line[-1:] == b"\xc3" for line in data.split(b"\r\n"))
    found = read_timetable(data, "Edt.ics")
    assert "\ufffd" not in repr(found)


def test_pronote_summary_forms() -> None:
    """The subject is the SUMMARY's first part behind a status, never the SUMMARY."""
    lines = ["BEGIN:VCALENDAR", "PRODID:-//Index-Education//ProNote 2019//FR",
             "X-WR-CALNAME:Calendrier - DUPONT Marc - du 02 septembre 2019 au 03 juillet 2020"]
    for n, (uid, summary) in enumerate((
            ("Cours-9-1", "MATHEMATIQUES - 4B"),
            ("Cours-9-2", "Cours annulé : MATHEMATIQUES - 4B"),
            ("Cours-10-1", "SCIENCES VIE & TERRE - [4EME SC405] - <405> SC405"))):
        lines += ["BEGIN:VEVENT", f"UID:{uid}-20190901T000000Z-Index-Education",
                  f"DTSTART:2019091{n}T070000Z", f"DTEND:2019091{n}T080000Z",
                  "CATEGORIES:Cours", f"SUMMARY:{summary}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    found = read_timetable("\r\n".join(lines).encode(), "t.ics")
    assert [(c.subject, c.audiences) for c in found.courses] == [
        ("MATHEMATIQUES", ("4B",)), ("SCIENCES VIE & TERRE", ("4EME SC405", "SC405"))]
    assert [e.cancelled for e in found.courses[0].events] == [False, True]


def test_pronote_duplicate_uid() -> None:
    data = read("pronote_teacher.ics").replace(b"UID:Cours-101-2-", b"UID:Cours-101-1-")
    found = read_timetable(data, "Edt.ics")
    assert [(r.line, r.reason) for r in found.rejected] == [
        (26, "duplicate UID 'Cours-101-1' (first at line 13)")]


def test_a_student_calendar_is_refused() -> None:
    with pytest.raises(BadRequest, match=r"student's PRONOTE calendar \(MARTIN Lucas\)"):
        read_timetable(read("pronote_student.ics"), "Edt.ics")


# -- the school calendar -----------------------------------------------------------------

def zone_c() -> list[Period]:
    dataset = read_dataset(read("fr-en-calendrier-scolaire.json"), "f.json", "Europe/Paris")
    return year_calendar(dataset, "C", "2025-2026", date(2025, 12, 1)).periods


def test_the_ministry_calendar_read_in_the_school_time_zone() -> None:
    dataset = read_dataset(read("fr-en-calendrier-scolaire.json"), "f.json", "Europe/Paris")
    year = year_calendar(dataset, "C", None, date(2025, 12, 1))
    assert (year.label, year.first, year.last) == ("2025-2026", date(2025, 9, 1),
                                                   date(2026, 7, 4))
    # "2025-12-19T23:00:00+00:00" is 20 December in Paris: classes end after school
    # that Saturday and resume on Monday 5 January.
    assert Period("Vacances de Noël", date(2025, 12, 21), date(2026, 1, 4)) in year.periods
    assert Period("Pont de l'Ascension", date(2026, 5, 15), date(2026, 5, 16)) in \
        year.periods
    # Read in Réunion's time zone, the same UTC instants are other dates.
    far = read_dataset(read("fr-en-calendrier-scolaire.json"), "f.json", "Indian/Reunion")
    noel = [p for p in year_calendar(far, "C", "2025-2026", date(2025, 12, 1)).periods
            if "Noël" in p.name]
    assert noel == [Period("Vacances de Noël", date(2025, 12, 21), date(2026, 1, 4))]
    # Next year: the rentrée from the summer before, the end from the "Début des
    # Vacances d'Été" marker (the next rentrée is not published yet).
    later = year_calendar(dataset, "C", None, date(2026, 12, 1))
    assert (later.label, later.first, later.last) == ("2026-2027", date(2026, 9, 1),
                                                      date(2027, 7, 3))


def test_the_api_answer_and_an_old_export_are_read() -> None:
    api = (b'{"total_count": 2, "results": [{"description": "Vacances de la Toussaint", '
           b'"population": "-", "start_date": "2025-10-17T22:00:00+00:00", "end_date": '
           b'"2025-11-02T23:00:00+00:00", "zones": "Zone C", "annee_scolaire": "2025-2026"}]}')
    old = (b'[{"datasetid": "fr-en-calendrier-scolaire", "fields": {"description": '
           b'"Vacances de la Toussaint", "start_date": "2025-10-18", "end_date": '
           b'"2025-11-03", "zones": "Zone C"}}]')
    for data in (api, old):
        year = year_calendar(read_dataset(data, "x.json", "Europe/Paris"), "C", None,
                             date(2025, 9, 1))
        assert year.periods == [Period("Vacances de la Toussaint", date(2025, 10, 19),
                                       date(2025, 11, 2))]


def test_public_holidays_and_local_law() -> None:
    paris = public_holidays(date(2025, 9, 1), date(2026, 7, 4), "0754321P")
    assert paris[date(2026, 5, 14)] == "Ascension" and date(2026, 4, 3) not in paris
    strasbourg = public_holidays(date(2025, 9, 1), date(2026, 7, 4), "0670001R")
    assert strasbourg[date(2026, 4, 3)] == "Vendredi saint"
    assert strasbourg[date(2025, 12, 26)] == "Saint-Étienne"
    metz = public_holidays(date(2025, 9, 1), date(2026, 7, 4), "0570001A")
    assert date(2026, 4, 3) in metz
    guadeloupe = public_holidays(date(2025, 9, 1), date(2026, 7, 4), "9710001D")
    assert date(2026, 5, 27) in guadeloupe  # abolition of slavery


def test_weeks_a_and_b_skip_the_weeks_without_classes() -> None:
    calendar = SchoolCalendar.build(date(2025, 9, 1), date(2026, 7, 4), zone_c(), None)
    weeks = calendar.school_weeks()
    assert len(weeks) == 44 and sum(1 for _m, w in weeks if w is not None) == 36
    assert calendar.week(date(2025, 10, 17)) is Week.A  # the 7th week of classes
    assert calendar.week(date(2025, 10, 22)) is None  # Toussaint
    assert calendar.week(date(2025, 11, 4)) is Week.B
    assert calendar.off(date(2026, 5, 14)) == "Ascension"
    assert calendar.off(date(2026, 5, 15)) == "Pont de l'Ascension"
    assert list(calendar.days(3))[-1] == date(2026, 7, 2)
    assert date(2026, 5, 14) not in set(calendar.days(3))
    with pytest.raises(BadRequest, match="outside the school year"):
        SchoolCalendar.build(date(2025, 9, 1), date(2026, 7, 4), zone_c(), None,
                             date(2026, 8, 1))


def test_a_udt_export_in_utf8_with_bom_reads_the_same() -> None:
    cp1252 = read_timetable(read("udt.csv"), "udt.csv")
    utf8 = read("udt.csv").decode("cp1252").encode("utf-8-sig")
    assert detect_format(utf8) == "udt"
    found = read_timetable(utf8, "udt.csv")
    assert [(c.subject, c.audiences, c.slot) for c in found.courses] == [
        (c.subject, c.audiences, c.slot) for c in cp1252.courses]


def test_a_forced_format_must_fit() -> None:
    with pytest.raises(BadRequest, match="missing column"):
        read_timetable(read("udt.csv"), "udt.csv", "csv")
    with pytest.raises(BadRequest, match="unknown format 'xls'"):
        read_timetable(read("udt.csv"), "udt.csv", "xls")


@pytest.mark.parametrize(("text", "last", "initials"), [
    ("DUPONT M.", "DUPONT", "M."), ("LE GALL J.-P.", "LE GALL", "J.-P."),
    ("ALI SLIMANE A.", "ALI SLIMANE", "A."), ("M. DUPONT", "DUPONT", ""),
    ("Mme FREDOUILLE Corinne", "FREDOUILLE Corinne", ""),
])
def test_pronote_teacher_names(text: str, last: str, initials: str) -> None:
    ref = TeacherRef.of_initials(text)
    assert (ref.last, ref.initials) == (last, initials)
