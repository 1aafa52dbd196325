"""OAuth errors as types carrying their wire code (RFC 6749 §5.2, strings per contract §2.2).

``description`` is what the client sees (terse, Salesforce's wording); ``reason`` is the precise
cause, which only goes to the log and the exchange audit row.
"""

from __future__ import annotations

from flask import Response
from flask import jsonify

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """Base of every token-endpoint error."""

    error = "invalid_request"
    description = "invalid request"
    status_code = 400
    headers: dict[str, str] = {}

    def __init__(self, description: str | None = None, *, reason: str | None = None) -> None:
        if description is not None:
            self.description = description
        self.reason = reason or self.description
        super().__init__(self.reason)


class InvalidRequest(OAuthError):
    """``invalid_request``: a parameter is missing or wrong, or the handler refused the token."""


class InvalidClientId(OAuthError):
    """``invalid_client_id``: Salesforce's code for an unknown consumer key."""

    error = "invalid_client_id"
    description = "client identifier invalid"


class InvalidClient(OAuthError):
    """``invalid_client``: missing or wrong client secret."""

    error = "invalid_client"
    description = "invalid client credentials"


class InvalidGrant(OAuthError):
    """``invalid_grant``: the subject cannot be turned into an active user."""

    error = "invalid_grant"
    description = "authentication failure"


class InvalidScope(OAuthError):
    """``invalid_scope``: a requested scope is not assigned to the app."""

    error = "invalid_scope"
    description = "the requested scope is not allowed"


class UnsupportedGrantType(OAuthError):
    """``unsupported_grant_type``: unknown grant, or the flow is not enabled on the app."""

    error = "unsupported_grant_type"
    description = "grant type not supported"


class InvalidToken(OAuthError):
    """``invalid_token`` at the revocation endpoint: not a live token this org issued."""

    error = "invalid_token"
    description = "invalid token"


class UnsupportedTokenType(OAuthError):
    """``unsupported_token_type`` at the revocation endpoint: a ``token_type_hint`` it lacks."""

    error = "unsupported_token_type"
    description = "token type not supported"


class TooManyFailures(OAuthError):
    """429: too many invalid subject tokens from this client and address (checklist #12)."""

    description = "too many failed attempts, try again later"
    status_code = 429

    def __init__(self, retry_after: int, *, reason: str) -> None:
        super().__init__(reason=reason)
        self.headers = {"Retry-After": str(retry_after)}


class TemporarilyUnavailable(OAuthError):
    """503 ``temporarily_unavailable`` (RFC 6749 §4.1.2.1): the org's database is unreachable."""

    error = "temporarily_unavailable"
    description = "the service is temporarily unavailable, try again later"
    status_code = 503


def missing_parameter(name: str) -> InvalidRequest:
    """``invalid_request`` worded like Salesforce's "grant type is missing"."""
    return InvalidRequest(f"{name.replace('_', ' ')} is missing")


def render_oauth_error(exc: OAuthError) -> tuple[Response, int, dict[str, str]]:
    """The one JSON renderer for OAuth errors."""
    body = jsonify(error=exc.error, error_description=exc.description)
    return body, exc.status_code, {**NO_STORE, **exc.headers}
