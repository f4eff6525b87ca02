"""``davserver rubric …`` and ``davserver invitation …`` against a running server
(issue 4, "Management" and "Bad input"): invitations from pending to accepted,
declined or expired; every grant naming something unknown refused with exit status 1
and a message naming it, and nothing changed; publication from the command line
changing what a visitor sees over WebDAV.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

import acl
from davserver import clock
from tests.conftest import Server, running_server

from .rubric_kit import (
    Person,
    add_people,
    cli_ok,
    cli_refused,
    members,
    names,
    props,
    put,
    rubric_url,
    visible_rubrics,
)

PEOPLE = [
    Person("gest", "staff"),
    Person("redac", "teacher", groups=("club photo",), subjects=("MATHS",)),
    Person("lecteur", "student", groups=("4B",)),
    Person("invite1", "teacher"),
    Person("invite2", "teacher"),
    Person("invite3", "student"),
    Person("invite4", "student"),
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose rubric ``club`` has gest as manager, redac as writer and the
    4B as visitors."""
    with running_server(tmp_path_factory.mktemp("rcli")) as server:
        add_people(server, PEOPLE)
        cli_ok(server, "rubric", "add", "club", "--name", "Club photo")
        cli_ok(server, "rubric", "grant", "club", "manager", "--user", "gest")
        cli_ok(server, "rubric", "grant", "club", "writer", "--user", "redac")
        cli_ok(server, "rubric", "grant", "club", "visitor", "--group", "4B")
        yield server


def invitation_id(stdout: str) -> int:
    match = re.search(r"invitation #(\d+)", stdout)
    assert match, stdout
    return int(match.group(1))


# --- invitations ---------------------------------------------------------------


def test_an_accepted_invitation_grants_the_role(srv: Server) -> None:
    out = cli_ok(srv, "rubric", "invite", "club", "writer", "invite1", "--by", "gest")
    assert "invite1 as writer on club" in out
    number = invitation_id(out)
    guest = srv.session("invite1")
    assert "club" not in visible_rubrics(guest, srv)
    assert members(guest, rubric_url(srv, "club")) == 404
    assert re.search(rf"^#{number}\tclub\twriter\tpending\tuntil \d{{4}}-\d\d-\d\d$",
                     cli_ok(srv, "invitation", "list", "invite1"), re.M)

    message = cli_refused(srv, "invitation", "accept", str(number), "--as", "invite2")
    assert "someone else" in message
    assert "invite2" not in cli_ok(srv, "rubric", "show", "club")
    assert "invite1" not in cli_ok(srv, "rubric", "show", "club")

    assert cli_ok(srv, "invitation", "accept", str(number), "--as", "invite1").strip() \
        == f"invitation #{number} accepted"
    assert "club" in visible_rubrics(guest, srv)
    assert put(guest, rubric_url(srv, "club", "/invite1.txt")) == 201
    assert props(guest, rubric_url(srv, "club", "/invite1.txt")) == {
        "publication-state": "pending", "author": "invite1"}
    assert "writer     user invite1" in cli_ok(srv, "rubric", "show", "club")
    assert "\taccepted\t" in cli_ok(srv, "invitation", "list", "invite1")
    # Answered once: a second answer is refused and changes nothing.
    assert "accepted" in cli_refused(srv, "invitation", "decline", str(number),
                                     "--as", "invite1")
    assert "club" in visible_rubrics(guest, srv)


def test_a_declined_invitation_grants_nothing(srv: Server) -> None:
    number = invitation_id(cli_ok(srv, "rubric", "invite", "club", "visitor", "invite2"))
    before = cli_ok(srv, "rubric", "show", "club")
    assert cli_ok(srv, "invitation", "decline", str(number), "--as", "invite2").strip() \
        == f"invitation #{number} declined"
    assert cli_ok(srv, "rubric", "show", "club") == before
    assert members(srv.session("invite2"), rubric_url(srv, "club")) == 404
    assert "declined" in cli_refused(srv, "invitation", "accept", str(number),
                                     "--as", "invite2")
    assert members(srv.session("invite2"), rubric_url(srv, "club")) == 404
    assert f"#{number}\tclub\tvisitor\tdeclined\t" in cli_ok(srv, "invitation", "list",
                                                               "invite2")


@pytest.mark.time_sensitive
def test_an_expired_invitation_cannot_be_accepted(srv: Server) -> None:
    past = clock.now() - timedelta(days=30)
    with srv.transaction() as s:
        number = acl.invite(s, "club", "moderator", "invite3", now=past).id
    assert f"#{number}\tclub\tmoderator\texpired\t" in cli_ok(srv, "invitation", "list",
                                                                "invite3")
    before = cli_ok(srv, "rubric", "show", "club")
    assert "expired" in cli_refused(srv, "invitation", "accept", str(number),
                                    "--as", "invite3")
    assert cli_ok(srv, "rubric", "show", "club") == before
    assert members(srv.session("invite3"), rubric_url(srv, "club")) == 404
    # An expired invitation does not block a new one.
    fresh = invitation_id(cli_ok(srv, "rubric", "invite", "club", "visitor", "invite3"))
    cli_ok(srv, "invitation", "accept", str(fresh), "--as", "invite3")
    assert members(srv.session("invite3"), rubric_url(srv, "club")) != 404


def test_bad_invitations_are_refused(srv: Server) -> None:
    cli_ok(srv, "rubric", "invite", "club", "visitor", "invite4")
    assert "pending invitation" in cli_refused(srv, "rubric", "invite", "club", "writer",
                                               "invite4")
    assert "'personne'" in cli_refused(srv, "rubric", "invite", "club", "visitor",
                                       "personne")
    assert "'nulle-part'" in cli_refused(srv, "rubric", "invite", "nulle-part", "visitor",
                                         "invite4")
    assert "#999999" in cli_refused(srv, "invitation", "accept", "999999", "--as",
                                    "invite4")
    assert "'personne'" in cli_refused(srv, "invitation", "list", "personne")


# --- bad input for grants --------------------------------------------------------

# holder options naming something that does not exist, and the name the message
# must carry
UNKNOWN_HOLDERS = [
    (("--group", "5Z"), "5Z"),
    (("--group", "4B", "--subject", "LATIN"), "LATIN"),
    (("--profile", "professeur"), "professeur"),
    (("--user", "fantome"), "fantome"),
    (("--group", "club photo", "--profile", "eleve"), "eleve"),
]


@pytest.mark.parametrize(("holder", "named"), UNKNOWN_HOLDERS,
                         ids=[named for _, named in UNKNOWN_HOLDERS])
def test_a_grant_naming_something_unknown_changes_nothing(
        srv: Server, holder: tuple[str, ...], named: str) -> None:
    before = cli_ok(srv, "rubric", "show", "club")
    message = cli_refused(srv, "rubric", "grant", "club", "visitor", *holder)
    assert named in message, message
    assert cli_ok(srv, "rubric", "show", "club") == before


def test_a_grant_on_an_unknown_rubric_is_refused(srv: Server) -> None:
    message = cli_refused(srv, "rubric", "grant", "clbu", "visitor", "--user", "lecteur")
    assert "clbu" in message
    assert "clbu" not in cli_ok(srv, "rubric", "list")


def test_a_grant_needs_one_kind_of_holder(srv: Server) -> None:
    before = cli_ok(srv, "rubric", "show", "club")
    assert "say who" in cli_refused(srv, "rubric", "grant", "club", "visitor")
    assert "--user" in cli_refused(srv, "rubric", "grant", "club", "visitor",
                                   "--user", "lecteur", "--group", "4B")
    assert "--everyone" in cli_refused(srv, "rubric", "grant", "club", "visitor",
                                       "--everyone", "--profile", "teacher")
    assert cli_ok(srv, "rubric", "show", "club") == before


def test_revoking_a_grant_that_does_not_exist_is_refused(srv: Server) -> None:
    before = cli_ok(srv, "rubric", "show", "club")
    assert "no such grant" in cli_refused(srv, "rubric", "revoke", "club", "manager",
                                          "--user", "redac")
    assert "no such grant" in cli_refused(srv, "rubric", "revoke", "club", "visitor",
                                          "--group", "4B", "--profile", "teacher")
    assert "'fantome'" in cli_refused(srv, "rubric", "revoke", "club", "--user", "fantome")
    assert cli_ok(srv, "rubric", "show", "club") == before


def test_a_repeated_grant_is_reported_not_doubled(srv: Server) -> None:
    before = cli_ok(srv, "rubric", "show", "club")
    assert cli_ok(srv, "rubric", "grant", "club", "writer", "--user", "redac").strip() \
        == "already granted"
    assert cli_ok(srv, "rubric", "show", "club") == before


@pytest.mark.parametrize("slug", ["Club", "club photo", "-club", "club-", "é", "a" * 65,
                                  "../etc", ""])
def test_rubric_add_refuses_a_bad_slug(srv: Server, slug: str) -> None:
    before = cli_ok(srv, "rubric", "list")
    # After "--", argparse takes "-club" for the slug, not for an option.
    message = cli_refused(srv, "rubric", "add", "--name", "Mauvais", "--", slug)
    assert "invalid slug" in message and repr(slug) in message, message
    assert cli_ok(srv, "rubric", "list") == before


def test_rubric_add_refuses_a_slug_taken_or_an_unknown_parent(srv: Server) -> None:
    before = cli_ok(srv, "rubric", "list")
    assert "'club' already exists" in cli_refused(srv, "rubric", "add", "club",
                                                  "--name", "Autre club")
    assert "'absent'" in cli_refused(srv, "rubric", "add", "sous", "--name", "Sous",
                                     "--parent", "absent")
    assert cli_ok(srv, "rubric", "list") == before
    assert "Club photo" in before


def test_rubric_add_names_an_unknown_school_instead_of_creating_it(srv: Server) -> None:
    before = cli_ok(srv, "rubric", "list")
    message = cli_refused(srv, "rubric", "add", "cdi", "--name", "CDI",
                          "--school", "Colège Jean Moulin")  # a typo
    assert "no school 'Colège Jean Moulin'" in message
    assert cli_ok(srv, "rubric", "list") == before
    with srv.transaction() as s:
        assert s.query(acl.School).filter_by(name="Colège Jean Moulin").count() == 0


def test_the_real_command_exits_1_with_a_message(srv: Server) -> None:
    """The same refusals through the installed entry point in its own process."""
    done = srv.cli("rubric", "grant", "club", "visitor", "--group", "5Z", check=False)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.strip() == "davserver: no group or class '5Z' in this school"
    done = srv.cli("rubric", "grant", "club", "visitor", "--profile", "professeur",
                   check=False)
    assert done.returncode == 1 and "professeur" in done.stderr, done


# --- rubric show, publish ------------------------------------------------------------


def test_rubric_show_lists_who_holds_what(srv: Server) -> None:
    cli_ok(srv, "rubric", "add", "affiche", "--name", "Affichage", "--parent", "club")
    cli_ok(srv, "rubric", "grant", "affiche", "publisher", "--group", "club photo",
           "--profile", "teacher", "--subject", "MATHS")
    cli_ok(srv, "rubric", "grant", "affiche", "visitor", "--everyone")
    cli_ok(srv, "rubric", "grant", "affiche", "moderator", "--user", "gest")
    assert cli_ok(srv, "rubric", "show", "affiche").splitlines() == [
        "affiche: Affichage",
        "  under club; inherits its grants: yes",
        "  services: shared-folders",
        "  moderator  user gest",
        "  publisher  group club photo × profile teacher × subject MATHS",
        "  visitor    everyone in the school",
    ]
    cli_ok(srv, "rubric", "revoke", "affiche", "--everyone")
    assert "everyone" not in cli_ok(srv, "rubric", "show", "affiche")


def test_publish_and_withdraw_change_what_a_visitor_sees(srv: Server) -> None:
    writer, visitor = srv.session("redac"), srv.session("lecteur")
    url = rubric_url(srv, "club", "/expo/affiche.txt")
    assert writer.request("MKCOL", rubric_url(srv, "club", "/expo")).status_code == 201
    assert put(writer, url, b"affiche\n") == 201
    assert "expo" not in names(visitor, rubric_url(srv, "club"))

    assert cli_ok(srv, "rubric", "publish", "club", "/expo").strip() \
        == "club/expo: published"
    # The folder is published, the file in it still waits.
    assert members(visitor, rubric_url(srv, "club", "/expo")) == set()
    assert visitor.get(url).status_code == 404
    cli_ok(srv, "rubric", "publish", "club", "/expo/affiche.txt")
    assert members(visitor, rubric_url(srv, "club", "/expo")) == {"affiche.txt"}
    assert visitor.get(url).content == b"affiche\n"
    assert props(visitor, url) == {"publication-state": "published", "author": "redac"}

    assert cli_ok(srv, "rubric", "publish", "club", "/expo", "--withdraw").strip() \
        == "club/expo: pending"
    # A published file in a withdrawn folder is out of sight too.
    assert visitor.get(url).status_code == 404
    assert "expo" not in names(visitor, rubric_url(srv, "club"))
    assert writer.get(url).status_code == 200


def test_publish_names_a_missing_path(srv: Server) -> None:
    assert "'/nulle/part.txt'" in cli_refused(srv, "rubric", "publish", "club",
                                              "/nulle/part.txt")
    assert "'/'" in cli_refused(srv, "rubric", "publish", "club", "/")
