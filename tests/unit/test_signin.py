"""Sign-in pieces on a real database, without a server: the check pool's fairness and
bounds, the constant work of a failure, the upgrade of old hashes, a success that
writes nothing to the throttle, and the configuration's refusal of the removed key."""

from __future__ import annotations

import threading
import time

import pytest
from argon2 import PasswordHasher
from sqlalchemy import event, select

import acl
from davserver.auth import CredentialVerifier
from davserver.checkpool import CheckPool
from davserver.config import ConfigError, load_config
from davserver.db import Database
from davserver.errors import TooManyRequests


def test_the_pool_takes_addresses_in_turn() -> None:
    """Ten checks from one address (one running, nine waiting), then one from
    another: the other runs after one more of the flood (its turn), not after all."""
    pool = CheckPool(1, per_address=20, per_pair=20)
    order: list[str] = []
    gate = threading.Event()

    def job(name: str) -> None:
        gate.wait(5)
        order.append(name)

    threads = [threading.Thread(target=pool.run, args=("10.0.0.1", f"l{i}",
                                                       lambda i=i: job(f"flood{i}")))
               for i in range(10)]
    threads[0].start()
    time.sleep(0.1)  # the first flood job holds the only thread
    for t in threads[1:]:
        t.start()
    time.sleep(0.1)
    other = threading.Thread(target=pool.run, args=("10.0.0.2", "alice",
                                                    lambda: job("good")))
    other.start()
    time.sleep(0.1)
    gate.set()
    for t in [*threads, other]:
        t.join(5)
    assert order[:3] == ["flood0", "flood1", "good"]
    assert len(order) == 11


def test_the_pool_refuses_more_than_its_bounds_at_once() -> None:
    pool = CheckPool(1, per_address=3, per_pair=2)
    gate = threading.Event()
    started = [threading.Thread(target=pool.run, args=("10.0.0.1", "bob", lambda: gate.wait(5)))
               for _ in range(2)]
    for t in started:
        t.start()
    time.sleep(0.1)
    with pytest.raises(TooManyRequests) as refused:
        pool.run("10.0.0.1", "bob", lambda: None)  # a third for the same pair
    assert refused.value.retry_after == 1
    extra = threading.Thread(target=pool.run, args=("10.0.0.1", "carl", lambda: gate.wait(5)))
    extra.start()
    time.sleep(0.1)
    with pytest.raises(TooManyRequests):
        pool.run("10.0.0.1", "dora", lambda: None)  # a fourth from the address
    gate.set()
    for t in [*started, extra]:
        t.join(5)
    assert pool.run("10.0.0.1", "dora", lambda: "after") == "after"


def test_unknown_and_disabled_logins_cost_a_check_like_a_wrong_password(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with db.transaction() as s:
        acl.create_user(s, "alice", "password-alice", "teacher")
        acl.create_user(s, "carol", "password-carol", "teacher")
        acl.disable_user(s, "carol")
    checked: list[str] = []
    real = acl.check_password
    monkeypatch.setattr(acl, "check_password",
                        lambda h, p: checked.append(p) or real(h, p))
    verifier = CredentialVerifier(db)
    assert verifier.verify("alice", "wrong", "10.0.0.1") is None
    assert verifier.verify("nobody", "password-x", "10.0.0.1") is None
    assert verifier.verify("carol", "password-carol", "10.0.0.1") is None
    assert checked == ["wrong", "password-x", "password-carol"]


def test_an_old_hash_is_upgraded_at_sign_in_and_a_clean_success_writes_no_throttle(
        db: Database) -> None:
    old = PasswordHasher()  # argon2-cffi's default: 64 MiB, t=3, p=4
    with db.transaction() as s:
        acl.create_user(s, "bob", "password-bob", "teacher")
        user = s.scalar(select(acl.User).where(acl.User.login == "bob"))
        assert user is not None
        user.password_hash = old.hash("password-bob")
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda *args: statements.append(str(args[2]).split()[0].upper()))
    verifier = CredentialVerifier(db, cache_ttl=0)
    assert verifier.verify("bob", "password-bob", "10.0.0.1") is not None
    with db.transaction(write=False) as s:
        stored = acl.password_record(s, "bob")
    assert stored is not None
    assert "$m=19456,t=2,p=1$" in stored[1]
    assert acl.check_password(stored[1], "password-bob")
    statements.clear()
    assert verifier.verify("bob", "password-bob", "10.0.0.1") is not None
    assert "DELETE" not in statements  # nothing to reset: the throttle is not written
    assert statements.count("UPDATE") == 0  # no rehash either


def test_the_removed_failure_delay_key_says_what_replaced_it() -> None:
    with pytest.raises(ConfigError) as error:
        load_config(environ={"DAVSERVER_AUTH__FAILURE_DELAY": "0.5"})
    assert "auth.failure_delay" in str(error.value)
    assert "throttled instead" in str(error.value)
    assert load_config(environ={}).auth.throttle_after == 5
