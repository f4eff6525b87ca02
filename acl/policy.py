"""Access decisions: one pure ``allowed()`` and one ``require()`` that raises.

Privileges are RFC 3744 names (``read``, ``write-content``, ``bind``, ``unbind``,
``write-properties``). Today only personal spaces exist: their owner holds every
privilege and nobody else holds any. Rubric roles arrive with the rubrics issue.
"""

from __future__ import annotations

from dataclasses import dataclass

from davserver.errors import Forbidden, NotFound

PRIVILEGES = frozenset({"read", "write-content", "write-properties", "bind", "unbind"})


@dataclass(frozen=True)
class SpaceRef:
    """What a decision needs to know of a space: its kind and its owner's user id."""

    kind: str
    owner_id: int | None


def allowed(user_id: int, privilege: str, space: SpaceRef) -> bool:
    """May ``user_id`` exercise ``privilege`` in ``space``? Pure; no I/O."""
    if privilege not in PRIVILEGES:
        raise ValueError(f"unknown privilege {privilege!r}")
    if space.kind in ("documents", "binder"):
        return space.owner_id == user_id
    return False


def require(user_id: int, privilege: str, space: SpaceRef) -> None:
    """Raise unless allowed. A space the user may not read is 404, not 403:
    its existence is hidden (STYLE.md habit 12); a readable one is 403."""
    if allowed(user_id, privilege, space):
        return
    if not allowed(user_id, "read", space):
        raise NotFound("no such resource")
    raise Forbidden(f"{privilege} is not granted here")
