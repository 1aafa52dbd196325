"""Token endpoint: client authentication, the authorization_code grant, RFC 6749 §5.2 errors."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import quote_plus

import pytest
from sqlalchemy import update
from werkzeug.datastructures import MultiDict

from mock_idp.models import AuthorizationCode
from mock_idp.models import Client
from mock_idp.models import db

TOKEN = "/oauth2/default/v1/token"
INTROSPECT = "/oauth2/default/v1/introspect"
USERINFO = "/oauth2/default/v1/userinfo"
REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def add_client(app, client_id: str, secret: str, grant_types=("authorization_code",)) -> None:
    with app.app_context():
        db.session.add(
            Client(
                client_id=client_id,
                secret_hash=hashlib.sha256(secret.encode()).hexdigest(),
                name=client_id,
                redirect_uris=[REDIRECT_URI],
                scopes=["openid", "profile", "email"],
                grant_types=list(grant_types),
            )
        )
        db.session.commit()


def assert_oauth_error(response, status: int, error: str) -> None:
    assert response.status_code == status
    assert response.json["error"] == error
    assert set(response.json) == {"error", "error_description"}
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


def test_success_response_shape(flow):
    response = flow.redeem(flow.code())
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.json
    assert set(body) == {"token_type", "expires_in", "access_token", "id_token", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "openid profile email"


def test_no_refresh_token_without_offline_access(flow):
    body = flow.tokens(scope="openid email")
    assert body["scope"] == "openid email"
    assert "refresh_token" not in body


def test_client_secret_post(flow, client):
    code = flow.code()
    response = client.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": flow.verifier,
            "client_id": "speaker-portal",
            "client_secret": "portal-demo-secret",
        },
    )
    assert response.status_code == 200, response.json
    assert response.json["token_type"] == "Bearer"


def test_basic_credentials_are_form_urldecoded(app, flow, client):
    secret = "p@ss:w rd+/%é"
    add_client(app, "odd client:id", secret)
    code = flow.code(client_id="odd client:id")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow.verifier,
    }
    response = client.post(TOKEN, data=data, headers=basic("odd client:id", secret))
    assert response.status_code == 200, response.json


@pytest.mark.parametrize(
    ("headers", "form", "status", "error"),
    [
        (basic("speaker-portal", "wrong"), {}, 401, "invalid_client"),
        (basic("nobody", "portal-demo-secret"), {}, 401, "invalid_client"),
        ({"Authorization": "Basic !!!"}, {}, 401, "invalid_client"),
        ({}, {"client_id": "speaker-portal", "client_secret": "wrong"}, 400, "invalid_client"),
        ({}, {"client_id": "speaker-portal"}, 400, "invalid_client"),
        ({}, {}, 400, "invalid_client"),
        (
            basic("speaker-portal", "portal-demo-secret"),
            {"client_id": "speaker-portal", "client_secret": "portal-demo-secret"},
            400,
            "invalid_request",
        ),
    ],
)
def test_client_authentication_failures(flow, client, headers, form, status, error):
    data = {
        "grant_type": "authorization_code",
        "code": flow.code(),
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow.verifier,
        **form,
    }
    response = client.post(TOKEN, data=data, headers=headers)
    assert_oauth_error(response, status, error)
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Basic realm="mock_idp"'
    else:
        assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_verifier": "x" * 43}, "invalid_grant"),
        ({"code_verifier": None}, "invalid_request"),
        ({"code_verifier": "short"}, "invalid_request"),
        ({"redirect_uri": "http://127.0.0.1:8000/other"}, "invalid_grant"),
        ({"redirect_uri": None}, "invalid_request"),
        ({"code": "not-a-code"}, "invalid_grant"),
        ({"code": None}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token"}, "invalid_request"),  # no refresh_token parameter
        ({"grant_type": "implicit"}, "unsupported_grant_type"),
        ({"grant_type": None}, "invalid_request"),
    ],
)
def test_grant_failures(flow, overrides, error):
    response = flow.redeem(flow.code(), **overrides)
    assert_oauth_error(response, 400, error)


def test_repeated_parameter_is_invalid_request(flow, client):
    code = flow.code()
    data = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", flow.verifier),
    ]
    response = client.post(TOKEN, data=MultiDict(data), headers=flow.basic_auth())
    assert_oauth_error(response, 400, "invalid_request")


def test_code_replay_is_invalid_grant(flow):
    code = flow.code()
    assert flow.redeem(code).status_code == 200
    replay = flow.redeem(code)
    assert_oauth_error(replay, 400, "invalid_grant")
    assert replay.json["error_description"] == "The authorization code has already been used."


def introspected(flow, token: str) -> bool:
    response = flow.client.post(INTROSPECT, data={"token": token}, headers=flow.basic_auth())
    assert response.status_code == 200
    return response.json["active"]


def test_code_replay_revokes_the_grant_issued_from_it(flow):
    code = flow.code(scope="openid profile email offline_access")
    first = flow.redeem(code).json
    other = flow.tokens(scope="openid profile email offline_access")  # another grant, unharmed
    assert introspected(flow, first["access_token"]) is True

    replay = flow.redeem(code)
    assert_oauth_error(replay, 400, "invalid_grant")
    assert replay.json["error_description"] == "The authorization code has already been used."
    refused = flow.client.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=flow.basic_auth(),
    )
    assert_oauth_error(refused, 400, "invalid_grant")
    assert refused.json["error_description"] == "The refresh token has been revoked."
    assert introspected(flow, first["access_token"]) is False
    assert introspected(flow, first["refresh_token"]) is False
    userinfo = flow.client.get(
        USERINFO, headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert (userinfo.status_code, userinfo.json["error_description"]) == (
        401,
        "The access token has been revoked.",
    )
    assert introspected(flow, other["access_token"]) is True
    assert introspected(flow, other["refresh_token"]) is True


def test_code_replay_revokes_the_access_token_of_a_grant_without_refresh(flow):
    code = flow.code()
    first = flow.redeem(code).json
    assert "refresh_token" not in first
    assert_oauth_error(flow.redeem(code), 400, "invalid_grant")
    assert introspected(flow, first["access_token"]) is False


@pytest.mark.parametrize(
    ("verifier", "error", "description"),
    [
        ("y" * 43, "invalid_grant", "code_verifier does not match the code_challenge."),
        (None, "invalid_request", "code_verifier is required."),
        ("short", "invalid_request", "code_verifier is malformed."),
    ],
    ids=["wrong", "missing", "malformed"],
)
def test_a_failed_code_verifier_does_not_burn_the_code(flow, verifier, error, description):
    """Decided in issue 10: RFC 7636 §4.6 asks only that the request be refused. Burning the
    code would let anyone who saw it (a log, a Referer) deny the rightful client its login; the
    code stays single-use and short-lived, and a verifier made as §4.1 recommends has 256 bits
    of entropy to guess."""
    code = flow.code()
    refused = flow.redeem(code, code_verifier=verifier)
    assert_oauth_error(refused, 400, error)
    assert refused.json["error_description"] == description
    assert flow.redeem(code).status_code == 200  # the rightful client, once
    replay = flow.redeem(code)
    assert_oauth_error(replay, 400, "invalid_grant")
    assert replay.json["error_description"] == "The authorization code has already been used."


def test_expired_code_is_invalid_grant(app, flow):
    code = flow.code()
    with app.app_context():
        db.session.execute(update(AuthorizationCode).values(expires_at=AuthorizationCode.auth_time))
        db.session.commit()
    response = flow.redeem(code)
    assert_oauth_error(response, 400, "invalid_grant")
    assert response.json["error_description"] == "The authorization code has expired."


def test_code_is_bound_to_its_client(app, flow, client):
    add_client(app, "other-app", "other-secret")
    code = flow.code()
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow.verifier,
    }
    response = client.post(TOKEN, data=data, headers=basic("other-app", "other-secret"))
    assert_oauth_error(response, 400, "invalid_grant")


def test_client_without_the_grant_is_unauthorized_client(app, flow, client):
    add_client(app, "no-code-app", "secret", grant_types=())
    data = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI}
    response = client.post(TOKEN, data=data, headers=basic("no-code-app", "secret"))
    assert_oauth_error(response, 400, "unauthorized_client")


def test_get_is_not_allowed(client):
    assert client.get(TOKEN).status_code == 405
