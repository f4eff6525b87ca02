"""acl's management queries on a real database (SQLite, and PostgreSQL when
configured): grants with their holder's parts, revoking one grant by id, a rubric's
invitations, a user's pending count, and every rubric a user holds a role in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import acl
from davserver.db import Database
from davserver.errors import NotFound

NOW = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def school(db: Database) -> Database:
    """Users ann (teacher, in the théâtre group) and ben (student); rubrics club and
    ca (another rubric, shared folders off)."""
    with db.transaction() as s:
        school_id = acl.ensure_school(s, "Collège Jean Moulin")
        theatre = acl.ensure_group(s, school_id, "théâtre", "group")
        ann = acl.create_user(s, "ann", "secret-password-1", "teacher", school_id=school_id)
        acl.create_user(s, "ben", "secret-password-1", "student", school_id=school_id)
        acl.add_member(s, theatre, ann.id)
        acl.ensure_subject(s, school_id, "FR", "Français")
        acl.add_rubric(s, "club", "Club théâtre")
        acl.add_rubric(s, "ca", "Conseil d'administration", services=[])
    return db


def test_grants_of_gives_the_holder_parts(school: Database) -> None:
    with school.transaction() as s:
        acl.grant(s, "club", "manager", user="ann")
        school_id = acl.get_rubric(s, "club").school_id
        acl.grant(s, "club", "visitor", pop=acl.population(
            s, school_id, group="théâtre", profile="student", subject="FR"))
        acl.grant(s, "club", "visitor")
        grants = acl.grants_of(s, "club")
    assert [(g.role.value, g.login, g.group, g.profile, g.subject) for g in grants] == [
        ("manager", "ann", None, None, None),
        ("visitor", None, None, None, None),
        ("visitor", None, "théâtre", acl.Profile.student, "FR"),
    ]
    assert [g.holder for g in grants] == [
        "user ann", "everyone in the school",
        "group théâtre × profile student × subject FR"]
    assert len({g.id for g in grants}) == 3 and all(g.id > 0 for g in grants)


def test_revoke_grant_removes_that_grant_only(school: Database) -> None:
    with school.transaction() as s:
        acl.add_rubric(s, "other", "Autre")
        acl.grant(s, "club", "writer", user="ben")
        acl.grant(s, "club", "visitor", user="ben")
        acl.grant(s, "other", "visitor", user="ben")
        writer = next(g for g in acl.grants_of(s, "club") if g.role == acl.Role.writer)
        elsewhere = acl.grants_of(s, "other")[0]
    with school.transaction() as s:
        acl.revoke_grant(s, "club", writer.id)
    with school.transaction() as s:
        assert [g.role.value for g in acl.grants_of(s, "club")] == ["visitor"]
        with pytest.raises(NotFound, match="no grant"):
            acl.revoke_grant(s, "club", elsewhere.id)  # another rubric's grant
        with pytest.raises(NotFound, match="no rubric"):
            acl.revoke_grant(s, "nope", elsewhere.id)
        assert len(acl.grants_of(s, "other")) == 1


def test_invitations_of_and_pending_count(school: Database) -> None:
    with school.transaction() as s:
        ben = acl.find_user(s, "ben")
        assert ben is not None
        acl.invite(s, "club", "writer", "ben", now=NOW - timedelta(days=20))  # expired
        acl.invite(s, "ca", "visitor", "ben", now=NOW)
        first = acl.invite(s, "club", "visitor", "ben", now=NOW)
        assert acl.pending_invitation_count(s, ben.id, now=NOW) == 2
        acl.answer(s, first.id, "ben", accept=False, now=NOW)
        assert acl.pending_invitation_count(s, ben.id, now=NOW) == 1
        assert acl.pending_invitation_count(s, ben.id, now=NOW + timedelta(days=15)) == 0
        listed = acl.invitations_of(s, "club", now=NOW)
    assert [(i.role.value, i.status.value, i.login) for i in listed] == [
        ("visitor", "declined", "ben"), ("writer", "expired", "ben")]


def test_visible_rubrics_with_any_service(school: Database) -> None:
    with school.transaction() as s:
        acl.grant(s, "club", "visitor", user="ann")
        acl.grant(s, "ca", "manager", user="ann")
        ann = acl.find_user(s, "ann")
        assert ann is not None
        ctx = acl.user_context(s, ann.id)
        shared = acl.visible_rubrics(s, ctx)
        every = acl.visible_rubrics(s, ctx, service=None)
    assert [r.slug for r, _ in shared] == ["club"]
    assert [(r.slug, st.role.value if st.role else None) for r, st in every] == [
        ("ca", "manager"), ("club", "visitor")]
