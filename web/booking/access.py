"""Who may see, book in and manage a resource domain, and the school's time zone.

A domain is seen and booked by the members of its school whose profile it lists, and
by its managers. A user without a school (a single-school deployment whose accounts
were made by hand) is taken as a member of every school. Someone else's school's
domain does not exist for a user (404, STYLE.md habit 12); a domain of their school
that their profile may not book is 403, with the reason.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

import acl
from davserver.errors import Forbidden, NotFound
from web import textbook

from .models import DomainProfile, Resource, ResourceDomain, domain_managers

DEFAULT_ZONE = "Europe/Paris"
ON_BEHALF_PROFILES = frozenset({acl.Profile.staff, acl.Profile.head, acl.Profile.admin})


def school_zone(session: Session, school_id: int) -> ZoneInfo:
    """The school's time zone: its school year's, else Europe/Paris."""
    year = textbook.current_school_year(session, school_id)
    return textbook.zone(year.time_zone if year is not None else DEFAULT_ZONE)


def _same_school(domain: ResourceDomain, ctx: acl.UserContext) -> bool:
    """The domain belongs to one of the user's schools (each, for a user of none)."""
    return ctx.in_school(domain.school_id)


def manages(session: Session, domain_id: int, user_id: int) -> bool:
    """Whether the user is one of the domain's managers."""
    return bool(session.scalar(select(exists().where(
        domain_managers.c.domain_id == domain_id, domain_managers.c.user_id == user_id))))


def may_book(session: Session, domain: ResourceDomain, ctx: acl.UserContext) -> bool:
    """Whether the user may see and book in ``domain``."""
    if not _same_school(domain, ctx):
        return False
    return ctx.profile_in(domain.school_id) in {p.profile for p in domain.profiles} \
        or manages(session, domain.id, ctx.user_id)


def visible_domains(session: Session, ctx: acl.UserContext) -> list[ResourceDomain]:
    """The domains the user may book in (or manages), by name, in every school of
    theirs (a person of two schools books in both, with their profile in each)."""
    profiles = {ctx.profile, *ctx.schools.values()}
    query = select(ResourceDomain).where(or_(
        ResourceDomain.id.in_(select(DomainProfile.domain_id)
                              .where(DomainProfile.profile.in_(profiles))),
        ResourceDomain.id.in_(select(domain_managers.c.domain_id)
                              .where(domain_managers.c.user_id == ctx.user_id))))
    if ctx.schools:
        query = query.where(ResourceDomain.school_id.in_(ctx.school_ids))
    return [d for d in session.scalars(query.order_by(ResourceDomain.name))
            if may_book(session, d, ctx)]


def offers_booking(session: Session, ctx: acl.UserContext) -> bool:
    """Whether the services bar offers « Réservations » to the user: an active resource
    of a domain of their school that lists their profile there (:func:`may_book`'s
    rule), or a domain of their school they manage. One query."""
    profile_there: ColumnElement[bool] = DomainProfile.profile == ctx.profile
    in_school: ColumnElement[bool] = true()  # a user of no school is in every school
    if ctx.schools:
        profile_there = or_(*(and_(ResourceDomain.school_id == school,
                                   DomainProfile.profile == profile)
                              for school, profile in ctx.schools.items()))
        in_school = ResourceDomain.school_id.in_(ctx.school_ids)
    bookable = exists().where(Resource.domain_id == ResourceDomain.id, Resource.active,
                              DomainProfile.domain_id == ResourceDomain.id, profile_there)
    managed = exists().where(domain_managers.c.domain_id == ResourceDomain.id,
                             domain_managers.c.user_id == ctx.user_id, in_school)
    return bool(session.scalar(select(or_(bookable, managed))))


def managed_domain_ids(session: Session, user_id: int) -> list[int]:
    """The ids of the domains the user manages."""
    return list(session.scalars(select(domain_managers.c.domain_id)
                                .where(domain_managers.c.user_id == user_id)))


def domain_for(session: Session, ctx: acl.UserContext, domain_id: int) -> ResourceDomain:
    """The domain, if the user may book in it. ``NotFound`` for none or another
    school's; ``Forbidden`` naming why when the user's profile may not book in it."""
    domain = session.get(ResourceDomain, domain_id)
    if domain is None or not _same_school(domain, ctx):
        raise NotFound(_("Aucun domaine de ressources n°%(id)d.", id=domain_id))
    if not may_book(session, domain, ctx):
        raise Forbidden(_("Votre profil ne permet pas de réserver dans le domaine "
                          "« %(name)s ».", name=domain.name))
    return domain


def resource_for(session: Session, ctx: acl.UserContext, resource_id: int) -> Resource:
    """The resource, if the user may book in its domain (errors as :func:`domain_for`)."""
    resource = session.get(Resource, resource_id)
    if resource is None or not _same_school(resource.domain, ctx):
        raise NotFound(_("Aucune ressource n°%(id)d.", id=resource_id))
    domain_for(session, ctx, resource.domain_id)
    return resource


def beneficiary(session: Session, ctx: acl.UserContext, domain: ResourceDomain,
                login: str | None) -> int | None:
    """The user id a booking is made for (None: for oneself). Only the domain's managers
    and staff, head and admin profiles may book for someone else (``Forbidden``); an
    unknown login, or one of another school, is ``NotFound``."""
    if not login:
        return None
    if ctx.profile not in ON_BEHALF_PROFILES and not manages(session, domain.id,
                                                             ctx.user_id):
        raise Forbidden(_("Seuls les gestionnaires et le personnel peuvent réserver pour "
                          "quelqu'un d'autre."))
    found = acl.find_user(session, login, enabled_only=True)
    if found is None:
        raise NotFound(_("Aucun utilisateur « %(login)s ».", login=login))
    if not acl.user_context(session, found.id).in_school(domain.school_id):
        raise NotFound(_("Aucun utilisateur « %(login)s ».", login=login))
    return found.id
