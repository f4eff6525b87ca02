"""Where the time of a small PUT or GET goes: ``python -m benchmarks.profile [--puts N]
[--clients C] [--rate HZ] [--gets SECONDS]``.

Starts our server as the benchmark does (:func:`benchmarks.servers.ours`), attaches
py-spy (``pip install py-spy``; a sampling profiler that reads the process from the
outside, every thread, without slowing the interpreter), PUTs ``N`` files of the
school mix (:mod:`benchmarks.school_files`) with ``C`` clients (with ``--gets``:
GETs the benchmark's 4 KiB file with ``wrk`` and ``C`` connections for that many
seconds instead, as the ``concurrent_gets`` phase does), and prints the
functions that hold the largest share of the samples of the threads serving a
request: inclusive (the function or what it calls) and self (the function's own
lines). Idle samples (threads waiting for a connection) are dropped, so the shares
are of the time spent serving.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import servers
from .client import Client, run_wrk
from .measures import SMALL_FILE, _put_many, prepare_small_file
from .plan import QUICK


def _frames(line: str) -> tuple[list[str], int]:
    """One line of py-spy's ``raw`` (collapsed stacks) output: the frames, outermost
    first, and the sample count."""
    stack, _, count = line.rpartition(" ")
    return stack.split(";"), int(count)


def _name(frame: str) -> str:
    """``function (path/to/module.py:line)`` → ``module.function``."""
    function, _, where = frame.partition(" (")
    module = where.split(":")[0].rsplit("/", 1)[-1].removesuffix(".py")
    return f"{module}.{function}"


def summarise(raw: str, top: int = 25) -> str:
    """The table of the ``top`` functions by inclusive and by self share of the
    samples in request threads (stacks that pass through cheroot's ``process_conn``
    or ``communicate``)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        if not any("communicate" in f or "process_conn" in f for f in frames):
            continue
        if any(f.startswith("Queue.get (queue.py:") for f in frames):
            continue  # a worker waiting for the next connection (newer cheroot's loop)
        total += count
        names = [_name(f) for f in frames]
        for name in set(names):
            inclusive[name] += count
        own[names[-1]] += count
    if not total:
        return "no request samples (is py-spy allowed to attach?)"
    lines = [f"{total} samples in request threads", "", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puts", type=int, default=400, help="files PUT (default 400)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--rate", type=int, default=200, help="samples a second")
    parser.add_argument("--gil", action="store_true",
                        help="only samples of the thread holding the GIL: where the CPU "
                        "time of the interpreter goes (without it: where the wall time "
                        "goes, waits for the disk and for the GIL included)")
    parser.add_argument("--gets", type=int, default=0, metavar="SECONDS",
                        help="profile small GETs (wrk, --clients connections) for that "
                        "many seconds instead of PUTs")
    parser.add_argument("--raw", type=Path, help="also keep py-spy's collapsed stacks there")
    args = parser.parse_args(argv)
    if shutil.which("py-spy") is None:
        raise SystemExit("benchmark: py-spy is not on PATH (pip install py-spy)")
    tmp = servers.scratch_dir()
    try:
        with servers.ours(tmp) as running:
            out = Path(tempfile.mkstemp(suffix=".txt", dir=tmp)[1])
            spy = subprocess.Popen(["py-spy", "record", "--pid", str(running.pid), "--format",
                                    "raw", "--rate", str(args.rate), "--threads",
                                    "--output", str(out), "--nonblocking",
                                    *(["--gil"] if args.gil else [])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(1.0)  # py-spy attaches
            plan = QUICK.__class__(**{**QUICK.__dict__, "put_clients": args.clients,
                                      "small_puts": args.puts})
            client = Client(running.endpoint)
            if args.gets:
                prepare_small_file(client)
                client.close()
                result = run_wrk(running.endpoint.url(SMALL_FILE),
                                 running.endpoint.authorization, args.clients, args.gets)
                summary = (f"GET 4 KiB for {args.gets} s, {args.clients} connections: "
                           f"{result.requests_per_second:.0f} req/s, p99 "
                           f"{result.p99_ms:.1f} ms")
            else:
                client.request("MKCOL", "puts/", expect=(201,))
                client.close()
                elapsed = _put_many(running.endpoint, plan, "puts", args.puts)
                summary = (f"{args.puts} PUTs, {args.clients} clients: "
                           f"{args.puts / elapsed:.1f} files/s")
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
            print(summary)
            raw = out.read_text()
            if args.raw:
                args.raw.write_text(raw)
            print(summarise(raw))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
