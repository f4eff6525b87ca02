"""What a people synchronisation gives back (:mod:`acl.people_sync`): the accounts it
made with their initial passwords, what happened to each record, and the teaching
services it hands to whoever stores them (the textbook, in ``web``, registers itself:
``acl`` may not import it)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from .models import Profile

#: Initial passwords avoid look-alike characters (0/O, 1/l/I): people type them
#: from a printed sheet.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 12


def new_password() -> str:
    """A random initial password of :data:`PASSWORD_LENGTH` characters (~69 bits)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


@dataclass(frozen=True)
class NewAccount:
    """A user the import created, with the initial password to hand out."""

    login: str
    password: str
    display_name: str
    classes: tuple[str, ...]
    profile: Profile = Profile.student


@dataclass(frozen=True)
class Outcome:
    """What happened to one record's person: ``created``, ``updated`` or
    ``unchanged``; ``moved`` for a student whose class changed."""

    key: str
    login: str
    profile: Profile
    state: str
    moved: bool = False


@dataclass
class ServiceOrder:
    """A teaching service to store: ids, resolved from a :class:`ServiceSpec`."""

    group_id: int
    subject_id: int
    teacher_ids: tuple[int, ...]


ServiceSink = Callable[[Session, int, list[ServiceOrder]], dict[str, int]]
"""Stores teaching services (the textbook's, in ``web``: ``acl`` cannot import it)
and returns counts (``created``, ``teachers_added``...). Registered with
:func:`register_service_sink`."""

service_sinks: list[ServiceSink] = []


def register_service_sink(sink: ServiceSink) -> None:
    """Let ``sink`` store the teaching services imports read (``web.textbook`` does
    when it is imported); the last registered wins."""
    service_sinks.append(sink)


@dataclass
class SyncResult:
    """What :meth:`Synchronisation.apply` did."""

    outcomes: list[Outcome] = field(default_factory=list)
    left: list[tuple[str, Profile, bool]] = field(default_factory=list)
    """(login, profile in the school, disabled) of each person who left the school."""
    accounts: list[NewAccount] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    services: dict[str, int] = field(default_factory=dict)
