"""mock_idp for the fuzz tests: one seeded app per module, a browser already signed in as Ada,
and the live values worth planting in generated forms (tokens, a reset and a verification link)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_idp import create_app
from mock_idp.keys import KeyStore
from mock_idp.models import db
from tests.fuzz.harness import Snapshot
from tests.fuzz.harness import Tables
from tests.mock_idp.conftest import ADA
from tests.mock_idp.conftest import GRACE
from tests.mock_idp.conftest import IDP_URL
from tests.mock_idp.conftest import PORTAL_URL
from tests.mock_idp.conftest import Accounts
from tests.mock_idp.conftest import CodeFlow

# Rows a refused request writes on purpose: a failed sign-in counts toward the lock-out
# (login_failures, login_locks). Nothing else may change.
COUNTED_TABLES = ("login_failures", "login_locks")


@dataclass
class MockIdp:
    """The app, Ada's signed-in browser, and live values to plant."""

    app: Flask
    browser: FlaskClient
    tables: Tables
    access_token: str
    refresh_token: str
    reset_path: str
    verify_path: str

    def snapshot(self) -> Snapshot:
        """Every stored row but the sign-in failure counters."""
        return self.tables.snapshot()


def emailed_path(accounts: Accounts, to: str, prefix: str) -> str:
    """The path of the newest link mailed to `to` under `prefix`."""
    for message in accounts.mail(to):
        for url in message["links"]:
            if urlsplit(url).path.startswith(prefix):
                return urlsplit(url).path
    raise AssertionError(f"no {prefix} link mailed to {to}")


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockIdp]:
    """The seeded IdP; Ada signed in with tokens (offline_access for a refresh token); a reset
    link for Grace and a verification link for a new speaker, both unused."""
    folder = tmp_path_factory.mktemp("fuzz_idp")
    KeyStore.load_or_create(folder / "signing-keys.json")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IDP_INSTANCE_PATH", str(folder))
        for name in ("IDP_URL", "PORTAL_URL", "SF_URL", "IDP_DATABASE_URL", "IDP_SECRET_KEY"):
            env.delenv(name, raising=False)
        app = create_app(
            {
                "TESTING": True,
                "PASSWORD_HASH_PROFILE": "cheap",
                "IDP_URL": IDP_URL,
                "PORTAL_URL": PORTAL_URL,
                "DEMO_CONTROLS": True,  # the outbox (links to plant) and client registration
            }
        )
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    browser = app.test_client()
    tokens = CodeFlow(browser).tokens(ADA, scope="openid profile email offline_access")
    mail = Accounts(app.test_client())
    assert mail.submit("/forgot-password", {"email": GRACE["email"]}).status_code == 303
    assert mail.register("fuzz-new@speakers.example").status_code == 303
    with app.app_context():
        tables = Tables(db.engine, COUNTED_TABLES)
    yield MockIdp(
        app,
        browser,
        tables,
        tokens["access_token"],
        tokens["refresh_token"],
        emailed_path(mail, GRACE["email"], "/reset-password/"),
        emailed_path(mail, "fuzz-new@speakers.example", "/verify-email/"),
    )
    with app.app_context():
        db.engine.dispose()
