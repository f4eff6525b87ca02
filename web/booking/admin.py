"""Setting up booking: resource domains and their resources, for the school's IT staff
(``davserver booking …``, :mod:`davserver.booking_cli`).

Every function checks its input and raises ``BadRequest`` naming the wrong value (in
French, like the pages), ``NotFound`` for an unknown domain, resource, school or user;
nothing is changed then (the caller's transaction is rolled back).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver.errors import BadRequest, NotFound
from web.forms import parse_number

from .models import DomainProfile, Resource, ResourceDomain, ResourceKind

SLOT_MINUTES = (5, 240)   # a week grid's row: from 5 minutes to half a day
MAX_QUANTITY = 10_000


@dataclass(frozen=True)
class Hours:
    """Opening hours of a domain: ``opens`` to ``closes`` (wall-clock, school time
    zone) on ``weekdays`` (digits, 0 = Monday … 6 = Sunday), rows of ``slot_minutes``."""

    opens: time = time(8)
    closes: time = time(18)
    weekdays: str = "01234"
    slot_minutes: int = 60

    def check(self) -> None:
        """``BadRequest`` for closing before opening, bad weekdays or slot length."""
        if self.closes <= self.opens:
            raise BadRequest(_("L'heure de fermeture (%(closes)s) doit être après l'heure "
                               "d'ouverture (%(opens)s).", closes=f"{self.closes:%H:%M}",
                               opens=f"{self.opens:%H:%M}"))
        days = self.weekdays
        if not days or any(d not in "0123456" for d in days) or len(set(days)) != len(days):
            raise BadRequest(_("Jours d'ouverture « %(days)s » invalides : des chiffres de 0 "
                               "(lundi) à 6 (dimanche), chacun une fois.", days=days))
        low, high = SLOT_MINUTES
        if not low <= self.slot_minutes <= high:
            raise BadRequest(_("La durée d'un créneau doit être entre %(low)d et %(high)d "
                               "minutes.", low=low, high=high))


def find_domain(session: Session, key: str) -> ResourceDomain:
    """A domain by id (digits) or exact name; ``NotFound`` otherwise, ``BadRequest``
    when two schools have a domain of that name (use the id)."""
    if key.isascii() and key.isdecimal():
        number = parse_number(key)
        found = session.get(ResourceDomain, number) if number is not None else None
        if found is None:
            raise NotFound(_("Aucun domaine de ressources n°%(id)s.", id=key))
        return found
    rows = list(session.scalars(select(ResourceDomain).where(ResourceDomain.name == key)))
    if not rows:
        raise NotFound(_("Aucun domaine de ressources « %(name)s ».", name=key))
    if len(rows) > 1:
        raise BadRequest(_("Plusieurs domaines s'appellent « %(name)s » : donnez son "
                           "numéro.", name=key))
    return rows[0]


def _user_ids(session: Session, logins: Iterable[str]) -> list[int]:
    ids = []
    for login in logins:
        found = acl.find_user(session, login)
        if found is None:
            raise NotFound(_("Aucun utilisateur « %(login)s ».", login=login))
        ids.append(found.id)
    return ids


def _profiles(names: Iterable[str]) -> list[acl.Profile]:
    known = {p.value: p for p in acl.Profile}
    for name in names:
        if name not in known:
            raise BadRequest(_("Profil « %(name)s » inconnu : %(known)s.", name=name,
                               known=", ".join(known)))
    return [known[n] for n in names]


def add_domain(session: Session, school_id: int, name: str, hours: Hours,
               profiles: Iterable[str] = (), managers: Iterable[str] = ()) -> ResourceDomain:
    """Create a domain of the school whose members of ``profiles`` (profile names)
    may book in it and whose ``managers`` (logins) validate and manage it."""
    name = name.strip()
    if not name or len(name) > 200:
        raise BadRequest(_("Le nom d'un domaine fait de 1 à 200 caractères."))
    hours.check()
    domain = ResourceDomain(school_id=school_id, name=name, opens=hours.opens,
                            closes=hours.closes, weekdays=hours.weekdays,
                            slot_minutes=hours.slot_minutes)
    domain.profiles = [DomainProfile(profile=p) for p in dict.fromkeys(_profiles(profiles))]
    session.add(domain)
    set_managers(session, domain, add=managers)
    session.flush()
    return domain


def set_managers(session: Session, domain: ResourceDomain, add: Iterable[str] = (),
                 remove: Iterable[str] = ()) -> None:
    """Add and remove managers of a domain, by login."""
    current = {u.id for u in domain.managers}
    for user_id in _user_ids(session, add):
        if user_id not in current:
            domain.managers.append(session.get_one(acl.User, user_id))
            current.add(user_id)
    gone = set(_user_ids(session, remove))
    domain.managers = [u for u in domain.managers if u.id not in gone]


@dataclass(frozen=True)
class Limits:
    """A resource's rules; None: the rule does not apply. ``max_duration`` and
    ``min_notice`` in minutes, ``max_notice`` in days, ``max_bookings`` per user."""

    max_duration: int | None = None
    min_notice: int | None = None
    max_notice: int | None = None
    max_bookings: int | None = None

    def check(self) -> None:
        """``BadRequest`` for a negative or zero limit."""
        for label, value in (("durée maximale", self.max_duration),
                             ("délai minimal", self.min_notice),
                             ("délai maximal", self.max_notice),
                             ("nombre maximal de réservations", self.max_bookings)):
            if value is not None and value < (0 if label == "délai minimal" else 1):
                raise BadRequest(_("Valeur invalide pour la %(label)s : %(value)d.",
                                   label=label, value=value))


def add_resource(session: Session, domain: ResourceDomain, name: str, kind: str, *,
                 quantity: int = 1, capacity: int | None = None, location: str = "",
                 description: str = "", needs_validation: bool = False,
                 limits: Limits = Limits()) -> Resource:
    """Create an active resource in ``domain``: ``kind`` ``place`` or ``equipment``,
    ``quantity`` units bookable at once (a set of 15 tablets: 15)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise BadRequest(_("Le nom d'une ressource fait de 1 à 200 caractères."))
    try:
        resource_kind = ResourceKind(kind)
    except ValueError:
        raise BadRequest(_("Type de ressource « %(kind)s » inconnu : place ou equipment.",
                           kind=kind)) from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise BadRequest(_("La quantité doit être entre 1 et %(max)d.", max=MAX_QUANTITY))
    if capacity is not None and capacity < 1:
        raise BadRequest(_("La capacité doit être d'au moins une personne."))
    limits.check()
    resource = Resource(domain_id=domain.id, kind=resource_kind, name=name,
                        quantity=quantity, capacity=capacity, location=location.strip(),
                        description=description.strip(), needs_validation=needs_validation,
                        active=True, max_duration=limits.max_duration,
                        min_notice=limits.min_notice, max_notice=limits.max_notice,
                        max_bookings=limits.max_bookings)
    session.add(resource)
    session.flush()
    return resource


def set_active(session: Session, resource_id: int, active: bool) -> Resource:
    """Take a resource out of booking (``active`` False: new bookings are refused, the
    existing ones stay) or put it back."""
    resource = session.get(Resource, resource_id)
    if resource is None:
        raise NotFound(_("Aucune ressource n°%(id)d.", id=resource_id))
    resource.active = active
    return resource


def domains(session: Session) -> list[ResourceDomain]:
    """Every domain, by school and name."""
    return list(session.scalars(select(ResourceDomain).order_by(
        ResourceDomain.school_id, ResourceDomain.name)))
