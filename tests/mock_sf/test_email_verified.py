"""An address nobody confirmed makes no Salesforce user (issue 10, finding 2)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from mock_sf.models import Contact
from mock_sf.models import ExchangeAttempt
from mock_sf.models import User
from mock_sf.models import db
from tests.mock_sf.conftest import PROFILES
from tests.mock_sf.test_handler_registration import EXAMPLE
from tests.mock_sf.test_handler_registration import init_db


def users_and_contacts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            len(db.session.scalars(select(User)).all()),
            len(db.session.scalars(select(Contact)).all()),
        )


def last_reason(app: Flask) -> str:
    with app.app_context():
        attempt = db.session.scalars(select(ExchangeAttempt).order_by(ExchangeAttempt.id.desc()))
        return str(attempt.first().reason)


def test_an_unverified_id_token_creates_no_user(app: Flask, api: Any, idp: Any) -> None:
    before = users_and_contacts(app)
    response = api.exchange(
        idp.id_token(idp.GRACE_SUB, email_verified=False),
        subject_token_type=idp.ID_TOKEN_TYPE,
    )
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_grant")
    assert users_and_contacts(app) == before
    assert "handler mapped no user" in last_reason(app)


def test_an_access_token_whose_userinfo_is_unverified_creates_no_user(
    app: Flask, api: Any, idp: Any, monkeypatch: Any
) -> None:
    unverified = {**PROFILES[idp.GRACE_SUB], "email_verified": False}
    monkeypatch.setitem(PROFILES, idp.GRACE_SUB, unverified)
    before = users_and_contacts(app)
    response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert response.status_code == 400
    assert users_and_contacts(app) == before


def test_a_verified_new_speaker_is_still_created(app: Flask, api: Any, idp: Any) -> None:
    before = users_and_contacts(app)
    response = api.exchange(
        idp.id_token(idp.GRACE_SUB, email_verified=True), subject_token_type=idp.ID_TOKEN_TYPE
    )
    assert response.status_code == 200, response.get_json()
    assert users_and_contacts(app) == (before[0] + 1, before[1] + 1)


def test_the_domain_example_refuses_an_unverified_address_in_its_domain(
    app: Flask, api: Any, idp: Any
) -> None:
    assert init_db(app, [EXAMPLE]).exit_code == 0
    response = api.exchange(
        idp.id_token(idp.ADA_SUB, email_verified=False),
        subject_token_type=idp.ID_TOKEN_TYPE,
        token_handler="SpeakerDomainHandler",
    )
    assert (response.status_code, response.get_json()) == (
        400,
        {"error": "invalid_request", "error_description": "email domain not allowed"},
    )
    assert "is not verified" in last_reason(app)
