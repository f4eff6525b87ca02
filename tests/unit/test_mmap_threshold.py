"""``davserver serve`` gives large freed blocks back to the system
(:func:`davserver.cli.fix_mmap_threshold`, issue 22): argon2's 19 MiB buffer of a
password check does not stay resident after the check. Each case runs in a process of
its own (the setting is process-wide), allocating through the C library as libargon2
does."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

# Nothing here touches a database (docs/development.md, "Which tests run where").
pytestmark = [pytest.mark.one_database,
              pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                                 reason="the threshold is glibc's")]

REPO = Path(__file__).resolve().parents[2]
MiB = 2**20
SCRIPT = """
import ctypes, sys
from davserver.cli import fix_mmap_threshold

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024

if sys.argv[1] == "fixed":
    assert fix_mmap_threshold()
size = 19 * 2**20  # argon2id at OWASP's 19 MiB
start = rss()
for _ in range(3):  # glibc moves its threshold at the first free of a mapped block
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
print(rss() - start)
"""


def _kept_after_checks(mode: str) -> int:
    run = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=REPO, text=True,
                         capture_output=True, timeout=60, check=True)
    return int(run.stdout.strip())


def test_large_blocks_are_given_back_once_the_threshold_is_fixed() -> None:
    assert _kept_after_checks("default") > 16 * MiB  # what the fix is for
    assert _kept_after_checks("fixed") < 2 * MiB
