"""Refresh tokens: issued with refresh_token/offline_access, redeemed by grant_type=refresh_token
(contract §2.1, §5 row 1)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mock_sf.models import ConnectedApp
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.oauth.refresh_tokens import RefreshToken

SECRET = "portal-sf-demo-secret"
EXPIRED = {"error": "invalid_grant", "error_description": "expired access/refresh token"}


def refresh(client: Any, token: str, **overrides: str | None) -> Any:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": "speaker-portal",
        "client_secret": SECRET,
    }
    form.update(overrides)  # type: ignore[arg-type]
    data = {key: value for key, value in form.items() if value is not None}
    return client.post("/services/oauth2/token", data=data)


@pytest.fixture
def session(api: Any, idp: Any) -> dict[str, Any]:
    """An exchange that asked for a refresh token."""
    response = api.exchange(idp.access_token(), scope="api refresh_token")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(
    ("scope", "issued"),
    [("api", False), ("api refresh_token", True), ("api openid", False)],
)
def test_a_refresh_token_comes_only_with_its_scope(
    api: Any, idp: Any, scope: str, issued: bool
) -> None:
    body = api.exchange(idp.access_token(), scope=scope).get_json()
    assert ("refresh_token" in body) is issued
    if issued:
        assert body["refresh_token"].startswith("5Aep861")


def test_offline_access_also_grants_a_refresh_token(app: Flask, api: Any, idp: Any) -> None:
    with app.app_context():
        db.session.scalar(select(ConnectedApp)).scopes = "api offline_access"
        db.session.commit()
    body = api.exchange(idp.access_token(), scope="api offline_access").get_json()
    assert body["scope"] == "api offline_access"
    assert body["refresh_token"].startswith("5Aep861")


def test_the_refresh_token_is_stored_only_as_a_hash(app: Flask, session: dict[str, Any]) -> None:
    with app.app_context():
        stored = db.session.scalars(select(RefreshToken.token_hash)).all()
    assert stored == [hashlib.sha256(session["refresh_token"].encode()).hexdigest()]


def test_refresh_returns_a_new_working_access_token_without_a_new_refresh_token(
    api: Any, client: Any, session: dict[str, Any]
) -> None:
    response = refresh(client, session["refresh_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert list(body) == [
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ]
    assert body["access_token"] != session["access_token"]
    assert body["scope"] == "api refresh_token"
    assert body["id"] == session["id"]
    rest = api.get("/services/data/v66.0/", body["access_token"])
    assert rest.status_code == 200
    # Without rotation the refresh token keeps working.
    assert refresh(client, session["refresh_token"]).status_code == 200


def test_refresh_with_openid_scope_carries_an_id_token(api: Any, client: Any, idp: Any) -> None:
    session = api.exchange(idp.access_token(), scope="api refresh_token openid").get_json()
    body = refresh(client, session["refresh_token"]).get_json()
    assert "id_token" in body and "refresh_token" not in body


def test_rotation_issues_a_new_refresh_token_and_retires_the_old(
    app: Flask, client: Any, session: dict[str, Any]
) -> None:
    with app.app_context():
        db.session.scalar(select(ConnectedApp)).is_refresh_token_rotation_enabled = True
        db.session.commit()
    body = refresh(client, session["refresh_token"]).get_json()
    assert body["refresh_token"].startswith("5Aep861")
    assert body["refresh_token"] != session["refresh_token"]
    assert refresh(client, session["refresh_token"]).get_json() == EXPIRED
    assert refresh(client, body["refresh_token"]).status_code == 200


def test_the_secret_may_be_omitted_when_the_app_does_not_require_it(
    app: Flask, client: Any, session: dict[str, Any]
) -> None:
    with app.app_context():
        db.session.scalar(select(ConnectedApp)).is_secret_required_for_refresh_token = False
        db.session.commit()
    assert refresh(client, session["refresh_token"], client_secret=None).status_code == 200


def _other_app() -> None:
    db.session.add(
        ConnectedApp(
            developer_name="Other",
            consumer_key="other-app",
            consumer_secret="other-secret",
            scopes="api refresh_token",
        )
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({"refresh_token": "5Aep861nope"}, EXPIRED, id="unknown token"),
        pytest.param(
            {"refresh_token": None},
            {"error": "invalid_request", "error_description": "refresh token is missing"},
            id="missing token",
        ),
        pytest.param(
            {"client_secret": None},
            {"error": "invalid_client", "error_description": "invalid client credentials"},
            id="secret required",
        ),
        pytest.param(
            {"client_secret": "wrong"},
            {"error": "invalid_client", "error_description": "invalid client credentials"},
            id="wrong secret",
        ),
        pytest.param(
            {"client_id": "nobody"},
            {"error": "invalid_client_id", "error_description": "client identifier invalid"},
            id="unknown client",
        ),
        pytest.param(
            {"client_id": "other-app", "client_secret": "other-secret"},
            EXPIRED,
            id="another app's token",
        ),
    ],
)
def test_refused_refreshes(
    app: Flask,
    client: Any,
    session: dict[str, Any],
    overrides: dict[str, str | None],
    expected: dict[str, str],
) -> None:
    with app.app_context():
        _other_app()
        db.session.commit()
    response = refresh(client, session["refresh_token"], **overrides)
    assert response.status_code == 400
    assert response.get_json() == expected


def test_an_inactive_user_cannot_refresh(app: Flask, client: Any, session: dict[str, Any]) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
        user.is_active = False
        db.session.commit()
    assert refresh(client, session["refresh_token"]).get_json() == {
        "error": "invalid_grant",
        "error_description": "inactive user",
    }
