"""Where a server's memory goes: run ``davserver`` under :mod:`tracemalloc`.

``python -m benchmarks.memtrace DIR [davserver arguments…]`` starts tracing
(``DAVBENCH_TRACE_FRAMES`` frames, default 1) before anything else is imported,
then runs ``davserver.cli`` with the arguments. It writes tracemalloc snapshots into
DIR (``snapshot-NN.pickle``, readable with ``tracemalloc.Snapshot.load``, and
``snapshot-NN.txt``, the top allocators by line):

* on SIGUSR1 (the benchmark sends one once the server listens: what it holds at
  rest, before the first request),
* from then on, each time the traced memory has grown by ``DAVBENCH_TRACE_STEP`` MiB
  (default 16) over the last snapshot (checked twice a second),
* and at exit,

and ``summary.txt`` at exit: the traced peak, and the growth from the first SIGUSR1
snapshot to the largest snapshot after it, by line, by file and by traceback.

Tracing slows the server and its own bookkeeping is resident too: read the traced
sizes, not the RSS, of such a run. Only allocations made through Python's allocators
are seen: memory a C library takes with ``malloc`` itself (libargon2's 19 MiB a
check, libxml2's trees, SQLite's page cache) is not, nor what glibc's arenas keep
after a ``free``: compare with the RSS of a run without tracing.

``python -m benchmarks.run`` uses it for our server when ``DAVBENCH_TRACEMALLOC`` names
a directory (``--morning`` then gives the morning's allocations); nothing is traced
otherwise.
"""

from __future__ import annotations

import os
import tracemalloc

# One frame by default: 25 made the morning ten times slower, which is not a morning.
tracemalloc.start(int(os.environ.get("DAVBENCH_TRACE_FRAMES", "1")))

import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

MiB = 2**20
TOP = 40  # lines in each text dump


class Tracer:
    """Takes and writes the snapshots into ``folder`` (see the module docstring)."""

    def __init__(self, folder: Path, step: int) -> None:
        self.folder = folder
        self.step = step
        self.count = 0
        self.last = 0  # traced bytes at the last snapshot
        self.largest: tuple[int, Path] | None = None  # (traced bytes, pickle), after first
        self.first: Path | None = None  # the first SIGUSR1's: at rest
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def snapshot(self, why: str) -> None:
        """Write one snapshot and its top lines."""
        with self._lock:
            current, peak = tracemalloc.get_traced_memory()
            snap = tracemalloc.take_snapshot().filter_traces(
                (tracemalloc.Filter(False, tracemalloc.__file__),))
            self.count += 1
            path = self.folder / f"snapshot-{self.count:02d}.pickle"
            snap.dump(str(path))
            lines = [f"{why}: traced {current / MiB:.1f} MiB (peak {peak / MiB:.1f} MiB)"]
            lines += [str(s) for s in snap.statistics("lineno")[:TOP]]
            path.with_suffix(".txt").write_text("\n".join(lines) + "\n")
            self.last = current
            if self.first is None and why == "SIGUSR1":
                self.first = path
            if self.first is not None and (self.largest is None
                                           or current > self.largest[0]):
                self.largest = (current, path)

    def watch(self) -> None:
        """Snapshot on growth, until :meth:`finish`."""
        while not self._stop.wait(0.5):
            if self.first is not None \
                    and tracemalloc.get_traced_memory()[0] > self.last + self.step:
                self.snapshot("grew")

    def finish(self) -> None:
        """The last snapshot and the summary."""
        self._stop.set()
        self.snapshot("exit")
        peak = tracemalloc.get_traced_memory()[1]
        lines = [f"traced peak: {peak / MiB:.1f} MiB; snapshots: {self.count}"]
        if self.first is not None and self.largest is not None:
            first = tracemalloc.Snapshot.load(str(self.first))
            largest = tracemalloc.Snapshot.load(str(self.largest[1]))
            lines.append(f"growth from {self.first.name} to {self.largest[1].name}, by line:")
            lines += [str(s) for s in largest.compare_to(first, "lineno")[:TOP]]
            lines.append("by file:")
            lines += [str(s) for s in largest.compare_to(first, "filename")[:TOP]]
            lines.append("largest growth, by traceback (innermost last):")
            for stat in largest.compare_to(first, "traceback")[:5]:
                lines.append(f"{stat.size_diff / MiB:+.1f} MiB in {stat.count_diff:+d} blocks")
                lines += ["    " + line for line in stat.traceback.format()[-24:]]
        (self.folder / "summary.txt").write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    tracer = Tracer(folder, int(float(os.environ.get("DAVBENCH_TRACE_STEP", "16")) * MiB))

    def on_signal(_signum: int, _frame: Any) -> None:
        threading.Thread(target=tracer.snapshot, args=("SIGUSR1",), daemon=True).start()

    signal.signal(signal.SIGUSR1, on_signal)
    from davserver import cli  # after the tracer: its imports are traced

    threading.Thread(target=tracer.watch, daemon=True, name="memtrace").start()
    try:
        return int(cli.main(argv[1:]) or 0)
    finally:
        tracer.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
