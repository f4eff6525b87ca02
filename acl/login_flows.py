"""Login Flow v2: a sync app (Nextcloud's and ownCloud's desktop and mobile apps) adds
an account through the browser and receives an app password for its device
(Nextcloud's developer manual, "Login Flow", v2; :mod:`acl.app_passwords`).

**The steps.**

1. The app starts a flow (:func:`start_flow`, ``POST /index.php/login/v2``): it gets
   a *poll token* and the browser gets a *login token* in the address it opens. Two
   tokens, so that the address, seen in a browser's history, never lets anyone
   collect the password.
2. In the browser, the user signs in (any way in: a local password, CAS, SAML), accepts
   the charter if they have not, then grants the device (:func:`grant_flow`) or
   cancels (:func:`cancel_flow`). The grant makes an app password named after the
   device (:func:`device_label`, from the app's ``User-Agent``), at once in the
   user's list, revocable there.
3. The app polls (:func:`poll_flow`, ``POST /index.php/login/v2/poll``): nothing until
   the grant, then the server's address, the login and the app password, exactly
   once (the claim is one conditional ``UPDATE``, so two processes answering two
   polls at once deliver it once).

A flow lives :data:`LIFETIME` seconds (20 minutes, as Nextcloud's); a pending,
cancelled or expired flow answers nothing. Rows are kept :data:`KEEP_AFTER` seconds
past their end, so that an app still polling an ended flow is told "nothing" rather
than counted as guessing tokens; a granted flow that no poll collected in time has its
app password removed then (a password no device can know).

**Storage.** Every process answers any step: the flow is a row of ``login_flows``.
The tokens are stored as SHA-256 (random 384-bit tokens: a fast hash is enough, the
argument of :mod:`acl.app_passwords`). Between the grant and the poll the app
password must be kept, but not readable from the database alone: as Nextcloud does
(with RSA), each flow has a key pair (X25519, made at the start); its private half is
sealed (AES-GCM) under a key derived from the poll token, which is not stored; the
grant seals the password to the public half (ephemeral X25519, HKDF-SHA256,
AES-GCM). Only whoever holds the poll token opens it, and the sealed copy is erased
when delivered. The ``cryptography`` library does the primitives.

Times are UTC epoch seconds from :mod:`davserver.clock`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from davserver import clock, journal
from davserver.errors import NotFound, TooManyRequests

from .app_passwords import MAX_LABEL, UserRef, create_app_password, revoke_app_password
from .models import User
from .signin_models import AppPassword, LoginFlow

LIFETIME = 20 * 60.0  # seconds a flow may wait for its grant and its poll (Nextcloud's)
KEEP_AFTER = 3600.0  # seconds an ended flow's row is kept (see the module docstring)
MAX_PENDING_PER_ADDRESS = 100  # flows waiting from one address (a school's NAT: a class)
TOKEN_BYTES = 48  # 384 bits; 64 URL-safe characters
MAX_CLIENT_NAME = 255
PENDING, GRANTED, DELIVERED, CANCELLED = "pending", "granted", "delivered", "cancelled"
_INFO = b"ent login flow v2"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,128}")


@dataclass(frozen=True)
class StartedFlow:
    """What :func:`start_flow` hands the app: the two tokens (shown once, never
    stored) and when the flow ends."""

    id: int
    poll_token: str
    login_token: str
    expires: float


@dataclass(frozen=True)
class FlowInfo:
    """A flow as the grant page shows it."""

    id: int
    state: str
    label: str
    client_name: str
    address: str | None
    created: float
    expires: float


@dataclass(frozen=True)
class Delivery:
    """What the app receives once granted: the server's address, the login to sign in
    with, and the app password."""

    server: str
    login: str
    app_password: str


def token_hash(token: str) -> str:
    """The stored form of a token: SHA-256, hex."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def looks_like_token(token: str) -> bool:
    """True if ``token`` has the shape of ours (URL-safe base64, 20 to 128 characters):
    anything else is refused before any query."""
    return _TOKEN.fullmatch(token) is not None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def _poll_key(poll_token: str) -> bytes:
    """The AES key sealing the flow's private key: derived from the poll token, and
    distinct from its stored hash."""
    return hashlib.sha256(b"ent login flow v2 key\x00" + poll_token.encode("ascii")).digest()


def _seal_to(public: bytes, secret: bytes) -> bytes:
    """``secret`` sealed to the X25519 public key ``public``: ephemeral public key,
    nonce, AES-GCM ciphertext."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public))
    key = HKDF(hashes.SHA256(), 32, salt=None, info=_INFO + ephemeral_public + public
               ).derive(shared)
    nonce = os.urandom(12)
    return ephemeral_public + nonce + AESGCM(key).encrypt(nonce, secret, _INFO)


def _open_sealed(private: X25519PrivateKey, sealed: bytes) -> bytes:
    """The secret :func:`_seal_to` sealed; raises ``InvalidTag`` when it was not sealed
    to ``private``'s public key."""
    ephemeral_public, nonce, body = sealed[:32], sealed[32:44], sealed[44:]
    public = private.public_key().public_bytes_raw()
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    key = HKDF(hashes.SHA256(), 32, salt=None, info=_INFO + ephemeral_public + public
               ).derive(shared)
    return AESGCM(key).decrypt(nonce, body, _INFO)


# What the sync apps put in their User-Agent (their sources: the desktop app's
# "Mozilla/5.0 (Linux) mirall/3.7.3 (Nextcloud, debian-6.1 ...)", the mobile apps'
# "Mozilla/5.0 (Android) Nextcloud-android/3.26.0" and "... (iOS) Nextcloud-iOS/4.9").
_DESKTOP = re.compile(r"^Mozilla/5\.0 \(([^)]+)\) (?:mirall|csyncoC)/\S+"
                      r"(?: \(build [^)]*\))? \(([^,)]+)")
_MOBILE = re.compile(r"\((Android|iOS)\) ([A-Za-z]+)-(?:android|iOS)/", re.IGNORECASE)
_SYSTEMS = {"macintosh": "macOS", "macos": "macOS", "windows": "Windows", "linux": "Linux"}


def device_label(user_agent: str) -> str:
    """The name of the device an app password is for, from the app's ``User-Agent``:
    "Nextcloud sur ordinateur (Linux)", "Nextcloud sur Android", else the
    ``User-Agent`` itself, cut ("Appareil inconnu" when there is none)."""
    found = _DESKTOP.match(user_agent)
    if found:
        system = _SYSTEMS.get(found.group(1).strip().lower(), found.group(1).strip())
        return _cut(f"{found.group(2).strip()} sur ordinateur ({system})")
    found = _MOBILE.search(user_agent)
    if found:
        system = "Android" if found.group(1).lower() == "android" else "iPhone ou iPad"
        return _cut(f"{found.group(2)} sur {system}")
    text = "".join(c for c in user_agent if c.isprintable()).strip()
    return _cut(text) if text else "Appareil inconnu"


def _cut(text: str, size: int = 80) -> str:
    return text if len(text) <= size else text[:size - 1].rstrip() + "…"


def start_flow(session: Session, user_agent: str, server: str, address: str | None
               ) -> StartedFlow:
    """Start a flow for the app whose ``User-Agent`` is ``user_agent``, which reached
    us at ``server`` (an origin, ``https://ent.example.fr``) from ``address``. Ended
    flows older than :data:`KEEP_AFTER` are removed on the way (:func:`purge_flows`).
    Raises :class:`TooManyRequests` when ``address`` has
    :data:`MAX_PENDING_PER_ADDRESS` flows waiting already (anyone may start one: a
    bound on the rows a script can make)."""
    now = clock.time()
    purge_flows(session, now)
    waiting = session.scalar(select(func.count()).select_from(LoginFlow).where(
        LoginFlow.address == ((address or "")[:64] or None), LoginFlow.state == PENDING,
        LoginFlow.expires > now)) or 0
    if address and waiting >= MAX_PENDING_PER_ADDRESS:
        oldest = session.scalar(select(func.min(LoginFlow.expires)).where(
            LoginFlow.address == address[:64], LoginFlow.state == PENDING,
            LoginFlow.expires > now)) or now + LIFETIME
        raise TooManyRequests(f"{waiting} sign-in requests from {address} are waiting "
                              "already: finish or cancel one",
                              retry_after=max(1, int(oldest - now + 0.999)))
    poll_token = secrets.token_urlsafe(TOKEN_BYTES)
    login_token = secrets.token_urlsafe(TOKEN_BYTES)
    private = X25519PrivateKey.generate()
    nonce = os.urandom(12)
    sealed_key = nonce + AESGCM(_poll_key(poll_token)).encrypt(
        nonce, private.private_bytes_raw(), _INFO)
    client = "".join(c for c in user_agent if c.isprintable())[:MAX_CLIENT_NAME]
    row = LoginFlow(poll_hash=token_hash(poll_token), login_hash=token_hash(login_token),
                    state=PENDING, client_name=client, label=device_label(user_agent),
                    server=server[:255], address=(address or "")[:64] or None,
                    created=now, expires=now + LIFETIME,
                    public_key=_b64(private.public_key().public_bytes_raw()),
                    sealed_key=_b64(sealed_key))
    session.add(row)
    session.flush()
    return StartedFlow(row.id, poll_token, login_token, row.expires)


def _info(row: LoginFlow) -> FlowInfo:
    return FlowInfo(row.id, row.state, row.label, row.client_name, row.address,
                    row.created, row.expires)


def flow_for_browser(session: Session, login_token: str) -> FlowInfo:
    """The flow the browser's address names, waiting for its grant. Raises
    :class:`NotFound` when there is none, or it expired, was granted or cancelled."""
    row = _pending(session, login_token)
    return _info(row)


def _pending(session: Session, login_token: str, *, lock: bool = False) -> LoginFlow:
    if not looks_like_token(login_token):
        raise NotFound("no such sign-in request")
    query = select(LoginFlow).where(LoginFlow.login_hash == token_hash(login_token))
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("no such sign-in request")
    if row.state != PENDING:
        raise NotFound("this sign-in request was answered already")
    if row.expires <= clock.time():
        raise NotFound("this sign-in request has expired")
    return row


def free_label(session: Session, user_id: int, label: str) -> str:
    """``label``, or ``label (2)``, ``(3)``… when the user has an app password named so."""
    taken = set(session.scalars(select(AppPassword.label)
                                .where(AppPassword.user_id == user_id)))
    if label not in taken:
        return label
    for n in range(2, 100):
        suffix = f" ({n})"
        candidate = label[:MAX_LABEL - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    return label  # create_app_password refuses it, as it refuses a 51st password


def grant_flow(session: Session, login_token: str, user: UserRef, *,
               actor: journal.Actor | None = None, address: str | None = None
               ) -> FlowInfo:
    """Grant the flow named by ``login_token`` to ``user``: make their app password
    (named after the device, numbered if that name is taken), sealed for the poll.
    Journaled by :func:`acl.create_app_password`. Raises :class:`NotFound` as
    :func:`flow_for_browser` does, and what :func:`acl.create_app_password` raises
    (Forbidden before the charter is accepted, Conflict at 50 passwords)."""
    row = _pending(session, login_token, lock=True)
    login = session.scalar(select(User.login).where(User.id == user.id))
    if login is None:
        raise NotFound(f"no user with id {user.id}")
    label = free_label(session, user.id, row.label)
    made, secret = create_app_password(session, user, label, actor=actor, address=address)
    row.state = GRANTED
    row.user_id = user.id
    row.login = login
    row.app_password_id = made.id
    row.label = made.label
    row.sealed_secret = _b64(_seal_to(_unb64(row.public_key), secret.encode("ascii")))
    session.flush()
    return _info(row)


def cancel_flow(session: Session, login_token: str) -> FlowInfo:
    """Cancel the pending flow named by ``login_token`` (its poll then answers
    nothing). Raises :class:`NotFound` as :func:`flow_for_browser` does."""
    row = _pending(session, login_token, lock=True)
    row.state = CANCELLED
    session.flush()
    return _info(row)


def poll_known(session: Session, poll_token: str) -> bool:
    """True if ``poll_token`` is (or was, within :data:`KEEP_AFTER`) a flow's: the
    poll of an unknown token counts as a failed sign-in, a known one never does."""
    if not looks_like_token(poll_token):
        return False
    return session.scalar(select(LoginFlow.id).where(
        LoginFlow.poll_hash == token_hash(poll_token))) is not None


def poll_flow(session: Session, poll_token: str) -> Delivery | None:
    """The app's poll: the :class:`Delivery` of a granted flow, once; None while it
    waits, and for a flow cancelled, expired, delivered already, or unknown."""
    if not looks_like_token(poll_token):
        return None
    now = clock.time()
    row = session.scalar(select(LoginFlow).where(
        LoginFlow.poll_hash == token_hash(poll_token)))
    if row is None or row.state != GRANTED or row.expires <= now \
            or row.sealed_secret is None or row.login is None:
        return None
    sealed_key, sealed_secret = _unb64(row.sealed_key), _unb64(row.sealed_secret)
    delivery_to = (row.server, row.login)
    # The claim: one conditional UPDATE, so that one poll only gets the password (it
    # also clears the row's attributes in this session: read above).
    claimed = session.execute(update(LoginFlow).where(
        LoginFlow.id == row.id, LoginFlow.state == GRANTED).values(
        state=DELIVERED, sealed_secret=None, sealed_key=""))
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    try:
        private = X25519PrivateKey.from_private_bytes(AESGCM(_poll_key(poll_token)).decrypt(
            sealed_key[:12], sealed_key[12:], _INFO))
        secret = _open_sealed(private, sealed_secret).decode("ascii")
    except (InvalidTag, ValueError):
        return None  # not ours to open (a row altered in the database)
    return Delivery(*delivery_to, secret)


def purge_flows(session: Session, now: float) -> int:
    """Remove the flows ended more than :data:`KEEP_AFTER` seconds before ``now``; a
    granted one nobody collected takes its app password with it (journaled as a
    revocation). Returns how many flows went."""
    ended = list(session.scalars(select(LoginFlow).where(
        LoginFlow.expires < now - KEEP_AFTER)))
    for row in ended:
        if row.state == GRANTED and row.user_id is not None \
                and row.app_password_id is not None:
            with contextlib.suppress(NotFound):  # revoked by its owner meanwhile
                revoke_app_password(session, row.user_id, row.app_password_id)
    if ended:
        session.execute(delete(LoginFlow).where(
            LoginFlow.id.in_([r.id for r in ended])))
    return len(ended)


__all__ = ["CANCELLED", "DELIVERED", "Delivery", "FlowInfo", "GRANTED", "LIFETIME",
           "PENDING", "StartedFlow", "cancel_flow", "device_label", "flow_for_browser",
           "free_label", "grant_flow", "looks_like_token", "poll_flow", "poll_known", "purge_flows",
           "start_flow", "token_hash"]
