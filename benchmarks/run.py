"""Run the benchmark: ``python -m benchmarks.run [--quick] [--json PATH] [--only NAMES]
[--phases NAMES] [--morning]``, or ``python -m benchmarks.run --median A.json B.json …
[--markdown]``.

Starts, one after another on loopback and each fresh and empty, our server
(``davserver serve``, SQLite, local blobs), WsgiDAV 4.4's FilesystemProvider,
Apache 2.4 mod_dav_fs, a bare cheroot application, the same with one SQLite query
per GET and one SQLite transaction per PUT (``bare_sql``) and ``rclone serve webdav``; with
``--only ...,cluster,nginx`` also the local cluster (``deploy/local-cluster``: two
processes behind nginx on PostgreSQL and SeaweedFS) and nginx serving files (the
reference of large downloads handed over); measures them the same way
(:mod:`benchmarks.measures`), and our servers through a school morning
(:mod:`benchmarks.morning`, alone with ``--morning``); prints the table with our
ratio to each reference and writes the raw figures as JSON (default ``benchmark-results.json``).

``--quick`` uses tiny sizes (the test suite runs it, so the benchmark never rots; its
figures mean nothing, and its table does not judge the targets). ``--median A.json
B.json …`` prints the median of earlier runs instead of running, and warns when they
differ in plan, phases or servers. The JSON is written again after each server, so a
run that stops half-way keeps what it measured. Needs ``wrk`` on PATH, and for the
servers named: Debian's ``apache2`` (apache), ``rclone`` (rclone), ``nginx`` (nginx,
cluster); ``bash .ci/install-test-deps`` installs them all.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from . import measures, servers
from . import morning as school_morning
from .plan import DEFAULT_SERVERS, FULL, QUICK, SERVERS, Plan, figure_specs
from .report import (
    Results,
    differences,
    markdown_table,
    median_of,
    print_table,
    write_json,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, in seconds: the figures mean nothing "
                        "(the test suite runs it)")
    parser.add_argument("--json", type=Path, default=Path("benchmark-results.json"),
                        help="where to write the raw figures")
    parser.add_argument("--only", default=",".join(DEFAULT_SERVERS),
                        help="comma-separated servers to run, of "
                        f"{', '.join(SERVERS)} (default: {', '.join(DEFAULT_SERVERS)})")
    parser.add_argument("--phases", default=",".join(measures.PHASES),
                        help="comma-separated phases to run, to iterate on one figure "
                        f"(default: all of {', '.join(measures.PHASES)}); the peak RSS "
                        "then covers only those")
    parser.add_argument("--morning", action="store_true",
                        help="run only the school morning (the phase 'morning'), on "
                        "ours unless --only names servers (ours, cluster)")
    parser.add_argument("--median", nargs="+", type=Path, metavar="JSON",
                        help="print the median of earlier runs' JSON files, run nothing")
    parser.add_argument("--markdown", action="store_true",
                        help="print the table as Markdown (for docs/development.md)")
    return parser


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "processor": _cpu_model()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run_server(name: str, plan: Plan, tmp: Path,
               phases: tuple[str, ...] = measures.PHASES) -> dict[str, float]:
    launcher = servers.LAUNCHERS[name]
    with launcher(tmp) as running:
        if name == "nginx":  # files only: the large transfers
            phases = tuple(p for p in phases if p == "big_files")
        if name in ("bare", "bare_sql"):
            return measures.bare_server(running.endpoint, running.pid, plan, phases)
        env = running.env
        origin = running.endpoint.base_url.split("/dav/")[0]
        morning = None if env is None else (lambda: _morning(env, origin, plan))
        return measures.dav_server(running.endpoint, running.pid, plan, phases, morning)


def _morning(env: dict[str, str], origin: str, plan: Plan) -> dict[str, float]:
    """The school morning on one of our servers, its set-up timed apart."""
    started = time.monotonic()
    school_morning.prepare(env, plan, servers.REPO)
    figures = {"morning_setup_seconds": round(time.monotonic() - started, 1)}
    return figures | school_morning.run(origin, plan)


TOOLS = {"apache": ("apache2",), "rclone": ("rclone",), "nginx": ("nginx",),
         "cluster": ("nginx",)}
"""The programs each server of the run needs on PATH besides ``wrk``."""


def missing_tools(names: list[str]) -> list[str]:
    """The programs the servers ``names`` need that are not on PATH (checked before
    the first server starts: a run must not fail after minutes of measuring)."""
    needed = ["wrk", *(tool for name in names for tool in TOOLS.get(name, ()))]
    return [tool for tool in dict.fromkeys(needed) if shutil.which(tool) is None]


def run(plan: Plan, names: list[str], out: Path,
        phases: tuple[str, ...] = measures.PHASES) -> Results:
    missing = missing_tools(names)
    if missing:
        raise SystemExit(f"benchmark: missing on PATH: {', '.join(missing)} "
                         "(bash .ci/install-test-deps installs them)")
    results: Results = {}
    timings: dict[str, float] = {}
    loads: dict[str, list[float]] = {}  # load average (1 min) before and after
    meta = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "quick": plan is QUICK, "plan": plan.__dict__, "machine": machine(),
            "phases": list(phases),
            "seconds_per_server": timings, "load_average_per_server": loads}
    tmp = servers.scratch_dir()
    try:
        for name in names:
            started = time.monotonic()
            print(f"benchmark: {name} …", file=sys.stderr, flush=True)
            server_tmp = tmp / name
            server_tmp.mkdir()
            before = os.getloadavg()[0]
            results[name] = run_server(name, plan, server_tmp, phases)
            timings[name] = round(time.monotonic() - started, 1)
            loads[name] = [round(before, 2), round(os.getloadavg()[0], 2)]
            print(f"benchmark: {name}: load average {before:.2f} before, "
                  f"{loads[name][1]:.2f} after", file=sys.stderr, flush=True)
            write_json(out, meta | {"complete": name == names[-1]}, results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.median:
        runs = [json.loads(p.read_text()) for p in args.median]
        for difference in differences(runs):
            print(f"benchmark: the runs differ ({difference}); each figure is the median "
                  "of the runs that have it", file=sys.stderr)
        plan = QUICK if runs[0]["meta"]["quick"] else FULL
        results = median_of([r["servers"] for r in runs])
        judged = plan is not QUICK
        if args.markdown:
            print(markdown_table(figure_specs(plan), results, judged))
        else:
            print_table(figure_specs(plan), results, f"Median of {len(runs)} runs",
                        judged=judged)
        return 0
    plan = QUICK if args.quick else FULL
    if args.morning:
        args.phases = "morning"
        if args.only == _parser().get_default("only"):
            args.only = "ours"
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(SERVERS)
    if unknown:
        raise SystemExit(f"benchmark: unknown server(s): {', '.join(sorted(unknown))}")
    phases = tuple(p for p in args.phases.split(",") if p)
    unknown = set(phases) - set(measures.PHASES)
    if unknown:
        raise SystemExit(f"benchmark: unknown phase(s): {', '.join(sorted(unknown))}")
    results = run(plan, names, args.json, phases)
    specs = [s for s in figure_specs(plan) if not s.phase or s.phase in phases]
    kind = "quick: tiny sizes, figures mean nothing" if args.quick else "full"
    print_table(specs, results, f"Benchmark ({kind}), raw figures in {args.json}",
                judged=not args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
