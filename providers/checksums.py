"""``OC-Checksum``: the sync apps' checksum of what they upload (ownCloud's header,
which Nextcloud's clients send too when the server announces checksums).

The value is ``TYPE:hex`` (``SHA1:…``, ``MD5:…``, ``ADLER32:…``, ``SHA256:…``), one or
several separated by spaces. Every blob is hashed SHA-1 and MD5 on its way in
(:mod:`providers.blobs`), so those two are checked: a body that arrived damaged is
refused with 400 before it replaces anything (as ownCloud's server does; the client
sends it again), never stored under a checksum it does not match. Other types are
not computed and pass unchecked. The same values are the files' ``oc:checksums``.
"""

from __future__ import annotations

from davserver.errors import BadRequest

from .blobs import BlobInfo


def parse(header: str) -> dict[str, str]:
    """``{TYPE: hex}`` of an ``OC-Checksum`` value (types upper-cased, digests
    lower-cased); members without a ``:`` are ignored."""
    found: dict[str, str] = {}
    for member in header.split():
        kind, sep, digest = member.partition(":")
        if sep and kind and digest:
            found[kind.upper()] = digest.strip().lower()
    return found


def verify(header: str | None, blob: BlobInfo) -> None:
    """Check the blob against the client's ``OC-Checksum`` (None: nothing to check).
    Raises ``BadRequest`` naming the checksum that differs."""
    if not header:
        return
    computed = {"SHA1": blob.sha1, "MD5": blob.md5}
    for kind, digest in parse(header).items():
        if kind in computed and computed[kind] != digest:
            raise BadRequest(f"The content received does not match its OC-Checksum "
                             f"({kind}:{digest}; received {kind}:{computed[kind]}): "
                             "it was damaged on the way, send it again.")


def header_value(sha1: str | None, md5: str | None) -> str:
    """The ``OC-Checksum`` value of a stored file (``SHA1:… MD5:…``)."""
    return f"SHA1:{sha1} MD5:{md5}"
