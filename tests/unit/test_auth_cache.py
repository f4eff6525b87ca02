"""Basic-auth verification (davserver.auth) with a real database: connections
opened together with the same credentials share one argon2 check, and no more checks
run at once than the pool has threads (each takes 19 MiB; issue 9's memory bound)."""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import pytest

import acl
from davserver import auth
from davserver.auth import CredentialVerifier
from davserver.db import Database


def test_concurrent_logins_share_one_check(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with db.transaction() as s:
        acl.create_user(s, "alice", "password-alice", "teacher")
    real = acl.check_password
    running, most, calls = [0], [0], [0]
    guard = threading.Lock()

    def counting(*args: Any) -> Any:  # the real check, counted
        with guard:
            running[0] += 1
            calls[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return real(*args)
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(auth.acl, "check_password", counting)
    verifier = CredentialVerifier(db, cache_ttl=60, check_threads=2)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(
        verifier.verify("alice", "password-alice"))) for _ in range(8)]
    threads += [threading.Thread(target=lambda: results.append(
        verifier.verify("alice", "wrong-password"))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for r in results if r is not None and r.login == "alice") == 8
    assert results.count(None) == 3
    assert most[0] <= 2  # no more checks at once than the pool's threads
    assert calls[0] <= 4  # one for the good password, at most one per wrong attempt


def test_an_expired_success_is_renewed_without_argon2_while_nothing_changed(
        db: Database) -> None:
    """After ``cache_ttl``, the same credentials cost one query, not an argon2 check,
    while the user is enabled and their hash is the one checked; a new password (even
    the same one typed again: a new salt) or a disabled account is checked again."""
    with db.transaction() as s:
        acl.create_user(s, "bob", "password-bob", "teacher")
    verifier = CredentialVerifier(db, cache_ttl=0.05)

    def expired_then_verified(password: str) -> acl.Principal | None:
        time.sleep(0.08)  # past cache_ttl
        assert verifier.recent(_basic("bob", password)) is None
        return verifier.verify("bob", password)

    assert verifier.verify("bob", "password-bob") is not None
    assert expired_then_verified("password-bob") is not None
    assert expired_then_verified("password-bob") is not None
    assert verifier.checks == 1
    assert verifier.recent(_basic("bob", "password-bob")) is not None  # renewed

    with db.transaction() as s:
        acl.set_password(s, "bob", "password-bob")
    assert expired_then_verified("password-bob") is not None
    assert verifier.checks == 2

    with db.transaction() as s:
        acl.set_password(s, "bob", "new-password-bob")
    assert expired_then_verified("password-bob") is None
    assert verifier.verify("bob", "new-password-bob") is not None
    assert verifier.checks == 4

    with db.transaction() as s:
        acl.disable_user(s, "bob")
    assert expired_then_verified("new-password-bob") is None


def test_renewal_stops_after_a_school_day(db: Database,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with db.transaction() as s:
        acl.create_user(s, "carl", "password-carl", "teacher")
    verifier = CredentialVerifier(db, cache_ttl=0.05)
    assert verifier.verify("carl", "password-carl") is not None
    monkeypatch.setattr(auth, "REVALIDATE_WITHIN", 0.06)
    time.sleep(0.08)
    assert verifier.verify("carl", "password-carl") is not None
    assert verifier.checks == 2  # a full check again


def _basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def test_a_full_cache_forgets_expired_successes_before_live_ones(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """With entries kept for renewal, a full cache must not drop a user who signed in
    a moment ago (they would need an argon2 check again, one at a time)."""
    monkeypatch.setattr(auth, "MAX_CACHE_ENTRIES", 4)
    logins = ["u1", "u2", "u3", "u4", "u5"]
    with db.transaction() as s:
        for login in logins:
            acl.create_user(s, login, f"password-{login}", "teacher")
    seconds = [0.0]  # the cache's clock, moved by hand: argon2 checks take what they take
    verifier = CredentialVerifier(db, cache_ttl=1.5, monotonic=lambda: seconds[0])
    assert verifier.verify("u1", "password-u1") is not None
    seconds[0] = 1.6  # u1's success expired (still renewable); the others are fresh
    for login in logins[1:]:
        assert verifier.verify(login, f"password-{login}") is not None
    for login in logins[1:]:  # u5 made the cache full: u1 went, the live ones stayed
        assert verifier.recent(_basic(login, f"password-{login}")) is not None, login
    checks = verifier.checks
    assert verifier.verify("u2", "password-u2") is not None
    assert verifier.checks == checks
