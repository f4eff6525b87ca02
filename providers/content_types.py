"""Content types of stored files: python-magic sniffing, the extension as tie-breaker.

libmagic recognises formats by their bytes; for generic answers (plain text,
octet-stream, zip containers such as .docx/.odt, bare XML) the extension is
more precise and is used instead.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from sqlalchemy import ColumnElement, func

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

# What :func:`bare_type` drops wherever it stands: a stored type may come from a
# client's Content-Type with its optional whitespace (RFC 9110 §5.6.3: SP and HTAB)
# or typed by hand; CR and LF too, never meaningful in a type.
TYPE_BLANKS = (" ", "\t", "\r", "\n")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def bare_type(content_type: str | None) -> str:
    """A stored content type as compared with a list of types: without its
    :data:`TYPE_BLANKS` (anywhere), its parameters (``; charset=…``) and the case of
    its ASCII letters (``Image/PNG ;\tx=1`` is ``image/png``). The same rule as
    :func:`bare_type_sql`, so that a count in SQL and a filter in Python agree."""
    value = content_type or ""
    for blank in TYPE_BLANKS:
        value = value.replace(blank, "")
    return value.split(";")[0].translate(_ASCII_LOWER)


def bare_type_sql(column: ColumnElement[str | None]) -> ColumnElement[str]:
    """:func:`bare_type` in SQL but for the parameters, still there (compare with
    ``= t`` or ``LIKE 't;%'``): the column without :data:`TYPE_BLANKS`, lower case."""
    value: ColumnElement[Any] = func.coalesce(column, "")
    for blank in TYPE_BLANKS:
        value = func.replace(value, blank, "")
    return func.lower(value)


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
