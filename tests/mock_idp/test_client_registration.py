"""Dynamic client registration (RFC 7591), only with demo controls."""

from __future__ import annotations

import pytest

CLIENTS = "/oauth2/default/v1/clients"
TOKEN = "/oauth2/default/v1/token"
REDIRECT = "http://127.0.0.1:9000/cb"


def test_confidential_client_registers_and_completes_the_code_flow(demo, flow, client):
    response = client.post(
        CLIENTS,
        json={
            "redirect_uris": [REDIRECT],
            "client_name": "Test RP",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid email offline_access",
            "post_logout_redirect_uris": ["http://127.0.0.1:9000/bye"],
        },
    )
    assert response.status_code == 201, response.json
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["client_id"].startswith("0oa") and len(body["client_id"]) == 20
    assert isinstance(body["client_id_issued_at"], int)
    assert {
        k: v
        for k, v in body.items()
        if k not in ("client_id", "client_secret", "client_id_issued_at")
    } == {
        "client_name": "Test RP",
        "redirect_uris": [REDIRECT],
        "post_logout_redirect_uris": ["http://127.0.0.1:9000/bye"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "openid email offline_access",
        "client_secret_expires_at": 0,
    }
    code = flow.code(client_id=body["client_id"], redirect_uri=REDIRECT, scope="openid email")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": flow.verifier,
    }
    tokens = client.post(
        TOKEN, data=data, headers=flow.basic_auth(body["client_id"], body["client_secret"])
    )
    assert tokens.status_code == 200, tokens.json


def test_public_client_gets_no_secret(demo, client):
    body = client.post(
        CLIENTS, json={"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    ).json
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert body["scope"] == "openid profile email"


def test_service_client_registers_for_client_credentials(demo, flow, client):
    body = client.post(CLIENTS, json={"grant_types": ["client_credentials"]}).json
    assert (body["scope"], body["response_types"], body["redirect_uris"]) == (
        "schedule.read",
        [],
        [],
    )
    token = client.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers=flow.basic_auth(body["client_id"], body["client_secret"]),
    )
    assert token.json["scope"] == "schedule.read"


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ([REDIRECT], "invalid_client_metadata"),
        ({}, "invalid_redirect_uri"),
        ({"redirect_uris": ["/relative"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://127.0.0.1/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": "http://127.0.0.1/cb"}, "invalid_redirect_uri"),
        (
            {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"},
            "invalid_client_metadata",
        ),
        ({"redirect_uris": [REDIRECT], "grant_types": ["implicit"]}, "invalid_client_metadata"),
        (
            {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"},
            "invalid_client_metadata",
        ),
        ({"redirect_uris": [REDIRECT], "scope": "openid phone"}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT], "response_types": ["token"]}, "invalid_client_metadata"),
        ({"grant_types": ["refresh_token"]}, "invalid_client_metadata"),
    ],
)
def test_invalid_metadata(demo, client, metadata, error):
    response = client.post(CLIENTS, json=metadata)
    assert response.status_code == 400
    assert response.json["error"] == error


def test_non_json_body_is_invalid_client_metadata(demo, client):
    response = client.post(CLIENTS, data="redirect_uris=x")
    assert (response.status_code, response.json["error"]) == (400, "invalid_client_metadata")
