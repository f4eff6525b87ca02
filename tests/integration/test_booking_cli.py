"""``davserver booking``: IT staff set up domains and resources from the command line,
and a teacher books what they made through the running server; a wrong value is named
and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest

from tests.conftest import Server, running_server, school_today
from tests.integration.test_web_booking import Api, new

pytestmark = pytest.mark.time_sensitive  # dates relative to the clock

USERS = {"ann": "teacher", "ben": "student", "gest": "staff"}
MONDAY = school_today() + timedelta(days=14 - school_today().weekday())


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("bcli"), users=USERS) as server:
        yield server


def ok(server: Server, *args: str) -> str:
    done = server.cli("booking", *args, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(server: Server, *args: str) -> str:
    done = server.cli("booking", *args, check=False)
    assert done.returncode == 1, (done.stdout, done.stderr)
    return done.stderr


def at(hour: int) -> str:
    return datetime.combine(MONDAY, time(hour)).isoformat()


def test_staff_set_up_a_domain_that_teachers_book(srv: Server) -> None:
    assert "added domain" in ok(srv, "domain", "add", "Salles informatiques",
                                "--profile", "teacher", "--manager", "gest",
                                "--opens", "08:00", "--closes", "17:30")
    out = ok(srv, "resource", "add", "Salles informatiques", "Salle info 1",
             "--kind", "place", "--capacity", "30", "--location", "B12")
    room = int(out.split()[2])
    tablets = int(ok(srv, "resource", "add", "Salles informatiques", "Tablettes",
                     "--kind", "equipment", "--quantity", "15", "--validation").split()[2])
    listing = ok(srv, "resource", "list", "Salles informatiques")
    assert f"{room}\tSalles informatiques\tSalle info 1\tplace\tquantity 1" in listing
    assert f"{tablets}\tSalles informatiques\tTablettes\tequipment\tquantity 15" in listing
    assert "profiles teacher\tmanagers gest" in ok(srv, "domain", "list")

    ann = Api(srv, "ann")
    booked = ann.post("/bookings", new(room, at(9), at(10)))
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "confirmed"
    pending = ann.post("/bookings", new(tablets, at(9), at(10), quantity=5))
    assert pending.status_code == 201 and pending.json()["status"] == "pending"
    # Closing at 17:30: a booking until 18:00 is refused with the reason.
    late = ann.post("/bookings", new(room, at(17), at(18)))
    assert late.status_code == 422 and "17:30" in late.json()["error"], late.text
    # The student profile was not listed.
    assert Api(srv, "ben").post("/bookings", new(room, at(11), at(12))).status_code == 403

    # Unavailability by a manager suspends the booking it meets; by someone else: 1.
    day = MONDAY.isoformat()
    assert "1 booking(s) suspended" in ok(
        srv, "unavailable", str(room), "--from", f"{day} 08:00", "--until", f"{day} 12:00",
        "--reason", "Maintenance", "--by", "gest")
    assert "gestionnaires" in refused(srv, "unavailable", str(room), "--from",
                                      f"{day} 13:00", "--until", f"{day} 14:00",
                                      "--by", "ann")
    # Disabled: new bookings refused, enabled again: accepted.
    ok(srv, "resource", "disable", str(room))
    assert ann.post("/bookings", new(room, at(14), at(15))).status_code == 422
    ok(srv, "resource", "enable", str(room))
    assert ann.post("/bookings", new(room, at(14), at(15))).status_code == 201


WRONG = [
    (["domain", "add", "X", "--opens", "18:00", "--closes", "08:00"], "fermeture (08:00)"),
    (["domain", "add", "X", "--weekdays", "019"], "« 019 »"),
    (["domain", "add", "X", "--profile", "wizard"], "« wizard »"),
    (["domain", "add", "X", "--manager", "nobody"], "« nobody »"),
    (["domain", "add", "X", "--slot", "1"], "entre 5 et 240"),
    (["domain", "add", "X", "--school", "Lycée inconnu"], "Lycée inconnu"),
    (["resource", "add", "Nulle part", "R", "--kind", "place"], "« Nulle part »"),
    (["resource", "add", "{d}", "R", "--kind", "place", "--quantity", "0"], "entre 1 et"),
    (["resource", "add", "{d}", "R", "--kind", "place", "--max-duration", "0"],
     "durée maximale"),
]


def test_wrong_values_are_named_and_change_nothing(srv: Server) -> None:
    domain = ok(srv, "domain", "add", "Salles de test").split()[2]
    before = (ok(srv, "domain", "list"), ok(srv, "resource", "list"))
    for args, named in WRONG:
        message = refused(srv, *[a.replace("{d}", domain) for a in args])
        assert named in message, (args, message)
    assert (ok(srv, "domain", "list"), ok(srv, "resource", "list")) == before
