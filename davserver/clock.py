"""The server's clock: the one place where code reads the date and the hour.

Every date that a service stores or compares (a file's modification time, a trash
item's deletion, when homework shows to students, whether a booking is in the past,
a school's "today") comes from :func:`now`, :func:`time` or :func:`today`. In
production they read the wall clock unchanged. Tests, and a person who wants to see
the server as it would be on another day, shift it with one environment variable,
read when this module is imported:

``DAVSERVER_CLOCK_SHIFT``
    Seconds added to the wall clock: a decimal number, negative for the past, at most
    microsecond precision (``-86400``, ``532800.25``). An offset rather than a target
    instant, so that a test process and every server and command it starts agree to
    the microsecond whenever each of them started. :func:`offset_to` computes the
    offset that makes the clock read a given instant now; ``pytest --clock=ISO``
    does it for the whole test suite (README, "Run the tests").

What this clock is not for:

* Durations, deadlines and timeouts use ``time.monotonic()``: a shift, or a wall
  clock set back by NTP, must not stretch or cut them.
* WebDAV lock lifetimes (RFC 4918 §10.7, ``Timeout: Second-n``) are timeouts and stay
  on the wall clock (``time.time()``): WsgiDAV's lock manager and its
  ``lockdiscovery`` property compare a lock's stored expiry with ``time.time()``.
* The database's own clock (SQL ``now()``, ``CURRENT_TIMESTAMP``) is never used: no
  column has a server-side time default, so every stored time comes from here.

Reading the clock costs one wall-clock read and one addition (it is on hot paths:
every PUT stamps its node). This module imports nothing of ours (the trunk).
"""

from __future__ import annotations

import os
import time as _wall
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation

SHIFT_VARIABLE = "DAVSERVER_CLOCK_SHIFT"
MAX_SHIFT = timedelta(days=365 * 100)


def parse_shift(text: str) -> timedelta:
    """The offset written in ``text`` (seconds, see the module docstring). Raises
    ``ValueError`` with a message naming what is wrong."""
    try:
        seconds = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not a number of seconds: {text!r} (examples: -86400, "
                         "532800.25)") from None
    if not seconds.is_finite():
        raise ValueError(f"not a number of seconds: {text!r}")
    micros = int(seconds.scaleb(6).to_integral_value())
    if abs(micros) > MAX_SHIFT // timedelta(microseconds=1):
        raise ValueError(f"a shift of at most 100 years: {text!r}")
    return timedelta(microseconds=micros)


def format_shift(offset: timedelta) -> str:
    """``offset`` as :data:`SHIFT_VARIABLE` writes it: seconds, six decimals (exact)."""
    micros = offset // timedelta(microseconds=1)
    return str(Decimal(micros).scaleb(-6).quantize(Decimal("0.000001")))


def _from_environment() -> timedelta:
    # A bad value is reported by davserver.config.load_config, which every command
    # calls at start-up; until then the wall clock is a safe reading.
    try:
        return parse_shift(os.environ.get(SHIFT_VARIABLE, "0"))
    except ValueError:
        return timedelta(0)


_shift = _from_environment()
_seconds = _shift.total_seconds()


def now() -> datetime:
    """The current instant: an aware ``datetime`` in UTC."""
    return datetime.now(UTC) + _shift


def time() -> float:
    """The current instant in seconds since the epoch (UTC), as ``time.time()``: for
    the epoch timestamps stored on nodes and trash items."""
    return _wall.time() + _seconds


def today(zone: tzinfo) -> date:
    """Today's date in ``zone`` (a school's time zone: the day changes at its local
    midnight, not at UTC's)."""
    return now().astimezone(zone).date()


def shift() -> timedelta:
    """How far this process's clock is from the wall clock (zero in production)."""
    return _shift


def set_shift(offset: timedelta) -> None:
    """Shift this process's clock by ``offset`` from the wall clock (tests). Processes
    started afterwards need :func:`environment` to read the same time."""
    global _shift, _seconds
    _shift = timedelta(microseconds=offset // timedelta(microseconds=1))
    _seconds = _shift.total_seconds()


def offset_to(instant: datetime) -> timedelta:
    """The offset that makes the clock read ``instant`` (aware) at this moment; time
    then flows on from there. Raises ``ValueError`` for a naive ``instant``."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"an instant needs its UTC offset or zone: {instant.isoformat()}")
    return instant - datetime.now(UTC)


def environment() -> dict[str, str]:
    """The variables a child process needs to read this process's clock: empty when
    the clock is not shifted."""
    return {SHIFT_VARIABLE: format_shift(_shift)} if _shift else {}
