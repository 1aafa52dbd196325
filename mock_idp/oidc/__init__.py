"""OpenID Connect provider: the endpoints under the issuer path that answer clients (authorize is
browser-facing, see authorize.py; logout is browser-facing too and renders its own errors; client
registration is a demo control, see mock_idp/demo/client_registration.py)."""

from __future__ import annotations

from flask import Blueprint

from mock_idp.config import ISSUER_PATH
from mock_idp.oidc import discovery
from mock_idp.oidc import errors
from mock_idp.oidc import introspection
from mock_idp.oidc import jwks
from mock_idp.oidc import logout
from mock_idp.oidc import revocation
from mock_idp.oidc import token
from mock_idp.oidc import userinfo

bp = Blueprint("oidc", __name__, url_prefix=ISSUER_PATH)
bp.add_url_rule("/.well-known/openid-configuration", view_func=discovery.openid_configuration)
bp.add_url_rule("/v1/keys", endpoint="keys", view_func=jwks.keys)
bp.add_url_rule("/v1/token", endpoint="token", view_func=token.token_endpoint, methods=["POST"])
bp.add_url_rule(
    "/v1/userinfo",
    endpoint="userinfo",
    view_func=userinfo.userinfo_endpoint,
    methods=["GET", "POST"],
)
bp.add_url_rule(
    "/v1/introspect",
    endpoint="introspect",
    view_func=introspection.introspect_endpoint,
    methods=["POST"],
)
bp.add_url_rule(
    "/v1/revoke", endpoint="revoke", view_func=revocation.revoke_endpoint, methods=["POST"]
)
bp.add_url_rule(
    "/v1/logout", endpoint="logout", view_func=logout.logout_endpoint, methods=["GET", "POST"]
)
bp.register_error_handler(errors.OAuthError, errors.render_json)
bp.register_error_handler(logout.LogoutRejected, logout.render_rejected)
