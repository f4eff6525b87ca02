"""Reading the CSV exports (SIECLE, ONDE, ours): bytes, encoding, delimiter, rows.

The encoding rule is :func:`acl.people_csv.decode`'s (UTF-16 by its byte order mark,
UTF-8 with or without one, else Windows-1252, the superset of the Latin-1 and
ISO-8859-15 of the national tools' exports). The delimiter is the one of ``;``, tab
and ``,`` the header line has most of. Quoted fields (ONDE quotes all) and CRLF line
ends are read as spreadsheets write them; rows may be shorter or longer than the
header (ONDE's relatives file has one block of four columns per child).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass

from davserver.errors import BadRequest

from ..directory import header_key
from ..people_csv import decode
from .inputs import Input, copy_limited

MAX_CSV = 64 * 1024 * 1024
"""Bytes a CSV export may have (a large lycée's is a few MB)."""


def read_csv_bytes(item: Input) -> bytes:
    """The file's bytes, at most :data:`MAX_CSV`."""
    return copy_limited(item.path, MAX_CSV)


@dataclass
class Table:
    """A decoded CSV file: its header as written and as keys, and the rows, each with
    its line number (1 = the header)."""

    encoding: str
    delimiter: str
    header: list[str]
    keys: list[str]
    rows: list[tuple[int, list[str]]]

    def column(self, *keys: str) -> int | None:
        """The position of the first header matching one of ``keys``, else None."""
        for key in keys:
            if key in self.keys:
                return self.keys.index(key)
        return None


def cell(row: list[str], at: int | None) -> str:
    """The stripped, NFC-normalised text at position ``at`` (empty when absent)."""
    if at is None or at >= len(row):
        return ""
    return unicodedata.normalize("NFC", row[at].strip())


def read_table(item: Input) -> Table:
    """Decode and split the CSV file ``item``. Raises ``BadRequest`` naming the line of
    an undecodable byte or an unreadable row, or for a file without rows."""
    text, encoding = decode(read_csv_bytes(item))
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(";\t,", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)  # type: ignore[arg-type]
        rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise BadRequest(f"line {reader.line_num}: unreadable CSV ({exc})") from None
    if header is None or not rows:
        raise BadRequest("the file has a header but no rows: nothing to import (an empty "
                         "file would make everyone a leaver)")
    return Table(encoding, delimiter, header, [header_key(h) for h in header], rows)
