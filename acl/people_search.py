"""Search for people, groups and subjects of one school, for the pickers of a rubric's
access tabs (issue 20: "People, groups, profiles and subjects are picked with search,
not typed as logins").

Only what a manager may see is answered: the rubric's school only; a person is
given by name, profile and classes (never e-mail nor phone); a manager who is not
of the school's staff (a student who runs a club) finds only the staff and the
people of their own groups, as they would in the school's life. Both sides are
judged by their profile in that school, not in their home school: a teacher of one
school who is a student in another manages a club there as a student. A user of no
school (made by hand in a one-school deployment) counts in every school, as for
grants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from davserver.errors import BadRequest, NotFound

from .models import Group, Membership, Profile, Subject, User, UserSchool
from .preferences import STAFF

MAX_MATCHES = 20
"""Answers of one search: a picker longer than that is no help (type more)."""

# "Emma Roux (emma.roux)": what the picker puts in the field for a person.
_PICKED = re.compile(r"^(?P<name>.*)\((?P<login>[^()\s]+)\)\s*$")


@dataclass(frozen=True)
class PersonMatch:
    """A person as a picker offers them: ``value`` is what the field receives
    (« Emma Roux (emma.roux) »), ``label`` what is shown beside it."""

    login: str
    name: str
    profile: Profile
    classes: tuple[str, ...]

    @property
    def value(self) -> str:
        return f"{self.name} ({self.login})"


def _like(query: str) -> str:
    text = " ".join(query.split()).lower()
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def viewer_profile(session: Session, school_id: int, viewer_id: int) -> Profile | None:
    """The profile ``viewer_id`` holds in ``school_id``, by which a search in that
    school judges them (not their home school's: a teacher of one school may be a
    student in another). Their own profile for a user of no school (made by hand in a
    one-school deployment: of every school); None for a user of other schools only,
    or who left this one (not of its staff, nor in its classes). One query."""
    rows = session.execute(
        select(UserSchool.school_id, UserSchool.profile, UserSchool.left_at)
        .where(UserSchool.user_id == viewer_id)).all()
    if not rows:
        return session.scalar(select(User.profile).where(User.id == viewer_id))
    return next((profile for school, profile, left in rows
                 if school == school_id and left is None), None)


def _people_of(school_id: int, viewer_id: int, viewer: Profile | None) -> Select[User, Profile]:
    """The query of the active people of ``school_id`` that ``viewer`` (their profile
    in that school, :func:`viewer_profile`) may find: rows of (user, their profile in
    that school)."""
    here = aliased(UserSchool)
    of_no_school = ~exists().where(UserSchool.user_id == User.id)
    profile_here = func.coalesce(here.profile, User.profile)
    query = (select(User, profile_here)
             .outerjoin(here, and_(here.user_id == User.id, here.school_id == school_id,
                                   here.left_at.is_(None)))
             .where(User.disabled.is_(False), or_(here.user_id.is_not(None), of_no_school)))
    if viewer not in STAFF:
        # Their own classes and groups in this school (another school's are not
        # this school's life).
        mine = select(Membership.group_id).join(Group, Group.id == Membership.group_id) \
            .where(Membership.user_id == viewer_id, Group.school_id == school_id) \
            .correlate(None)  # the viewer's rows, not the found person's
        shares_group = exists().where(Membership.user_id == User.id,
                                      Membership.group_id.in_(mine))
        query = query.where(or_(profile_here.in_(list(STAFF)), shares_group,
                                User.id == viewer_id))
    return query


def search_people(session: Session, school_id: int, viewer_id: int, query: str, *,
                  limit: int = MAX_MATCHES) -> list[PersonMatch]:
    """People of ``school_id`` whose name or login contains ``query``
    (case-insensitive, at least 2 characters, else nothing), by name, each with their
    profile in that school; what ``viewer_id`` may find there is decided by their
    profile in that school (:func:`viewer_profile`)."""
    if len(query.strip()) < 2:
        return []
    like = _like(query)
    viewer = viewer_profile(session, school_id, viewer_id)
    found = list(session.execute(
        _people_of(school_id, viewer_id, viewer)
        .where(or_(User.display_name.ilike(like, escape="\\"),
                   User.login.ilike(like, escape="\\")))
        .order_by(User.last_name, User.display_name, User.login).limit(limit)).tuples())
    classes: dict[int, list[str]] = {}
    for uid, name in session.execute(
            select(Membership.user_id, Group.name).join(Group, Group.id == Membership.group_id)
            .where(Group.school_id == school_id,
                   Membership.user_id.in_([u.id for u, _ in found])).order_by(Group.name)):
        classes.setdefault(uid, []).append(name)
    return [PersonMatch(u.login, (u.display_name or "").strip() or u.login, Profile(profile),
                        tuple(classes.get(u.id, ()))) for u, profile in found]


def search_groups(session: Session, school_id: int, query: str, *,
                  limit: int = MAX_MATCHES) -> list[str]:
    """Names of the school's classes and groups containing ``query`` (all of them,
    up to ``limit``, for an empty query), by name."""
    found = select(Group.name).where(Group.school_id == school_id)
    if query.strip():
        found = found.where(Group.name.ilike(_like(query), escape="\\"))
    return list(session.scalars(found.order_by(Group.name).limit(limit)))


def search_subjects(session: Session, school_id: int, query: str, *,
                    limit: int = MAX_MATCHES) -> list[tuple[str, str]]:
    """(code, name) of the school's subjects whose code or name contains ``query``
    (all, up to ``limit``, for an empty one), by name."""
    found = select(Subject.code, Subject.name).where(Subject.school_id == school_id)
    if query.strip():
        like = _like(query)
        found = found.where(or_(Subject.code.ilike(like, escape="\\"),
                                Subject.name.ilike(like, escape="\\")))
    return [(code, name) for code, name in
            session.execute(found.order_by(Subject.name).limit(limit))]


def resolve_person(session: Session, school_id: int, viewer_id: int, text: str) -> str:
    """The login of the person a picker's field names: « Name (login) » as the picker
    fills it, a login, or a name that only one person ``viewer_id`` may find in
    ``school_id`` bears (as :func:`search_people`; the page works without
    JavaScript). ``NotFound`` naming the text when nobody matches, ``BadRequest``
    when several people bear that name."""
    text = " ".join(text.split())
    picked = _PICKED.match(text)
    candidates = _people_of(school_id, viewer_id,
                            viewer_profile(session, school_id, viewer_id))
    if picked:
        login = picked.group("login")
        if session.scalar(candidates.where(User.login == login)) is not None:
            return login
        raise NotFound(f"nobody {text!r} in this school")
    if session.scalar(candidates.where(User.login == text)) is not None:
        return text
    named = list(session.scalars(candidates.where(
        and_(User.display_name != "", User.display_name.ilike(text.replace("\\", "\\\\")
                                                              .replace("%", "\\%")
                                                              .replace("_", "\\_"),
                                                              escape="\\"))).limit(5)))
    if len(named) == 1:
        return named[0].login
    if named:
        raise BadRequest(f"several people are called {text!r}: choose one in the list")
    raise NotFound(f"nobody {text!r} in this school")


def names_by_login(session: Session, logins: set[str]) -> dict[str, str]:
    """What pages call each user, by login (one query): the display name, else the
    login. Unknown logins are left out."""
    if not logins:
        return {}
    rows = session.execute(select(User.login, User.display_name).where(User.login.in_(logins)))
    return {login: (name or "").strip() or login for login, name in rows}
