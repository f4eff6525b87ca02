"""SAML 2.0 Web Browser SSO (SAML 2.0 Profiles §4.1) as a service provider, through
pysaml2 and xmlsec1.

* **Our metadata** is served at ``/login/<id>/saml/metadata`` (a stable address to
  give the identity provider): entity id, assertion consumer service (HTTP-POST),
  single logout service (HTTP-Redirect), and our certificate for signatures and for
  the encrypted assertions EduConnect sends.
* **Our key pair** is made once (RSA 3072, self-signed, 10 years) in
  ``<data_dir>/saml/`` and shared by every provider; SAML uses the certificate as a
  key container, its dates are not checked by the identity providers.
* **Responses** are checked by pysaml2: the signature of the assertion (or of the
  response) against the provider's metadata, the audience (our entity id), the
  recipient of the subject confirmation (our consumer address; pysaml2 checks it only
  when given the conversation's ``conv_info``, which the consumer passes) and the
  response's destination, the validity window
  (``NotBefore``, ``NotOnOrAfter``, one minute of clock skew), and that it answers a
  request this browser made (``InResponseTo`` among the session's outstanding
  requests; unsolicited responses are refused). The request id is dropped once used,
  so a replayed response is refused.
* **Single logout**: a ``LogoutRequest`` from the provider ends the session of its
  ``SessionIndex``; our logout sends one to the provider, which answers back.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from saml2 import BINDING_HTTP_POST as BINDING_HTTP_POST
from saml2 import BINDING_HTTP_REDIRECT as BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.ident import code as code  # re-exported: federation.py keeps the NameID
from saml2.ident import decode as decode
from saml2.metadata import create_metadata_string
from saml2.xmldsig import SIG_RSA_SHA256 as SIG_RSA_SHA256

from davserver.config import IdentityProviderConfig

XMLSEC = "/usr/bin/xmlsec1"
KEY_FILE, CERT_FILE = "sp-key.pem", "sp-cert.pem"
ACCEPTED_SKEW = 60  # seconds of clock difference allowed with the identity provider

_clients: dict[tuple[str, str], Saml2Client] = {}
_lock = threading.Lock()


class SamlRefused(Exception):
    """A response or request that does not pass the checks above."""


def ensure_keypair(data_dir: Path) -> tuple[Path, Path]:
    """Our key and certificate under ``data_dir/saml`` (made on first use, key mode
    0600); returns their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    folder = data_dir / "saml"
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ENT SAML service provider")])
    start = datetime.now(UTC)  # wall clock: a certificate's own dates, never compared
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start - timedelta(days=1))
            .not_valid_after(start + timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    temporary = key_path.with_suffix(".tmp")
    temporary.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    temporary.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    temporary.replace(key_path)
    return key_path, cert_path


def _settings(provider: IdentityProviderConfig, base_url: str,
              keys: tuple[Path, Path]) -> dict[str, Any]:
    here = f"{base_url.rstrip('/')}/login/{provider.id}/saml"
    metadata: dict[str, Any] = {}
    if provider.metadata_file:
        metadata["local"] = [str(provider.metadata_file)]
    if provider.metadata_url:
        metadata["remote"] = [{"url": provider.metadata_url}]
    key, cert = str(keys[0]), str(keys[1])
    return {
        "entityid": here + "/metadata",
        "xmlsec_binary": XMLSEC,
        "key_file": key, "cert_file": cert,
        "encryption_keypairs": [{"key_file": key, "cert_file": cert}],
        "metadata": metadata,
        "accepted_time_diff": ACCEPTED_SKEW,
        "allow_unknown_attributes": True,
        "service": {"sp": {
            "name": provider.label,
            "endpoints": {
                "assertion_consumer_service": [(here + "/acs", BINDING_HTTP_POST)],
                "single_logout_service": [(here + "/sls", BINDING_HTTP_REDIRECT)],
            },
            "allow_unsolicited": False,
            "authn_requests_signed": provider.sign_requests,
            "logout_requests_signed": True,
            "want_assertions_signed": True,
            "want_response_signed": False,
        }},
    }


def client(provider: IdentityProviderConfig, base_url: str,
           keys: tuple[Path, Path]) -> Saml2Client:
    """pysaml2's client for ``provider`` as reached at ``base_url`` (made once per
    process: reading metadata and certificates is slow)."""
    key = (provider.id, base_url)
    with _lock:
        found = _clients.get(key)
        if found is None:
            config = SPConfig()
            config.load(_settings(provider, base_url, keys))
            found = _clients[key] = Saml2Client(config=config)
        return found


def idp_entity_id(provider: IdentityProviderConfig, saml: Saml2Client) -> str:
    """The identity provider's entity id: configured, or the only one in its
    metadata."""
    if provider.idp_entity_id:
        return provider.idp_entity_id
    found = list(saml.metadata.identity_providers())
    if len(found) != 1:
        raise SamlRefused(f"provider {provider.id}: its metadata names {len(found)} "
                          "identity providers; set idp_entity_id")
    return str(found[0])


def metadata_xml(saml: Saml2Client) -> str:
    """Our metadata, signed by nobody (the provider fetches it from us directly)."""
    made = create_metadata_string(None, config=saml.config, valid=None, cert=None,
                                  keyfile=None, mid=None, name=None, sign=False)
    return made.decode("utf-8") if isinstance(made, bytes) else str(made)


def logout_destination(saml: Saml2Client, idp: str) -> str | None:
    """The identity provider's single logout address (HTTP-Redirect), or None."""
    services = saml.metadata.single_logout_service(idp, BINDING_HTTP_REDIRECT, "idpsso")
    return str(services[0]["location"]) if services else None


def redirect_location(http_info: dict[str, Any]) -> str:
    """The ``Location`` of pysaml2's HTTP-Redirect binding answer."""
    return str(dict(http_info["headers"])["Location"])
