"""cadaver, the command-line WebDAV client (neon), against a live server (issue 17).

cadaver's ``propnames`` sends ``PROPFIND`` with ``<D:propname/>``: it printed nothing
(WsgiDAV looked for ``<D:name/>``). It must list every live and dead property, on a
file, a folder, a space root and the collections that only list spaces. Credentials
come from a private ``~/.netrc``; commands from standard input.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import Server

# A real client; propname's answer is built from properties test_client_cases_17
# checks on both databases.
pytestmark = [pytest.mark.clients, pytest.mark.one_database]

CADAVER = shutil.which("cadaver") or "/usr/bin/cadaver"


def cadaver(server: Server, home: Path, url: str, *commands: str) -> str:
    """Run cadaver on ``url`` as alice with these commands; its output."""
    if not os.access(CADAVER, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail("cadaver is required in CI (bash .ci/install-test-deps)")
        pytest.skip("cadaver is not installed (bash .ci/install-test-deps)")
    home.mkdir(exist_ok=True)
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\nlogin alice\npassword {server.users['alice']}\n")
    netrc.chmod(0o600)
    done = subprocess.run([CADAVER, url], input="\n".join([*commands, "quit"]) + "\n",
                          capture_output=True, text=True, timeout=60,
                          env={"HOME": str(home), "PATH": os.environ.get("PATH", ""),
                               "LANG": "C.UTF-8"})
    return done.stdout + done.stderr


def propnames(output: str, target: str) -> set[str]:
    """The names cadaver printed for ``propnames <target>`` (``NS local`` lines)."""
    block = output.split(f"Fetching property names `{target}':", 1)[1].split("succeeded", 1)[0]
    return {" ".join(line.split()) for line in block.splitlines() if line.strip()}


def test_propnames_lists_live_and_dead_properties(server: Server, folder: str,
                                                  tmp_path: Path) -> None:
    session = server.session("alice")
    name = unicodedata.normalize("NFD", "leçon.txt")
    assert session.put(f"{folder}/{quote(name)}", data=b"contenu").status_code == 201
    out = cadaver(server, tmp_path / "home", folder + "/",
                  f"propset {name} couleur bleu",
                  f"propnames {name}", "propnames .", "propnames /dav/",
                  "propnames /dav/rubriques/", "propnames /dav/corbeille/", "ls")
    file_names = propnames(out, name)
    assert {"DAV: resourcetype", "DAV: getcontentlength", "DAV: getetag",
            "DAV: lockdiscovery", "DAV: current-user-privilege-set",
            "http://owncloud.org/ns checksums"} <= file_names, out
    assert any("couleur" in n for n in file_names), out  # the dead property
    for target in (".", "/dav/", "/dav/rubriques/", "/dav/corbeille/"):
        assert {"DAV: resourcetype", "DAV: quota-used-bytes",
                "DAV: quota-available-bytes"} <= propnames(out, target), (target, out)
    # cadaver's ls shows the name as it was written (NFD).
    assert re.search(re.escape(name), out), out
