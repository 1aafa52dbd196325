"""``POST /services/oauth2/token``: dispatch on ``grant_type`` to a grant object.

Grants register in GRANTS, so refresh_token and hybrid token exchange slot in later.
"""

from __future__ import annotations

from typing import Any
from typing import Protocol

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from mock_sf.handlers import handler_context
from mock_sf.oauth.errors import NO_STORE
from mock_sf.oauth.errors import UnsupportedGrantType
from mock_sf.oauth.errors import missing_parameter
from mock_sf.oauth.params import single_valued
from mock_sf.oauth.refresh import RefreshTokenGrant
from mock_sf.oauth.sites import current_site
from mock_sf.oauth.token_exchange import TokenExchangeGrant
from mock_sf.oauth.token_exchange import TokenRequest


class Grant(Protocol):
    """What the endpoint needs from a grant."""

    def respond(self, request: TokenRequest) -> dict[str, Any]: ...


GRANTS: dict[str, Any] = {
    TokenExchangeGrant.GRANT_TYPE: TokenExchangeGrant,
    RefreshTokenGrant.GRANT_TYPE: RefreshTokenGrant,
}


def token_response(request: TokenRequest) -> dict[str, Any]:
    """The success body for a token request, or an OAuthError."""
    grant_type = request.form.get("grant_type")
    if not grant_type:
        raise missing_parameter("grant_type")
    grant_class = GRANTS.get(grant_type)
    if grant_class is None:
        raise UnsupportedGrantType(reason=f"unknown grant_type {grant_type!r}")
    current_app.logger.debug("token request: %s", grant_type)
    grant: Grant = grant_class(handler_context())
    return grant.respond(request)


def token_endpoint() -> tuple[Response, int, dict[str, str]]:
    """The token endpoint (form POST)."""
    if request.mimetype and request.mimetype != "application/x-www-form-urlencoded":
        # Salesforce reads only a form body: in JSON, grant_type is not found at all.
        raise UnsupportedGrantType(reason=f"the body is {request.mimetype}, not a form")
    token_request = TokenRequest(
        single_valued(request.form),
        request.headers.get("Authorization"),
        site=current_site(),
        remote_addr=request.remote_addr or "",
    )
    return jsonify(token_response(token_request)), 200, NO_STORE
