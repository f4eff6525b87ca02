"""Names and paths inside a space: validation and Unicode normalisation.

Rules follow what Windows, macOS and Linux clients create: any Unicode except
``/`` and NUL, at most 255 bytes of UTF-8 per segment (the common filesystem
limit), stored in NFC so that a name sent in NFD (macOS) finds the same file.
"""

from __future__ import annotations

import unicodedata

from davserver.errors import BadRequest

MAX_NAME_BYTES = 255


def normalize_name(name: str) -> str:
    """Return ``name`` in NFC."""
    return unicodedata.normalize("NFC", name)


def validate_name(name: str) -> str:
    """Return the NFC form of a new member's name.

    Raises ``BadRequest`` (400) for an empty name, ``.``/``..``, a ``/`` or NUL
    inside it, or more than 255 bytes of UTF-8.
    """
    name = normalize_name(name)
    if name in ("", ".", ".."):
        raise BadRequest(f"invalid name {name!r}")
    if "/" in name or "\x00" in name:
        raise BadRequest("a name cannot contain '/' or NUL")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise BadRequest(f"name longer than {MAX_NAME_BYTES} bytes of UTF-8")
    return name


def split_path(path: str) -> list[str]:
    """Split a space-relative path (``/a/b/``) into NFC segments (``["a", "b"]``)."""
    return [normalize_name(s) for s in path.split("/") if s]


def join_path(segments: list[str]) -> str:
    """Inverse of :func:`split_path`: ``[]`` → ``""`` (the space root), else ``/a/b``."""
    return "".join("/" + s for s in segments)


def parent_of(path: str) -> tuple[str, str]:
    """``/a/b`` → (``/a``, ``b``); ``/a`` → (``""``, ``a``)."""
    head, _, name = path.rpartition("/")
    return head, name
