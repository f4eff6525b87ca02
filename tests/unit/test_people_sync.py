"""``acl.import_people`` on a real database (SQLite, and PostgreSQL when configured):
the fixtures of ``tests/data/people/`` imported, re-imported and changed — the counts
a correct import gives, people of two schools, moves, leavers, new siblings, Delta
files, teaching services, and what a bad file gets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

import acl
import web.textbook  # noqa: F401  (registers where teaching services go: acl.register_service_sink)
from davserver.db import Database

DATA = Path(__file__).resolve().parent.parent / "data" / "people"
AAF = sorted((DATA / "aaf").glob("*Complet*"))
DELTA = sorted((DATA / "aaf").glob("*Delta*"))
A, B = "0759990B", "0759991C"


def run(db: Database, files: list[Path | str | tuple[str, bytes]], school: str | None,
        **options: object) -> dict[str, object]:
    report = acl.import_people(db, files, school, acl.ImportOptions(**options))  # type: ignore[arg-type]
    return report.as_json()


def account(db: Database, **where: object) -> acl.User:
    with db.transaction(write=False) as s:
        found = list(s.scalars(select(acl.User).filter_by(**where)))
        assert len(found) == 1, (where, [u.login for u in found])
        return found[0]


def schools(db: Database, login: str) -> dict[str, tuple[str, bool]]:
    """UAI → (profile there, still there) of a user."""
    with db.transaction(write=False) as s:
        rows = s.execute(select(acl.School.uai, acl.UserSchool.profile, acl.UserSchool.left_at)
                         .join(acl.UserSchool, acl.UserSchool.school_id == acl.School.id)
                         .join(acl.User, acl.User.id == acl.UserSchool.user_id)
                         .where(acl.User.login == login))
        return {uai: (p.value, left is None) for uai, p, left in rows}


def members(db: Database, uai: str, group: str) -> set[str]:
    with db.transaction(write=False) as s:
        return set(s.scalars(select(acl.User.login).join(
            acl.Membership, acl.Membership.user_id == acl.User.id).join(
            acl.Group, acl.Group.id == acl.Membership.group_id).join(
            acl.School, acl.School.id == acl.Group.school_id).where(
            acl.School.uai == uai, acl.Group.name == group)))


def children(db: Database, login: str) -> set[str]:
    with db.transaction(write=False) as s:
        uid = s.scalar(select(acl.User.id).where(acl.User.login == login))
        return set(acl.logins_of(s, set(acl.children_of(s, uid or 0))).values())


def without(path: Path, pattern: str, tmp_path: Path) -> Path:
    """A copy of the AAF file ``path`` without the request whose id is ``pattern``."""
    text = path.read_bytes().decode("latin-1")
    kept = re.sub(r"<addRequest>(?:(?!</addRequest>).)*<id>" + pattern
                  + r"</id>.*?</addRequest>\r?\n", "", text, flags=re.S)
    assert kept != text
    out = tmp_path / path.name
    out.write_bytes(kept.encode("latin-1"))
    return out


# --- AAF ------------------------------------------------------------------------------


def test_aaf_two_schools_then_a_delta(db: Database, tmp_path: Path) -> None:
    first = run(db, AAF, A)
    assert first["school"] == {"name": "CLG-VICTOR HUGO", "uai": A}  # added from EtabEducNat
    assert first["created"] == {"head": 1, "parent": 6, "staff": 2, "student": 6,
                                "teacher": 4}
    assert first["updated"] == first["disabled"] == {}
    assert first["classes"] == {"5A": 3, "6A": 3, "6B": 3}  # students and their teachers
    assert first["groups"] == {"ESP2": 2, "LATIN": 2}
    assert first["parent_links"] == 8 and first["rejected"] == []
    assert first["services"] == {"services": 5, "created": 5, "teachers_added": 5}
    assert "legal representative 4009" in first["warnings"][0]

    # homonyms, the login rule, the ids kept
    lea = account(db, login="lea.martin")
    assert str(lea.birth_date) == "2013-03-12"
    assert str(account(db, login="lea.martin.2").birth_date) == "2012-11-05"
    with db.transaction(write=False) as s:
        ids = {kind: value for kind, value in s.execute(
            select(acl.ExternalId.kind, acl.ExternalId.value)
            .where(acl.ExternalId.user_id == lea.id))}
    assert ids == {"aaf": "3001", "ine": "123456789AB"}
    assert children(db, "julie.petit") == {"hugo.petit", "emma.petit"}
    assert members(db, A, "LATIN") == {"lea.martin.2", "cecile.bernard"}
    assert account(db, login="claire.lefevre").profile is acl.Profile.head

    # the other school of the set: shared people keep one account
    other = run(db, AAF, B)
    assert other["school"]["name"] == "CLG-JULES FERRY-CŒUR DE VILLE"  # ISO-8859-15
    assert other["created"] == {"parent": 1, "student": 2, "teacher": 1}
    assert other["updated"] == {"parent": 1, "teacher": 1}  # joined this school too
    assert other["classes"] == {"4A": 4} and other["parent_links"] == 2
    assert schools(db, "cecile.bernard") == {A: ("teacher", True), B: ("teacher", True)}
    assert children(db, "julie.petit") == {"hugo.petit", "emma.petit", "ines.bernard"}

    # the same set again changes nothing
    again = run(db, AAF, A)
    assert (again["created"], again["updated"], again["disabled"]) == ({}, {}, {})
    assert again["services"]["created"] == 0

    # Cécile leaves school A: still in B, so still enabled; her A classes are gone
    gone = run(db, [*AAF[:3], without(AAF[3], "5002", tmp_path), AAF[4]], A)
    assert gone["left"] == {"teacher": 1} and gone["disabled"] == {}
    assert schools(db, "cecile.bernard") == {A: ("teacher", False), B: ("teacher", True)}
    assert not account(db, login="cecile.bernard").disabled
    assert "cecile.bernard" not in members(db, A, "LATIN")
    assert "cecile.bernard" in members(db, B, "4A")

    # a Delta: Hugo moves, Chloé leaves, Lucas (a new sibling) arrives, an e-mail changes
    delta = run(db, DELTA, A)
    assert delta["created"] == {"student": 1}
    assert delta["moved"] == {"student": 1}
    assert delta["updated"] == {"parent": 3, "student": 1}
    assert delta["disabled"] == {"student": 1}
    assert "hugo.petit" in members(db, A, "6B") and "hugo.petit" not in members(db, A, "6A")
    assert "chloe.lefevre" not in members(db, A, "6B")
    assert account(db, login="chloe.lefevre").disabled
    assert children(db, "marc.petit") == {"hugo.petit", "emma.petit", "lucas.petit"}
    assert account(db, login="paul.martin").email == "paul.martin@example.net"


def test_a_manual_change_to_what_the_source_does_not_carry_stays(db: Database) -> None:
    run(db, AAF, A)
    with db.transaction() as s:
        s.scalar(select(acl.User).where(acl.User.login == "hugo.petit")).email = "h@x.fr"
        s.scalar(select(acl.User).where(acl.User.login == "marc.petit")).email = "m@x.fr"
    again = run(db, AAF, A)
    assert account(db, login="hugo.petit").email == "h@x.fr"  # Eleve records carry no mail
    assert account(db, login="marc.petit").email == "marc.petit@example.org"  # they do
    assert again["updated"] == {"parent": 1}


def test_a_refused_students_file_keeps_everyone(db: Database, tmp_path: Path) -> None:
    """A students' file with a bad record is refused whole: nobody of it, and nobody
    of the relatives' file that depends on it, is a leaver."""
    run(db, AAF, A)
    eleve = AAF[0]
    broken = tmp_path / eleve.name
    broken.write_bytes(eleve.read_bytes()
                       .replace(b'<attr name="sn"><value>Roux</value></attr>',
                                b'<attr name="sn"><value/></attr>')
                       .replace(b"<value>ROUX</value>", b"<value/>"))
    report = run(db, [broken, *AAF[1:]], B)
    files = {Path(f["name"]).name: f for f in report["files"]}
    assert not files[eleve.name]["applied"] and files[eleve.name]["rejected"] == 1
    assert "depends on" in files["ENT_Complet_20250901_PersRelEleve_0000.xml"]["refused"]
    assert report["rejected"][0]["reason"] == "a student without a name (sn)"
    assert report["rejected"][0]["element"] == "addRequest Eleve 3008"
    assert report["rejected_by_profile"] == {"student": 1}
    assert report["created"] == {"teacher": 1} and report["disabled"] == {}


# --- SIECLE ---------------------------------------------------------------------------


def test_siecle_then_a_new_year_move_leaver_and_new_sibling(db: Database) -> None:
    with db.transaction() as s:
        acl.add_school(s, "Collège Pasteur", uai="0699990J", zone="A")
    first = run(db, [DATA / "siecle_eleves_2025.csv"], "0699990J")
    assert first["created"] == {"parent": 5, "student": 5}
    assert first["parent_links"] == 7 and first["classes"] == {"5B": 3, "6C": 2}
    assert {account(db, login=x).display_name for x in ("lea.martin", "lea.martin.2")} == {
        "Léa MARTIN"}
    assert account(db, login="aissatou.n-diaye").first_name == "Aïssatou"
    assert children(db, "michel.durand") == {"theo.durand", "manon.durand"}

    second = run(db, [DATA / "siecle_eleves_2025_v2.csv"], "Collège Pasteur")
    assert second["created"] == {"student": 1}
    assert second["moved"] == {"student": 1}
    assert second["disabled"] == {"parent": 1, "student": 1}  # Léa and her only parent
    assert second["updated"] == {"parent": 2, "student": 1}  # the Durands' new child
    assert children(db, "anne.leroy") == {"theo.durand", "manon.durand", "lucie.durand"}
    assert members(db, "0699990J", "6C") == {"theo.durand", "manon.durand", "lucie.durand"}
    assert account(db, login="lea.martin").disabled  # the 2013 Léa left
    third = run(db, [DATA / "siecle_eleves_2025_v2.csv"], "0699990J")
    assert (third["created"], third["updated"], third["disabled"]) == ({}, {}, {})


def test_a_file_with_a_bad_record_is_refused_unless_partial(db: Database) -> None:
    text = (DATA / "siecle_eleves_2025.csv").read_bytes()
    twice = text + "DUPUIS;Jade;01/01/2012;111111111AA;5B;;;;;;\r\n".encode("latin-1")
    refused = run(db, [("eleves.csv", twice)], None)
    assert refused["created"] == {} and not refused["files"][0]["applied"]
    assert [(r["line"], r["reason"]) for r in refused["rejected"]] == [
        (2, "ine id 111111111AA appears on several records (eleves.csv:2, eleves.csv:7)"),
        (7, "ine id 111111111AA appears on several records (eleves.csv:2, eleves.csv:7)")]
    assert refused["rejected_by_profile"] == {"student": 2}
    partial = run(db, [("eleves.csv", twice)], None, partial=True)
    assert partial["created"] == {"parent": 5, "student": 4}  # Théo's parents: Manon's
    dry = run(db, [DATA / "siecle_eleves_2025.csv"], None, dry_run=True)
    assert dry["dry_run"] and dry["created"] == {"student": 1}
    assert dry["updated"] == {"parent": 2}  # what would happen; nothing did:
    assert run(db, [DATA / "siecle_eleves_2025.csv"], None)["created"] == {"student": 1}


def test_an_initial_password_s_light_hash_is_upgraded_at_first_sign_in(db: Database) -> None:
    report = acl.import_people(db, [DATA / "siecle_eleves_2025.csv"], None)
    first = next(a for a in report.accounts if a.login == "theo.durand")
    assert "m=2048,t=1,p=1" in account(db, login="theo.durand").password_hash
    with db.transaction() as s:
        assert acl.verify_credentials(s, "theo.durand", first.password) is not None
    upgraded = account(db, login="theo.durand").password_hash
    assert "m=2048,t=1,p=1" not in upgraded and "m=19456,t=2,p=1" in upgraded  # OWASP's


def test_a_login_once_given_stays_when_the_name_changes(db: Database) -> None:
    run(db, [DATA / "siecle_eleves_2025.csv"], None)
    renamed = (DATA / "siecle_eleves_2025.csv").read_bytes().replace(
        b"DURAND;Th\xe9o", b"DURAND-ROY;Th\xe9o")
    report = run(db, [("eleves.csv", renamed)], None)
    assert report["updated"] == {"student": 1}
    assert account(db, login="theo.durand").display_name == "Théo DURAND-ROY"


# --- ONDE and STS-web -----------------------------------------------------------------


def test_the_only_school_without_a_uai_takes_the_one_the_files_give(db: Database) -> None:
    """A school that imported our CSV before it had a UAI, then gets STS-web's export:
    the same school, its teachers found again, not a second school."""
    with db.transaction() as s:
        acl.apply_people(s, acl.read_people(
            b"login;nom;prenom;profil;classe\nm.dupont;DUPONT;Marc;enseignant;6A\n"),
            acl.ensure_school(s, "Établissement"))
    report = run(db, [DATA / "sts_emp_0759990B_2025.xml"], None)
    assert report["school"] == {"name": "Établissement", "uai": A}
    assert report["created"] == {"teacher": 4} and report["updated"] == {"teacher": 1}
    assert str(account(db, login="m.dupont").birth_date) == "1980-12-12"
    with db.transaction(write=False) as s:
        assert [i.uai for i in acl.list_schools(s)] == [A]


def test_onde_three_files(db: Database) -> None:
    report = run(db, sorted((DATA / "onde").glob("*.csv")), None)
    assert report["created"] == {"head": 1, "parent": 4, "student": 4, "teacher": 2}
    assert report["classes"] == {"CE1": 3, "CM1-CM2": 2, "CP": 2}
    assert report["parent_links"] == 5
    assert children(db, "odile.caillet") == {"elea.caillet", "tom.caillet"}
    assert any("child 'Personne INCONNU' (CP) of Julie FONTAINE is not a student" in w
               for w in report["warnings"])
    again = run(db, sorted((DATA / "onde").glob("*.csv")), None)
    assert (again["created"], again["updated"]) == ({}, {})  # found again without ids


def test_sts_after_aaf_finds_the_same_teachers_and_names_the_subjects(db: Database) -> None:
    run(db, AAF, A)
    report = run(db, [DATA / "sts_emp_0759990B_2025.xml"], None)  # the school from UAJ
    assert report["created"] == {"teacher": 1}  # the local replacement teacher
    assert report["updated"] == {"teacher": 4}  # found by names and birth date
    assert report["disabled"] == {}
    with db.transaction(write=False) as s:
        codes = {bcn: code for bcn, code in s.execute(select(acl.Subject.bcn_code,
                                                             acl.Subject.code))}
    assert codes["061300"] == "MATHS" and codes["020700"] == "FRANC"
    assert report["services"] == {"services": 4, "created": 1, "teachers_added": 1}


def test_services_without_the_textbook_are_reported(db: Database,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("acl.people_results.service_sinks", [])
    report = run(db, AAF, A)
    assert "5 teaching service(s) read but not stored" in report["warnings"][-1]
