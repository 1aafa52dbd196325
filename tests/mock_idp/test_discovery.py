"""Discovery lists exactly what is implemented, with URLs from config."""

from __future__ import annotations

import pytest

from mock_idp import create_app

ISSUER = "http://127.0.0.1:8001/oauth2/default"
DISCOVERY = "/oauth2/default/.well-known/openid-configuration"

EXPECTED = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/v1/authorize",
    "token_endpoint": f"{ISSUER}/v1/token",
    "userinfo_endpoint": f"{ISSUER}/v1/userinfo",
    "jwks_uri": f"{ISSUER}/v1/keys",
    "introspection_endpoint": f"{ISSUER}/v1/introspect",
    "revocation_endpoint": f"{ISSUER}/v1/revoke",
    "end_session_endpoint": f"{ISSUER}/v1/logout",
    "response_types_supported": ["code"],
    "response_modes_supported": ["query"],
    "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
    "subject_types_supported": ["public"],
    "id_token_signing_alg_values_supported": ["RS256"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    "introspection_endpoint_auth_methods_supported": [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ],
    "revocation_endpoint_auth_methods_supported": [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ],
    "code_challenge_methods_supported": ["S256"],
    "scopes_supported": ["openid", "profile", "email", "offline_access", "schedule.read"],
    "claims_supported": [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "at_hash",
        "email",
        "email_verified",
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "company",
        "speaker_id",
        "talks",
    ],
    "authorization_response_iss_parameter_supported": True,
}


def test_discovery_document_lists_exactly_what_is_implemented(client):
    response = client.get(DISCOVERY)
    assert response.status_code == 200
    assert response.json == EXPECTED


@pytest.mark.parametrize("host", ["localhost:8001", "evil.example"])
def test_discovery_urls_come_from_config_not_the_request_host(client, host):
    response = client.get(DISCOVERY, headers={"Host": host})
    assert response.json["issuer"] == ISSUER
    assert response.json["token_endpoint"] == f"{ISSUER}/v1/token"


def test_issuer_follows_configured_idp_url(tmp_path, monkeypatch):
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    app = create_app({"PASSWORD_HASH_PROFILE": "cheap", "IDP_URL": "http://127.0.0.1:9999/"})
    body = app.test_client().get(DISCOVERY).json
    assert body["issuer"] == "http://127.0.0.1:9999/oauth2/default"
    assert body["jwks_uri"] == "http://127.0.0.1:9999/oauth2/default/v1/keys"


def test_registration_endpoint_is_not_listed_without_demo_controls(client):
    body = client.get(DISCOVERY).json
    assert body["token_endpoint"] == f"{ISSUER}/v1/token"
    assert "registration_endpoint" not in body


def test_registration_endpoint_is_listed_with_demo_controls(demo):
    assert demo.get(DISCOVERY).json["registration_endpoint"] == f"{ISSUER}/v1/clients"
