"""Dynamic client registration (RFC 7591 §2-3) at {issuer}/v1/clients, a demo control.

Open registration (no initial access token): it exists so tests and tools can make their own
clients. Without DEMO_CONTROLS the route is not registered (404) and discovery does not list it.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Mapping
from typing import Any
from typing import ClassVar
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from mock_idp.config import ISSUER_PATH
from mock_idp.models import Client
from mock_idp.models import db
from mock_idp.models import sha256_hex
from mock_idp.oidc import client_auth
from mock_idp.oidc import errors
from mock_idp.oidc import scopes
from mock_idp.oidc.errors import OAuthError

CLIENT_ID_PREFIX = "0oa"  # Okta's application id prefix
_ID_ALPHABET = string.ascii_letters + string.digits
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
USER_GRANTS = ("authorization_code", "refresh_token")
DEFAULT_USER_SCOPE = "openid profile email"


class InvalidClientMetadataError(OAuthError):
    """A metadata field is invalid or inconsistent (RFC 7591 §3.2.2)."""

    error: ClassVar[str] = "invalid_client_metadata"


class InvalidRedirectUriError(OAuthError):
    """A redirect URI is not an absolute http(s) URI without fragment (RFC 7591 §3.2.2)."""

    error: ClassVar[str] = "invalid_redirect_uri"


def _uri_list(metadata: Mapping[str, Any], name: str) -> list[str]:
    value = metadata.get(name, [])
    if not isinstance(value, list) or not all(isinstance(uri, str) for uri in value):
        raise InvalidRedirectUriError(f"{name} must be an array of URIs.")
    for uri in value:
        try:
            parts = urlsplit(uri)
        except ValueError:  # e.g. "http://[::1": an unclosed IPv6 bracket
            raise InvalidRedirectUriError(f"Not a valid URI: {uri}") from None
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise InvalidRedirectUriError(f"Not an absolute http(s) URI without fragment: {uri}")
    return list(dict.fromkeys(value))


def _string(metadata: Mapping[str, Any], name: str, default: str) -> str:
    value = metadata.get(name, default)
    if not isinstance(value, str):
        raise InvalidClientMetadataError(f"{name} must be a string.")
    return value


def validate_metadata(metadata: Any) -> dict[str, Any]:
    """The client fields for the submitted metadata, or the RFC 7591 error."""
    if not isinstance(metadata, dict):
        raise InvalidClientMetadataError("The request body must be a JSON object.")
    method = _string(metadata, "token_endpoint_auth_method", "client_secret_basic")
    if method not in client_auth.METHODS:
        raise InvalidClientMetadataError(f"Unsupported token_endpoint_auth_method: {method}.")
    grant_types = metadata.get("grant_types", ["authorization_code"])
    if not isinstance(grant_types, list) or not grant_types:
        raise InvalidClientMetadataError("grant_types must be a non-empty array.")
    unknown = [grant for grant in grant_types if grant not in GRANT_TYPES]
    if unknown:
        raise InvalidClientMetadataError(f"Unsupported grant_types: {unknown}.")
    if method == "none" and "client_credentials" in grant_types:
        raise InvalidClientMetadataError("A public client cannot use client_credentials.")
    if "refresh_token" in grant_types and "authorization_code" not in grant_types:
        raise InvalidClientMetadataError("refresh_token needs authorization_code.")
    response_types = metadata.get("response_types", ["code"])
    if response_types != ["code"] and not (response_types == [] and _service(grant_types)):
        raise InvalidClientMetadataError('Only response_types ["code"] is supported.')
    redirect_uris = _uri_list(metadata, "redirect_uris")
    if "authorization_code" in grant_types and not redirect_uris:
        raise InvalidRedirectUriError("redirect_uris is required for authorization_code.")
    default_scope = DEFAULT_USER_SCOPE if not _service(grant_types) else " ".join(scopes.API_SCOPES)
    scope_names = _string(metadata, "scope", default_scope).split()
    unknown_scopes = [name for name in scope_names if name not in scopes.SUPPORTED_SCOPES]
    if unknown_scopes or not scope_names:
        raise InvalidClientMetadataError(f"Unknown scope: {' '.join(unknown_scopes)}.")
    return {
        "token_endpoint_auth_method": method,
        "grant_types": list(dict.fromkeys(grant_types)),
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": _uri_list(metadata, "post_logout_redirect_uris"),
        "scopes": list(dict.fromkeys(scope_names)),
        "client_name": _string(metadata, "client_name", ""),
    }


def _service(grant_types: list[str]) -> bool:
    return not any(grant in USER_GRANTS for grant in grant_types)


def register_client(metadata: Any, now: int) -> dict[str, Any]:
    """Create the client and return the RFC 7591 §3.2.1 response (the secret, once)."""
    fields = validate_metadata(metadata)
    client_id = CLIENT_ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))
    secret = None if fields["token_endpoint_auth_method"] == "none" else secrets.token_urlsafe(32)
    client = Client(
        client_id=client_id,
        secret_hash=sha256_hex(secret) if secret is not None else None,
        name=fields["client_name"] or client_id,
        redirect_uris=fields["redirect_uris"],
        scopes=fields["scopes"],
        grant_types=fields["grant_types"],
        token_endpoint_auth_method=fields["token_endpoint_auth_method"],
        post_logout_redirect_uris=fields["post_logout_redirect_uris"],
        created_at=now,
    )
    db.session.add(client)
    db.session.commit()
    body: dict[str, Any] = {
        "client_id": client_id,
        "client_id_issued_at": now,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "response_types": [] if _service(client.grant_types) else ["code"],
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": " ".join(client.scopes),
    }
    if secret is not None:
        body["client_secret"] = secret
        body["client_secret_expires_at"] = 0  # never
    return body


def registration_endpoint() -> Response:
    """POST {issuer}/v1/clients."""
    body = register_client(request.get_json(silent=True), int(time.time()))
    response = jsonify(body)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


# Under the issuer path like the oidc blueprint's endpoints, and in their JSON error dialect.
bp = Blueprint("client_registration", __name__, url_prefix=ISSUER_PATH)
bp.add_url_rule(
    "/v1/clients", endpoint="clients", view_func=registration_endpoint, methods=["POST"]
)
bp.register_error_handler(OAuthError, errors.render_json)
