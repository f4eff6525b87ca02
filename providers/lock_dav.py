"""What the provider adds to WsgiDAV's LOCK and UNLOCK (issues 17 and 18).

* LOCK: the empty file a LOCK created on an unmapped URL is removed when no lock was
  granted (a conflict, the holder's limit): WsgiDAV creates it before it checks.
* UNLOCK with a token another principal holds *breaks* that lock when the user holds
  RFC 3744 ``DAV:unlock`` on the locked resource (§3.5: the space's owner, a
  rubric's moderators and managers; see ``acl``), instead of WsgiDAV's 403 "token
  was created by another user"; the holder is told (``providers.locks.lock_broken``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wsgidav import util
from wsgidav.dav_error import HTTP_FORBIDDEN, HTTP_NO_CONTENT, DAVError

from .access import RequestAccess
from .resources import SpaceResourceMixin, forget_resolved

if TYPE_CHECKING:
    from .dav import EntProvider


def handle_lock(provider: EntProvider, environ: dict[str, Any], start_response: Any,
                default_handler: Any) -> Any:
    """WsgiDAV's LOCK, then the removal of a file it created for a lock it refused."""
    try:
        return default_handler(environ, start_response)
    finally:
        provider.locks.discard_created()


def handle_unlock(provider: EntProvider, environ: dict[str, Any], start_response: Any,
                  default_handler: Any) -> Any:
    """UNLOCK: the holder's own token goes to WsgiDAV; someone else's is a break,
    allowed with ``unlock`` on the locked resource (else 403 saying whose lock it is
    and who may remove it). Anything WsgiDAV refuses anyway (no such resource, a
    token that does not cover it, a body) is left to it."""
    user = environ["wsgidav.user_name"]
    token = (environ.get("HTTP_LOCK_TOKEN") or "").strip().strip("<>")
    lock = provider.locks.get(token) if token else None
    if lock is None or lock["principal"] == user or util.get_content_length(environ):
        return default_handler(environ, start_response)
    res = provider.get_resource_inst(environ["PATH_INFO"], environ)
    if res is None or not provider.lock_manager.is_url_locked_by_token(res.get_ref_url(),
                                                                       token):
        return default_handler(environ, start_response)
    locked = provider.get_resource_inst(provider.ref_url_to_path(lock["root"]), environ)
    if not (isinstance(locked, SpaceResourceMixin) and locked.holds("unlock")):
        raise DAVError(HTTP_FORBIDDEN, f"This lock is held by {lock['principal']}: only "
                       "they, the space's owner or the rubric's moderators and managers "
                       "may remove it.")
    access = RequestAccess.of(provider.store, environ)
    provider.locks.break_lock(token, broken_by=access.principal.id if access else None)
    forget_resolved(environ)
    return util.send_status_response(environ, start_response, HTTP_NO_CONTENT)
