"""Client authentication at the token, introspection and revocation endpoints:
client_secret_basic, client_secret_post, and none for public clients (RFC 6749 §2.3.1, §3.2.1;
OIDC Core §9)."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from urllib.parse import unquote_plus

from mock_idp.models import Client
from mock_idp.models import db
from mock_idp.models import sha256_hex
from mock_idp.oidc.errors import InvalidClientError
from mock_idp.oidc.errors import InvalidRequestError

METHODS = ("client_secret_basic", "client_secret_post", "none")
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, secret) from a Basic header, each form-urlencoded per §2.3.1; None if absent."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClientError("Malformed Basic credentials.", used_basic=True) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClientError("Malformed Basic credentials.", used_basic=True)
    return unquote_plus(client_id), unquote_plus(secret)


def authenticate_client(authorization: str | None, form: Mapping[str, str]) -> Client:
    """The registered client these credentials prove, or InvalidClientError.

    A confidential client may use either secret method (the portal is registered for basic and
    also sends post); a public client (method none) sends only its client_id, and PKCE or refresh
    token binding does the proving.
    """
    basic = basic_credentials(authorization)
    if basic and "client_secret" in form:
        raise InvalidRequestError("Use one client authentication method, not two.")
    if basic:
        client_id, secret = basic
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if basic and form.get("client_id", client_id) != client_id:
        raise InvalidRequestError("client_id in the body differs from the authenticated client.")
    client = db.session.get(Client, client_id) if client_id else None
    if client is not None and client.token_endpoint_auth_method == "none":
        if basic or secret:
            raise InvalidClientError(
                "This client is public and has no secret.", used_basic=bool(basic)
            )
        return client
    if not client_id or not secret:
        raise InvalidClientError("Client authentication is required.", used_basic=bool(basic))
    # Hash before comparing: equal-length digests make the compare constant-time.
    stored = client.secret_hash if client is not None else None
    if stored is None or not hmac.compare_digest(stored, sha256_hex(secret)):
        raise InvalidClientError("Client authentication failed.", used_basic=bool(basic))
    return client
