"""The drop folder (issue 24, "A drop folder, because we are a WebDAV server"): a
school's administrators put export files in ``/dav/imports/<UAI>/`` with a real
WebDAV client (curl), the server imports them in the background with the commands'
code, writes ``<file>.report.txt`` and ``.report.json`` beside them, the initial
passwords of new accounts in ``<file>.passwords.csv``, notifies the school's
administrators and records the import in the security journal. Nobody else sees the
folder; a file that cannot be read gets a report saying why and changes nothing.

One server for the module, two schools (``0759990B`` with ``adm`` as administrator,
``0750653C`` with ``adm2``), ``imports.drop_delay`` at 0.3 s.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

import acl
from davserver import journal
from tests.conftest import IN_TERM, PASSWORD, Server, running_server, wait_until
from web.imports import ImportRun
from web.notifications.models import Notification

pytestmark = pytest.mark.clock(IN_TERM)

DATA = Path(__file__).resolve().parent.parent / "data"
UAI, OTHER = "0759990B", "0750653C"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("drop"),
                        extra_env={"DAVSERVER_IMPORTS__DROP_DELAY": "0.3"},
                        users={"adm": "admin", "adm2": "admin", "prof": "teacher"}) as server:
        server.cli("school", "add", "Collège Jules Ferry", "--uai", UAI, "--zone", "C")
        server.cli("school", "add", "Collège Voisin", "--uai", OTHER, "--zone", "C")
        with server.transaction() as s:
            ids = {u.login: u.id for u in s.scalars(select(acl.User))}
            a = acl.find_school(s, UAI)
            acl.join_school(s, ids["adm"], a, acl.Profile.admin)
            acl.join_school(s, ids["prof"], a, acl.Profile.teacher)
            acl.join_school(s, ids["adm2"], acl.find_school(s, OTHER), acl.Profile.admin)
        yield server


def curl(srv: Server, login: str, *args: str) -> tuple[int, str]:
    """(status, body) of a curl request as ``login`` (a real client, not requests)."""
    done = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-u",
                           f"{login}:{PASSWORD}", *args], capture_output=True, text=True,
                          timeout=60, check=True)
    body, _, code = done.stdout.rpartition("\n")
    return int(code), body


def put(srv: Server, login: str, name: str, data: bytes, tmp: Path) -> int:
    source = tmp / "upload.bin"
    source.write_bytes(data)
    code, _ = curl(srv, login, "-T", str(source), f"{srv.dav_url}/imports/{UAI}/{name}")
    return code


def report(srv: Server, name: str, suffix: str = ".report.json", timeout: float = 30.0,
           ) -> str:
    """The report the server writes beside ``name`` (waits for it)."""
    url = f"{srv.dav_url}/imports/{UAI}/{name}{suffix}"
    found: dict[str, str] = {}

    def ready() -> bool:
        answer = requests.get(url, auth=("adm", PASSWORD), timeout=10)
        if answer.status_code == 200:
            found["text"] = answer.content.decode("utf-8-sig")
        return "text" in found

    assert wait_until(ready, timeout), f"no {name}{suffix} after {timeout} s"
    return found["text"]


def propfind(login: str, url: str) -> tuple[int, str]:
    answer = requests.request("PROPFIND", url, auth=(login, PASSWORD),
                              headers={"Depth": "1"}, timeout=30)
    return answer.status_code, answer.text


def test_only_the_school_administrators_see_its_folder(srv: Server, tmp_path: Path) -> None:
    code, listing = propfind("adm", srv.dav_url + "/")
    assert code == 207 and "/dav/imports/" in listing
    code, listing = propfind("prof", srv.dav_url + "/")
    assert code == 207 and "/dav/imports/" not in listing
    assert propfind("prof", srv.dav_url + "/imports/")[0] == 404
    assert propfind("prof", f"{srv.dav_url}/imports/{UAI}/")[0] == 404
    assert put(srv, "prof", "eleves.csv", b"x;y\n", tmp_path) in (403, 404, 409)
    code, listing = propfind("adm", srv.dav_url + "/imports/")
    assert code == 207 and f"/dav/imports/{UAI}/" in listing and OTHER not in listing
    assert propfind("adm", f"{srv.dav_url}/imports/{OTHER}/")[0] == 404
    assert propfind("adm2", f"{srv.dav_url}/imports/{UAI}/")[0] == 404
    assert propfind("adm2", f"{srv.dav_url}/imports/{OTHER}/")[0] == 207


def test_a_dropped_siecle_export_is_imported_and_reported(srv: Server, tmp_path: Path) -> None:
    data = (DATA / "people" / "siecle_eleves_2025.csv").read_bytes()
    assert put(srv, "adm", "eleves.csv", data, tmp_path) == 201
    found = json.loads(report(srv, "eleves.csv"))
    (part,) = found["parts"]
    assert part["kind"] == "people" and part["applied"] and part["error"] is None
    assert part["report"]["created"] == {"parent": 5, "student": 5}
    assert part["report"]["parent_links"] == 7
    assert found["totals"]["created"] == 10 and found["failed"] == 0
    text = report(srv, "eleves.csv", ".report.txt")
    assert "10 créés" in text and "created: parent 5, student 5" in text
    path = found["passwords"]
    assert path.startswith(f"/dav/imports/{UAI}/eleves.csv.import-")
    passwords = requests.get(srv.base_url + path, auth=("adm", PASSWORD), timeout=10)
    assert passwords.status_code == 200
    assert passwords.content.decode("utf-8-sig").count("\r\n") == 11  # header, 10 accounts
    assert requests.get(srv.base_url + path, auth=("prof", PASSWORD),
                        timeout=10).status_code == 404
    with srv.transaction() as s:
        school = acl.find_school(s, UAI)
        students = s.scalar(select(func.count()).select_from(acl.UserSchool).where(
            acl.UserSchool.school_id == school,
            acl.UserSchool.profile == acl.Profile.student))
        adm = s.scalar(select(acl.User.id).where(acl.User.login == "adm"))
        notes = [n.subject for n in s.scalars(select(Notification).where(
            Notification.user_id == adm))]
        runs = list(s.scalars(select(ImportRun).where(ImportRun.school_id == school)))
        events = list(s.scalars(select(journal.SecurityEvent).where(
            journal.SecurityEvent.kind == "import")))
    assert students == 5
    assert any("eleves.csv" in n and "10 créés" in n for n in notes), notes
    assert [(r.source, r.state) for r in runs] == [("dav", "done")]
    assert any(e.via == "dav" and e.actor_login == "adm" and e.school_id == school
               for e in events), [(e.via, e.actor_login) for e in events]

    # Next year's extraction, dropped over the first: a move, a leaver, a new sibling.
    data = (DATA / "people" / "siecle_eleves_2025_v2.csv").read_bytes()
    assert put(srv, "adm", "eleves.csv", data, tmp_path) == 204

    def second() -> bool:
        return json.loads(report(srv, "eleves.csv"))["parts"][0]["report"]["moved"] != {}

    assert wait_until(second, 30)
    part = json.loads(report(srv, "eleves.csv"))["parts"][0]["report"]
    assert part["moved"] == {"student": 1}
    assert part["created"] == {"student": 1}
    assert part["disabled"].get("student") == 1
    # Nothing the server wrote was taken for an export.
    code, listing = propfind("adm", f"{srv.dav_url}/imports/{UAI}/")
    assert ".report.json.report" not in listing and ".passwords.csv.report" not in listing


def test_an_unreadable_file_gets_a_report_and_changes_nothing(srv: Server,
                                                                tmp_path: Path) -> None:
    with srv.transaction() as s:
        before = s.scalar(select(func.count()).select_from(acl.User))
    data = (DATA / "timetable" / "EXP_COURS_truncated.xml").read_bytes()
    assert put(srv, "adm", "EXP_COURS.xml", data, tmp_path) == 201
    found = json.loads(report(srv, "EXP_COURS.xml"))
    (part,) = found["parts"]
    assert part["kind"] == "timetable" and not part["applied"]
    assert "not well-formed XML" in part["error"] and "line" in part["error"]
    assert found["failed"] == 1
    text = report(srv, "EXP_COURS.xml", ".report.txt")
    assert "Illisible, rien n'a été importé" in text
    assert put(srv, "adm", "scan.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n", tmp_path) == 201
    found = json.loads(report(srv, "scan.pdf"))
    assert found["parts"][0]["error"] and "PDF" in found["parts"][0]["error"]
    with srv.transaction() as s:
        assert s.scalar(select(func.count()).select_from(acl.User)) == before
        school = acl.find_school(s, UAI)
        states = [r.state for r in s.scalars(select(ImportRun).where(
            ImportRun.school_id == school, ImportRun.files.is_not(None)))]
    assert states.count("failed") == 2


def test_hidden_and_temporary_files_are_left_alone(srv: Server, tmp_path: Path) -> None:
    data = (DATA / "people" / "siecle_eleves_2025.csv").read_bytes()
    for name in (".~lock.eleves.csv#", "~$eleves.csv", "eleves.csv.part"):
        assert put(srv, "adm", name, data, tmp_path) == 201
    # A file dropped after them is imported: by then theirs would have been too.
    assert put(srv, "adm", "vide.csv", b"", tmp_path) == 201
    assert put(srv, "adm", "cours.pdf", b"%PDF-1.4\n", tmp_path) == 201
    report(srv, "cours.pdf")
    code, listing = propfind("adm", f"{srv.dav_url}/imports/{UAI}/")
    for name in (".~lock.eleves.csv#", "~$eleves.csv", "eleves.csv.part", "vide.csv"):
        assert f"{name}.report.json" not in listing


def test_a_file_renamed_into_place_is_imported(srv: Server, tmp_path: Path) -> None:
    """Clients that upload to a temporary name and then rename (MOVE): the temporary
    file is left alone, the renamed one imported (here the ministry's calendar)."""
    data = (DATA / "timetable" / "fr-en-calendrier-scolaire.json").read_bytes()
    assert put(srv, "adm", "calendrier.json.part", data, tmp_path) == 201
    folder = f"{srv.dav_url}/imports/{UAI}"
    code, _ = curl(srv, "adm", "-X", "MOVE", "-H", f"Destination: {folder}/calendrier.json",
                   f"{folder}/calendrier.json.part")
    assert code == 201
    found = json.loads(report(srv, "calendrier.json"))
    (part,) = found["parts"]
    assert part["kind"] == "holidays" and part["applied"], part
    assert part["report"]["year"] == "2026-2027" and part["report"]["zone"] == "C"
    assert found["totals"]["holidays"] == len(part["report"]["holidays"]) > 0
    code, listing = propfind("adm", folder + "/")
    assert "calendrier.json.part.report" not in listing


def test_files_put_while_no_server_ran_are_imported_at_start(srv: Server) -> None:
    """A file that reached the folder while the server was stopped (written here
    through the store, as a restored backup or a server stopped within the quiet delay
    leaves it) is imported when the server starts again."""
    from providers import drop_folder

    srv.stop()
    data = (DATA / "people" / "siecle_eleves_2025.csv").read_bytes()
    with srv.app() as app:
        with app.db.transaction(write=False) as s:
            school = acl.find_school(s, UAI)
        space = drop_folder.drop_space(app.store, school)
        drop_folder.write_beside(app.store, space.id, "/pendant-l-arret.csv", data)
    srv.start()
    found = json.loads(report(srv, "pendant-l-arret.csv"))
    assert found["parts"][0]["kind"] == "people" and found["parts"][0]["applied"]
    # The files imported before the stop, whose reports are newer, were not imported again.
    with srv.transaction() as s:
        runs = [r.files for r in s.scalars(select(ImportRun).order_by(ImportRun.id))]
    assert runs[-1] == ["pendant-l-arret.csv"] and runs.count(["eleves.csv"]) == 2
