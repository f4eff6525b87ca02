"""The properties the Nextcloud and ownCloud apps ask of every file and folder.

Their sync engines list a folder with PROPFIND Depth 1 asking, beside the DAV
properties, for these (``http://owncloud.org/ns`` is ``oc:``,
``http://nextcloud.org/ns`` is ``nc:``), as Nextcloud's server answers them
(``apps/dav/lib/Connector/Sabre/FilesPlugin.php``):

* ``oc:fileid``: the node id, stable across renames, moves and a trip through the
  trash: the clients recognise a moved file by it and never download it again;
  ``oc:id``: the same, padded to 8 digits, followed by the instance id
  (:data:`INSTANCE_ID`);
* ``oc:permissions``: what the user may do there (:func:`permissions`), in the
  letters the clients read (``src/common/remotepermissions.cpp`` of
  nextcloud/desktop): ``W`` write a file, ``D`` delete, ``N`` rename, ``V`` move,
  ``C`` and ``K`` create files and folders inside a folder; ``G`` (readable) keeps
  the string non-empty. No ``R``, ``S`` or ``M``: there is no sharing API;
* ``oc:size``: a file's size, a folder's total below it (bytes);
* ``oc:checksums`` (:mod:`.propfind`, :mod:`.resources`), ``nc:has-preview``
  (``false``: no previews), ``oc:downloadURL`` and ``oc:dDC`` (empty: downloads come
  from here), ``oc:share-types`` (empty), ``oc:data-fingerprint`` (empty: no backup
  was restored).

Every one of them is answered 200 wherever a client may ask it: the clients' listing
parser (``LsColXMLParser``) does not clear what a ``404`` propstat named before the
next response, so a property missing on one member shows up, empty, on the next.
Values are computed from what the listing already has (the node, its chain, the
user's standing); a folder's size needs one aggregate query per listing
(:meth:`providers.store.Store.subtree_sizes`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from xml.sax.saxutils import escape

import acl
from acl import NodeRef, Standing

OC_NS = "http://owncloud.org/ns"
NC_NS = "http://nextcloud.org/ns"
INSTANCE_ID = "ocentdav"
"""Follows the padded node id in ``oc:id`` (Nextcloud's ``instanceid``): one value for
the whole deployment, since node ids are unique in its one database."""

FILEID = f"{{{OC_NS}}}fileid"
ID = f"{{{OC_NS}}}id"
PERMISSIONS = f"{{{OC_NS}}}permissions"
SIZE = f"{{{OC_NS}}}size"
HAS_PREVIEW = f"{{{NC_NS}}}has-preview"
DOWNLOAD_URL = f"{{{OC_NS}}}downloadURL"
DDC = f"{{{OC_NS}}}dDC"
SHARE_TYPES = f"{{{OC_NS}}}share-types"
DATA_FINGERPRINT = f"{{{OC_NS}}}data-fingerprint"
# The properties answered here (oc:checksums is the resources' own).
NAMES = frozenset({FILEID, ID, PERMISSIONS, SIZE, HAS_PREVIEW, DOWNLOAD_URL, DDC,
                   SHARE_TYPES, DATA_FINGERPRINT})
EMPTY = frozenset({DOWNLOAD_URL, DDC, SHARE_TYPES, DATA_FINGERPRINT})
LISTING_MTIME = 1577836800.0
"""2020-01-01T00:00:00Z: the modification time of folders that only list others (the
drive's root, ``rubriques/``, the binder's read-only folders) and have none of their
own: the sync apps refuse to sync a folder dated 0 ("invalid modification time")."""
READ_ONLY = "G"
"""The permissions of what the user may only read (Nextcloud's ``G``, readable)."""


def oc_id(node_id: int) -> str:
    """``oc:id`` (and the ``OC-FileId`` header) of node ``node_id``."""
    return f"{node_id:08d}{INSTANCE_ID}"


def permissions(standing: Standing, chain: Sequence[NodeRef], *, is_collection: bool,
                is_space_root: bool = False) -> str:
    """``oc:permissions`` of the last node of ``chain`` for the user of ``standing``:
    ``W`` write-content (files); ``C`` ``K`` bind (folders); ``D`` and ``V`` unbind;
    ``N`` unbind and bind on its folder (a rename is a remove and an add there). A
    space root cannot be deleted, renamed or moved. Pure; no I/O."""
    letters = [READ_ONLY]
    if not is_space_root and acl.allowed(standing, "unbind", chain):
        letters.append("D")
        if acl.allowed(standing, "bind", chain[:-1]):
            letters.append("N")
        letters.append("V")
    if is_collection:
        if acl.allowed(standing, "bind", chain):
            letters.append("CK")
    elif acl.allowed(standing, "write-content", chain):
        letters.append("W")
    return "".join(letters)


def element(name: str, value: str | None) -> str:
    """``<local xmlns="ns">value</local>`` (an empty element for None or "")."""
    namespace, local = name[1:].split("}", 1)
    xmlns = escape(namespace, {'"': "&quot;"})
    if not value:
        return f'<{local} xmlns="{xmlns}"/>'
    return f'<{local} xmlns="{xmlns}">{escape(value)}</{local}>'


def text_value(name: str, *, node_id: int | None, size: int | None, perms: str) -> str | None:
    """The text of property ``name`` (one of :data:`NAMES`), or None when the resource
    has none (a folder made of others has no node id)."""
    if name == FILEID:
        return None if node_id is None else str(node_id)
    if name == ID:
        return None if node_id is None else oc_id(node_id)
    if name == PERMISSIONS:
        return perms
    if name == SIZE:
        return str(size or 0)
    if name == HAS_PREVIEW:
        return "false"
    return ""  # EMPTY


def virtual_value(name: str, path: str, *, size: int = 0) -> str | None:
    """The text of property ``name`` for a read-only resource without a node (the
    drive's root, ``rubriques/``, the binder's ``Remises``) at provider path
    ``path``: read-only, an ``oc:id`` derived from the path (``v`` and 12 hex
    digits: never a node's), no ``oc:fileid``."""
    if name == ID:
        digest = hashlib.sha1(path.rstrip("/").encode("utf-8")).hexdigest()[:12]
        return f"v{digest}{INSTANCE_ID}"
    return text_value(name, node_id=None, size=size, perms=READ_ONLY)
