"""Typed OAuth 2.0 / OIDC errors (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; OIDC Core §3.1.2.6).

Each class carries its wire code; views raise, and one renderer per dialect answers.
"""

from __future__ import annotations

from typing import ClassVar

from flask import Response
from flask import jsonify
from flask import render_template


class OAuthError(Exception):
    """Base: `error` is the wire code, `description` the short text the client sees."""

    error: ClassVar[str] = "server_error"
    status_code: int = 400

    def __init__(self, description: str = "") -> None:
        super().__init__(description or self.error)
        self.description = description

    def headers(self) -> dict[str, str]:
        """Extra response headers this error requires."""
        return {}


class InvalidRequestError(OAuthError):
    """Missing, repeated or malformed parameter."""

    error = "invalid_request"


class InvalidClientError(OAuthError):
    """Client authentication failed; 401 with a Basic challenge when Basic was tried (§5.2)."""

    error = "invalid_client"

    def __init__(self, description: str = "", *, used_basic: bool = False) -> None:
        super().__init__(description)
        self.used_basic = used_basic
        self.status_code = 401 if used_basic else 400

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="mock_idp"'} if self.used_basic else {}


class InvalidGrantError(OAuthError):
    """Code invalid, expired, replayed, or bound to another client, redirect_uri or verifier."""

    error = "invalid_grant"


class UnauthorizedClientError(OAuthError):
    """The client is not allowed to use this grant type."""

    error = "unauthorized_client"


class UnsupportedGrantTypeError(OAuthError):
    """The grant type is not implemented here."""

    error = "unsupported_grant_type"


class UnsupportedResponseTypeError(OAuthError):
    """Only `response_type=code` is implemented."""

    error = "unsupported_response_type"


class InvalidScopeError(OAuthError):
    """Scope missing `openid`, unknown, or not registered for the client."""

    error = "invalid_scope"


class LoginRequiredError(OAuthError):
    """`prompt=none` but the user must sign in (OIDC Core §3.1.2.6)."""

    error = "login_required"


class InvalidBearerRequestError(InvalidRequestError):
    """A malformed protected-resource request, e.g. a token sent two ways (RFC 6750 §3.1)."""

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer error="{self.error}"'}


class InvalidTokenError(OAuthError):
    """Bearer token refused: signature, issuer, audience, type or expiry (RFC 6750 §3.1)."""

    error = "invalid_token"
    status_code = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer error="{self.error}"'}


class MissingTokenError(InvalidTokenError):
    """No bearer token at all: RFC 6750 §3.1 says the challenge carries no error code then."""

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="mock_idp"'}


class InsufficientScopeError(OAuthError):
    """The token lacks the scope this resource needs."""

    error = "insufficient_scope"
    status_code = 403

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer error="{self.error}", scope="openid"'}


class TemporarilyUnavailableError(OAuthError):
    """The server cannot handle the request now: its database is down (RFC 6749 §4.1.2.1)."""

    error = "temporarily_unavailable"
    status_code = 503


def render_json(err: OAuthError) -> Response:
    """The JSON dialect of every OAuth endpoint that answers a client, never cached."""
    body = {"error": err.error}
    if err.description:
        body["error_description"] = err.description
    response = jsonify(body)
    response.status_code = err.status_code
    response.headers.update(err.headers())
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def render_html(err: OAuthError) -> tuple[str, int]:
    """The browser page for authorize errors that must not go back to an unverified redirect_uri."""
    return render_template("authorize/error.html", error=err), 400
