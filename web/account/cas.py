"""CAS 2.0 and 3.0 (Apereo CAS Protocol 3.0 specification) through python-cas: the
address of the provider's login page, the validation of a service ticket, and the
single logout request a CAS server posts back.

* **Validation** (§2.5, §2.6): the ticket and our service address go to
  ``serviceValidate`` (CAS 2.0) or ``p3/serviceValidate`` (3.0, with attributes),
  server to server. The CAS server alone decides whether a ticket is valid: a forged,
  expired, already used (tickets are single use, §3.1.1) or wrongly addressed ticket
  (issued for another service, §2.5.1) is refused by it, and we refuse the sign-in.
* **Single logout** (§2.3.3 of the CAS 3.0 specification, "back-channel"): the server
  posts ``logoutRequest``, a SAML ``LogoutRequest`` whose ``SessionIndex`` is the
  service ticket of the session to end.

A CAS server that cannot be reached or answers nonsense is a :class:`CasUnavailable`
(the page says so and the sign-in can be tried again); a refusal is a
:class:`CasRefused` with the server's code (``INVALID_TICKET``, ``INVALID_SERVICE``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import requests
from cas import CASClient
from lxml import etree

from davserver.config import IdentityProviderConfig

log = logging.getLogger(__name__)

MAX_TICKET = 256  # characters: the specification's tickets are 32 to 256
_TICKET = re.compile(r"[SP]T-[A-Za-z0-9._-]{1,252}")
_CAS_NS = "{http://www.yale.edu/tp/cas}"


class CasRefused(Exception):
    """The CAS server refused the ticket; ``code`` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class CasUnavailable(Exception):
    """The CAS server could not be asked, or its answer could not be read."""


@dataclass(frozen=True)
class CasIdentity:
    """A validated service ticket: the CAS user and the released attributes (CAS 3;
    each a string, or a list of strings for a multi-valued one)."""

    user: str
    attributes: dict[str, Any]
    ticket: str


class _TimedSession(requests.Session):
    """requests with a timeout on every call (python-cas sets none)."""

    def __init__(self, timeout: float, verify: bool) -> None:
        super().__init__()
        self.timeout = timeout
        self.verify = verify

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


def _client(provider: IdentityProviderConfig, service_url: str) -> Any:
    return CASClient(version=provider.version, service_url=service_url,
                     server_url=provider.server_url,
                     verify_ssl_certificate=provider.verify_tls,
                     session=_TimedSession(provider.timeout, provider.verify_tls))


def login_url(provider: IdentityProviderConfig, service_url: str) -> str:
    """The provider's login page, which comes back to ``service_url`` with a ticket."""
    return str(_client(provider, service_url).get_login_url())


def logout_url(provider: IdentityProviderConfig, back_to: str) -> str:
    """The provider's logout page, which may send the browser on to ``back_to``."""
    return str(_client(provider, back_to).get_logout_url(back_to))


def looks_like_ticket(ticket: str) -> bool:
    """True for a ticket of the specification's shape (``ST-…``, ``PT-…``, at most
    :data:`MAX_TICKET` characters): anything else is refused without asking."""
    return len(ticket) <= MAX_TICKET and _TICKET.fullmatch(ticket) is not None


def validate(provider: IdentityProviderConfig, service_url: str, ticket: str) -> CasIdentity:
    """Ask the CAS server whether ``ticket`` was issued for ``service_url``; returns
    the identity. Raises :class:`CasRefused` (the server said no) or
    :class:`CasUnavailable`."""
    client = _client(provider, service_url)
    try:
        answer = client.get_verification_response(ticket)
    except requests.RequestException as exc:
        raise CasUnavailable(f"{provider.server_url}: {exc}") from exc
    try:
        root = ElementTree.fromstring(answer)
    except ElementTree.ParseError as exc:
        raise CasUnavailable(f"{provider.server_url}: not a CAS answer") from exc
    failure = root.find(f"{_CAS_NS}authenticationFailure")
    if failure is not None:
        raise CasRefused(failure.get("code", "INVALID_TICKET"), (failure.text or "").strip())
    user, attributes, _ = client.verify_response(answer)
    if not user:
        raise CasUnavailable(f"{provider.server_url}: an answer without a user")
    return CasIdentity(str(user).strip(), dict(attributes or {}), ticket)


_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, dtd_validation=False,
                            load_dtd=False, huge_tree=False)
MAX_LOGOUT_REQUEST = 16 * 1024  # bytes: a LogoutRequest is a few hundred


def logout_ticket(logout_request: str) -> str | None:
    """The service ticket a single logout request names, or None if it names none or
    is not XML. Parsed here rather than by python-cas, whose parser resolves
    entities: the request comes from anyone who can reach us."""
    data = logout_request.encode("utf-8")
    if len(data) > MAX_LOGOUT_REQUEST:
        return None
    try:
        root = etree.fromstring(data, _SAFE_XML)
    except etree.XMLSyntaxError:
        return None
    found = root.xpath("//samlp:SessionIndex",
                       namespaces={"samlp": "urn:oasis:names:tc:SAML:2.0:protocol"})
    if not found:
        return None
    text = (found[0].text or "").strip()
    return text if looks_like_ticket(text) else None
