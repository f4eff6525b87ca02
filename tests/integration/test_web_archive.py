"""The head's archive button (issue 7, "Year-end archive": "… and a button for the
head"), against a real server: the streamed run stores one PDF per service in the
school's read-only archive space, which the file manager then shows; refusals for a
second run and for every other profile.

People and lessons: :mod:`tests.integration.oversight_kit` (school year 2026-2027).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from lxml import html

from tests.conftest import IN_TERM, PASSWORD, Server, running_server
from tests.integration.oversight_kit import add_people
from tests.web import WebClient, csrf_token

pytestmark = [pytest.mark.clock(IN_TERM),
              pytest.mark.skipif(shutil.which("pdftotext") is None,
                                 reason="poppler-utils is not installed (.ci/install-test-deps)")]
PAGE = "/textbook/controle/archives"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("web-archive")) as server:
        add_people(server, [])
        yield server


def client(server: Server, login: str) -> WebClient:
    web = WebClient(server)
    assert web.login(login, PASSWORD).status_code == 302
    return web


def text(answer: object) -> str:
    return " ".join(html.fromstring(answer.text).text_content().split())  # type: ignore[attr-defined]


def test_the_head_archives_a_year_with_a_streamed_progress_page(srv: Server) -> None:
    hugo = client(srv, "hugo")
    page = hugo.get(PAGE)
    assert page.status_code == 200, page.text
    assert "Archiver l'année 2026-2027" in text(page)
    unconfirmed = hugo.post(f"{PAGE}/2026-2027", {"csrf_token": csrf_token(page.text)})
    assert unconfirmed.status_code == 409 and "pas terminée" in text(unconfirmed)
    assert 'name="avant_fin"' in page.text  # the year is not over: asked to confirm
    run = hugo.post(f"{PAGE}/2026-2027", {"csrf_token": csrf_token(page.text),
                                           "avant_fin": "1"})
    assert run.status_code == 200, run.text
    assert run.headers.get("Transfer-Encoding") == "chunked"  # streamed, not buffered
    shown = text(run)
    assert shown.count("PDF enregistré") == 3 and "Terminé." in shown
    assert 'max="3"' in run.text
    after = hugo.get(PAGE)
    assert "archivée, voir les PDF" in text(after) and "Archiver l'année" not in text(after)
    folder = hugo.get("/documents/archives/2026-2027/")
    assert folder.status_code == 200, folder.text
    assert sum(name in text(folder) for name in ("FR-4B", "MATHS-4B", "MATHS-4C")) == 3
    # Read-only in the browser too: no upload nor new-folder form there.
    assert "Nouveau dossier" not in text(folder)
    again = hugo.post(f"{PAGE}/2026-2027", {"csrf_token": csrf_token(after.text),
                                             "avant_fin": "1"})
    assert again.status_code == 409 and "jamais remplacée" in text(again)


def test_other_profiles_are_refused(srv: Server) -> None:
    for login in ("ann", "ben"):
        web = client(srv, login)
        refused = web.get(PAGE)
        assert refused.status_code == 403, (login, refused.status_code)
        assert "réservées à la direction" in text(refused)
        assert web.get("/documents/archives/").status_code == 404
    ada = client(srv, "ada")  # the school's admin reads the archives too
    assert ada.get(PAGE).status_code == 200
    hector = client(srv, "hector")  # head of the other school: his school's, not archived
    assert "Archiver l'année 2026-2027" in text(hector.get(PAGE))
    assert hector.get("/documents/archives/2026-2027/").status_code == 404
