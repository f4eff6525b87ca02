"""Finding a timetable's names in the school's directory (``davserver import people``
first): classes and groups, teachers, subjects.

* **Classes and groups** by name, exactly, else without case, accents or blanks
  (``4 B`` is ``4B``: the notes' pitfall "class labels differ per source"); two groups
  that only differ so make the name ambiguous, which is refused.
* **Teachers** by login (our CSV and iCalendar), else by name among the school's
  enabled teachers, compared as words without case, accents or hyphens, in any order:
  EDT's ``PROF_NOM``/``PROF_PRENOM`` and UDT's "NOM PRÉNOM" must give all the words of
  the teacher's name; PRONOTE's "NOM I." the family name's words and, for the given
  name, its initial(s). The name is the user's display name ("Prénom Nom") or, failing
  that, the words of their login (``m.dupont``). More than one teacher answering is a
  rejection that lists them: the import never guesses.
* **Subjects** by code (created when absent, as the people import does); a PRONOTE
  subject is a full name ("MATHEMATIQUES"), matched against codes and names.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import acl
from davserver.errors import BadRequest

from .courses import Course, TeacherRef
from .text import squash, tokens

SUBJECT_CODE_LENGTH = 32


@dataclass(frozen=True)
class _Teacher:
    id: int
    login: str
    display: str
    names: tuple[tuple[str, ...], ...]  # word lists: display name, login


def _contains(words: tuple[str, ...], part: list[str]) -> int:
    """Index where ``part`` starts in ``words`` (contiguous), or -1."""
    for i in range(len(words) - len(part) + 1):
        if list(words[i:i + len(part)]) == part:
            return i
    return -1


class Directory:
    """The school's groups, enabled teachers and subjects, loaded once per import."""

    def __init__(self, session: Session, school_id: int) -> None:
        self.session = session
        self.school_id = school_id
        self.groups: dict[str, int] = {}
        self.squashed: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for gid, name in session.execute(select(acl.Group.id, acl.Group.name).where(
                acl.Group.school_id == school_id)):
            self.groups[name] = gid
            self.squashed[squash(name)].append((gid, name))
        self.teachers: list[_Teacher] = []
        rows = session.execute(select(acl.User.id, acl.User.login, acl.User.display_name)
                               .where(acl.User.profile == acl.Profile.teacher,
                                      acl.User.disabled.is_(False),
                                      or_(acl.User.school_id == school_id,
                                          acl.User.school_id.is_(None))))
        for uid, login, display in rows:
            names = tuple(tuple(t) for t in (tokens(display or ""), tokens(login)) if t)
            self.teachers.append(_Teacher(uid, login, display or login, names))
        self.subjects: dict[str, int] = {}
        self.subject_names: dict[int, str] = {}
        self.subject_keys: dict[str, int] = {}
        for sid, code, name in session.execute(select(
                acl.Subject.id, acl.Subject.code, acl.Subject.name).where(
                acl.Subject.school_id == school_id)):
            self.subjects[code] = sid
            self.subject_names[sid] = name
            self.subject_keys.setdefault(squash(code), sid)
            self.subject_keys.setdefault(squash(name), sid)

    def group(self, name: str) -> int:
        """The id of the class or group ``name``. Raises ``BadRequest``."""
        if name in self.groups:
            return self.groups[name]
        found = self.squashed.get(squash(name), [])
        if len(found) == 1:
            return found[0][0]
        if found:
            raise BadRequest(f"class or group {name!r} is ambiguous: "
                             + ", ".join(repr(n) for _i, n in found))
        raise BadRequest(f"unknown class or group {name!r} (import people first)")

    def audiences(self, course: Course) -> tuple[list[int], str]:
        """Group ids of the course's audiences, or of the first fallback whose groups
        all exist; and a warning when a fallback was used. Raises ``BadRequest`` for
        the first audience's reason when none fits."""
        choices = (course.audiences, *course.fallbacks)
        first_error: BadRequest | None = None
        for index, names in enumerate(choices):
            try:
                ids = list(dict.fromkeys(self.group(n) for n in names))
            except BadRequest as exc:
                first_error = first_error or exc
                continue
            note = "" if index == 0 else (
                f"{', '.join(course.audiences)} not in the directory: the lessons go to "
                f"{', '.join(names)}")
            return ids, note
        assert first_error is not None
        raise first_error

    def teacher(self, ref: TeacherRef) -> int:
        """The id of the teacher ``ref`` names. Raises ``BadRequest`` when nobody or
        several teachers answer."""
        if ref.login:
            return self._by_login(ref.login)
        if ref.initials or not ref.first:
            matches = self._by_initials(ref) if ref.initials else self._by_words(ref.last)
        else:
            matches = self._by_words(f"{ref.first} {ref.last}")
        if len(matches) == 1:
            return matches[0].id
        if not matches:
            raise BadRequest(f"teacher {ref.text!r} is not in the directory (no enabled "
                             "teacher of the school has that name)")
        listed = ", ".join(f"{t.login} ({t.display})" for t in matches[:5])
        raise BadRequest(f"teacher {ref.text!r} is ambiguous: {listed}; give them "
                         "names that tell them apart in the directory")

    def _by_login(self, login: str) -> int:
        user = acl.find_user(self.session, login)
        if user is None:
            raise BadRequest(f"unknown teacher {login!r}")
        if user.profile is not acl.Profile.teacher:
            raise BadRequest(f"{login!r} is not a teacher ({user.profile.value})")
        return user.id

    def _by_words(self, text: str) -> list[_Teacher]:
        wanted = sorted(tokens(text))
        if not wanted:
            return []
        exact = [t for t in self.teachers if wanted in (sorted(n) for n in t.names)]
        if exact or len(wanted) > 1:
            return exact
        # One word (HYPERPLANNING's "ESCARE", a UDT cell without a given name): the
        # family name alone.
        return [t for t in self.teachers if any(_contains(n, wanted) >= 0 for n in t.names)]

    def _by_initials(self, ref: TeacherRef) -> list[_Teacher]:
        last = tokens(ref.last)
        initials = tokens(ref.initials)
        found = []
        for teacher in self.teachers:
            for words in teacher.names:
                at = _contains(words, last)
                if at < 0:
                    continue
                rest = list(words[:at] + words[at + len(last):])
                if rest and all(i < len(rest) and rest[i].startswith(letter)
                                for i, letter in enumerate(initials)):
                    found.append(teacher)
                    break
        return found

    def subject(self, course: Course) -> int:
        """The id of the course's subject, created when absent (code at most 32
        characters; a PRONOTE label becomes the code and the name)."""
        code = " ".join(course.subject.split())
        if code in self.subjects:
            sid = self.subjects[code]
            name = course.subject_name[:100]
            if name and self.subject_names.get(sid) != name:
                acl.ensure_subject(self.session, self.school_id, code, name)
                self.subject_names[sid] = name
            return sid
        key = squash(code)
        if key in self.subject_keys:
            return self.subject_keys[key]
        short = code[:SUBJECT_CODE_LENGTH]
        name = (course.subject_name or code)[:100]
        sid = acl.ensure_subject(self.session, self.school_id, short, name)
        self.subjects[short] = sid
        self.subject_names[sid] = name
        self.subject_keys[key] = sid
        self.subject_keys.setdefault(squash(name), sid)
        return sid
