"""Domain errors that carry their HTTP status (STYLE.md habit 6).

Packages raise these; the DAV layer translates them to ``DAVError`` in one place
(``providers.errors.to_dav_error``) and the web layer to HTTP responses.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: ``status`` is the HTTP status, ``condition`` an optional
    RFC 4918 precondition element in Clark notation (e.g. ``{DAV:}quota-not-exceeded``).
    ``expected`` errors are logged at debug level, not as incidents (habit 8)."""

    status = 500
    condition: str | None = None
    expected = True

    def __init__(self, message: str, *, condition: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if condition is not None:
            self.condition = condition


class BadRequest(DomainError):
    status = 400


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class MethodNotAllowed(DomainError):
    status = 405


class Conflict(DomainError):
    status = 409


class PreconditionFailed(DomainError):
    status = 412


class Locked(DomainError):
    status = 423


class InsufficientStorage(DomainError):
    """RFC 4918 §11.5; RFC 4331 §6 precondition ``quota-not-exceeded``."""

    status = 507
    condition = "{DAV:}quota-not-exceeded"


class ServiceUnavailable(DomainError):
    """A shared service (the database, the blob store) does not answer: RFC 9110
    §15.6.4, with ``Retry-After`` (``retry_after`` seconds). Nothing was committed;
    the client may send the request again. :mod:`davserver.outage` recognises these
    and the database's connection errors, and answers them."""

    status = 503
    retry_after = 5


class TooManyRequests(DomainError):
    """RFC 6585 §4: the client must wait ``retry_after`` seconds (sent as
    ``Retry-After``) before trying again; the sign-in throttle's answer."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
