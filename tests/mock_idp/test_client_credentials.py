"""client_credentials for service clients, and public clients (auth method none)."""

from __future__ import annotations

import hashlib

import jwt
import pytest

from mock_idp.models import Client
from mock_idp.models import db

TOKEN = "/oauth2/default/v1/token"
ISSUER = "http://127.0.0.1:8001/oauth2/default"
REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"
SERVICE = ("schedule-service", "schedule-demo-secret")


def add_public_client(app, client_id: str = "spa-app") -> None:
    with app.app_context():
        db.session.add(
            Client(
                client_id=client_id,
                secret_hash=None,
                name="A public app",
                redirect_uris=[REDIRECT_URI],
                scopes=["openid", "email", "offline_access"],
                grant_types=["authorization_code", "refresh_token", "client_credentials"],
                token_endpoint_auth_method="none",
            )
        )
        db.session.commit()


def assert_oauth_error(response, status: int, error: str) -> None:
    assert response.status_code == status, response.json
    assert response.json["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


def test_service_client_gets_an_access_token_about_itself(flow, client):
    response = client.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=flow.basic_auth(*SERVICE)
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == {"token_type", "expires_in", "access_token", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "Bearer",
        3600,
        "schedule.read",
    )
    keys = jwt.PyJWKSet.from_dict(client.get("/oauth2/default/v1/keys").json)
    kid = jwt.get_unverified_header(body["access_token"])["kid"]
    claims = jwt.decode(
        body["access_token"],
        keys[kid],
        algorithms=["RS256"],
        audience="api://default",
        issuer=ISSUER,
    )
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "cid", "scp"}
    assert claims["sub"] == claims["client_id"] == claims["cid"] == "schedule-service"
    assert claims["scp"] == ["schedule.read"]


def test_client_secret_post_works_for_service_clients(client):
    data = {
        "grant_type": "client_credentials",
        "client_id": SERVICE[0],
        "client_secret": SERVICE[1],
        "scope": "schedule.read",
    }
    assert client.post(TOKEN, data=data).status_code == 200


@pytest.mark.parametrize(
    ("credentials", "scope", "status", "error"),
    [
        (SERVICE, "openid", 400, "invalid_scope"),
        (SERVICE, "schedule.write", 400, "invalid_scope"),
        (SERVICE, "offline_access", 400, "invalid_scope"),
        (("speaker-portal", "portal-demo-secret"), None, 400, "unauthorized_client"),
        (("schedule-service", "wrong"), None, 401, "invalid_client"),
    ],
)
def test_client_credentials_failures(flow, client, credentials, scope, status, error):
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = client.post(TOKEN, data=data, headers=flow.basic_auth(*credentials))
    assert_oauth_error(response, status, error)


def test_service_client_cannot_use_the_code_flow(flow):
    response = flow.authorize(client_id="schedule-service")
    assert response.status_code == 400  # its (empty) redirect_uris match nothing: error page
    assert "Location" not in response.headers


def test_public_client_redeems_a_code_with_pkce_and_no_secret(app, flow, client):
    add_public_client(app)
    code = flow.code(client_id="spa-app", scope="openid email offline_access")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow.verifier,
        "client_id": "spa-app",
    }
    response = client.post(TOKEN, data=data)
    assert response.status_code == 200, response.json
    body = response.json
    assert jwt.decode(body["id_token"], options={"verify_signature": False})["aud"] == "spa-app"
    # Public clients refresh with their client_id alone; rotation protects the token.
    again = client.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": "spa-app",
        },
    )
    assert again.status_code == 200, again.json


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"code_verifier": None}, 400, "invalid_request"),  # PKCE is still required
        ({"client_secret": "anything"}, 400, "invalid_client"),  # it has no secret
        ({"client_id": None}, 400, "invalid_client"),
    ],
)
def test_public_client_failures(app, flow, client, overrides, status, error):
    add_public_client(app)
    data = {
        "grant_type": "authorization_code",
        "code": flow.code(client_id="spa-app", scope="openid email"),
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow.verifier,
        "client_id": "spa-app",
        **overrides,
    }
    response = client.post(TOKEN, data={k: v for k, v in data.items() if v is not None})
    assert_oauth_error(response, status, error)


def test_public_client_cannot_use_client_credentials(app, client):
    add_public_client(app)
    data = {"grant_type": "client_credentials", "client_id": "spa-app"}
    assert_oauth_error(client.post(TOKEN, data=data), 400, "unauthorized_client")


def test_confidential_client_must_send_its_secret(client):
    data = {"grant_type": "client_credentials", "client_id": "schedule-service"}
    assert_oauth_error(client.post(TOKEN, data=data), 400, "invalid_client")


def test_secret_is_stored_hashed(app):
    with app.app_context():
        service = db.session.get(Client, "schedule-service")
        assert service.secret_hash == hashlib.sha256(b"schedule-demo-secret").hexdigest()
        assert service.redirect_uris == [] and service.grant_types == ["client_credentials"]
