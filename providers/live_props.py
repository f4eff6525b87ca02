"""Live properties every resource of ``/dav/`` shares: the RFC 4331 quota
properties of collections, RFC 3744 ``current-user-privilege-set``, and which
property names a resource lists for allprop and propname (RFC 4918 §9.1).

Every collection reports ``quota-used-bytes`` and ``quota-available-bytes`` (issue
17: ``df`` on a davfs2 mount and ``gio info -f`` read them at the mount's root): a
space's folders and its trash report that space's figures, the binder's virtual
folders the binder's, and the collections that only list spaces (``/dav/``,
``/dav/rubriques/``, ``/dav/corbeille/``) the user's porte-documents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lxml import etree

import acl
import quotas

from .store import SpaceInfo

if TYPE_CHECKING:
    from .dav import EntProvider

QUOTA_PROPS = ("{DAV:}quota-used-bytes", "{DAV:}quota-available-bytes")
PRIVILEGE_SET = "{DAV:}current-user-privilege-set"
# Our own namespace: publication state, author, trash properties, privileges.
ENT_NS = "urn:ent-davserver:ns"
_USAGE_KEY = "davserver.usage"


def privilege_set(names: list[str]) -> Any:
    """RFC 3744 §5.4 ``current-user-privilege-set``; ``publish`` and ``manage`` are ours
    (RFC 3744 §3.12 lets a server add privileges in its own namespace)."""
    root = etree.Element(PRIVILEGE_SET)
    for name in names:
        ns = "DAV:" if name in acl.DAV_PRIVILEGES else ENT_NS
        etree.SubElement(etree.SubElement(root, "{DAV:}privilege"), f"{{{ns}}}{name}")
    return root


def listed_names(names: list[str], *, is_allprop: bool, extra: list[str]) -> list[str]:
    """The property names a resource lists: for allprop (RFC 4918 §9.1) the dead
    properties and RFC 4918's live ones, so not the RFC 4331 quota properties that
    WsgiDAV adds; for propname every property it has, ``extra`` live ones included
    (privileges, checksums: what ``get_property_value`` serves beyond WsgiDAV's)."""
    if is_allprop:
        return [n for n in names if n not in QUOTA_PROPS]
    return list(dict.fromkeys([*names, *extra]))


def space_usage(provider: EntProvider, environ: dict[str, Any],
                space: SpaceInfo) -> quotas.Usage | None:
    """A space's quota figures, read once per request."""
    cache = environ.setdefault(_USAGE_KEY, {})
    if space.id not in cache:
        cache[space.id] = provider.store.usage(space.id)
    return cache[space.id]  # type: ignore[no-any-return]


class QuotaReport:
    """RFC 4331 ``quota-used-bytes`` and ``quota-available-bytes`` of a collection:
    the figures of :meth:`quota_space` (see the module docstring). Unknown figures
    report nothing free (fail closed). Put it before ``DAVCollection`` in the bases,
    whose getters answer None."""

    provider: EntProvider
    environ: dict[str, Any]

    def quota_space(self) -> SpaceInfo:
        """The space whose figures this collection reports (default: the user's
        porte-documents)."""
        return self.provider.access(self.environ).personal_space("documents")

    def get_used_bytes(self) -> int:
        figures = space_usage(self.provider, self.environ, self.quota_space())
        return figures.used if figures else 0

    def get_available_bytes(self) -> int:
        figures = space_usage(self.provider, self.environ, self.quota_space())
        return figures.available if figures else 0
