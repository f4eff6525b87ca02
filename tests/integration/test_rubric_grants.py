"""Who reaches a rubric, against the real server (issue 4, "Model"): sub-rubrics
inherit their parent's grants unless set not to; a folder can carry grants of its own
(the conseil d'administration's "Comptes rendus"), which go when the folder goes; a
grant to a population (group × profile × subject) reaches exactly its members, in
its own school only.

Grants and the tree are changed with ``davserver rubric``, as IT staff do it; what
changed is checked where clients see it, over WebDAV.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

import acl
from tests.conftest import PASSWORD, Server, running_server

from .rubric_kit import (
    SCHOOL,
    Person,
    add_people,
    cli_ok,
    cli_refused,
    members,
    mkcol,
    props,
    put,
    rubric_url,
    transfer,
    visible_rubrics,
)

PEOPLE = [
    Person("gest", "staff"),
    Person("t.maths", "teacher", groups=("club théâtre",), subjects=("MATHS",)),
    Person("t.franc", "teacher", groups=("4B", "CA"), subjects=("FRANC",)),
    Person("s.4b", "student", groups=("4B", "club théâtre")),
    Person("s.3a", "student", groups=("3A",)),
    Person("p.parent", "parent", groups=("CA",)),
]
OTHER_SCHOOL = "Lycée voisin"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("grants")) as server:
        add_people(server, PEOPLE)
        # A second school with a 4B, a MATHS subject and a student of its own: a
        # population grant of our school never reaches them.
        with server.transaction() as s:
            other = acl.ensure_school(s, OTHER_SCHOOL)
            user = acl.create_user(s, "x.4b", PASSWORD, "student", school_id=other)
            acl.add_member(s, acl.ensure_group(s, other, "4B"), user.id)
            prof = acl.create_user(s, "x.maths", PASSWORD, "teacher", school_id=other)
            acl.add_teacher_subject(s, prof.id, acl.ensure_subject(s, other, "MATHS"))
        server.users.update({"x.4b": PASSWORD, "x.maths": PASSWORD})
        yield server


def add_rubric(srv: Server, slug: str, *extra: str) -> None:
    cli_ok(srv, "rubric", "add", slug, "--name", slug.title(), *extra)


def sees(srv: Server, login: str, slug: str) -> bool:
    """Does ``login`` see the rubric, in the listing and at its URL (both agree)?"""
    listed = slug in visible_rubrics(srv.session(login), srv)
    status = members(srv.session(login), rubric_url(srv, slug))
    assert listed == (status != 404), (login, slug, listed, status)
    return listed


# --- inheritance ---------------------------------------------------------------


def test_sub_rubric_inherits_parent_grants_unless_told_not_to(srv: Server) -> None:
    add_rubric(srv, "maison", "--school", SCHOOL)
    cli_ok(srv, "rubric", "grant", "maison", "visitor", "--user", "s.3a")
    cli_ok(srv, "rubric", "grant", "maison", "manager", "--user", "gest")
    add_rubric(srv, "maison-enfant", "--parent", "maison")
    add_rubric(srv, "maison-isole", "--parent", "maison", "--no-inherit")
    cli_ok(srv, "rubric", "grant", "maison-isole", "manager", "--user", "gest")
    gest, visitor = srv.session("gest"), srv.session("s.3a")
    for slug in ("maison-enfant", "maison-isole"):
        assert put(gest, rubric_url(srv, slug, "/note.txt"), b"publie\n") == 201

    # The visitor of the parent is a visitor of the child: sees and reads it.
    assert {"maison", "maison-enfant"} <= visible_rubrics(visitor, srv)
    response = visitor.get(rubric_url(srv, "maison-enfant", "/note.txt"))
    assert (response.status_code, response.content) == (200, b"publie\n")
    assert visitor.put(rubric_url(srv, "maison-enfant", "/x.txt"), data=b"x").status_code == 403
    # Not in the sub-rubric that does not inherit.
    assert not sees(srv, "s.3a", "maison-isole")
    assert visitor.get(rubric_url(srv, "maison-isole", "/note.txt")).status_code == 404

    out = cli_ok(srv, "rubric", "show", "maison-isole")
    assert "under maison; inherits its grants: no" in out
    cli_ok(srv, "rubric", "set", "maison-isole", "--inherit")
    assert sees(srv, "s.3a", "maison-isole")
    cli_ok(srv, "rubric", "set", "maison-enfant", "--no-inherit")
    assert not sees(srv, "s.3a", "maison-enfant")
    assert visitor.get(rubric_url(srv, "maison-enfant", "/note.txt")).status_code == 404


def test_inheritance_runs_down_several_levels(srv: Server) -> None:
    add_rubric(srv, "niv1", "--school", SCHOOL)
    add_rubric(srv, "niv2", "--parent", "niv1")
    add_rubric(srv, "niv3", "--parent", "niv2")
    cli_ok(srv, "rubric", "grant", "niv1", "visitor", "--profile", "parent")
    assert sees(srv, "p.parent", "niv3")
    assert not sees(srv, "s.3a", "niv3")
    cli_ok(srv, "rubric", "set", "niv2", "--no-inherit")  # cuts niv3 off as well
    assert not sees(srv, "p.parent", "niv2")
    assert not sees(srv, "p.parent", "niv3")
    assert sees(srv, "p.parent", "niv1")


def test_moving_a_rubric_under_another_gives_it_the_new_parents_grants(srv: Server) -> None:
    add_rubric(srv, "accueil", "--school", SCHOOL)
    cli_ok(srv, "rubric", "grant", "accueil", "visitor", "--group", "3A")
    add_rubric(srv, "errante", "--school", SCHOOL)
    assert not sees(srv, "s.3a", "errante")
    cli_ok(srv, "rubric", "set", "errante", "--parent", "accueil")
    assert "errante\tErrante (under accueil)" in cli_ok(srv, "rubric", "list")
    assert sees(srv, "s.3a", "errante")
    cli_ok(srv, "rubric", "set", "errante", "--top")
    assert not sees(srv, "s.3a", "errante")


def test_a_cycle_in_the_tree_is_refused_and_changes_nothing(srv: Server) -> None:
    add_rubric(srv, "cyc-a", "--school", SCHOOL)
    add_rubric(srv, "cyc-b", "--parent", "cyc-a")
    add_rubric(srv, "cyc-c", "--parent", "cyc-b")
    before = cli_ok(srv, "rubric", "list")
    for target in ("cyc-c", "cyc-b", "cyc-a"):
        message = cli_refused(srv, "rubric", "set", "cyc-a", "--parent", target)
        assert "cycle" in message and "cyc-a" in message, message
    message = cli_refused(srv, "rubric", "set", "cyc-b", "--parent", "cyc-c")
    assert "cycle" in message
    assert cli_ok(srv, "rubric", "list") == before
    # The server still answers for rubrics of that tree.
    cli_ok(srv, "rubric", "grant", "cyc-a", "visitor", "--user", "s.4b")
    assert sees(srv, "s.4b", "cyc-c")


# --- per-folder grants: the CA's "Comptes rendus" --------------------------------


@pytest.fixture(scope="module")
def ca(srv: Server) -> str:
    """A members-only rubric (writers: group CA; manager: gest) with a "Comptes rendus"
    folder readable by everyone in the school, a "Budget" folder, a file at its root,
    and a pending file of a member inside "Comptes rendus"."""
    add_rubric(srv, "ca", "--school", SCHOOL)
    cli_ok(srv, "rubric", "grant", "ca", "writer", "--group", "CA")
    cli_ok(srv, "rubric", "grant", "ca", "manager", "--user", "gest")
    gest, member = srv.session("gest"), srv.session("t.franc")
    assert mkcol(gest, rubric_url(srv, "ca", "/Comptes rendus")) == 201
    assert mkcol(gest, rubric_url(srv, "ca", "/Budget")) == 201
    assert put(gest, rubric_url(srv, "ca", "/Comptes rendus/CR mars.txt"), b"CR\n") == 201
    assert put(gest, rubric_url(srv, "ca", "/Budget/budget.txt")) == 201
    assert put(gest, rubric_url(srv, "ca", "/ordre du jour.txt")) == 201
    assert put(member, rubric_url(srv, "ca", "/Comptes rendus/brouillon.txt")) == 201
    cli_ok(srv, "rubric", "grant", "ca", "visitor", "--everyone",
           "--folder", "/Comptes rendus")
    return "ca"


def test_a_folder_grant_shows_only_that_folder_to_non_members(srv: Server, ca: str) -> None:
    outsider = srv.session("s.3a")
    assert ca in visible_rubrics(outsider, srv)
    assert members(outsider, rubric_url(srv, ca)) == {"Comptes rendus"}
    assert members(outsider, rubric_url(srv, ca, "/Comptes rendus")) == {"CR mars.txt"}
    response = outsider.get(rubric_url(srv, ca, "/Comptes rendus/CR mars.txt"))
    assert (response.status_code, response.content) == (200, b"CR\n")
    # Everything else does not exist for them.
    for path in ("/ordre du jour.txt", "/Budget", "/Budget/budget.txt",
                 "/Comptes rendus/brouillon.txt"):
        assert outsider.get(rubric_url(srv, ca, path)).status_code == 404, path
    assert members(outsider, rubric_url(srv, ca, "/Budget")) == 404
    # Readable but not theirs to change.
    target = rubric_url(srv, ca, "/Comptes rendus/intrus.txt")
    assert put(outsider, target) == 403
    assert put(outsider, rubric_url(srv, ca, "/Comptes rendus/CR mars.txt")) == 403
    assert outsider.delete(rubric_url(srv, ca, "/Comptes rendus/CR mars.txt")).status_code == 403
    assert members(srv.session("gest"), rubric_url(srv, ca, "/Comptes rendus")) == {
        "CR mars.txt", "brouillon.txt"}


def test_members_see_the_whole_rubric(srv: Server, ca: str) -> None:
    for login in ("t.franc", "p.parent", "gest"):
        session = srv.session(login)
        assert members(session, rubric_url(srv, ca)) == {
            "Comptes rendus", "Budget", "ordre du jour.txt"}, login
        assert session.get(rubric_url(srv, ca, "/Budget/budget.txt")).status_code == 200
    # The member's own pending file: theirs and the manager's to see, not another
    # member's (a writer reads what is published and what is their own).
    path = "/Comptes rendus/brouillon.txt"
    assert props(srv.session("t.franc"), rubric_url(srv, ca, path))["publication-state"] \
        == "pending"
    assert srv.session("gest").get(rubric_url(srv, ca, path)).status_code == 200
    assert srv.session("p.parent").get(rubric_url(srv, ca, path)).status_code == 404


def test_rubric_show_names_the_folder_of_a_folder_grant(srv: Server, ca: str) -> None:
    out = cli_ok(srv, "rubric", "show", ca)
    assert "visitor    everyone in the school  on folder /Comptes rendus" in out
    assert "writer     group CA" in out
    assert "manager    user gest" in out


def test_a_folder_writer_grant_allows_writing_there_only(srv: Server, ca: str) -> None:
    cli_ok(srv, "rubric", "grant", ca, "writer", "--user", "s.4b", "--folder", "/Budget")
    pupil = srv.session("s.4b")
    assert members(pupil, rubric_url(srv, ca)) == {"Comptes rendus", "Budget"}
    assert put(pupil, rubric_url(srv, ca, "/Budget/devis.txt")) == 201
    assert props(pupil, rubric_url(srv, ca, "/Budget/devis.txt")) == {
        "publication-state": "pending", "author": "s.4b"}
    assert put(pupil, rubric_url(srv, ca, "/racine.txt")) == 403
    assert put(pupil, rubric_url(srv, ca, "/Comptes rendus/x.txt")) == 403
    cli_ok(srv, "rubric", "revoke", ca, "writer", "--user", "s.4b", "--folder", "/Budget")
    assert members(pupil, rubric_url(srv, ca)) == {"Comptes rendus"}


def test_a_grant_on_a_missing_folder_is_refused(srv: Server, ca: str) -> None:
    before = cli_ok(srv, "rubric", "show", ca)
    message = cli_refused(srv, "rubric", "grant", ca, "visitor", "--everyone",
                          "--folder", "/Procès-verbaux")
    assert "Procès-verbaux" in message
    assert cli_ok(srv, "rubric", "show", ca) == before


# --- populations ---------------------------------------------------------------

# rubric slug, holder options, who must see it (everyone else must not)
POPULATIONS = [
    ("pop-theatre-profs", ("--group", "club théâtre", "--profile", "teacher"), {"t.maths"}),
    ("pop-4b-eleves", ("--group", "4B", "--profile", "student"), {"s.4b"}),
    ("pop-4b", ("--group", "4B"), {"t.franc", "s.4b"}),
    ("pop-profs-maths", ("--profile", "teacher", "--subject", "MATHS"), {"t.maths"}),
    ("pop-maths", ("--subject", "MATHS"), {"t.maths"}),
    ("pop-parents", ("--profile", "parent"), {"p.parent"}),
    ("pop-eleves-ca", ("--group", "CA", "--profile", "student"), set()),
    ("pop-tous", ("--everyone",), {p.login for p in PEOPLE}),
    ("pop-un", ("--user", "s.3a"), {"s.3a"}),
]


def test_each_population_reaches_exactly_its_members(srv: Server) -> None:
    for slug, holder, _ in POPULATIONS:
        add_rubric(srv, slug, "--school", SCHOOL)
        cli_ok(srv, "rubric", "grant", slug, "visitor", *holder)
    everybody = [p.login for p in PEOPLE] + ["x.4b", "x.maths"]
    seen = {login: visible_rubrics(srv.session(login), srv) for login in everybody}
    for slug, holder, expected in POPULATIONS:
        reached = {login for login in everybody if slug in seen[login]}
        assert reached == expected, (slug, holder, reached)
    # The URL agrees with the listing (404, not 403, for those left out).
    assert members(srv.session("s.3a"), rubric_url(srv, "pop-4b")) == 404
    assert members(srv.session("x.4b"), rubric_url(srv, "pop-4b")) == 404
    assert members(srv.session("s.4b"), rubric_url(srv, "pop-4b")) == set()


def test_the_strongest_of_several_matching_grants_wins(srv: Server) -> None:
    add_rubric(srv, "cumul", "--school", SCHOOL)
    cli_ok(srv, "rubric", "grant", "cumul", "visitor", "--everyone")
    cli_ok(srv, "rubric", "grant", "cumul", "publisher", "--group", "4B", "--profile",
           "teacher")
    assert put(srv.session("t.franc"), rubric_url(srv, "cumul", "/annonce.txt")) == 201
    assert props(srv.session("s.3a"), rubric_url(srv, "cumul", "/annonce.txt"))[
        "publication-state"] == "published"
    assert put(srv.session("s.4b"), rubric_url(srv, "cumul", "/eleve.txt")) == 403
    # Revoking the population grant leaves the user with the everyone grant.
    cli_ok(srv, "rubric", "revoke", "cumul", "publisher", "--group", "4B", "--profile",
           "teacher")
    assert put(srv.session("t.franc"), rubric_url(srv, "cumul", "/encore.txt")) == 403
    assert sees(srv, "t.franc", "cumul")


def managed_folder_granted(srv: Server, slug: str, folder: str,
                           visitor: str) -> requests.Session:
    """A new rubric managed by gest, with one folder that ``visitor`` may read; returns
    gest's session."""
    add_rubric(srv, slug, "--school", SCHOOL)
    cli_ok(srv, "rubric", "grant", slug, "manager", "--user", "gest")
    gest = srv.session("gest")
    assert mkcol(gest, rubric_url(srv, slug, folder)) == 201
    cli_ok(srv, "rubric", "grant", slug, "visitor", "--user", visitor, "--folder", folder)
    return gest


def test_deleting_a_folder_takes_its_grants_away(srv: Server) -> None:
    gest = managed_folder_granted(srv, "ephemere", "/Ouvert", "p.parent")
    assert sees(srv, "p.parent", "ephemere")
    assert gest.delete(rubric_url(srv, "ephemere", "/Ouvert")).status_code == 204
    # Nothing of the rubric is theirs any more: it is not listed for them...
    assert not sees(srv, "p.parent", "ephemere")
    # ... and a new folder of the same name does not inherit the old grant.
    assert mkcol(gest, rubric_url(srv, "ephemere", "/Ouvert")) == 201
    assert not sees(srv, "p.parent", "ephemere")
    assert "p.parent" not in cli_ok(srv, "rubric", "show", "ephemere")


def test_a_folder_moved_out_of_its_rubric_and_back_lost_its_grants(srv: Server) -> None:
    gest = managed_folder_granted(srv, "navette", "/Voyage", "s.3a")
    assert members(srv.session("s.3a"), rubric_url(srv, "navette")) == {"Voyage"}
    # Renamed inside the rubric: the grant follows the folder.
    assert transfer(gest, "MOVE", rubric_url(srv, "navette", "/Voyage"),
                    rubric_url(srv, "navette", "/Voyage 2026")).status_code == 201
    assert members(srv.session("s.3a"), rubric_url(srv, "navette")) == {"Voyage 2026"}
    # Out to the manager's porte-documents and back: a new folder for the rubric.
    assert transfer(gest, "MOVE", rubric_url(srv, "navette", "/Voyage 2026"),
                    srv.documents_url + "/Voyage").status_code == 201
    assert transfer(gest, "MOVE", srv.documents_url + "/Voyage",
                    rubric_url(srv, "navette", "/Voyage")).status_code == 201
    assert not sees(srv, "s.3a", "navette")
