"""WsgiDAV providers over one node/blob store (DESIGN.md: ``providers/``)."""

from . import drop_folder, operations, preconditions, trash
from .access import PRINCIPAL_KEY, RequestAccess
from .blobs import BlobInfo, BlobStore, BlobWriter, LocalBlobStore
from .content_types import is_active, sniff
from .dav import ARCHIVES, BINDER, DOCUMENTS, RUBRICS, EntProvider
from .drop_folder import IMPORTS, file_dropped
from .fsck import FsckReport, fsck
from .guards import CLOSE_CONNECTION_KEY, unread_chunked_body
from .holders import BlobHolder, blob_holders, held_among, register_blob_holder
from .lock_rules import EntLockManager
from .locks import SqlLockStorage, lock_broken, relative_path
from .names import (
    CONTROL_CHARACTER,
    MAX_NAME_BYTES,
    href_quote,
    invalid_reason,
    name_key,
    path_key,
    validate_name,
    xml_safe,
)
from .plain_get import PlainGet
from .store import NodeInfo, SpaceInfo, Stamp, Store
from .trash import TrashEntry
from .virtual_dav import VirtualEntry, VirtualTree, register_binder_folder

__all__ = [
    "IMPORTS", "drop_folder", "file_dropped",
    "ARCHIVES", "BINDER", "CLOSE_CONNECTION_KEY", "CONTROL_CHARACTER", "DOCUMENTS",
    "MAX_NAME_BYTES", "PRINCIPAL_KEY", "RUBRICS",
    "BlobHolder", "BlobInfo", "BlobStore", "BlobWriter", "EntLockManager", "EntProvider",
    "FsckReport",
    "LocalBlobStore", "NodeInfo", "PlainGet", "RequestAccess", "SpaceInfo", "SqlLockStorage",
    "Stamp", "Store", "TrashEntry", "VirtualEntry", "VirtualTree", "blob_holders", "fsck",
    "held_among", "href_quote", "invalid_reason", "is_active", "lock_broken", "name_key",
    "operations", "path_key", "preconditions", "register_binder_folder",
    "register_blob_holder", "relative_path", "sniff", "trash", "unread_chunked_body",
    "validate_name", "xml_safe",
]
