"""A database that cannot be reached (a restart, an outage) answers 503 in each dialect, never
500: the IdP runs on a PostgreSQL URL whose loopback port has no server, so every connection is
refused exactly as during an outage."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import free_port
from mock_idp import create_app
from mock_idp.oidc.tokens import Grant
from mock_idp.oidc.tokens import mint_access_token
from mock_idp.oidc.tokens import mint_id_token

ISSUER_PATH = "/oauth2/default"
# Who the tokens below were issued to: the IdP cannot look any of it up now.
GRANT = {
    "client_id": "speaker-portal",
    "user_id": "00u1ada",
    "scopes": ["openid"],
    "auth_time": 0,
    "nonce": None,
}
TEMPORARILY_UNAVAILABLE = {
    "error": "temporarily_unavailable",
    "error_description": "try again later",
}


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signing_keys_json: str) -> Flask:
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "signing-keys.json").write_text(signing_keys_json)  # generated once per session
    for name in ("IDP_DATABASE_URL", "IDP_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/mock_idp",
        }
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def access_token(app: Flask) -> str:
    """A valid access token for a user the IdP cannot look up now."""
    grant = Grant(app.config["ISSUER"], **GRANT)
    keys, now = app.extensions["mock_idp.keys"], int(time.time())
    return mint_access_token(keys, grant, audience="api://default", now=now, lifetime=300)


@pytest.mark.parametrize(
    ("method", "path", "options"),
    [
        ("get", "/v1/userinfo", {}),
        (
            "post",
            "/v1/token",
            {
                "data": {
                    "grant_type": "refresh_token",
                    "refresh_token": "opaque",
                    "client_id": "speaker-portal",
                    "client_secret": "portal-demo-secret",
                }
            },
        ),
        ("post", "/v1/introspect", {"data": {"token": "opaque"}, "auth": ("rs", "secret")}),
    ],
    ids=["userinfo", "token", "introspect"],
)
def test_an_oauth_endpoint_says_temporarily_unavailable(
    app: Flask, client: FlaskClient, method: str, path: str, options: dict[str, Any]
) -> None:
    if path == "/v1/userinfo":  # a valid token: only then is the user looked up
        options = {"headers": {"Authorization": f"Bearer {access_token(app)}"}}

    response = getattr(client, method)(ISSUER_PATH + path, **options)

    assert response.status_code == 503
    assert response.get_json() == TEMPORARILY_UNAVAILABLE
    assert response.headers["Cache-Control"] == "no-store"


def test_client_registration_says_temporarily_unavailable(app: Flask) -> None:
    """A demo control with its own blueprint answers clients in JSON too."""
    demo = create_app({**app.config, "TESTING": True, "DEMO_CONTROLS": True})
    response = demo.test_client().post(
        ISSUER_PATH + "/v1/clients", json={"redirect_uris": ["http://127.0.0.1:9/cb"]}
    )
    assert (response.status_code, response.get_json()) == (503, TEMPORARILY_UNAVAILABLE)


@pytest.mark.parametrize(
    ("path", "form", "message"),
    [
        (
            "/login",
            {"email": "ada@speakers.example", "password": "ada-demo"},
            "Sign-in is temporarily unavailable",
        ),
        (
            "/register",
            {
                "given_name": "Grace",
                "family_name": "Hopper",
                "email": "grace@speakers.example",
                "company": "Compilers Inc",
                "password": "a long enough passphrase",
                "confirm_password": "a long enough passphrase",
            },
            "Registration is temporarily unavailable",
        ),
    ],
    ids=["sign-in", "registration"],
)
def test_a_form_sent_while_the_database_is_down_comes_back_as_typed(
    app: Flask, client: FlaskClient, path: str, form: dict[str, str], message: str
) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post(path, data=form)

    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert message in page
    kept = [value for name, value in form.items() if name not in ("password", "confirm_password")]
    assert all(f'value="{value}"' in page for value in kept), page
    assert "ada-demo" not in page and "passphrase" not in page


def test_the_authorize_page_says_so_in_words(client: FlaskClient) -> None:
    response = client.get(
        f"{ISSUER_PATH}/v1/authorize",
        query_string={"client_id": "speaker-portal", "response_type": "code", "scope": "openid"},
    )

    assert response.status_code == 503
    assert "<h1>Sign-in is temporarily unavailable</h1>" in response.get_data(as_text=True)


def test_logout_a_browser_visits_gets_the_page_not_json(app: Flask, client: FlaskClient) -> None:
    grant = Grant(app.config["ISSUER"], **GRANT)
    keys, now = app.extensions["mock_idp.keys"], int(time.time())
    id_token = mint_id_token(keys, grant, access_token="at", user_claims={}, now=now, lifetime=300)

    response = client.post(f"{ISSUER_PATH}/v1/logout", data={"id_token_hint": id_token})

    assert response.status_code == 503
    assert "<h1>Sign-in is temporarily unavailable</h1>" in response.get_data(as_text=True)


def test_the_keys_need_no_database(client: FlaskClient) -> None:
    response = client.get(f"{ISSUER_PATH}/v1/keys")

    assert response.status_code == 200
    assert response.get_json()["keys"]


def test_the_log_keeps_the_driver_error(app: Flask, client: FlaskClient, caplog: Any) -> None:
    client.get(
        f"{ISSUER_PATH}/v1/userinfo", headers={"Authorization": f"Bearer {access_token(app)}"}
    )

    [record] = [r for r in caplog.records if r.getMessage().startswith("database unavailable")]
    assert "Connection refused" in record.getMessage()
