"""``/services/oauth2/*``: the token endpoint (more OAuth endpoints join this blueprint later)."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from mock_sf.oauth.errors import NO_STORE
from mock_sf.oauth.errors import OAuthError
from mock_sf.oauth.errors import render_oauth_error
from mock_sf.oauth.token_endpoint import token_response
from mock_sf.oauth.token_exchange import TokenRequest

bp = Blueprint("oauth", __name__, url_prefix="/services/oauth2")
bp.register_error_handler(OAuthError, render_oauth_error)


@bp.post("/token")
def token() -> tuple[Response, int, dict[str, str]]:
    """The token endpoint (form POST)."""
    token_request = TokenRequest(request.form, request.headers.get("Authorization"))
    return jsonify(token_response(token_request)), 200, NO_STORE
