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


# --- SimpleSAMLphp -------------------------------------------------------------

SSP_WWW = Path("/usr/share/simplesamlphp/www")
PHP = shutil.which("php") or "/usr/bin/php"
SSP_USERS = {  # login: (password, attributes)
    "prof": ("prof-pass", {"uid": ["prof"], "cn": ["Marie Curie"]}),
    "parent": ("parent-pass", {"uid": ["parent"], "cn": ["Rose Tyler"]}),
    "inconnu": ("inconnu-pass", {"uid": ["inconnu"], "cn": ["Mickey Smith"]}),
}


def require_simplesamlphp() -> None:
    """Skip where SimpleSAMLphp, PHP or xmlsec1 is missing, except in CI."""
    if SSP_WWW.is_dir() and os.access(PHP, os.X_OK) and shutil.which("xmlsec1"):
        return
    if os.environ.get("CI"):
        pytest.fail("SimpleSAMLphp, php-cli and xmlsec1 are required in CI "
                    "(.ci/install-test-deps)")
    pytest.skip("SimpleSAMLphp is not installed (bash .ci/install-test-deps)")


@dataclass
class SimpleSaml:
    """A running SimpleSAMLphp identity provider."""

    url: str  # http://127.0.0.1:PORT/
    home: Path

    @property
    def metadata_url(self) -> str:
        return self.url + "saml2/idp/metadata.php"

    @property
    def sp_metadata(self) -> Path:
        """Where the service provider's metadata goes (read at every request)."""
        return self.home / "sp.xml"

    def log(self) -> str:
        logs = list((self.home / "log").glob("*"))
        return "\n".join(p.read_text(errors="replace") for p in logs)


def _self_signed(folder: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test idp")])
    start = datetime.now(UTC)  # wall clock: a test certificate's own dates
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start - timedelta(days=1))
            .not_valid_after(start + timedelta(days=30)).sign(key, hashes.SHA256()))
    (folder / "idp.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    (folder / "idp.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _php(value: Any) -> str:
    """A Python value as a PHP literal (strings, bools, lists, dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ", ".join(_php(v) for v in value) + "]"
    return "[" + ", ".join(f"{_php(k)} => {_php(v)}" for k, v in value.items()) + "]"


@contextmanager
def running_simplesamlphp(home: Path) -> Iterator[SimpleSaml]:
    """SimpleSAMLphp 1.19 (Debian's) as a SAML 2.0 identity provider on a free loopback
    port under PHP's built-in server: users :data:`SSP_USERS` (exampleauth), signed
    and encrypted assertions, single logout; the service provider's metadata is read
    from :attr:`SimpleSaml.sp_metadata` (write it before the first sign-in)."""
    require_simplesamlphp()
    port = _free_port()
    for sub in ("config", "cert", "log", "data", "tmp", "metadata", "sessions"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    _self_signed(home / "cert")
    url = f"http://127.0.0.1:{port}/"
    config = {
        "baseurlpath": url, "certdir": str(home / "cert") + "/",
        "loggingdir": str(home / "log") + "/", "datadir": str(home / "data") + "/",
        "tempdir": str(home / "tmp"), "technicalcontact_name": "Tests",
        "technicalcontact_email": "tests@example.org", "timezone": "UTC",
        "secretsalt": os.urandom(16).hex(), "auth.adminpassword": os.urandom(16).hex(),
        "admin.protectindexpage": False, "admin.protectmetadata": False,
        "enable.saml20-idp": True, "logging.handler": "file",
        "logging.logfile": "simplesamlphp.log", "store.type": "phpsession",
        "session.phpsession.savepath": str(home / "sessions"),
        "metadata.sources": [{"type": "flatfile", "directory": str(home / "metadata")},
                             {"type": "xml", "file": str(home / "sp.xml")}],
        "module.enable": {"exampleauth": True, "core": True, "saml": True},
        "language.default": "fr", "debug": {"saml": True},
    }
    (home / "config" / "config.php").write_text(
        "<?php\n$config = " + _php(config) + ";\n"
        "$config['logging.level'] = SimpleSAML\\Logger::DEBUG;\n")
    users = {f"{login}:{password}": attributes
             for login, (password, attributes) in SSP_USERS.items()}
    (home / "config" / "authsources.php").write_text(
        "<?php\n$config = " + _php({"admin": ["core:AdminPassword"],
                                    "example-userpass": ["exampleauth:UserPass"]}) + ";\n"
        + "".join(f"$config['example-userpass'][{_php(k)}] = {_php(v)};\n"
                  for k, v in users.items()))
    (home / "metadata" / "saml20-idp-hosted.php").write_text(
        "<?php\n$metadata['__DYNAMIC:1__'] = " + _php({
            "host": "__DEFAULT__", "privatekey": "idp.key", "certificate": "idp.crt",
            "auth": "example-userpass", "assertion.encryption": True,
            "sign.logout": True, "saml20.sign.assertion": True,
            "NameIDFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
        }) + ";\n")
    (home / "sp.xml").write_text('<?xml version="1.0"?><md:EntitiesDescriptor '
                                 'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>')
    env = dict(os.environ, SIMPLESAMLPHP_CONFIG_DIR=str(home / "config"))
    log = open(home / "log" / "php-server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([PHP, "-S", f"127.0.0.1:{port}", "-t", str(SSP_WWW)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=str(SSP_WWW))
    idp = SimpleSaml(url, home)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(idp.metadata_url, timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"SimpleSAMLphp did not start:\n{idp.log()}")
            time.sleep(0.2)
        yield idp
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """The first form of an HTML page: its action and its fields' values."""
    from lxml import html as lxml_html

    form = lxml_html.fromstring(page).xpath("//form")[0]
    fields = {str(i.get("name")): str(i.get("value") or "")
              for i in form.xpath(".//input[@name]")}
    return str(form.get("action") or ""), fields


def simplesamlphp_sign_in(http: requests.Session, start: str, user: str,
                          password: str) -> tuple[str, dict[str, str]]:
    """Follow ``start`` (our redirect to the identity provider), fill SimpleSAMLphp's
    login form as a browser would; returns the form its answer posts back to us (the
    assertion consumer's address and the ``SAMLResponse``), not yet sent."""
    from urllib.parse import urljoin

    page = http.get(start, timeout=30)
    assert page.status_code == 200 and 'name="password"' in page.text, page.text[:800]
    action, fields = form_of(page.text)
    fields.update({"username": user, "password": password})
    answer = http.post(urljoin(page.url, action), data=fields, timeout=30)
    assert answer.status_code == 200 and "SAMLResponse" in answer.text, answer.text[:800]
    return form_of(answer.text)
