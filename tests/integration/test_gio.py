"""GNOME Files' WebDAV backend (gvfs, through ``gio``) reads the quota (issue 17).

``gio info -f`` on ``/dav/`` reported no size: the virtual root answered empty
quota properties. gvfs runs headless in a private D-Bus session
(``dbus-run-session``), mounts ``dav://`` with the credentials on standard input,
and reports ``filesystem::size``, ``::free`` and ``::used`` from RFC 4331's
``quota-available-bytes`` and ``quota-used-bytes``. Needs ``gio`` (libglib2.0-bin),
``gvfs-backends`` and ``dbus-run-session`` (``bash .ci/install-test-deps``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Server

# A real client reading quota figures test_client_cases_17 checks on both databases.
pytestmark = [pytest.mark.clients, pytest.mark.one_database]

NEEDED = {"gio": shutil.which("gio"), "dbus-run-session": shutil.which("dbus-run-session"),
          "gvfsd-dav": "/usr/libexec/gvfsd-dav" if os.path.exists("/usr/libexec/gvfsd-dav")
          else None}
SCRIPT = """
export XDG_RUNTIME_DIR="$1" GIO_USE_VOLUME_MONITOR=unix
base="$2"
printf '%s\\n%s\\n' "$3" "$4" | gio mount "$base" >/dev/null 2>&1 || exit 3
shift 4
for uri in "$@"; do echo "== $uri"; gio info -f "$uri" 2>/dev/null; done
gio mount -u "$base" >/dev/null 2>&1 || true
"""


def gio_info(server: Server, login: str, run: Path, paths: list[str]) -> dict[str, dict[str, int]]:
    """``gio info -f`` of each path below ``/dav/`` (mounted as ``login``): its
    ``filesystem::`` sizes in bytes, by path."""
    missing = [name for name, found in NEEDED.items() if not found]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"gvfs is required in CI; missing: {missing}")
        pytest.skip(f"gvfs cannot run here; missing: {missing} (bash .ci/install-test-deps)")
    run.mkdir(mode=0o700)
    base = f"dav://127.0.0.1:{server.port}/dav/"
    done = subprocess.run(
        ["dbus-run-session", "--", "bash", "-c", SCRIPT, "gio-test", str(run), base, login,
         server.users[login], *[base + p for p in paths]],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"gio failed ({done.returncode}): {done.stderr}"
    found: dict[str, dict[str, int]] = {}
    for block in done.stdout.split("== ")[1:]:
        uri, _, rest = block.partition("\n")
        found[uri[len(base):]] = {k: int(v) for k, v in re.findall(
            r"filesystem::(size|free|used): (\d+)", rest)}
    return found


def test_gio_info_reports_the_porte_documents_room(server: Server, tmp_path: Path) -> None:
    server.add_user("gina", profile="teacher")
    server.cli("quota", "set", "gina", "3MiB")
    assert server.session("gina").put(f"{server.documents_url}/un.txt",
                                      data=b"g" * 1000).status_code == 201
    limit = 3 * 2**20
    found = gio_info(server, "gina", tmp_path / "run",
                     ["", "porte-documents/", "rubriques/", "corbeille/"])
    for path in ("", "porte-documents/", "rubriques/", "corbeille/"):
        assert found.get(path) == {"size": limit, "free": limit - 1000, "used": 1000}, (
            path, found)
