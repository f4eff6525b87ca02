"""The pure access decision, walked cell by cell (STYLE.md habit 11).

The expected table is written out by hand from issue 4 ("Rights on shared
folders"), not derived from ``acl.ROLE_PRIVILEGES``, so a change of the table in the
code that the issue does not ask for fails here.
"""

from __future__ import annotations

import pytest

from acl import NodeRef, Role, SpaceRef, Standing, allowed, privileges, publishes_at_once
from davserver.errors import Forbidden, NotFound

# One database is enough: the pure access decision
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

ME, OTHER = 1, 2
RUBRIC = SpaceRef("rubric", None)
ROOT = NodeRef(100)
FOLDER = NodeRef(101, author_id=OTHER, published=True)

# node kind → (author, published)
NODES = {
    "own-pending": (ME, False),
    "own-published": (ME, True),
    "other-pending": (OTHER, False),
    "other-published": (OTHER, True),
}
# role → privilege → the node kinds it reaches
EXPECTED: dict[str, dict[str, set[str]]] = {
    "visitor": {
        "read": {"own-published", "other-published"},
    },
    "writer": {
        "read": {"own-pending", "own-published", "other-published"},
        "write-content": {"own-pending", "own-published"},
        "write-properties": {"own-pending", "own-published"},
        "unbind": {"own-pending", "own-published"},
        "bind": {"own-published", "other-published", "own-pending"},
    },
    "moderator": {p: set(NODES) for p in ("read", "write-content", "write-properties",
                                          "unbind", "bind", "publish", "unlock")},
}
EXPECTED["publisher"] = EXPECTED["writer"]
EXPECTED["manager"] = {**EXPECTED["moderator"], "manage": set(NODES)}
for _role in EXPECTED.values():  # RFC 3744 §3.2: DAV:write where all four are held
    _role["write"] = set.intersection(*(_role.get(p, set()) for p in (
        "write-content", "write-properties", "bind", "unbind")))
PRIVILEGES = ("read", "write", "write-content", "write-properties", "bind", "unbind",
              "unlock", "publish", "manage")


@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("node", sorted(NODES))
@pytest.mark.parametrize("privilege", PRIVILEGES)
def test_role_table(role: str, node: str, privilege: str) -> None:
    author, published = NODES[node]
    standing = Standing(ME, RUBRIC, Role(role))
    chain = (ROOT, FOLDER, NodeRef(200, author_id=author, published=published))
    expected = node in EXPECTED[role].get(privilege, set())
    assert allowed(standing, privilege, chain) is expected


def test_without_role_nothing_is_allowed() -> None:
    standing = Standing(ME, RUBRIC, None)
    assert not standing.sees_space
    assert privileges(standing, (ROOT, FOLDER)) == []


def test_a_pending_folder_hides_what_it_holds_from_visitors() -> None:
    pending_folder = NodeRef(101, author_id=OTHER, published=False)
    file = NodeRef(200, author_id=OTHER, published=True)
    visitor = Standing(ME, RUBRIC, Role.visitor)
    moderator = Standing(ME, RUBRIC, Role.moderator)
    assert not allowed(visitor, "read", (ROOT, pending_folder, file))
    assert allowed(moderator, "read", (ROOT, pending_folder, file))


def test_folder_grants_add_to_the_rubric_role_below_that_folder_only() -> None:
    # The CA case: members only, its "Comptes rendus" folder readable by everyone.
    minutes = NodeRef(101, author_id=OTHER, published=True)
    other_folder = NodeRef(102, author_id=OTHER, published=True)
    file = NodeRef(200, author_id=OTHER, published=True)
    outsider = Standing(ME, RUBRIC, None, {101: Role.visitor})
    assert outsider.sees_space
    assert allowed(outsider, "read", (ROOT,))  # traversal to the granted folder
    assert allowed(outsider, "read", (ROOT, minutes, file))
    assert not allowed(outsider, "read", (ROOT, other_folder, file))
    assert not allowed(outsider, "bind", (ROOT, minutes))
    assert not allowed(outsider, "bind", (ROOT,))
    # A folder grant raises a weaker rubric role below the folder.
    member = Standing(ME, RUBRIC, Role.visitor, {101: Role.moderator})
    assert allowed(member, "publish", (ROOT, minutes, file))
    assert not allowed(member, "publish", (ROOT, other_folder, file))


def test_personal_spaces_belong_to_their_owner_only() -> None:
    mine = Standing(ME, SpaceRef("documents", ME))
    theirs = Standing(ME, SpaceRef("documents", OTHER))
    for privilege in ("read", "write", "write-content", "write-properties", "bind",
                      "unbind", "unlock"):
        assert allowed(mine, privilege)
        assert not allowed(theirs, privilege)
    assert not allowed(mine, "manage")


@pytest.mark.parametrize(("role", "at_once"), [("visitor", False), ("writer", False),
                                               ("publisher", True), ("moderator", True),
                                               ("manager", True)])
def test_who_publishes_at_once(role: str, at_once: bool) -> None:
    assert publishes_at_once(Standing(ME, RUBRIC, Role(role)), (ROOT,)) is at_once
    assert publishes_at_once(Standing(ME, SpaceRef("documents", ME)))


def test_require_hides_what_cannot_be_read() -> None:
    from acl import require

    visitor = Standing(ME, RUBRIC, Role.visitor)
    hidden = (ROOT, NodeRef(200, author_id=OTHER, published=False))
    shown = (ROOT, NodeRef(201, author_id=OTHER, published=True))
    with pytest.raises(NotFound):
        require(visitor, "write-content", hidden)
    with pytest.raises(Forbidden):
        require(visitor, "write-content", shown)
    with pytest.raises(ValueError, match="unknown privilege"):
        allowed(visitor, "delete", shown)


def test_an_imports_folder_is_its_school_administrators_whole() -> None:
    """``/dav/imports/<UAI>/``: the school's administrators (who reach it with a
    role) hold every DAV privilege there, never publish or manage; anyone else, none."""
    space = SpaceRef("imports", None)
    admin = Standing(7, space, role=Role.manager)
    node = (NodeRef(1), NodeRef(2, author_id=None))
    assert privileges(admin, node) == ["read", "write", "write-content", "write-properties",
                                       "bind", "unbind", "unlock"]
    assert privileges(Standing(8, space), node) == []
    assert not Standing(8, space).sees_space
