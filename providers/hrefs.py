"""The URL a client used, in the hrefs of the answers (RFC 4918 §8.3).

The same provider serves ``/dav/`` and the addresses the Nextcloud and ownCloud apps
use (``/remote.php/dav/files/<login>/``, ``/remote.php/webdav/``,
``/remote.php/dav/uploads/<login>/``: ``davserver.sync_routes`` maps them onto provider
paths). A client compares the hrefs of a listing with the URL it asked for, so each
answer must speak the request's own URL space: the dispatcher puts the mapping in
the environ (:data:`PUBLIC_PATHS_KEY`: ``(provider path prefix, public prefix)``
pairs, longest provider prefix first) and every href is made by :func:`href`
(WsgiDAV's ``get_href`` is routed here by :mod:`.compat`, the streamed PROPFIND calls
it directly). Without the key, hrefs are the share's (``/dav`` + provider path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .names import href_quote

PUBLIC_PATHS_KEY = "davserver.public_paths"


def public_path(environ: Mapping[str, Any], share_path: str, path: str) -> str:
    """The decoded URL path of provider path ``path`` (``/`` or ``/a/b``) in this
    request's URL space."""
    for internal, public in environ.get(PUBLIC_PATHS_KEY, ()):
        if not internal or path == internal or path.startswith(internal + "/"):
            return public + path[len(internal):]
    return share_path + path


def href(environ: Mapping[str, Any], share_path: str, path: str) -> str:
    """:func:`public_path`, percent-encoded (:func:`providers.names.href_quote`)."""
    return href_quote(public_path(environ, share_path, path))


def resource_href(resource: Any) -> str:
    """``get_href`` of any WsgiDAV resource of ours (see the module docstring)."""
    provider = resource.provider
    return href(resource.environ, provider.mount_path + provider.share_path,
                resource.get_preferred_path())
