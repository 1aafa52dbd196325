"""POST /services/oauth2/introspect (contract §5, RFC 7662)."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from flask import Flask

from mock_sf.models import ConnectedApp
from mock_sf.models import db

CLIENT = {"client_id": "speaker-portal", "client_secret": "portal-sf-demo-secret"}


@pytest.fixture
def session(api: Any, idp: Any) -> dict[str, Any]:
    return api.exchange(idp.access_token(), scope="api refresh_token").get_json()


def test_an_access_token_is_active_with_its_details(client: Any, session: dict) -> None:
    response = client.post(
        "/services/oauth2/introspect", data={"token": session["access_token"], **CLIENT}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert list(body) == [
        "active",
        "scope",
        "client_id",
        "username",
        "sub",
        "token_type",
        "exp",
        "iat",
        "nbf",
    ]
    assert body["active"] is True
    assert body["scope"] == "api refresh_token"
    assert body["client_id"] == "speaker-portal"
    assert body["username"] == "ada@speakers.example"
    assert body["sub"] == session["id"]
    assert body["token_type"] == "access_token"
    assert body["exp"] - body["iat"] == 2 * 60 * 60
    assert body["iat"] == body["nbf"] and abs(body["iat"] - time.time()) < 60


def test_a_refresh_token_is_active_without_exp(client: Any, session: dict) -> None:
    body = client.post(
        "/services/oauth2/introspect",
        data={"token": session["refresh_token"], "token_type_hint": "refresh_token", **CLIENT},
    ).get_json()
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert "exp" not in body


def test_client_credentials_work_as_http_basic(client: Any, session: dict) -> None:
    basic = base64.b64encode(b"speaker-portal:portal-sf-demo-secret").decode()
    response = client.post(
        "/services/oauth2/introspect",
        data={"token": session["access_token"]},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.get_json()["active"] is True


def test_a_revoked_token_is_inactive(client: Any, session: dict) -> None:
    client.post("/services/oauth2/revoke", data={"token": session["access_token"]})
    response = client.post(
        "/services/oauth2/introspect", data={"token": session["access_token"], **CLIENT}
    )
    assert response.get_json() == {"active": False}


def test_another_apps_token_is_inactive(app: Flask, client: Any, session: dict) -> None:
    with app.app_context():
        db.session.add(
            ConnectedApp(
                developer_name="Other", consumer_key="other", consumer_secret="s", scopes="api"
            )
        )
        db.session.commit()
    response = client.post(
        "/services/oauth2/introspect",
        data={"token": session["access_token"], "client_id": "other", "client_secret": "s"},
    )
    assert response.get_json() == {"active": False}


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        pytest.param(
            {"client_id": "speaker-portal"},
            {"error": "invalid_client", "error_description": "invalid client credentials"},
            id="no secret",
        ),
        pytest.param(
            {"client_id": "nobody", "client_secret": "x"},
            {"error": "invalid_client_id", "error_description": "client identifier invalid"},
            id="unknown client",
        ),
        pytest.param(
            {"token": None, **CLIENT},
            {"error": "invalid_request", "error_description": "token is missing"},
            id="no token",
        ),
    ],
)
def test_refused_introspections(client: Any, session: dict, form: dict, expected: dict) -> None:
    data = {"token": session["access_token"], **form}
    data = {key: value for key, value in data.items() if value is not None}
    response = client.post("/services/oauth2/introspect", data=data)
    assert response.status_code == 400
    assert response.get_json() == expected
