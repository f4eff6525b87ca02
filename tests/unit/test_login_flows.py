"""Login Flow v2's rules on a real database (:mod:`acl.login_flows`): the device's name
from the apps' User-Agents, the password sealed so that only the poll token opens it,
one delivery, the 20 minutes, the purge."""

from __future__ import annotations

from datetime import timedelta

import pytest

import acl
from acl import login_flows
from davserver import clock
from davserver.db import Database
from davserver.errors import NotFound


@pytest.mark.one_database
@pytest.mark.parametrize(("agent", "label"), [
    ("Mozilla/5.0 (Linux) mirall/3.7.3git (Nextcloud, debian-6.1.0-13-amd64 "
     "ClientArchitecture: x86_64 OsArchitecture: x86_64)", "Nextcloud sur ordinateur (Linux)"),
    ("Mozilla/5.0 (Windows) mirall/3.14.1stable-Win64 (build 20240911) (Nextcloud, windows-"
     "10.0.22631 ClientArchitecture: x86_64 OsArchitecture: x86_64)",
     "Nextcloud sur ordinateur (Windows)"),
    ("Mozilla/5.0 (Macintosh) mirall/3.13.0 (Nextcloud, osx-23.5.0 ClientArchitecture: "
     "arm64 OsArchitecture: arm64)", "Nextcloud sur ordinateur (macOS)"),
    ("Mozilla/5.0 (Linux) mirall/2.11.0 (ownCloud, debian-6.1 ClientArchitecture: x86_64)",
     "ownCloud sur ordinateur (Linux)"),
    ("Mozilla/5.0 (Android) Nextcloud-android/3.26.0", "Nextcloud sur Android"),
    ("Mozilla/5.0 (iOS) Nextcloud-iOS/4.9.5", "Nextcloud sur iPhone ou iPad"),
    ("curl/7.88.1", "curl/7.88.1"),
    ("", "Appareil inconnu"),
    ("x" * 300, "x" * 79 + "…"),
])
def test_the_device_is_named_from_the_user_agent(agent: str, label: str) -> None:
    assert login_flows.device_label(agent) == label


def _user(db: Database) -> acl.Principal:
    with db.transaction() as s:
        return acl.create_user(s, "prof", "Secret#2026-long", "teacher")


def test_the_password_is_sealed_for_the_poll_token_only(db: Database) -> None:
    user = _user(db)
    with db.transaction() as s:
        flow = login_flows.start_flow(s, "Mozilla/5.0 (Android) Nextcloud-android/3.26.0",
                                      "https://ent.example.fr", "192.0.2.7")
    with db.transaction() as s:
        assert login_flows.poll_flow(s, flow.poll_token) is None  # pending
        login_flows.grant_flow(s, flow.login_token, user)
    with db.transaction() as s:
        row = s.query(acl.LoginFlow).one()
        assert row.sealed_secret and row.login == "prof"
        assert login_flows.poll_flow(s, flow.login_token) is None  # the browser's token
    with db.transaction() as s:
        delivered = login_flows.poll_flow(s, flow.poll_token)
    assert delivered is not None and delivered.login == "prof"
    assert delivered.server == "https://ent.example.fr"
    with db.transaction() as s:
        hashes = {r.label: r.secret_hash for r in s.query(acl.AppPassword)}
        assert hashes == {"Nextcloud sur Android": acl.secret_hash(delivered.app_password)}
        assert login_flows.poll_flow(s, flow.poll_token) is None  # once


def test_a_flow_lives_twenty_minutes_and_its_row_an_hour_more(db: Database) -> None:
    """The clock moved on (relative to now, whatever the date): a pending flow can no
    longer be granted, a granted one no longer delivered; an hour later the next start
    removes both, and the uncollected password."""
    user = _user(db)
    saved = clock.shift()
    try:
        with db.transaction() as s:
            late = login_flows.start_flow(s, "a", "https://ent.example.fr", None)
            kept = login_flows.start_flow(s, "b", "https://ent.example.fr", None)
            login_flows.grant_flow(s, kept.login_token, user)
        clock.set_shift(saved + timedelta(seconds=20 * 60 + 1))
        with db.transaction() as s, pytest.raises(NotFound, match="expired"):
            login_flows.grant_flow(s, late.login_token, user)
        with db.transaction() as s:
            assert login_flows.poll_flow(s, kept.poll_token) is None
            assert login_flows.poll_known(s, kept.poll_token)  # known: never throttled
        clock.set_shift(saved + timedelta(seconds=20 * 60 + 3601))
        with db.transaction() as s:
            login_flows.start_flow(s, "c", "https://ent.example.fr", None)
        with db.transaction() as s:
            assert not login_flows.poll_known(s, kept.poll_token)
            assert s.query(acl.AppPassword).count() == 0  # nobody collected it
            assert s.query(acl.LoginFlow).count() == 1
    finally:
        clock.set_shift(saved)
