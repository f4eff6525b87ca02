"""The school calendar the timetable is laid on: which days have lessons, and which
weeks are weeks A and B.

* **School days**: the days of the school year (:class:`~web.textbook.SchoolYear`,
  both ends included) outside the school's holiday periods (``davserver import
  holidays``) and outside the public holidays (jours fériés), which are computed with
  the ``holidays`` package for France and, from the school's UAI, for Alsace-Moselle
  (Vendredi saint, Saint-Étienne) and the overseas departments.
* **Weeks A and B** alternate over *school weeks* only: a week whose Monday to Friday
  are all in a holiday period (or outside the year) is no week at all, neither A nor
  B, and the alternation resumes after it where it stopped. This is what EDT and
  UnDeuxTEMPS do (their calendars number the weeks of classes, notes §3), and what
  schools print: the week after the Toussaint is B if the week before it was A. A
  public holiday does not stop a week from counting. Week A is the week of the
  anchor date (``--week-a``, stored with the year), by default the year's first
  school week.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from davserver.errors import BadRequest

from ..models import Week
from ..services import Period

DAY = timedelta(days=1)

# The ``holidays`` package's French subdivisions, from the UAI's first three digits
# (its département): the local law of Alsace-Moselle and the overseas departments'
# own days (abolition of slavery...).
_SUBDIVISIONS = {"057": "57", "067": "6AE", "068": "6AE", "971": "971", "972": "972",
                 "973": "973", "974": "974", "976": "976"}


def subdivision_of(uai: str | None) -> str | None:
    """The ``holidays`` subdivision of a school from its UAI (``0670001A``: Bas-Rhin,
    so Alsace, ``6AE``), or None for the rest of metropolitan France."""
    return _SUBDIVISIONS.get((uai or "")[:3])


@cache
def _public(years: tuple[int, ...], subdivision: str | None) -> dict[date, str]:
    import holidays  # 30 ms and a few MiB: only when a calendar is built

    found = holidays.country_holidays("FR", subdiv=subdivision, years=years, language="fr")
    return dict(found.items())


def public_holidays(first: date, last: date, uai: str | None = None) -> dict[date, str]:
    """Public holidays (jours fériés) from ``first`` to ``last`` (both included), by
    date, with their French names; the school's UAI chooses the local ones
    (:func:`subdivision_of`)."""
    years = tuple(range(first.year, last.year + 1))
    return {d: name for d, name in _public(years, subdivision_of(uai)).items()
            if first <= d <= last}


@cache
def _school(years: tuple[int, ...], zone: str) -> tuple[tuple[date, str], ...]:
    import holidays

    found = holidays.country_holidays("FR", subdiv=f"Zone {zone}", years=years,
                                      categories=("school",), language="fr")
    return tuple(sorted(found.items()))


def zone_holidays(first: date, last: date, zone: str) -> list[Period]:
    """The school holidays of zone ``zone`` (``"A"``, ``"B"`` or ``"C"``) from
    ``first`` to ``last``, as periods of days off (both ends included), computed by
    the ``holidays`` package (its ``school`` category for France follows the
    ministry's rules: Toussaint, Noël, hiver and printemps by zone, the Ascension
    bridge, summer). What ``davserver demo`` lays its timetable on; a real school
    imports the ministry's published calendar (``davserver import holidays``), which
    wins when the two differ. Raises ``BadRequest`` for another zone."""
    if zone not in ("A", "B", "C"):
        raise BadRequest(f"unknown school holiday zone {zone!r} (A, B or C)")
    periods: list[Period] = []
    for day, name in _school(tuple(range(first.year, last.year + 1)), zone):
        if not first <= day <= last:
            continue
        if periods and periods[-1].name == name and periods[-1].end + DAY == day:
            periods[-1] = Period(name, periods[-1].start, day)
        else:
            periods.append(Period(name, day, day))
    return periods


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class SchoolCalendar:
    """The calendar of one school year: ``first`` and ``last`` days, holiday
    ``periods``, ``public`` holidays, and the ``anchor`` of week A (None: the first
    school week). Raises ``BadRequest`` (from :meth:`build`) for an anchor outside the
    year or in a week without classes."""

    first: date
    last: date
    periods: Sequence[Period] = ()
    public: dict[date, str] = field(default_factory=dict)
    anchor: date | None = None
    _weeks: dict[date, Week | None] = field(default_factory=dict, init=False, repr=False)
    _off: dict[date, str] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def build(cls, first: date, last: date, periods: Sequence[Period], uai: str | None,
              anchor: date | None = None) -> SchoolCalendar:
        calendar = cls(first, last, list(periods), public_holidays(first, last, uai), anchor)
        calendar._lay_out()
        return calendar

    def _lay_out(self) -> None:
        for period in self.periods:
            day = max(period.start, self.first)
            while day <= min(period.end, self.last):
                self._off.setdefault(day, period.name)
                day += DAY
        school_weeks = [m for m in self._mondays() if self._has_classes(m)]
        if not school_weeks:
            raise BadRequest(f"the school year {self.first} to {self.last} has no week "
                             "of classes outside its holidays")
        if self.anchor is None:
            start = 0
        else:
            anchor_monday = monday_of(self.anchor)
            if not self.first <= self.anchor <= self.last:
                raise BadRequest(f"--week-a {self.anchor} is outside the school year "
                                 f"({self.first} to {self.last})")
            if anchor_monday not in school_weeks:
                raise BadRequest(f"--week-a {self.anchor} is in a week without classes "
                                 f"({self._off.get(self.anchor, 'holidays')}): name a day "
                                 "of a school week A")
            start = school_weeks.index(anchor_monday)
        self._weeks = {m: None for m in self._mondays()}
        for index, monday in enumerate(school_weeks):
            self._weeks[monday] = Week.A if (index - start) % 2 == 0 else Week.B

    def _mondays(self) -> Iterator[date]:
        monday = monday_of(self.first)
        while monday <= self.last:
            yield monday
            monday += 7 * DAY

    def _has_classes(self, monday: date) -> bool:
        return any(self.first <= d <= self.last and d not in self._off
                   for d in (monday + i * DAY for i in range(5)))

    def week(self, day: date) -> Week | None:
        """Week A or B of ``day``; None in a week without classes or outside the year."""
        return self._weeks.get(monday_of(day))

    def off(self, day: date) -> str | None:
        """Why ``day`` has no lessons (the holiday's or public holiday's name, "outside
        the school year"), or None on a school day. Sundays are not refused: a
        timetable that puts a lesson on a Sunday means it."""
        if not self.first <= day <= self.last:
            return "outside the school year"
        return self._off.get(day) or self.public.get(day)

    def days(self, weekday: int, week: Week | None = None) -> Iterator[date]:
        """The school days falling on ``weekday`` (0 Monday), in week ``week`` only
        when given (A or B), in order."""
        day = self.first + timedelta(days=(weekday - self.first.weekday()) % 7)
        while day <= self.last:
            if self.off(day) is None and (week is None or self.week(day) is week):
                yield day
            day += 7 * DAY

    def school_weeks(self) -> list[tuple[date, Week | None]]:
        """Every week of the year, by its Monday, with its type (None: no classes)."""
        return sorted(self._weeks.items())
