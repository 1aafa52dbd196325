"""Login throttling per account and client address, per account, and per client address, kept
in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mock_idp import create_app
from mock_idp import throttle
from mock_idp import users
from mock_idp.models import db
from mock_idp.throttle import Limits
from mock_idp.throttle import LoginFailure
from tests.mock_idp import idp_session

ADA = "ada@speakers.example"
GRACE = "grace@speakers.example"
LOCKED = (
    '<p class="error" role="alert">'
    "Too many failed sign-in attempts. Please wait a few minutes and try again.</p>"
)
WRONG = '<p class="error" role="alert">Incorrect email or password.</p>'
LIMITS = Limits(window=60, lockout=120, per_account_and_address=3, per_account=6, per_address=5)


@pytest.fixture
def small_limits(app):
    """Limits small enough to reach in a test."""
    app.config.update(
        LOGIN_FAILURE_WINDOW=60,
        LOGIN_LOCKOUT=120,
        LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS=3,
        LOGIN_MAX_FAILURES_PER_ACCOUNT=6,
        LOGIN_MAX_FAILURES_PER_ADDRESS=5,
    )
    return app


def from_address(app, address: str, forwarded_for: str | None = None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
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
    assert idp_session.session_id(client) is None


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


def test_an_attacker_cannot_lock_the_owner_out_from_another_address(small_limits, flow):
    attacker = type(flow)(from_address(small_limits, "10.6.6.6"))
    for _ in range(3):
        attacker.login(ADA, "wrong password", expect_redirect=False)
    assert attacker.login(ADA, "ada-demo", expect_redirect=False).status_code == 429
    owner = type(flow)(from_address(small_limits, "10.0.0.2"))
    assert owner.login(ADA, "ada-demo").status_code == 303


def test_the_account_ceiling_locks_guessing_spread_over_many_addresses(small_limits, flow):
    for address in ("10.6.6.1", "10.6.6.2"):
        attacker = type(flow)(from_address(small_limits, address))
        for _ in range(3):
            attacker.login(ADA, "wrong password", expect_redirect=False)
    owner = type(flow)(from_address(small_limits, "10.0.0.2"))
    locked = owner.login(ADA, "ada-demo", expect_redirect=False)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 120  # the lock holds from her address too
    assert owner.login(GRACE, "grace-demo").status_code == 303  # other accounts are not locked


def test_the_owners_sign_in_clears_her_own_count_only(small_limits, flow):
    attacker = type(flow)(from_address(small_limits, "10.6.6.6"))
    for _ in range(2):
        attacker.login(ADA, "wrong password", expect_redirect=False)
        flow.login(ADA, "wrong password", expect_redirect=False)
    assert flow.login(ADA, "ada-demo").status_code == 303
    attacker.login(ADA, "wrong password", expect_redirect=False)
    assert attacker.login(ADA, "ada-demo", expect_redirect=False).status_code == 429


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
        # The account at this address is locked (its count starts again); the others count on.
        assert sorted((row.scope, row.key, row.address) for row in rows) == [
            ("account", ADA, None),
            ("account", ADA, None),
            ("account", ADA, None),
            ("address", "127.0.0.1", None),
            ("address", "127.0.0.1", None),
            ("address", "127.0.0.1", None),
        ]
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
            throttle.record_failure("Ada@Speakers.example ", "10.1.1.1", LIMITS, now=now)
        assert throttle.retry_after(ADA, "10.1.1.1", LIMITS, now=1002) == 120
        assert throttle.retry_after(ADA, "10.2.2.2", LIMITS, now=1002) is None
        assert throttle.retry_after(ADA, "10.1.1.1", LIMITS, now=1121) == 1
        assert throttle.retry_after(ADA, "10.1.1.1", LIMITS, now=1122) is None
        throttle.record_failure(ADA, "10.1.1.1", LIMITS, now=1122)
        assert throttle.retry_after(ADA, "10.1.1.1", LIMITS, now=1122) is None


def test_unit_a_missing_address_is_one_address_of_its_own(app):
    with app.app_context():
        for now in (1000, 1001, 1002):
            throttle.record_failure(ADA, None, LIMITS, now=now)
        assert throttle.retry_after(ADA, None, LIMITS, now=1002) == 120
        assert throttle.retry_after(ADA, "10.1.1.1", LIMITS, now=1002) is None


def test_default_limits_5_per_account_at_an_address_100_per_account_20_per_address(app):
    assert Limits.from_config(app.config) == Limits(
        window=900, lockout=900, per_account_and_address=5, per_account=100, per_address=20
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
        rows = db.session.scalars(select(LoginFailure).where(LoginFailure.scope != "account"))
        assert sorted((row.scope, row.key, row.address) for row in rows) == [
            ("acct@addr", ADA, counted),
            ("address", counted, None),
        ]


def test_a_forged_x_forwarded_for_does_not_dodge_a_lock_without_a_trusted_proxy(small_limits, flow):
    for forged in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        guesser = type(flow)(from_address(small_limits, "10.6.6.6", forwarded_for=forged))
        guesser.login(ADA, "wrong password", expect_redirect=False)
    again = type(flow)(from_address(small_limits, "10.6.6.6", forwarded_for="203.0.113.4"))
    assert again.login(ADA, "ada-demo", expect_redirect=False).status_code == 429


def test_behind_a_trusted_proxy_the_owner_is_told_apart_from_the_attacker(small_limits, flow):
    behind = create_app({**small_limits.config, "TESTING": True, "TRUSTED_PROXIES": 1})
    # Both come through the same proxy (one socket address); X-Forwarded-For tells them apart.
    attacker = type(flow)(from_address(behind, "10.0.0.1", forwarded_for="203.0.113.66"))
    for _ in range(3):
        attacker.login(ADA, "wrong password", expect_redirect=False)
    assert attacker.login(ADA, "ada-demo", expect_redirect=False).status_code == 429
    owner = type(flow)(from_address(behind, "10.0.0.1", forwarded_for="198.51.100.2"))
    assert owner.login(ADA, "ada-demo").status_code == 303


def test_a_long_forwarded_address_is_cut_to_the_column(small_limits, flow):
    behind = create_app({**small_limits.config, "TESTING": True, "TRUSTED_PROXIES": 1})
    type(flow)(from_address(behind, "10.0.0.1", forwarded_for="x" * 300)).login(
        ADA, "wrong password", expect_redirect=False
    )
    with behind.app_context():
        rows = db.session.scalars(select(LoginFailure)).all()
        assert {row.address for row in rows} == {"x" * 254, None}
        assert {row.key for row in rows} == {ADA, "x" * 254}
