"""Sign-in tables: failure counts of the throttle, browsers' sessions, and the
generation of credentials that tells every process to forget what it cached.

Times are UTC epoch seconds (floats), as on nodes: they are compared with the clock,
never shown without formatting.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from davserver.db import Base


class SignInThrottle(Base):
    """Consecutive failed sign-ins of one login from one client address
    (:mod:`acl.throttle`). A row exists only after a failure; a success deletes it."""

    __tablename__ = "sign_in_throttles"
    login: Mapped[str] = mapped_column(String(255), primary_key=True)  # as typed
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure: Mapped[float] = mapped_column(Float, index=True)
    blocked_until: Mapped[float | None] = mapped_column(Float)


class WebSession(Base):
    """A browser's session (:mod:`acl.sessions`): the cookie holds a random id, this
    row its SHA-256. ``user_id`` is None for a visitor not signed in (who needs a
    CSRF token for the sign-in form). ``method`` is how the user signed in
    (``password``; later ``saml``, ``cas``) and ``idp_session`` the identity
    provider's own session (SAML SessionIndex, CAS ticket), by which single logout
    ends it. ``data`` is what the web layer keeps for the browser (its CSRF token,
    flashed messages, the chosen school), serialised by ``web.sessions``."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    created: Mapped[float] = mapped_column(Float)
    renewed: Mapped[float] = mapped_column(Float)
    expires: Mapped[float] = mapped_column(Float, index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16), default="password")
    idp_session: Mapped[str | None] = mapped_column(String(255), index=True)
    data: Mapped[str | None] = mapped_column(Text)


class CredentialGeneration(Base):
    """One row (id 1): raised whenever an account is disabled, a password changed or
    a user signed out everywhere. Each process compares it with the value it last
    saw and then forgets its cached DAV credentials (``davserver.auth``)."""

    __tablename__ = "credential_generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class AppPassword(Base):
    """A password for one device's drive or sync client (:mod:`acl.app_passwords`):
    its label, the SHA-256 of the secret (shown once, never stored), when it was made,
    and when and from where it last opened ``/dav/``. Revoking deletes the row."""

    __tablename__ = "app_passwords"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    label: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[float] = mapped_column(Float)
    last_used: Mapped[float | None] = mapped_column(Float)
    last_address: Mapped[str | None] = mapped_column(String(64))


class LoginFlow(Base):
    """A Login Flow v2 in progress (:mod:`acl.login_flows`): an app asked to add an
    account, and waits for its user to grant it in a browser. Neither token is kept,
    only their SHA-256 (``poll_hash``: the app's, ``login_hash``: the browser
    link's). ``state`` is ``pending``, ``granted``, ``delivered`` or ``cancelled``.
    ``public_key`` and ``sealed_key``: the flow's X25519 key pair, its private half
    sealed under a key only the poll token gives; ``sealed_secret``: the app password
    sealed to the public half at the grant, until the app's poll takes it."""

    __tablename__ = "login_flows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_hash: Mapped[str] = mapped_column(String(64), unique=True)
    login_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    client_name: Mapped[str] = mapped_column(String(255))  # the app's User-Agent, cut
    label: Mapped[str] = mapped_column(String(100))  # the device's name shown
    server: Mapped[str] = mapped_column(String(255))  # the address the app used
    address: Mapped[str | None] = mapped_column(String(64))  # the app's, at the start
    created: Mapped[float] = mapped_column(Float)
    expires: Mapped[float] = mapped_column(Float, index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    sealed_key: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    login: Mapped[str | None] = mapped_column(String(255))
    app_password_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_passwords.id", ondelete="SET NULL"))
    sealed_secret: Mapped[str | None] = mapped_column(String(255))
