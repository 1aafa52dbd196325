"""Client authentication at the token endpoint: ``client_id``/``client_secret`` in the form body or
HTTP Basic (RFC 6749 §2.3.1), never both (§2.3); the secret is checked in constant time, and
required only when the app has "Require Secret for Token Exchange Flow".
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from mock_sf.oauth.errors import InvalidClient
from mock_sf.oauth.errors import InvalidClientId
from mock_sf.oauth.errors import InvalidRequest
from mock_sf.org_config import AppSettings
from mock_sf.org_config import OrgConfig


class WrongClientSecret(InvalidClient):
    """``invalid_client`` for a secret that does not match: the one failure the throttle counts."""


@dataclass(frozen=True)
class ClientCredentials:
    """What the client presented, and how."""

    client_id: str | None
    client_secret: str | None
    method: str  # "client_secret_basic" | "client_secret_post" | "none"


def read_credentials(form: Mapping[str, str], authorization: str | None) -> ClientCredentials:
    """HTTP Basic or the body, never both: "The client MUST NOT use more than one authentication
    method in each request" (RFC 6749 §2.3); a malformed Basic header is a client error."""
    if authorization and authorization[:6].lower() == "basic ":
        if "client_secret" in form:
            raise InvalidRequest(
                "more than one client authentication method",
                reason="HTTP Basic and a client_secret in the body (RFC 6749 §2.3)",
            )
        credentials = _basic(authorization[6:])
        body_id = form.get("client_id")
        # A client_id beside Basic is allowed (§3.2.1 lets a client send it), if it is the same.
        if body_id is not None and body_id != credentials.client_id:
            raise InvalidClient(
                reason=f"client_id {body_id!r} in the body, {credentials.client_id!r} in Basic"
            )
        return credentials
    secret = form.get("client_secret")
    method = "client_secret_post" if secret is not None else "none"
    return ClientCredentials(form.get("client_id"), secret, method)


def _basic(encoded: str) -> ClientCredentials:
    """The credentials of a Basic header, each form-urlencoded (RFC 6749 §2.3.1)."""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient(reason="malformed Basic authorization header") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient(reason="Basic credentials without ':'")
    return ClientCredentials(unquote_plus(client_id), unquote_plus(secret), "client_secret_basic")


def _token_exchange_secret(app: AppSettings) -> bool:
    return app.is_secret_required_for_token_exchange


def authenticate_client(
    credentials: ClientCredentials,
    org: OrgConfig,
    secret_required: Callable[[AppSettings], bool] = _token_exchange_secret,
) -> AppSettings:
    """The connected app (from the cached configuration), or InvalidClientId / InvalidClient;
    ``secret_required`` is the app's "Require Secret" setting of the flow at hand (token exchange
    by default)."""
    app = org.apps.get(credentials.client_id) if credentials.client_id else None
    if app is None:
        raise InvalidClientId(reason=f"unknown client_id {credentials.client_id!r}")
    # A secret that is sent is always checked, even when the app does not require one.
    if credentials.client_secret is None:
        if secret_required(app):
            raise InvalidClient(reason=f"{app.developer_name} requires a client secret")
    elif not hmac.compare_digest(credentials.client_secret.encode(), app.consumer_secret.encode()):
        raise WrongClientSecret(reason=f"wrong client secret for {app.developer_name}")
    return app
