"""The files of one import: given as files, folders or zip archives, never trusted.

A folder contributes its regular files (sub-folders included, hidden files and
symbolic links left out). A zip archive (an AAF delivery comes as one) is unpacked
into a private temporary folder that :class:`Inputs` deletes when closed, never
elsewhere: a member whose name is absolute, climbs out with ``..``, is a link or a
device is refused, and so is an archive that unpacks to more than
:data:`MAX_UNPACKED` bytes or :data:`MAX_FILES` files, or whose member grows more than
:data:`MAX_RATIO` times its compressed size (a zip bomb). The sizes an archive
declares are not trusted: bytes are counted as they are written.
"""

from __future__ import annotations

import os
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import TracebackType

from davserver.errors import BadRequest

MAX_UNPACKED = 2 * 1024**3
"""Bytes an archive may unpack to (an académie's whole AAF delivery is well below)."""
MAX_FILES = 2000
"""Files one import may read."""
MAX_RATIO = 200
"""How many times its compressed size a zip member may grow (XML compresses ~10×)."""
_BLOCK = 1 << 20


class BadInput(BadRequest):
    """An input that cannot be read at all (missing, unreadable, a bad archive):
    nothing is imported (``davserver import people`` exits with status 2)."""


@dataclass(frozen=True)
class Input:
    """One file to read: the name messages use (a zip member is ``archive.zip:member``),
    where its bytes are, and whether it was found in a folder or archive (``found``)
    rather than named: a found file that is no export is skipped with a warning, a
    named one is an error."""

    name: str
    path: Path
    found: bool = False


@dataclass
class Inputs:
    """The files of an import, with the temporary folder holding unpacked archives and
    given bytes (a context manager: leaving it removes the folder)."""

    files: list[Input] = field(default_factory=list)
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    def scratch(self) -> Path:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="davserver-import-")
        return Path(self._tmp.name)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Inputs:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _add(out: Inputs, item: Input) -> None:
    if len(out.files) >= MAX_FILES:
        raise BadInput(f"more than {MAX_FILES} files to import: give fewer at a time")
    out.files.append(item)


def _member_path(name: str) -> PurePosixPath:
    """The relative path of a zip member; ``BadInput`` for one that would land outside
    the folder it is unpacked into."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise BadInput(f"zip member {name!r} would be written outside the import folder: "
                       "refused")
    return path


def _unpack_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
                   budget: list[int]) -> None:
    """Copy one member to ``target``, counting bytes against ``budget[0]`` (what the
    whole archive may still unpack) and the member's ratio."""
    limit = info.compress_size * MAX_RATIO + _BLOCK
    written = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as src, open(target, "wb") as dst:
        while block := src.read(_BLOCK):
            written += len(block)
            budget[0] -= len(block)
            if budget[0] < 0:
                raise BadInput(f"the archive unpacks to more than {MAX_UNPACKED} bytes: "
                               "refused (a zip bomb, or import it in parts)")
            if written > limit:
                raise BadInput(f"zip member {info.filename!r} grows more than {MAX_RATIO} "
                               "times its compressed size: refused (a zip bomb?)")
            dst.write(block)


def _unpack(out: Inputs, path: Path, shown: str) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadInput(f"{shown}: not a readable zip archive ({exc})") from None
    base = out.scratch() / f"zip{len(out.files)}-{os.getpid()}"
    budget = [MAX_UNPACKED]
    with archive:
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if info.is_dir():
                continue
            rel = _member_path(info.filename)
            if mode and not (stat.S_ISREG(mode) or mode & 0o170000 == 0):
                raise BadInput(f"zip member {info.filename!r} is not a regular file: refused")
            if rel.name.startswith(".") or rel.parts[0] == "__MACOSX":
                continue
            if info.flag_bits & 0x1:
                raise BadInput(f"zip member {info.filename!r} is encrypted: unpack it first")
            target = base.joinpath(*rel.parts)
            try:
                _unpack_member(archive, info, target, budget)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise BadInput(f"{shown}: member {info.filename!r} cannot be read ({exc})"
                               ) from None
            _add(out, Input(f"{shown}:{info.filename}", target, found=True))


def _walk(out: Inputs, folder: Path) -> None:
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not Path(root, d).is_symlink())
        for name in sorted(names):
            path = Path(root, name)
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            _gather_file(out, path, str(path), found=True)


def _gather_file(out: Inputs, path: Path, shown: str, *, found: bool = False) -> None:
    if zipfile.is_zipfile(path):
        _unpack(out, path, shown)
    else:
        _add(out, Input(shown, path, found))


def gather(items: list[str | Path | tuple[str, bytes]]) -> Inputs:
    """The files of ``items``: paths of files, folders or zip archives, or ``(name,
    bytes)`` pairs (an upload). Raises :class:`BadInput` naming a missing or unreadable
    item, or a refused archive; the caller closes the result."""
    out = Inputs()
    try:
        for item in items:
            if isinstance(item, tuple):
                name, data = item
                path = out.scratch() / f"given{len(out.files)}-{Path(name).name or 'file'}"
                path.write_bytes(data)
                _gather_file(out, path, name)
                continue
            path = Path(item)
            try:
                mode = path.stat().st_mode
            except OSError as exc:
                raise BadInput(f"cannot read {item}: {exc.strerror or exc}") from None
            if stat.S_ISDIR(mode):
                _walk(out, path)
            elif stat.S_ISREG(mode):
                if not os.access(path, os.R_OK):
                    raise BadInput(f"cannot read {item}: permission denied")
                _gather_file(out, path, str(item))
            else:
                raise BadInput(f"{item} is not a file or a folder")
        if not out.files:
            raise BadInput("no file to import (empty folder or archive)")
    except BaseException:
        out.close()
        raise
    return out


def copy_limited(src: Path, limit: int) -> bytes:
    """The bytes of ``src``, at most ``limit``; ``BadInput`` beyond (a CSV is read
    whole: a school's never comes near)."""
    with open(src, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise BadInput(f"{src.name}: larger than {limit} bytes, which no people CSV is")
    return data
