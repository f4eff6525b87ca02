"""Content types of stored files: python-magic sniffing, the extension as tie-breaker.

libmagic recognises formats by their bytes; for generic answers (plain text,
octet-stream, zip containers such as .docx/.odt, bare XML) the extension is
more precise and is used instead.
"""

from __future__ import annotations

import mimetypes

GENERIC = frozenset({
    "application/octet-stream", "text/plain", "application/zip", "application/x-empty",
    "inode/x-empty", "application/xml", "text/xml", "application/CDFV2",
    "application/x-ole-storage", "application/encrypted",
})
DEFAULT = "application/octet-stream"
# Types a browser could run as active content on our origin: always sandboxed.
ACTIVE = frozenset({
    "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
    "text/javascript", "application/javascript", "text/xsl", "application/xslt+xml",
})

_extra = {".md": "text/markdown", ".yml": "application/yaml", ".yaml": "application/yaml",
          ".webp": "image/webp", ".odt": "application/vnd.oasis.opendocument.text"}


def guess_from_name(name: str) -> str | None:
    """The type the extension suggests, or None."""
    lower = name.lower()
    for ext, ctype in _extra.items():
        if lower.endswith(ext):
            return ctype
    return mimetypes.guess_type(lower, strict=False)[0]


def sniff(head: bytes, name: str) -> str:
    """Content type for a file whose first bytes are ``head`` (≤ 2 KiB) and name ``name``."""
    by_name = guess_from_name(name)
    if not head:
        return by_name or DEFAULT
    import magic  # loaded with the first upload: 2 MiB, and 8 MiB of rules then

    try:
        by_bytes = magic.from_buffer(head, mime=True) or DEFAULT
    except magic.MagicException:
        by_bytes = DEFAULT
    if by_bytes in GENERIC and by_name:
        return by_name
    return by_bytes


def is_active(content_type: str) -> bool:
    """True for types a browser may execute (HTML, SVG, XML, scripts)."""
    return content_type.split(";")[0].strip().lower() in ACTIVE
