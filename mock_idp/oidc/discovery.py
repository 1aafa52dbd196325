"""OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414), listing only what is implemented."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import current_app
from flask import jsonify
from flask import url_for

from mock_idp import users
from mock_idp.keys import ALGORITHM
from mock_idp.oidc import client_auth
from mock_idp.oidc import pkce
from mock_idp.oidc import scopes


def provider_metadata(issuer: str, endpoints: dict[str, str]) -> dict[str, Any]:
    """The discovery document for `issuer` with the given endpoint URLs."""
    return {
        "issuer": issuer,
        **endpoints,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_methods_supported": list(client_auth.METHODS),
        "introspection_endpoint_auth_methods_supported": list(client_auth.METHODS),
        "revocation_endpoint_auth_methods_supported": list(client_auth.METHODS),
        "code_challenge_methods_supported": list(pkce.METHODS),
        "scopes_supported": list(scopes.SUPPORTED_SCOPES),
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            *users.oidc_claim_names(),
        ],
        "authorization_response_iss_parameter_supported": True,
    }


def openid_configuration() -> Response:
    """GET {issuer}/.well-known/openid-configuration."""
    base = current_app.config["IDP_URL"]  # from config, never from the request's Host
    endpoints = {
        "authorization_endpoint": base + url_for("authorize.authorize"),
        "token_endpoint": base + url_for("oidc.token"),
        "userinfo_endpoint": base + url_for("oidc.userinfo"),
        "jwks_uri": base + url_for("oidc.keys"),
        "introspection_endpoint": base + url_for("oidc.introspect"),
        "revocation_endpoint": base + url_for("oidc.revoke"),
        "end_session_endpoint": base + url_for("oidc.logout"),
    }
    # Open registration is a demo control: listed exactly when the factory registered its route.
    if "client_registration.clients" in current_app.view_functions:
        endpoints["registration_endpoint"] = base + url_for("client_registration.clients")
    return jsonify(provider_metadata(current_app.config["ISSUER"], endpoints))
