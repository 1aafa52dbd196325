"""The apps the fuzz tests drive, built once per module (seeding per example would dominate the
run): mock_sf with the fake IdP of tests/mock_sf and Ada's live session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from mock_sf import create_app
from mock_sf.models import db
from mock_sf.oauth.keys import generate_jwk
from tests.fuzz.harness import Snapshot
from tests.fuzz.harness import Tables
from tests.mock_sf.conftest import IDP_URL
from tests.mock_sf.conftest import SF_URL
from tests.mock_sf.conftest import FakeIdp
from tests.mock_sf.conftest import exchange_form

# Rows a refused request writes on purpose: every authenticated REST call counts against
# DailyApiRequests, errors too, as in Salesforce (api_usage); every token exchange attempt leaves
# an exchange log row with its reason (exchange_attempt); a subject token a handler refused, and
# a wrong client secret, count toward their throttles (subject_token_failure,
# credential_failure). Nothing else may change.
COUNTED_TABLES = ("api_usage", "exchange_attempt", "subject_token_failure", "credential_failure")


@dataclass
class MockSalesforce:
    """The app, a client, the fake IdP, and Ada's session (access and refresh token)."""

    app: Flask
    client: FlaskClient
    idp: FakeIdp
    access_token: str
    refresh_token: str
    tables: Tables

    def snapshot(self) -> Snapshot:
        """Every stored row but the counters a refused request adds to."""
        return self.tables.snapshot()

    def exchange_form(self, **overrides: str | None) -> dict[str, str]:
        """A valid exchange form for Ada, with a fresh subject token (each jti works once)."""
        return exchange_form(self.idp.access_token(), **overrides)


def mock_salesforce(folder: Path) -> MockSalesforce:
    """mock_sf in `folder`, seeded with the demo data, IdP callouts faked, Ada signed in (the
    caller disposes of ``app``'s engine)."""
    key_file = folder / "signing_key.json"
    key_file.write_text(json.dumps(generate_jwk()))
    idp = FakeIdp(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{folder / 'sf.sqlite3'}",
            "IDP_URL": IDP_URL,
            "SF_URL": SF_URL,
            "ARGON2_PROFILE": "CHEAPEST",
            "SIGNING_KEY_FILE": str(key_file),
            "DAILY_API_REQUESTS": 10_000_000,  # the fuzzing must not spend the day's budget
        }
    )
    app.extensions["mock_sf.jwks"].fetch = idp.fetch_jwks
    app.extensions["mock_sf.fetch_userinfo"] = idp.fetch_userinfo
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    response = client.post(
        "/services/oauth2/token",
        data=exchange_form(idp.access_token(), scope="api refresh_token"),
    )
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    with app.app_context():
        tables = Tables(db.engine, COUNTED_TABLES)
    return MockSalesforce(app, client, idp, body["access_token"], body["refresh_token"], tables)
