"""The first step of a people synchronisation (:mod:`acl.people_sync`): finding every
record's account (:mod:`acl.people_match`) and checking what the database allows,
before anything is written, so that the caller can refuse whole files.

Refused here: a login given by our CSV that is another school's account (a typo is
likelier than a shared person: people of two schools come with ids); in our CSV, a
name used as a class and as a group, or a child who is not a student; in any source,
an id carried by two records. Other sources keep classes and groups in two lists: a
name used for both gets its kind in brackets the second time (``4B (groupe)``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .directory import Batch, Person, Rejection
from .models import (
    Group,
    GroupKind,
    Membership,
    Profile,
    School,
    Subject,
    TeacherSubject,
    UserSchool,
)
from .people_match import Matcher, Matches
from .people_results import SyncResult


@dataclass
class SchoolState:
    """The school's groups, subjects and links as the run sees them."""

    groups: dict[str, Group]
    subjects: dict[str, Subject]
    by_bcn: dict[str, Subject]
    members: dict[int, set[int]]
    teaches: dict[int, set[int]]
    rows: dict[int, UserSchool]


class Checks:
    """Accounts found and records checked for one school (module docstring); the state
    of the school (groups, subjects, links) loaded for :class:`acl.Synchronisation`."""

    def __init__(self, session: Session, school_id: int) -> None:
        self.s = session
        self.school = session.get_one(School, school_id)
        self.matcher = Matcher(session, school_id)
        self.matches = Matches()
        self.result = SyncResult()
        self._alias: dict[tuple[str, GroupKind], str] = {}

    def prepare(self, batches: Sequence[Batch]) -> dict[str, Rejection]:
        """Find accounts and check records; the rejected ones by record key."""
        people = [p for b in batches for p in b.people]
        refs = [r for b in batches for r in b.seen] + [r for p in people for r in p.children]
        rejected: dict[str, Rejection] = {}
        for person, why in _duplicate_ids(people):
            rejected[person.key] = Rejection(person.where, person.who(), why, person.profile)
        self.matches = self.matcher.match([p for p in people if p.key not in rejected], refs)
        rejected.update((p.key, r) for p, r in self.matches.rejected)
        self._state = self._load()
        kinds = {name: g.kind for name, g in self._state.groups.items()}
        for kind in (GroupKind.class_, GroupKind.group):  # classes keep their names
            for batch in batches:
                names = batch.classes if kind is GroupKind.class_ else batch.groups
                named = [p.classes if kind is GroupKind.class_ else p.groups
                         for p in batch.people if p.login is None]
                for name in [*names, *(n for ns in named for n in ns)]:
                    self._alias_if_taken(kinds, name, kind, batch.name)
        for person in people:
            if person.key in rejected:
                continue
            reason = (self._other_school(person) or self._kinds(kinds, person)
                      or self._children(person, people))
            if reason:
                rejected[person.key] = Rejection(person.where, person.who(), reason,
                                             person.profile)
        return rejected

    def _other_school(self, person: Person) -> str | None:
        """A login given by a file (our CSV) that is another school's account: refused,
        as a typo is likelier than a shared person (those come with ids)."""
        uid = self.matches.by_key.get(person.key)
        if person.login is None or uid is None:
            return None
        user = self.matches.users[uid]
        if user.school_id not in (None, self.school.id):
            other = self.s.get(School, user.school_id)
            return (f"login {person.login!r} belongs to another school "
                    f"({other.name if other else user.school_id})")
        return None

    def _alias_if_taken(self, kinds: dict[str, GroupKind], name: str, kind: GroupKind,
                        where: object) -> None:
        """A source that uses one name for a class and a group (AAF classes and groups
        are two lists): the second to come gets the kind in brackets, ``4B (groupe)``."""
        known = kinds.get(name)
        if known is None:
            kinds[name] = kind
        elif known is not kind and (name, kind) not in self._alias:
            alias = f"{name} ({'groupe' if kind is GroupKind.group else 'classe'})"
            self._alias[(name, kind)] = alias
            kinds.setdefault(alias, kind)
            self.result.warnings.append(f"{where}: {name!r} is a {known.value} and a "
                                        f"{kind.value}: the {kind.value} is named {alias!r}")

    def _kinds(self, kinds: dict[str, GroupKind], person: Person) -> str | None:
        """Our CSV names classes and groups: a name used as both (here or in the run)
        is refused. Other sources keep two lists: the second gets an alias."""
        if person.login is None:  # names aliased in prepare
            return None
        wanted = dict.fromkeys(person.classes, GroupKind.class_)
        for name in person.groups:
            if name in wanted:
                return f"{name!r} is listed both as a class and as a group"
            wanted[name] = GroupKind.group
        for name, kind in wanted.items():
            known = kinds.get(name)
            if known is not None and known is not kind:
                return f"{name!r} is a {known.value} of the school, not a {kind.value}"
        kinds.update(wanted)
        return None

    def _children(self, person: Person, people: list[Person]) -> str | None:
        """Children named by login must be students, in the run or the database."""
        profiles = {p.key: p.profile for p in people}
        for ref in person.children:
            if ref.login is None:
                continue
            uid = self.matcher.resolve(ref)
            profile = profiles.get(f"csv:{ref.login}")
            if profile is None and uid is not None:
                profile = self.matches.users[uid].profile
            if profile is not Profile.student:
                return f"child {ref.login!r} is not a student in the file or the database"
        return None

    def _load(self) -> SchoolState:
        sid = self.school.id
        groups = {g.name: g for g in self.s.scalars(select(Group).where(Group.school_id == sid))}
        subjects = list(self.s.scalars(select(Subject).where(Subject.school_id == sid)))
        members: dict[int, set[int]] = defaultdict(set)
        for uid, gid in self.s.execute(select(Membership.user_id, Membership.group_id)
                                       .join(Group).where(Group.school_id == sid)):
            members[uid].add(gid)
        teaches: dict[int, set[int]] = defaultdict(set)
        for uid, sub in self.s.execute(select(TeacherSubject.user_id, TeacherSubject.subject_id)
                                       .join(Subject).where(Subject.school_id == sid)):
            teaches[uid].add(sub)
        rows = {r.user_id: r for r in self.s.scalars(
            select(UserSchool).where(UserSchool.school_id == sid))}
        return SchoolState(groups, {s.code: s for s in subjects},
                       {s.bcn_code: s for s in subjects if s.bcn_code}, members, teaches, rows)



def _duplicate_ids(people: list[Person]) -> Iterable[tuple[Person, str]]:
    """Records of different keys sharing an id: all of them, with the places."""
    holders: dict[tuple[str, str], list[Person]] = defaultdict(list)
    for person in people:
        for kind, value in person.ids.items():
            holders[(kind, value)].append(person)
    for (kind, value), found in holders.items():
        keys = {p.key for p in found}
        if len(keys) > 1:
            places = ", ".join(str(p.where) for p in found)
            for person in found:
                yield person, f"{kind} id {value} appears on several records ({places})"
