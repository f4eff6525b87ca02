"""COPY and MOVE between a porte-documents and a rubric's shared folders (issue 4,
"DAV"): one request each way, no byte copied (COPY shares the blob, MOVE keeps it),
what arrives takes the mover's author and publication state (a writer's arrival
waits for a moderator), the destination's quota decides, and what the user may not
write or may not see is neither changed nor revealed.

Rubric ``atelier``: writer ``red``, publisher ``pub``, visitor ``vis``, moderator
``mod``. Rubric ``petit``: writer ``red``, publisher ``pub``, with a tiny quota.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.conftest import Server, running_server

from .rubric_kit import (
    Person,
    add_people,
    cli_ok,
    members,
    mkcol,
    names,
    node,
    props,
    put,
    quota_show,
    rubric_url,
    transfer,
    used_bytes,
)

PEOPLE = [Person("red", "teacher"), Person("pub", "teacher"), Person("vis", "student"),
          Person("mod", "staff")]
KIB = 1024


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("transfer")) as server:
        add_people(server, PEOPLE)
        for slug in ("atelier", "petit"):
            cli_ok(server, "rubric", "add", slug, "--name", slug.title())
            cli_ok(server, "rubric", "grant", slug, "writer", "--user", "red")
            cli_ok(server, "rubric", "grant", slug, "publisher", "--user", "pub")
        cli_ok(server, "rubric", "grant", "atelier", "visitor", "--user", "vis")
        cli_ok(server, "rubric", "grant", "atelier", "moderator", "--user", "mod")
        cli_ok(server, "quota", "set", "rubric:petit", "10KiB")
        yield server


def docs(srv: Server, path: str = "") -> str:
    return srv.documents_url + "/" + path.strip("/")


def session(srv: Server, login: str) -> requests.Session:
    return srv.session(login)


def blob_key(srv: Server, target: str, path: str) -> str:
    found = node(srv, target, path)
    assert found is not None and found.blob_key is not None, (target, path, found)
    return found.blob_key


# --- porte-documents → rubric and back ----------------------------------------------


def test_a_writers_copy_shares_the_blob_and_arrives_pending(srv: Server) -> None:
    red = session(srv, "red")
    assert put(red, docs(srv, "cours.txt"), b"cours de red\n" * 100) == 201
    before = (used_bytes(srv, "red"), used_bytes(srv, "rubric:atelier"))
    response = transfer(red, "COPY", docs(srv, "cours.txt"),
                        rubric_url(srv, "atelier", "/cours.txt"))
    assert response.status_code == 201, response.text
    assert blob_key(srv, "rubric:atelier", "/cours.txt") == blob_key(srv, "red", "/cours.txt")
    assert props(red, rubric_url(srv, "atelier", "/cours.txt")) == {
        "publication-state": "pending", "author": "red"}
    assert session(srv, "vis").get(rubric_url(srv, "atelier", "/cours.txt")).status_code \
        == 404
    assert (used_bytes(srv, "red"), used_bytes(srv, "rubric:atelier")) == (
        before[0], before[1] + 1300)

    # And back, under another name: the blob is still the same one.
    response = transfer(red, "COPY", rubric_url(srv, "atelier", "/cours.txt"),
                        docs(srv, "cours (rubrique).txt"))
    assert response.status_code == 201, response.text
    assert blob_key(srv, "red", "/cours (rubrique).txt") == blob_key(srv, "red", "/cours.txt")
    assert red.get(docs(srv, "cours (rubrique).txt")).content == b"cours de red\n" * 100


def test_a_publishers_move_keeps_the_blob_and_arrives_published(srv: Server) -> None:
    pub = session(srv, "pub")
    assert mkcol(pub, docs(srv, "sortie")) == 201
    assert put(pub, docs(srv, "sortie/programme.txt"), b"programme\n") == 201
    key = blob_key(srv, "pub", "/sortie/programme.txt")
    before = (used_bytes(srv, "pub"), used_bytes(srv, "rubric:atelier"))
    response = transfer(pub, "MOVE", docs(srv, "sortie"), rubric_url(srv, "atelier", "/sortie"))
    assert response.status_code == 201, response.text
    assert node(srv, "pub", "/sortie") is None
    assert blob_key(srv, "rubric:atelier", "/sortie/programme.txt") == key
    assert (used_bytes(srv, "pub"), used_bytes(srv, "rubric:atelier")) == (
        before[0] - 10, before[1] + 10)
    visitor = session(srv, "vis")
    for path in ("/sortie", "/sortie/programme.txt"):
        assert props(visitor, rubric_url(srv, "atelier", path)) == {
            "publication-state": "published", "author": "pub"}
    assert visitor.get(rubric_url(srv, "atelier", "/sortie/programme.txt")).content \
        == b"programme\n"

    # Back to the porte-documents: the publisher may take out what they authored.
    response = transfer(pub, "MOVE", rubric_url(srv, "atelier", "/sortie/programme.txt"),
                        docs(srv, "programme.txt"))
    assert response.status_code == 201, response.text
    assert blob_key(srv, "pub", "/programme.txt") == key
    assert node(srv, "rubric:atelier", "/sortie/programme.txt") is None
    assert members(visitor, rubric_url(srv, "atelier", "/sortie")) == set()


def test_a_writers_move_of_a_folder_arrives_pending_throughout(srv: Server) -> None:
    red = session(srv, "red")
    assert mkcol(red, docs(srv, "projet")) == 201
    assert mkcol(red, docs(srv, "projet/images")) == 201
    assert put(red, docs(srv, "projet/images/plan.txt")) == 201
    response = transfer(red, "MOVE", docs(srv, "projet"), rubric_url(srv, "atelier", "/projet"))
    assert response.status_code == 201, response.text
    for path in ("/projet", "/projet/images", "/projet/images/plan.txt"):
        found = node(srv, "rubric:atelier", path)
        assert found is not None and not found.published, path
    assert "projet" not in names(session(srv, "vis"), rubric_url(srv, "atelier"))
    assert "projet" in names(session(srv, "mod"), rubric_url(srv, "atelier"))


# --- quota of the destination --------------------------------------------------------


def test_the_destinations_quota_refuses_a_copy_or_move_that_does_not_fit(srv: Server) -> None:
    pub = session(srv, "pub")
    assert put(pub, docs(srv, "gros.bin"), b"x" * (20 * KIB)) == 201
    assert put(pub, rubric_url(srv, "petit", "/petit.txt"), b"y" * KIB) == 201
    shown = (quota_show(srv, "pub"), quota_show(srv, "rubric:petit"))
    used = (used_bytes(srv, "pub"), used_bytes(srv, "rubric:petit"))
    for method in ("COPY", "MOVE"):
        response = transfer(pub, method, docs(srv, "gros.bin"),
                            rubric_url(srv, "petit", "/gros.bin"))
        assert response.status_code == 507, (method, response.status_code, response.text)
        assert "quota-not-exceeded" in response.text
        assert node(srv, "rubric:petit", "/gros.bin") is None
        assert node(srv, "pub", "/gros.bin") is not None
    # Replacing a file counts only the growth: still too big.
    response = transfer(pub, "COPY", docs(srv, "gros.bin"),
                        rubric_url(srv, "petit", "/petit.txt"))
    assert response.status_code == 507
    assert pub.get(rubric_url(srv, "petit", "/petit.txt")).content == b"y" * KIB
    assert (quota_show(srv, "pub"), quota_show(srv, "rubric:petit")) == shown
    assert (used_bytes(srv, "pub"), used_bytes(srv, "rubric:petit")) == used
    # What fits goes through.
    assert put(pub, docs(srv, "moyen.bin"), b"z" * (8 * KIB)) == 201
    assert transfer(pub, "COPY", docs(srv, "moyen.bin"),
                    rubric_url(srv, "petit", "/moyen.bin")).status_code == 201
    assert used_bytes(srv, "rubric:petit") == used[1] + 8 * KIB


# --- what the user may not write, may not see -------------------------------------


def test_a_visitors_copy_out_takes_only_what_they_see(srv: Server) -> None:
    pub, red, vis = session(srv, "pub"), session(srv, "red"), session(srv, "vis")
    assert mkcol(pub, rubric_url(srv, "atelier", "/dossier")) == 201
    assert put(pub, rubric_url(srv, "atelier", "/dossier/public.txt"), b"public\n") == 201
    assert put(red, rubric_url(srv, "atelier", "/dossier/attente.txt"), b"attente\n") == 201
    assert mkcol(red, rubric_url(srv, "atelier", "/dossier/brouillons")) == 201
    assert put(red, rubric_url(srv, "atelier", "/dossier/brouillons/b.txt")) == 201
    before = used_bytes(srv, "vis")
    response = transfer(vis, "COPY", rubric_url(srv, "atelier", "/dossier"), docs(srv, "copie"))
    assert response.status_code == 201, response.text
    assert members(vis, docs(srv, "copie")) == {"public.txt"}
    assert node(srv, "vis", "/copie/attente.txt") is None
    assert node(srv, "vis", "/copie/brouillons") is None
    assert used_bytes(srv, "vis") == before + len(b"public\n")
    # The moderator's copy takes everything.
    response = transfer(session(srv, "mod"), "COPY", rubric_url(srv, "atelier", "/dossier"),
                        docs(srv, "tout"))
    assert response.status_code == 201
    assert members(session(srv, "mod"), docs(srv, "tout")) == {
        "public.txt", "attente.txt", "brouillons"}


def test_moving_into_a_folder_the_user_may_not_write_is_refused(srv: Server) -> None:
    vis = session(srv, "vis")
    assert put(vis, docs(srv, "devoir.txt"), b"devoir\n") == 201
    used = (used_bytes(srv, "vis"), used_bytes(srv, "rubric:atelier"))
    for method in ("MOVE", "COPY"):
        response = transfer(vis, method, docs(srv, "devoir.txt"),
                            rubric_url(srv, "atelier", "/devoir.txt"))
        assert response.status_code == 403, (method, response.status_code)
    assert node(srv, "rubric:atelier", "/devoir.txt") is None
    assert vis.get(docs(srv, "devoir.txt")).content == b"devoir\n"
    assert (used_bytes(srv, "vis"), used_bytes(srv, "rubric:atelier")) == used
    # Out of a rubric: a visitor may not take a published file away either.
    response = transfer(vis, "MOVE", rubric_url(srv, "atelier", "/dossier/public.txt"),
                        docs(srv, "pris.txt"))
    assert response.status_code == 403
    assert node(srv, "rubric:atelier", "/dossier/public.txt") is not None


def test_a_writer_may_not_overwrite_someone_elses_file(srv: Server) -> None:
    red = session(srv, "red")
    assert put(session(srv, "pub"), rubric_url(srv, "atelier", "/charte.txt"), b"charte\n") \
        == 201
    assert put(red, docs(srv, "charte.txt"), b"autre\n") == 201
    for method in ("COPY", "MOVE"):
        response = transfer(red, method, docs(srv, "charte.txt"),
                            rubric_url(srv, "atelier", "/charte.txt"))
        assert response.status_code == 403, (method, response.status_code)
    assert red.get(rubric_url(srv, "atelier", "/charte.txt")).content == b"charte\n"
    assert node(srv, "red", "/charte.txt") is not None


def test_a_name_taken_by_a_hidden_file_is_a_conflict(srv: Server) -> None:
    red, pub = session(srv, "red"), session(srv, "pub")
    assert put(red, rubric_url(srv, "atelier", "/secret.txt"), b"secret de red\n") == 201
    hidden = node(srv, "rubric:atelier", "/secret.txt")
    assert pub.get(rubric_url(srv, "atelier", "/secret.txt")).status_code == 404
    assert put(pub, docs(srv, "secret.txt"), b"autre secret\n") == 201
    for method in ("COPY", "MOVE"):
        response = transfer(pub, method, docs(srv, "secret.txt"),
                            rubric_url(srv, "atelier", "/secret.txt"))
        assert response.status_code == 409, (method, response.status_code)
        response = transfer(pub, method, docs(srv, "secret.txt"),
                            rubric_url(srv, "atelier", "/secret.txt"), overwrite=False)
        assert response.status_code == 409, (method, "Overwrite: F", response.status_code)
    assert node(srv, "rubric:atelier", "/secret.txt") == hidden
    assert red.get(rubric_url(srv, "atelier", "/secret.txt")).content == b"secret de red\n"
    assert pub.get(docs(srv, "secret.txt")).content == b"autre secret\n"
    # The same for a PUT.
    assert put(pub, rubric_url(srv, "atelier", "/secret.txt"), b"ecrase\n") == 409
    assert node(srv, "rubric:atelier", "/secret.txt") == hidden
