"""UserInfo: claims by the access token's scp; refuses anything but this issuer's access tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from mock_idp.keys import KeyStore
from mock_idp.keys import generate_jwk

USERINFO = "/oauth2/default/v1/userinfo"
ISSUER = "http://127.0.0.1:8001/oauth2/default"
ADA_ID = "00u1ada1demo1speaker"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(**overrides) -> dict:
    now = int(time.time())
    values = {
        "iss": ISSUER,
        "sub": ADA_ID,
        "aud": "api://default",
        "exp": now + 600,
        "iat": now,
        "jti": "AT.test",
        "client_id": "speaker-portal",
        "cid": "speaker-portal",
        "uid": ADA_ID,
        "scp": ["openid", "email"],
        **overrides,
    }
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_returns_claims_for_the_granted_scopes(flow, client, method):
    token = flow.tokens()["access_token"]
    response = client.open(USERINFO, method=method, headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "sub": ADA_ID,
        "email": "ada@speakers.example",
        "email_verified": True,
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "preferred_username": "ada@speakers.example",
        "company": "Analytical Engines Ltd",
        "speaker_id": "SPK-1815",
        "talks": ["Notes on the Analytical Engine"],
    }


def test_openid_only_gives_just_the_subject(flow, client):
    token = flow.tokens(scope="openid")["access_token"]
    assert client.get(USERINFO, headers=bearer(token)).json == {"sub": ADA_ID}


def test_missing_token_is_a_bare_bearer_challenge(client):
    response = client.get(USERINFO)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="mock_idp"'
    assert response.json["error"] == "invalid_token"


def _other_key_same_kid(app) -> KeyStore:
    jwk = generate_jwk()
    jwk["kid"] = app.extensions["mock_idp.keys"].kid
    return KeyStore(jwk)


def _hs256_with_public_key(app) -> str:
    """The classic key-confusion forgery: HMAC keyed with the published RSA public key."""
    public_pem = app.extensions["mock_idp.keys"]._public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": app.extensions["mock_idp.keys"].kid}
    signing_input = b".".join(
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=")
        for part in (header, claims())
    )
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


FORGERIES = {
    "garbage": lambda app: "not.a.jwt",
    "expired": lambda app: app.extensions["mock_idp.keys"].sign(
        claims(exp=int(time.time()) - 10, iat=int(time.time()) - 700), "at+jwt"
    ),
    "wrong issuer": lambda app: app.extensions["mock_idp.keys"].sign(
        claims(iss="http://127.0.0.1:9999/oauth2/default"), "at+jwt"
    ),
    "wrong audience": lambda app: app.extensions["mock_idp.keys"].sign(
        claims(aud="speaker-portal"), "at+jwt"
    ),
    "id token typ": lambda app: app.extensions["mock_idp.keys"].sign(claims(), "JWT"),
    "no exp": lambda app: app.extensions["mock_idp.keys"].sign(claims(exp=None), "at+jwt"),
    "unknown kid": lambda app: KeyStore(generate_jwk()).sign(claims(), "at+jwt"),
    "other key, same kid": lambda app: _other_key_same_kid(app).sign(claims(), "at+jwt"),
    "alg none": lambda app: jwt.encode(claims(), None, algorithm="none", headers={"typ": "at+jwt"}),
    "hs256 with the public key": _hs256_with_public_key,
    "unknown subject": lambda app: app.extensions["mock_idp.keys"].sign(
        claims(sub="00uNOBODYxxxxxxxxxx"), "at+jwt"
    ),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_invalid_tokens_are_refused(app, client, forgery):
    token = FORGERIES[forgery](app)
    response = client.get(USERINFO, headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json["error"] == "invalid_token"


def test_id_token_is_not_an_access_token(flow, client):
    id_token = flow.tokens()["id_token"]
    response = client.get(USERINFO, headers=bearer(id_token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_token_without_openid_scope_is_insufficient(app, client):
    token = app.extensions["mock_idp.keys"].sign(claims(scp=["email"]), "at+jwt")
    response = client.get(USERINFO, headers=bearer(token))
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"


def test_token_in_a_form_encoded_post_body_is_accepted(flow, client):
    token = flow.tokens(scope="openid")["access_token"]
    response = client.post(USERINFO, data={"access_token": token})
    assert response.status_code == 200
    assert response.json == {"sub": ADA_ID}


def test_token_in_header_and_body_at_once_is_invalid_request(flow, client):
    token = flow.tokens(scope="openid")["access_token"]
    response = client.post(USERINFO, data={"access_token": token}, headers=bearer(token))
    assert response.status_code == 400
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_request"'
    assert response.json == {
        "error": "invalid_request",
        "error_description": "Send the access token in one way only.",
    }


@pytest.mark.parametrize(
    "request_args",
    [
        pytest.param({"method": "GET", "query_string": {"access_token": "TOKEN"}}, id="query"),
        pytest.param(
            {"method": "POST", "query_string": {"access_token": "TOKEN"}}, id="post query"
        ),
        pytest.param(
            {"method": "POST", "data": {"access_token": "TOKEN", "f": (io.BytesIO(b""), "f")}},
            id="multipart body",
        ),
    ],
)
def test_token_outside_header_or_form_body_is_not_accepted(flow, client, request_args):
    token = flow.tokens(scope="openid")["access_token"]
    args = {**request_args}
    for part in ("query_string", "data"):
        if part in args:
            args[part] = {k: token if v == "TOKEN" else v for k, v in args[part].items()}
    response = client.open(USERINFO, **args)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="mock_idp"'
    assert response.json["error"] == "invalid_token"


def test_body_token_is_checked_like_a_header_token(app, client):
    token = app.extensions["mock_idp.keys"].sign(claims(aud="speaker-portal"), "at+jwt")
    response = client.post(USERINFO, data={"access_token": token})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
