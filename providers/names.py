"""Names and paths inside a space: what may be stored, how names compare, how they
are written into URLs.

A name is stored exactly as the client wrote it (the UTF-8 bytes after
percent-decoding) and compared by its NFC form, its *key*: a request in NFC or NFD
finds the file, two spellings of one name never sit side by side in a folder, and a
listing gives back the spelling the client wrote. davfs2 and rclone compare names
byte for byte: a file they created in NFD (macOS, or files that came from a Mac)
must come back in NFD, or they think it vanished (issue 17).

A new name is refused (:func:`validate_name`) when it is empty, ``.`` or ``..``,
longer than 255 bytes of UTF-8 (the common filesystem limit), or holds ``/``, a
backslash or a control character. Names stored before a rule existed stay readable
and may be renamed to a valid name; ``davserver fsck`` lists them
(:func:`invalid_reason`).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from davserver.errors import BadRequest

MAX_NAME_BYTES = 255
# C0 controls (with NUL), DEL and C1 controls: invisible, and in a PROPFIND answer
# most of them make the whole XML document invalid (XML 1.0 §2.2).
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f]")
# RFC 3986 §3.3: a path segment is made of pchar = unreserved / pct-encoded /
# sub-delims / ":" / "@". An href may encode more than it must: ``quote`` always keeps
# the unreserved ``A-Za-z0-9_.-~``, and these sub-delims stay as WsgiDAV leaves them
# (Nautilus chokes on %28); the other sub-delims, ":" and "@" are encoded too, as
# they always were. Everything outside pchar, "|" "[" "]" "{" "}" "^" "`" '"' "<"
# ">" "%" "\\" and spaces included, is percent-encoded: WsgiDAV kept "|", and Java
# clients (Cyberduck) silently drop an entry whose href is not a valid URI.
HREF_SAFE = "/!*'(),$"


def name_key(name: str) -> str:
    """The form names are compared in: NFC (Unicode canonical composition)."""
    return unicodedata.normalize("NFC", name)


def normalize_name(name: str) -> str:
    """``name`` in NFC: :func:`name_key`, under the name lock roots use
    (:func:`providers.locks.relative_path`)."""
    return name_key(name)


def path_key(path: str) -> str:
    """The key of a space-relative path (``/a/b``): every segment in NFC. ``/`` never
    composes with a neighbour, so the whole path is normalised at once."""
    return unicodedata.normalize("NFC", path)


def invalid_reason(name: str) -> str | None:
    """Why ``name`` cannot be given to a new file or folder, in English (for DAV
    clients and logs), or None when it may."""
    if name in ("", ".", ".."):
        return f"{name!r} is not a name"
    if "/" in name:
        return "a name cannot contain '/'"
    if "\\" in name:
        return ("a name cannot contain a backslash ('\\'): no Windows client can reach "
                "it, and in a zip it becomes a folder")
    control = CONTROL_CHARACTER.search(name)
    if control is not None:
        return (f"a name cannot contain a control character (U+{ord(control.group()):04X} "
                "at position " f"{control.start() + 1})")
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        return f"name longer than {MAX_NAME_BYTES} bytes of UTF-8 ({size})"
    return None


def validate_name(name: str) -> str:
    """Return ``name`` unchanged (as the client wrote it) if a new member may have it.

    Raises ``BadRequest`` (400) saying why otherwise: empty, ``.``/``..``, a ``/``, a
    backslash or a control character (U+0000–U+001F, U+007F–U+009F) inside it, or
    more than 255 bytes of UTF-8."""
    reason = invalid_reason(name)
    if reason is not None:
        raise BadRequest(reason)
    return name


def split_path(path: str) -> list[str]:
    """Split a path (``/a/b/``) into its segments as written (``["a", "b"]``)."""
    return [s for s in path.split("/") if s]


def join_path(segments: list[str]) -> str:
    """Inverse of :func:`split_path`: ``[]`` → ``""`` (the space root), else ``/a/b``."""
    return "".join("/" + s for s in segments)


def parent_of(path: str) -> tuple[str, str]:
    """``/a/b`` → (``/a``, ``b``); ``/a`` → (``""``, ``a``)."""
    head, _, name = path.rpartition("/")
    return head, name


def href_quote(path: str) -> str:
    """A decoded URL path percent-encoded for an href or a ``Location`` header: every
    character outside RFC 3986's ``pchar`` (and ``/``) as %XX of its UTF-8 bytes."""
    return quote(path, safe=HREF_SAFE)


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold replaced by U+FFFD: a name
    stored before control characters were refused still lists (its href, which is
    percent-encoded, keeps the exact name)."""
    return _XML_INVALID.sub("\ufffd", text)
