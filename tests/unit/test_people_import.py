"""People import (``acl.read_people`` + ``acl.import_people``) on a real database.

The sample ``tests/data/people.csv`` is UTF-8 with ``;``; other encodings and
delimiters are made from it byte for byte, so every variant must give the same people.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

import acl
from davserver.db import Database
from davserver.errors import BadRequest
from providers import Store
from tests.unit.conftest import read, write

SAMPLE = (Path(__file__).resolve().parent.parent / "data" / "people.csv").read_text("utf-8")
HEADER = "login;nom;prenom;profil;classe;groupes;matieres;enfants;email\n"


def run(db: Database, text: str, *, encoding: str = "utf-8", strict: bool = False,
        school: str | None = None) -> acl.ImportReport:
    """Import ``text`` encoded as ``encoding`` in one committed transaction."""
    people = acl.read_people(text.encode(encoding))
    with db.transaction() as s:
        school_id, _ = acl.import_school(s, school)
        return acl.apply_people(s, people, school_id, strict=strict)


def user(db: Database, login: str) -> acl.User:
    with db.transaction(write=False) as s:
        found = s.scalar(select(acl.User).where(acl.User.login == login))
        assert found is not None, login
        return found


def groups_of(db: Database, login: str) -> dict[str, str]:
    """Group name → kind of a user's memberships."""
    with db.transaction(write=False) as s:
        rows = s.execute(select(acl.Group.name, acl.Group.kind).join(acl.Membership)
                         .join(acl.User, acl.User.id == acl.Membership.user_id)
                         .where(acl.User.login == login))
        return {name: kind.value for name, kind in rows}


def subjects_of(db: Database, login: str) -> set[str]:
    with db.transaction(write=False) as s:
        return set(s.scalars(select(acl.Subject.code).join(acl.TeacherSubject)
                             .join(acl.User, acl.User.id == acl.TeacherSubject.user_id)
                             .where(acl.User.login == login)))


def children(db: Database, login: str) -> set[str]:
    with db.transaction(write=False) as s:
        ids = acl.children_of(s, user(db, login).id)
        return set(acl.logins_of(s, set(ids)).values())


def user_count(db: Database) -> int:
    with db.transaction(write=False) as s:
        return s.scalar(select(func.count()).select_from(acl.User)) or 0


def hand_made(db: Database, login: str, profile: str = "teacher") -> None:
    with db.transaction() as s:
        acl.create_user(s, login, "by-hand-password", profile)


def comma_delimited(text: str) -> str:
    """The same table with ``,`` as delimiter (multi-valued cells quoted)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(csv.reader(io.StringIO(text), delimiter=";"))
    return out.getvalue()


# --- reading: encodings, delimiters, headers ------------------------------------------


@pytest.mark.parametrize(("encoding", "name"), [
    ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 with BOM"),
    ("latin-1", "Windows-1252 (Latin-1)"), ("cp1252", "Windows-1252 (Latin-1)"),
    ("utf-16", "UTF-16"),
])
@pytest.mark.parametrize("delimiter", [";", ","])
def test_every_encoding_and_delimiter_reads_the_same_rows(encoding: str, name: str,
                                                         delimiter: str) -> None:
    text = SAMPLE if delimiter == ";" else comma_delimited(SAMPLE)
    people = acl.read_people(text.encode(encoding))
    assert (people.encoding, people.delimiter) == (name, delimiter)
    assert people.rejected == [] and people.warnings == []
    rows = {r.login: r for r in people.rows}
    assert rows["francois.garcon"].display_name == "François Garçon"
    assert rows["francois.garcon"].groups == ("club théâtre", "UNSS")
    assert rows["c.lefevre"].display_name == "Claire Lefèvre"
    assert rows["c.lefevre"].profile is acl.Profile.head
    assert rows["m.dupont"].classes == ("4B", "3A")
    assert rows["s.girard"].children == ("lea.girard",)


def test_latin1_file_imports_accented_names(db: Database) -> None:
    report = run(db, SAMPLE, encoding="latin-1")
    assert len(report.created) == 6 and report.rejected == []
    assert user(db, "francois.garcon").display_name == "François Garçon"
    assert groups_of(db, "lea.girard") == {"3A": "class", "club théâtre": "group"}


def test_english_headers_and_profile_codes() -> None:
    text = ("Login,Last name,First-Name,Profile,Classes,Email,Date de naissance\n"
            "a.b,Bé,Al,teacher,,a.b@example.org,2001-01-01\n"
            "c.d,Cé,Di,Élève,5C,,\n")
    people = acl.read_people(text.encode())
    assert [(r.login, r.profile) for r in people.rows] == [
        ("a.b", acl.Profile.teacher), ("c.d", acl.Profile.student)]
    assert people.warnings == ["column 'Date de naissance' ignored (not a known column)"]


@pytest.mark.parametrize(("value", "profile"), [
    ("élève", "student"), ("ELEVE", "student"), ("enseignant", "teacher"),
    ("professeur", "teacher"), ("parent", "parent"), ("responsable", "parent"),
    ("personnel", "staff"), ("direction", "head"), ("admin", "admin"),
    ("administrateur", "admin"), ("inspecteur", "inspector"), ("staff", "staff"),
])
def test_profile_values(value: str, profile: str) -> None:
    people = acl.read_people(f"{HEADER}x.y;Y;X;{value};;;;;\n".encode())
    assert people.rows[0].profile.value == profile


def test_missing_columns_are_named() -> None:
    with pytest.raises(acl.MissingColumns) as caught:
        acl.read_people(b"login;nom;classe\nx;X;4B\n")
    assert "first_name" in caught.value.message and "profile" in caught.value.message
    assert "last_name" not in caught.value.message.split("(")[0]


def test_undecodable_byte_names_its_line() -> None:
    data = HEADER.encode() + b"x;X;Y;eleve;;;;;\nz;\x81;Y;eleve;;;;;\n"
    with pytest.raises(BadRequest, match=r"line 3: byte 0x81"):
        acl.read_people(data)


def test_header_only_is_refused() -> None:
    with pytest.raises(BadRequest, match="no rows"):
        acl.read_people(HEADER.encode())


# --- bad rows -------------------------------------------------------------------------


@pytest.mark.parametrize(("row", "reason"), [
    ("x.y;Y;X;wizard;;;;;", "unknown profile 'wizard'"),
    (";Y;X;eleve;;;;;", "empty login"),
    ("x y;Y;X;eleve;;;;;", "invalid login"),
    ("x.y;Y;X;eleve;;;;;not-an-address", "invalid email"),
    ("x.y;Y;X;eleve;4B|3A;;;;", "one class, not 2"),
    ("x.y;Y;X;eleve;4B;;MATHS;;", "subjects are listed for teachers"),
    ("x.y;Y;X;enseignant;;;;lea.girard;", "children are listed on parent rows"),
    ("x.y;Y;X;parent;;;;x.y;", "own child"),
    ("x.y;Y;X;parent;;;;;;extra", "10 cells but the header has 9"),
    ("x.y;Y;X;eleve;" + "C" * 101 + ";;;;", "longer than 100"),
])
def test_bad_row_is_rejected_with_line_and_reason(row: str, reason: str) -> None:
    people = acl.read_people((SAMPLE + row + "\n").encode())
    assert len(people.rejected) == 1
    assert people.rejected[0].line == 8 and reason in people.rejected[0].reason
    assert len(people.rows) == 6 and row.split(";")[0] in people.logins


def test_rows_the_database_refuses_are_rejected_good_rows_imported(db: Database) -> None:
    bad = ("x.y;Y;X;parent;;;;nobody;\n"
           "x.z;Z;X;parent;;;;c.lefevre;\n"
           "\n"
           "x.w;W;X;eleve;club théâtre;;;;\n"
           "x.v;V;X;enseignant;4B;4B;;;\n")
    report = run(db, SAMPLE + bad)
    assert [(r.line, r.login) for r in report.rejected] == [
        (8, "x.y"), (9, "x.z"), (11, "x.w"), (12, "x.v")]
    reasons = [r.reason for r in report.rejected]
    assert "child 'nobody' is not a student in the file or the database" in reasons[0]
    assert "child 'c.lefevre' is not a student" in reasons[1]
    assert "'club théâtre' is a group of the school, not a class" in reasons[2]
    assert "'4B' is listed both as a class and as a group" in reasons[3]
    assert len(report.created) == 6
    with db.transaction(write=False) as s:
        assert all(acl.find_user(s, login) is None for login in ("x.y", "x.z", "x.w", "x.v"))


def test_duplicate_logins_rejected_on_every_line_and_not_leavers(db: Database) -> None:
    run(db, SAMPLE)
    twice = SAMPLE + "lea.girard;Girard;Léa;élève;4B;;;;\n"
    report = run(db, twice)
    assert [(r.line, r.login) for r in report.rejected] == [(2, "lea.girard"),
                                                           (8, "lea.girard")]
    assert "appears on lines 2, 8" in report.rejected[0].reason
    assert report.disabled == []  # listed, even if on bad rows: not a leaver
    assert not user(db, "lea.girard").disabled
    assert groups_of(db, "lea.girard")["3A"] == "class"  # left as it was


def test_strict_writes_nothing_when_a_row_is_bad(db: Database) -> None:
    report = run(db, SAMPLE + "x.y;Y;X;wizard;;;;;\n", strict=True)
    assert not report.applied
    assert [r.line for r in report.rejected] == [8]
    assert user_count(db) == 0


def test_login_of_another_school_is_rejected(db: Database) -> None:
    run(db, SAMPLE, school="Collège Jean Moulin")
    report = run(db, HEADER + "lea.girard;Girard;Léa;élève;6A;;;;\n", school="Lycée Hugo")
    assert "belongs to another school (Collège Jean Moulin)" in report.rejected[0].reason
    assert groups_of(db, "lea.girard") == {"3A": "class", "club théâtre": "group"}


# --- creating, updating, idempotence ---------------------------------------------------


def test_first_import_creates_people_with_passwords_classes_subjects_parents(
        db: Database) -> None:
    report = run(db, SAMPLE)
    assert report.school == "Établissement"
    assert sorted(report.created) == sorted(["lea.girard", "francois.garcon", "m.dupont",
                                             "c.bernard", "s.girard", "c.lefevre"])
    accounts = {a.login: a for a in report.accounts}
    with db.transaction() as s:
        assert acl.verify_credentials(s, "m.dupont", accounts["m.dupont"].password)
    assert len({a.password for a in report.accounts}) == 6
    assert user(db, "m.dupont").email == "marc.dupont@example.org"
    assert groups_of(db, "m.dupont") == {"4B": "class", "3A": "class"}
    assert subjects_of(db, "c.bernard") == {"FRANC", "LATIN"}
    assert children(db, "s.girard") == {"lea.girard"}
    assert user(db, "c.lefevre").profile is acl.Profile.head


def test_second_import_changes_nothing(db: Database) -> None:
    run(db, SAMPLE)
    again = run(db, SAMPLE)
    assert (again.created, again.updated, again.disabled, again.rejected) == ([], [], [], [])
    assert len(again.unchanged) == 6 and again.accounts == []


def test_changes_are_updates_and_class_is_replaced(db: Database) -> None:
    run(db, SAMPLE)
    changed = (SAMPLE.replace("lea.girard;Girard;Léa;élève;3A;", "lea.girard;Girard-Roux;"
                              "Léa;élève;4B;")
                     .replace("MATHS;;marc.dupont@example.org", "MATHS|PHYS;;")
                     .replace("c.lefevre;Lefèvre;Claire;direction", "c.lefevre;Lefèvre;"
                              "Claire;personnel"))
    report = run(db, changed)
    assert sorted(report.updated) == ["c.lefevre", "lea.girard", "m.dupont"]
    assert user(db, "lea.girard").display_name == "Léa Girard-Roux"
    assert groups_of(db, "lea.girard") == {"4B": "class", "club théâtre": "group"}
    assert subjects_of(db, "m.dupont") == {"MATHS", "PHYS"}
    assert user(db, "m.dupont").email is None  # an empty cell clears
    assert user(db, "c.lefevre").profile is acl.Profile.staff


def test_groups_replaced_among_those_the_file_names(db: Database) -> None:
    run(db, SAMPLE)
    with db.transaction() as s:  # a club made by hand, absent from the file
        school = acl.ensure_school(s, "Établissement")
        acl.add_member(s, acl.ensure_group(s, school, "échecs", "group"),
                       user(db, "francois.garcon").id)
    run(db, SAMPLE.replace("4B;club théâtre|UNSS;", "4B;UNSS;"))
    assert groups_of(db, "francois.garcon") == {"4B": "class", "UNSS": "group",
                                                "échecs": "group"}


def test_absent_column_leaves_the_attribute_alone(db: Database) -> None:
    run(db, SAMPLE)
    report = run(db, "login;nom;prenom;profil\nm.dupont;Dupont;Marc;enseignant\n"
                 + "\n".join(f"{r[0]};{r[1]};{r[2]};{r[3]}" for r in csv.reader(
                     io.StringIO(SAMPLE), delimiter=";") if r[0] not in ("login", "m.dupont")))
    assert report.updated == [] and report.disabled == []
    assert subjects_of(db, "m.dupont") == {"MATHS"}
    assert user(db, "m.dupont").email == "marc.dupont@example.org"
    assert children(db, "s.girard") == {"lea.girard"}
    assert groups_of(db, "lea.girard") == {"3A": "class", "club théâtre": "group"}


def test_parent_linked_to_a_student_of_the_database(db: Database) -> None:
    run(db, SAMPLE)
    report = run(db, HEADER + "p.garcon;Garçon;Paul;parent;;;;francois.garcon|lea.girard;\n"
                 + SAMPLE.split("\n", 1)[1])
    assert report.created == ["p.garcon"] and report.rejected == []
    assert children(db, "p.garcon") == {"francois.garcon", "lea.girard"}
    run(db, HEADER + "p.garcon;Garçon;Paul;parent;;;;francois.garcon;\n"
        + SAMPLE.split("\n", 1)[1])
    assert children(db, "p.garcon") == {"francois.garcon"}


# --- leavers ----------------------------------------------------------------------------


def test_leaver_disabled_files_kept_and_enabled_when_back(db: Database, store: Store) -> None:
    run(db, SAMPLE)
    hand_made(db, "vie.scolaire", "staff")
    leaver = user(db, "francois.garcon")
    space = store.ensure_space("documents", owner_id=leaver.id, profile="student")
    write(store, space.id, "/exposé.odt", b"my work")
    without = "\n".join(line for line in SAMPLE.split("\n") if "francois" not in line)
    report = run(db, without.replace("club théâtre|UNSS", ""))
    assert report.disabled == ["francois.garcon"]
    assert user(db, "francois.garcon").disabled
    assert not user(db, "vie.scolaire").disabled  # made by hand: not the file's to judge
    assert read(store, space.id, "/exposé.odt") == b"my work"
    back = run(db, SAMPLE)
    assert back.updated == ["francois.garcon"] and back.created == []
    assert not user(db, "francois.garcon").disabled
    assert read(store, space.id, "/exposé.odt") == b"my work"


def test_user_disabled_by_hand_stays_disabled(db: Database) -> None:
    run(db, SAMPLE)
    with db.transaction() as s:
        acl.disable_user(s, "c.bernard")
    gone = run(db, "\n".join(line for line in SAMPLE.split("\n") if "c.bernard" not in line))
    assert gone.disabled == []
    report = run(db, SAMPLE)
    assert user(db, "c.bernard").disabled
    assert report.warnings == ["c.bernard was disabled by hand: left disabled"]


def test_hand_made_user_listed_by_a_file_is_adopted(db: Database) -> None:
    hand_made(db, "m.dupont")
    report = run(db, SAMPLE)
    assert "m.dupont" in report.updated and "m.dupont" not in report.created
    assert user(db, "m.dupont").display_name == "Marc Dupont"
    with db.transaction() as s:  # the password was not replaced
        assert acl.verify_credentials(s, "m.dupont", "by-hand-password")
    gone = run(db, "\n".join(line for line in SAMPLE.split("\n") if "m.dupont" not in line))
    assert gone.disabled == ["m.dupont"]


def test_a_file_of_one_profile_only_disables_leavers_of_that_profile(db: Database) -> None:
    """Schools export teachers (STS) and students (SIECLE) separately: importing the
    teachers' file alone must not disable every student."""
    run(db, SAMPLE)
    teachers = [line for line in SAMPLE.split("\n")[1:] if ";enseignant;" in line]
    assert len(teachers) >= 2, "the sample needs teachers"
    report = run(db, HEADER + "\n".join(teachers[1:]) + "\n")
    gone = teachers[0].split(";")[0]
    assert report.disabled == [gone]
    assert user(db, gone).disabled
    students = [line.split(";")[0] for line in SAMPLE.split("\n")[1:] if ";élève;" in line]
    assert students and not any(user(db, login).disabled for login in students)
