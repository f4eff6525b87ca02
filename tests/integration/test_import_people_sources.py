"""``davserver import people`` on the national formats, as a real command against a
real data directory (SQLite, or PostgreSQL with ``DAVSERVER_DATABASE_URL``): an AAF
delivery as a zip with ``--json``, then its Delta; and what bad input gets — a
file of another kind, a truncated file, an unexpected encoding, an archive that tries
to escape — each named, with its exit status, and never a traceback."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Server, drop_database, make_server

DATA = Path(__file__).resolve().parent.parent / "data" / "people"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server, dbname = make_server(tmp_path_factory.mktemp("sources"))
    try:
        yield server
    finally:
        drop_database(dbname)


def run(srv: Server, *args: str, status: int = 0) -> tuple[str, str]:
    done = srv.cli("import", "people", *args, check=False)
    assert done.returncode == status, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stdout, done.stderr


def test_an_aaf_zip_with_json_then_its_delta(srv: Server, tmp_path: Path) -> None:
    archive = tmp_path / "ENT_Complet_20250901.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted((DATA / "aaf").glob("*Complet*")):
            z.write(path, f"ENT/{path.name}")
    out, _ = run(srv, str(archive), "--school", "0759990B", "--json")
    report = json.loads(out)
    assert report["created"] == {"head": 1, "parent": 6, "staff": 2, "student": 6,
                                 "teacher": 4}
    assert report["classes"] == {"5A": 3, "6A": 3, "6B": 3}
    assert report["groups"] == {"ESP2": 2, "LATIN": 2}
    assert report["parent_links"] == 8 and report["rejected"] == []
    assert report["updated"] == report["disabled"] == {}
    accounts = {a["login"]: a for a in report["accounts"]}
    assert len(accounts) == 19 and accounts["lea.martin.2"]["profile"] == "student"
    assert len(accounts["julie.petit"]["password"]) == 12
    assert all(f["applied"] for f in report["files"])

    delta = sorted((DATA / "aaf").glob("*Delta*"))
    out, err = run(srv, *map(str, delta))  # the school: the only one
    assert "school 'CLG-VICTOR HUGO': created 1, updated 4, disabled 1, unchanged 0, " \
        "rejected 0, moved 1, parent links 10" in out
    assert "disabled (absent from the file, files kept): chloe.lefevre" in out
    assert "lucas.petit" in out  # the new account and its password


def test_a_file_of_another_kind_says_what_to_use(srv: Server, tmp_path: Path) -> None:
    edt = tmp_path / "export.xml"
    edt.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<TABLE nom="Cours">'
                   "<Cours numero=\"1\"><MAT_CODE>MATHS</MAT_CODE></Cours></TABLE>\n")
    _, err = run(srv, str(edt), status=2)
    assert f"{edt}: this looks like an EDT timetable export (EXP_COURS.xml): use " \
        "`davserver import timetable`" in err


def test_a_truncated_xml_file_is_refused_naming_its_line(srv: Server, tmp_path: Path) -> None:
    whole = (DATA / "aaf" / "ENT_Complet_20250901_PersEducNat_0000.xml").read_bytes()
    cut = tmp_path / "ENT_Complet_20250901_PersEducNat_0000.xml"
    cut.write_bytes(whole[:len(whole) * 2 // 3])
    out, err = run(srv, str(DATA / "aaf" / "ENT_Complet_20250901_EtabEducNat_0000.xml"),
                   str(cut), "--school", "0759990B", status=2)
    assert "not well-formed XML" in err and "the file is cut short or damaged" in err
    assert "disabled 0" in out  # nobody of the truncated file is a leaver


def test_a_csv_in_an_unexpected_encoding_is_named(srv: Server, tmp_path: Path) -> None:
    text = (DATA / "siecle_eleves_2025.csv").read_bytes().decode("latin-1")
    utf16 = tmp_path / "eleves.csv"
    utf16.write_bytes(text.encode("utf-16-le"))  # no byte order mark
    _, err = run(srv, str(utf16), status=2)
    assert "UTF-16 without its byte order mark: save it as UTF-8" in err
    mac = tmp_path / "eleves-mac.csv"
    mac.write_bytes(text.encode("latin-1").replace(b"\xe9", b"\x81"))
    _, err = run(srv, str(mac), "--school", "0759990B", status=2)
    assert "byte 0x81 is neither UTF-8 nor Windows-1252/Latin-1" in err


def test_an_archive_escaping_its_folder_and_an_unknown_school(srv: Server,
                                                             tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../evil.csv", "login;nom;prenom;profil\n")
    _, err = run(srv, str(archive), status=2)
    assert "would be written outside the import folder: refused" in err
    _, err = run(srv, str(DATA / "siecle_eleves_2025.csv"), "--school", "0750653C",
                 status=1)
    assert "no school with UAI 0750653C: add it first with `davserver school add" in err
