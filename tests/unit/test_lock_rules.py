"""Lock conflict rules (RFC 4918 §6.1, §6.2, §7) and lifetimes, as pure functions, and
the configuration keys that bound them (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest

from davserver.config import ConfigError, load_config
from providers.lock_rules import lock_conflicts, write_conflicts
from providers.locks import clamp_timeout, relative_path, space_of_root


def lock(root: str, scope: str = "exclusive", depth: str = "0", principal: str = "ann",
         token: str | None = None) -> dict[str, Any]:
    return {"root": root, "scope": scope, "depth": depth, "principal": principal,
            "token": token or f"tok-{principal}-{root}-{scope}"}


# existing lock (root, scope, depth) → new lock (url, scope, depth) → conflict?
CONFLICTS = [
    # same resource: only shared with shared
    (("/1/d/f", "shared", "0"), ("/1/d/f", "shared", "0"), False),
    (("/1/d/f", "shared", "0"), ("/1/d/f", "exclusive", "0"), True),
    (("/1/d/f", "exclusive", "0"), ("/1/d/f", "shared", "0"), True),
    (("/1/d/f", "exclusive", "0"), ("/1/d/f", "exclusive", "0"), True),
    # a folder above: only its depth-infinity lock covers the resource
    (("/1/d", "exclusive", "0"), ("/1/d/f", "exclusive", "0"), False),
    (("/1/d", "exclusive", "infinity"), ("/1/d/f", "shared", "0"), True),
    (("/1/d", "shared", "infinity"), ("/1/d/f", "shared", "0"), False),
    (("/1/d", "shared", "infinity"), ("/1/d/f", "exclusive", "0"), True),
    # below: only a depth-infinity request covers it
    (("/1/d/f", "exclusive", "0"), ("/1/d", "exclusive", "0"), False),
    (("/1/d/f", "shared", "0"), ("/1/d", "exclusive", "infinity"), True),
    (("/1/d/f", "shared", "0"), ("/1/d", "shared", "infinity"), False),
    (("/1/d/f", "exclusive", "0"), ("/1/d", "shared", "infinity"), True),
    # a sibling whose name starts the same is not below
    (("/1/dd", "exclusive", "infinity"), ("/1/d", "exclusive", "infinity"), False),
    (("/1/d", "exclusive", "infinity"), ("/1/dd", "exclusive", "0"), False),
]


@pytest.mark.parametrize(("existing", "new", "expected"), CONFLICTS)
def test_lock_conflicts(existing: tuple[str, str, str], new: tuple[str, str, str],
                        expected: bool) -> None:
    found = lock_conflicts([lock(*existing)], *new)
    assert bool(found) is expected
    if expected:
        assert found == [existing[0]]


def test_two_holders_of_shared_locks_each_write_with_their_own_token() -> None:
    """Case BUG-13: WsgiDAV wanted every holder's token, so each got 423."""
    ann, bob = lock("/1/f", "shared", principal="ann"), lock("/1/f", "shared", principal="bob")
    assert write_conflicts([ann, bob], [], [ann["token"]], "ann") == []
    assert write_conflicts([ann, bob], [], [bob["token"]], "bob") == []
    assert write_conflicts([ann, bob], [], [], "ann") == ["/1/f", "/1/f"]
    # a token counts for its holder only
    assert write_conflicts([ann, bob], [], [ann["token"]], "bob") == ["/1/f", "/1/f"]


def test_a_write_needs_the_token_of_an_exclusive_lock_above() -> None:
    above = lock("/1/d", "exclusive", "infinity", principal="ann")
    assert write_conflicts([above], [], [], "ann") == ["/1/d"]
    assert write_conflicts([above], [], [above["token"]], "ann") == []


def test_a_depth_infinity_write_needs_every_lock_below() -> None:
    first, second = lock("/1/d/a", principal="ann"), lock("/1/d/b", principal="ann")
    assert write_conflicts([], [first, second], [first["token"]], "ann") == ["/1/d/b"]
    assert write_conflicts([], [first, second], [first["token"], second["token"]],
                           "ann") == []


@pytest.mark.parametrize(("asked", "granted"), [
    (None, 3600),      # no Timeout header
    (-1, 3600),        # Timeout: Infinite
    (600, 600),
    (3600, 3600),
    (7200, 3600),      # more than the maximum
    (604800, 3600),    # WsgiDAV's old default, a week
])
def test_lifetimes_are_capped(asked: float | None, granted: float) -> None:
    assert clamp_timeout(asked, 3600) == granted


def test_lock_roots_name_their_space_and_path() -> None:
    assert space_of_root("/12/porte-documents/a%20b") == 12
    assert space_of_root("/-/rubriques") is None
    assert relative_path("/12/porte-documents/a%20b/c", "documents") == "/a b/c"
    assert relative_path("/7/rubriques/club", "rubric") == ""
    assert relative_path("/7/rubriques/club/Devoirs", "rubric") == "/Devoirs"
    # macOS spells names in NFD; the store in NFC
    assert relative_path("/12/porte-documents/e%CC%81t%C3%A9", "documents") == "/\u00e9t\u00e9"


def test_lock_settings_are_validated() -> None:
    config = load_config(environ={})
    assert (config.dav.lock_max_timeout, config.dav.max_locks_per_user) == (3600, 1000)
    with pytest.raises(ConfigError, match=r"dav\.lock_max_timeout"):
        load_config(environ={"DAVSERVER_DAV__LOCK_MAX_TIMEOUT": "5"})
    with pytest.raises(ConfigError, match=r"dav\.max_locks_per_user"):
        load_config(environ={"DAVSERVER_DAV__MAX_LOCKS_PER_USER": "0"})
    with pytest.raises(ConfigError, match="renamed lock_max_timeout"):
        load_config(environ={"DAVSERVER_DAV__LOCK_TIMEOUT_MAX": "604800"})
