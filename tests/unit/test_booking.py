"""Booking services (``web.booking``) on a real database (SQLite, and PostgreSQL when
configured): each rule's refusal and its reason, the quantity guarantee (also under
threads on one database), managers over the rules, access by profile and school,
validation refusing competitors, recurring series checked whole.

Times: the school is in Europe/Paris (no school year: the default); ``NOW`` is Monday
4 May 2026 08:00 local, bookings are on the following days.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver.db import Database
from davserver.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound
from web import booking, textbook
from web.booking import Booker, Booking, BookingStatus, Request, Resource

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 5, 4, 8, 0, tzinfo=PARIS)


def at(day: int, hour: int, minute: int = 0, month: int = 5) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@dataclass
class School:
    """Ids of the test school: a domain open to teachers, managed by ``manager``."""

    school: int
    teacher: acl.UserContext
    teacher2: acl.UserContext
    student: acl.UserContext
    manager: acl.UserContext
    domain: int


def _user(s: Session, login: str, profile: str, school: int) -> acl.UserContext:
    user = acl.create_user(s, login, "secret-password-1", profile, school_id=school)
    return acl.user_context(s, user.id)


@pytest.fixture
def world(db: Database, monkeypatch: pytest.MonkeyPatch) -> School:
    # No one signs in here: cheap argon2 parameters keep four accounts per test fast.
    monkeypatch.setattr(acl.people, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    with db.transaction() as s:
        school = acl.ensure_school(s, "Collège Test")
        people = [_user(s, login, profile, school) for login, profile in (
            ("prof", "teacher"), ("prof2", "teacher"), ("eleve", "student"),
            ("gest", "staff"))]
        domain = booking.ResourceDomain(school_id=school, name="Salles informatiques",
                                        opens=time(8), closes=time(18), weekdays="01234",
                                        slot_minutes=60)
        domain.profiles.append(booking.DomainProfile(profile=acl.Profile.teacher))
        domain.managers.append(s.get_one(acl.User, people[3].user_id))
        s.add(domain)
        s.flush()
        return School(school, *people, domain.id)


def add_resource(db: Database, world: School, **kw: object) -> int:
    values: dict[str, object] = {"kind": booking.ResourceKind.place, "name": "Salle B12",
                                 "quantity": 1}
    values.update(kw)
    with db.transaction() as s:
        r = Resource(domain_id=world.domain, **values)
        s.add(r)
        s.flush()
        return r.id


def book(db: Database, who: acl.UserContext, resource: int, start: datetime,
         end: datetime, quantity: int = 1) -> Booking:
    with db.transaction() as s:
        return booking.book(s, Booker(who), resource, Request(start, end, quantity),
                            "cours", now=NOW)


def statuses(db: Database, resource: int) -> list[BookingStatus]:
    with db.transaction(write=False) as s:
        return list(s.scalars(select(Booking.status).where(Booking.resource_id == resource)
                              .order_by(Booking.id)))


@pytest.mark.parametrize("limits,start,end,reason", [
    ({"active": False}, at(5, 10), at(5, 11), "est désactivée"),
    ({}, at(5, 7), at(5, 9), "En dehors des heures d'ouverture"),
    ({}, at(5, 17), at(5, 19), "En dehors des heures d'ouverture"),
    ({}, at(9, 10), at(9, 11), "En dehors des heures d'ouverture"),  # a Saturday
    ({"max_duration": 120}, at(5, 9), at(5, 12), "trop longue : 3 h demandées, 2 h au plus"),
    ({"min_notice": 1440}, at(4, 14), at(4, 15), "au moins 1 jour à l'avance"),
    ({"max_notice": 14}, at(25, 10), at(25, 11), "que 14 jours à l'avance"),
    ({}, at(1, 10), at(1, 11), "dans le passé"),
])
def test_each_rule_refuses_with_its_reason(db: Database, world: School,
                                           limits: dict[str, object], start: datetime,
                                           end: datetime, reason: str) -> None:
    resource = add_resource(db, world, **limits)
    with pytest.raises(booking.BookingRefused) as refused:
        book(db, world.teacher, resource, start, end)
    assert refused.value.status == 422
    assert reason in refused.value.message
    assert statuses(db, resource) == []


def test_unavailability_period_refuses_everyone(db: Database, world: School) -> None:
    resource = add_resource(db, world)
    with db.transaction() as s:
        s.add(booking.Unavailability(resource_id=resource, start=at(5, 0), end=at(6, 0),
                                     reason="travaux"))
    for who in (world.teacher, world.manager):
        with pytest.raises(booking.BookingRefused, match=r"indisponible .* \(travaux\)"):
            book(db, who, resource, at(5, 10), at(5, 11))
    assert book(db, world.teacher, resource, at(6, 10), at(6, 11)).status == "confirmed"


def test_an_unavailability_suspends_the_bookings_it_meets(db: Database,
                                                          world: School) -> None:
    resource = add_resource(db, world)
    hit = book(db, world.teacher, resource, at(5, 10), at(5, 11))
    spared = book(db, world.teacher, resource, at(6, 10), at(6, 11))
    with db.transaction() as s, pytest.raises(Forbidden):
        booking.add_unavailability(s, world.teacher, resource, at(5, 0), at(6, 0))
    with db.transaction() as s:
        suspended = booking.add_unavailability(s, world.manager, resource, at(5, 0),
                                               at(6, 0), "panne")
        assert [b.id for b in suspended] == [hit.id]
    assert statuses(db, resource) == ["suspended", "confirmed"]
    assert spared.status == "confirmed"
    with pytest.raises(booking.BookingRefused, match="indisponible"):
        book(db, world.teacher2, resource, at(5, 10), at(5, 11))


def test_max_bookings_per_user_counts_future_bookings(db: Database, world: School) -> None:
    resource = add_resource(db, world, max_bookings=2)
    book(db, world.teacher, resource, at(5, 10), at(5, 11))
    book(db, world.teacher, resource, at(6, 10), at(6, 11))
    with pytest.raises(booking.BookingRefused, match="déjà 2 réservation"):
        book(db, world.teacher, resource, at(7, 10), at(7, 11))
    assert book(db, world.teacher2, resource, at(7, 10), at(7, 11)).status == "confirmed"


def test_a_manager_books_over_the_rules_but_not_over_the_quantity(db: Database,
                                                                   world: School) -> None:
    resource = add_resource(db, world, max_duration=60, needs_validation=True)
    done = book(db, world.manager, resource, at(9, 7), at(9, 20))  # Saturday, 13 h
    assert done.status == BookingStatus.confirmed and done.validated_by is not None
    with pytest.raises(booking.NoUnitLeft) as refused:
        book(db, world.manager, resource, at(9, 10), at(9, 11))
    assert refused.value.status == 409 and "déjà réservé" in refused.value.message


def test_quantity_counts_the_peak_of_overlapping_bookings(db: Database,
                                                          world: School) -> None:
    tablets = add_resource(db, world, kind=booking.ResourceKind.equipment,
                           name="Tablettes", quantity=15)
    book(db, world.teacher, tablets, at(5, 9), at(5, 11), 10)
    book(db, world.teacher2, tablets, at(5, 10), at(5, 12), 5)
    book(db, world.teacher2, tablets, at(5, 11), at(5, 12), 5)  # 10 freed at 11:00
    with pytest.raises(booking.NoUnitLeft, match="que 0 « Tablettes » sur 15"):
        book(db, world.teacher, tablets, at(5, 10), at(5, 11))
    with pytest.raises(BadRequest, match="entre 1 et 15"):
        book(db, world.teacher, tablets, at(6, 10), at(6, 11), 16)


@pytest.mark.parametrize("start,end", [(at(5, 11), at(5, 10)), (at(5, 10), at(5, 10))])
def test_end_not_after_start_is_bad_input(db: Database, world: School, start: datetime,
                                          end: datetime) -> None:
    resource = add_resource(db, world)
    with pytest.raises(BadRequest, match="après son début"):
        book(db, world.teacher, resource, start, end)


def test_access_by_profile_and_school(db: Database, world: School) -> None:
    resource = add_resource(db, world)
    with pytest.raises(Forbidden, match="Votre profil ne permet pas"):
        book(db, world.student, resource, at(5, 10), at(5, 11))
    with db.transaction() as s:
        other = acl.ensure_school(s, "Lycée Voisin")
        stranger = _user(s, "ailleurs", "teacher", other)
        assert booking.visible_domains(s, stranger) == []
        assert [d.id for d in booking.visible_domains(s, world.teacher)] == [world.domain]
        assert [d.id for d in booking.visible_domains(s, world.manager)] == [world.domain]
    with pytest.raises(NotFound):
        book(db, stranger, resource, at(5, 10), at(5, 11))
    assert statuses(db, resource) == []


def test_cancel_by_booker_or_manager_only(db: Database, world: School) -> None:
    resource = add_resource(db, world)
    first = book(db, world.teacher, resource, at(5, 10), at(5, 11))
    with db.transaction() as s, pytest.raises(NotFound):
        booking.cancel(s, world.teacher2, first.id)
    with db.transaction() as s:
        booking.cancel(s, world.manager, first.id)
    with db.transaction() as s, pytest.raises(Conflict):
        booking.cancel(s, world.teacher, first.id)
    assert book(db, world.teacher2, resource, at(5, 10), at(5, 11)).status == "confirmed"


def test_validating_refuses_competitors_that_no_longer_fit(db: Database,
                                                           world: School) -> None:
    """Two pending requests fit the 2 projectors; one breaks (quantity 1): validating
    one request refuses the other, with the reason."""
    projectors = add_resource(db, world, kind=booking.ResourceKind.equipment,
                              name="Vidéoprojecteur", quantity=2, needs_validation=True)
    first = book(db, world.teacher, projectors, at(5, 10), at(5, 12))
    second = book(db, world.teacher2, projectors, at(5, 11), at(5, 13))
    apart = book(db, world.teacher2, projectors, at(6, 11), at(6, 13))
    assert statuses(db, projectors) == ["pending"] * 3
    with db.transaction() as s:
        s.get_one(Resource, projectors).quantity = 1
    with db.transaction() as s:
        assert [b.id for b in booking.pending_queue(s, world.manager)] == \
            [first.id, second.id, apart.id]
        assert booking.pending_queue(s, world.teacher) == []
        with pytest.raises(Forbidden):
            booking.validate(s, world.teacher, first.id)
    with db.transaction() as s:
        outcome = booking.validate_many(s, world.manager, [first.id, second.id, apart.id])
        assert [b.id for b in outcome.confirmed] == [first.id, apart.id]
        assert [b.id for b in outcome.refused] == [second.id]
        assert f"réservation n°{first.id}" in outcome.refused[0].refusal_reason
    assert statuses(db, projectors) == ["confirmed", "refused", "confirmed"]


def test_refusing_needs_a_reason(db: Database, world: School) -> None:
    resource = add_resource(db, world, needs_validation=True)
    request = book(db, world.teacher, resource, at(5, 10), at(5, 11))
    with db.transaction() as s, pytest.raises(BadRequest):
        booking.refuse(s, world.manager, request.id, "  ")
    with db.transaction() as s:
        booking.refuse(s, world.manager, request.id, "Salle prise par les examens")
    with db.transaction() as s:
        assert s.get_one(Booking, request.id).refusal_reason == "Salle prise par les examens"
        with pytest.raises(Conflict, match="plus en attente"):
            booking.validate(s, world.manager, request.id)


def series(db: Database, who: acl.UserContext, resource: int, until: date,
           skip: bool = False, every: int = 1) -> booking.SeriesResult:
    with db.transaction() as s:
        return booking.book_series(s, Booker(who), resource, Request(at(5, 10), at(5, 11)),
                                   every, until, "club", skip_conflicts=skip, now=NOW)


def test_a_series_with_a_conflict_saves_nothing_unless_told_to_skip(db: Database,
                                                                    world: School) -> None:
    resource = add_resource(db, world)
    taken = book(db, world.teacher2, resource, at(19, 10, 30), at(19, 11, 30))
    with pytest.raises(booking.SeriesConflicts) as refused:
        series(db, world.teacher, resource, date(2026, 6, 2))
    assert [o.start for o in refused.value.conflicts] == [at(19, 10)]
    assert "déjà réservé" in refused.value.conflicts[0].reason
    assert statuses(db, resource) == ["confirmed"]
    done = series(db, world.teacher, resource, date(2026, 6, 2), skip=True)
    assert [b.start for b in done.booked] == [at(5, 10), at(12, 10), at(26, 10),
                                              at(2, 10, month=6)]
    with db.transaction() as s:
        booking.cancel(s, world.teacher, done.booked[1].id)
    with db.transaction() as s:
        cancelled = booking.cancel_series(s, world.teacher, done.series_id, now=NOW)
        assert len(cancelled) == 3
    assert statuses(db, resource) == ["confirmed"] + ["cancelled"] * 4
    assert taken.status == "confirmed"


def test_a_fortnightly_series_skips_holidays_and_keeps_wall_clock(db: Database,
                                                                  world: School) -> None:
    resource = add_resource(db, world)
    with db.transaction() as s:
        textbook.replace_holidays(s, world.school, [textbook.Period(
            "Pont de l'Ascension", date(2026, 5, 14), date(2026, 5, 24))])
    done = series(db, world.teacher, resource, date(2026, 6, 30), every=2)
    assert done.holidays == [date(2026, 5, 19)]
    assert [b.start.astimezone(PARIS).date() for b in done.booked] == [
        date(2026, 5, 5), date(2026, 6, 2), date(2026, 6, 16), date(2026, 6, 30)]
    assert {b.start.astimezone(PARIS).time() for b in done.booked} == {time(10)}


def test_a_weekly_series_keeps_wall_clock_across_daylight_saving(
        db: Database, world: School) -> None:
    resource = add_resource(db, world)
    with db.transaction() as s:
        done = booking.book_series(s, Booker(world.teacher), resource,
                                   Request(at(20, 10, month=10), at(20, 11, month=10)), 1,
                                   date(2026, 11, 3), now=NOW)
    assert [b.start.astimezone(PARIS).time() for b in done.booked] == [time(10)] * 3
    assert [b.start.astimezone(UTC).hour for b in done.booked] == [8, 9, 9]


def test_series_bad_input(db: Database, world: School) -> None:
    resource = add_resource(db, world)
    with pytest.raises(BadRequest, match="avant sa première date"):
        series(db, world.teacher, resource, date(2026, 5, 1))
    with pytest.raises(BadRequest, match="chaque semaine ou toutes les deux"):
        series(db, world.teacher, resource, date(2026, 6, 1), every=3)
    assert statuses(db, resource) == []


def race(db: Database, resource: int, people: list[acl.UserContext], hour: int) -> list[str]:
    """Each of ``people`` books ``hour`` at once from its own thread; the outcomes."""
    results: list[str] = []
    barrier = threading.Barrier(len(people))

    def attempt(who: acl.UserContext) -> None:
        barrier.wait()
        try:
            book(db, who, resource, at(5, hour), at(5, hour + 1))
            results.append("ok")
        except DomainError as exc:
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt, args=(who,)) for who in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_threads_booking_the_last_unit_get_one_success(db: Database,
                                                       world: School) -> None:
    """Eight threads, each its own transaction on the same database, book the same
    hour of a room, ten rounds: exactly one wins each round, the others are told."""
    resource = add_resource(db, world)
    for hour in range(8, 18):
        results = race(db, resource, [world.teacher, world.teacher2] * 4, hour)
        assert sorted(results) == ["NoUnitLeft"] * 7 + ["ok"], results
    assert statuses(db, resource).count(BookingStatus.confirmed) == 10


WHO_MAY = [  # actor, book, cancel the teacher's booking, validate the teacher's request
    ("teacher", "ok", "ok", "Forbidden"),
    ("teacher2", "ok", "NotFound", "Forbidden"),
    ("student", "Forbidden", "NotFound", "Forbidden"),
    ("manager", "ok", "ok", "ok"),
]


@pytest.mark.parametrize("actor,may_book,may_cancel,may_validate", WHO_MAY)
def test_who_may_book_cancel_and_validate(db: Database, world: School, actor: str,
                                          may_book: str, may_cancel: str,
                                          may_validate: str) -> None:
    """The table of issue 6: teachers book in a teacher domain, students do not; the
    booker and the managers cancel; only managers validate."""
    who: acl.UserContext = getattr(world, actor)
    resource = add_resource(db, world, needs_validation=True)
    mine = book(db, world.teacher, resource, at(5, 10), at(5, 11))

    def outcome(action: object) -> str:
        try:
            with db.transaction() as s:
                action(s)  # type: ignore[operator]
        except DomainError as exc:
            return type(exc).__name__
        return "ok"

    assert outcome(lambda s: booking.book(s, Booker(who), resource,
                                          Request(at(6, 10), at(6, 11)), now=NOW)) == may_book
    assert outcome(lambda s: booking.validate(s, who, mine.id)) == may_validate
    assert outcome(lambda s: booking.cancel(s, who, mine.id)) == may_cancel


def edit(db: Database, who: acl.UserContext, booking_id: int, scope: str = "one",
         skip: bool = False, **change: object) -> booking.EditResult:
    with db.transaction() as s:
        return booking.edit(s, who, booking_id, booking.Change(**change),  # type: ignore[arg-type]
                            scope, skip_conflicts=skip, now=NOW)


def rows_of(db: Database, resource: int) -> list[tuple[int, datetime, datetime, int, str]]:
    """(id, start, end, quantity, status) of every booking of the resource, by id."""
    with db.transaction(write=False) as s:
        return [(b.id, b.start, b.end, b.quantity, b.status.value) for b in s.scalars(
            select(Booking).where(Booking.resource_id == resource).order_by(Booking.id))]


WHO_MAY_EDIT = [  # actor, outcome of editing the teacher's confirmed booking
    ("teacher", "ok"),
    ("teacher2", "NotFound"),
    ("student", "NotFound"),
    ("manager", "ok"),
]


@pytest.mark.parametrize("actor,expected", WHO_MAY_EDIT)
def test_who_may_edit_a_booking(db: Database, world: School, actor: str,
                                expected: str) -> None:
    """Issue 6: the booker and the domain's managers edit; nobody else, and nothing
    changes on a refusal."""
    resource = add_resource(db, world, kind=booking.ResourceKind.equipment,
                            name="Tablettes", quantity=15)
    mine = book(db, world.teacher, resource, at(5, 10), at(5, 11), 5)
    before = rows_of(db, resource)
    try:
        edit(db, getattr(world, actor), mine.id, start=at(5, 14), end=at(5, 16),
             quantity=6, purpose="sortie")
        outcome = "ok"
    except DomainError as exc:
        outcome = type(exc).__name__
    assert outcome == expected
    if expected == "ok":
        assert rows_of(db, resource) == [(mine.id, at(5, 14), at(5, 16), 6, "confirmed")]
    else:
        assert rows_of(db, resource) == before


def test_edit_in_place_back_to_pending_unless_a_manager(db: Database,
                                                         world: School) -> None:
    resource = add_resource(db, world, needs_validation=True)
    request = book(db, world.teacher, resource, at(5, 10), at(5, 11))
    with db.transaction() as s:
        booking.validate(s, world.manager, request.id)
    edit(db, world.teacher, request.id, purpose="autre motif")  # purpose only: stays
    assert rows_of(db, resource)[0][4] == "confirmed"
    edit(db, world.teacher, request.id, start=at(5, 14), end=at(5, 15))
    assert rows_of(db, resource) == [(request.id, at(5, 14), at(5, 15), 1, "pending")]
    with db.transaction() as s:
        booking.validate(s, world.manager, request.id)
    edit(db, world.manager, request.id, start=at(5, 16), end=at(5, 17))
    assert rows_of(db, resource) == [(request.id, at(5, 16), at(5, 17), 1, "confirmed")]
    from web.notifications import Notification
    with db.transaction(write=False) as s:
        told = list(s.scalars(select(Notification.subject).where(
            Notification.user_id == world.teacher.user_id)))
    assert "Réservation modifiée : Salle B12" in told


def test_an_edit_into_a_conflict_changes_nothing(db: Database, world: School) -> None:
    resource = add_resource(db, world, max_duration=120)
    mine = book(db, world.teacher, resource, at(5, 10), at(5, 11))
    book(db, world.teacher2, resource, at(5, 14), at(5, 15))
    before = rows_of(db, resource)
    with pytest.raises(booking.NoUnitLeft, match="déjà réservé"):
        edit(db, world.teacher, mine.id, start=at(5, 14, 30), end=at(5, 15, 30))
    with pytest.raises(booking.BookingRefused, match="trop longue"):
        edit(db, world.teacher, mine.id, start=at(5, 8), end=at(5, 12))
    with pytest.raises(BadRequest, match="après son début"):
        edit(db, world.teacher, mine.id, start=at(5, 12), end=at(5, 11))
    assert rows_of(db, resource) == before
    # Overlapping its own old period is no conflict with itself.
    edit(db, world.teacher, mine.id, start=at(5, 10, 30), end=at(5, 11, 30))
    assert rows_of(db, resource)[0][1:3] == (at(5, 10, 30), at(5, 11, 30))


def test_a_series_edit_keeps_its_rows_and_reports_conflicts(db: Database,
                                                            world: School) -> None:
    """Moving a weekly series one hour later: the same rows (ids) move; an occurrence
    that would conflict is reported and nothing saved, or skipped and left as it was."""
    resource = add_resource(db, world)
    done = series(db, world.teacher, resource, date(2026, 5, 26))  # 5, 12, 19, 26 May
    ids = [b.id for b in done.booked]
    book(db, world.teacher2, resource, at(19, 11, 30), at(19, 12, 30))
    before = rows_of(db, resource)
    with pytest.raises(booking.SeriesConflicts) as refused:
        edit(db, world.teacher, ids[1], "series", start=at(12, 11), end=at(12, 12))
    assert [o.start for o in refused.value.conflicts] == [at(19, 11)]
    assert rows_of(db, resource) == before
    result = edit(db, world.teacher, ids[1], "series", skip=True, start=at(12, 11),
                  end=at(12, 12), purpose="club déplacé")
    assert [b.id for b in result.changed] == [ids[0], ids[1], ids[3]]
    after = rows_of(db, resource)
    assert [r[0] for r in after] == [r[0] for r in before]  # no row added, none lost
    assert [r[1] for r in after[:4]] == [at(5, 11), at(12, 11), at(19, 10), at(26, 11)]
    # One occurrence alone: the others stay.
    edit(db, world.teacher, ids[3], start=at(26, 15), end=at(26, 16))
    assert [r[1] for r in rows_of(db, resource)[:4]] == [at(5, 11), at(12, 11), at(19, 10),
                                                         at(26, 15)]


def test_a_series_edit_whose_skipped_date_blocks_another(db: Database,
                                                         world: School) -> None:
    """Shifting a weekly series by a week: each occurrence moves onto the next one's
    date. The last cannot move (taken); skipped, it stays, so the one moving onto it
    must stay too, and so on: nothing is overbooked."""
    resource = add_resource(db, world)
    done = series(db, world.teacher, resource, date(2026, 5, 19))  # 5, 12, 19 May
    book(db, world.teacher2, resource, at(26, 10), at(26, 11))
    before = rows_of(db, resource)
    # 19 → 26 is taken; 12 → 19 would meet 19 staying; 5 → 12 would meet 12 staying.
    with pytest.raises(booking.BookingRefused, match="Aucune date de la série"):
        edit(db, world.teacher, done.booked[0].id, "series", skip=True,
             start=at(12, 10), end=at(12, 11))
    assert rows_of(db, resource) == before
    # Two weeks later is free: every row moves, none duplicated.
    result = edit(db, world.teacher, done.booked[0].id, "series", start=at(2, 10, month=6),
                  end=at(2, 11, month=6))
    assert [b.id for b in result.changed] == [b.id for b in done.booked]
    assert [r[1] for r in rows_of(db, resource)[:3]] == [
        at(2, 10, month=6), at(9, 10, month=6), at(16, 10, month=6)]

