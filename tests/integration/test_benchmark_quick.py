"""The benchmark runs (``--quick``, tiny sizes) and reports every figure for every
server, the local cluster included (about 20 s of the test's time: PostgreSQL,
SeaweedFS, two servers and nginx start); its values are not checked here (speed is
judged by the benchmark itself, never by a timed test)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.plan import QUICK, SERVERS, figure_specs

# One database is enough: the benchmark's servers run on SQLite whatever the run
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

REPO = Path(__file__).resolve().parents[2]


def test_quick_benchmark_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    run = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--json", str(out),
                          "--only", ",".join(SERVERS)],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["meta"]["quick"] is True and results["meta"]["complete"] is True
    assert set(results["servers"]) == set(SERVERS)
    for spec in figure_specs(QUICK):
        for server in spec.servers:
            value = results["servers"][server].get(spec.key)
            assert isinstance(value, int | float) and math.isfinite(value) and value >= 0, (
                server, spec.key, value)
    for server in (s for s in SERVERS if s != "nginx"):  # wrk saw only successful answers
        errors = {k: v for k, v in results["servers"][server].items()
                  if k.startswith("wrk_errors_")}
        assert errors and not any(errors.values()), (server, errors)
    assert "ours/WsgiDAV" in run.stdout and "PROPFIND Depth 1" in run.stdout
    assert "not judged" in run.stdout and "✘" not in run.stdout and "✔" not in run.stdout
    assert set(results["meta"]["load_average_per_server"]) == set(SERVERS)
