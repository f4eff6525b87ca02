"""What counts as an outage of a shared service (``davserver/outage.py``), and which
ranges nginx may serve for a handed-over download (``providers/handoff.py``)."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from davserver.errors import Conflict, ServiceUnavailable
from davserver.outage import DATABASE_MESSAGE, headers_of, log_failure, outage_of
from providers import BlobStoreUnavailable
from providers.handoff import single_range

# One database is enough: pure functions (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database


def _wrapped(driver_error: Exception) -> sa_exc.DBAPIError:
    return sa_exc.OperationalError("SELECT 1", {}, driver_error)


@pytest.mark.parametrize("error", [
    _wrapped(sqlite3.OperationalError("database is locked")),
    sa_exc.InterfaceError("SELECT 1", {}, Exception("connection already closed")),
    sa_exc.TimeoutError("QueuePool limit reached"),
    sqlite3.OperationalError("unable to open database file"),
])
def test_database_errors_are_outages(error: Exception) -> None:
    found = outage_of(error)
    assert found is not None and found.message == DATABASE_MESSAGE
    assert headers_of(found) == [("Retry-After", "5")]


def test_a_store_outage_is_itself_and_found_through_its_causes() -> None:
    store = BlobStoreUnavailable("The file store is not answering")
    assert outage_of(store) is store
    try:
        try:
            raise store
        except BlobStoreUnavailable as inner:
            raise RuntimeError("while streaming") from inner
    except RuntimeError as outer:
        assert outage_of(outer) is store
    assert isinstance(store, ServiceUnavailable) and store.status == 503


@pytest.mark.parametrize("error", [
    ValueError("a bug"), Conflict("a refusal"), sqlite3.IntegrityError("UNIQUE"),
    sa_exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")),
    sa_exc.ProgrammingError("SELECT", {}, Exception("syntax error")),
    # SQLite's OperationalError of a fault: a missing table is a bug, not an outage
    _wrapped(sqlite3.OperationalError("no such table: trash_items")),
    sqlite3.OperationalError("near \"selec\": syntax error"),
])
def test_other_errors_are_not(error: Exception) -> None:
    assert outage_of(error) is None


def test_a_best_effort_step_logs_an_outage_in_one_line_and_a_bug_with_its_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("davserver.test_outage")
    caplog.set_level(logging.INFO, logger=log.name)
    log_failure(log, _wrapped(sqlite3.OperationalError("database is locked")),
                "cannot read the generation of %s", "alice")
    log_failure(log, ValueError("a bug"), "cannot read the generation of %s", "bob")
    outage, bug = caplog.records
    assert (outage.levelname, outage.exc_info) == ("WARNING", None)
    assert outage.getMessage() == f"cannot read the generation of alice: {DATABASE_MESSAGE}"
    assert bug.levelname == "ERROR" and bug.exc_info is not None
    assert bug.getMessage() == "cannot read the generation of bob"


@pytest.mark.parametrize(("header", "size", "served"), [
    ("bytes=0-99", 1000, True), ("bytes=500-", 1000, True), ("bytes=-200", 1000, True),
    ("bytes=999-999", 1000, True), ("bytes=1000-", 1000, False),
    ("bytes=10-5", 1000, False), ("bytes=0-1,5-9", 1000, False), ("bytes=-0", 1000, False),
    ("items=0-1", 1000, False), ("bytes=", 1000, False),
])
def test_only_one_satisfiable_range_is_handed_over(header: str, size: int,
                                                   served: bool) -> None:
    assert single_range(header, size) is served
