"""Finding the account of each person an import reads (the first half of a people
synchronisation; :mod:`acl.people_sync` applies).

In order, a record is the account that has one of its external ids (AAF jointure,
INE, STS, SIECLE...), else the account its login names (our CSV), else:

* a teacher, staff member, head...: the one account of such a profile with the same
  names (compared without case or accents) and birth date, in any school (a teacher
  of two schools imported from STS-web in one and AAF in the other), or of this school
  with the same names and no birth date known (made from our CSV); without a birth
  date (ONDE), the one such account of this school with the same names;
* a student: the one student of this school with the same names and birth date;
* a parent without ids (SIECLE and ONDE CSV): the one parent of one of their children
  with the same names (a parent is known by their children, not by a homonym).

An account that already has an id of the record's kind with another value is another
person: never a match. Nothing found: the import creates an account. Two records
that find the same account, or one record whose ids name two accounts, are rejected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .directory import Person, Ref, Rejection, fold
from .models import ExternalId, ParentLink, Profile, User, UserSchool

STAFF_PROFILES = frozenset({Profile.teacher, Profile.staff, Profile.head, Profile.admin,
                            Profile.inspector})
_CHUNK = 500  # values per IN (...) list, well under SQLite's bound-parameter limit


def chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    """``items`` in lists of at most :data:`_CHUNK` (for IN lists)."""
    items = list(items)
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def _names(user: User) -> tuple[str, str]:
    """(folded last name, folded first name); for an account made before names were
    kept, the display name split at its first space ("Prénom Nom")."""
    if user.last_name or user.first_name:
        return fold(user.last_name or ""), fold(user.first_name or "")
    first, _, last = (user.display_name or "").partition(" ")
    return fold(last), fold(first)


def _key(last: str, first: str) -> tuple[str, str]:
    return fold(last), fold(first)


@dataclass
class Matches:
    """Accounts found: ``users`` by id, ``by_key`` record key → user id (None: to
    create), ``rejected`` the records refused here."""

    users: dict[int, User] = field(default_factory=dict)
    by_key: dict[str, int | None] = field(default_factory=dict)
    rejected: list[tuple[Person, Rejection]] = field(default_factory=list)
    ids: dict[tuple[str, str], int] = field(default_factory=dict)
    """(kind, value) → user id, for every external id of the run known in the database."""


@dataclass
class _Index:
    """Candidates for the fallbacks, loaded in a few queries."""

    ids_of: dict[int, set[tuple[str, str]]] = field(default_factory=dict)
    students: dict[tuple[str, str, date | None], list[int]] = field(
        default_factory=lambda: defaultdict(list))
    staff_born: dict[tuple[str, str, date], list[int]] = field(
        default_factory=lambda: defaultdict(list))
    staff_here: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(list))


class Matcher:
    """Finds the accounts of a run's records for one school (module docstring)."""

    def __init__(self, session: Session, school_id: int) -> None:
        self.s = session
        self.school_id = school_id
        self.found = Matches()
        self._claimed: dict[int, Person] = {}

    # --- loading ---------------------------------------------------------------------

    def _load_ids(self, people: list[Person], refs: list[Ref]) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        for p in people:
            for kind, value in p.ids.items():
                wanted[kind].add(value)
        for ref in refs:
            for kind, value in ref.ids:
                wanted[kind].add(value)
        for kind, values in wanted.items():
            for chunk in chunks(values):
                for value, uid in self.s.execute(
                        select(ExternalId.value, ExternalId.user_id)
                        .where(ExternalId.kind == kind, ExternalId.value.in_(chunk))):
                    self.found.ids[(kind, value)] = uid

    def _load_users(self, ids: Iterable[int]) -> None:
        missing = {i for i in ids if i not in self.found.users}
        for chunk in chunks(missing):
            for user in self.s.scalars(select(User).where(User.id.in_(chunk))):
                self.found.users[user.id] = user

    def _load_logins(self, logins: set[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in chunks(logins):
            for user in self.s.scalars(select(User).where(User.login.in_(chunk))):
                self.found.users[user.id] = user
                out[user.login] = user.id
        return out

    def _index(self, people: list[Person]) -> _Index:
        index = _Index()
        here = list(self.s.execute(select(User, UserSchool.profile).join(
            UserSchool, UserSchool.user_id == User.id).where(
            UserSchool.school_id == self.school_id)))
        for user, profile in here:
            self.found.users[user.id] = user
            last, first = _names(user)
            if profile is Profile.student:
                index.students[(last, first, user.birth_date)].append(user.id)
            elif profile in STAFF_PROFILES:
                index.staff_here[(last, first)].append(user.id)
        born = {p.birth_date for p in people if p.profile in STAFF_PROFILES and p.birth_date}
        for chunk in chunks(born):
            for user in self.s.scalars(select(User).where(User.birth_date.in_(chunk),
                                                          User.profile.in_(STAFF_PROFILES))):
                self.found.users[user.id] = user
                last, first = _names(user)
                assert user.birth_date is not None
                index.staff_born[(last, first, user.birth_date)].append(user.id)
        for chunk in chunks(self.found.users):
            for uid, kind, value in self.s.execute(
                    select(ExternalId.user_id, ExternalId.kind, ExternalId.value)
                    .where(ExternalId.user_id.in_(chunk))):
                index.ids_of.setdefault(uid, set()).add((kind, value))
        return index

    # --- matching ----------------------------------------------------------------------

    def _reject(self, person: Person, reason: str) -> None:
        self.found.rejected.append((person, Rejection(person.where, person.who(), reason,
                                                             person.profile)))
        self.found.by_key.pop(person.key, None)

    def _claim(self, person: Person, uid: int | None) -> None:
        if uid is not None:
            other = self._claimed.get(uid)
            if other is not None and other.key != person.key:
                user = self.found.users[uid]
                self._reject(person, f"the same person as {other.where} (account "
                             f"{user.login!r}): one record per person")
                return
            self._claimed[uid] = person
        self.found.by_key[person.key] = uid

    def _compatible(self, index: _Index, person: Person, uid: int) -> bool:
        """False when the account has an id of one of the record's kinds, another value."""
        held = index.ids_of.get(uid, set())
        return not any(kind == k and value != v for k, v in person.ids.items()
                       for kind, value in held)

    def _fallback(self, index: _Index, person: Person) -> int | None:
        last, first = _key(person.last_name, person.first_name)
        if not last:
            return None
        if person.profile is Profile.student:
            found = index.students.get((last, first, person.birth_date), [])
        elif person.profile in STAFF_PROFILES and person.birth_date:
            # an account of this school made without a birth date (our CSV) is the same
            found = index.staff_born.get((last, first, person.birth_date), []) + [
                uid for uid in index.staff_here.get((last, first), [])
                if self.found.users[uid].birth_date is None]
        elif person.profile in STAFF_PROFILES:
            found = index.staff_here.get((last, first), [])
        else:
            return None
        found = [uid for uid in dict.fromkeys(found) if self._compatible(index, person, uid)
                 and uid not in self._claimed]
        return found[0] if len(found) == 1 else None

    def _by_ids(self, person: Person) -> set[int]:
        return {uid for kind, value in person.ids.items()
                if (uid := self.found.ids.get((kind, value))) is not None}

    def _match_one(self, index: _Index, person: Person, logins: dict[str, int]) -> None:
        by_ids = self._by_ids(person)
        if len(by_ids) > 1:
            self._load_users(by_ids)
            names = ", ".join(sorted(repr(self.found.users[u].login) for u in by_ids))
            self._reject(person, f"its ids belong to different accounts ({names})")
            return
        uid = next(iter(by_ids), None)
        if person.login is not None:
            by_login = logins.get(person.login)
            if uid is not None and by_login is not None and by_login != uid:
                self._reject(person, f"login {person.login!r} is another person's")
                return
            uid = uid if uid is not None else by_login
        if uid is None and person.login is None:
            uid = self._fallback(index, person)
        self._claim(person, uid)

    def parents(self, people: list[Person]) -> None:
        """Match parents without ids through their children (module docstring); call
        once every student is matched, with :meth:`resolve` available."""
        pending = [p for p in people if p.profile is Profile.parent
                   and p.key in self.found.by_key and self.found.by_key[p.key] is None
                   and p.login is None]
        children = {p.key: {uid for ref in p.children if (uid := self.resolve(ref))}
                    for p in pending}
        wanted = set().union(*children.values()) if children else set()
        linked: dict[int, set[int]] = defaultdict(set)
        for chunk in chunks(wanted):
            for parent, child in self.s.execute(
                    select(ParentLink.parent_id, ParentLink.child_id)
                    .where(ParentLink.child_id.in_(chunk))):
                linked[child].add(parent)
        self._load_users(set().union(*linked.values()) if linked else set())
        for person in pending:
            names = _key(person.last_name, person.first_name)
            found = {uid for child in children[person.key] for uid in linked[child]
                     if _names(self.found.users[uid]) == names
                     and self.found.users[uid].profile is Profile.parent
                     and uid not in self._claimed}
            if len(found) == 1:
                self._claim(person, found.pop())

    def match(self, people: list[Person], refs: list[Ref]) -> Matches:
        """Find the account of each record (module docstring); ``refs`` are references
        the run will resolve later (children, people named by rejected records)."""
        self._load_ids(people, refs)
        self._logins = self._load_logins({p.login for p in people if p.login}
                                         | {r.login for r in refs if r.login})
        self._index_run = self._index(people)
        self._load_users(self.found.ids.values())
        self._login_keys = {p.login: p.key for p in people if p.login}
        self._students: dict[tuple[str, str], list[Person]] = defaultdict(list)
        for person in people:
            if person.profile is Profile.student:
                self._students[_key(person.last_name, person.first_name)].append(person)
        for person in sorted(people, key=lambda p: p.profile is Profile.parent):
            self._match_one(self._index_run, person, self._logins)
        self.parents(people)
        return self.found

    # --- references --------------------------------------------------------------------

    def run_student(self, ref: Ref) -> str | None:
        """The key of the one student record of the run a by-name reference names
        (names, and class or birth date when the reference has them), or None."""
        found = [p.key for p in self._students.get(_key(ref.last_name, ref.first_name), [])
                 if (ref.group is None or fold(ref.group) in {fold(c) for c in p.classes})
                 and (ref.birth_date is None or p.birth_date == ref.birth_date)]
        return found[0] if len(found) == 1 else None

    def resolve(self, ref: Ref, run: dict[str, int] | None = None) -> int | None:
        """The account a reference names, or None: a record of the run (``run`` maps
        keys of records created since to their new ids), an external id, a login, or
        a student of this school by names (and birth date)."""
        key = ref.key
        if key is None and ref.login is not None:
            key = self._login_keys.get(ref.login)
        if key is None and ref.last_name:
            key = self.run_student(ref)
        if key is not None:
            if run is not None and key in run:
                return run[key]
            if (uid := self.found.by_key.get(key)) is not None:
                return uid
            if ref.key is not None:
                return None
        for kind, value in ref.ids:
            if (uid := self.found.ids.get((kind, value))) is not None:
                return uid
        if ref.login is not None:
            return self._logins.get(ref.login)
        if ref.last_name and key is None:
            last, first = _key(ref.last_name, ref.first_name)
            found = {uid for (lst, fst, born), uids in self._index_run.students.items()
                     if (lst, fst) == (last, first)
                     and (ref.birth_date is None or born == ref.birth_date) for uid in uids}
            return found.pop() if len(found) == 1 else None
        return None
