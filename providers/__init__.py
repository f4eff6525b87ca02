"""WsgiDAV providers over one node/blob store (DESIGN.md: ``providers/``)."""

from . import drop_folder, operations, preconditions, trash, uploads, versions
from .access import PRINCIPAL_KEY, URL_LOGIN_KEY, RequestAccess, owns_url
from .blobs import BlobInfo, BlobStore, BlobStoreUnavailable, BlobWriter, LocalBlobStore
from .content_types import bare_type, is_active, sniff
from .contributions import Contribution, contribution_published, latest_contributions
from .dav import (
    ARCHIVES,
    BINDER,
    DOCUMENTS,
    RUBRICS,
    SYNC_VIEW_KEY,
    EntProvider,
    rewrite_if_tags,
)
from .drop_folder import IMPORTS, file_dropped
from .folder_etags import composite as composite_etag
from .fsck import FsckReport, fsck
from .guards import CLOSE_CONNECTION_KEY, unread_chunked_body
from .handoff import Handoff
from .holders import BlobHolder, blob_holders, held_among, register_blob_holder
from .hrefs import PUBLIC_PATHS_KEY
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
from .oc_props import INSTANCE_ID
from .plain_get import PlainGet
from .recent import RecentFile, recent_files, rubric_files
from .store import NodeInfo, SpaceInfo, Stamp, Store
from .trash import TrashEntry
from .uploads_dav import UPLOADS
from .virtual_dav import VirtualEntry, VirtualTree, register_binder_folder

__all__ = [
    "bare_type",
    "IMPORTS", "drop_folder", "file_dropped", "contribution_published", "Contribution",
    "latest_contributions", "RecentFile", "recent_files", "rubric_files",
    "ARCHIVES", "BINDER", "CLOSE_CONNECTION_KEY", "CONTROL_CHARACTER", "DOCUMENTS",
    "INSTANCE_ID", "MAX_NAME_BYTES", "PRINCIPAL_KEY", "PUBLIC_PATHS_KEY", "RUBRICS",
    "SYNC_VIEW_KEY", "UPLOADS", "URL_LOGIN_KEY",
    "BlobHolder", "BlobInfo", "BlobStore", "BlobStoreUnavailable", "BlobWriter",
    "EntLockManager", "EntProvider",
    "FsckReport", "Handoff",
    "LocalBlobStore", "NodeInfo", "PlainGet", "RequestAccess", "SpaceInfo", "SqlLockStorage",
    "Stamp", "Store", "TrashEntry", "VirtualEntry", "VirtualTree", "blob_holders",
    "composite_etag", "fsck",
    "held_among", "href_quote", "invalid_reason", "is_active", "lock_broken", "name_key",
    "operations", "owns_url", "path_key", "preconditions", "register_binder_folder",
    "register_blob_holder", "relative_path", "rewrite_if_tags", "sniff", "trash",
    "unread_chunked_body", "uploads", "validate_name", "versions", "xml_safe",
]
