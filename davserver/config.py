"""Typed, validated configuration: one schema for the file, the environment and tests.

The documented default is ``config.yaml`` at the repository root. Every key is
checked at start-up; an unknown key or a bad value raises :class:`ConfigError`
naming the key and the file. Environment variables override the file:

* ``DAVSERVER_CONFIG``: path of the YAML file to read;
* ``DAVSERVER_DATA_DIR``: the ``data_dir`` key;
* ``DAVSERVER_DATABASE_URL``: the ``database_url`` key;
* ``DAVSERVER_<SECTION>__<KEY>``: any nested key, e.g. ``DAVSERVER_SERVER__PORT=8081``.

``DAVSERVER_CLOCK_SHIFT`` is not a key: it shifts the clock of the whole process
(:mod:`davserver.clock`, for tests); a bad value is a :class:`ConfigError` here.
"""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from davserver import clock

ENV_PREFIX = "DAVSERVER_"
MAX_SIZE = 2**63 - 1
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|[KMGT]o|B|o)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1, "b": 1, "o": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    # French school practice: "500 Mo" means 500 MiB.
    "ko": 2**10, "mo": 2**20, "go": 2**30, "to": 2**40,
}


_BASE_URL_RE = re.compile(r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
_ADDRESS_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and the file."""


_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*$")


def parse_origin(value: str, *, web_only: bool = True) -> str:
    """``scheme://host[:port]`` in its canonical form (RFC 6454 §6.1: scheme and host in
    lower case, the scheme's default port left out) from an address with no path (a
    final ``/`` is allowed), query, fragment or user. ``web_only``: the scheme must be
    http or https; else any (``app://obsidian.md``, ``capacitor://localhost``: the
    origins of Electron and mobile apps). Raises ``ValueError`` naming what is wrong."""
    text = str(value).strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if not _SCHEME_RE.match(scheme) or "://" not in text or not parts.hostname or (
            web_only and scheme not in _DEFAULT_PORTS):
        kind = "an http:// or https:// address" if web_only else "an origin"
        raise ValueError(f"not {kind} such as https://ent.example.fr: {text!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text \
            or "#" in text:
        raise ValueError(f"{text!r}: give scheme, host and port alone, with no path")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{text!r}: an address cannot carry a user or password")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{text!r}: bad port") from exc
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _origin_list(value: Any, *, web_only: bool) -> list[str]:
    """A list of origins from YAML (a list) or an environment variable (separated by
    commas or spaces), each in its canonical form (:func:`parse_origin`)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list):
        raise ValueError("a list of addresses such as https://ent.example.fr")
    return list(dict.fromkeys(parse_origin(v, web_only=web_only) for v in value))


def parse_size(value: int | str) -> int:
    """Return a byte count from ``1048576``, ``"500MiB"``, ``"2GiB"``, ``"500MB"`` or ``"500 Mo"``.

    Raises ``ValueError`` for anything else, or for more than 2**63 - 1 bytes (what the
    database stores). ``Mo``/``Go`` are binary (school usage).
    """
    if isinstance(value, bool):
        raise ValueError("not a size")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE_RE.match(str(value))
        if not match:
            raise ValueError(f"not a size: {value!r} (examples: 1048576, 500MiB, 2GiB, 500MB)")
        number, unit = match.groups()
        factor = _UNITS[(unit or "").lower()]
        whole, _, fraction = number.partition(".")
        size = int(whole) * factor + (int(fraction) * factor // 10 ** len(fraction)
                                      if fraction else 0)
    if size < 0:
        raise ValueError("a size cannot be negative")
    if size > MAX_SIZE:
        raise ValueError(f"too large: {value!r} (at most {MAX_SIZE} bytes)")
    return size


DEFAULT_CONNECTIONS_PER_ADDRESS = 100
"""Connections one client address may hold when the server faces clients directly:
Windows Explorer and sync clients open a handful each, a classroom behind one NAT
address a few dozen."""


def parse_share(value: float | str) -> float:
    """Return a share between 0 and 1 from ``0.5`` or ``"50%"`` (``"12.5 %"``).

    Raises ``ValueError`` for anything else or a share outside 0–100 %."""
    if isinstance(value, bool):
        raise ValueError("not a share")
    text = str(value).strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"not a share: {value!r} (examples: 0.5, 50%)") from None
    if not 0 <= share <= 1:
        raise ValueError(f"a share is between 0 and 1 (0% and 100%), not {value!r}")
    return share


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PoolConfig(_Section):
    """The database connections of one process (PostgreSQL): ``size`` kept open,
    ``overflow`` more at a peak. Every process counts against PostgreSQL's
    ``max_connections`` (docs/deployment.md, "Sizing a region")."""

    size: int = Field(20, ge=1, le=500)
    overflow: int = Field(40, ge=0, le=1000)


class AccelRedirectConfig(_Section):
    """Large downloads handed to nginx (``X-Accel-Redirect``; :mod:`providers.handoff`).

    ``prefix``: nginx's internal location (``/_blobs/``); ``min_size``: files smaller
    than this many bytes are sent by the server itself (a hand-over costs a look at
    the stored size first)."""

    prefix: str = Field("/_blobs/", pattern=r"^/[A-Za-z0-9._~/-]*/$")
    min_size: int = Field(1024 * 1024, ge=0)

    @field_validator("min_size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return parse_size(value)


class ServerConfig(_Section):
    """HTTP listener (cheroot)."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    threads: int = Field(50, ge=1, le=1000)
    # Connections the kernel queues before a worker accepts them (listen(2) backlog):
    # cheroot's default of 5 resets connections when a classroom connects at once.
    listen_backlog: int = Field(128, ge=1, le=65535)
    # Seconds a socket write may wait for the client, and a kept-alive connection may
    # stay idle between requests.
    socket_timeout: int = Field(300, ge=1)
    # Seconds a request line and headers have, from their first byte, to arrive whole
    # (408 after). Until then a connection holds no worker (davserver/listener.py).
    header_timeout: float = Field(10.0, ge=1, le=300)
    # Seconds a request body may stay silent (no byte arrives) before it is cut (408).
    # Leases of upload reservations outlive it (quotas/leases.py).
    body_idle_timeout: float = Field(60.0, ge=1, le=3600)
    # Connections one client address may hold at once; one more is answered 503.
    # None: 100, or no cap behind a reverse proxy (trust_forwarded_proto or
    # public_urls set), where every connection comes from the proxy and the proxy
    # caps its clients (nginx limit_conn). 0: no cap.
    max_connections_per_address: int | None = Field(None, ge=0, le=100000)
    block_size: int = Field(256 * 1024, ge=4096)
    shutdown_timeout: int = Field(10, ge=0)
    # Seconds between SIGTERM (``/readyz`` turns 503 at once) and closing the listener,
    # for the load balancer to stop sending new requests (davserver/drain.py).
    drain_delay: float = Field(0.0, ge=0, le=300)
    # Large downloads handed to nginx (X-Accel-Redirect); None: the server sends them.
    accel_redirect: AccelRedirectConfig | None = None
    # Signs the web session cookie. None: a random key generated once and kept in
    # ``<data_dir>/web-secret-key`` (every process sharing the data dir uses it).
    secret_key: str | None = Field(None, min_length=32)
    # Behind a reverse proxy that sets X-Forwarded-Proto (and drops the client's own):
    # the web layer then takes the scheme from it (Secure cookies under HTTPS), and a
    # COPY or MOVE Destination may name the scheme and host (X-Forwarded-Host) the
    # proxy says the client used.
    trust_forwarded_proto: bool = False
    # The addresses clients reach the server at through a reverse proxy
    # (``https://ent.example.fr``): a COPY or MOVE Destination on one of them is this
    # server (RFC 4918 §10.3), whatever scheme and host the proxy passes on. The
    # first is the address Login Flow v2 gives an app that came by another one.
    public_urls: list[str] = Field(default_factory=list)

    @field_validator("public_urls", mode="before")
    @classmethod
    def _public_urls(cls, value: Any) -> list[str]:
        return _origin_list(value, web_only=True)

    @property
    def connection_cap(self) -> int | None:
        """Connections allowed per client address (None: no cap), with the default
        of ``max_connections_per_address`` resolved."""
        cap = self.max_connections_per_address
        if cap is None:
            behind_proxy = self.trust_forwarded_proto or bool(self.public_urls)
            return None if behind_proxy else DEFAULT_CONNECTIONS_PER_ADDRESS
        return cap or None


class AuthConfig(_Section):
    """Sign-in against the user table (HTTP Basic on ``/dav/``, the web form).

    The throttle (``acl.throttle``): after ``throttle_after`` consecutive failures of
    one login from one address, that pair is refused (429) for ``throttle_period``
    seconds, twice as long after each further failure, at most ``throttle_max``
    seconds. ``check_threads``: password checks running at once (about 19 MiB each)."""

    realm: str = "ENT"
    cache_ttl: float = Field(60.0, ge=0)
    throttle_after: int = Field(5, ge=1, le=100)
    throttle_period: float = Field(30.0, gt=0, le=86400)
    throttle_max: float = Field(900.0, gt=0, le=86400)
    check_threads: int = Field(2, ge=1, le=64)
    # Removed: the flat delay of every failure held a server thread; the throttle and
    # a constant-time check replace it. Named here to say so instead of "unknown key".
    failure_delay: None = Field(None, validate_default=False)

    @field_validator("failure_delay", mode="before")
    @classmethod
    def _no_failure_delay(cls, value: Any) -> None:
        raise ValueError("no longer used: failed sign-ins are throttled instead "
                         "(auth.throttle_after, auth.throttle_period, auth.throttle_max); "
                         "remove this key")

    @field_validator("throttle_max")
    @classmethod
    def _max_after_period(cls, value: float, info: ValidationInfo) -> float:
        period = info.data.get("throttle_period")
        if period is not None and value < period:
            raise ValueError(f"must be at least auth.throttle_period ({period})")
        return value


_PROVIDER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_UAI = re.compile(r"^[0-9]{7}[A-Z]$")
KNOWN_PROFILES = frozenset({"student", "teacher", "parent", "staff", "head", "admin",
                            "inspector"})
CREATED_PROFILES = frozenset({"student", "teacher", "parent", "staff", "head"})
# The national profile values: the AAF's ``ENTPersonProfils`` (National_ELV...) and
# EduConnect's ``FrEduCtPersonAffiliation`` (eleve, responsable/parent1...).
DEFAULT_PROFILE_VALUES = {
    "National_ELV": "student", "National_TUT": "parent", "National_ENS": "teacher",
    "National_DOC": "teacher", "National_EVS": "staff", "National_ETA": "staff",
    "National_COL": "staff", "National_DIR": "staff",
    "eleve": "student", "responsable": "parent", "parent1": "parent", "parent2": "parent",
}


class AccountAttributes(_Section):
    """The attribute names an identity provider gives for an account made at sign-in
    (``create_accounts``): its profile, its school's UAI, first and last names. The
    external id is the matched identity itself."""

    profile: str = Field("ENTPersonProfils", min_length=1, max_length=100)
    school: str = Field("ENTPersonStructRattachUAI", min_length=1, max_length=100)
    first_name: str = Field("givenName", min_length=1, max_length=100)
    last_name: str = Field("sn", min_length=1, max_length=100)


class ProviderChoice(_Section):
    """One button of a school's sign-in page: a provider of ``federation.providers``
    (``id``) and, if it should differ there, its ``label``. Written as the bare id or
    as ``{id: ..., label: ...}``."""

    id: str
    label: str | None = Field(None, min_length=1, max_length=100)

    @model_validator(mode="before")
    @classmethod
    def _bare_id(cls, value: Any) -> Any:
        return {"id": value} if isinstance(value, str) else value


class SchoolFederationConfig(_Section):
    """One school's sign-in page (``federation.schools.<UAI>``): its ways in in this
    order (``providers``), and whether its login and password form shows
    (``local_passwords``; the deployment's setting when absent)."""

    providers: list[ProviderChoice] = Field(default_factory=list)
    local_passwords: bool | None = None


class IdentityProviderConfig(_Section):
    """One identity provider of ``federation.providers`` (``docs/admin.md``,
    "Identity federation").

    ``id``: its name in our addresses (``/login/ID``), lower-case letters, digits and
    hyphens. ``kind``: ``cas`` (CAS 2.0 or 3.0, ``version``), ``saml`` (SAML 2.0,
    with the provider's metadata) or ``oidc`` (OpenID Connect, with ``client_id``).
    ``label``: the sign-in
    page's button ("Personnel de l'Éducation nationale"). ``server_url``: the CAS
    server's base address (``https://cas.ac-exemple.fr/cas/``; ``login``,
    ``p3/serviceValidate`` and ``logout`` are under it). Matching: the identity is
    the value of ``match_attribute`` among the released attributes (CAS 3), or the CAS
    user when it is empty, and names the user whose external id of kind
    ``match_kind`` (``aaf``, ``educonnect``: what people imports store) has that
    value. ``verify_tls``: check the server's certificate (only a test turns it off)."""

    id: str
    kind: Literal["cas", "saml", "oidc"] = "cas"
    label: str = Field(min_length=1, max_length=100)
    server_url: str = ""
    version: Literal[2, 3] = 3
    # OpenID Connect: ``server_url`` is the issuer (its discovery document is
    # ``.well-known/openid-configuration`` under it); our client id and secret there,
    # and the scopes asked for. Without match_attribute, the ``sub`` claim names the
    # person.
    client_id: str = Field("", max_length=200)
    client_secret: str = Field("", max_length=500)
    scopes: str = Field("openid profile email", max_length=500)
    # SAML 2.0: the identity provider's metadata (a file, or an address read at
    # start-up), its entity id when the metadata describes several, whether our
    # authentication requests are signed. Without match_attribute, the NameID names
    # the person.
    metadata_file: Path | None = None
    metadata_url: str | None = None
    idp_entity_id: str | None = None
    sign_requests: bool = False
    match_attribute: str | None = None
    match_kind: str = Field("aaf", min_length=1, max_length=16)
    # Accounts made at the first sign-in of an unknown identity (off: the "account not
    # known" page). ``account_attributes``: the provider's attribute names for the
    # profile, the school's UAI and the names; ``profiles``: the provider's profile
    # values → ours (the AAF's and EduConnect's by default).
    create_accounts: bool = False
    account_attributes: AccountAttributes = Field(default_factory=lambda: AccountAttributes())
    profiles: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PROFILE_VALUES))
    verify_tls: bool = True
    timeout: float = Field(10.0, gt=0, le=120)  # seconds for the ticket's validation

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _PROVIDER_ID.match(value):
            raise ValueError("lower-case letters, digits and hyphens, 32 at most "
                             f"(\"academie\", \"educonnect\"): {value!r}")
        return value

    @field_validator("profiles")
    @classmethod
    def _profiles_made(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = sorted({p for p in value.values() if p not in CREATED_PROFILES})
        if wrong:
            raise ValueError(f"accounts made at sign-in may be {sorted(CREATED_PROFILES)}, "
                             f"not {wrong} (make those by hand)")
        return value

    @model_validator(mode="after")
    def _kind_needs(self) -> IdentityProviderConfig:
        if self.kind == "cas" and not self.server_url:
            raise ValueError(f"provider {self.id!r}: a CAS provider needs server_url")
        if self.kind == "oidc" and not (self.server_url and self.client_id):
            raise ValueError(f"provider {self.id!r}: an OpenID Connect provider needs "
                             "server_url (the issuer) and client_id")
        if self.kind == "oidc" and "openid" not in self.scopes.split():
            raise ValueError(f"provider {self.id!r}: scopes must include openid")
        if self.kind == "saml" and not (self.metadata_file or self.metadata_url):
            raise ValueError(f"provider {self.id!r}: a SAML provider needs metadata_file "
                             "or metadata_url (the identity provider's metadata)")
        return self

    @field_validator("server_url")
    @classmethod
    def _server_url(cls, value: str) -> str:
        if not value.strip():
            return ""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ValueError(f"an http:// or https:// address with no query: {value!r}")
        text = value.strip()
        return text if text.endswith("/") else text + "/"


class FederationConfig(_Section):
    """Sign-in through identity providers (``davserver.federation``). ``providers``:
    the sign-in page's buttons, in this order; ``local_label``: the title of the
    login and password form ("Autre compte"), shown unless ``local_passwords`` is
    false; ``no_local_passwords``: profiles whose local password is refused on the
    web (they federate; their drives use app passwords)."""

    providers: list[IdentityProviderConfig] = Field(default_factory=list)
    local_passwords: bool = True
    local_label: str = Field("Autre compte", min_length=1, max_length=100)
    no_local_passwords: list[str] = Field(default_factory=list)
    # The ways in of a school's sign-in page, by UAI; a school not named here offers
    # ``default_providers`` (None: every provider, in the order above).
    default_providers: list[ProviderChoice] | None = None
    schools: dict[str, SchoolFederationConfig] = Field(default_factory=dict)

    @field_validator("providers", "schools", "default_providers", mode="before")
    @classmethod
    def _providers_text(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML or JSON given as text (``DAVSERVER_FEDERATION__PROVIDERS``,
        ``DAVSERVER_FEDERATION__SCHOOLS``); empty text is the default."""
        if isinstance(value, str):
            empty: Any = {"providers": [], "schools": {}}.get(info.field_name or "")
            return yaml.safe_load(value) or empty
        return value

    @field_validator("schools")
    @classmethod
    def _uai_keys(cls, value: dict[str, SchoolFederationConfig]) -> \
            dict[str, SchoolFederationConfig]:
        out = {}
        for uai, school in value.items():
            key = str(uai).strip().upper()
            if not _UAI.match(key):
                raise ValueError(f"a school is named by its UAI, seven digits and a "
                                 f"letter (0750654D): {uai!r}")
            out[key] = school
        return out

    def offer(self, uai: str | None) -> list[IdentityProviderConfig]:
        """The providers the sign-in page of the school ``uai`` offers (None: the
        deployment's page), in order, each with its label there."""
        section = self.schools.get(uai.upper()) if uai else None
        choices = section.providers if section is not None else self.default_providers
        if choices is None:
            return list(self.providers)
        known = {p.id: p for p in self.providers}
        return [known[c.id].model_copy(update={"label": c.label}) if c.label
                else known[c.id] for c in choices]

    def offers_local_passwords(self, uai: str | None) -> bool:
        """Whether the school ``uai``'s sign-in page has the login and password form."""
        section = self.schools.get(uai.upper()) if uai else None
        if section is None or section.local_passwords is None:
            return self.local_passwords
        return section.local_passwords

    @field_validator("no_local_passwords", mode="before")
    @classmethod
    def _profiles_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value

    @field_validator("no_local_passwords")
    @classmethod
    def _known_profiles(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in KNOWN_PROFILES]
        if unknown:
            raise ValueError(f"unknown profile(s) {unknown}: use {sorted(KNOWN_PROFILES)}")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> FederationConfig:
        ids = [p.id for p in self.providers]
        doubles = sorted({i for i in ids if ids.count(i) > 1})
        if doubles:
            raise ValueError(f"provider ids must be unique: {doubles}")
        lists = [("default_providers", self.default_providers or [])] + \
            [(f"schools.{uai}.providers", s.providers) for uai, s in self.schools.items()]
        for where, choices in lists:
            named = [c.id for c in choices]
            unknown = sorted(set(named) - set(ids))
            if unknown:
                raise ValueError(f"{where}: no provider {unknown} in federation.providers "
                                 f"(known: {ids})")
            if len(set(named)) != len(named):
                raise ValueError(f"{where}: a provider is named twice")
        return self


class DavConfig(_Section):
    """WebDAV protocol limits and options.

    ``lock_max_timeout``: the longest lifetime of a lock, in seconds, and what
    ``Timeout: Infinite``, a missing ``Timeout`` or a larger one get; a refresh
    extends a lock by at most this much (issue 17: a forgotten lock must not block a
    rubric for a week). ``max_locks_per_user``: the most active locks one user may
    hold at once, over all spaces (issue 18)."""

    propfind_infinity: bool = False
    max_xml_body: int = Field(1024 * 1024, ge=1024)
    lock_max_timeout: int = Field(3600, ge=60, le=7 * 24 * 3600)
    max_locks_per_user: int = Field(1000, ge=1, le=1_000_000)
    # Origins of browser and Electron WebDAV apps allowed to use /dav/ by CORS
    # (``https://app.keeweb.info``); empty: no CORS header is ever sent.
    cors_origins: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "lock_timeout_max" in data:
            # Not silently carried over: the old default (a week) is what issue 17
            # replaced, and an old file would bring it back.
            raise ValueError("lock_timeout_max was renamed lock_max_timeout (seconds; "
                             "default 3600)")
        return data

    @field_validator("max_xml_body", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return parse_size(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _cors_origins(cls, value: Any) -> list[str]:
        return _origin_list(value, web_only=False)


class SyncConfig(_Section):
    """The Nextcloud and ownCloud apps (``davserver.sync_api``, ``davserver.sync_routes``).

    ``enabled``: serve ``/status.php``, ``/ocs/`` and ``/remote.php/``; ``product_name``:
    what the apps show as the server's name; ``upload_expiry``: seconds a chunked
    upload may stay idle (no chunk) before it is cancelled and its space freed."""

    enabled: bool = True
    product_name: str = Field("ENT", min_length=1, max_length=100)
    upload_expiry: int = Field(24 * 3600, ge=60, le=30 * 24 * 3600)


class QuotasConfig(_Section):
    """Default limits (bytes, or sizes such as ``500MiB``, ``2GiB``, ``500MB``, ``500 Mo``).

    ``profiles`` overrides the documents-space limit for users of a profile."""

    documents: int = 500 * 2**20
    binder: int = 500 * 2**20
    rubric: int = 2 * 2**30
    archive: int = 20 * 2**30
    profiles: dict[str, int] = Field(default_factory=dict)

    @field_validator("documents", "binder", "rubric", "archive", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return parse_size(value)

    @field_validator("profiles", mode="before")
    @classmethod
    def _profile_sizes(cls, value: Any) -> dict[str, int]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("a mapping of profile: size")
        known = {"student", "teacher", "parent", "staff", "head", "admin", "inspector"}
        out = {}
        for profile, size in value.items():
            if profile not in known:
                raise ValueError(f"unknown profile {profile!r} (one of {', '.join(sorted(known))})")
            out[profile] = parse_size(size)
        return out


class TrashConfig(_Section):
    """The trash (corbeille) of every space (issue 8)."""

    # Days a deleted item is kept at least; ``davserver trash purge`` (a daily timer)
    # destroys older ones. 0 purges everything on the next run.
    retention_days: int = Field(30, ge=0, le=36500)
    # The most of a space's quota its trash may hold (0 to 1, or a percentage such as
    # "50%"); past it, and whenever a write needs the room, the oldest deleted items
    # are purged (issue 17, Nextcloud's rule). Deleted items never count in the usage.
    max_share: float = 0.5

    @field_validator("max_share", mode="before")
    @classmethod
    def _share(cls, value: Any) -> float:
        return parse_share(value)


class VersionsConfig(_Section):
    """Earlier versions of files (issue 23)."""

    # The most of a space's quota the earlier versions of its files may hold (0 to 1,
    # or a percentage such as "50%"); past it, and whenever a write needs the room,
    # the oldest versions are purged. Versions never count in the usage.
    max_share: float = 0.5

    @field_validator("max_share", mode="before")
    @classmethod
    def _share(cls, value: Any) -> float:
        return parse_share(value)


class JournalConfig(_Section):
    """The security journal (``davserver.journal``)."""

    # Days an event is kept; ``davserver audit purge`` (a daily timer) deletes older
    # ones. A year by default: a school answers for the past school year.
    retention_days: int = Field(365, ge=1, le=36500)


class ImportsConfig(_Section):
    """School data in over WebDAV: the schools' imports folders (``/dav/imports/<UAI>/``)."""

    # Seconds a school's imports folder must stay quiet after a file arrives before
    # what was dropped is imported together (several AAF files, a client writing a
    # file in two steps).
    drop_delay: float = Field(3.0, ge=0.0, le=3600.0)


class WebConfig(_Section):
    """The browser side (``web/``)."""

    locale: str = Field("fr", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    session_lifetime: int = Field(8 * 3600, ge=60)
    # File manager: a space's pages warn from this share of its quota (percent).
    quota_warning_percent: int = Field(80, ge=1, le=100)
    # File manager: most files one zip download (a folder or a selection) may hold.
    zip_max_files: int = Field(2000, ge=1)
    # The address users reach the site at (``https://ent.example.fr``): what makes the
    # links of e-mailed notifications absolute. None: e-mails give the bare path.
    base_url: str | None = None

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not _BASE_URL_RE.match(value):
            raise ValueError("an http:// or https:// address without query or fragment, "
                             "e.g. https://ent.example.fr")
        return value.rstrip("/")


class SmtpConfig(_Section):
    """E-mail of notifications (``web.notifications``): the SMTP server messages go
    through (standard library ``smtplib``). Off by default.

    ``security``: ``none`` (plain, port 25 on a trusted relay), ``starttls`` (RFC 3207,
    port 587) or ``tls`` (implicit TLS, RFC 8314, port 465). ``timeout`` is seconds per
    network operation; a failed message is tried again after ``retry_delay`` seconds,
    then twice as long each time, ``max_attempts`` times in all, then marked failed."""

    enabled: bool = False
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    password: str | None = None
    from_address: str | None = Field(None, validate_default=True)
    timeout: float = Field(30.0, gt=0, le=600)
    max_attempts: int = Field(8, ge=1, le=100)
    retry_delay: float = Field(60.0, gt=0, le=86400)
    poll_interval: float = Field(30.0, gt=0, le=3600)

    @field_validator("from_address")
    @classmethod
    def _from_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = (value or "").strip()
        if value and not _ADDRESS_RE.match(value):
            raise ValueError(f"not an e-mail address: {value!r}")
        if not value and info.data.get("enabled"):
            raise ValueError("required when smtp.enabled is true (e.g. ent@example.fr)")
        return value or None


class TextbookConfig(_Section):
    """When students and parents see what teachers write (issue 5, "Who sees what").

    ``content_visible``: a lesson's content shows once the lesson ``end``s (default) or
    at its ``start``, as timetable software offers; a teacher may publish earlier.
    Quiet hours: homework entered from ``quiet_start`` to ``quiet_end`` (wall-clock,
    the school's zone), and on weekends when ``quiet_weekends``, shows at the end of
    the quiet period, so students do not find new work late at night."""

    content_visible: Literal["end", "start"] = "end"
    quiet_hours: bool = True
    quiet_start: time = time(20)
    quiet_end: time = time(7)
    quiet_weekends: bool = True


class S3Config(_Section):
    """An S3-compatible bucket holding the blobs (``blobs.kind: s3``;
    :mod:`providers.s3_blobs`).

    Credentials: ``access_key_id`` and ``secret_access_key`` (best set through the
    environment, ``DAVSERVER_BLOBS__S3__SECRET_ACCESS_KEY``), or ``credentials_file``,
    an AWS-style INI file (``[profile]`` with ``aws_access_key_id`` and
    ``aws_secret_access_key``), or else boto3's own search (``AWS_ACCESS_KEY_ID``...,
    an instance role). ``part_size``: bytes buffered per part of a multipart upload
    (at least 5 MiB, S3's minimum); a file up to that size is one PUT.
    ``abandoned_after``: seconds after which an unfinished multipart upload is
    counted, and aborted, by ``davserver fsck`` (uploads in flight are younger)."""

    endpoint_url: str | None = None
    bucket: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    region: str = "us-east-1"
    prefix: str = Field("blobs/", pattern=r"^$|^[A-Za-z0-9._/-]*/$")
    addressing_style: Literal["path", "virtual", "auto"] = "path"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    credentials_file: Path | None = None
    profile: str = "default"
    part_size: int = Field(8 * 2**20, ge=5 * 2**20, le=5 * 2**30)
    connect_timeout: float = Field(3.0, gt=0, le=60)
    read_timeout: float = Field(30.0, gt=0, le=600)
    attempts: int = Field(2, ge=1, le=10)
    abandoned_after: int = Field(24 * 3600, ge=0)

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not _BASE_URL_RE.match(value):
            raise ValueError("an http:// or https:// address, e.g. https://s3.example.fr")
        return value.rstrip("/")

    @field_validator("part_size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return parse_size(value)

    @model_validator(mode="after")
    def _credentials(self) -> S3Config:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("give both access_key_id and secret_access_key, or neither")
        if self.credentials_file is not None and self.access_key_id is not None:
            raise ValueError("give credentials_file or the keys, not both")
        return self

    def credentials(self) -> tuple[str, str] | None:
        """``(access key id, secret access key)`` from the keys or the credentials file,
        or None to let boto3 look for them. Raises ``ValueError`` naming what is wrong
        with the file."""
        if self.access_key_id is not None and self.secret_access_key is not None:
            return self.access_key_id, self.secret_access_key
        if self.credentials_file is None:
            return None
        import configparser

        parser = configparser.ConfigParser()
        try:
            with open(self.credentials_file, encoding="utf-8") as handle:
                parser.read_file(handle)
        except OSError as exc:
            raise ValueError(f"credentials_file {self.credentials_file}: cannot read: "
                             f"{exc.strerror}") from exc
        except configparser.Error as exc:
            raise ValueError(f"credentials_file {self.credentials_file}: not an INI "
                             "file with [profile] sections") from exc
        if not parser.has_section(self.profile):
            raise ValueError(f"credentials_file {self.credentials_file}: no "
                             f"[{self.profile}] section")
        section = parser[self.profile]
        key, secret = section.get("aws_access_key_id"), section.get("aws_secret_access_key")
        if not key or not secret:
            raise ValueError(f"credentials_file {self.credentials_file}: [{self.profile}] "
                             "needs aws_access_key_id and aws_secret_access_key")
        return key, secret


class BlobsConfig(_Section):
    """Where file contents live: ``local`` (the directory ``blob_dir``, possibly on a
    shared filesystem) or ``s3`` (an S3-compatible bucket, section ``s3``)."""

    kind: Literal["local", "s3"] = "local"
    s3: S3Config = Field(default_factory=S3Config)

    @model_validator(mode="after")
    def _complete(self) -> BlobsConfig:
        if self.kind == "s3":
            if not self.s3.bucket:
                raise ValueError("blobs.kind is s3: set blobs.s3.bucket")
            self.s3.credentials()  # a bad credentials file stops the start, named
        return self


class LoggingConfig(_Section):
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value


class Config(_Section):
    """The whole configuration. Paths are resolved against the working directory."""

    data_dir: Path = Path("var")
    database_url: str | None = None
    database_pool: PoolConfig = Field(default_factory=PoolConfig)
    blob_dir: Path | None = None
    blobs: BlobsConfig = Field(default_factory=BlobsConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    federation: FederationConfig = Field(default_factory=FederationConfig)
    dav: DavConfig = Field(default_factory=DavConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    quotas: QuotasConfig = Field(default_factory=QuotasConfig)
    trash: TrashConfig = Field(default_factory=TrashConfig)
    versions: VersionsConfig = Field(default_factory=VersionsConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    imports: ImportsConfig = Field(default_factory=ImportsConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    textbook: TextbookConfig = Field(default_factory=TextbookConfig)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    source: str = Field("(defaults)", exclude=True)

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy URL: ``database_url`` or SQLite ``<data_dir>/davserver.sqlite3``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'davserver.sqlite3').resolve()}"

    @property
    def effective_blob_dir(self) -> Path:
        """Directory of the embedded blob store: ``blob_dir`` or ``<data_dir>/blobs``."""
        return (self.blob_dir or self.data_dir / "blobs").resolve()


_NOT_KEYS = {ENV_PREFIX + "CONFIG", clock.SHIFT_VARIABLE}


def _env_overrides(environ: dict[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """Nested overrides from ``DAVSERVER_*`` variables, and which variable set each key."""
    out: dict[str, Any] = {}
    origin: dict[tuple[str, ...], str] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _NOT_KEYS:
            continue
        keys = name[len(ENV_PREFIX):].lower().split("__")
        node = out
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
        origin[tuple(keys)] = name
    return out, origin


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read, merge and validate the configuration.

    ``path`` wins over ``DAVSERVER_CONFIG``; with neither, ``./config.yaml`` is read if it
    exists, else the built-in defaults apply. Raises :class:`ConfigError`.
    """
    environ = dict(os.environ if environ is None else environ)
    chosen = path or environ.get(ENV_PREFIX + "CONFIG")
    if chosen is None and Path("config.yaml").is_file():
        chosen = "config.yaml"
    data: dict[str, Any] = {}
    source = "(defaults)"
    if chosen is not None:
        source = str(chosen)
        try:
            loaded = yaml.safe_load(Path(chosen).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{source}: the top level must be a mapping of keys")
        data = loaded or {}
    if clock.SHIFT_VARIABLE in environ:
        try:
            clock.parse_shift(environ[clock.SHIFT_VARIABLE])
        except ValueError as exc:
            raise ConfigError(f"environment variable {clock.SHIFT_VARIABLE}: {exc}") from None
    overrides, origin = _env_overrides(environ)
    data = _merge(data, overrides)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(str(p) for p in err["loc"])
            where = next((f"environment variable {var}" for keys, var in origin.items()
                          if loc[:len(keys)] == keys), source)
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{where}: {'.'.join(loc)}: {message}")
        raise ConfigError("; ".join(problems)) from exc
    config.source = source
    return config
