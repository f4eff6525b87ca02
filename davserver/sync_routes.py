"""The WebDAV addresses of the Nextcloud and ownCloud apps, on the one ``/dav`` stack.

The sync apps (desktop and mobile, and ``nextcloudcmd``/``owncloudcmd``) find the
user's files at Nextcloud's addresses; each is mapped onto a provider path of the
one DAV provider, so the files, rights, quotas, locks and trash are those of
``/dav/``, with no second tree:

``/remote.php/dav/files/<login>/…``     ``/dav/…`` (the user's drive)
``/remote.php/webdav/…``                ``/dav/…`` (ownCloud's legacy address)
``/remote.php/dav/uploads/<login>/…``   ``/dav/.uploads/…`` (chunked uploads,
                                        :mod:`providers.uploads_dav`)

:func:`route` rewrites the request in place: ``PATH_INFO``; a ``Destination`` (COPY,
MOVE, the final MOVE of a chunked upload) and the resource tags of an ``If`` header
(RFC 4918 §10.4) given in these addresses; and puts in the environ what the layers
below need: the public prefixes for the hrefs of the answers
(:data:`providers.PUBLIC_PATHS_KEY`), the login named in the URL
(:data:`providers.URL_LOGIN_KEY`: it must be the signed-in user's own, else 404,
checked once signed in by :class:`davserver.auth.BasicAuthenticator` and by the
plain GET short way) and the view (:data:`providers.SYNC_VIEW_KEY`: the synced
drive lists ``porte-documents/``, ``rubriques/`` and ``classeur/`` only: the trash
and the school's archives are not for syncing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from providers import PUBLIC_PATHS_KEY, SYNC_VIEW_KEY, UPLOADS, URL_LOGIN_KEY, rewrite_if_tags

PREFIX = "/remote.php/"
FILES = "/remote.php/dav/files/"
UPLOADS_PREFIX = "/remote.php/dav/uploads/"
LEGACY = "/remote.php/webdav"


@dataclass(frozen=True)
class Route:
    """Where a ``/remote.php/`` request goes: ``view`` ("files" or "uploads"), the
    ``login`` its URL names (None: the legacy address, which names none), and the
    ``public`` prefix (decoded) standing for the provider path ``internal``."""

    view: str
    login: str | None
    public: str
    internal: str


class RouteError(ValueError):
    """A ``/remote.php/`` request that goes nowhere: ``status`` and a sentence."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _wsgi_text(value: str) -> str:
    """A WSGI path string (Latin-1 code points of UTF-8 bytes) as text."""
    return value.encode("latin-1").decode("utf-8")


def _route_of(path: str) -> tuple[Route, str] | None:
    """The route of a decoded path and the rest of it (``""`` or ``/…``)."""
    if path == LEGACY or path.startswith(LEGACY + "/"):
        return Route("files", None, LEGACY, ""), path[len(LEGACY):]
    for start, view, internal in ((FILES, "files", ""), (UPLOADS_PREFIX, "uploads",
                                                         "/" + UPLOADS)):
        if path.startswith(start):
            login, _, rest = path[len(start):].partition("/")
            if not login:
                return None
            return Route(view, login, start + login, internal), ("/" + rest if rest else "")
    return None


def route(environ: dict[str, Any]) -> Route:
    """Rewrite a ``/remote.php/`` request onto ``/dav`` (see the module docstring).
    Raises :class:`RouteError` (404) for an address that is none of these, (400) for
    a path that is not UTF-8, (403) for a ``Destination`` in another user's files."""
    raw = environ.get("PATH_INFO", "")
    try:
        path = _wsgi_text(raw)
    except UnicodeError as exc:
        raise RouteError("400 Bad Request", "The path is not valid UTF-8.") from exc
    found = _route_of(path)
    if found is None:
        raise RouteError("404 Not Found", "Nothing is served at this address: the files "
                         "are at /remote.php/dav/files/<your login>/.")
    where, rest = found
    # The rest keeps the WSGI form WsgiDAV expects (raw ends with the encoded ``rest``).
    tail = raw[len(raw) - len(rest.encode("utf-8")):] if rest else ""
    environ["PATH_INFO"] = "/dav" + where.internal + tail
    environ[PUBLIC_PATHS_KEY] = _public_paths(where)
    environ[SYNC_VIEW_KEY] = where.view
    if where.login is not None:
        environ[URL_LOGIN_KEY] = where.login
    if environ.get("HTTP_DESTINATION"):
        environ["HTTP_DESTINATION"] = _localized_destination(environ["HTTP_DESTINATION"],
                                                             where.login)
    if environ.get("HTTP_IF"):
        environ["HTTP_IF"] = rewrite_if_tags(environ["HTTP_IF"],
                                             lambda url: _dav_url(url, where.login))
    return where


def _public_paths(where: Route) -> list[tuple[str, str]]:
    """The (provider prefix, public prefix) pairs of the hrefs: the files view names
    the drive by the URL used; the uploads view its upload folders, and (for the
    MOVE that ends an upload) the drive by Nextcloud's files address."""
    if where.view == "uploads":
        return [(where.internal, where.public), ("", FILES + (where.login or ""))]
    return [("", where.public)]


def _dav_url(url: str, login: str | None) -> str | None:
    """The ``/dav`` path of a URL or absolute path given in one of the sync addresses
    of ``login`` (or the legacy one), else None. What follows the address is kept as
    the client encoded it (an encoded ``/`` stays one, for WsgiDAV to refuse)."""
    raw = urlsplit(url).path
    if raw == LEGACY or raw.startswith(LEGACY + "/"):
        return "/dav" + raw[len(LEGACY):]
    if not raw.startswith(FILES):
        return None
    named, slash, rest = raw[len(FILES):].partition("/")
    if unquote(named) != login:
        return None
    return "/dav" + slash + rest


def _localized_destination(destination: str, login: str | None) -> str:
    """A ``Destination`` (an absolute path once :class:`davserver.forwarded.Origins`
    localized it) in the sync addresses, as the ``/dav`` path WsgiDAV understands.
    Raises :class:`RouteError` (403) for one in another user's files; anything else
    is left for WsgiDAV to judge."""
    if not destination.startswith(PREFIX):
        return destination
    mapped = _dav_url(destination, login)
    if mapped is None:
        raise RouteError("403 Forbidden", "The Destination is not in your own files "
                         f"(/remote.php/dav/files/{login or '<your login>'}/).")
    return mapped
