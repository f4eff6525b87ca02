"""How the file manager writes sizes, times and download names (pure functions)."""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask_babel import Babel

from web.documents.downloads import attachment
from web.documents.present import human_size, local_time

# One database is enough: pure functions
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database


@pytest.fixture(autouse=True)
def french() -> Iterator[None]:
    app = Flask(__name__)
    Babel(app, locale_selector=lambda: "fr")
    with app.test_request_context():
        yield


@pytest.mark.parametrize("size,shown", [
    (0, "0 octets"), (1, "1 octet"), (1023, "1023 octets"), (1024, "1 Ko"),
    (1536, "1,5 Ko"), (500 * 2**20, "500 Mo"), (int(2.25 * 2**30), "2,2 Go"),
    (3 * 2**40, "3 To"), (5000 * 2**40, "5\u202f000 To"),
])
def test_sizes_are_binary_units_with_a_decimal_comma(size: int, shown: str) -> None:
    assert human_size(size) == shown


def test_times_are_in_the_school_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert local_time(1782900000, paris) == "01/07/2026 12:00"  # summer: UTC+2
    assert local_time(1795000000, paris) == "18/11/2026 12:06"  # winter: UTC+1
    assert local_time(1795000000, ZoneInfo("America/Cayenne")) == "18/11/2026 08:06"


def test_download_names_have_an_ascii_fallback_and_the_utf8_name() -> None:
    assert attachment('résumé "final".pdf') == (
        "attachment; filename=\"resume final.pdf\"; "
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf")
    assert attachment("日本.txt").startswith('attachment; filename=".txt";')
    assert attachment("\n").startswith('attachment; filename="fichier";')
