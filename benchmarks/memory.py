"""Resident memory of a server process (and its children: Apache forks workers).

A background thread samples the RSS of the process tree every ``interval`` seconds
with psutil; on Linux the kernel's own high-water mark (``VmHWM``) of each process
is read too, so a spike between two samples is not missed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil

MiB = 2**20


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss(pid: int) -> int:
    """Bytes resident now in ``pid`` and its descendants."""
    total = 0
    for proc in _tree(pid):
        with suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total


def high_water_mark(pid: int) -> int | None:
    """Peak RSS in bytes of one process since start or the last :func:`reset_peak`
    (Linux ``/proc/PID/status`` VmHWM), or None where not available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_peak(pid: int) -> bool:
    """Reset the kernel's peak RSS of ``pid`` (Linux ≥ 4.0, ``clear_refs`` 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class RssSampler:
    """Samples the process tree of ``pid`` until :meth:`stop`; ``peak`` is the largest
    sum seen (bytes). ``window()`` measures the growth over a block of work."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._window_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def _sample(self) -> int:
        rss = tree_rss(self.pid)
        self.peak = max(self.peak, rss)
        self._window_peak = max(self._window_peak, rss)
        return rss

    def now(self) -> int:
        """Bytes resident now (sampled, so it counts towards the peak too)."""
        return self._sample()

    def stop(self) -> int:
        """Stop sampling; returns the peak RSS of the run in bytes (the kernel's
        high-water mark of the main process counts if it is higher)."""
        self._sample()
        self._stop.set()
        self._thread.join()
        kernel = high_water_mark(self.pid) if len(_tree(self.pid)) == 1 else None
        return max(self.peak, kernel or 0)

    @contextmanager
    def window(self) -> Iterator[dict[str, int]]:
        """Yields a dict filled on exit with ``growth``: peak RSS during the block
        minus RSS before it (bytes)."""
        result: dict[str, int] = {}
        before = self._sample()
        self._window_peak = before
        single = len(_tree(self.pid)) == 1
        if single:
            # The reset below forgets the run's peak so far: keep it first.
            self.peak = max(self.peak, high_water_mark(self.pid) or 0)
            single = reset_peak(self.pid)
        try:
            yield result
        finally:
            peak = max(self._window_peak, self._sample())
            if single:
                peak = max(peak, high_water_mark(self.pid) or 0)
            self.peak = max(self.peak, peak)
            result["growth"] = max(0, peak - before)
