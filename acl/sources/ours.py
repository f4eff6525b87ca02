"""Our own people CSV (``docs/admin.md``, "Our CSV"; read by :mod:`acl.people_csv`)
as a :class:`~acl.directory.Batch`: one person per row, the login given by the file."""

from __future__ import annotations

from ..directory import Attr, Batch, Person, Ref, Rejection, Where
from ..people_csv import Column, PeopleFile

_CARRIED = {Column.email: Attr.email, Column.classes: Attr.classes,
            Column.groups: Attr.groups, Column.subjects: Attr.subjects,
            Column.children: Attr.children}


def batch_of(name: str, people: PeopleFile) -> Batch:
    """The batch of a file read by :func:`acl.read_people`. Every profile of its rows is
    listed in full (leavers are computed for them); a column left out of the header
    leaves that attribute alone."""
    carries = frozenset({Attr.names} | {a for c, a in _CARRIED.items() if c in people.columns})
    batch = Batch(name=name, format="csv", encoding=people.encoding,
                  description="people CSV", details=f"delimiter {people.delimiter!r}",
                  profiles=frozenset(r.profile for r in people.rows),
                  warnings=list(people.warnings))
    for row in people.rows:
        batch.people.append(Person(
            key=f"csv:{row.login}", profile=row.profile, where=Where(name, row.line),
            first_name=row.first_name, last_name=row.last_name,
            display_name=row.display_name, email=row.email, login=row.login,
            classes=row.classes, groups=row.groups, subjects=row.subjects,
            children=tuple(Ref(login=c) for c in row.children), carries=carries))
    batch.rejected = [Rejection(Where(name, r.line), r.login, r.reason)
                      for r in people.rejected]
    batch.seen = [Ref(login=login) for login in sorted(people.logins) if login]
    return batch
