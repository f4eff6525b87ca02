"""What the drop folder and the imports page decide without a server: which kind each
file is (by content, never by name), which names the drop folder leaves alone, and the
plain-text report written beside a dropped file."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from web.imports.drop import report_text, skipped, where_of
from web.imports.runs import classify, summary, totals

# Pure functions: nothing differs between databases
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database
DATA = Path(__file__).resolve().parent.parent / "data"


def _zip(*paths: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for p in paths:
            z.write(p, p.name)
    return out.getvalue()


@pytest.mark.parametrize(("path", "kind"), [
    ("timetable/EXP_COURS.xml", "timetable"),
    ("timetable/EXP_COURS_truncated.xml", "timetable"),  # its reader names the line
    ("timetable/udt.csv", "timetable"),
    ("timetable/pronote_teacher.ics", "timetable"),
    ("timetable.csv", "timetable"),
    ("timetable/fr-en-calendrier-scolaire.json", "holidays"),
    ("timetable/Zone-C.ics", "holidays"),
    ("people/siecle_eleves_2025.csv", "people"),
    ("people/siecle_eleves_2025_v2.csv", "people"),
    ("people/sts_emp_0759990B_2025.xml", "people"),
    ("people/aaf/ENT_Complet_20250901_Eleve_0000.xml", "people"),
    ("people/onde/CSVExtraction-eleves.csv", "people"),
    ("people.csv", "people"),
])
def test_each_sample_is_told_by_its_content(path: str, kind: str) -> None:
    data = (DATA / path).read_bytes()
    assert classify(path, data).kind == kind
    assert classify("sans-nom.bin", data).kind == kind  # the name plays no part


def test_an_aaf_delivery_as_a_zip_is_people() -> None:
    aaf = sorted((DATA / "people" / "aaf").glob("ENT_Complet_*.xml"))
    assert classify("livraison.zip", _zip(*aaf)).kind == "people"


@pytest.mark.parametrize(("data", "said"), [
    (b"", "empty"),
    (b"%PDF-1.4\n%\xe2\xe3\n", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "Excel"),
])
def test_what_no_import_reads_is_unknown_with_why(data: bytes, said: str) -> None:
    found = classify("x", data)
    assert found.kind == "unknown" and said in found.why


@pytest.mark.parametrize("name", [
    "eleves.csv.report.txt", "eleves.csv.report.json", "eleves.csv.import-3.passwords.csv",
    ".~lock.eleves.csv#", "~$eleves.csv", "eleves.csv~", "eleves.csv.part",
    "EXP_COURS.xml.tmp", ".DS_Store", "Thumbs.db", "desktop.ini",
])
def test_the_drop_folder_skips(name: str) -> None:
    assert skipped(name)


@pytest.mark.parametrize("name", ["eleves.csv", "EXP_COURS.xml", "ENT_Complet.zip",
                                  "report.csv", "passwords.xml"])
def test_the_drop_folder_takes(name: str) -> None:
    assert not skipped(name)


def test_the_text_report_names_counts_rejections_and_unreadable_files() -> None:
    people = {"applied": True, "created": {"parent": 1, "student": 2}, "updated": {},
              "moved": {"student": 1}, "disabled": {}, "files": [],
              "rejected": [{"file": "eleves.csv", "line": 7, "who": "DURAND Théo",
                            "reason": "duplicate INE"}], "warnings": ["a warning"]}
    parts = [
        {"kind": "people", "files": ["eleves.csv"], "report": people, "error": None,
         "applied": True, "figures": {"created": 3, "moved": 1, "rejected": 1}},
        {"kind": "unknown", "files": ["scan.pdf"], "report": None, "applied": False,
         "error": "scan.pdf: this is a PDF document", "figures": {}},
    ]
    report = {"parts": parts, "totals": totals(parts), "failed": 1, "dry_run": False}
    assert summary(report) == ("3 créés, 1 changé de classe, 1 rejeté, "
                               "1 fichier(s) illisible(s)")
    text = report_text(report)
    assert "created: parent 1, student 2" in text
    assert "rejeté : eleves.csv, ligne 7 : DURAND Théo : duplicate INE" in text
    assert "attention : a warning" in text
    assert "Illisible, rien n'a été importé : scan.pdf: this is a PDF document" in text
    assert where_of({"file": "EXP_COURS.xml", "element": "Cours 12"}) == \
        "EXP_COURS.xml (Cours 12)"


@pytest.mark.parametrize(("sent", "shown"), [
    ("C:\\fakepath\\élèves.csv", "élèves.csv"), ("../../etc/x\n.csv", "x.csv"),
    (None, "fichier"), ("dossier/", "fichier"), ("a" * 300, "a" * 200),
])
def test_the_name_a_browser_gives_is_cleaned(sent: str | None, shown: str) -> None:
    from web.imports.pages import _client_name

    assert _client_name(sent) == shown
