"""Schools (établissements): their national code (UAI), holiday zone and time zone.

A school is named on the command line by its UAI or by its exact name
(:func:`find_school`). The UAI (unité administrative immatriculée, formerly RNE) is
seven characters and a check letter: three digits for the département (``075``
Paris, ``620``/``720`` for Corse-du-Sud and Haute-Corse, ``971``... overseas), four for
the school's number, then the letter. The letter is the seven-digit number modulo 23,
indexing the alphabet without I, O and Q (:data:`UAI_LETTERS`): ``0750654D``
(lycée Louis-le-Grand) is 750654 = 23 × 32637 + 3, and the fourth letter is D. The
rule is the one the ministry's own code applies (mission-apprentissage's
``uaiUtils.js``, the academic ENT exports of Open ENT NG) and holds for every UAI of
the annuaire de l'éducation; the pseudo-structures some AAF deliveries carry
("zones de remplacement", ``1004001V``) do not follow it, and are never schools.

Holiday zones are the three mainland zones of the ministry's school calendar (A, B,
C, since 2016); a school outside them (Corsica, overseas) has none and uses
imported holidays only. The time zone is an IANA name (``Europe/Paris``,
``America/Guadeloupe``...): the school's wall clock for lessons, bookings and dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from davserver.errors import BadRequest, Conflict, NotFound

from .models import School

UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
"""The 23 check letters, in order (no I, O, Q: they read as 1, 0)."""
HOLIDAY_ZONES = ("A", "B", "C")
DEFAULT_TIME_ZONE = "Europe/Paris"
_UAI_SHAPE = re.compile(r"^[0-9]{7}[A-Z]$")
_MAX_NAME = 200


@dataclass(frozen=True)
class SchoolInfo:
    """A school as commands and pages show it."""

    id: int
    name: str
    uai: str | None
    holiday_zone: str | None
    time_zone: str

    def label(self) -> str:
        """``name (UAI)``, or the name alone for a school without a UAI."""
        return f"{self.name} ({self.uai})" if self.uai else self.name


def _info(school: School) -> SchoolInfo:
    return SchoolInfo(school.id, school.name, school.uai, school.holiday_zone,
                      school.time_zone)


def uai_check_letter(digits: str) -> str:
    """The check letter of a UAI's seven digits (module docstring for the rule)."""
    return UAI_LETTERS[int(digits) % len(UAI_LETTERS)]


def looks_like_uai(text: str) -> bool:
    """True for seven digits and a letter (any case), whether the letter is right or not."""
    return bool(_UAI_SHAPE.match(text.strip().upper()))


def check_uai(text: str) -> str:
    """The UAI ``text`` in upper case; ``BadRequest`` naming what is wrong (its shape,
    or its check letter and the one expected)."""
    uai = text.strip().upper()
    if not _UAI_SHAPE.match(uai):
        raise BadRequest(f"invalid UAI {text!r}: seven digits and a letter (e.g. 0750654D)")
    expected = uai_check_letter(uai[:7])
    if uai[7] != expected:
        raise BadRequest(f"invalid UAI {text!r}: its check letter should be {expected} "
                         f"({uai[:7]}{expected}); check the code on the school's papers")
    return uai


def check_zone(zone: str | None) -> str | None:
    """A holiday zone ``A``, ``B`` or ``C`` (any case), or None; ``BadRequest`` otherwise."""
    if zone is None or not zone.strip() or zone.strip().lower() == "none":
        return None
    found = zone.strip().upper().removeprefix("ZONE ").strip()
    if found not in HOLIDAY_ZONES:
        raise BadRequest(f"unknown holiday zone {zone!r}: A, B or C (or none)")
    return found


def check_time_zone(name: str) -> str:
    """An IANA time zone name; ``BadRequest`` when the system does not know it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"unknown time zone {name!r} (an IANA name such as "
                         "Europe/Paris or America/Guadeloupe)") from None
    return name


def _check_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise BadRequest("a school needs a name")
    if len(cleaned) > _MAX_NAME:
        raise BadRequest(f"school name longer than {_MAX_NAME} characters")
    return cleaned


def _by_uai(session: Session, uai: str) -> School | None:
    return session.scalar(select(School).where(func.upper(School.uai) == uai.upper()))


def _by_name(session: Session, name: str) -> School | None:
    return session.scalar(select(School).where(School.name == name).order_by(School.id)
                          .limit(1))


def _free(session: Session, *, name: str | None, uai: str | None,
          school_id: int | None = None) -> None:
    """``Conflict`` when another school has this name or UAI."""
    for found, what in ((_by_uai(session, uai) if uai else None, f"UAI {uai}"),
                        (_by_name(session, name) if name else None, f"name {name!r}")):
        if found is not None and found.id != school_id:
            raise Conflict(f"a school already has the {what}: {_info(found).label()}")


def add_school(session: Session, name: str, *, uai: str, zone: str | None = None,
               time_zone: str = DEFAULT_TIME_ZONE) -> SchoolInfo:
    """Create a school. Raises ``BadRequest`` for a bad UAI, zone, time zone or name,
    ``Conflict`` when its UAI or name is taken."""
    name = _check_name(name)
    uai = check_uai(uai)
    _free(session, name=name, uai=uai)
    school = School(name=name, uai=uai, holiday_zone=check_zone(zone),
                    time_zone=check_time_zone(time_zone))
    session.add(school)
    session.flush()
    return _info(school)


def set_school(session: Session, ref: str, *, name: str | None = None,
               uai: str | None = None, zone: str | None = None, clear_zone: bool = False,
               time_zone: str | None = None) -> SchoolInfo:
    """Change a school named by UAI or name (:func:`find_school`); arguments left None
    are kept. ``clear_zone`` removes the holiday zone. Same errors as :func:`add_school`."""
    school = session.get_one(School, find_school(session, ref))
    new_name = _check_name(name) if name is not None else None
    new_uai = check_uai(uai) if uai is not None else None
    _free(session, name=new_name, uai=new_uai, school_id=school.id)
    if new_name is not None:
        school.name = new_name
    if new_uai is not None:
        school.uai = new_uai
    if clear_zone:
        school.holiday_zone = None
    elif zone is not None:
        school.holiday_zone = check_zone(zone)
    if time_zone is not None:
        school.time_zone = check_time_zone(time_zone)
    session.flush()
    return _info(school)


def list_schools(session: Session) -> list[SchoolInfo]:
    """Every school, by name."""
    return [_info(s) for s in session.scalars(select(School).order_by(School.name,
                                                                      School.id))]


def school_info(session: Session, school_id: int) -> SchoolInfo:
    """The school ``school_id``; ``NotFound`` if there is none."""
    school = session.get(School, school_id)
    if school is None:
        raise NotFound(f"no school #{school_id}")
    return _info(school)


def find_school(session: Session, ref: str) -> int:
    """The id of the school whose UAI (any case) or exact name is ``ref``;
    ``NotFound`` naming the schools there are."""
    found = _by_uai(session, ref.strip()) if looks_like_uai(ref) else None
    if found is None:
        found = _by_name(session, ref)
    if found is None:
        names = ", ".join(s.label() for s in list_schools(session))
        raise NotFound(f"no school {ref!r} (schools: {names or 'none yet; add one with '}"
                       f"{'' if names else '`davserver school add NAME --uai UAI`'})")
    return found.id


def ensure_school(session: Session, name: str) -> int:
    """Return the id of the school named ``name``, creating it (without a UAI) if absent.
    For tests and scripts; people name a new school with :func:`add_school`."""
    school = _by_name(session, name)
    if school is None:
        school = School(name=_check_name(name), time_zone=DEFAULT_TIME_ZONE)
        session.add(school)
        session.flush()
    return school.id
