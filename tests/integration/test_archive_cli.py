"""``davserver archive textbooks`` as a real command (issue 7, "Year-end archive"):
one read-only PDF per teaching service with its lessons, activities and visas,
read back with poppler's ``pdftotext`` and rendered to an image with ``pdftoppm``.

People and lessons: :mod:`tests.integration.oversight_kit` (school year 2026-2027).
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import acl
from tests.conftest import IN_TERM, Server, running_server
from tests.integration.handin_kit import api
from tests.integration.oversight_kit import SCHOOL_A, add_people, signed_in, uid
from web import textbook

pytestmark = [pytest.mark.clock(IN_TERM),
              pytest.mark.skipif(shutil.which("pdftotext") is None
                                 or shutil.which("pdftoppm") is None,
                                 reason="poppler-utils is not installed (.ci/install-test-deps)")]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The oversight kit, a homework in M1 due at M2 with two attachments, a script in
    a body, M3 in the corbeille, and hugo's visa on ann's textbook up to 08/09/2026."""
    with running_server(tmp_path_factory.mktemp("archive")) as server:
        ids = add_people(server, [])
        with server.transaction() as s:
            ann = uid(s, "ann")
            homework = textbook.add_activity(s, ann, ids["M1"], textbook.ActivityInput(
                textbook.ActivityKind.homework, "Exercices de géométrie",
                body="<p>Page 52 <script>alert(1)</script></p>", homework_type="Exercices",
                minutes=30, due_lesson_id=ids["M2"]))
            textbook.delete_lesson(s, ann, ids["M3"])
            visa = textbook.Visa(school_id=acl.find_school(s, SCHOOL_A), teacher_id=ann,
                                 until=date(2026, 9, 8), comment="Bonne tenue.",
                                 by_id=uid(s, "hugo"))
            s.add(visa)
            homework_id = homework.id
        for name in ("énoncé.pdf", "figure.png"):  # attachments: their names are archived
            sent = api(signed_in(server, "ann"), "PUT",
                       f"/api/textbook/activities/{homework_id}/attachments/{name}", b"x")
            assert sent.status_code == 201, sent.text
        yield server


def archive(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return server.cli("archive", "textbooks", "--year", "2026-2027", *args, check=False)


@pytest.fixture(scope="module")
def archived(srv: Server, tmp_path_factory: pytest.TempPathFactory) -> \
        tuple[subprocess.CompletedProcess[str], Path]:
    """One run of the command into a new folder: (its result, the folder)."""
    out = tmp_path_factory.mktemp("archives")
    return archive(srv, "--school", SCHOOL_A, "--output", str(out)), out


def test_one_read_only_pdf_per_service_with_lessons_and_visas(
        archived: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path) -> None:
    done, out = archived
    assert done.returncode == 0, done.stderr
    folder = out / "College-Jean-Moulin" / "2026-2027"
    pdfs = sorted(p.name for p in folder.iterdir())
    assert [name.rsplit("-", 1)[0] for name in pdfs] == ["FR-4B", "MATHS-4B", "MATHS-4C"]
    assert sorted(Path(line).name for line in done.stdout.split()) == pdfs
    assert not stat.S_IMODE(folder.stat().st_mode) & 0o222
    maths = next(folder.glob("MATHS-4B-*.pdf"))
    assert stat.S_IMODE(maths.stat().st_mode) == 0o444
    text = subprocess.run(["pdftotext", "-layout", str(maths), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Cahier de textes — MATHS 4B" in text
    assert "Collège Jean Moulin" in text and "2026-2027" in text
    assert "Visa du 08/09/2026, posé par hugo (direction) : « Bonne tenue. »" in text
    assert "Séance du 07/09/2026 08:00" in text and "Séance du 09/09/2026 10:00" in text
    assert "Séance du 11/09/2026" not in text  # M3 is in the corbeille
    assert "Activité A1" in text and "Exercices de géométrie" in text
    assert "pour le 09/09/2026" in text and "Page 52" in text and "alert" not in text
    assert re.search(r"Pièces jointes : (énoncé\.pdf, figure\.png|figure\.png, énoncé\.pdf)",
                     text), text
    image = tmp_path / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(maths),
                    str(image)], check=True)
    rendered = next(tmp_path.glob("page*.png")).read_bytes()
    assert rendered.startswith(b"\x89PNG") and len(rendered) > 2000


def test_refusals_name_what_is_wrong(
        srv: Server, archived: tuple[subprocess.CompletedProcess[str], Path],
        tmp_path: Path) -> None:
    unknown_year = srv.cli("archive", "textbooks", "--year", "1999-2000", "--school",
                           SCHOOL_A, "--output", str(tmp_path), check=False)
    assert unknown_year.returncode == 1 and "'1999-2000'" in unknown_year.stderr
    assert "2026-2027" in unknown_year.stderr
    unknown_school = archive(srv, "--school", "Collège fantôme", "--output", str(tmp_path))
    assert unknown_school.returncode == 1 and "Collège fantôme" in unknown_school.stderr
    assert not list(tmp_path.iterdir())  # nothing written for either
    again = archive(srv, "--school", SCHOOL_A, "--output", str(archived[1]))
    assert again.returncode == 1 and "never replaced" in again.stderr


PROPFIND_NAMES = '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><displayname/>' \
    '<getcontentlength/></prop></propfind>'


def test_archive_space_is_read_only_and_for_the_head_of_that_school(
        srv: Server, archived: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """Without --output the PDFs land in the school's archive space: the head (and the
    admin) read /dav/archives/<year>/ over WebDAV; nobody writes there; a teacher and
    the head of another school do not see it; a second run is refused."""
    early = archive(srv, "--school", SCHOOL_A)  # 2026-2027 is not over yet
    assert early.returncode == 1 and "n'est pas terminée" in early.stderr
    done = archive(srv, "--school", SCHOOL_A, "--before-end")
    assert done.returncode == 0, done.stderr
    assert "archived in /dav/archives/2026-2027/" in done.stdout
    base = srv.dav_url + "/archives/"
    hugo, ada = srv.session("hugo"), srv.session("ada")
    listing = hugo.request("PROPFIND", base + "2026-2027/", data=PROPFIND_NAMES,
                           headers={"Depth": "1"}, timeout=30)
    assert listing.status_code == 207, listing.text
    names = sorted(n.rsplit("-", 1)[0] for n in
                   re.findall(r"<[^>]*displayname>([^<]+\.pdf)<", listing.text))
    assert names == ["FR-4B", "MATHS-4B", "MATHS-4C"]
    pdf_name = next(n for n in re.findall(r"<[^>]*displayname>([^<]+\.pdf)<", listing.text)
                    if n.startswith("MATHS-4B"))
    pdf = ada.get(base + "2026-2027/" + pdf_name, timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    root = hugo.request("PROPFIND", srv.dav_url + "/", headers={"Depth": "1"}, timeout=30)
    assert "/dav/archives/" in root.text
    # Read-only for everyone, the head included (RFC 4918 §9.7, §9.6, §9.3: 403).
    assert hugo.put(base + "2026-2027/x.pdf", data=b"%PDF-1.4", timeout=30).status_code == 403
    assert hugo.delete(base + "2026-2027/" + pdf_name, timeout=30).status_code == 403
    assert hugo.request("MKCOL", base + "autre/", timeout=30).status_code == 403
    assert ada.get(base + "2026-2027/" + pdf_name, timeout=30).status_code == 200
    # Not there at all for a teacher, nor for the head of another school.
    ann = srv.session("ann")
    assert ann.get(base + "2026-2027/" + pdf_name, timeout=30).status_code == 404
    assert "/dav/archives/" not in ann.request("PROPFIND", srv.dav_url + "/",
                                               headers={"Depth": "1"}, timeout=30).text
    hector = srv.session("hector")
    assert hector.get(base + "2026-2027/" + pdf_name, timeout=30).status_code == 404
    again = archive(srv, "--school", SCHOOL_A, "--before-end")
    assert again.returncode == 1 and "never replaced" in again.stderr
    assert srv.cli("fsck", check=False).returncode == 0
