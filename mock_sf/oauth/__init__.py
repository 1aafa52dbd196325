"""The OAuth and identity endpoints: token, revoke, introspect, userinfo, identity URL, JWKS and
discovery, one module each; registered on My Domain and again under the Experience Cloud site path
prefix. Routing only."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask import Flask

from mock_sf.oauth import discovery
from mock_sf.oauth import identity
from mock_sf.oauth import introspection
from mock_sf.oauth import jwks
from mock_sf.oauth import revocation
from mock_sf.oauth import token_endpoint
from mock_sf.oauth.errors import OAuthError
from mock_sf.oauth.errors import render_oauth_error
from mock_sf.oauth.keys import SigningKeys
from mock_sf.oauth.sites import SITE_BLUEPRINT

bp = Blueprint("oauth", __name__)
bp.add_url_rule(
    "/services/oauth2/token",
    endpoint="token",
    view_func=token_endpoint.token_endpoint,
    methods=["POST"],
)
bp.add_url_rule(
    "/services/oauth2/revoke",
    endpoint="revoke_token",
    view_func=revocation.revoke_endpoint,
    methods=["GET", "POST"],
)
bp.add_url_rule(
    "/services/oauth2/introspect",
    endpoint="introspect_token",
    view_func=introspection.introspect_endpoint,
    methods=["POST"],
)
bp.add_url_rule(
    "/services/oauth2/userinfo",
    endpoint="userinfo",
    view_func=identity.userinfo_endpoint,
    methods=["GET", "POST"],
)
bp.add_url_rule(
    "/id/<org_id>/<user_id>", endpoint="identity_url", view_func=identity.identity_endpoint
)
bp.add_url_rule("/id/keys", endpoint="jwks", view_func=jwks.jwks_endpoint)
bp.add_url_rule(
    "/.well-known/openid-configuration",
    endpoint="openid_configuration",
    view_func=discovery.openid_configuration_endpoint,
)
bp.register_error_handler(OAuthError, render_oauth_error)
bp.register_error_handler(identity.IdentityError, identity.render_identity_error)


def init_app(app: Flask) -> None:
    """Signing keys (lazily loaded), the blueprint on My Domain and under the site prefix."""
    key_file = app.config.get("SIGNING_KEY_FILE") or Path(app.instance_path) / "signing_key.json"
    app.extensions["mock_sf.signing_keys"] = SigningKeys(Path(key_file), app.logger)
    app.register_blueprint(bp)
    prefix = (app.config.get("SITE_PATH_PREFIX") or "").strip("/")
    if prefix:
        app.register_blueprint(bp, name=SITE_BLUEPRINT, url_prefix=f"/{prefix}")
