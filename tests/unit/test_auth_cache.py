"""Basic-auth verification (davserver.auth) with a real database: connections
opened together with the same credentials share one argon2 check, and checks run
one at a time (each takes 64 MiB; issue 9's memory bound)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import acl
from davserver import auth
from davserver.auth import CredentialVerifier
from davserver.db import Database


def test_concurrent_logins_share_one_check(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with db.transaction() as s:
        acl.create_user(s, "alice", "password-alice", "teacher")
    real = acl.verify_credentials
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

    monkeypatch.setattr(auth.acl, "verify_credentials", counting)
    verifier = CredentialVerifier(db, cache_ttl=60, failure_delay=0)
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
    assert most[0] == 1  # one argon2 check at a time
    assert calls[0] <= 4  # one for the good password, at most one per wrong attempt
