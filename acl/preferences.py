"""A user's own settings ("Mon compte", the guide's TP 3) and the school directory
(annuaire) they feed, with its privacy rule.

* :class:`UserPreference` (table ``user_preferences``, one row per user who saved
  anything; no row means the defaults): the portal's "unfold every sub-rubric", the
  cahier de textes defaults (estimated homework minutes, input mode), the redirect
  e-mail address (where the ENT's mail goes instead of the imported address), phone
  numbers and the "liste rouge" box.
  The home page's arrangement (``home_layout``: the blocks in the user's order and those
  they hid, :func:`home_layout_of`, :func:`save_home_layout`, :func:`arranged`).
* :class:`RubricSubscription` (table ``rubric_subscriptions``): a rubric whose new
  contributions the user wants to hear of ("Mes rubriques").
* :func:`directory` searches the people of a school by name, class or subject for
  its staff, and shows each person's numbers only as their choice allows: a person
  on the liste rouge has their numbers seen by the school's administrators alone
  (school practice: "liste rouge" means not in the directory's public part).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, delete, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from davserver.db import Base

from .models import Group, Membership, Profile, Subject, TeacherSubject, User, UserSchool


class InputMode(enum.StrEnum):
    """How the cahier de textes opens a text to write: the formatting editor or plain
    text."""

    rich = "rich"
    plain = "plain"


MAX_EMAIL = 254  # RFC 5321 §4.5.3.1.3, a path's limit
MAX_PHONE = 32
MAX_HOMEWORK_MINUTES = 600
EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
PHONE = re.compile(r"^\+?[0-9 .()-]{6,30}$")

STAFF = frozenset({Profile.teacher, Profile.staff, Profile.head, Profile.admin})
"""Who may open the directory: the school's adults at work (not students, parents or
inspectors). ``base.html``'s footer link repeats this list."""
SEES_PRIVATE = frozenset({Profile.head, Profile.admin})
"""Who sees the numbers of a person on the liste rouge: the school's administrators
(the head and the ENT administrators)."""


class UserPreference(Base):
    """One user's settings; every column has the default a missing row means."""

    __tablename__ = "user_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    unfold_rubrics: Mapped[bool] = mapped_column(Boolean, default=False)
    homework_minutes: Mapped[int | None] = mapped_column(Integer)
    input_mode: Mapped[str] = mapped_column(String(8), default=InputMode.rich.value)
    redirect_email: Mapped[str | None] = mapped_column(String(MAX_EMAIL))
    phone_landline: Mapped[str | None] = mapped_column(String(MAX_PHONE))
    phone_mobile: Mapped[str | None] = mapped_column(String(MAX_PHONE))
    private_numbers: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"order": [block names], "hidden": [block names]}; None: the default page.
    home_layout: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RubricSubscription(Base):
    """``user_id`` wants a notification for each new contribution in ``rubric_id``."""

    __tablename__ = "rubric_subscriptions"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)


@dataclass(frozen=True)
class Preferences:
    """A user's settings as saved, or the defaults."""

    unfold_rubrics: bool = False
    homework_minutes: int | None = None
    input_mode: InputMode = InputMode.rich
    redirect_email: str | None = None
    phone_landline: str | None = None
    phone_mobile: str | None = None
    private_numbers: bool = False


class PreferenceError(ValueError):
    """A setting that cannot be saved; ``field`` names it, the message says why (in
    French: it is shown next to the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def preferences_of(session: Session, user_id: int) -> Preferences:
    """The user's settings (the defaults when they never saved any)."""
    row = session.get(UserPreference, user_id)
    if row is None:
        return Preferences()
    return Preferences(row.unfold_rubrics, row.homework_minutes, InputMode(row.input_mode),
                       row.redirect_email, row.phone_landline, row.phone_mobile,
                       row.private_numbers)


def _email(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_EMAIL or not EMAIL.match(text):
        raise PreferenceError("redirect_email", f"« {text[:60]} » n'est pas une adresse "
                              "électronique valide (exemple : prenom.nom@ac-academie.fr).")
    return text


def _phone(field: str, value: str | None) -> str | None:
    text = " ".join((value or "").split())
    if not text:
        return None
    if len(text) > MAX_PHONE or not PHONE.match(text) or sum(c.isdecimal() for c in text) < 6:
        raise PreferenceError(field, f"« {text[:40]} » n'est pas un numéro de téléphone "
                              "(chiffres, espaces, points, tirets, un + en tête).")
    return text


def save_preferences(session: Session, user_id: int, prefs: Preferences) -> Preferences:
    """Check and store the user's settings (whitespace trimmed, empty → None); returns
    what was stored. Raises :class:`PreferenceError` for an e-mail address or phone
    number that is not one, or minutes outside 1–600; nothing is stored then."""
    minutes = prefs.homework_minutes
    if minutes is not None and not 1 <= minutes <= MAX_HOMEWORK_MINUTES:
        raise PreferenceError("homework_minutes", "La durée estimée du travail est entre 1 "
                              f"et {MAX_HOMEWORK_MINUTES} minutes.")
    clean = Preferences(bool(prefs.unfold_rubrics), minutes, InputMode(prefs.input_mode),
                        _email(prefs.redirect_email),
                        _phone("phone_landline", prefs.phone_landline),
                        _phone("phone_mobile", prefs.phone_mobile), bool(prefs.private_numbers))
    row = session.get(UserPreference, user_id)
    if row is None:
        row = UserPreference(user_id=user_id)
        session.add(row)
    row.unfold_rubrics = clean.unfold_rubrics
    row.homework_minutes = clean.homework_minutes
    row.input_mode = clean.input_mode.value
    row.redirect_email = clean.redirect_email
    row.phone_landline = clean.phone_landline
    row.phone_mobile = clean.phone_mobile
    row.private_numbers = clean.private_numbers
    session.flush()
    return clean


MAX_BLOCK_NAME = 40


@dataclass(frozen=True)
class HomeLayout:
    """How a user arranged their home page: ``order``, the block names in the order
    they chose (blocks not named keep their default place), and ``hidden``, the names
    of the blocks they hid. Both empty: the default page."""

    order: tuple[str, ...] = ()
    hidden: frozenset[str] = field(default_factory=frozenset)


def home_layout_of(session: Session, user_id: int) -> HomeLayout:
    """The user's home page arrangement as stored (the default when none). Stored data
    of another shape (hand-edited, an older version) reads as the default, never as an
    error: names are checked against the blocks when shown (:func:`arranged`)."""
    row = session.get(UserPreference, user_id)
    stored = row.home_layout if row is not None else None
    if not isinstance(stored, dict):
        return HomeLayout()
    order, hidden = stored.get("order"), stored.get("hidden")
    return HomeLayout(
        tuple(n for n in order if isinstance(n, str)) if isinstance(order, list) else (),
        frozenset(n for n in hidden if isinstance(n, str)) if isinstance(hidden, list)
        else frozenset())


def save_home_layout(session: Session, user_id: int, order: Sequence[str],
                     hidden: Collection[str], known: Collection[str]) -> HomeLayout:
    """Store the user's arrangement: ``order`` (block names, each once) and ``hidden``
    (a subset of the known names). Raises :class:`PreferenceError` (field
    ``home_layout``) for a name not in ``known`` or named twice in ``order``; nothing
    is stored then. Returns what was stored."""
    for name in (*order, *hidden):
        if name not in known:
            raise PreferenceError("home_layout", f"« {name[:MAX_BLOCK_NAME]} » n'est pas un "
                                  "bloc de la page d'accueil.")
    if len(set(order)) != len(order):
        raise PreferenceError("home_layout", "Un bloc est nommé deux fois dans l'ordre "
                              "de la page d'accueil.")
    layout = HomeLayout(tuple(order), frozenset(hidden))
    row = session.get(UserPreference, user_id)
    if row is None:
        row = UserPreference(user_id=user_id, unfold_rubrics=False,
                             input_mode=InputMode.rich.value, private_numbers=False)
        session.add(row)
    row.home_layout = {"order": list(layout.order), "hidden": sorted(layout.hidden)}
    session.flush()
    return layout


def arranged(layout: HomeLayout, defaults: Sequence[str]) -> list[tuple[str, bool]]:
    """The blocks ``defaults`` (names in their default order: those the user may have)
    in the user's order, each with whether it is hidden. A stored name that is not in
    ``defaults`` (a block since removed, or one of another profile) is ignored; a block
    the stored order does not name (new since the user arranged their page) comes at
    its default place: right after the block that precedes it by default."""
    wanted = set(defaults)
    out = [n for n in dict.fromkeys(layout.order) if n in wanted]
    placed = set(out)
    for index, name in enumerate(defaults):
        if name in placed:
            continue
        before = next((d for d in reversed(defaults[:index]) if d in placed), None)
        out.insert(out.index(before) + 1 if before is not None else 0, name)
        placed.add(name)
    return [(n, n in layout.hidden) for n in out]


def redirect_emails(session: Session, user_ids: set[int]) -> dict[int, str]:
    """The redirect addresses the users set, by user id (one query)."""
    if not user_ids:
        return {}
    rows = session.execute(select(UserPreference.user_id, UserPreference.redirect_email)
                           .where(UserPreference.user_id.in_(user_ids),
                                  UserPreference.redirect_email.is_not(None)))
    return {uid: email for uid, email in rows if email}


def subscriptions_of(session: Session, user_id: int) -> set[int]:
    """The ids of the rubrics whose new contributions the user wants to hear of."""
    return set(session.scalars(select(RubricSubscription.rubric_id)
                               .where(RubricSubscription.user_id == user_id)))


def set_subscriptions(session: Session, user_id: int, rubric_ids: set[int],
                      offered: set[int]) -> None:
    """Make the user's subscriptions among ``offered`` (the rubrics the page listed,
    those they may see) exactly ``rubric_ids``; others are left alone. Raises
    ``ValueError`` for an id that was not offered."""
    if not rubric_ids <= offered:
        raise ValueError("a rubric the user may not see")
    now = subscriptions_of(session, user_id) & offered
    if now - rubric_ids:
        session.execute(delete(RubricSubscription).where(
            RubricSubscription.user_id == user_id,
            RubricSubscription.rubric_id.in_(now - rubric_ids)))
    session.add_all(RubricSubscription(user_id=user_id, rubric_id=r)
                    for r in rubric_ids - now)
    session.flush()


def subscribers(session: Session, rubric_id: int) -> set[int]:
    """Who wants to hear of new contributions in the rubric."""
    return set(session.scalars(select(RubricSubscription.user_id)
                               .where(RubricSubscription.rubric_id == rubric_id)))


@dataclass(frozen=True)
class DirectoryEntry:
    """One person as the directory shows them to one viewer. ``phones`` is empty when
    they have none or the viewer may not see them (``hidden``: numbers withheld by the
    liste rouge)."""

    user_id: int
    name: str
    profile: Profile
    email: str | None
    classes: tuple[str, ...]
    subjects: tuple[str, ...]
    phones: tuple[str, ...]
    hidden: bool


def may_use_directory(profile: Profile) -> bool:
    """Staff only: students and parents do not get the school's directory."""
    return profile in STAFF


MAX_RESULTS = 200


def directory(session: Session, school_id: int, viewer: Profile, query: str = "") -> \
        list[DirectoryEntry]:
    """The school's active people whose name, class or subject (code or name) contains
    ``query`` (case-insensitive; empty: everyone), students and parents left out, by
    name, at most :data:`MAX_RESULTS`. A person's numbers show unless they ticked
    the liste rouge and ``viewer`` is not an administrator (:data:`SEES_PRIVATE`);
    the e-mail shown is their redirect address, else the imported one. Raises
    ``PermissionError`` for a viewer who is not staff."""
    if not may_use_directory(viewer):
        raise PermissionError("the directory is for the school's staff")
    shown = [p for p in Profile if p not in (Profile.student, Profile.parent)]
    people = select(User).join(UserSchool, UserSchool.user_id == User.id).where(
        UserSchool.school_id == school_id, UserSchool.left_at.is_(None),
        User.disabled.is_(False), UserSchool.profile.in_(shown))
    text = " ".join(query.split())
    if text:
        like = f"%{text.lower()}%"
        in_class = select(Membership.user_id).join(Group, Group.id == Membership.group_id) \
            .where(Group.school_id == school_id, Group.name.ilike(like))
        teaches = select(TeacherSubject.user_id).join(
            Subject, Subject.id == TeacherSubject.subject_id).where(
            Subject.school_id == school_id,
            or_(Subject.code.ilike(like), Subject.name.ilike(like)))
        people = people.where(or_(User.display_name.ilike(like), User.login.ilike(like),
                                  User.id.in_(in_class), User.id.in_(teaches)))
    users = list(session.scalars(people.order_by(User.last_name, User.display_name)
                                 .limit(MAX_RESULTS)))
    ids = {u.id for u in users}
    classes: dict[int, list[str]] = {}
    for uid, name in session.execute(
            select(Membership.user_id, Group.name).join(Group, Group.id == Membership.group_id)
            .where(Group.school_id == school_id, Membership.user_id.in_(ids))
            .order_by(Group.name)):
        classes.setdefault(uid, []).append(name)
    subjects: dict[int, list[str]] = {}
    for uid, name in session.execute(
            select(TeacherSubject.user_id, Subject.name)
            .join(Subject, Subject.id == TeacherSubject.subject_id)
            .where(Subject.school_id == school_id, TeacherSubject.user_id.in_(ids))
            .order_by(Subject.name)):
        subjects.setdefault(uid, []).append(name)
    prefs = {p.user_id: p for p in session.scalars(
        select(UserPreference).where(UserPreference.user_id.in_(ids)))}
    found = []
    for user in users:
        pref = prefs.get(user.id)
        numbers = tuple(n for n in (pref.phone_landline, pref.phone_mobile) if n) \
            if pref else ()
        hidden = bool(numbers) and pref is not None and pref.private_numbers \
            and viewer not in SEES_PRIVATE
        found.append(DirectoryEntry(
            user.id, user.display_name or user.login, user.profile,
            (pref.redirect_email if pref and pref.redirect_email else user.email) or None,
            tuple(classes.get(user.id, ())), tuple(subjects.get(user.id, ())),
            () if hidden else numbers, hidden))
    return found
