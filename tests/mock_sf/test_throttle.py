"""Throttling of invalid subject tokens per client and address (security checklist #12)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.oauth.throttle import SubjectTokenFailure

TOO_MANY = {
    "error": "invalid_request",
    "error_description": "too many failed attempts, try again later",
}


def bad_token(idp: Any) -> str:
    return idp.access_token(aud="api://other")


def test_the_eleventh_bad_token_gets_a_429(api: Any, idp: Any) -> None:
    for _ in range(10):
        assert api.exchange(bad_token(idp)).status_code == 400
    response = api.exchange(bad_token(idp))
    assert response.status_code == 429
    assert response.get_json() == TOO_MANY
    assert response.headers["Cache-Control"] == "no-store"
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    # A valid token from the same client and address is refused too until the window passes.
    assert api.exchange(idp.access_token()).status_code == 429


def test_another_address_is_not_throttled(api: Any, client: Any, idp: Any) -> None:
    for _ in range(10):
        api.exchange(bad_token(idp))
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": idp.access_token(),
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "client_id": "speaker-portal",
        "client_secret": "portal-sf-demo-secret",
    }
    response = client.post(
        "/services/oauth2/token", data=form, environ_base={"REMOTE_ADDR": "127.0.0.9"}
    )
    assert response.status_code == 200


def test_failures_leave_the_window(app: Flask, api: Any, idp: Any) -> None:
    for _ in range(10):
        api.exchange(bad_token(idp))
    with app.app_context():
        db.session.execute(
            update(SubjectTokenFailure).values(created_at=utcnow() - timedelta(seconds=61))
        )
        db.session.commit()
    assert api.exchange(idp.access_token()).status_code == 200


def test_valid_tokens_and_org_refusals_do_not_count(api: Any, idp: Any) -> None:
    for _ in range(11):
        assert api.exchange(idp.access_token()).status_code == 200
    for _ in range(11):
        assert api.exchange(idp.access_token(), client_secret="wrong").status_code == 400
    assert api.exchange(idp.access_token()).status_code == 200


@pytest.mark.parametrize("limit", [0, 3])
def test_the_limit_is_configurable(app: Flask, api: Any, idp: Any, limit: int) -> None:
    app.config["SUBJECT_TOKEN_FAILURE_LIMIT"] = limit
    for _ in range(3):
        api.exchange(bad_token(idp))
    expected = 429 if limit else 400
    assert api.exchange(bad_token(idp)).status_code == expected
