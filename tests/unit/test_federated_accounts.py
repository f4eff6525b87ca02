"""Accounts made from a federated identity (:func:`acl.create_federated_account`): a
free login, the school and profile, the external id; the same identity made twice at
once (two first sign-ins) ends with one account. On both databases: a constraint
error inside a savepoint."""

from __future__ import annotations

from sqlalchemy import func, select

import acl
from acl.models import User
from davserver.db import Database


def test_the_same_identity_made_twice_gives_one_account(db: Database) -> None:
    with db.transaction() as s:
        school = acl.add_school(s, "Lycée Alpha", uai="0750654D").id
    with db.transaction() as s:
        first = acl.create_federated_account(s, "aaf", "ada", profile="teacher",
                                             school_id=school, first_name=" Ada ",
                                             last_name="Lovelace")
    with db.transaction() as s:  # a request that looked before the first one wrote
        second = acl.create_federated_account(s, "aaf", "ada", profile="teacher",
                                              school_id=school, first_name="Ada",
                                              last_name="Lovelace")
        other = acl.create_federated_account(s, "educonnect", "ada-eleve",
                                             profile="student", school_id=school,
                                             first_name="Ada", last_name="Lovelace")
    assert second.principal == first.principal
    assert first.principal.login == "ada.lovelace"
    assert other.principal.login == "ada.lovelace.2"
    with db.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 2
        assert acl.identity_school_uais(s, first.principal.id) == ["0750654D"]
        user = s.get_one(User, first.principal.id)
        assert (user.first_name, user.display_name) == ("Ada", "Ada Lovelace")


def test_the_schools_of_an_identity_home_first(db: Database) -> None:
    with db.transaction() as s:
        beta = acl.add_school(s, "Collège Beta", uai="0690001B").id
        alpha = acl.add_school(s, "Lycée Alpha", uai="0750654D").id
        made = acl.create_federated_account(s, "aaf", "ada", profile="teacher",
                                            school_id=alpha, first_name="Ada",
                                            last_name="Lovelace")
        acl.join_school(s, made.principal.id, beta)
        loner = acl.create_user(s, "admin.seul", "secret-password-1", "admin")
    with db.transaction(write=False) as s:
        assert acl.identity_school_uais(s, made.principal.id) == ["0750654D", "0690001B"]
        assert acl.identity_school_uais(s, loner.id) == []
