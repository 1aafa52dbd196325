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
    assert last_attempt(app).reason == (
        f"the IdP is unreachable: introspection at {ISSUER}/v1/introspect failed (ConnectionError)"
    )


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


# Issue 10, decided: a refresh token may be exchanged any number of times. It is a long-lived
# credential whose validity the IdP decides at each exchange (introspection); mock_idp rotates
# refresh tokens with reuse detection, so once the portal has used it at the IdP, the exchange
# refuses the old one too. Proved against the real mock_idp: only the HTTP hop is its test client.
@pytest.fixture
def real_idp(app: Flask, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """mock_idp on a tmp instance (demo seed), answering mock_sf's introspection callouts."""
    from mock_idp import create_app as create_idp

    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path / "idp"))
    for name in ("IDP_DATABASE_URL", "IDP_SECRET_KEY", "IDP_URL", "PORTAL_URL", "SF_URL"):
        monkeypatch.delenv(name, raising=False)
    idp_app = create_idp(
        {
            "TESTING": True,
            "PASSWORD_HASH_PROFILE": "cheap",
            "IDP_URL": ISSUER.removesuffix("/oauth2/default"),
        }
    )
    result = idp_app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    idp_client = idp_app.test_client()

    def introspect(
        endpoint: str, token: str, hint: str, client_id: str, client_secret: str
    ) -> dict[str, Any]:
        assert endpoint == f"{ISSUER}/v1/introspect"
        response = idp_client.post(
            endpoint.removeprefix(ISSUER.removesuffix("/oauth2/default")),
            data={"token": token, "token_type_hint": hint},
            headers=basic(client_id, client_secret),
        )
        if response.status_code != 200:  # as requests' raise_for_status
            raise ValueError(f"introspection answered {response.status_code}")
        return response.get_json()

    app.extensions["mock_sf.introspect"] = introspect
    return idp_app


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def idp_refresh_token(idp_app: Flask) -> str:
    """A refresh token the IdP issued to the portal for Ada (offline_access), as at login."""
    from mock_idp.models import db as idp_db
    from mock_idp.oidc import grants
    from mock_idp.oidc.token import refresh_lifetimes

    with idp_app.app_context():
        now = int(time.time())
        lifetimes = refresh_lifetimes(idp_app.config)
        family = grants.start_family(
            client_id="speaker-portal",
            user_id=ADA_SUB,
            scope="openid profile email offline_access",
            auth_time=now,
            now=now,
            lifetimes=lifetimes,
        )
        token = grants.issue_refresh_token(family, now=now, lifetimes=lifetimes)
        idp_db.session.commit()
        return token


def refresh_at_idp(idp_app: Flask, token: str) -> Any:
    """The portal renewing its IdP tokens: the refresh token rotates."""
    return idp_app.test_client().post(
        "/oauth2/default/v1/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers=basic("speaker-portal", "portal-demo-secret"),
    )


def test_a_refresh_token_may_be_exchanged_again_until_the_idp_rotates_it(
    app: Flask, api: Any, real_idp: Flask
) -> None:
    old = idp_refresh_token(real_idp)
    first = api.exchange(old, subject_token_type=REFRESH)
    assert first.status_code == 200, first.get_json()
    second = api.exchange(old, subject_token_type=REFRESH)  # exchanged twice: still good
    assert second.status_code == 200, second.get_json()
    assert user_id(second) == user_id(first)

    rotated = refresh_at_idp(real_idp, old)
    assert rotated.status_code == 200, rotated.get_json()

    refused = api.exchange(old, subject_token_type=REFRESH)
    assert (refused.status_code, refused.get_json()) == (400, VALIDATION_FAILED)
    assert last_attempt(app).reason == "introspection says the token is not active"
    successor = api.exchange(rotated.get_json()["refresh_token"], subject_token_type=REFRESH)
    assert user_id(successor) == user_id(first)


def test_a_refresh_token_reused_at_the_idp_ends_the_exchange_of_its_successor(
    app: Flask, api: Any, real_idp: Flask
) -> None:
    old = idp_refresh_token(real_idp)
    successor = refresh_at_idp(real_idp, old).get_json()["refresh_token"]
    assert refresh_at_idp(real_idp, old).status_code == 400  # reuse: the IdP revokes the grant
    refused = api.exchange(successor, subject_token_type=REFRESH)
    assert (refused.status_code, refused.get_json()) == (400, VALIDATION_FAILED)
    assert last_attempt(app).reason == "introspection says the token is not active"
