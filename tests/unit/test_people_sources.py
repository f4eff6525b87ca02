"""Reading people exports (``acl.sources``), no database: what each file is, what each
reader makes of the fixtures of ``tests/data/people/`` (encodings, CRLF, no XML
declaration, ragged rows), what a bad file gets, archives that try to escape or
explode, and the login rule."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from acl.directory import Attr, Ref
from acl.logins import base_login, free_login
from acl.models import Profile
from acl.sources import SchoolContext, hints, read_batches
from acl.sources.aaf import AafFileError, records
from acl.sources.detect import detect
from acl.sources.inputs import MAX_RATIO, BadInput, Input, gather

DATA = Path(__file__).resolve().parent.parent / "data" / "people"
AAF = sorted((DATA / "aaf").glob("*Complet*"))
SCHOOL_A = SchoolContext(1, "Collège Victor Hugo", "0759990B", None)


def batches_of(paths: list[Path], school: SchoolContext = SCHOOL_A) -> dict[str, object]:
    with gather(list(paths)) as inputs:
        found = hints(inputs.files)
        return {Path(b.name).name: b for b in read_batches(found, school)}


# --- what a file is ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "format_", "detail"), [
    ("aaf/ENT_Complet_20250901_EtabEducNat_0000.xml", "aaf", "EtabEducNat"),
    ("aaf/ENT_Complet_20250901_Eleve_0000.xml", "aaf", "Eleve"),
    ("aaf/ENT_Complet_20250901_MatiereEducNat_0000.xml", "aaf", "MatiereEducNat"),
    ("siecle_eleves_2025.csv", "siecle", "students"),
    ("siecle_eleves_2025_v2.csv", "siecle", "students"),
    ("onde/CSVExtraction-eleves.csv", "onde", "students"),
    ("onde/CSVExtraction-enseignants.csv", "onde", "teachers"),
    ("onde/CSVExtraction-responsables.csv", "onde", "relatives"),
    ("sts_emp_0759990B_2025.xml", "sts", "STS-web"),
    ("../people.csv", "csv", "people CSV"),
])
def test_the_format_comes_from_the_content(name: str, format_: str, detail: str,
                                           tmp_path: Path) -> None:
    renamed = tmp_path / "export.dat"  # the name says nothing
    renamed.write_bytes((DATA / name).read_bytes())
    found = detect(renamed)
    assert (found.format, found.detail) == (format_, detail)


@pytest.mark.parametrize(("content", "says"), [
    (b'<?xml version="1.0" encoding="UTF-8"?>\n<TABLE nom="Cours"><Cours numero="1"/>'
     b"</TABLE>", "EDT timetable export (EXP_COURS.xml): use `davserver import timetable`"),
    (b"<EDT_STS><PARAMETRES/></EDT_STS>", "not the STS-web export"),
    (b'<?xml version="1.0" encoding="ISO-8859-15"?>\n<BEE_ELEVES VERSION="2.1">',
     "SIECLE XML export"),
    (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", "iCalendar"),
    ("Jour;Heure;Div;Matière;Professeur;Salle;Groupe;Regroup;Eff;Mo;Freq;Aire;\r\n"
     "Lundi;8H;6 E;EPS;X PIERRE;GYMNA;;;16;CG;;;\r\n".encode("latin-1"), "a timetable"),
    (b"classe;matiere;professeurs;jour;debut;fin\n4B;MATHS;m.dupont;lundi;08:00;09:00\n",
     "a timetable"),
    (b"%PDF-1.7\n", "a PDF document"),
    (b"a,b,c\n1,2,3\n", "columns are not a known export (columns: a, b, c)"),
    ("a;b\n".encode("utf-16-le"), "UTF-16 without its byte order mark"),
    (b"", "an empty file"),
])
def test_a_file_of_another_kind_says_what_it_looks_like(content: bytes, says: str,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(content)
    with gather([path]) as inputs, pytest.raises(BadInput) as caught:
        hints(inputs.files)
    assert f"{path}: this looks like " in caught.value.message
    assert says in caught.value.message


def test_a_file_of_another_kind_in_a_folder_is_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "LISEZMOI.txt").write_text("Fichiers AAF du 1er septembre\n")
    (tmp_path / "eleves.csv").write_bytes((DATA / "siecle_eleves_2025.csv").read_bytes())
    with gather([tmp_path]) as inputs:
        found = hints(inputs.files)
        assert [d.format for _, d in found.files] == ["siecle"]
        assert "LISEZMOI.txt: this looks like a CSV file whose columns" in found.skipped[0]


# --- AAF ----------------------------------------------------------------------------------


def test_aaf_encodings_crlf_and_no_declaration_read_the_same_names() -> None:
    got = batches_of(AAF)
    students = {p.ids["aaf"]: p for p in got["ENT_Complet_20250901_Eleve_0000.xml"].people}
    assert students["3005"].name() == "Noé Dubois-Garcia"  # no declaration: UTF-8
    staff = {p.ids["aaf"]: p for p in got["ENT_Complet_20250901_PersEducNat_0000.xml"].people}
    assert staff["5002"].name() == "Cécile Bernard"  # ISO-8859-1, CRLF
    assert staff["5004"].functions == ("DIRECTION CHEF D'ETABLISSEMENT",)
    assert staff["5005"].functions == ("EDUCATION  (CE ,CPE)",)
    assert SCHOOL_A.aaf_id == "7501"  # found by its UAI in EtabEducNat (ISO-8859-15)


def test_aaf_people_of_the_school_with_their_profiles_classes_and_links() -> None:
    got = batches_of(AAF)
    students = got["ENT_Complet_20250901_Eleve_0000.xml"]
    assert sorted(p.ids["aaf"] for p in students.people) == [
        "3001", "3002", "3003", "3004", "3005", "3007"]  # 3006 and 3008: the other school
    hugo = next(p for p in students.people if p.ids["aaf"] == "3003")
    assert (hugo.classes, hugo.ids["ine"], str(hugo.birth_date)) == (
        ("6A",), "323456789AB", "2013-02-01")
    assert "legal representative 4009" in students.warnings[0]  # referenced, absent
    relatives = got["ENT_Complet_20250901_PersRelEleve_0000.xml"]
    parents = {p.ids["aaf"]: p for p in relatives.people}
    # 4006 is a contact (link 90, not legal), 4007 a "personne en charge" (legal 2)
    assert sorted(parents) == ["4001", "4002", "4003", "4004", "4005", "4008"]
    assert parents["4005"].children == (Ref(key="aaf:3003"), Ref(key="aaf:3004"))
    assert relatives.depends_on == [students.name]
    staff = {p.ids["aaf"]: p for p in got["ENT_Complet_20250901_PersEducNat_0000.xml"].people}
    assert {k: p.profile for k, p in staff.items()} == {
        "5001": Profile.teacher, "5002": Profile.teacher, "5003": Profile.teacher,
        "5004": Profile.head, "5005": Profile.staff, "5006": Profile.teacher,
        "5008": Profile.staff}
    assert staff["5001"].classes == ("6A", "5A") and staff["5001"].subjects == ("061300",)
    assert staff["5002"].classes == ("6B",) and staff["5002"].groups == ("LATIN",)
    services = got["ENT_Complet_20250901_PersEducNat_0000.xml"].services
    assert sorted((s.group, s.subject) for s in services) == [
        ("5A", "061300"), ("6A", "061300"), ("6B", "020700"), ("ESP2", "030602"),
        ("LATIN", "020100")]


def test_aaf_delta_moves_deletes_and_adds() -> None:
    got = batches_of(sorted((DATA / "aaf").glob("*Delta*")),
                     SchoolContext(1, "A", "0759990B", "7501"))
    delta = got["ENT_Delta_20250915_Eleve_0000.xml"]
    assert delta.profiles == frozenset()  # partial: no leavers from absence
    hugo, chloe, lucas, *parents = delta.people
    assert (hugo.classes, hugo.update_only, hugo.carries) == (
        ("6B",), True, frozenset({Attr.classes}))  # what the modification replaces
    assert chloe.deleted and chloe.ids == {"aaf": "3007"}
    assert lucas.name() == "Lucas Petit" and not lucas.update_only
    assert {p.ids["aaf"] for p in parents} == {"4004", "4005"}
    assert all(p.update_only and p.add_children for p in parents)


def test_a_truncated_aaf_file_is_refused_naming_its_line(tmp_path: Path) -> None:
    whole = (DATA / "aaf" / "ENT_Complet_20250901_Eleve_0000.xml").read_bytes()
    cut = tmp_path / "ENT_Complet_20250901_Eleve_0000.xml"
    cut.write_bytes(whole[:len(whole) // 2])
    got = batches_of([DATA / "aaf" / "ENT_Complet_20250901_EtabEducNat_0000.xml", cut])
    batch = got[cut.name]
    assert batch.people == [] and batch.error is not None
    assert "not well-formed XML" in batch.error and "line " in batch.error


def test_a_wrong_encoding_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ENT_Complet_20250901_PersRelEleve_0000.xml"
    path.write_bytes('<?xml version="1.0" encoding="UTF-8"?>\n<ficAlimMENESR>\n'
                     '<addRequest><identifier><id>1</id></identifier><attributes>'
                     '<attr name="sn"><value>Lefèvre</value></attr></attributes>'
                     "</addRequest></ficAlimMENESR>".encode("latin-1"))
    with pytest.raises(AafFileError, match="line 3"):
        list(records(Input(path.name, path)))


def test_entities_are_not_expanded_and_the_network_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_bytes(b'<?xml version="1.0"?>\n<!DOCTYPE ficAlimMENESR [\n'
                     b'<!ENTITY a "aaaaaaaaaa">\n<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">\n'
                     b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">\n'
                     b'<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>\n<ficAlimMENESR>'
                     b'<addRequest><identifier><id>1</id></identifier><attributes>'
                     b'<attr name="sn"><value>&c;&x;</value></attr></attributes>'
                     b"</addRequest></ficAlimMENESR>")
    (only,) = list(records(Input(path.name, path)))
    assert only.attrs["sn"] in ([], [""])  # references left unexpanded, nothing fetched


def test_a_school_the_aaf_set_does_not_name_gets_an_error() -> None:
    got = batches_of(AAF, SchoolContext(2, "Ailleurs", "0301674G", None))
    assert all("do not name school 0301674G" in (b.error or "") for b in got.values())


# --- SIECLE, ONDE, STS-web --------------------------------------------------------------


def test_siecle_latin1_students_and_their_legal_representatives_once_each() -> None:
    (batch,) = batches_of([DATA / "siecle_eleves_2025.csv"]).values()
    assert batch.encoding == "Windows-1252 (Latin-1)" and batch.rejected == []
    students = [p for p in batch.people if p.profile is Profile.student]
    parents = [p for p in batch.people if p.profile is Profile.parent]
    assert [s.name() for s in students] == ["Théo DURAND", "Manon DURAND", "Léa MARTIN",
                                            "Léa MARTIN", "Aïssatou N'DIAYE"]
    assert students[4].ids == {"ine": "555555555EE"} and students[4].classes == ("5B",)
    assert [p.name() for p in parents] == ["Michel DURAND", "Anne LEROY", "Paul MARTIN",
                                           "Julien MARTIN", "Fatou N'DIAYE"]
    assert [len(p.children) for p in parents] == [2, 2, 1, 1, 1]  # siblings share parents
    assert batch.profiles == frozenset({Profile.student, Profile.parent})


def test_siecle_bad_rows_are_rejected_with_their_line(tmp_path: Path) -> None:
    text = (DATA / "siecle_eleves_2025.csv").read_bytes().decode("latin-1")
    text += "ROUX;;01/01/2012;;5B;;;;;;\r\nMOREL;Jade;31/02/2012;;5B;;;;;;\r\n"
    text += "PETIT;Noa;01/01/2012;1,23457E+10;5B;;;;;;\r\n"
    path = tmp_path / "e.csv"
    path.write_bytes(text.encode("latin-1"))
    (batch,) = batches_of([path]).values()
    assert [(r.line, r.reason) for r in batch.rejected] == [
        (7, "a student without a last name or a first name"),
        (8, "birth date '31/02/2012' is not a date (dd/mm/yyyy)"),
        (9, "INE '1,23457E+10' is not a national student number (11 characters): a "
            "spreadsheet turned it into a number?")]


def test_onde_quoted_fields_leading_space_header_and_ragged_relatives() -> None:
    got = batches_of(sorted((DATA / "onde").glob("*.csv")))
    students = got["CSVExtraction-eleves.csv"]
    assert [(p.name(), p.classes, str(p.birth_date)) for p in students.people][:1] == [
        ("Mathilde BELMAHDI", ("CE1",), "2017-08-17")]
    teachers = {p.name(): p.profile for p in got["CSVExtraction-enseignants.csv"].people}
    assert teachers == {"Catherine BAILLY": Profile.head, "Simon BRIAUD": Profile.teacher,
                        "Bernard GROLLEAU": Profile.teacher}
    relatives = {p.name(): p.children for p in got["CSVExtraction-responsables.csv"].people}
    assert relatives["Odile CAILLET"] == (
        Ref(last_name="CAILLET", first_name="Eléa", group="CE1"),
        Ref(last_name="CAILLET", first_name="Tom", group="CP"))
    assert len(relatives["Norbert CAILLET"]) == 1 and len(relatives["Julie FONTAINE"]) == 2


def test_sts_teachers_subjects_and_services() -> None:
    (batch,) = batches_of([DATA / "sts_emp_0759990B_2025.xml"]).values()
    people = {p.key: p for p in batch.people}
    assert people["sts:8001"].ids == {"sts": "8001"}
    assert people["sts:12"].ids == {"sts": "0759990B:12"}  # a local id: the school's
    assert people["sts:12"].name() == "Paul REMPLAÇANT"  # ISO-8859-15, CRLF
    assert people["sts:8003"].groups == ("ESP2",) and people["sts:8002"].classes == ("6B",)
    assert {(i.code, i.bcn_code) for i in batch.subjects} >= {("MATHS", "061300")}
    assert sorted((s.group, s.subject, s.teachers) for s in batch.services) == [
        ("6A", "FRANC", ("sts:12",)), ("6A", "MATHS", ("sts:8001",)),
        ("6B", "FRANC", ("sts:8002",)), ("ESP2", "ESP2", ("sts:8003",))]
    assert "teacher 9999 of 6A is not among INDIVIDUS" in batch.warnings[0]


def test_sts_of_another_school_is_refused() -> None:
    (batch,) = batches_of([DATA / "sts_emp_0759990B_2025.xml"],
                          SchoolContext(2, "B", "0759991C", None)).values()
    assert batch.error is not None and "for school 0759990B, not 0759991C" in batch.error


# --- archives ---------------------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_a_zip_of_the_aaf_set_is_read_from_a_private_folder_then_removed(
        tmp_path: Path) -> None:
    archive = _zip(tmp_path / "aaf.zip", {f"ENT/{p.name}": p.read_bytes() for p in AAF})
    with gather([archive]) as inputs:
        folder = inputs.files[0].path.parent
        assert str(folder).startswith("/tmp") and not folder.is_relative_to(tmp_path)
        assert [Path(i.name).name for i in inputs.files] == [p.name for p in AAF]
        assert inputs.files[0].name.startswith(f"{archive}:ENT/")
    assert not folder.exists()


@pytest.mark.parametrize("member", ["../evil.csv", "/etc/evil.csv", "a/../../evil.csv",
                                    "C:\\evil.csv"])
def test_a_zip_member_escaping_the_folder_is_refused(member: str, tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", {member: b"login;nom\n"})
    with pytest.raises(BadInput, match="outside the import folder"):
        gather([archive])
    assert not (tmp_path.parent / "evil.csv").exists()


def test_a_zip_bomb_is_refused_before_it_fills_the_disk(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "bomb.zip", {"Eleve.xml": b"\0" * (MAX_RATIO << 16)})
    with pytest.raises(BadInput, match="zip bomb"):
        gather([archive])


def test_a_missing_file_and_a_bad_archive_are_named(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read .*nothing.csv"):
        gather([tmp_path / "nothing.csv"])
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(BadInput), gather([bad]) as inputs:
        hints(inputs.files)


def test_given_bytes_are_read_like_files() -> None:
    data = (DATA / "siecle_eleves_2025.csv").read_bytes()
    with gather([("upload.csv", data)]) as inputs:
        assert detect(inputs.files[0].path).format == "siecle"
        assert inputs.files[0].name == "upload.csv"


# --- logins -----------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "last", "login"), [
    ("Léa", "Martin", "lea.martin"),
    ("Jean-Luc", "D'Almeida Étienne", "jean-luc.d-almeida-etienne"),
    ("Aïssatou", "N'DIAYE", "aissatou.n-diaye"),
    ("Marie Claire", "Œuvray", "marie.oeuvray"),
    ("", "Ngô", "ngo"),
    ("李", "王", "utilisateur"),
])
def test_login_rule(first: str, last: str, login: str) -> None:
    assert base_login(first, last) == login


def test_homonyms_get_a_number_and_long_names_are_cut() -> None:
    taken = {"lea.martin", "lea.martin.2"}
    assert free_login("Léa", "Martin", taken.__contains__) == "lea.martin.3"
    long = free_login("Anne", "X" * 200, lambda login: login.endswith("x"))
    assert len(long) <= 100 and long.endswith(".2")
