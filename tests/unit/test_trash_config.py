"""``trash.max_share`` (issue 17): a share of a space's quota its trash may hold,
given as a number between 0 and 1 or as a percentage, validated like every key (an
error naming the key and the file), and handed to the quota policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from davserver.config import ConfigError, load_config, parse_share

# Configuration, refused or read before any SQL.
pytestmark = pytest.mark.one_database

DEFAULTS = Path(__file__).resolve().parents[2] / "config.yaml"


@pytest.mark.parametrize(("given", "share"), [
    ("50%", 0.5), ("12.5 %", 0.125), (0.3, 0.3), ("1", 1.0), (0, 0.0), ("100%", 1.0)])
def test_a_share_is_a_fraction_or_a_percentage(given: float | str, share: float) -> None:
    assert parse_share(given) == share


def test_the_documented_default_is_half(tmp_path: Path) -> None:
    assert load_config(DEFAULTS, environ={}).trash.max_share == 0.5
    assert load_config(DEFAULTS, environ={"DAVSERVER_TRASH__MAX_SHARE": "20%"}
                       ).trash.max_share == 0.2


@pytest.mark.parametrize("bad", ["150%", "-1", "1.5", "half", "true"])
def test_a_bad_share_names_the_key_and_the_file(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"trash:\n  max_share: '{bad}'\n")
    with pytest.raises(ConfigError, match=r"config\.yaml: trash\.max_share: .*share"):
        load_config(path, environ={})
