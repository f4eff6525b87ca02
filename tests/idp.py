"""Real identity providers for the federation tests, started on a loopback port.

:func:`running_lemonldap` runs LemonLDAP::NG's portal (Debian's
``liblemonldap-ng-portal-perl``, the SSO many French administrations run) under
Plack's own HTTP server, with its CAS server on (``/cas/``, CAS 3.0 with attributes
and back-channel single logout) and its "Demo" authentication: the users ``dwho``,
``rtyler`` and ``msmith``, each with their login as password, and the attributes
``uid``, ``cn`` and ``mail`` (``dwho@badwolf.org``, ``rtyler@badwolf.org``,
``msmith@badwolf.org``). Its configuration, sessions and caches live in a temporary
folder; nothing of the machine's own configuration is read or changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

LLNG_CONF = Path("/var/lib/lemonldap-ng/conf/lmConf-1.json")  # the package's default
LLNG_INI = Path("/etc/lemonldap-ng/lemonldap-ng.ini")
LLNG_STATIC = Path("/usr/share/lemonldap-ng/portal/htdocs/static")
PLACKUP = shutil.which("plackup") or "/usr/bin/plackup"
DEMO_USERS = ("dwho", "rtyler", "msmith")  # password: the login
PSGI = """use Plack::Builder;
use Plack::App::File;
use Lemonldap::NG::Portal::Main;
my $portal = Lemonldap::NG::Portal::Main->run({});
builder {
  mount "/static" => Plack::App::File->new(root => "%s")->to_app;
  mount "/" => $portal;
};
"""


def require_lemonldap() -> None:
    """Skip where LemonLDAP::NG is not installed, except in CI, where that fails."""
    if LLNG_CONF.exists() and os.access(PLACKUP, os.X_OK):
        return
    if os.environ.get("CI"):
        pytest.fail("LemonLDAP::NG is required in CI (.ci/install-test-deps)")
    pytest.skip("LemonLDAP::NG is not installed (bash .ci/install-test-deps)")


@dataclass
class LemonLdap:
    """A running LemonLDAP::NG portal."""

    url: str  # http://127.0.0.1:PORT/
    log_path: Path

    @property
    def cas_url(self) -> str:
        return self.url + "cas/"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _configure(home: Path, port: int, extra: dict[str, Any]) -> Path:
    for sub in ("conf", "sessions/lock", "psessions/lock", "cache", "notifications"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    conf = json.loads(LLNG_CONF.read_text())
    conf.update({
        "portal": f"http://127.0.0.1:{port}/",
        "domain": "127.0.0.1",
        "securedCookie": 0,
        "globalStorageOptions": {
            "Directory": str(home / "sessions"), "LockDirectory": str(home / "sessions/lock"),
            "generateModule": "Lemonldap::NG::Common::Apache::Session::Generate::SHA256"},
        "persistentStorageOptions": {"Directory": str(home / "psessions"),
                                     "LockDirectory": str(home / "psessions/lock")},
        "localSessionStorageOptions": {"cache_root": str(home / "cache"), "cache_depth": 3,
                                       "default_expires_in": 600, "directory_umask": "007",
                                       "namespace": "lemonldap-ng-sessions"},
        "notificationStorageOptions": {"dirName": str(home / "notifications")},
        "issuerDBCASActivation": 1, "issuerDBCASPath": "^/cas/", "issuerDBCASRule": 1,
        "casAccessControlPolicy": "none", "casAttr": "uid",
        "casAttributes": {"uid": "uid", "cn": "cn", "mail": "mail"},
        "casBackChannelSingleLogout": 1,
        **extra,
    })
    (home / "conf" / "lmConf-1.json").write_text(json.dumps(conf, indent=1))
    ini = LLNG_INI.read_text().replace("/var/lib/lemonldap-ng/conf", str(home / "conf")) \
        .replace("/var/lib/lemonldap-ng/cache", str(home / "cache"))
    (home / "lemonldap-ng.ini").write_text(ini)
    psgi = home / "portal.psgi"
    psgi.write_text(PSGI % LLNG_STATIC)
    return psgi


@contextmanager
def running_lemonldap(home: Path, **extra: Any) -> Iterator[LemonLdap]:
    """LemonLDAP::NG on a free loopback port until the block ends; ``extra``: keys of
    its configuration to set (``casTicketExpiration``...)."""
    require_lemonldap()
    port = _free_port()
    psgi = _configure(home, port, extra)
    log_path = home / "portal.log"
    env = dict(os.environ, LLNG_DEFAULTCONFFILE=str(home / "lemonldap-ng.ini"))
    with open(log_path, "w") as log:
        proc = subprocess.Popen([PLACKUP, "-s", "HTTP::Server::PSGI", "--host", "127.0.0.1",
                                 "--port", str(port), str(psgi)], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    portal = LemonLdap(f"http://127.0.0.1:{port}/", log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(portal.url, timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"LemonLDAP::NG did not start:\n{portal.log()}")
            time.sleep(0.2)
        yield portal
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def lemonldap_sign_in(http: requests.Session, login_page: requests.Response, user: str,
                      password: str) -> requests.Response:
    """Fill LemonLDAP::NG's sign-in form (``login_page``, its answer) as a browser
    would; returns its answer, not followed."""
    fields = dict(re.findall(r'<input[^>]*name="(url|token|skin)"[^>]*value="([^"]*)"',
                             login_page.text))
    return http.post(login_page.url, data={**fields, "user": user, "password": password,
                                           "timezone": "1"},
                     allow_redirects=False, timeout=30)
