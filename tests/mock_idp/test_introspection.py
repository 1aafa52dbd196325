"""Introspection (RFC 7662) and revocation (RFC 7009) of access and refresh tokens."""

from __future__ import annotations

import hashlib
import time

import jwt
import pytest

from mock_idp.models import Client
from mock_idp.models import db

INTROSPECT = "/oauth2/default/v1/introspect"
REVOKE = "/oauth2/default/v1/revoke"
TOKEN = "/oauth2/default/v1/token"
USERINFO = "/oauth2/default/v1/userinfo"
ISSUER = "http://127.0.0.1:8001/oauth2/default"
ADA_ID = "00u1ada1demo1speaker"
OFFLINE = "openid profile email offline_access"


@pytest.fixture
def other_app(app) -> tuple[str, str]:
    with app.app_context():
        db.session.add(
            Client(
                client_id="other-app",
                secret_hash=hashlib.sha256(b"other-secret").hexdigest(),
                name="other",
                redirect_uris=[],
                scopes=["schedule.read"],
                grant_types=["client_credentials"],
            )
        )
        db.session.commit()
    return "other-app", "other-secret"


def introspect(flow, token: str, credentials=None, **extra: str):
    headers = flow.basic_auth(*(credentials or ()))
    return flow.client.post(INTROSPECT, data={"token": token, **extra}, headers=headers)


def revoke(flow, token: str, credentials=None, **extra: str):
    headers = flow.basic_auth(*(credentials or ()))
    return flow.client.post(REVOKE, data={"token": token, **extra}, headers=headers)


def test_active_access_token_response(flow):
    before = int(time.time())
    body = flow.tokens()
    response = introspect(flow, body["access_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    result = response.json
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert result == {
        "active": True,
        "scope": "openid profile email",
        "client_id": "speaker-portal",
        "username": "ada@speakers.example",
        "token_type": "Bearer",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims["iat"],
        "sub": ADA_ID,
        "aud": "api://default",
        "iss": ISSUER,
        "jti": claims["jti"],
        "uid": ADA_ID,
    }
    assert claims["iat"] >= before


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token", "bogus"])
def test_active_refresh_token_whatever_the_hint(flow, hint):
    body = flow.tokens(scope=OFFLINE)
    extra = {"token_type_hint": hint} if hint else {}
    result = introspect(flow, body["refresh_token"], **extra).json
    assert result["active"] is True
    assert result["scope"] == OFFLINE
    assert (result["sub"], result["uid"], result["client_id"]) == (ADA_ID, ADA_ID, "speaker-portal")
    assert result["jti"].startswith("RT.")
    assert "token_type" not in result  # RFC 7662 token_type names access token types
    # The hint is only a hint for access tokens too.
    access = introspect(flow, body["access_token"], token_type_hint="refresh_token").json
    assert access["active"] is True


def test_service_token_has_no_user(flow, client):
    service = ("schedule-service", "schedule-demo-secret")
    token = client.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=flow.basic_auth(*service)
    ).json["access_token"]
    result = introspect(flow, token, service).json
    assert result["active"] is True
    assert result["sub"] == "schedule-service"
    assert "username" not in result and "uid" not in result


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "", "id_token"],
)
def test_unknown_tokens_are_inactive(flow, token):
    if token == "id_token":
        token = flow.tokens()["id_token"]  # an ID token is not introspectable here
    if token == "":
        response = introspect(flow, token)
        assert response.status_code == 400 and response.json["error"] == "invalid_request"
        return
    assert introspect(flow, token).json == {"active": False}


def test_expired_access_token_is_inactive(app, flow):
    claims = {
        "iss": ISSUER,
        "sub": ADA_ID,
        "aud": "api://default",
        "exp": int(time.time()) - 1,
        "iat": int(time.time()) - 100,
        "jti": "AT.expired",
        "client_id": "speaker-portal",
        "scp": ["openid"],
    }
    token = app.extensions["mock_idp.keys"].sign(claims, "at+jwt")
    assert introspect(flow, token).json == {"active": False}


def test_another_clients_token_is_inactive_for_the_caller(flow, other_app):
    body = flow.tokens(scope=OFFLINE)
    assert introspect(flow, body["access_token"], other_app).json == {"active": False}
    assert introspect(flow, body["refresh_token"], other_app).json == {"active": False}


def test_a_resource_server_introspects_the_tokens_of_the_clients_it_serves(flow):
    body = flow.tokens(scope=OFFLINE)
    salesforce = ("salesforce-introspection", "sf-introspect-demo-secret")

    access = introspect(flow, body["access_token"], salesforce).json
    refresh = introspect(flow, body["refresh_token"], salesforce).json

    assert (access["active"], access["client_id"], access["sub"]) == (
        True,
        "speaker-portal",
        ADA_ID,
    )
    assert (refresh["active"], refresh["client_id"]) == (True, "speaker-portal")


def test_a_resource_server_learns_nothing_about_other_clients_tokens(flow, app, other_app):
    with app.app_context():
        db.session.get(Client, "salesforce-introspection").introspects_for = ["other-app"]
        db.session.commit()
    body = flow.tokens(scope=OFFLINE)
    salesforce = ("salesforce-introspection", "sf-introspect-demo-secret")
    assert introspect(flow, body["access_token"], salesforce).json == {"active": False}


@pytest.mark.parametrize("endpoint", [INTROSPECT, REVOKE])
@pytest.mark.parametrize(
    ("headers", "data", "status", "error"),
    [
        ({}, {"token": "x"}, 400, "invalid_client"),
        (
            {"Authorization": "Basic c3BlYWtlci1wb3J0YWw6d3Jvbmc="},
            {"token": "x"},
            401,
            "invalid_client",
        ),
        (None, {}, 400, "invalid_request"),
    ],
)
def test_client_authentication_and_parameters(flow, endpoint, headers, data, status, error):
    headers = flow.basic_auth() if headers is None else headers
    response = flow.client.post(endpoint, data=data, headers=headers)
    assert response.status_code == status
    assert response.json["error"] == error


def test_revoking_an_access_token(flow):
    body = flow.tokens()
    response = revoke(flow, body["access_token"])
    assert (response.status_code, response.data) == (200, b"")
    assert introspect(flow, body["access_token"]).json == {"active": False}
    userinfo = flow.client.get(
        USERINFO, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert userinfo.status_code == 401
    assert userinfo.json["error_description"] == "The access token has been revoked."


def test_revoking_a_refresh_token_revokes_the_grant(flow):
    body = flow.tokens(scope=OFFLINE)
    assert revoke(flow, body["refresh_token"], token_type_hint="access_token").status_code == 200
    assert introspect(flow, body["refresh_token"]).json == {"active": False}
    assert introspect(flow, body["access_token"]).json == {"active": False}
    again = flow.client.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=flow.basic_auth(),
    )
    assert again.json["error"] == "invalid_grant"


@pytest.mark.parametrize("token", ["unknown", "already-revoked"])
def test_revoking_unknown_or_dead_tokens_is_200(flow, token):
    if token == "already-revoked":
        token = flow.tokens()["access_token"]
        revoke(flow, token)
    response = revoke(flow, token)
    assert (response.status_code, response.data) == (200, b"")  # RFC 7009 §2.2
    # Revoked stays revoked: the second revocation neither fails nor brings it back.
    assert introspect(flow, token).json == {"active": False}
    userinfo = flow.client.get(USERINFO, headers={"Authorization": f"Bearer {token}"})
    assert userinfo.status_code == 401


def test_revoking_another_clients_token_is_refused_and_changes_nothing(flow, other_app):
    body = flow.tokens(scope=OFFLINE)
    response = revoke(flow, body["refresh_token"], other_app)
    assert response.status_code == 400
    assert response.json["error"] == "unauthorized_client"
    assert introspect(flow, body["refresh_token"]).json["active"] is True
