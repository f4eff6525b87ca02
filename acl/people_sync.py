"""Synchronising one school's people with what an import read (the rules are in
``docs/admin.md``, "Importing people"; finding accounts is :mod:`acl.people_match`).

:class:`Synchronisation` works in the caller's transaction, in two steps:

* :meth:`~Synchronisation.prepare` finds every record's account and checks what the
  database allows (a login of another school, a name that is a class here and a group
  there, a child who is not a student, duplicate ids); it returns the rejections, by
  record, so that the caller can refuse whole files.
* :meth:`~Synchronisation.apply` creates and updates the accepted records' people,
  then handles leavers and teaching services.

What a record carries replaces what the account has *in this school*: classes among
the school's classes, groups among those the run names or an import of the same kind
made, subjects among the school's, children among the school's students. What another
school gave (memberships, links, its profile) is never touched. A person absent from
a complete file of their profile, or deleted by an AAF Delta, leaves the school: out
of its classes and groups, and disabled when no other school still has them. Nothing
is ever deleted; a returning person is enabled again, unless someone disabled them
by hand while they were still there.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from davserver import clock

from . import people_results
from .directory import Attr, Batch, Person, Rejection, SubjectInfo
from .logins import free_login
from .models import (
    ExternalId,
    Group,
    GroupKind,
    Membership,
    ParentLink,
    Profile,
    Subject,
    TeacherSubject,
    User,
    UserSchool,
)
from .people import INITIAL_HASHER
from .people_checks import Checks, SchoolState
from .people_match import chunks
from .people_results import (
    NewAccount,
    Outcome,
    ServiceOrder,
    SyncResult,
    new_password,
    register_service_sink,
)
from .sessions import end_sessions_of


class Synchronisation(Checks):
    """One school's side of an import (module docstring): :meth:`prepare` (in
    :class:`acl.people_checks.Checks`), then :meth:`apply`."""

    def __init__(self, session: Session, school_id: int) -> None:
        super().__init__(session, school_id)
        self._keys: dict[str, int] = {}
        self._position: dict[str, int] = {}
        self._taken: set[str] = set()
        self._created: dict[str, User] = {}
        self._bases_loaded: set[str] = set()

    # --- apply -------------------------------------------------------------------------

    def apply(self, batches: Sequence[Batch], rejected: dict[str, Rejection], *,
              everyone: Sequence[Batch] = (),
              progress: Callable[[int, int], None] | None = None) -> SyncResult:
        """Apply the records of ``batches`` not in ``rejected``; then leavers (people
        absent from the complete files among ``batches``, and AAF deletions) and
        teaching services. ``everyone``: every batch of the run, refused ones included
        (the people they name are not leavers); default ``batches``."""
        st = self._state
        formats = {b.format for b in batches}
        named = {n for b in batches for p in b.people for n in p.groups} | {
            n for b in batches for n in b.groups}
        self._managed = {g.id for g in st.groups.values()
                         if g.kind is GroupKind.group and (g.name in named
                                                           or g.source in formats)}
        self._class_ids = {g.id for g in st.groups.values() if g.kind is GroupKind.class_}
        self._subject_infos = {i.code: i for b in batches for i in b.subjects}
        for b in batches:
            self._declare_groups(b)
        people = self._merged([p for b in batches for p in b.people
                               if p.key not in rejected])
        source = {p.key: b.format for b in batches for p in b.people}
        alive = [p for p in people if not p.deleted]
        done, total = 0, len(alive)
        for parents_now in (False, True):  # parents once their children have accounts
            wave = [p for p in alive if (p.profile is Profile.parent) is parents_now]
            self._create_all(wave)
            for person in wave:
                self._apply_person(person, source[person.key])
                done += 1
                if progress is not None:
                    progress(done, total)
        parents = [p for p in alive if (Attr.children in p.carries or p.add_children)
                   and self._keys.get(p.key) is not None]
        self._load_links(parents)
        for person in parents:
            self._apply_children(person)
        seen = self._seen(everyone or batches, people)
        self._leavers(batches, seen, [p for p in people if p.deleted])
        self._services(batches)
        return self.result

    @staticmethod
    def _merged(people: list[Person]) -> list[Person]:
        """One record per key: a later record (an AAF Delta after the Complet) replaces
        the attributes it carries."""
        out: dict[str, Person] = {}
        for person in people:
            before = out.get(person.key)
            if before is None or person.deleted:
                out[person.key] = person
                continue
            for attr in person.carries:
                _copy(attr, person, before)
            before.carries = before.carries | person.carries
            before.ids.update(person.ids)
        return list(out.values())

    def _declare_groups(self, batch: Batch) -> None:
        for name in batch.classes:
            self._group(name, GroupKind.class_, batch.format)
        for name in batch.groups:
            self._group(name, GroupKind.group, batch.format)
        for info in batch.subjects:
            self._subject(info.code)

    def _group(self, name: str, kind: GroupKind, source: str) -> int:
        name = self._alias.get((name, kind), name)
        group = self._state.groups.get(name)
        if group is None:
            group = Group(school_id=self.school.id, name=name, kind=kind, source=source)
            self.s.add(group)
            self.s.flush()
            self._state.groups[name] = group
            (self._class_ids if kind is GroupKind.class_ else self._managed).add(group.id)
        return group.id

    def _subject(self, code: str) -> int:
        """The school's subject for a code of the run: by the national code its source
        declared, else by code (created if absent, named as the source names it)."""
        st, info = self._state, self._subject_infos.get(code)
        bcn = info.bcn_code if info else (code if code.isdecimal() and len(code) == 6 else None)
        found = st.by_bcn.get(bcn) if bcn else None
        if found is None:
            found = st.subjects.get(code)
        if found is None:
            found = Subject(school_id=self.school.id, code=code[:32],
                            name=(info.name if info else code)[:100], bcn_code=bcn)
            self.s.add(found)
            self.s.flush()
        elif info is not None:
            _rename_subject(found, info, st)
        st.subjects[found.code] = found
        if found.bcn_code:
            st.by_bcn[found.bcn_code] = found
        return found.id

    def _apply_person(self, person: Person, source: str) -> None:
        uid = self.matches.by_key.get(person.key)
        created = uid is None
        if person.update_only and (uid is None or not person.joins
                                   and uid not in self._state.rows):
            if uid is None and person.joins:
                self.result.warnings.append(
                    f"{person.where}: {person.who()} is not known here yet (a Delta "
                    "modification of someone no Complet file brought): skipped")
            return
        if not person.joins and uid is not None:  # a member here already: names, ids
            self._keys[person.key] = uid
            known = self.matches.users[uid]
            changed = self._fields(known, person, profile=False)
            changed = self._ids(known, person) or changed
            self._outcome(person, known, "updated" if changed else "unchanged", False)
            return
        if created and person.key not in self._created:
            self.result.warnings.append(f"{person.where}: {person.who()}: no account made, "
                                        "none of their children is a student of the school")
            return
        user = self._created[person.key] if uid is None else self.matches.users[uid]
        self._keys[person.key] = user.id
        changed = self._fields(user, person)
        changed = self._place(user, person) or changed
        changed = self._ids(user, person) or changed
        moved, linked = self._links(user, person, source)
        state = "created" if created else "updated" if changed or linked else "unchanged"
        self._outcome(person, user, state, moved and not created)

    def _outcome(self, person: Person, user: User, state: str, moved: bool) -> None:
        self._position[person.key] = len(self.result.outcomes)
        profile = row.profile if (row := self._state.rows.get(user.id)) else person.profile
        self.result.outcomes.append(Outcome(person.key, user.login, profile, state, moved))

    def _create_all(self, people: list[Person]) -> None:
        """The accounts of the records that have none yet, made together (one flush;
        initial passwords hashed on every core): logins by :mod:`acl.logins`. A parent
        none of whose children is a student of the school gets none."""
        wanted = [p for p in people if self.matches.by_key.get(p.key) is None
                  and not p.update_only and not (
                      p.profile is Profile.parent and p.children and not any(
                          self.matcher.resolve(ref, self._keys) for ref in p.children))]
        if not wanted:
            return
        logins = []
        for person in wanted:
            login = person.login or free_login(person.first_name, person.last_name,
                                               self._is_taken)
            self._taken.add(login)
            logins.append(login)
        passwords = [new_password() for _ in wanted]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            hashes = list(pool.map(INITIAL_HASHER.hash, passwords))
        users = [User(login=login, password_hash=hashed, profile=p.profile,
                      display_name=p.name(), disabled=False, school_id=self.school.id)
                 for p, login, hashed in zip(wanted, logins, hashes, strict=True)]
        self.s.add_all(users)
        self.s.flush()
        for person, user, password in zip(wanted, users, passwords, strict=True):
            self.matches.users[user.id] = user
            self._created[person.key] = user
            self.result.accounts.append(NewAccount(user.login, password, person.name(),
                                                   person.classes, person.profile))

    def _is_taken(self, login: str) -> bool:
        """Whether ``login`` is someone's; the logins sharing its base (``lea.martin``,
        ``lea.martin.2``...) are loaded in one query the first time."""
        base = re.sub(r"\.\d+$", "", login)
        if base not in self._bases_loaded:
            with self.s.no_autoflush:
                self._taken.update(self.s.scalars(select(User.login).where(
                    or_(User.login == base, User.login.like(base + ".%")))))
            self._bases_loaded.add(base)
        return login in self._taken

    def _fields(self, user: User, person: Person, *, profile: bool = True) -> bool:
        wanted: dict[str, Any] = {}
        if Attr.names in person.carries:
            wanted.update(display_name=person.name(), first_name=person.first_name or None,
                          last_name=person.last_name or None)
        if Attr.email in person.carries:
            wanted["email"] = person.email
        if Attr.birth_date in person.carries:
            wanted["birth_date"] = person.birth_date
        if profile and user.school_id in (None, self.school.id):
            wanted.update(profile=person.profile, school_id=self.school.id)
        changed = False
        for attr, value in wanted.items():
            if getattr(user, attr) != value:
                setattr(user, attr, value)
                changed = True
        return changed

    def _place(self, user: User, person: Person) -> bool:
        """The user's row for this school: profile, managed, back if they had left."""
        row = self._state.rows.get(user.id)
        changed = row is None
        was_away = row is not None and row.left_at is not None
        if row is None:
            row = UserSchool(user_id=user.id, school_id=self.school.id, profile=person.profile,
                             managed=True, left_at=None, functions=[])
            self.s.add(row)
            self._state.rows[user.id] = row
        if not row.managed or row.profile is not person.profile:
            row.managed, row.profile, changed = True, person.profile, True
        if Attr.functions in person.carries and list(row.functions or []) != list(
                person.functions):
            row.functions, changed = list(person.functions), True
        if was_away:
            row.left_at, changed = None, True
            if user.disabled and not self._active_elsewhere(user.id):
                user.disabled = False
        elif user.disabled:
            self.result.warnings.append(f"{user.login} was disabled by hand: left disabled")
        return changed

    def _active_elsewhere(self, user_id: int) -> bool:
        return bool(self.s.scalar(select(func.count()).select_from(UserSchool).where(
            UserSchool.user_id == user_id, UserSchool.school_id != self.school.id,
            UserSchool.left_at.is_(None))))

    def _ids(self, user: User, person: Person) -> bool:
        changed = False
        for kind, value in person.ids.items():
            if self.matches.ids.get((kind, value)) != user.id:
                self.s.add(ExternalId(user_id=user.id, kind=kind, value=value))
                self.matches.ids[(kind, value)] = user.id
                changed = True
        return changed

    def _links(self, user: User, person: Person, source: str) -> tuple[bool, bool]:
        """Classes, groups and subjects; (moved, changed)."""
        st, carries = self._state, person.carries
        members = st.members[user.id]
        moved = changed = False
        if Attr.classes in carries:
            before = members & self._class_ids
            wanted = {self._group(n, GroupKind.class_, source) for n in person.classes}
            changed = _replace(self.s, Membership, "user_id", "group_id", user.id, before,
                               wanted, members)
            moved = person.profile is Profile.student and bool(before) and bool(wanted) \
                and before != wanted
        if Attr.groups in carries:
            wanted = {self._group(n, GroupKind.group, source) for n in person.groups}
            changed |= _replace(self.s, Membership, "user_id", "group_id", user.id,
                                members & self._managed, wanted, members)
        if Attr.subjects in carries:
            taught = st.teaches[user.id]
            changed |= _replace(self.s, TeacherSubject, "user_id", "subject_id", user.id,
                                set(taught), {self._subject(c) for c in person.subjects},
                                taught)
        return moved, changed

    def _apply_children(self, person: Person) -> None:
        """A parent's children among this school's students; links to children of
        other schools are left alone."""
        parent = self._keys[person.key]
        wanted = set()
        for ref in person.children:
            uid = self.matcher.resolve(ref, self._keys)
            if uid is None:
                self.result.warnings.append(f"{person.where}: child {ref.describe()} of "
                                            f"{person.name()} is not a student of the school")
            else:
                wanted.add(uid)
        current = self._links_of.setdefault(parent, set())
        if person.add_children:
            added = wanted - current
            self.s.add_all(ParentLink(parent_id=parent, child_id=c) for c in added)
            changed = bool(added)
        else:
            changed = _replace(self.s, ParentLink, "parent_id", "child_id", parent,
                               current & (self._students | wanted), wanted, current)
        if changed:
            self._mark_updated(person.key)

    def _load_links(self, parents: list[Person]) -> None:
        """The children of the run's parents, and the school's students, in a few
        queries (before :meth:`_apply_children`)."""
        self._students = {uid for uid, row in self._state.rows.items()
                          if row.profile is Profile.student}
        ids = {self._keys[p.key] for p in parents if self._keys.get(p.key) is not None}
        self._links_of: dict[int, set[int]] = defaultdict(set)
        for chunk in chunks(ids):
            for parent, child in self.s.execute(select(ParentLink.parent_id,
                                                       ParentLink.child_id)
                                                .where(ParentLink.parent_id.in_(chunk))):
                self._links_of[parent].add(child)

    def _mark_updated(self, key: str) -> None:
        i = self._position[key]
        outcome = self.result.outcomes[i]
        if outcome.state == "unchanged":
            self.result.outcomes[i] = Outcome(key, outcome.login, outcome.profile,
                                              "updated", outcome.moved)

    # --- leavers -----------------------------------------------------------------------

    def _seen(self, batches: Sequence[Batch], people: list[Person]) -> set[int]:
        seen = {uid for p in people if (uid := self._keys.get(p.key)
                                        or self.matches.by_key.get(p.key))}
        for batch in batches:
            seen.update(uid for ref in batch.seen if (uid := self.matcher.resolve(ref,
                                                                                  self._keys)))
        return seen

    def _leavers(self, batches: Sequence[Batch], seen: set[int],
                 deleted: list[Person]) -> None:
        covered = {p for b in batches for p in b.profiles}
        gone = [uid for uid, row in self._state.rows.items()
                if row.managed and row.left_at is None and row.profile in covered
                and uid not in seen]
        for person in deleted:
            uid = self.matches.by_key.get(person.key)
            if uid is not None and uid in self._state.rows:
                gone.append(uid)
        self.matcher._load_users(gone)
        now = clock.now()
        for uid in sorted(set(gone), key=lambda u: self.matches.users[u].login):
            row, user = self._state.rows[uid], self.matches.users[uid]
            if row.left_at is not None or user.disabled:  # disabled by hand: left alone
                continue
            row.left_at = now
            mine = self._state.members[uid] & (self._class_ids | self._managed)
            _replace(self.s, Membership, "user_id", "group_id", uid, mine, set(),
                     self._state.members[uid])
            disable = not user.disabled and not self._active_elsewhere(uid)
            if disable:
                user.disabled = True
                end_sessions_of(self.s, uid)  # signed out everywhere, drives included
            self.result.left.append((user.login, row.profile, disable))

    # --- teaching services -------------------------------------------------------------

    def _services(self, batches: Sequence[Batch]) -> None:
        orders: dict[tuple[int, int], set[int]] = defaultdict(set)
        for batch in batches:
            for spec in batch.services:
                teachers = {self._keys[k] for k in spec.teachers if k in self._keys}
                if not teachers:
                    continue
                kind = GroupKind.class_ if spec.kind == "class" else GroupKind.group
                group = self._group(spec.group, kind, batch.format)
                orders[(group, self._subject(spec.subject))] |= teachers
        if not orders:
            return
        if not people_results.service_sinks:
            self.result.warnings.append(f"{len(orders)} teaching service(s) read but not "
                                        "stored: the textbook is not loaded")
            return
        self.result.services = people_results.service_sinks[-1](self.s, self.school.id, [
            ServiceOrder(g, sub, tuple(sorted(t))) for (g, sub), t in orders.items()])

    # --- figures -----------------------------------------------------------------------

    def figures(self) -> tuple[dict[str, int], dict[str, int], int]:
        """(classes, groups: name → members; parent links to this school's students),
        after the run."""
        self.s.flush()
        sid = self.school.id
        counts: dict[str, int] = {name: n for name, n in self.s.execute(
            select(Group.name, func.count(Membership.user_id))
            .join(Membership, Membership.group_id == Group.id, isouter=True)
            .where(Group.school_id == sid).group_by(Group.name))}
        kinds = {g.name: g.kind for g in self.s.scalars(select(Group)
                                                          .where(Group.school_id == sid))}
        classes = {n: counts.get(n, 0) for n, k in sorted(kinds.items())
                   if k is GroupKind.class_}
        groups = {n: counts.get(n, 0) for n, k in sorted(kinds.items())
                  if k is GroupKind.group}
        links = self.s.scalar(select(func.count()).select_from(ParentLink).join(
            UserSchool, UserSchool.user_id == ParentLink.child_id).where(
            UserSchool.school_id == sid, UserSchool.left_at.is_(None),
            UserSchool.profile == Profile.student)) or 0
        return classes, groups, links


def _copy(attr: Attr, src: Person, dst: Person) -> None:
    names = {Attr.names: ("first_name", "last_name", "display_name"),
             Attr.email: ("email",), Attr.birth_date: ("birth_date",),
             Attr.classes: ("classes",), Attr.groups: ("groups",),
             Attr.subjects: ("subjects",), Attr.children: ("children",),
             Attr.functions: ("functions",)}[attr]
    for name in names:
        setattr(dst, name, getattr(src, name))


def _rename_subject(found: Subject, info: SubjectInfo, st: SchoolState) -> None:
    """A subject an AAF import named by its national code takes the short code and
    name STS-web gives it (when no other subject has that code)."""
    if info.bcn_code and not found.bcn_code:
        found.bcn_code = info.bcn_code
    if found.code == found.bcn_code and info.code != found.code and info.code not in st.subjects:
        st.subjects.pop(found.code, None)
        found.code = info.code[:32]
    if info.name and info.name != info.code and found.name in (found.code, found.bcn_code,
                                                               info.code):
        found.name = info.name[:100]


def _replace(session: Session, table: type[Any], owner: str, item: str, owner_id: int,
             current: set[int], desired: set[int], known: set[int]) -> bool:
    """Make ``owner_id``'s links in ``table`` among ``current`` equal ``desired``;
    ``known`` (the cached link set) follows. True when something changed."""
    removed, added = current - desired, desired - current
    for chunk in chunks(removed):
        session.execute(delete(table).where(getattr(table, owner) == owner_id,
                                            getattr(table, item).in_(chunk)))
    session.add_all(table(**{owner: owner_id, item: i}) for i in added)
    known.difference_update(removed)
    known.update(added)
    return bool(removed or added)


__all__ = ["NewAccount", "Outcome", "ServiceOrder", "Synchronisation", "SyncResult",
           "register_service_sink"]
