"""Rubrics: the tree, its services, grants to populations and users, and what a user
holds in each rubric (:class:`~acl.policy.Standing`).

Every function takes the caller's SQLAlchemy session and leaves committing to it.
Errors are ``davserver.errors`` domain errors whose message names what was wrong:
``NotFound`` for an unknown rubric, user, group or subject, ``BadRequest`` for a bad
slug, role, profile or a cycle in the tree, ``Conflict`` for a slug already taken.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from davserver import journal
from davserver.errors import BadRequest, Conflict, NotFound

from .models import (
    Group,
    Membership,
    Profile,
    School,
    Subject,
    TeacherSubject,
    User,
    UserSchool,
)
from .people import schools_of
from .policy import SpaceRef, Standing, strongest
from .rubric_models import Grant, Role, Rubric, Service

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


@dataclass(frozen=True)
class RubricInfo:
    id: int
    school_id: int
    slug: str
    name: str
    parent_id: int | None
    inherit_grants: bool
    services: tuple[str, ...]

    @property
    def has_shared_folders(self) -> bool:
        return Service.shared_folders.value in self.services


def _info(r: Rubric) -> RubricInfo:
    return RubricInfo(r.id, r.school_id, r.slug, r.name, r.parent_id, r.inherit_grants,
                      tuple(r.services or ()))


def parse_role(name: str) -> Role:
    """``Role`` from its name; ``BadRequest`` naming the valid ones otherwise."""
    try:
        return Role(name)
    except ValueError as exc:
        raise BadRequest(f"unknown role {name!r}: one of "
                         f"{', '.join(r.value for r in Role)}") from exc


def parse_services(names: Iterable[str]) -> list[str]:
    out = []
    for name in names:
        try:
            out.append(Service(name).value)
        except ValueError as exc:
            raise BadRequest(f"unknown service {name!r}: one of "
                             f"{', '.join(s.value for s in Service)}") from exc
    return out


def default_school(session: Session, school_id: int | None = None) -> int:
    """``school_id`` if given, else the only school of the deployment; ``BadRequest``
    when there are several (the caller must choose) or none."""
    if school_id is not None:
        return school_id
    ids = list(session.scalars(select(School.id).limit(2)))
    if len(ids) != 1:
        raise BadRequest("no school yet: add one with `davserver school add NAME --uai UAI`"
                         if not ids else "several schools: say which one the rubric "
                         "belongs to (--school UAI or name)")
    return ids[0]


def _rubric(session: Session, slug: str) -> Rubric:
    found = session.scalar(select(Rubric).where(Rubric.slug == slug))
    if found is None:
        raise NotFound(f"no rubric {slug!r}")
    return found


def find_rubric(session: Session, slug: str) -> RubricInfo | None:
    found = session.scalar(select(Rubric).where(Rubric.slug == slug))
    return _info(found) if found else None


def get_rubric(session: Session, slug: str) -> RubricInfo:
    """The rubric named ``slug``; ``NotFound`` otherwise."""
    return _info(_rubric(session, slug))


def rubric_by_id(session: Session, rubric_id: int) -> RubricInfo | None:
    found = session.get(Rubric, rubric_id)
    return _info(found) if found else None


def add_rubric(session: Session, slug: str, name: str, *, parent: str | None = None,
               school_id: int | None = None, inherit_grants: bool = True,
               services: Sequence[str] = (Service.shared_folders.value,)) -> RubricInfo:
    """Create a rubric (a sub-rubric when ``parent`` names one; it belongs to the
    parent's school). ``slug``: lowercase letters, digits and inner hyphens, at most
    64 characters (it is a URL segment)."""
    if not SLUG_RE.match(slug):
        raise BadRequest(f"invalid slug {slug!r}: lowercase letters, digits and hyphens, "
                         "1 to 64 characters, not starting or ending with a hyphen")
    if not name.strip():
        raise BadRequest("a rubric needs a name")
    if session.scalar(select(Rubric.id).where(Rubric.slug == slug)) is not None:
        raise Conflict(f"rubric {slug!r} already exists")
    parent_row = _rubric(session, parent) if parent else None
    school = parent_row.school_id if parent_row else default_school(session, school_id)
    row = Rubric(slug=slug, name=name.strip(), school_id=school,
                 parent_id=parent_row.id if parent_row else None,
                 inherit_grants=inherit_grants, services=parse_services(services))
    session.add(row)
    session.flush()
    return _info(row)


def set_parent(session: Session, slug: str, parent: str | None) -> None:
    """Move a rubric under another (None: to the top). A cycle is refused."""
    row = _rubric(session, slug)
    if parent is None:
        row.parent_id = None
        return
    target = _rubric(session, parent)
    ancestor: Rubric | None = target
    while ancestor is not None:
        if ancestor.id == row.id:
            raise BadRequest(f"{parent!r} is {slug!r} or below it: the rubric tree "
                             "cannot have a cycle")
        ancestor = session.get(Rubric, ancestor.parent_id) if ancestor.parent_id else None
    if target.school_id != row.school_id:
        raise BadRequest("a sub-rubric belongs to its parent's school")
    row.parent_id = target.id


def configure(session: Session, slug: str, *, inherit_grants: bool | None = None,
              services: Sequence[str] | None = None) -> RubricInfo:
    """Change whether a rubric inherits its parent's grants and which services are on."""
    row = _rubric(session, slug)
    if inherit_grants is not None:
        row.inherit_grants = inherit_grants
    if services is not None:
        row.services = parse_services(services)
    session.flush()
    return _info(row)


def list_rubrics(session: Session) -> list[RubricInfo]:
    """Every rubric, ordered by slug."""
    return [_info(r) for r in session.scalars(select(Rubric).order_by(Rubric.slug))]


# --- populations and grants ----------------------------------------------------


@dataclass(frozen=True)
class Population:
    """Group × profile × subject (ids; None: that part is open)."""

    group_id: int | None = None
    profile: Profile | None = None
    subject_id: int | None = None


def population(session: Session, school_id: int, *, group: str | None = None,
               profile: str | None = None, subject: str | None = None) -> Population:
    """Resolve names into a :class:`Population` of ``school_id``. ``group`` is a group
    or class name, ``subject`` a subject code or name. Unknown parts raise
    ``NotFound``/``BadRequest`` naming them."""
    group_id = subject_id = None
    if group is not None:
        group_id = session.scalar(select(Group.id).where(Group.school_id == school_id,
                                                         Group.name == group))
        if group_id is None:
            raise NotFound(f"no group or class {group!r} in this school")
    if subject is not None:
        subject_id = session.scalar(select(Subject.id).where(
            Subject.school_id == school_id,
            or_(Subject.code == subject, Subject.name == subject)))
        if subject_id is None:
            raise NotFound(f"no subject {subject!r} in this school")
    prof = None
    if profile is not None:
        try:
            prof = Profile(profile)
        except ValueError as exc:
            raise BadRequest(f"unknown profile {profile!r}: one of "
                             f"{', '.join(p.value for p in Profile)}") from exc
    return Population(group_id, prof, subject_id)


def _user_id(session: Session, login: str) -> int:
    uid = session.scalar(select(User.id).where(User.login == login))
    if uid is None:
        raise NotFound(f"no user {login!r}")
    return uid


def _grant_filter(rubric_id: int, role: Role | None, user_id: int | None,
                  pop: Population | None, folder_node_id: int | None) -> list:
    cond = [Grant.rubric_id == rubric_id,
            Grant.folder_node_id.is_(None) if folder_node_id is None
            else Grant.folder_node_id == folder_node_id]
    if role is not None:
        cond.append(Grant.role == role)
    if user_id is not None:
        return [*cond, Grant.user_id == user_id]
    pop = pop or Population()
    for column, value in ((Grant.group_id, pop.group_id), (Grant.profile, pop.profile),
                          (Grant.subject_id, pop.subject_id)):
        cond.append(column.is_(None) if value is None else column == value)
    return [*cond, Grant.user_id.is_(None)]


def grant(session: Session, slug: str, role: Role | str, *, user: str | None = None,
          pop: Population | None = None, folder_node_id: int | None = None) -> bool:
    """Give ``role`` on a rubric (or on one folder of its space) to ``user`` (a login)
    or to a population. Returns False when the same grant already exists."""
    rubric = _rubric(session, slug)
    role = parse_role(role) if isinstance(role, str) else role
    user_id = _user_id(session, user) if user is not None else None
    cond = _grant_filter(rubric.id, role, user_id, pop, folder_node_id)
    if session.scalar(select(Grant.id).where(*cond)) is not None:
        return False
    pop = pop if user_id is None and pop is not None else Population()
    session.add(Grant(rubric_id=rubric.id, role=role, user_id=user_id,
                      group_id=pop.group_id, profile=pop.profile, subject_id=pop.subject_id,
                      folder_node_id=folder_node_id))
    session.flush()
    journal.record(session, journal.Kind.grant, place=f"/rubriques/{slug}",
                   target=user or _population_text(pop), school_id=rubric.school_id,
                   details={"role": role.value, "folder_node": folder_node_id})
    return True


def _population_text(pop: Population) -> str:
    """A population as the journal names it (``group 12, profile student``)."""
    parts = [f"group {pop.group_id}" if pop.group_id is not None else "",
             f"profile {pop.profile.value}" if pop.profile is not None else "",
             f"subject {pop.subject_id}" if pop.subject_id is not None else ""]
    return ", ".join(p for p in parts if p) or "everyone"


def revoke(session: Session, slug: str, role: Role | str | None = None, *,
           user: str | None = None, pop: Population | None = None,
           folder_node_id: int | None = None) -> int:
    """Remove matching grants (every role when ``role`` is None); returns how many.
    ``NotFound`` when nothing matched, so a typo is not a silent success."""
    rubric = _rubric(session, slug)
    parsed = parse_role(role) if isinstance(role, str) else role
    user_id = _user_id(session, user) if user is not None else None
    cond = _grant_filter(rubric.id, parsed, user_id, pop, folder_node_id)
    ids = list(session.scalars(select(Grant.id).where(*cond)))
    if not ids:
        raise NotFound("no such grant on this rubric")
    session.execute(delete(Grant).where(Grant.id.in_(ids)))
    journal.record(session, journal.Kind.revoke, place=f"/rubriques/{slug}",
                   target=user or (_population_text(pop) if pop else None),
                   school_id=rubric.school_id,
                   details={"role": parsed.value if parsed else "all", "grants": len(ids),
                            "folder_node": folder_node_id})
    return len(ids)


def drop_folder_grants(session: Session, node_ids: Iterable[int]) -> None:
    """Forget the grants of folders that no longer exist."""
    ids = list(node_ids)
    if ids:
        session.execute(delete(Grant).where(Grant.folder_node_id.in_(ids)))


# --- what a user holds ---------------------------------------------------------


@dataclass(frozen=True)
class UserContext:
    """What population matching needs of a user (read once per request).

    ``schools`` maps each school the user is in (an import has not found them gone)
    to their profile there; ``school_id`` is the school the context is for (the one
    the user chose on the web, else their home school) and ``profile`` their profile
    there. A user of no school (made by hand in a one-school deployment) belongs to
    every school, with their own profile."""

    user_id: int
    school_id: int | None
    profile: Profile
    group_ids: frozenset[int]
    subject_ids: frozenset[int]
    schools: Mapping[int, Profile] = field(default_factory=dict)

    def in_school(self, school_id: int) -> bool:
        """Whether the user belongs to ``school_id`` (every school, for a user of none)."""
        return not self.schools or school_id in self.schools

    def profile_in(self, school_id: int) -> Profile:
        """The user's profile in ``school_id`` (their context's for a user of none)."""
        return self.schools.get(school_id, self.profile)

    @property
    def school_ids(self) -> frozenset[int]:
        return frozenset(self.schools)


def user_context(session: Session, user_id: int, school: int | None = None) -> UserContext:
    """The user's schools, profile, groups and subjects, for ``school`` when the user
    belongs to it (else their home school). ``NotFound`` for no such user."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user #{user_id}")
    schools = schools_of(session, user_id)
    chosen = school if school in schools else user.school_id
    groups = frozenset(session.scalars(select(Membership.group_id)
                                       .where(Membership.user_id == user_id)))
    subjects = frozenset(session.scalars(select(TeacherSubject.subject_id)
                                         .where(TeacherSubject.user_id == user_id)))
    profile = schools.get(chosen, user.profile) if chosen is not None else user.profile
    return UserContext(user_id, chosen, profile, groups, subjects, schools)


def _grant_reaches(g: Grant, school: int, ctx: UserContext) -> bool:
    """Whether grant ``g`` on a rubric of ``school`` names the user of ``ctx`` or a
    population they belong to (:func:`_matching_grants`'s rule, in Python)."""
    if g.user_id is not None:
        return g.user_id == ctx.user_id
    return ((g.group_id is None or g.group_id in ctx.group_ids)
            and (g.subject_id is None or g.subject_id in ctx.subject_ids)
            and ctx.in_school(school)
            and (g.profile is None or g.profile == ctx.profile_in(school)))


def _matching_grants(session: Session, ctx: UserContext,
                     rubric_ids: Iterable[int]) -> list[Grant]:
    """Grants on these rubrics that name the user or a population they belong to.
    Population grants reach only the rubrics of the user's schools, matching the
    user's profile in the rubric's school (a user without a school, as in a one-school
    deployment, belongs to every school)."""
    population_match = and_(
        Grant.user_id.is_(None),
        or_(Grant.group_id.is_(None), Grant.group_id.in_(ctx.group_ids)),
        or_(Grant.subject_id.is_(None), Grant.subject_id.in_(ctx.subject_ids)),
    )
    query = (select(Grant, Rubric.school_id).join(Rubric, Grant.rubric_id == Rubric.id)
             .where(Grant.rubric_id.in_(list(rubric_ids)),
                    or_(Grant.user_id == ctx.user_id, population_match)))
    return [g for g, school in session.execute(query) if _grant_reaches(g, school, ctx)]


def _standings(session: Session, ctx: UserContext,
               rubrics: dict[int, Rubric]) -> dict[int, Standing]:
    """Standing of the user in each rubric of ``rubrics`` (which holds the ancestors of
    each, for inheritance). Two queries at most."""
    return _standings_from(ctx, rubrics, _matching_grants(session, ctx, rubrics))


def _standings_from(ctx: UserContext, rubrics: dict[int, Rubric],
                    grants: Iterable[Grant]) -> dict[int, Standing]:
    """:func:`_standings` from the grants that reach the user, already read."""
    direct: dict[int, Role | None] = {}
    folders: dict[int, dict[int, Role]] = {}
    for g in grants:
        if g.folder_node_id is None:
            direct[g.rubric_id] = strongest(direct.get(g.rubric_id), g.role)
        else:
            held = folders.setdefault(g.rubric_id, {})
            held[g.folder_node_id] = strongest(held.get(g.folder_node_id), g.role) or g.role

    def effective(rubric_id: int, seen: frozenset[int] = frozenset()) -> Role | None:
        row = rubrics[rubric_id]
        role = direct.get(rubric_id)
        if row.inherit_grants and row.parent_id in rubrics and row.parent_id not in seen:
            role = strongest(role, effective(row.parent_id, seen | {rubric_id}))
        return role

    return {rid: Standing(ctx.user_id, SpaceRef("rubric", None), effective(rid),
                          folders.get(rid, {})) for rid in rubrics}


def _with_ancestors(session: Session, rubric_id: int) -> dict[int, Rubric]:
    found: dict[int, Rubric] = {}
    current = session.get(Rubric, rubric_id)
    while current is not None and current.id not in found:
        found[current.id] = current
        current = session.get(Rubric, current.parent_id) if current.parent_id else None
    return found


def standing_in_rubric(session: Session, ctx: UserContext, rubric_id: int) -> Standing:
    """What the user holds in one rubric (``NotFound`` for no such rubric)."""
    rubrics = _with_ancestors(session, rubric_id)
    if rubric_id not in rubrics:
        raise NotFound(f"no rubric #{rubric_id}")
    return _standings(session, ctx, rubrics)[rubric_id]


def user_contexts(session: Session, user_ids: Iterable[int]) -> dict[int, UserContext]:
    """:func:`user_context` of many users at once (each for their home school), by user
    id; an id of no user is left out. Four queries whatever their number."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    schools: dict[int, dict[int, Profile]] = {uid: {} for uid in users}
    for uid, school, profile in session.execute(
            select(UserSchool.user_id, UserSchool.school_id, UserSchool.profile).where(
                UserSchool.user_id.in_(ids), UserSchool.left_at.is_(None))):
        schools[uid][school] = profile
    groups: dict[int, set[int]] = {uid: set() for uid in users}
    for uid, group in session.execute(select(Membership.user_id, Membership.group_id)
                                      .where(Membership.user_id.in_(ids))):
        groups[uid].add(group)
    subjects: dict[int, set[int]] = {uid: set() for uid in users}
    for uid, subject in session.execute(
            select(TeacherSubject.user_id, TeacherSubject.subject_id)
            .where(TeacherSubject.user_id.in_(ids))):
        subjects[uid].add(subject)
    out = {}
    for uid, user in users.items():
        home = user.school_id
        held = dict(sorted(schools[uid].items(), key=lambda r: (r[0] != home, r[0])))
        profile = held.get(home, user.profile) if home is not None else user.profile
        out[uid] = UserContext(uid, home, profile, frozenset(groups[uid]),
                               frozenset(subjects[uid]), held)
    return out


def standings_in_rubric(session: Session, user_ids: Iterable[int],
                        rubric_id: int) -> dict[int, Standing]:
    """What each of ``user_ids`` holds in one rubric (each in their home school's
    context, :func:`user_context`), by user id; an id of no user is left out. A
    bounded number of queries whatever the number of users (their contexts, the
    rubric and its ancestors, the grants on them). ``NotFound`` for no such
    rubric."""
    rubrics = _with_ancestors(session, rubric_id)
    if rubric_id not in rubrics:
        raise NotFound(f"no rubric #{rubric_id}")
    contexts = user_contexts(session, user_ids)
    if not contexts:
        return {}
    grants = session.execute(
        select(Grant, Rubric.school_id).join(Rubric, Grant.rubric_id == Rubric.id)
        .where(Grant.rubric_id.in_(list(rubrics)),
               or_(Grant.user_id.in_(list(contexts)), Grant.user_id.is_(None)))).all()
    return {uid: _standings_from(ctx, rubrics, [g for g, school in grants
                                                if _grant_reaches(g, school, ctx)])[rubric_id]
            for uid, ctx in contexts.items()}


def visible_rubrics(session: Session, ctx: UserContext, *,
                    service: Service | None = Service.shared_folders
                    ) -> list[tuple[RubricInfo, Standing]]:
    """Rubrics with ``service`` on where the user holds a role (on the rubric or on
    one of its folders), ordered by slug, each with the user's standing.
    ``service=None``: every rubric where the user holds a role, whatever its services
    (a manager must reach a rubric whose shared folders are off to switch them on)."""
    query = select(Rubric)
    if ctx.schools:
        query = query.where(Rubric.school_id.in_(ctx.school_ids))
    rubrics = {r.id: r for r in session.scalars(query)}
    standings = _standings(session, ctx, rubrics)
    out = [(_info(r), standings[r.id]) for r in rubrics.values()
           if (service is None or service.value in (r.services or ()))
           and standings[r.id].sees_space]
    out.sort(key=lambda pair: pair[0].slug)
    return out
