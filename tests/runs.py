"""Which tests run where, and what a CI run allows (a pytest plugin, loaded by
``tests/conftest.py``; the rule and the list: docs/development.md, "Which tests run
where").

The suite runs twice in CI: on SQLite, then on PostgreSQL (``DAVSERVER_DATABASE_URL``).
A test whose behaviour cannot differ between the two databases (a page, a browser
walk, a real client's round trip, a pure function, or a test whose database is SQLite
whatever the run) is marked ``one_database``: the PostgreSQL run deselects it, so it
runs once, in the SQLite run. ``TESTS_ALL_ON_POSTGRESQL=1`` keeps it in the
PostgreSQL run too.

With ``CI_REQUIRE_ALL=1`` (``.ci/run`` sets it) a skipped test fails: CI installs and
starts everything the tests need, so a skip there means a missing client or service
that would otherwise let its tests pass unseen. Either way, the run ends with one
``skips: ...`` line per skip, which ``.ci/run`` repeats in its summary.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

ON_POSTGRESQL = bool(os.environ.get("DAVSERVER_DATABASE_URL"))
ALL_ON_POSTGRESQL = os.environ.get("TESTS_ALL_ON_POSTGRESQL") == "1"
REQUIRE_ALL = os.environ.get("CI_REQUIRE_ALL") == "1"
# In the longrepr of a skip turned into a failure, to find it again in the summary.
_REFUSED_SKIP = "allows no skip"
# Tests deselected as one_database: by this process, or by the xdist workers.
_deselected = {"count": 0}


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which database this run tests, and whether a skip fails it."""
    if not ON_POSTGRESQL:
        lines = ["database: SQLite"]
    elif ALL_ON_POSTGRESQL:
        lines = ["database: PostgreSQL, one_database tests included (TESTS_ALL_ON_POSTGRESQL=1)"]
    else:
        lines = ["database: PostgreSQL; tests marked one_database are deselected (they run "
                 "on SQLite)"]
    if REQUIRE_ALL:
        lines.append("CI_REQUIRE_ALL=1: a skipped test counts as a failure")
    return lines


# The test files that take longest (CI's durations, 2026-12-06), longest first: they
# are handed to the parallel workers first (``--dist loadfile`` deals files out in
# the order collected, with ``--no-loadscope-reorder`` in pyproject.toml: xdist would
# otherwise put the files with the most tests first), so that no worker starts one
# of them while the other has nothing left to do. Only the run's length depends on
# this list; a file missing from it runs in its usual place.
SLOWEST_FILES = (
    "test_web_accessibility.py", "test_benchmark_quick.py", "test_slow_clients.py",
    "test_rubric_roles.py", "test_quota_model.py", "test_guide_walks.py",
    "test_cluster.py", "test_textbook_exercise.py", "test_quota_clients.py",
    "test_dead_properties.py", "test_quota_parallel.py", "test_conditional_requests.py",
    "test_rclone.py", "test_restart.py", "test_upload_leases.py", "test_litmus.py",
    "test_davfs2.py", "test_client_cases_17.py", "test_web_attachments.py",
)


def _file_rank(item: pytest.Item) -> int:
    name = item.path.name
    return SLOWEST_FILES.index(name) if name in SLOWEST_FILES else len(SLOWEST_FILES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slowest files first (:data:`SLOWEST_FILES`; the order within a file and of
    the other files is kept); in the PostgreSQL run, deselect the tests marked
    ``one_database``."""
    items.sort(key=_file_rank)  # stable
    if not ON_POSTGRESQL or ALL_ON_POSTGRESQL:
        return
    once = [item for item in items if item.get_closest_marker("one_database") is not None]
    if not once:
        return
    config.hook.pytest_deselected(items=once)
    items[:] = [item for item in items if item.get_closest_marker("one_database") is None]
    _deselected["count"] = len(once)
    workeroutput = getattr(config, "workeroutput", None)  # on an xdist worker
    if workeroutput is not None:
        workeroutput["one_database_deselected"] = len(once)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist's controller: each worker collected (and deselected) the whole suite."""
    count = getattr(node, "workeroutput", {}).get("one_database_deselected", 0)
    _deselected["count"] = max(_deselected["count"], count)


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def _as_failure(report: pytest.TestReport | pytest.CollectReport) -> None:
    reason = _skip_reason(report)
    report.outcome = "failed"
    report.longrepr = (f"skipped ({reason}), and CI_REQUIRE_ALL=1 {_REFUSED_SKIP}: install "
                       "or start what the test needs (.ci/install-test-deps, .ci/run)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
        item: pytest.Item, call: pytest.CallInfo[None],
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """With ``CI_REQUIRE_ALL=1``, a skip (``pytest.skip``, a ``skipif`` mark) fails."""
    report = yield
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        _as_failure(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
        collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """With ``CI_REQUIRE_ALL=1``, a module skipped whole at import fails too."""
    report = yield
    if REQUIRE_ALL and report.skipped:
        _as_failure(report)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The tests left to the SQLite run, then one ``skips:`` line per skip (those that
    CI_REQUIRE_ALL turned into failures included) when there is any, or in CI."""
    write = terminalreporter.write_line
    if ON_POSTGRESQL and not ALL_ON_POSTGRESQL:
        write(f"one_database: {_deselected['count']} deselected (they run in the SQLite run)")
    stats = terminalreporter.stats
    skipped = [r for r in stats.get("skipped", []) if not hasattr(r, "wasxfail")]
    refused = [r for key in ("failed", "error") for r in stats.get(key, [])
               if isinstance(r.longrepr, str) and _REFUSED_SKIP in r.longrepr]
    if not (REQUIRE_ALL or skipped or refused):
        return
    write(f"skips: {len(skipped)} skipped, {len(refused)} failed for being skipped")
    for report in skipped:
        write(f"skips: skipped {report.nodeid}: {_skip_reason(report)}")
    for report in refused:
        write(f"skips: failed {report.nodeid}: {report.longrepr}")
