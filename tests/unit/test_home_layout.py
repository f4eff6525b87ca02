"""The home page's arrangement as a pure rule (``acl.arranged``): the user's order,
stored names the page no longer has ignored, new blocks at their default place."""

from __future__ import annotations

import pytest

from acl import HomeLayout, arranged

pytestmark = pytest.mark.one_database  # pure functions
DEFAULTS = ["lessons", "handins", "bookings", "files", "rubrics", "account"]


def test_no_arrangement_is_the_default_page() -> None:
    assert arranged(HomeLayout(), DEFAULTS) == [(n, False) for n in DEFAULTS]


def test_the_users_order_and_hidden_blocks() -> None:
    layout = HomeLayout(("account", "files", "lessons", "handins", "bookings", "rubrics"),
                        frozenset({"bookings"}))
    assert arranged(layout, DEFAULTS) == [
        ("account", False), ("files", False), ("lessons", False), ("handins", False),
        ("bookings", True), ("rubrics", False)]


def test_unknown_names_are_ignored_and_new_blocks_keep_their_default_place() -> None:
    """``handins`` and ``rubrics`` came after the user arranged the page: each comes
    right after the block that precedes it by default; ``meteo`` is gone."""
    layout = HomeLayout(("meteo", "account", "lessons", "bookings", "files", "files"),
                        frozenset({"meteo", "files"}))
    assert arranged(layout, DEFAULTS) == [
        ("account", False), ("lessons", False), ("handins", False), ("bookings", False),
        ("files", True), ("rubrics", False)]


def test_a_new_first_block_comes_first() -> None:
    assert [n for n, _h in arranged(HomeLayout(("account", "files")), ["lessons", "files",
                                                                       "account"])] == [
        "lessons", "account", "files"]
