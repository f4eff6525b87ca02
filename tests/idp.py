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
from collections.abc import Callable, Iterator
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


def free_port() -> int:
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
    port = free_port()
    psgi = _configure(home, port, extra)
    log_path = home / "portal.log"
    env = dict(os.environ, LLNG_DEFAULTCONFFILE=str(home / "lemonldap-ng.ini"))
    with open(log_path, "w") as log:
        proc = subprocess.Popen([PLACKUP, "-s", "HTTP::Server::PSGI", "--host", "127.0.0.1",
                                 "--port", str(port), str(psgi)], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    portal = LemonLdap(f"http://127.0.0.1:{port}/", log_path)
    with _serving(proc, portal.url, 60, lambda: f"LemonLDAP::NG did not start:\n"
                                               f"{portal.log()}"):
        yield portal


@contextmanager
def _serving(proc: subprocess.Popen[bytes], ready_url: str, seconds: float,
             failure: Callable[[], str]) -> Iterator[None]:
    """Wait until ``ready_url`` answers 200 (at most ``seconds``; ``RuntimeError`` with
    ``failure()`` when the process ends or the time is up), then stop ``proc`` when
    the block ends."""
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if requests.get(ready_url, timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(failure())
            time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def lemonldap_fixture() -> Any:
    """A module-scoped pytest fixture of a running LemonLDAP::NG (its CAS server on):
    ``llng = lemonldap_fixture()`` in a test module."""

    @pytest.fixture(scope="module")
    def llng(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LemonLdap]:
        with running_lemonldap(tmp_path_factory.mktemp("llng")) as portal:
            yield portal

    return llng


def lemonldap_oidc(client_id: str, secret: str, redirect_uri: str,
                   logged_out_uri: str, front_logout_uri: str) -> dict[str, Any]:
    """Keys of LemonLDAP::NG's configuration (for :func:`running_lemonldap`) that make
    it an OpenID Connect provider (issuer: the portal's address, ``/oauth2/``
    endpoints, RS256 with a key made here) with one relying party ``client_id``:
    its secret, its redirect and post-logout addresses, its front-channel logout
    address (a frame of the portal's logout page), no consent page, and the
    claims ``email`` (mail), ``name`` (cn), ``preferred_username`` (uid); ``sub`` is
    the uid."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "issuerDBOpenIDConnectActivation": 1, "issuerDBOpenIDConnectRule": 1,
        "oidcServicePrivateKeySig": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()).decode(),
        "oidcServicePublicKeySig": key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        "oidcServiceKeyIdSig": "test-key",
        "oidcRPMetaDataOptions": {"ent": {
            "oidcRPMetaDataOptionsClientID": client_id,
            "oidcRPMetaDataOptionsClientSecret": secret,
            "oidcRPMetaDataOptionsRedirectUris": redirect_uri,
            "oidcRPMetaDataOptionsPostLogoutRedirectUris": logged_out_uri,
            "oidcRPMetaDataOptionsBypassConsent": 1,
            "oidcRPMetaDataOptionsLogoutBypassConfirm": 1,
            "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
            "oidcRPMetaDataOptionsUserIDAttr": "uid",
            "oidcRPMetaDataOptionsLogoutUrl": front_logout_uri,
            "oidcRPMetaDataOptionsLogoutType": "front",
            "oidcRPMetaDataOptionsLogoutSessionRequired": 1,
        }},
        "oidcRPMetaDataExportedVars": {"ent": {"email": "mail", "name": "cn",
                                               "preferred_username": "uid"}},
    }


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
def running_simplesamlphp(home: Path, users: dict[str, tuple[str, dict[str, list[str]]]]
                          | None = None) -> Iterator[SimpleSaml]:
    """SimpleSAMLphp 1.19 (Debian's) as a SAML 2.0 identity provider on a free loopback
    port under PHP's built-in server: ``users`` (login → password and attributes;
    :data:`SSP_USERS` by default, exampleauth), signed and encrypted assertions,
    single logout; the service provider's metadata is read from
    :attr:`SimpleSaml.sp_metadata` (write it before the first sign-in)."""
    require_simplesamlphp()
    port = free_port()
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
    accounts = {f"{login}:{password}": attributes
                for login, (password, attributes) in (users or SSP_USERS).items()}
    (home / "config" / "authsources.php").write_text(
        "<?php\n$config = " + _php({"admin": ["core:AdminPassword"],
                                    "example-userpass": ["exampleauth:UserPass"]}) + ";\n"
        + "".join(f"$config['example-userpass'][{_php(k)}] = {_php(v)};\n"
                  for k, v in accounts.items()))
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
        with _serving(proc, idp.metadata_url, 30,
                      lambda: f"SimpleSAMLphp did not start:\n{idp.log()}"):
            yield idp
    finally:
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


# --- what the CAS and SAML tests share -----------------------------------------------

def signed_in_as(client: Any) -> str:
    """The login the textbook's header shows to ``client`` (a ``tests.web.WebClient``);
    fails when it is not signed in."""
    from lxml import html as lxml_html

    page = client.get("/textbook/")
    assert page.status_code == 200, page.status_code
    return str(lxml_html.fromstring(page.text)
               .xpath('string(//*[@class="user-name"])')).strip()


def chromium_signs_in(srv: Any, button: str, fill: Callable[[Any], None],
                      login: str, choose: Callable[[Any], None] | None = None) -> None:
    """Chromium on ``srv`` (a ``tests.conftest.Server``): the textbook sends it to our
    sign-in page, ``choose(page)`` acts there first if given (chooses a school), it
    clicks ``button``, ``fill(page)`` fills and sends the provider's own form, it
    accepts the charter (a deployment's charter, published for this call and removed
    after) and reaches the textbook as ``login`` (the header's name)."""
    from playwright.sync_api import expect, sync_playwright

    import acl
    from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS

    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with srv.transaction() as s:
        acl.publish_charter(s, None, "Article 1 : respecter les autres.")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_context(base_url=srv.base_url).new_page()
            page.goto("/textbook/")
            if choose is not None:
                choose(page)
            page.get_by_role("link", name=button).click()
            fill(page)
            page.wait_for_url(srv.base_url + "/charte?next=**")
            expect(page.locator(".charter-text")).to_contain_text("Article 1")
            page.get_by_role("button", name="J'ai lu et j'accepte la charte").click()
            page.wait_for_url(srv.base_url + "/textbook/**")
            expect(page.locator(".user-name")).to_have_text(login)
        finally:
            browser.close()
            with srv.transaction() as s:  # the other tests of the module see none
                s.query(acl.Charter).delete()


# --- a second, tiny SAML identity provider, for the error cases only ------------------

SAML_TEMPLATE = """<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
 xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r{rid}" Version="2.0"
 IssueInstant="{now}" Destination="{destination}" InResponseTo="{request_id}">
<saml:Issuer>{entity}</saml:Issuer>
<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
<saml:Assertion ID="_a{rid}" Version="2.0" IssueInstant="{now}">
<saml:Issuer>{entity}</saml:Issuer>
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
<ds:Reference URI="#_a{rid}"><ds:Transforms>
<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>
<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/>
</ds:Reference></ds:SignedInfo><ds:SignatureValue/>
<ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature>
<saml:Subject>
<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">_n{rid}</saml:NameID>
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
<saml:SubjectConfirmationData NotOnOrAfter="{not_on_or_after}" Recipient="{recipient}"
 InResponseTo="{request_id}"/></saml:SubjectConfirmation></saml:Subject>
<saml:Conditions NotBefore="{not_before}" NotOnOrAfter="{not_on_or_after}">
<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>
</saml:Conditions>
<saml:AuthnStatement AuthnInstant="{now}" SessionIndex="_s{rid}"><saml:AuthnContext>
<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef>
</saml:AuthnContext></saml:AuthnStatement>
<saml:AttributeStatement><saml:Attribute Name="uid"
 NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">
<saml:AttributeValue>{uid}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>
</saml:Assertion></samlp:Response>"""


class SigningFakeIdp:
    """A SAML identity provider of a few lines, for the cases a real one never sends
    (an expired assertion, one not yet valid, one for another audience or recipient):
    :meth:`response` writes a response and signs its assertion with xmlsec1 and a test
    key, for the test to post to our assertion consumer service. It serves nothing:
    its sign-in address in :attr:`metadata` is never visited (the test reads our
    request from our redirect). The main path is SimpleSAMLphp's."""

    entity_id = "https://fake-idp.test/metadata"

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        _self_signed(home)
        cert = "".join((home / "idp.crt").read_text().strip().splitlines()[1:-1])
        self.metadata = home / "metadata.xml"
        self.metadata.write_text(
            f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{self.entity_id}">'
            '<md:IDPSSODescriptor protocolSupportEnumeration='
            '"urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing">'
            f'<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate>'
            '</ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService '
            'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            'Location="http://127.0.0.1:9/sso"/></md:IDPSSODescriptor>'
            '</md:EntityDescriptor>')

    @staticmethod
    def request_id(location: str) -> str:
        """The ID of the ``AuthnRequest`` in our redirect to this provider."""
        import base64
        import zlib
        from urllib.parse import parse_qs, urlsplit

        encoded = parse_qs(urlsplit(location).query)["SAMLRequest"][0]
        xml = zlib.decompress(base64.b64decode(encoded), -15).decode()
        found = re.search(r'\bID="([^"]+)"', xml)
        assert found, xml
        return found.group(1)

    def response(self, request_id: str, acs: str, audience: str, uid: str, *,
                 valid_from: Any, valid_until: Any, recipient: str | None = None,
                 key_from: Path | None = None) -> str:
        """A response to ``request_id`` naming ``uid``, its assertion valid from
        ``valid_from`` until ``valid_until`` (aware datetimes) for ``audience`` and
        ``recipient`` (default ``acs``), signed with this provider's key (or the one in
        ``key_from``: another provider's); base64, as the POST binding sends it."""
        import base64
        import uuid
        from datetime import UTC

        def stamp(moment: Any) -> str:
            return str(moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

        xml = SAML_TEMPLATE.format(
            rid=uuid.uuid4().hex, now=stamp(valid_from), destination=acs,
            request_id=request_id, entity=self.entity_id, recipient=recipient or acs,
            not_before=stamp(valid_from), not_on_or_after=stamp(valid_until),
            audience=audience, uid=uid)
        folder = key_from or self.home
        cert = "".join((folder / "idp.crt").read_text().strip().splitlines()[1:-1])
        xml = xml.replace("<ds:X509Certificate/>",
                          f"<ds:X509Certificate>{cert}</ds:X509Certificate>")
        unsigned = self.home / f"unsigned-{uuid.uuid4().hex}.xml"
        unsigned.write_text(xml)
        signed = subprocess.run(
            ["xmlsec1", "--sign", "--privkey-pem",
             f"{folder / 'idp.key'},{folder / 'idp.crt'}",
             "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
             str(unsigned)], capture_output=True, check=True).stdout
        unsigned.unlink()
        return base64.b64encode(signed).decode()
