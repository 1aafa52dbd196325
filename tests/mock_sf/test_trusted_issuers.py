"""SF_TRUSTED_ISSUERS: an untrusted issuer is named as such in the exchange log, while the client
sees only Salesforce's generic message."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from mock_sf.models import ExchangeAttempt
from mock_sf.models import db


def test_an_untrusted_issuer_is_named_in_the_exchange_log(app: Flask, api: Any, idp: Any) -> None:
    token = idp.access_token(iss="https://login.other-idp.example/oauth2/default")
    response = api.exchange(token)
    assert response.get_json() == {
        "error": "invalid_request",
        "error_description": "token handler validation failed",
    }
    with app.app_context():
        attempt = db.session.scalar(select(ExchangeAttempt).order_by(ExchangeAttempt.id.desc()))
    assert attempt.reason == (
        "untrusted issuer: 'https://login.other-idp.example/oauth2/default' is not in"
        f" SF_TRUSTED_ISSUERS (trusted: '{idp.ISSUER}')"
    )
