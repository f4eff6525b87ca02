"""Reading the cells of timetable exports: encodings, names compared without case or
accents, clock times, durations, weekdays and week codes (A/B, Q1/Q2).

Every parser raises :class:`davserver.errors.BadRequest` with a French-school-admin
readable reason; the caller adds where (file, line, element).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import time, timedelta

from davserver.errors import BadRequest

from ..models import Week

DAYS = {name: i for i, names in enumerate((
    ("lundi", "monday", "lun", "mon", "lu"), ("mardi", "tuesday", "mar", "tue", "ma"),
    ("mercredi", "wednesday", "mer", "wed", "me"), ("jeudi", "thursday", "jeu", "thu", "je"),
    ("vendredi", "friday", "ven", "fri", "ve"), ("samedi", "saturday", "sam", "sat", "sa"),
    ("dimanche", "sunday", "dim", "sun", "di"))) for name in names}

_CLOCK = re.compile(r"^(\d{1,2})\s*(?:[:hH.]\s*(\d{2})?)?$")
_DURATION = re.compile(r"^(?:(\d{1,2})\s*[hH:]\s*(\d{1,2})?|(\d{1,3})\s*(?:min|mn|m)?)$")

# Week codes of the timetable software (notes §3): EDT's FREQUENCE/ALTERNANCE H, Q1,
# Q2; UDT's school-defined Freq (A/B, 1/2, "Sem. A"); our CSV's A/B. "H"
# (hebdomadaire) and empty mean every week.
_EVERY_WEEK = {"", "h", "-", "hebdo", "hebdomadaire", "toutes", "all", "every", "sa+sb",
               "a+b", "ab", "a/b"}
_WEEK_A = {"a", "q1", "s1", "1", "quinzaine1"}
_WEEK_B = {"b", "q2", "s2", "2", "quinzaine2"}


def fold(text: str) -> str:
    """Lower case without accents or surrounding blanks (``Matière`` → ``matiere``)."""
    bare = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in bare if not unicodedata.combining(c))


def squash(text: str) -> str:
    """:func:`fold` without any blank, for names written with or without spaces
    (``4 B``, ``4B``, ``4 b``: the notes' pitfall "class labels differ per source")."""
    return "".join(fold(text).split())


def tokens(text: str) -> list[str]:
    """The words of a person's name, folded: ``Jean-Pierre LE GALL`` → ``jean``,
    ``pierre``, ``le``, ``gall`` (hyphens, apostrophes and dots separate words)."""
    return [t for t in re.split(r"[^0-9a-z]+", fold(text)) if t]


def decode_text(data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of a text export: a BOM decides (UTF-8, UTF-16), else
    strict UTF-8, else Windows-1252 (what French Windows software writes; a superset of
    Latin-1's printable characters). Raises ``BadRequest`` naming the line for bytes
    that are neither, and for UTF-16 without a BOM (NUL bytes), which cannot be read
    reliably."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        while data.startswith(b"\xef\xbb\xbf"):  # repeated BOMs (notes §5)
            data = data[3:]
        return _strict(data, "utf-8", "UTF-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(data, "utf-16", "UTF-16"), "utf-16"
    if b"\x00" in data[:4096]:
        raise BadRequest("the file holds NUL bytes: it looks like UTF-16 without a byte "
                         "order mark; save it as CSV (UTF-8 or Windows-1252)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return _strict(data, "cp1252", "UTF-8 nor Windows-1252"), "cp1252"


def _strict(data: bytes, codec: str, label: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        byte = data[exc.start:exc.start + 1].hex()
        raise BadRequest(f"line {line}: byte 0x{byte} is not {label}: the file is in "
                         "another encoding; save it as CSV UTF-8 (or Windows-1252)") from exc


def parse_clock(cell: str) -> time:
    """``08:00``, ``8:00``, ``8h``, ``8H30``, ``  13h30`` (EDT pads with spaces),
    ``08.30`` → a wall-clock time. Raises ``BadRequest``."""
    m = _CLOCK.match(cell.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2) or 0) > 59:
        raise BadRequest(f"time {cell.strip()!r} is not a time of day (8h30, 08:30)")
    return time(int(m.group(1)), int(m.group(2) or 0))


def parse_duration(cell: str) -> timedelta:
    """``1h00``, ``0h55``, ``2h``, ``1:30``, ``55`` (minutes), ``55 min`` → a duration
    of 5 minutes to 12 hours. Raises ``BadRequest``."""
    m = _DURATION.match(cell.strip())
    if not m:
        raise BadRequest(f"duration {cell.strip()!r} is not a duration (1h00, 0h55, 90)")
    if m.group(3) is not None:
        minutes = int(m.group(3))
    else:
        minutes = int(m.group(1)) * 60 + int(m.group(2) or 0)
    if not 5 <= minutes <= 12 * 60:
        raise BadRequest(f"duration {cell.strip()!r} is not between 5 minutes and 12 hours")
    return timedelta(minutes=minutes)


def parse_weekday(cell: str) -> int:
    """``lundi``/``Lundi``/``Monday``/``lun``/``1`` (ISO, Monday is 1) → 0 for Monday.
    Raises ``BadRequest``."""
    folded = fold(cell).rstrip(".")
    if folded.isdecimal() and 1 <= int(folded) <= 7:
        return int(folded) - 1
    if folded in DAYS:
        return DAYS[folded]
    raise BadRequest(f"weekday {cell.strip()!r} is not a day name (lundi, Monday) or 1 to 7")


def parse_week(cell: str) -> Week | None:
    """A week code → None (every week), ``Week.A`` or ``Week.B``: empty or ``H``
    (hebdomadaire) every week; ``A``, ``Q1``, ``S1``, ``1``, ``Sem. A`` week A; ``B``,
    ``Q2``, ``S2``, ``2`` week B. Raises ``BadRequest`` for any other code (a school
    that names its alternation otherwise must say which is which; odd and even ISO
    weeks are not weeks A and B: notes §3)."""
    raw = fold(cell)
    key = re.sub(r"[\s.\-_]", "", raw)
    if raw in _EVERY_WEEK or key in _EVERY_WEEK:
        return None
    for prefix in ("semaine", "sem", "s"):
        if key.startswith(prefix) and key[len(prefix):] in ("a", "b"):
            key = key[len(prefix):]
            break
    if key in _WEEK_A:
        return Week.A
    if key in _WEEK_B:
        return Week.B
    raise BadRequest(f"week {cell.strip()!r} is not a week code this import knows "
                     "(empty or H: every week; A, Q1, 1: week A; B, Q2, 2: week B)")
