"""Fixtures for mock_idp: an app on a tmp instance with the demo data, and a code-flow driver."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_idp import create_app
from mock_idp.keys import KeyStore

IDP_URL = "http://127.0.0.1:8001"
PORTAL_URL = "http://127.0.0.1:8000"
ISSUER = f"{IDP_URL}/oauth2/default"
AUTHORIZE = "/oauth2/default/v1/authorize"
TOKEN = "/oauth2/default/v1/token"
USERINFO = "/oauth2/default/v1/userinfo"
KEYS = "/oauth2/default/v1/keys"
DISCOVERY = "/oauth2/default/.well-known/openid-configuration"
CLIENT_ID = "speaker-portal"
CLIENT_SECRET = "portal-demo-secret"
REDIRECT_URI = f"{PORTAL_URL}/auth/callback"
ADA = {"id": "00u1ada1demo1speaker", "email": "ada@speakers.example", "password": "ada-demo"}
GRACE = {"id": "00u1grace1demo1spkr0", "email": "grace@speakers.example", "password": "grace-demo"}


@pytest.fixture(scope="session")
def signing_keys_json(tmp_path_factory) -> str:
    """One generated key file for the session: RSA key generation dominates app setup."""
    path = tmp_path_factory.mktemp("keys") / "signing-keys.json"
    KeyStore.load_or_create(path)
    return path.read_text()


# The factory reads DEMO_CONTROLS once, registering the demo controls' routes or not, so it cannot
# be switched on later: a test that uses one of these fixtures gets an `app` created with it on.
DEMO_FIXTURES = frozenset({"demo_app", "demo", "accounts"})


@pytest.fixture
def app(
    request: pytest.FixtureRequest, tmp_path, monkeypatch, signing_keys_json, app_database
) -> Flask:
    """The IdP on a tmp instance folder, seeded through the real CLI command; demo controls are
    on only for a test that uses demo_app, demo or accounts."""
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "signing-keys.json").write_text(signing_keys_json)
    for name in ("IDP_URL", "PORTAL_URL", "SF_URL", "IDP_DATABASE_URL", "IDP_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = create_app(
        {
            "TESTING": True,
            "PASSWORD_HASH_PROFILE": "cheap",
            "IDP_URL": IDP_URL,
            "PORTAL_URL": PORTAL_URL,
            "DATABASE_URL": app_database,
            "DEMO_CONTROLS": not DEMO_FIXTURES.isdisjoint(request.fixturenames),
        }
    )
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def demo_app(app: Flask) -> Flask:
    """The IdP created with demo controls on: the same app as the test's `app`, `client`, `flow`."""
    assert app.config["DEMO_CONTROLS"] is True, "asked for after the app was created"
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser-like test client (keeps cookies)."""
    return app.test_client()


@pytest.fixture
def demo(demo_app: Flask, client: FlaskClient) -> FlaskClient:
    """The test client of the IdP with demo controls on."""
    return client


@dataclass
class CodeFlow:
    """Drives the authorization code flow through the test client, like a browser and an RP."""

    client: FlaskClient
    verifier: str = ""
    challenge: str = ""
    state: str = ""
    nonce: str = ""

    @staticmethod
    def pkce_pair() -> tuple[str, str]:
        """(verifier, S256 challenge), computed independently of the app's code."""
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    @staticmethod
    def basic_auth(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
        """An Authorization header for client_secret_basic (values already form-encoded)."""
        raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    @staticmethod
    def csrf_token(html: str) -> str:
        """The CSRF token of the page's form."""
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        assert match, "no CSRF token on the page"
        return match.group(1)

    @staticmethod
    def query(location: str) -> dict[str, str]:
        """Single-valued query parameters of a redirect Location."""
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    def login(self, email: str, password: str, expect_redirect: bool = True):
        """Submit the login form with its CSRF token."""
        page = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": self.csrf_token(page.text)},
        )
        if expect_redirect:
            assert response.status_code == 303, response.text
        return response

    def authorize_params(self, **overrides: str | None) -> dict[str, str]:
        """A valid authorize request (fresh PKCE, state, nonce), with overrides (None drops)."""
        self.verifier, self.challenge = self.pkce_pair()
        self.state, self.nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
        params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, **overrides: str | None):
        """GET the authorize endpoint."""
        return self.client.get(AUTHORIZE, query_string=self.authorize_params(**overrides))

    def code(self, user: dict[str, str] = ADA, **overrides: str | None) -> str:
        """Authorize, sign in at the login page, follow the resume redirect, return the code."""
        response = self.authorize(**overrides)
        assert response.status_code == 302
        if response.headers["Location"] == "/login":
            self.login(user["email"], user["password"])
            response = self.client.get(AUTHORIZE + "/resume")
        params = self.query(response.headers["Location"])
        assert params["state"] == self.state
        assert params["iss"] == ISSUER
        return params["code"]

    def redeem(self, code: str, /, **overrides: str | None):
        """POST the token request for `code` with client_secret_basic."""
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": self.verifier,
            **overrides,
        }
        data = {k: v for k, v in data.items() if v is not None}
        return self.client.post(TOKEN, data=data, headers=self.basic_auth())

    def tokens(self, user: dict[str, str] = ADA, **overrides: str | None) -> dict[str, Any]:
        """The whole flow: the token response JSON."""
        response = self.redeem(self.code(user, **overrides))
        assert response.status_code == 200, response.json
        return response.json


@pytest.fixture
def flow(client: FlaskClient) -> CodeFlow:
    """A code-flow driver bound to the test client."""
    return CodeFlow(client)


@dataclass
class Accounts:
    """Drives the account pages (registration, reset) and reads the demo outbox, like a browser."""

    client: FlaskClient

    def submit(self, path: str, data: dict[str, str]):
        """GET the form at `path`, then POST `data` with its CSRF token."""
        token = CodeFlow.csrf_token(self.client.get(path).text)
        return self.client.post(path, data={**data, "csrf_token": token})

    def register(self, email: str, password: str = "correct horse battery", **fields: str):
        """Submit the registration form (valid unless overridden)."""
        data = {
            "given_name": "Lin",
            "family_name": "Clark",
            "email": email,
            "company": "",
            "password": password,
            "confirm_password": password,
            **fields,
        }
        return self.submit("/register", data)

    def mail(self, to: str) -> list[dict[str, Any]]:
        """Messages to `to`, newest first, from the demo outbox."""
        response = self.client.get("/_demo/outbox.json", query_string={"to": to})
        assert response.status_code == 200, response.text
        return response.json["messages"]

    def link(self, to: str, path_prefix: str) -> str:
        """The path of the newest emailed link to `to` that starts with `path_prefix`."""
        for message in self.mail(to):
            for url in message["links"]:
                path = urlsplit(url).path
                if path.startswith(path_prefix):
                    return path
        raise AssertionError(f"no {path_prefix} link mailed to {to}")


@pytest.fixture
def accounts(demo: FlaskClient) -> Accounts:
    """An account-pages driver; demo controls on so the outbox can be read."""
    return Accounts(demo)
