"""The one place where domain errors become WebDAV errors (STYLE.md habit 7)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from wsgidav.dav_error import DAVError

from davserver.errors import DomainError


def to_dav_error(exc: DomainError) -> DAVError:
    """``DomainError`` → ``DAVError`` with the same status, message and precondition."""
    return DAVError(exc.status, context_info=exc.message, err_condition=exc.condition)


@contextmanager
def dav_errors() -> Iterator[None]:
    """Re-raise any :class:`DomainError` raised inside as its ``DAVError``."""
    try:
        yield
    except DomainError as exc:
        raise to_dav_error(exc) from exc
