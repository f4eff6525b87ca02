"""Access decisions: one pure :func:`allowed` and one :func:`require` that raises.

Privileges are RFC 3744 §3 names: ``read``, ``write-content``, ``write-properties``,
``bind`` (create a member in a folder), ``unbind`` (remove a member from its
folder), ``unlock`` (remove a lock another principal holds, §3.5: a lock's holder
needs no privilege to remove their own) and ``write``, the aggregate of
``write-properties``, ``write-content``, ``bind`` and ``unbind`` (§3.2: the right to
change a node, which a LOCK needs). Two privileges of our own extend them, as RFC
3744 §3.12 allows: ``publish`` (change a file's publication state) and ``manage``
(sub-rubrics, services, grants and invitations of a rubric).

Personal spaces (documents, binder): their owner holds every privilege on
everything in them, nobody else holds any.

Rubric spaces: the user's role at a node is the strongest of their rubric-wide role
and the roles granted on the folders along the node's path. :data:`ROLE_PRIVILEGES`
says, for each role, which privileges it gives and on which nodes (:class:`Scope`):
published ones, the user's own ones (they are the author), or any. A node is
reachable only if every folder above it is readable too, so a published file in a
pending folder stays hidden from visitors. ``unbind`` is decided on the member being
removed (its author and state), the folder's ``bind`` on the folder.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from davserver.errors import Forbidden, NotFound

from .models import Profile
from .rubric_models import Role

# Who has a classeur pédagogique (binder): teachers, for their reusable lesson
# material (DESIGN.md vocabulary: "a teacher's reusable lesson material, private to
# the teacher"). Other profiles have no binder space at all.
BINDER_PROFILES = frozenset({Profile.teacher})


def has_binder(profile: Profile) -> bool:
    """Whether a user of ``profile`` has a binder space (see :data:`BINDER_PROFILES`)."""
    return profile in BINDER_PROFILES


# Who reads the school's archive space (the year-end PDFs of the cahier de textes,
# issue 7): the head, who signs the textbooks, and the school's administrators.
# Nobody writes there over WebDAV: only ``davserver archive`` and the head's button do.
ARCHIVE_PROFILES = frozenset({Profile.head, Profile.admin})


def reads_school_archive(profile: Profile) -> bool:
    """Whether a user of ``profile`` reads the school's archive space
    (see :data:`ARCHIVE_PROFILES`)."""
    return profile in ARCHIVE_PROFILES


# Who sees and writes a school's imports folder (``/dav/imports/<UAI>/``, issue 24: "an
# imports folder that only its admins see"): the school's administrators, who hold its
# IT. A file put there changes the school's directory and timetable.
IMPORT_PROFILES = frozenset({Profile.admin})


def manages_imports(profile: Profile) -> bool:
    """Whether a user of ``profile`` in a school sees and writes its imports folder
    and its import page (see :data:`IMPORT_PROFILES`)."""
    return profile in IMPORT_PROFILES


DAV_PRIVILEGES = ("read", "write", "write-content", "write-properties", "bind", "unbind",
                  "unlock")
# RFC 3744 §3.2: DAV:write contains these; it is held where all of them are.
WRITE_PARTS = ("write-properties", "write-content", "bind", "unbind")
PRIVILEGES = frozenset({*DAV_PRIVILEGES, "publish", "manage"})


class Scope(enum.Flag):
    """Which nodes a privilege of a role reaches."""

    PUBLISHED = 1  # nodes in the published state
    OWN = 2  # nodes the user authored, whatever their state
    OTHERS_PENDING = 4  # other people's nodes that wait for publication
    ANY = 7  # every node


_WRITER = {
    "read": Scope.PUBLISHED | Scope.OWN,
    "bind": Scope.ANY,
    "write-content": Scope.OWN,
    "write-properties": Scope.OWN,
    "unbind": Scope.OWN,
}
# Moderators and managers may break anyone's lock in the rubric (issue 18: a
# writer's lock on the rubric's root once blocked its moderator for a week).
_MODERATOR = {name: Scope.ANY for name in (*DAV_PRIVILEGES, "publish") if name != "write"}

#: The role → privilege table (issue 4, "Rights on shared folders"). A writer's
#: additions are pending and a publisher's published at once: that difference is in
#: :func:`publishes_at_once`, not in the privileges.
ROLE_PRIVILEGES: Mapping[Role, Mapping[str, Scope]] = {
    Role.visitor: {"read": Scope.PUBLISHED},
    Role.writer: _WRITER,
    Role.publisher: _WRITER,
    Role.moderator: _MODERATOR,
    Role.manager: {**_MODERATOR, "manage": Scope.ANY},
}


@dataclass(frozen=True)
class SpaceRef:
    """What a decision needs to know of a space: its kind and its owner's user id."""

    kind: str
    owner_id: int | None


@dataclass(frozen=True)
class NodeRef:
    """What a decision needs to know of one file or folder of a space."""

    id: int | None
    author_id: int | None = None
    published: bool = True


@dataclass(frozen=True)
class Standing:
    """What one user holds in one space, read once per request.

    ``role`` is the rubric-wide role (own grants and inherited ones), or None;
    ``folder_roles`` maps folder node ids to the role granted on that folder."""

    user_id: int
    space: SpaceRef
    role: Role | None = None
    folder_roles: Mapping[int, Role] = field(default_factory=dict)

    @property
    def sees_space(self) -> bool:
        """May the user see the space at all (its root, for a rubric)? An archive
        space is seen by whoever holds a role there (the head's visitor role), and so
        is an imports space (its school's administrators)."""
        if self.space.kind in ("archive", "imports"):
            return self.role is not None
        if self.space.kind != "rubric":
            return self.space.owner_id == self.user_id
        return self.role is not None or bool(self.folder_roles)


def strongest(*roles: Role | None) -> Role | None:
    """The strongest of some roles (None when there is none)."""
    found = [r for r in roles if r is not None]
    return max(found, key=lambda r: r.rank) if found else None


def role_at(standing: Standing, chain: Sequence[NodeRef]) -> Role | None:
    """The user's role at the last node of ``chain`` (the nodes from the space root
    down to it): the rubric-wide role and every folder grant along the way."""
    return strongest(standing.role, *(standing.folder_roles.get(n.id) for n in chain
                                      if n.id is not None))


def _reaches(scope: Scope, user_id: int, node: NodeRef) -> bool:
    if scope == Scope.ANY:
        return True
    return bool((scope & Scope.PUBLISHED and node.published)
                or (scope & Scope.OWN and node.author_id == user_id))


def _role_allows(role: Role | None, privilege: str, user_id: int, node: NodeRef) -> bool:
    if role is None:
        return False
    scope = ROLE_PRIVILEGES[role].get(privilege)
    return scope is not None and _reaches(scope, user_id, node)


def allowed(standing: Standing, privilege: str, chain: Sequence[NodeRef] = ()) -> bool:
    """May the user exercise ``privilege`` on the last node of ``chain``? Pure; no I/O.

    ``chain`` runs from the space root down to the node (an empty chain means the
    space root). Raises ``ValueError`` for an unknown privilege name."""
    if privilege not in PRIVILEGES:
        raise ValueError(f"unknown privilege {privilege!r}")
    if privilege == "write":
        return all(allowed(standing, part, chain) for part in WRITE_PARTS)
    if standing.space.kind in ("documents", "binder"):
        return standing.space.owner_id == standing.user_id and privilege != "manage"
    if standing.space.kind == "archive":  # an official record: read-only for all
        return privilege == "read" and standing.sees_space
    if standing.space.kind == "imports":  # the school's administrators: every file
        return standing.sees_space and privilege in DAV_PRIVILEGES
    if standing.space.kind != "rubric" or not standing.sees_space:
        return False
    chain = chain or (NodeRef(None),)
    # The root is reachable by anyone who sees the space (traversal to granted
    # folders); every node below must be readable with the role held there.
    for depth in range(1, len(chain)):
        if not _role_allows(role_at(standing, chain[:depth + 1]), "read",
                            standing.user_id, chain[depth]):
            return False
    if privilege == "read" and len(chain) == 1:
        return True
    return _role_allows(role_at(standing, chain), privilege, standing.user_id, chain[-1])


def privileges(standing: Standing, chain: Sequence[NodeRef] = ()) -> list[str]:
    """Every privilege the user holds on the node, in :data:`DAV_PRIVILEGES` order then
    ``publish`` and ``manage`` (RFC 3744 §5.4 ``current-user-privilege-set``)."""
    return [p for p in (*DAV_PRIVILEGES, "publish", "manage")
            if allowed(standing, p, chain)]


def publishes_at_once(standing: Standing, chain: Sequence[NodeRef] = ()) -> bool:
    """Is what this user adds at this folder published at once? A writer's additions
    wait for a moderator; everyone else's (publisher and up, personal spaces) do not."""
    if standing.space.kind != "rubric":
        return True
    role = role_at(standing, chain or (NodeRef(None),))
    return role is not None and role.rank >= Role.publisher.rank


def require(standing: Standing, privilege: str, chain: Sequence[NodeRef] = ()) -> None:
    """Raise unless allowed. A node the user may not read is ``NotFound`` (404): its
    existence is hidden (STYLE.md habit 12); a readable one is ``Forbidden`` (403)."""
    if allowed(standing, privilege, chain):
        return
    if not allowed(standing, "read", chain):
        raise NotFound("no such resource")
    raise Forbidden(f"{privilege} is not granted here")


class TrashView(enum.Enum):
    """Which items of a space's trash a user sees, restores and purges."""

    NONE = 0  # the trash is not theirs to see
    OWN = 1  # only what they deleted
    ALL = 2  # everything deleted in the space


def trash_view(standing: Standing) -> TrashView:
    """The user's view of a space's trash (issue 8, "Trash (corbeille)": "In a
    rubric, what a member deleted can be restored by a moderator or manager; a
    writer sees only their own deleted items").

    Personal spaces: the owner sees everything. Rubric spaces: a rubric-wide
    moderator or manager sees everything; anyone who may delete something there
    (writer or above, on the rubric or on one of its folders) sees what they
    deleted; a visitor sees nothing. A moderator of one folder only is a writer
    here: the trash of the whole rubric is not theirs."""
    if standing.space.kind in ("documents", "binder"):
        return TrashView.ALL if standing.space.owner_id == standing.user_id else TrashView.NONE
    if standing.space.kind != "rubric":
        return TrashView.NONE
    if standing.role is not None and standing.role.rank >= Role.moderator.rank:
        return TrashView.ALL
    held = strongest(standing.role, *standing.folder_roles.values())
    if held is not None and held.rank >= Role.writer.rank:
        return TrashView.OWN
    return TrashView.NONE


def sees_trashed(standing: Standing, deleted_by: int | None) -> bool:
    """May the user see (and so restore or purge) an item deleted by ``deleted_by``
    from the space of ``standing``? See :func:`trash_view`."""
    view = trash_view(standing)
    return view is TrashView.ALL or (view is TrashView.OWN and deleted_by == standing.user_id)
