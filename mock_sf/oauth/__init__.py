"""The OAuth and identity endpoints: token, revoke, introspect, userinfo, identity URL, JWKS and
discovery; registered on My Domain and again under the Experience Cloud site path prefix."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import jsonify
from flask import request

from mock_sf.oauth import discovery
from mock_sf.oauth import identity
from mock_sf.oauth.errors import NO_STORE
from mock_sf.oauth.errors import OAuthError
from mock_sf.oauth.errors import UnsupportedGrantType
from mock_sf.oauth.errors import render_oauth_error
from mock_sf.oauth.identity import IdentityError
from mock_sf.oauth.introspection import introspect
from mock_sf.oauth.keys import SigningKeys
from mock_sf.oauth.keys import signing_keys
from mock_sf.oauth.revocation import revoke
from mock_sf.oauth.sites import Site
from mock_sf.oauth.sites import find_site
from mock_sf.oauth.token_endpoint import token_response
from mock_sf.oauth.token_exchange import TokenRequest
from mock_sf.oauth.token_response import issuer_for

SITE_BLUEPRINT = "oauth_site"

bp = Blueprint("oauth", __name__)
bp.register_error_handler(OAuthError, render_oauth_error)


@bp.errorhandler(IdentityError)
def render_identity_error(exc: IdentityError) -> tuple[str, int, dict[str, str]]:
    """The identity service answers errors as bare text codes."""
    return exc.code, exc.status_code, {"Content-Type": "text/plain;charset=UTF-8"}


def init_app(app: Flask) -> None:
    """Signing keys (lazily loaded), the blueprint on My Domain and under the site prefix."""
    key_file = app.config.get("SIGNING_KEY_FILE") or Path(app.instance_path) / "signing_key.json"
    app.extensions["mock_sf.signing_keys"] = SigningKeys(Path(key_file), app.logger)
    app.register_blueprint(bp)
    prefix = (app.config.get("SITE_PATH_PREFIX") or "").strip("/")
    if prefix:
        app.register_blueprint(bp, name=SITE_BLUEPRINT, url_prefix=f"/{prefix}")


def current_site() -> Site | None:
    """The site of a request on the site path (404 if the org has no such site), else None."""
    if request.blueprint != SITE_BLUEPRINT:
        return None
    config = current_app.config
    site = find_site(config["SITE_PATH_PREFIX"].strip("/"), config["SF_URL"])
    if site is None:
        abort(404)
    return site


@bp.post("/services/oauth2/token")
def token() -> tuple[Response, int, dict[str, str]]:
    """The token endpoint (form POST)."""
    if request.mimetype and request.mimetype != "application/x-www-form-urlencoded":
        # Salesforce reads only a form body: in JSON, grant_type is not found at all.
        raise UnsupportedGrantType(reason=f"the body is {request.mimetype}, not a form")
    token_request = TokenRequest(
        request.form,
        request.headers.get("Authorization"),
        site=current_site(),
        remote_addr=request.remote_addr or "",
    )
    return jsonify(token_response(token_request)), 200, NO_STORE


@bp.route("/services/oauth2/revoke", methods=["GET", "POST"])
def revoke_token() -> tuple[str, int, dict[str, str]]:
    """Revoke a token: POST form, or Salesforce's "blind GET" with ``?token=``."""
    current_site()
    revoke(request.form if request.method == "POST" else request.args)
    return "", 200, NO_STORE


@bp.post("/services/oauth2/introspect")
def introspect_token() -> tuple[Response, int, dict[str, str]]:
    """RFC 7662 introspection for the authenticated app's tokens."""
    current_site()
    body = introspect(
        request.form, request.headers.get("Authorization"), current_app.config["SF_URL"]
    )
    return jsonify(body), 200, NO_STORE


@bp.route("/services/oauth2/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    """OpenID Connect UserInfo for the bearer token's user."""
    current_site()
    token = identity.bearer_token(request.headers.get("Authorization"), None)
    return jsonify(identity.userinfo_claims(token, current_app.config["SF_URL"]))


@bp.get("/id/<org_id>/<user_id>")
def identity_url(org_id: str, user_id: str) -> Response | tuple[bytes, int, dict[str, str]]:
    """The identity URL: JSON by default, XML on ``format=xml`` or an XML Accept header."""
    token = identity.bearer_token(
        request.headers.get("Authorization"), request.args.get("oauth_token")
    )
    identity.check_identity_path(token, org_id, user_id)
    config = current_app.config
    version = identity.resolve_version(request.args.get("version"), config["API_MAX_VERSION"])
    claims = identity.identity_claims(token, config["SF_URL"], version)
    if identity.wants_xml(request.args, request.headers.get("Accept", "")):
        return identity.to_xml(claims), 200, {"Content-Type": "application/xml;charset=UTF-8"}
    return jsonify(claims)


@bp.get("/id/keys")
def jwks() -> Response:
    """The public keys that verify mock_sf's ID tokens."""
    return jsonify(signing_keys().jwks())


@bp.get("/.well-known/openid-configuration")
def openid_configuration() -> Response:
    """OpenID Connect discovery for My Domain, or for the site on the site path."""
    config = current_app.config
    issuer = issuer_for(config, current_site())
    return jsonify(discovery.openid_configuration(issuer))
