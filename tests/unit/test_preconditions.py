"""The pieces of RFC 7232 evaluation that a live server's table cannot reach easily:
dates in their three forms and their invalid look-alikes, entity-tag lists as clients
write them, and the order of §6 when several headers disagree
(``tests/integration/test_conditional_requests.py`` has the table of every method and
resource)."""

from __future__ import annotations

import time

import pytest

from providers.preconditions import (
    MISSING,
    Failure,
    Validators,
    evaluate,
    parse_http_date,
    parse_tags,
    range_applies,
)

# One database is enough: pure functions
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

NOV_6_1994 = 784111777
FILE = Validators(True, "abc123", NOV_6_1994)
FOLDER = Validators(True, None, NOV_6_1994)


@pytest.mark.parametrize(("text", "seconds"), [
    ("Sun, 06 Nov 1994 08:49:37 GMT", NOV_6_1994),       # IMF-fixdate
    ("Sunday, 06-Nov-94 08:49:37 GMT", NOV_6_1994),      # RFC 850
    ("Sun Nov  6 08:49:37 1994", NOV_6_1994),            # asctime
    (" sun, 06 nov 1994 08:49:37 gmt ", NOV_6_1994),
    ("Sun, 06 Nov 1994 08:49:37 +0100", None),           # HTTP-dates are GMT
    ("Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT", None),  # a list
    ("Mon, 31 Feb 1994 08:49:37 GMT", None),
    ("Sun, 06 Nov 1994 25:49:37 GMT", None),
    ("yesterday", None), ("", None), ("1994-11-06T08:49:37Z", None),
])
def test_http_dates(text: str, seconds: int | None) -> None:
    assert parse_http_date(text, this_year=2026) == seconds


@pytest.mark.parametrize(("text", "this_year", "year"), [
    ("Thursday, 01-Jan-70 00:00:00 GMT", 2026, 2070),   # 44 years ahead: not the past
    ("Wednesday, 01-Jan-77 00:00:00 GMT", 2026, 1977),  # 51 years ahead: the past
    ("Sunday, 06-Nov-94 08:49:37 GMT", 2026, 1994),
    ("Sunday, 06-Nov-94 08:49:37 GMT", 2090, 2094),
    ("Monday, 01-Jan-01 00:00:00 GMT", 2099, 2101),
])
def test_two_digit_years(text: str, this_year: int, year: int) -> None:
    """RFC 7231 §7.1.1.1: more than 50 years ahead is the most recent past year."""
    seconds = parse_http_date(text, this_year=this_year)
    assert seconds is not None
    assert time.gmtime(seconds).tm_year == year


@pytest.mark.parametrize(("value", "tags"), [
    ('"abc"', [(False, "abc")]),
    ('W/"abc"', [(True, "abc")]),
    ('"a", W/"b" ,"c"', [(False, "a"), (True, "b"), (False, "c")]),
    ('"a,b"', [(False, "a,b")]),                          # a comma inside a tag
    ('""', [(False, "")]),
    ("abc", [(False, "abc")]),                            # quotes stripped by the client
    ("W/abc", [(True, "abc")]),
    ("some text, more", [(False, "some text"), (False, "more")]),
])
def test_entity_tag_lists(value: str, tags: list[tuple[bool, str]]) -> None:
    assert parse_tags(value) == tags


@pytest.mark.parametrize(("method", "headers", "target", "outcome"), [
    # If-Match: strong comparison; "*" needs a current representation
    ("PUT", {"HTTP_IF_MATCH": '"abc123"'}, FILE, None),
    ("PUT", {"HTTP_IF_MATCH": 'W/"abc123"'}, FILE, Failure(412, "If-Match")),
    ("PUT", {"HTTP_IF_MATCH": "*"}, MISSING, Failure(412, "If-Match")),
    ("PUT", {"HTTP_IF_MATCH": '"x"'}, FOLDER, Failure(412, "If-Match")),
    ("DELETE", {"HTTP_IF_MATCH": "*"}, FOLDER, None),
    # If-Unmodified-Since only without If-Match; ignored when invalid or dateless
    ("PUT", {"HTTP_IF_MATCH": '"abc123"', "HTTP_IF_UNMODIFIED_SINCE":
             "Sat, 05 Nov 1994 08:49:37 GMT"}, FILE, None),
    ("PUT", {"HTTP_IF_UNMODIFIED_SINCE": "Sat, 05 Nov 1994 08:49:37 GMT"}, FILE,
     Failure(412, "If-Unmodified-Since")),
    ("PUT", {"HTTP_IF_UNMODIFIED_SINCE": "not a date"}, FILE, None),
    ("PUT", {"HTTP_IF_UNMODIFIED_SINCE": "Sat, 05 Nov 1994 08:49:37 GMT"}, MISSING, None),
    # If-None-Match: weak comparison; 304 for GET and HEAD, 412 otherwise
    ("GET", {"HTTP_IF_NONE_MATCH": 'W/"abc123"'}, FILE, Failure(304, "If-None-Match")),
    ("HEAD", {"HTTP_IF_NONE_MATCH": "*"}, FILE, Failure(304, "If-None-Match")),
    ("PUT", {"HTTP_IF_NONE_MATCH": "*"}, FILE, Failure(412, "If-None-Match")),
    ("PUT", {"HTTP_IF_NONE_MATCH": "*"}, MISSING, None),
    ("PUT", {"HTTP_IF_NONE_MATCH": "an etag of the client's own"}, FILE, None),
    # If-Modified-Since: GET and HEAD only, not when If-None-Match is there
    ("GET", {"HTTP_IF_MODIFIED_SINCE": "Sun, 06 Nov 1994 08:49:37 GMT"}, FILE,
     Failure(304, "If-Modified-Since")),
    ("GET", {"HTTP_IF_MODIFIED_SINCE": "Sun, 06 Nov 1994 08:49:36 GMT"}, FILE, None),
    ("PUT", {"HTTP_IF_MODIFIED_SINCE": "Sun, 06 Nov 1994 08:49:37 GMT"}, FILE, None),
    ("GET", {"HTTP_IF_NONE_MATCH": '"other"',
             "HTTP_IF_MODIFIED_SINCE": "Sun, 06 Nov 1994 08:49:37 GMT"}, FILE, None),
    # the order: If-Match before If-None-Match, If-Unmodified-Since before 304
    ("GET", {"HTTP_IF_MATCH": '"x"', "HTTP_IF_NONE_MATCH": "*"}, FILE,
     Failure(412, "If-Match")),
    ("GET", {"HTTP_IF_UNMODIFIED_SINCE": "Sat, 05 Nov 1994 08:49:37 GMT",
             "HTTP_IF_NONE_MATCH": "*"}, FILE, Failure(412, "If-Unmodified-Since")),
])
def test_evaluation_order(method: str, headers: dict[str, str], target: Validators,
                          outcome: Failure | None) -> None:
    assert evaluate(method, headers, target) == outcome


@pytest.mark.parametrize(("if_range", "applies"), [
    (None, True), ('"abc123"', True), ('W/"abc123"', False), ('"other"', False),
    ('"abc123", "other"', False), ("Sun, 06 Nov 1994 08:49:37 GMT", True),
    ("Sun, 06 Nov 1994 08:49:38 GMT", False), ("garbage", False),
])
def test_if_range(if_range: str | None, applies: bool) -> None:
    headers = {} if if_range is None else {"HTTP_IF_RANGE": if_range}
    assert range_applies(headers, FILE) is applies
