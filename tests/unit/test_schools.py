"""Schools (``acl.schools``): the UAI's check letter against real UAIs, zones, time
zones, and naming a school by UAI or name, on a real database."""

from __future__ import annotations

import pytest

import acl
from acl.schools import check_uai, check_zone, uai_check_letter
from davserver.db import Database
from davserver.errors import BadRequest, Conflict, NotFound

# Real UAIs: two Paris lycées, a lycée of Bain-de-Bretagne (in an Open ENT NG test of
# the Breton ENT), the école of Lasalle (Gard; a data.education.gouv.fr record quoted
# by a public collector's test), and the one structure of Open ENT NG's AAF sample
# (Alpes-de-Haute-Provence) that follows the rule.
REAL = ["0750654D", "0750653C", "0352318E", "0301674G", "0049951V"]


@pytest.mark.parametrize("uai", REAL)
def test_real_uais_pass_the_check(uai: str) -> None:
    assert uai_check_letter(uai[:7]) == uai[7]
    assert check_uai(uai.lower()) == uai


@pytest.mark.parametrize(("text", "reason"), [
    ("0750654E", "check letter should be D (0750654D)"),
    ("750654D", "seven digits and a letter"),
    ("0750654", "seven digits and a letter"),
    ("07506541", "seven digits and a letter"),
    ("0750 654D", "seven digits and a letter"),
])
def test_bad_uais_are_refused_naming_why(text: str, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_uai(text)


def test_zones() -> None:
    assert [check_zone(z) for z in ("a", "B", "Zone C", None, "none", "")] == [
        "A", "B", "C", None, None, None]
    with pytest.raises(BadRequest, match="A, B or C"):
        check_zone("D")


def test_add_find_and_set(db: Database) -> None:
    with db.transaction() as s:
        added = acl.add_school(s, " Collège  Jean Moulin ", uai="0750654d", zone="c")
        assert (added.name, added.uai, added.holiday_zone, added.time_zone) == (
            "Collège Jean Moulin", "0750654D", "C", "Europe/Paris")
        other = acl.add_school(s, "Lycée de Bain-de-Bretagne", uai="0352318E",
                               time_zone="America/Guadeloupe")
        assert acl.find_school(s, "0750654d") == added.id
        assert acl.find_school(s, "Collège Jean Moulin") == added.id
        assert acl.find_school(s, "0352318e") == other.id
        with pytest.raises(NotFound, match=r"Collège Jean Moulin \(0750654D\)"):
            acl.find_school(s, "0750653C")
        with pytest.raises(Conflict, match="already has the UAI 0750654D"):
            acl.add_school(s, "Autre", uai="0750654D")
        with pytest.raises(Conflict, match="already has the name"):
            acl.add_school(s, "Collège Jean Moulin", uai="0750653C")
        with pytest.raises(BadRequest, match="unknown time zone"):
            acl.add_school(s, "Autre", uai="0750653C", time_zone="Europe/Lutece")
        changed = acl.set_school(s, "0750654D", zone=None, clear_zone=True,
                                 time_zone="Europe/Paris", name="Collège J. Moulin")
        assert (changed.name, changed.holiday_zone) == ("Collège J. Moulin", None)
        assert [i.uai for i in acl.list_schools(s)] == ["0750654D", "0352318E"]


def test_import_school_takes_a_uai_or_a_name(db: Database) -> None:
    with db.transaction() as s:
        added = acl.add_school(s, "Collège Jean Moulin", uai="0750654D")
        assert acl.import_school(s, "0750654D") == (added.id, "Collège Jean Moulin")
        with pytest.raises(BadRequest, match="add it first with `davserver school add"):
            acl.import_school(s, "0750653C")
        new_id, name = acl.import_school(s, "École du Centre")  # a name: created
        assert name == "École du Centre" and new_id != added.id
