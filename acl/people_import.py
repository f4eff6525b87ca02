"""``davserver import people``: bring a school's people in line with a CSV file.

:func:`acl.read_people` (``acl/people_csv.py``) reads and checks the file;
:func:`import_people` compares its rows with the database and applies them, in the
caller's transaction. The rules, also in the README section "Importing people":

* A login absent from the database becomes a user of the school with a random
  initial password (reported once, in :attr:`ImportReport.accounts`, never again).
* An existing user gets the row's name, email, profile and school. Their classes
  are replaced by the row's (a student has one). Groups are replaced among the
  groups the file names somewhere (a club made by hand and absent from the file
  keeps its members). A teacher's subjects and a parent's children are replaced.
  A column absent from the header leaves that attribute alone; an empty cell
  clears it.
* Every user a file lists is managed by imports from then on (an
  :class:`~acl.models.ImportedUser` row). A managed user of the school that the
  file does not mention at all (not even on a rejected row), and whose profile
  the file carries, is a leaver: disabled, never deleted, their files kept; listed
  again later, they are enabled again. Only the profiles in the file count because
  schools export pupils and staff separately (SIECLE for students and parents, STS
  for teachers): importing the teachers' file must not disable every student.
  Users made by hand and never listed are left alone, and so are users disabled by
  hand.
* Rows are rejected with their line number when a login belongs to another school,
  a name is a class in one place and a group in another, or a child is not a
  student in the file or the database. With ``strict``, any rejection means
  nothing is written.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from davserver import clock
from davserver.errors import BadRequest

from .models import (
    Group,
    GroupKind,
    ImportedUser,
    Membership,
    ParentLink,
    Profile,
    School,
    Subject,
    TeacherSubject,
    User,
)
from .people import create_user
from .people_csv import Column, PeopleFile, PersonRow, Rejected

DEFAULT_SCHOOL = "Établissement"
#: Initial passwords avoid look-alike characters (0/O, 1/l/I): people type them
#: from a printed sheet.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 12
_CHUNK = 500  # values per IN (...) list, well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class NewAccount:
    """A user the import created, with the initial password to hand out."""

    login: str
    password: str
    display_name: str
    classes: tuple[str, ...]


@dataclass
class ImportReport:
    """What an import did (or, with ``applied`` False, would have refused to do):
    logins created, updated, disabled as leavers, unchanged; rejected rows."""

    school: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    accounts: list[NewAccount] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    applied: bool = True


def new_password() -> str:
    """A random initial password of :data:`PASSWORD_LENGTH` characters (~70 bits)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def import_school(session: Session, name: str | None = None) -> tuple[int, str]:
    """``(id, name)`` of the school to import into: ``name``'s (created if absent),
    else the deployment's only school, else a new one named :data:`DEFAULT_SCHOOL`.
    Raises ``BadRequest`` when there are several schools and no name."""
    if name:
        found = session.scalar(select(School).where(School.name == name))
        if found is None:
            found = School(name=name)
            session.add(found)
            session.flush()
        return found.id, found.name
    schools = list(session.scalars(select(School).order_by(School.name).limit(20)))
    if len(schools) > 1:
        raise BadRequest("several schools: choose one with --school (" +
                         ", ".join(repr(s.name) for s in schools) + ")")
    if not schools:
        return import_school(session, DEFAULT_SCHOOL)
    return schools[0].id, schools[0].name


def _chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(items)
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


@dataclass
class _State:
    """The school's people as the import sees them, loaded in a few queries."""

    school_id: int
    users: dict[str, User]
    groups: dict[str, tuple[int, GroupKind]]
    subjects: dict[str, int]
    members: dict[int, set[int]]
    teaches: dict[int, set[int]]
    children: dict[int, set[int]]
    imported: dict[int, ImportedUser]


def _load(session: Session, school_id: int, logins: set[str]) -> _State:
    users: dict[str, User] = {}
    for chunk in _chunks(logins):
        users.update((u.login, u) for u in session.scalars(
            select(User).where(User.login.in_(chunk))))
    groups = {g.name: (g.id, g.kind) for g in session.scalars(
        select(Group).where(Group.school_id == school_id))}
    subjects = {code: sid for code, sid in session.execute(
        select(Subject.code, Subject.id).where(Subject.school_id == school_id))}
    members: dict[int, set[int]] = defaultdict(set)
    for uid, gid in session.execute(select(Membership.user_id, Membership.group_id)
                                    .join(Group).where(Group.school_id == school_id)):
        members[uid].add(gid)
    teaches: dict[int, set[int]] = defaultdict(set)
    for uid, sid in session.execute(select(TeacherSubject.user_id, TeacherSubject.subject_id)
                                    .join(Subject).where(Subject.school_id == school_id)):
        teaches[uid].add(sid)
    children: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(u.id for u in users.values()):
        for pid, cid in session.execute(select(ParentLink.parent_id, ParentLink.child_id)
                                        .where(ParentLink.parent_id.in_(chunk))):
            children[pid].add(cid)
    imported = {i.user_id: i for i in session.scalars(
        select(ImportedUser).where(ImportedUser.school_id == school_id))}
    return _State(school_id, users, groups, subjects, members, teaches, children, imported)


def _check_school(session: Session, state: _State, row: PersonRow) -> None:
    user = state.users.get(row.login)
    if user is not None and user.school_id not in (None, state.school_id):
        other = session.get(School, user.school_id)
        raise BadRequest(f"login {row.login!r} belongs to another school "
                         f"({other.name if other else user.school_id})")


def _check_kinds(kinds: dict[str, GroupKind], row: PersonRow) -> None:
    """Refuse a name used as a class and as a group; record the row's names."""
    wanted = dict.fromkeys(row.classes, GroupKind.class_)
    for name in row.groups:
        if name in wanted:
            raise BadRequest(f"{name!r} is listed both as a class and as a group")
        wanted[name] = GroupKind.group
    for name, kind in wanted.items():
        known = kinds.get(name)
        if known is not None and known is not kind:
            raise BadRequest(f"{name!r} is a {known.value} of the school, "
                             f"not a {kind.value}")
    kinds.update(wanted)


def _check_children(state: _State, rows: list[PersonRow]) -> list[Rejected]:
    """Children must be students: as the file says, else as the database says."""
    in_file = {r.login: r.profile for r in rows}
    rejected = []
    for row in rows:
        for child in row.children:
            user = state.users.get(child)
            profile = in_file.get(child, user.profile if user else None)
            if profile is not Profile.student:
                rejected.append(Rejected(row.line, row.login,
                                         f"child {child!r} is not a student in the file "
                                         "or the database"))
                break
    return rejected


def _check(session: Session, state: _State, people: PeopleFile) -> tuple[list[PersonRow],
                                                                          list[Rejected]]:
    """The rows the database allows, and the others with their reasons."""
    kinds = {name: kind for name, (_, kind) in state.groups.items()}
    kept, rejected = [], list(people.rejected)
    for row in people.rows:
        try:
            _check_school(session, state, row)
            _check_kinds(kinds, row)
        except BadRequest as exc:
            rejected.append(Rejected(row.line, row.login, exc.message))
        else:
            kept.append(row)
    bad_children = _check_children(state, kept)
    rejected += bad_children
    bad = {r.line for r in bad_children}
    return [r for r in kept if r.line not in bad], sorted(rejected, key=lambda r: r.line)


def _replace(session: Session, table: type[Any], owner: str, item: str, owner_id: int,
             current: set[int], desired: set[int], known: set[int]) -> bool:
    """Make ``owner_id``'s links in ``table`` among ``current`` equal ``desired``;
    ``known`` (the cached link set) follows. True when something changed."""
    removed, added = current - desired, desired - current
    if removed:
        session.execute(delete(table).where(getattr(table, owner) == owner_id,
                                            getattr(table, item).in_(removed)))
    session.add_all(table(**{owner: owner_id, item: i}) for i in added)
    known.difference_update(removed)
    known.update(added)
    return bool(removed or added)


@dataclass
class _Run:
    """One import under way: the session, the loaded state, what the file manages."""

    session: Session
    state: _State
    people: PeopleFile
    report: ImportReport
    class_ids: set[int]
    group_ids: set[int]

    def group_id(self, name: str, kind: GroupKind) -> int:
        if name not in self.state.groups:
            group = Group(school_id=self.state.school_id, name=name, kind=kind)
            self.session.add(group)
            self.session.flush()
            self.state.groups[name] = (group.id, kind)
        return self.state.groups[name][0]

    def subject_id(self, code: str) -> int:
        if code not in self.state.subjects:
            subject = Subject(school_id=self.state.school_id, code=code, name=code)
            self.session.add(subject)
            self.session.flush()
            self.state.subjects[code] = subject.id
        return self.state.subjects[code]


def _create(run: _Run, row: PersonRow) -> User:
    password = new_password()
    principal = create_user(run.session, row.login, password, row.profile,
                            display_name=row.display_name, email=row.email,
                            school_id=run.state.school_id)
    user = run.session.get(User, principal.id)
    assert user is not None
    run.state.users[row.login] = user
    run.report.created.append(row.login)
    run.report.accounts.append(NewAccount(row.login, password, row.display_name, row.classes))
    return user


def _update_fields(run: _Run, user: User, row: PersonRow) -> bool:
    wanted: dict[str, object] = {"display_name": row.display_name, "profile": row.profile,
                                 "school_id": run.state.school_id}
    if Column.email in run.people.columns:
        wanted["email"] = row.email
    changed = False
    for attr, value in wanted.items():
        if getattr(user, attr) != value:
            setattr(user, attr, value)
            changed = True
    return changed


def _mark(run: _Run, user: User) -> bool:
    """Record the user as managed by imports; enable a returning leaver."""
    mark = run.state.imported.get(user.id) or run.session.get(ImportedUser, user.id)
    changed = mark is None or mark.school_id != run.state.school_id
    if mark is None:
        mark = ImportedUser(user_id=user.id, school_id=run.state.school_id, left=None)
        run.session.add(mark)
    mark.school_id = run.state.school_id
    run.state.imported[user.id] = mark
    if mark.left is not None:
        mark.left = None
        user.disabled = False
        return True
    if user.disabled:
        run.report.warnings.append(f"{user.login} was disabled by hand: left disabled")
    return changed


def _apply_links(run: _Run, user: User, row: PersonRow) -> bool:
    s, state, columns = run.session, run.state, run.people.columns
    members = state.members[user.id]
    changed = False
    if Column.classes in columns:
        classes = {run.group_id(n, GroupKind.class_) for n in row.classes}
        changed = _replace(s, Membership, "user_id", "group_id", user.id,
                           members & run.class_ids, classes, members)
    if Column.groups in columns:
        groups = {run.group_id(n, GroupKind.group) for n in row.groups}
        changed |= _replace(s, Membership, "user_id", "group_id", user.id,
                            members & run.group_ids, groups, members)
    if Column.subjects in columns:
        taught = state.teaches[user.id]
        changed |= _replace(s, TeacherSubject, "user_id", "subject_id", user.id, set(taught),
                            {run.subject_id(c) for c in row.subjects}, taught)
    return changed


def _apply_row(run: _Run, row: PersonRow) -> bool:
    """Create or update one row's user; True when an existing user changed."""
    user = run.state.users.get(row.login)
    changed = False
    if user is None:
        user = _create(run, row)
    else:
        changed = _update_fields(run, user, row)
    changed = _mark(run, user) or changed
    return _apply_links(run, user, row) or changed


def _apply_children(run: _Run, rows: list[PersonRow]) -> set[str]:
    """Replace parents' children (after every row's user exists); logins changed."""
    changed = set()
    for row in rows:
        parent = run.state.users[row.login]
        current = run.state.children[parent.id]
        wanted = {run.state.users[c].id for c in row.children}
        if _replace(run.session, ParentLink, "parent_id", "child_id", parent.id,
                    set(current), wanted, current):
            changed.add(row.login)
    return changed


def _disable_leavers(run: _Run) -> None:
    now = clock.now()
    profiles = {row.profile for row in run.people.rows}
    ids = [uid for uid, mark in run.state.imported.items() if mark.left is None]
    for chunk in _chunks(ids):
        for user in run.session.scalars(select(User).where(User.id.in_(chunk))
                                        .order_by(User.login)):
            if (user.login in run.people.logins or user.disabled
                    or user.profile not in profiles):
                continue
            user.disabled = True
            run.state.imported[user.id].left = now
            run.report.disabled.append(user.login)


def import_people(session: Session, people: PeopleFile, school_id: int, *,
                  strict: bool = False,
                  progress: Callable[[], None] | None = None) -> ImportReport:
    """Apply a file read by :func:`acl.read_people` to school ``school_id`` in the
    caller's transaction (module docstring for the rules).

    ``progress`` is called once per row applied. With ``strict`` and any rejected
    row, nothing is written and the report has ``applied`` False. Rejected rows never
    raise; database errors do (the caller's transaction then rolls back).
    """
    school = session.get(School, school_id)
    if school is None:
        raise BadRequest(f"no school with id {school_id}")
    report = ImportReport(school.name, warnings=list(people.warnings))
    logins = {r.login for r in people.rows} | {c for r in people.rows for c in r.children}
    state = _load(session, school_id, logins)
    rows, report.rejected = _check(session, state, people)
    if strict and report.rejected:
        report.applied = False
        return report
    named_groups = {n for r in rows for n in r.groups}
    run = _Run(session, state, people, report,
               {gid for gid, kind in state.groups.values() if kind is GroupKind.class_},
               {state.groups[n][0] for n in named_groups if n in state.groups})
    changed = set()
    for row in rows:
        if _apply_row(run, row):
            changed.add(row.login)
        if progress is not None:
            progress()
    if Column.children in people.columns:
        changed |= _apply_children(run, rows)
    _disable_leavers(run)
    created = set(report.created)
    for row in rows:
        if row.login not in created:
            (report.updated if row.login in changed else report.unchanged).append(row.login)
    return report
