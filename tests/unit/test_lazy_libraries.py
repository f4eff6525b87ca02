"""The identity providers' libraries load only where a provider needs them (issue 22,
memory: pysaml2 with its XML schemas, Authlib and python-cas weigh about 0.5 s of
start-up and 20 MiB of every process, the command line's included).

Each case runs in a fresh interpreter: this test process may have loaded them already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.one_database  # no database involved: SQLite by default
ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("saml2", "authlib", "cas")
PROBE = """
import json, sys
from davserver.app import create_app
from davserver.config import load_config
app = create_app(load_config(environ={"DAVSERVER_DATA_DIR": sys.argv[1],
                                       "DAVSERVER_CONFIG": sys.argv[2], **EXTRA}))
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[3:]))
print(json.dumps(loaded))
"""


def loaded_after_start(tmp_path: Path, extra: dict[str, str]) -> list[str]:
    """The HEAVY top-level packages present once an application is created."""
    code = PROBE.replace("**EXTRA", "**" + repr(extra))
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "data"), str(ROOT / "config.yaml"), *HEAVY],
        capture_output=True, text=True, check=False, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_without_providers_no_federation_library_is_loaded(tmp_path: Path) -> None:
    """The default configuration has no identity provider: none of their libraries is
    in the process once the application (web pages included) is made. The federation
    tests (tests/integration/test_federation_*.py) prove the lazy modules load and work
    when a provider is configured."""
    assert loaded_after_start(tmp_path, {}) == []



def test_the_configured_kinds_are_loaded_at_start() -> None:
    """``load_protocols`` (called by the web app's factory with the configured kinds)
    runs those modules and no other: no thread races a half-run lazy module later."""
    code = ("import sys, web.account as a; a.load_protocols({'cas'}); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'cas', 'saml2', 'authlib'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['cas']"
