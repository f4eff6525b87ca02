"""The litmus WebDAV compliance suite (basic, copymove, props, locks, http) passes
against alice's porte-documents with no failure and no warning."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Server

# One database is enough: a real client's round trip over the store, which the store's
# tests check on both (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.clients, pytest.mark.one_database]

SUITES = ("basic", "copymove", "props", "locks", "http")
LITMUS = shutil.which("litmus") or "/usr/bin/litmus"
TIMEOUT = 300
# Anything but a clean pass: a failure, a warning (litmus passes some tests "with N
# warnings"), a skipped test, an error. Case matters: test names such as
# ``fail_cond_put`` are not failures.
PROBLEM = re.compile(r"\bX?FAIL(ED)?\b|WARNING|\bSKIPPED\b|\bERROR\b|\d+ warnings?\b"
                     r"|warnings? issued|skipped\)|tests? (were|was) skipped")


def _require_litmus() -> None:
    """Skip where litmus is not installed, except in CI, where that is a failure."""
    if os.path.exists(LITMUS) and os.access(LITMUS, os.X_OK):
        return
    if os.environ.get("CI"):
        pytest.fail(f"litmus is required in CI but {LITMUS} is missing "
                    "(apt-get install litmus)")
    pytest.skip("litmus is not installed (apt-get install litmus)")


def _normalise(output: str) -> list[str]:
    """litmus redraws each test's line after a ``\\r``: keep what the line ends up as."""
    lines = []
    for raw in output.replace("\r\n", "\n").split("\n"):
        parts = [p for p in raw.split("\r") if p.strip()]
        if parts:
            lines.append(parts[-1].rstrip())
    return lines


def test_litmus_suites_pass(server: Server, tmp_path: Path) -> None:
    _require_litmus()
    workdir = tmp_path / "litmus"
    workdir.mkdir()
    env = dict(os.environ, TESTS=" ".join(SUITES))
    try:
        proc = subprocess.run(
            [LITMUS, "--keep-going", server.documents_url + "/", "alice",
             server.users["alice"]],
            cwd=workdir, env=env, capture_output=True, timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace")
        pytest.fail(f"litmus did not finish within {TIMEOUT} s:\n"
                    + "\n".join(_normalise(out)))

    # Bytes, not text=True: universal newlines would turn every \r into a line.
    lines = _normalise(proc.stdout.decode(errors="replace") + "\n"
                       + proc.stderr.decode(errors="replace"))
    summaries = [line for line in lines if "<- summary for" in line]
    for line in summaries:
        print(line)

    problems = [line for line in lines
                if "<- summary for" not in line and PROBLEM.search(line)]
    seen = {m.group(1) for line in summaries
            if (m := re.search(r"summary for [`'](\w+)'", line))}
    missing = [s for s in SUITES if s not in seen]
    bad_summaries = [line for line in summaries
                     if not re.search(r" 0 failed\.", line)
                     or re.search(r"warning|skipped", line)]

    report = "\n".join(lines)
    assert proc.returncode == 0 and not problems and not missing and not bad_summaries, (
        f"litmus exit {proc.returncode}; suites without summary: {missing}\n"
        "problems:\n  " + "\n  ".join(problems + bad_summaries)
        + f"\n\nfull output:\n{report}\n\nserver log: {server.log_path}"
    )
