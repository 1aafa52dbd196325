"""Fixtures for mock_sf: an app on a tmp database with the demo seed, a fake IdP that signs JWTs
with a key generated here, and helpers to exchange tokens and call the REST API."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from mock_sf import create_app
from mock_sf.models import db
from tests.mock_sf.forge import FakeForge

IDP_URL = "http://127.0.0.1:18001"
SF_URL = "http://127.0.0.1:18002"
ISSUER = f"{IDP_URL}/oauth2/default"
JWKS_URI = f"{ISSUER}/v1/keys"
USERINFO_URI = f"{ISSUER}/v1/userinfo"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ADA_SUB = "00u1ada1demo1speaker"
GRACE_SUB = "00u1grace1demo1spkr0"
KID = "test-key-1"

PROFILES = {
    ADA_SUB: {
        "sub": ADA_SUB,
        "email": "ada@speakers.example",
        "email_verified": True,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "name": "Ada Lovelace",
        "company": "Analytical Engines Ltd",
    },
    GRACE_SUB: {
        "sub": GRACE_SUB,
        "email": "grace@speakers.example",
        "email_verified": True,
        "given_name": "Grace",
        "family_name": "Hopper",
        "name": "Grace Hopper",
        "company": "Compilers Inc",
    },
}


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    """The fake IdP's RSA key (one per test session: generation is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeIdp:
    """Signs tokens like mock_idp and answers JWKS and UserInfo callouts, without a network."""

    ISSUER = ISSUER
    ADA_SUB = ADA_SUB
    GRACE_SUB = GRACE_SUB
    ACCESS_TOKEN_TYPE = ACCESS_TOKEN_TYPE
    ID_TOKEN_TYPE = ID_TOKEN_TYPE

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key
        self.kid = KID
        self.jwks_fetches = 0
        self.userinfo_calls: list[str] = []
        self.reachable = True
        self.elsewhere: dict[str, dict[str, Any]] = {}
        self.fetched_elsewhere: list[str] = []

    def jwks(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def serve_jwks_elsewhere(self, uri: str, key: rsa.RSAPrivateKey, kid: str) -> None:
        """An attacker's JWKS at ``uri``: what a handler that honoured ``jku`` would fetch."""
        public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        self.elsewhere[uri] = {"keys": [{**public, "kid": kid, "use": "sig", "alg": "RS256"}]}

    def fetch_jwks(self, uri: str, timeout: float) -> dict[str, Any]:
        if uri in self.elsewhere:
            self.fetched_elsewhere.append(uri)
            return self.elsewhere[uri]
        assert uri == JWKS_URI and timeout == 5
        self.jwks_fetches += 1
        if not self.reachable:
            raise ValueError("IdP unreachable")
        return self.jwks()

    def fetch_userinfo(self, url: str, access_token: str) -> dict[str, Any]:
        assert url == USERINFO_URI
        self.userinfo_calls.append(access_token)
        claims = jwt.decode(access_token, options={"verify_signature": False})
        return dict(PROFILES[claims["sub"]])

    def access_token(
        self,
        sub: str = ADA_SUB,
        *,
        headers: dict[str, Any] | None = None,
        key: Any = ...,
        algorithm: str = "RS256",
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        """An RFC 9068 access token as mock_idp mints it; override or drop anything."""
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "sub": sub,
            "aud": "api://default",
            "exp": now + 3600,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "client_id": "speaker-portal",
            "cid": "speaker-portal",
            "uid": sub,
            "scp": ["openid", "profile", "email"],
            **claims,
        }
        for name in drop:
            body.pop(name)
        header = {"typ": "at+jwt", "kid": self.kid, **(headers or {})}
        header = {name: value for name, value in header.items() if value is not None}
        signing_key = self.key if key is ... else key
        return jwt.encode(body, signing_key, algorithm=algorithm, headers=header)

    def id_token(self, sub: str = ADA_SUB, **claims: Any) -> str:
        """An OIDC ID token (typ JWT, aud = the portal's client id) with profile claims."""
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": "speaker-portal",
            "exp": now + 3600,
            "iat": now,
            **PROFILES[sub],
            **claims,
        }
        return jwt.encode(
            body, self.key, algorithm="RS256", headers={"typ": "JWT", "kid": self.kid}
        )


@pytest.fixture
def idp(signing_key: rsa.RSAPrivateKey) -> FakeIdp:
    return FakeIdp(signing_key)


@pytest.fixture(scope="session")
def sf_signing_key_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """mock_sf's own ID-token key, generated once per session (generation is the slow part)."""
    from mock_sf.oauth.keys import generate_jwk

    path = tmp_path_factory.mktemp("mock_sf_keys") / "signing_key.json"
    path.write_text(json.dumps(generate_jwk()))
    return str(path)


@pytest.fixture
def app(
    request: pytest.FixtureRequest,
    tmp_path: Any,
    idp: FakeIdp,
    sf_signing_key_file: str,
    app_database: str | None,
) -> Iterator[Flask]:
    """mock_sf on a fresh database (SQLite, or PostgreSQL where a test asks), demo data seeded,
    IdP callouts faked; indirect parametrization passes extra config to the factory."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": app_database or f"sqlite:///{tmp_path / 'sf.sqlite3'}",
            "IDP_URL": IDP_URL,
            "SF_URL": SF_URL,
            "ARGON2_PROFILE": "CHEAPEST",
            "SIGNING_KEY_FILE": sf_signing_key_file,
            **getattr(request, "param", {}),
        }
    )
    app.extensions["mock_sf.jwks"].fetch = idp.fetch_jwks
    app.extensions["mock_sf.fetch_userinfo"] = idp.fetch_userinfo
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def exchange_form(subject_token: str, **overrides: str | None) -> dict[str, str]:
    """The portal's token exchange request; an override of None drops the parameter."""
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "client_id": "speaker-portal",
        "client_secret": "portal-sf-demo-secret",
        "scope": "api",
        "token_handler": "SpeakerTokenHandler",
    }
    form.update(overrides)  # type: ignore[arg-type]
    return {key: value for key, value in form.items() if value is not None}


class Api:
    """Exchange an IdP token for a Salesforce session, then call REST with it."""

    def __init__(self, client: FlaskClient, idp: FakeIdp) -> None:
        self.client = client
        self.idp = idp

    def exchange(
        self, subject_token: str, headers: dict[str, str] | None = None, **overrides: str | None
    ) -> Any:
        """POST a token exchange (see exchange_form for overrides)."""
        return self.client.post(
            "/services/oauth2/token",
            data=exchange_form(subject_token, **overrides),
            headers=headers or {},
        )

    def session_for(self, sub: str) -> dict[str, Any]:
        response = self.exchange(self.idp.access_token(sub))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def token_for(self, sub: str) -> str:
        return self.session_for(sub)["access_token"]

    def get(self, path: str, token: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def post(self, path: str, token: str, **kwargs: Any) -> Any:
        return self.client.post(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


@pytest.fixture
def api(client: FlaskClient, idp: FakeIdp) -> Api:
    return Api(client, idp)


class SetupAdmin:
    """Drive the Setup console as a browser would: real login form, real CSRF tokens."""

    USERNAME = "admin@sf.example"
    PASSWORD = "admin-demo"

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf_token(self, path: str = "/setup/login") -> str:
        """The CSRF token from a page's form."""
        page = self.client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str = USERNAME, password: str = PASSWORD) -> Any:
        data = {"csrf_token": self.csrf_token(), "username": username, "password": password}
        return self.client.post("/setup/login", data=data)

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """POST a Setup form with a fresh CSRF token."""
        token = self.csrf_token("/setup/")
        return self.client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


@pytest.fixture
def setup_browser(client: FlaskClient) -> SetupAdmin:
    """A Setup client not yet logged in."""
    return SetupAdmin(client)


@pytest.fixture
def setup_admin(setup_browser: SetupAdmin) -> SetupAdmin:
    """A client logged in to Setup as the demo admin."""
    assert setup_browser.login().status_code == 303
    return setup_browser


@pytest.fixture
def forge(app: Flask, idp: FakeIdp) -> FakeForge:
    """The IdP's forge, faked: the scorecard mints from it."""
    fake = FakeForge(idp)
    app.extensions["mock_sf.forge"].fetch = fake.fetch
    return fake


@pytest.fixture
def admin_token(app: Flask) -> str:
    """A REST session for the internal admin, issued directly (admins do not exchange tokens)."""
    from sqlalchemy import select

    from mock_sf.models import ConnectedApp
    from mock_sf.models import Organization
    from mock_sf.models import User
    from mock_sf.models import utcnow
    from mock_sf.oauth.tokens import issue_access_token

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin@sf.example"))
        org_id = db.session.scalar(select(Organization.id))
        connected_app = db.session.scalar(select(ConnectedApp))
        raw = issue_access_token(org_id, admin, connected_app, "api", utcnow(), 3600)
        db.session.commit()
        return raw
