"""401 INVALID_SESSION_ID for a missing, garbage or expired session (contract §6.3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from mock_sf.models import OAuthToken
from mock_sf.models import db
from mock_sf.models import utcnow

SESSION_INVALID = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
QUERY = "/services/data/v66.0/query?q=SELECT+Id+FROM+Case"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic c3BlYWtlcjpwb3J0YWw="},
        {"Authorization": "garbage"},
    ],
    ids=["missing", "garbage", "empty", "basic", "no scheme"],
)
def test_bad_sessions_get_the_401_array(client: Any, headers: dict[str, str]) -> None:
    response = client.get(QUERY, headers=headers)
    assert response.status_code == 401
    assert response.content_type == "application/json;charset=UTF-8"
    assert response.get_json() == SESSION_INVALID


def test_an_expired_token_gets_the_401_array(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    assert api.get(QUERY, token).status_code == 200
    with app.app_context():
        db.session.execute(update(OAuthToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    response = api.get(QUERY, token)
    assert (response.status_code, response.get_json()) == (401, SESSION_INVALID)


def test_the_oauth_scheme_is_accepted_too(client: Any, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    response = client.get(QUERY, headers={"Authorization": f"OAuth {token}"})
    assert response.status_code == 200


def test_a_token_for_an_inactive_user_is_refused(app: Flask, api: Any, idp: Any) -> None:
    from mock_sf.models import User

    token = api.token_for(idp.ADA_SUB)
    with app.app_context():
        db.session.execute(update(User).values(is_active=False))
        db.session.commit()
    assert api.get(QUERY, token).get_json() == SESSION_INVALID


def test_token_lifetime_is_configurable(app: Flask, api: Any, idp: Any) -> None:
    api.token_for(idp.ADA_SUB)
    with app.app_context():
        token = db.session.scalars(db.select(OAuthToken)).one()
        assert token.expires_at - token.issued_at == timedelta(hours=2)
