"""The clock every service reads (:mod:`davserver.clock`): one offset from the wall
clock, the same to the microsecond in every process that reads the variable; a bad
value refused at start-up by name; lock lifetimes left on the wall clock (WsgiDAV
compares them with ``time.time()``); and no code that reads the date or the hour
anywhere else."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wsgidav.lock_man.lock_manager import is_lock_expired

from davserver import clock
from davserver.config import ConfigError, load_config
from davserver.db import Database
from providers.locks import SqlLockStorage
from tests.conftest import SCHOOL_ZONE, instant, pinned

ROOT = Path(__file__).resolve().parent.parent.parent
PRINT_CLOCK = ("from davserver import clock; import time; "
               "print(clock.format_shift(clock.shift()), clock.time() - time.time())")


def _child_clock(shift: str) -> tuple[str, float]:
    env = {**os.environ, clock.SHIFT_VARIABLE: shift}
    done = subprocess.run([sys.executable, "-c", PRINT_CLOCK], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=60)
    written, difference = done.stdout.split()
    return written, float(difference)


def test_every_process_started_with_the_variable_reads_the_same_clock() -> None:
    with pinned("2026-12-12T23:30:00+01:00"):
        sent = clock.environment()[clock.SHIFT_VARIABLE]
        here = clock.shift()
        first, second = _child_clock(sent), _child_clock(sent)
    assert first[0] == second[0] == sent  # the offset, to the microsecond
    assert clock.parse_shift(sent) == here
    assert abs(first[1] - here.total_seconds()) < 0.001


def test_without_the_variable_the_clock_is_the_wall_clock() -> None:
    env = {k: v for k, v in os.environ.items() if k != clock.SHIFT_VARIABLE}
    done = subprocess.run([sys.executable, "-c", PRINT_CLOCK], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=60)
    written, difference = done.stdout.split()
    assert written == "0.000000" and abs(float(difference)) < 0.001


@pytest.mark.clock("2026-12-13T00:30 Europe/Paris")
def test_today_is_the_date_in_the_given_zone() -> None:
    """Sunday 00:30 in Paris is still Saturday in UTC: a school's day changes at its
    own midnight."""
    assert clock.today(SCHOOL_ZONE) == date(2026, 12, 13)
    assert clock.today(UTC) == date(2026, 12, 12)
    assert abs(clock.now() - datetime(2026, 12, 12, 23, 30, tzinfo=UTC)) < timedelta(
        seconds=30)
    assert abs(clock.time() - clock.now().timestamp()) < 0.01


@pytest.mark.clock("2027-03-28T03:30 Europe/Paris")
def test_a_pin_names_its_zone_and_gets_the_offset_in_force_then() -> None:
    """03:30 on the day summer time starts is 01:30 UTC (+02:00), not 02:30."""
    assert abs(clock.now() - datetime(2027, 3, 28, 1, 30, tzinfo=UTC)) < timedelta(
        seconds=30)
    assert os.environ[clock.SHIFT_VARIABLE] == clock.format_shift(clock.shift())


def test_instants_need_an_offset_or_a_zone() -> None:
    assert instant("2026-12-12T23:30+01:00") == datetime(2026, 12, 12, 22, 30, tzinfo=UTC)
    assert instant("2027-10-31T12:00 Europe/Paris").utcoffset() == timedelta(hours=1)
    for bad in ("2026-12-12T23:30", "2026-12-12T23:30+01:00 Europe/Paris", "demain"):
        with pytest.raises(ValueError):
            instant(bad)
    with pytest.raises(ValueError, match="offset or zone"):
        clock.offset_to(datetime(2026, 12, 12, 23, 30))


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_a_shift_written_and_read_back_is_exact(micros: int) -> None:
    offset = timedelta(microseconds=micros)
    assert clock.parse_shift(clock.format_shift(offset)) == offset


@pytest.mark.parametrize("text", ["tomorrow", "", "nan", "inf", "1e12", "12:00"])
def test_a_bad_shift_is_refused_naming_the_variable(text: str) -> None:
    with pytest.raises(ConfigError, match=f"environment variable {clock.SHIFT_VARIABLE}"):
        load_config(environ={clock.SHIFT_VARIABLE: text})


def test_the_shift_is_not_a_configuration_key() -> None:
    config = load_config(environ={clock.SHIFT_VARIABLE: "-86400.5"})
    assert "clock" not in config.model_dump()


def test_a_command_with_a_bad_shift_stops_with_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, clock.SHIFT_VARIABLE: "next monday",
           "DAVSERVER_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "davserver.cli", "fsck"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (f"configuration error: environment variable {clock.SHIFT_VARIABLE}: "
            "not a number of seconds: 'next monday'") in done.stderr
    assert "Traceback" not in done.stderr


def test_lock_lifetimes_stay_on_the_wall_clock(db: Database) -> None:
    """A lock's expiry is a timeout (RFC 4918 §10.7) that WsgiDAV compares with
    ``time.time()``: with the clock three days back, a new lock is alive for WsgiDAV
    and ours, and its remaining time is its timeout."""
    with pinned(datetime.now(UTC) - timedelta(days=3)):  # wall clock: the pin's base
        locks = SqlLockStorage(db)
        lock = locks.create("/1/a.txt", {"type": "write", "scope": "exclusive",
                                         "depth": "0", "owner": b"", "timeout": 600,
                                         "principal": "alice"})
        stored = locks.get(lock["token"])
    assert stored is not None and not is_lock_expired(stored)
    assert abs(stored["expire"] - time.time() - 600) < 30  # wall clock: a lock's timeout


# --- nothing else reads the date or the hour -----------------------------------------

PACKAGES = ["davserver", "providers", "quotas", "acl", "web", "tests"]
WALL_CLOCK = re.compile(
    r"\b(?:(?:datetime\.(?:now|utcnow|today)|date\.today)\(|time\.(?:time|localtime|gmtime)\(\))"
    r"|^\s*from time import .*\b(?:time|localtime|gmtime)\b"
    r"|\bdatetime\.datetime\.now\b")
# Lock lifetimes are timeouts compared by WsgiDAV with time.time() (davserver.clock).
ALLOWED_FILES = {"davserver/clock.py", "providers/locks.py", "tests/unit/test_clock.py"}
JUSTIFIED = "# wall clock:"


def test_code_reads_the_date_and_hour_only_through_davserver_clock() -> None:
    """A date or an hour read from the wall clock would not follow the shifted clock
    of tests (durations use ``time.monotonic()``, which this does not look for). A
    justified wall-clock read says why on its line, after ``# wall clock:``."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED_FILES:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if WALL_CLOCK.search(line) and JUSTIFIED not in line:
                    found.append(f"{rel}:{number}: {line.strip()}")
    assert not found, "read the clock through davserver.clock:\n" + "\n".join(found)

