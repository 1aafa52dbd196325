"""Registration and forgot-password past the mail limits: the same answer, no mail, a log line."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlalchemy import update

from mock_idp import throttle
from mock_idp import users
from mock_idp.models import db
from mock_idp.throttle import LoginFailure
from mock_idp.throttle import MailLimits

ADA = "ada@speakers.example"
LIN = "lin@speakers.example"
THROTTLED = "account mail throttled"


@pytest.fixture
def small_limits(app, accounts):
    """Two requests per target email, three per client address, in an hour."""
    app.config.update(
        ACCOUNT_MAIL_WINDOW=3600, ACCOUNT_MAIL_MAX_PER_EMAIL=2, ACCOUNT_MAIL_MAX_PER_ADDRESS=3
    )
    return accounts


def forgot(accounts, email: str) -> tuple[int, str, str]:
    """(status, Location, the page it leads to) of a forgot-password request."""
    response = accounts.submit("/forgot-password", {"email": email})
    location = response.headers["Location"]
    return response.status_code, location, accounts.client.get(location).text


def register(accounts, email: str) -> tuple[int, str, str]:
    """(status, Location, the page it leads to) of a registration."""
    response = accounts.register(email)
    location = response.headers["Location"]
    return response.status_code, location, accounts.client.get(location).text


def throttle_logs(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mock_idp.throttle"]


def test_forgot_password_past_the_email_limit_answers_the_same_and_sends_nothing(
    small_limits, caplog
):
    caplog.set_level(logging.WARNING, logger="mock_idp.throttle")
    answers = [forgot(small_limits, ADA) for _ in range(3)]
    assert answers[2] == answers[0]
    assert answers[0][:2] == (303, "/forgot-password/check-email")
    assert [m["subject"] for m in small_limits.mail(ADA)] == ["Reset your password"] * 2
    assert throttle_logs(caplog) == [
        f"{THROTTLED} (forgot-password): no mail to {ADA}, request from 127.0.0.1,"
        " over the mail:email limit"
    ]


def test_an_unknown_address_is_throttled_alike(small_limits, caplog):
    caplog.set_level(logging.WARNING, logger="mock_idp.throttle")
    answers = [forgot(small_limits, "nobody@speakers.example") for _ in range(3)]
    assert answers[2] == answers[0]
    assert len(throttle_logs(caplog)) == 1


def test_registration_past_the_email_limit_creates_and_sends_nothing(app, small_limits, caplog):
    caplog.set_level(logging.WARNING, logger="mock_idp.throttle")
    forgot(small_limits, LIN)  # the budget is per target email, whichever page spends it
    forgot(small_limits, LIN)
    answer = register(small_limits, LIN)
    assert answer[:2] == (303, "/register/check-email")
    assert f"We sent a message to <strong>{LIN}</strong>." in answer[2]
    with app.app_context():
        assert users.find_by_email(LIN) is None
    assert small_limits.mail(LIN) == []
    assert throttle_logs(caplog) == [
        f"{THROTTLED} (registration): no mail to {LIN}, request from 127.0.0.1,"
        " over the mail:email limit"
    ]


def test_the_address_limit_holds_across_target_emails(app, small_limits, caplog):
    caplog.set_level(logging.WARNING, logger="mock_idp.throttle")
    register(small_limits, LIN)
    forgot(small_limits, ADA)
    forgot(small_limits, "grace@speakers.example")
    register(small_limits, "max@speakers.example")  # the fourth from 127.0.0.1
    with app.app_context():
        assert users.find_by_email("max@speakers.example") is None
    assert small_limits.mail("max@speakers.example") == []
    assert throttle_logs(caplog) == [
        f"{THROTTLED} (registration): no mail to max@speakers.example, request from 127.0.0.1,"
        " over the mail:addr limit"
    ]
    # Another client address still gets its mail.
    small_limits.client.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    forgot(small_limits, ADA)
    assert len(small_limits.mail(ADA)) == 2


def test_mail_flows_again_once_the_window_has_passed(app, small_limits):
    for _ in range(3):
        forgot(small_limits, ADA)
    assert len(small_limits.mail(ADA)) == 2
    with app.app_context():
        # Age what was counted by an hour; the refused third request was never counted.
        db.session.execute(update(LoginFailure).values(at=LoginFailure.at - 3600))
        db.session.commit()
    forgot(small_limits, ADA)
    assert len(small_limits.mail(ADA)) == 3


def test_unit_refused_requests_are_not_counted(app):
    limits = MailLimits(window=60, per_email=1, per_address=10)
    with app.app_context():
        assert throttle.allow_account_mail(
            "test", "Ada@Speakers.example ", "10.1.1.1", limits, 1000
        )
        assert not throttle.allow_account_mail("test", ADA, "10.1.1.2", limits, 1030)
        assert throttle.allow_account_mail("test", ADA, "10.1.1.3", limits, 1060)
        rows = db.session.scalars(select(LoginFailure).order_by(LoginFailure.id)).all()
        assert [(r.scope, r.key, r.at) for r in rows] == [
            ("mail:addr", "10.1.1.1", 1000),
            ("mail:email", ADA, 1060),
            ("mail:addr", "10.1.1.3", 1060),
        ]


def test_default_limits_are_five_per_email_and_twenty_per_address_an_hour(app):
    assert MailLimits.from_config(app.config) == MailLimits(
        window=3600, per_email=5, per_address=20
    )
