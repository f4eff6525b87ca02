"""WsgiDAV providers over one node/blob store (DESIGN.md: ``providers/``)."""

from . import trash
from .access import PRINCIPAL_KEY
from .blobs import BlobInfo, BlobStore, BlobWriter, LocalBlobStore
from .dav import EntProvider
from .fsck import FsckReport, fsck
from .guards import CLOSE_CONNECTION_KEY, unread_chunked_body
from .locks import SqlLockStorage
from .store import NodeInfo, SpaceInfo, Stamp, Store
from .trash import TrashEntry

__all__ = [
    "CLOSE_CONNECTION_KEY", "PRINCIPAL_KEY", "BlobInfo", "BlobStore", "BlobWriter",
    "EntProvider", "FsckReport",
    "LocalBlobStore", "NodeInfo", "SpaceInfo", "SqlLockStorage", "Stamp", "Store",
    "TrashEntry", "fsck",
    "trash", "unread_chunked_body",
]
