"""Login throttling per account and per client address, kept in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mock_idp import create_app
from mock_idp import throttle
from mock_idp import users
from mock_idp.models import db
from mock_idp.throttle import Limits
from mock_idp.throttle import LoginFailure

ADA = "ada@speakers.example"
LOCKED = (
    '<p class="error" role="alert">'
    "Too many failed sign-in attempts. Please wait a few minutes and try again.</p>"
)
WRONG = '<p class="error" role="alert">Incorrect email or password.</p>'
LIMITS = Limits(window=60, lockout=120, per_account=3, per_address=5)


@pytest.fixture
def small_limits(app):
    """Limits small enough to reach in a test."""
    app.config.update(
        LOGIN_FAILURE_WINDOW=60,
        LOGIN_LOCKOUT=120,
        LOGIN_MAX_FAILURES_PER_ACCOUNT=3,
        LOGIN_MAX_FAILURES_PER_ADDRESS=5,
    )
    return app


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.mark.parametrize("email", [ADA, "nobody@speakers.example"])
def test_an_account_locks_after_repeated_failures_whether_or_not_it_exists(
    small_limits, client, flow, email
):
    for _ in range(3):
        response = flow.login(email, "wrong password", expect_redirect=False)
        assert (response.status_code, WRONG in response.text) == (200, True)
    locked = flow.login(email, "ada-demo", expect_redirect=False)
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "120"
    assert LOCKED in locked.text
    assert f'value="{email}"' in locked.text
    with client.session_transaction() as sess:
        assert "uid" not in sess


def test_a_locked_account_is_not_even_checked(small_limits, flow, monkeypatch):
    for _ in range(3):
        flow.login(ADA, "wrong password", expect_redirect=False)
    checks = []
    monkeypatch.setattr(users, "authenticate", lambda *args: checks.append(args))
    assert flow.login(ADA, "ada-demo", expect_redirect=False).status_code == 429
    assert checks == []


def test_a_successful_sign_in_resets_the_account_count(small_limits, flow):
    for _ in range(2):
        flow.login(ADA, "wrong password", expect_redirect=False)
    flow.login(ADA, "ada-demo")
    for _ in range(2):
        flow.login(ADA, "wrong password", expect_redirect=False)
    assert flow.login(ADA, "ada-demo").status_code == 303


def test_an_account_lock_holds_from_every_address(small_limits, flow):
    for _ in range(3):
        flow.login(ADA, "wrong password", expect_redirect=False)
    other = from_address(small_limits, "10.0.0.2")
    other_flow = type(flow)(other)
    assert other_flow.login(ADA, "ada-demo", expect_redirect=False).status_code == 429


def test_an_address_locks_after_failures_across_accounts(small_limits, flow):
    for i in range(5):
        flow.login(f"guess{i}@speakers.example", "wrong password", expect_redirect=False)
    assert flow.login(ADA, "ada-demo", expect_redirect=False).status_code == 429
    other = type(flow)(from_address(small_limits, "10.0.0.2"))
    assert other.login(ADA, "ada-demo").status_code == 303


def test_counters_live_in_the_database_and_are_shared_by_processes(small_limits, flow):
    for _ in range(3):
        flow.login(ADA, "wrong password", expect_redirect=False)
    with small_limits.app_context():
        rows = db.session.scalars(select(LoginFailure)).all()
        assert {(row.scope, row.key) for row in rows} == {("address", "127.0.0.1")}
    # A second app on the same database, as a second worker process would be.
    second = create_app({**small_limits.config, "TESTING": True})
    second_flow = type(flow)(second.test_client())
    assert second_flow.login(ADA, "ada-demo", expect_redirect=False).status_code == 429


def test_unit_failures_outside_the_window_do_not_count(app):
    with app.app_context():
        throttle.record_failure(ADA, "10.1.1.1", LIMITS, now=1000)
        throttle.record_failure(ADA, "10.1.1.1", LIMITS, now=1010)
        throttle.record_failure(ADA, "10.1.1.1", LIMITS, now=1060)  # the first one is 60 s old
        assert throttle.retry_after(ADA, "10.1.1.1", LIMITS, now=1060) is None
        throttle.record_failure(ADA, "10.1.1.1", LIMITS, now=1065)
        assert throttle.retry_after(ADA, "10.1.1.1", LIMITS, now=1065) == 120


def test_unit_a_lock_lasts_the_lockout_then_counting_starts_again(app):
    with app.app_context():
        for now in (1000, 1001, 1002):
            throttle.record_failure("Ada@Speakers.example ", None, LIMITS, now=now)
        assert throttle.retry_after(ADA, "10.1.1.1", LIMITS, now=1002) == 120
        assert throttle.retry_after(ADA, "10.1.1.1", LIMITS, now=1121) == 1
        assert throttle.retry_after(ADA, "10.1.1.1", LIMITS, now=1122) is None
        throttle.record_failure(ADA, None, LIMITS, now=1122)
        assert throttle.retry_after(ADA, None, LIMITS, now=1122) is None


def test_default_limits_are_five_per_account_and_twenty_per_address_in_fifteen_minutes(app):
    assert Limits.from_config(app.config) == Limits(
        window=900, lockout=900, per_account=5, per_address=20
    )


@pytest.mark.parametrize(("proxies", "counted"), [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(
    small_limits, flow, proxies, counted
):
    behind = create_app({**small_limits.config, "TESTING": True, "TRUSTED_PROXIES": proxies})
    client = behind.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    type(flow)(client).login(ADA, "wrong password", expect_redirect=False)
    with behind.app_context():
        rows = db.session.scalars(select(LoginFailure).filter_by(scope="address")).all()
        assert [row.key for row in rows] == [counted]
