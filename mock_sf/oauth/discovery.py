"""``/.well-known/openid-configuration``: what this mock really serves, nothing more.

There is no authorization endpoint (tokens come only from the token exchange and refresh grants),
so ``authorization_endpoint`` is absent and ``response_types_supported`` is empty.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import current_app
from flask import jsonify

from mock_sf.oauth.sites import current_site
from mock_sf.oauth.token_endpoint import GRANTS
from mock_sf.oauth.token_response import issuer_for

SCOPES = ["api", "full", "refresh_token", "offline_access", "openid", "id", "profile", "email"]


def openid_configuration_endpoint() -> Response:
    """OpenID Connect discovery for My Domain, or for the site on the site path."""
    return jsonify(openid_configuration(issuer_for(current_app.config, current_site())))


def openid_configuration(issuer: str) -> dict[str, Any]:
    """Discovery for ``issuer`` (My Domain or a site URL); endpoints live under the issuer."""
    oauth = f"{issuer}/services/oauth2"
    return {
        "issuer": issuer,
        "token_endpoint": f"{oauth}/token",
        "revocation_endpoint": f"{oauth}/revoke",
        "introspection_endpoint": f"{oauth}/introspect",
        "userinfo_endpoint": f"{oauth}/userinfo",
        "jwks_uri": f"{issuer}/id/keys",
        "scopes_supported": SCOPES,
        "response_types_supported": [],
        "grant_types_supported": list(GRANTS),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "client_secret_basic",
            "none",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_post",
            "client_secret_basic",
        ],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "claims_supported": [
            "sub",
            "aud",
            "iss",
            "iat",
            "exp",
            "at_hash",
            "user_id",
            "organization_id",
            "preferred_username",
            "nickname",
            "name",
            "email",
            "email_verified",
            "given_name",
            "family_name",
            "zoneinfo",
            "photos",
            "profile",
            "picture",
            "address",
            "urls",
            "active",
            "user_type",
            "language",
            "locale",
            "utcOffset",
            "updated_at",
        ],
    }
