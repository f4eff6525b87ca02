"""The sign-in names an import gives the people it creates (``docs/admin.md``,
"Logins").

Rule: ``prénom.nom`` in lower case ASCII: accents dropped (``é`` → ``e``, ``ç`` →
``c``, ``æ`` → ``ae``), every run of other characters (spaces, apostrophes, hyphens)
one hyphen: "Jean-Luc D'Almeida Étienne" → ``jean-luc.d-almeida-etienne``. The first
given name only (``Prénom 1``). A login already taken, by anyone in any school,
gets ``.2``, ``.3``... (``lea.martin``, ``lea.martin.2``), in the order the files list
people. A login is given once: a later import never changes it, even when the name
changes. At most 100 characters (the names are shortened, the suffix kept).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

MAX_LOGIN = 100
_SPECIAL = {"æ": "ae", "œ": "oe", "ß": "ss", "ø": "o", "đ": "d", "ł": "l", "þ": "th"}


def _part(text: str) -> str:
    lowered = "".join(_SPECIAL.get(c, c) for c in text.lower())
    plain = "".join(c for c in unicodedata.normalize("NFKD", lowered)
                    if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


def base_login(first_name: str, last_name: str) -> str:
    """``prénom.nom`` folded (module docstring); ``utilisateur`` when both are empty
    (a name in a script without Latin letters)."""
    first = _part(first_name.split()[0] if first_name.split() else "")
    last = _part(last_name)
    return ".".join(p for p in (first, last) if p) or "utilisateur"


def free_login(first_name: str, last_name: str, taken: Callable[[str], bool]) -> str:
    """The login for a new person: :func:`base_login`, or with the first suffix ``.2``,
    ``.3``... that ``taken`` says is free."""
    base = base_login(first_name, last_name)
    n = 1
    while True:
        suffix = "" if n == 1 else f".{n}"
        candidate = base[:MAX_LOGIN - len(suffix)].rstrip(".-") + suffix
        if not taken(candidate):
            return candidate
        n += 1
