"""Opaque access tokens and refresh tokens, validated by RFC 7662 introspection at the IdP."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from mock_sf.handlers import introspection
from mock_sf.handlers.composite import looks_like_jwt
from mock_sf.models import ExchangeAttempt
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import User
from mock_sf.models import db

ISSUER = "http://127.0.0.1:18001/oauth2/default"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
REFRESH = "urn:ietf:params:oauth:token-type:refresh_token"
ADA_SUB = "00u1ada1demo1speaker"
GRACE_SUB = "00u1grace1demo1spkr0"
VALIDATION_FAILED = {
    "error": "invalid_request",
    "error_description": "token handler validation failed",
}


class FakeIntrospection:
    """The IdP's introspection endpoint and UserInfo, answering from a table of tokens."""

    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, str, str, str]] = []
        self.userinfo_calls: list[str] = []
        self.error: Exception | None = None

    def add(self, token: str, sub: str = ADA_SUB, kind: str = "access_token", **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "active": True,
            "scope": "openid profile email",
            "client_id": "speaker-portal",
            "exp": now + 3600,
            "iat": now,
            "nbf": now,
            "sub": sub,
            "aud": "api://default",
            "iss": ISSUER,
            "jti": f"jti-{token}",
            "uid": sub,
            "username": f"{'ada' if sub == ADA_SUB else 'grace'}@speakers.example",
        }
        if kind == "access_token":
            body["token_type"] = "Bearer"
        body.update(claims)
        self.tokens[token] = {name: value for name, value in body.items() if value is not None}
        return token

    def introspect(
        self, endpoint: str, token: str, hint: str, client_id: str, client_secret: str
    ) -> dict[str, Any]:
        self.calls.append((endpoint, token, hint, client_id, client_secret))
        if self.error is not None:
            raise self.error
        return dict(self.tokens.get(token, {"active": False}))

    def fetch_userinfo(self, url: str, access_token: str) -> dict[str, Any]:
        assert url == f"{ISSUER}/v1/userinfo"
        self.userinfo_calls.append(access_token)
        sub = self.tokens[access_token]["sub"]
        return {
            "sub": sub,
            "email": "grace@speakers.example",
            "given_name": "Grace",
            "family_name": "Hopper",
            "name": "Grace Hopper",
            "company": "Compilers Inc",
        }


@pytest.fixture
def opaque(app: Flask) -> FakeIntrospection:
    fake = FakeIntrospection()
    app.extensions["mock_sf.introspect"] = fake.introspect
    app.extensions["mock_sf.fetch_userinfo"] = fake.fetch_userinfo
    return fake


def last_attempt(app: Flask) -> ExchangeAttempt:
    with app.app_context():
        return db.session.scalars(
            select(ExchangeAttempt).order_by(ExchangeAttempt.id.desc())
        ).first()


def user_id(response: Any) -> str:
    return response.get_json()["id"].rsplit("/", 1)[1]


def test_an_opaque_access_token_is_introspected_with_the_handlers_own_client(
    app: Flask, api: Any, opaque: FakeIntrospection
) -> None:
    response = api.exchange(opaque.add("opaque-ada"))
    assert response.status_code == 200, response.get_json()
    assert opaque.calls == [
        (
            f"{ISSUER}/v1/introspect",
            "opaque-ada",
            "access_token",
            "salesforce-introspection",
            "sf-introspect-demo-secret",
        )
    ]
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
    assert user_id(response) == ada.id  # mapped by iss|sub, like a JWT
    assert opaque.userinfo_calls == []  # an existing user needs no profile


def test_a_first_opaque_access_token_creates_the_speaker_from_userinfo(
    app: Flask, api: Any, opaque: FakeIntrospection
) -> None:
    response = api.exchange(opaque.add("opaque-grace", GRACE_SUB))
    assert response.status_code == 200, response.get_json()
    assert opaque.userinfo_calls == ["opaque-grace"]
    with app.app_context():
        grace = db.session.get(User, user_id(response))
        assert grace.federation_identifier == f"{ISSUER}|{GRACE_SUB}"
        assert (grace.first_name, grace.last_name, grace.account.name) == (
            "Grace",
            "Hopper",
            "Compilers Inc",
        )


def test_a_refresh_token_maps_and_may_be_exchanged_again(
    app: Flask, api: Any, opaque: FakeIntrospection
) -> None:
    token = opaque.add("refresh-ada", kind="refresh_token")
    first = api.exchange(token, subject_token_type=REFRESH)
    assert first.status_code == 200, first.get_json()
    assert opaque.calls[0][2] == "refresh_token"
    second = api.exchange(token, subject_token_type=REFRESH)  # long-lived: not single use
    assert user_id(second) == user_id(first)


def test_a_first_refresh_token_creates_the_speaker_from_introspection_alone(
    app: Flask, api: Any, opaque: FakeIntrospection
) -> None:
    token = opaque.add("refresh-grace", GRACE_SUB, kind="refresh_token")
    response = api.exchange(token, subject_token_type=REFRESH)
    assert response.status_code == 200, response.get_json()
    assert opaque.userinfo_calls == []  # a refresh token cannot call UserInfo
    with app.app_context():
        grace = db.session.get(User, user_id(response))
        assert (grace.email, grace.last_name) == ("grace@speakers.example", "grace")


def test_jwt_access_tokens_still_go_to_the_jwt_handler(
    api: Any, idp: Any, opaque: FakeIntrospection
) -> None:
    assert api.exchange(idp.access_token()).status_code == 200
    assert opaque.calls == []


@pytest.mark.parametrize(
    ("token", "expected"),
    [("a.b.c", True), ("a.b.", True), ("a.b.c.d.e", True), ("opaque", False), ("a.b", False)],
)
def test_jwt_shape(token: str, expected: bool) -> None:
    assert looks_like_jwt(token) is expected


NOW = int(time.time())
NEGATIVE: list[tuple[str, dict[str, Any], str, str]] = [
    ("inactive", {"active": False}, ACCESS, "introspection says the token is not active"),
    (
        "wrong iss",
        {"iss": "http://127.0.0.1:18001/oauth2/other"},
        ACCESS,
        f"iss mismatch: expected {ISSUER}, got 'http://127.0.0.1:18001/oauth2/other'",
    ),
    ("no sub", {"sub": None}, ACCESS, "introspection response has no sub"),
    ("no exp", {"exp": None}, ACCESS, "introspection response has no numeric exp"),
    ("expired", {"exp": NOW - 10}, ACCESS, f"token expired at {NOW - 10}"),
    ("not yet valid", {"nbf": NOW + 3600}, ACCESS, f"token not valid before {NOW + 3600}"),
    (
        "refresh token as access token",
        {"token_type": None},
        ACCESS,
        "token_type None is not an access token's (Bearer)",
    ),
    (
        "access token as refresh token",
        {},
        REFRESH,
        "token_type 'Bearer' presented as a refresh token",
    ),
    (
        "another client's token",
        {"client_id": "schedule-service"},
        ACCESS,
        "client_id mismatch: expected speaker-portal, got 'schedule-service'",
    ),
    (
        "wrong aud",
        {"aud": "api://other"},
        ACCESS,
        "aud mismatch: expected api://default, got 'api://other'",
    ),
]


@pytest.mark.parametrize(
    ("claims", "token_type", "reason"), [c[1:] for c in NEGATIVE], ids=[c[0] for c in NEGATIVE]
)
def test_refused_opaque_tokens(
    app: Flask,
    api: Any,
    opaque: FakeIntrospection,
    claims: dict[str, Any],
    token_type: str,
    reason: str,
) -> None:
    response = api.exchange(opaque.add("opaque-x", **claims), subject_token_type=token_type)
    assert response.status_code == 400
    assert response.get_json() == VALIDATION_FAILED
    attempt = last_attempt(app)
    assert (attempt.error, attempt.handler, attempt.reason) == (
        "invalid_request",
        "SpeakerTokenHandler",
        reason,
    )


def test_an_unknown_token_is_inactive(app: Flask, api: Any, opaque: FakeIntrospection) -> None:
    assert api.exchange("never-issued").get_json() == VALIDATION_FAILED
    assert last_attempt(app).reason == "introspection says the token is not active"


def test_an_unreachable_introspection_endpoint_fails_closed(
    app: Flask, api: Any, opaque: FakeIntrospection
) -> None:
    opaque.error = requests.ConnectionError("connection refused")
    assert api.exchange(opaque.add("opaque-ada")).get_json() == VALIDATION_FAILED
    assert last_attempt(app).reason == "introspection callout failed: connection refused"


def test_a_replayed_opaque_access_token_is_refused(
    app: Flask, api: Any, opaque: FakeIntrospection
) -> None:
    token = opaque.add("opaque-ada")
    assert api.exchange(token).status_code == 200
    assert api.exchange(token).get_json() == VALIDATION_FAILED
    assert last_attempt(app).reason == "jti replayed: 'jti-opaque-ada'"


def test_without_introspection_credentials_opaque_tokens_are_refused(
    app: Flask, api: Any, opaque: FakeIntrospection
) -> None:
    app.config["TRUSTED_ISSUERS"] = [
        {k: v for k, v in app.config["TRUSTED_ISSUERS"][0].items() if "introspection" not in k}
    ]
    assert api.exchange(opaque.add("opaque-ada")).get_json() == VALIDATION_FAILED
    assert last_attempt(app).reason == "no trusted issuer has introspection credentials"
    assert opaque.calls == []


def test_refresh_tokens_need_the_handlers_refresh_flag(
    app: Flask, api: Any, opaque: FakeIntrospection
) -> None:
    with app.app_context():
        db.session.scalar(select(OauthTokenExchangeHandler)).supports_refresh_token = False
        db.session.commit()
    response = api.exchange(opaque.add("r", kind="refresh_token"), subject_token_type=REFRESH)
    assert response.get_json() == {
        "error": "invalid_request",
        "error_description": "token handler not found",
    }


def test_the_callout_posts_the_form_with_http_basic(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: dict[str, Any] = {}

    class Reply:
        def raise_for_status(self) -> None:
            pass

        def json(self) -> Any:
            return {"active": False}

    def post(url: str, **kwargs: Any) -> Reply:
        sent.update(kwargs, url=url)
        return Reply()

    monkeypatch.setattr(introspection.requests, "post", post)
    body = introspection.introspect(
        "http://127.0.0.1:18001/i", "tok", "refresh_token", "sf client", "s:cret", timeout=3
    )
    assert body == {"active": False}
    # RFC 6749 §2.3.1: each part form-urlencoded before base64.
    basic = base64.b64encode(b"sf+client:s%3Acret").decode()
    assert sent == {
        "url": "http://127.0.0.1:18001/i",
        "data": {"token": "tok", "token_type_hint": "refresh_token"},
        "headers": {"Authorization": f"Basic {basic}", "Accept": "application/json"},
        "timeout": 3,
        "allow_redirects": False,
    }
