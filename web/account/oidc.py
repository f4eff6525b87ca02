"""OpenID Connect 1.0 (authorization code flow, Core §3.1) as a relying party, through
Authlib's Flask client.

* **The provider** is found by its discovery document
  (``<issuer>/.well-known/openid-configuration``, read once per process by Authlib);
  our redirect address is ``/login/<id>/oidc``, to register at the provider with our
  client id and secret.
* **The way in**: the browser goes to the provider's authorization endpoint with a
  ``state`` and a ``nonce`` kept in its session, and PKCE (S256). Back with a code,
  Authlib checks the ``state``, trades the code for the tokens at the token endpoint
  (with our secret), and checks the ID token: its signature against the provider's
  keys (JWKS), issuer, audience (our client id), expiry and ``nonce``. Any failure
  raises; the caller answers the refusal page.
* **Logout**: our logout sends the browser to the provider's ``end_session_endpoint``
  (RP-initiated logout) with the ID token as hint, and it comes back to our sign-in
  page. The provider's logout ends ours through front-channel logout: its logout
  page loads ``/login/<id>/oidc/logout`` in the browser (back-channel logout is not
  offered by LemonLDAP::NG 2.16).
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from davserver.config import FederationConfig, IdentityProviderConfig

EXTENSION_KEY = "ent.oidc"
LEEWAY = 60  # seconds of clock difference allowed with the provider (as for SAML)


def init_app(app: Flask, federation: FederationConfig) -> None:
    """Register every OpenID Connect provider of ``federation`` with Authlib."""
    oauth = OAuth(app)
    for provider in federation.providers:
        if provider.kind != "oidc":
            continue
        oauth.register(
            name=provider.id, client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.server_url + ".well-known/openid-configuration",
            client_kwargs={"scope": provider.scopes, "code_challenge_method": "S256",
                           "timeout": provider.timeout})
    app.extensions[EXTENSION_KEY] = oauth


def client(provider: IdentityProviderConfig) -> Any:
    """Authlib's client for ``provider`` in the current app."""
    return current_app.extensions[EXTENSION_KEY].create_client(provider.id)


def logout_location(provider: IdentityProviderConfig, id_token: str, back: str) -> \
        str | None:
    """The provider's logout page for the session of ``id_token``, coming back to
    ``back`` (RP-initiated logout 1.0 §2), or None when it has none."""
    from urllib.parse import urlencode

    metadata = client(provider).load_server_metadata()
    endpoint = metadata.get("end_session_endpoint")
    if not endpoint:
        return None
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": back,
                       "client_id": provider.client_id})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
