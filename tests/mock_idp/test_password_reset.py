"""Forgotten passwords: same answer for every address, single-use expiring reset links."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mock_idp import throttle
from mock_idp import users
from mock_idp.email_links import EmailLink
from mock_idp.models import db
from mock_idp.models import sha256_hex
from tests.mock_idp import idp_session

IDP_URL = "http://127.0.0.1:8001"
ADA = "ada@speakers.example"
NEW_PASSWORD = "a much longer passphrase"


def reset_with(accounts, path: str, password: str, confirm: str | None = None):
    return accounts.submit(
        path, {"password": password, "confirm_password": password if confirm is None else confirm}
    )


def test_forgot_password_page_has_a_labelled_email_field(client):
    page = client.get("/forgot-password").text
    assert '<label for="email">Email</label>' in page
    assert 'type="submit" value="Send reset link"' in page
    assert 'name="csrf_token"' in page


def test_known_and_unknown_addresses_get_the_same_answer(client, accounts):
    known = accounts.submit("/forgot-password", {"email": "ADA@speakers.example "})
    known_page = client.get(known.headers["Location"]).text
    unknown = accounts.submit("/forgot-password", {"email": "nobody@speakers.example"})
    unknown_page = client.get(unknown.headers["Location"]).text

    assert (known.status_code, known.headers["Location"]) == (303, "/forgot-password/check-email")
    assert (unknown.status_code, unknown.headers["Location"]) == (
        303,
        "/forgot-password/check-email",
    )
    assert unknown_page.replace("nobody@speakers.example", ADA) == known_page
    assert f"If there is an account for <strong>{ADA}</strong>" in known_page
    assert accounts.mail("nobody@speakers.example") == []
    [message] = accounts.mail(ADA)
    assert message["subject"] == "Reset your password"
    assert "expires in 30 minutes" in message["body"]
    [url] = message["links"]
    assert url.startswith(f"{IDP_URL}/reset-password/")


def test_reset_link_is_stored_hashed_with_a_30_minute_lifetime(app, accounts):
    accounts.submit("/forgot-password", {"email": ADA})
    token = accounts.link(ADA, "/reset-password/").rsplit("/", 1)[1]
    with app.app_context():
        link = db.session.scalars(select(EmailLink)).one()
    assert link.token_hash == sha256_hex(token)
    assert (link.purpose, link.user_id) == ("reset_password", "00u1ada1demo1speaker")
    assert link.expires_at - link.created_at == 1800


def test_reset_sets_the_new_password_once(app, client, accounts, flow):
    accounts.submit("/forgot-password", {"email": ADA})
    path = accounts.link(ADA, "/reset-password/")

    form = client.get(path)
    assert form.status_code == 200
    assert '<label for="password">New password</label>' in form.text
    assert '<label for="confirm_password">Confirm new password</label>' in form.text
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert form.headers["Cache-Control"] == "no-store"

    response = reset_with(accounts, path, NEW_PASSWORD)
    assert (response.status_code, response.headers["Location"]) == (303, "/login")
    login_page = client.get("/login").text
    assert (
        '<p class="notice" role="status">'
        "Your password has been changed. Sign in with your new password.</p>"
    ) in login_page

    assert client.get(path).status_code == 400  # used once
    assert flow.login(ADA, "ada-demo", expect_redirect=False).status_code == 200
    assert flow.login(ADA, NEW_PASSWORD).status_code == 303
    changed, _ = accounts.mail(ADA)
    assert changed["subject"] == "Your password was changed"
    assert changed["links"] == [f"{IDP_URL}/forgot-password"]


def test_a_reset_uses_up_the_other_outstanding_reset_links(app, client, accounts):
    accounts.submit("/forgot-password", {"email": ADA})
    older = accounts.link(ADA, "/reset-password/")
    accounts.submit("/forgot-password", {"email": ADA})
    newer = accounts.link(ADA, "/reset-password/")
    assert older != newer
    assert client.get(older).status_code == 200  # both work until one is used

    assert reset_with(accounts, newer, NEW_PASSWORD).status_code == 303
    response = client.get(older)
    assert response.status_code == 400
    assert "This password reset link is invalid, has expired or was already used." in response.text


def test_expired_reset_link_is_refused(app, client, accounts):
    accounts.submit("/forgot-password", {"email": ADA})
    path = accounts.link(ADA, "/reset-password/")
    with app.app_context():
        link = db.session.scalars(select(EmailLink)).one()
        link.created_at -= 1801
        link.expires_at -= 1801
        db.session.commit()
    assert client.get(path).status_code == 400
    page = client.get("/forgot-password").text  # any form page gives the session's CSRF token
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": csrf}
    assert client.post(path, data=data).status_code == 400
    with app.app_context():
        assert users.authenticate(ADA, "ada-demo") is not None


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short pass", None, "Use at least 12 characters."),
        (ADA, None, "Do not use your email address as your password."),
        ("qwerty123456", None, "This password is too common. Choose one that is harder to guess."),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "The passwords do not match."),
    ],
)
def test_a_rejected_new_password_keeps_the_link_usable(
    app, client, accounts, password, confirm, message
):
    accounts.submit("/forgot-password", {"email": ADA})
    path = accounts.link(ADA, "/reset-password/")
    response = reset_with(accounts, path, password, confirm)
    assert response.status_code == 200
    assert f'<span class="field-error">{message}</span>' in response.text
    assert password not in response.text.replace(f"<strong>{ADA}</strong>", "")
    assert reset_with(accounts, path, NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize("token", ["nope", "B" * 43, "B" * 5000])
def test_unknown_reset_tokens_are_refused(client, token):
    assert client.get(f"/reset-password/{token}").status_code == 400


def test_a_verification_link_cannot_reset_a_password(app, client, accounts):
    accounts.register("lin.clark@speakers.example")
    token = accounts.link("lin.clark@speakers.example", "/verify-email/").rsplit("/", 1)[1]
    assert client.get(f"/reset-password/{token}").status_code == 400


def test_resetting_verifies_the_address(app, accounts):
    email = "lin.clark@speakers.example"
    accounts.register(email)
    accounts.submit("/forgot-password", {"email": email})
    response = reset_with(accounts, accounts.link(email, "/reset-password/"), NEW_PASSWORD)
    assert response.status_code == 303
    with app.app_context():
        assert users.find_by_email(email).email_verified is True


@pytest.mark.parametrize(
    "limit", ["LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS", "LOGIN_MAX_FAILURES_PER_ACCOUNT"]
)
def test_resetting_lifts_a_sign_in_lock(app, accounts, flow, limit):
    app.config[limit] = 2
    for _ in range(2):
        flow.login(ADA, "wrong password", expect_redirect=False)
    assert flow.login(ADA, "ada-demo", expect_redirect=False).status_code == 429
    accounts.submit("/forgot-password", {"email": ADA})
    reset_with(accounts, accounts.link(ADA, "/reset-password/"), NEW_PASSWORD)
    assert flow.login(ADA, NEW_PASSWORD).status_code == 303
    with app.app_context():
        limits = throttle.Limits.from_config(app.config)
        assert throttle.retry_after(ADA, "10.9.9.9", limits, 0) is None


def test_a_copied_idp_session_cookie_is_dead_after_password_reset(app, client, accounts, flow):
    flow.login(ADA, "ada-demo")
    thief = type(flow)(idp_session.copy_cookie(client))
    laptop = type(flow)(app.test_client())  # her other browser, signed in too
    laptop.login(ADA, "ada-demo")
    grace = type(flow)(app.test_client())
    grace.login("grace@speakers.example", "grace-demo")
    for browser in (thief, laptop, grace):
        assert "code=" in browser.authorize(prompt="none").headers["Location"]

    accounts.submit("/forgot-password", {"email": ADA})
    reset_with(accounts, accounts.link(ADA, "/reset-password/"), NEW_PASSWORD)

    for browser in (flow, thief, laptop):
        location = browser.authorize(prompt="none").headers["Location"]
        assert browser.query(location)["error"] == "login_required"
    assert "code=" in grace.authorize(prompt="none").headers["Location"]  # another account's


def test_forgot_password_without_csrf_keeps_the_email(client):
    response = client.post("/forgot-password", data={"email": ADA})
    assert response.status_code == 400
    assert "This form expired. Please try again." in response.text
    assert f'value="{ADA}"' in response.text
