"""The login page and the IdP session."""

from __future__ import annotations

import pytest

from mock_idp import users
from mock_idp.models import User
from mock_idp.models import db
from tests.mock_idp import idp_session


def test_login_page_has_labelled_fields_and_sign_in_button(client):
    page = client.get("/login").text
    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page
    assert 'type="submit" value="Sign in"' in page
    assert 'name="csrf_token"' in page
    assert "Mock IdP – not for production" in page


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ada@speakers.example", "wrong-password"),
        ("nobody@speakers.example", "ada-demo"),
        ("grace@speakers.example", "ada-demo"),
    ],
)
def test_wrong_email_or_password_gives_one_generic_message(client, flow, email, password):
    response = flow.login(email, password, expect_redirect=False)
    assert response.status_code == 200
    assert '<p class="error" role="alert">Incorrect email or password.</p>' in response.text
    assert f'value="{email}"' in response.text  # what the user typed is kept
    assert password not in response.text
    assert idp_session.session_id(client) is None


@pytest.mark.parametrize("field", ["email", "password"])
def test_empty_fields_re_render_the_form(client, flow, field):
    data = {"email": "ada@speakers.example", "password": "ada-demo"}
    data[field] = ""
    page = client.get("/login")
    response = client.post("/login", data={**data, "csrf_token": flow.csrf_token(page.text)})
    assert response.status_code == 200
    assert '<span class="field-error">This field is required.</span>' in response.text


def test_successful_login_starts_the_idp_session(client, flow):
    response = flow.login("ADA@speakers.example ", "ada-demo")
    assert response.headers["Location"] == "/login"
    cookie = client.get_cookie("idp_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    with client.session_transaction() as sess:
        assert set(sess) == {"sid"}  # the row's id only: no user id, no auth_time
    assert idp_session.signed_in_as(client) == "00u1ada1demo1speaker"
    assert isinstance(idp_session.auth_time(client), float)
    page = client.get("/login").text
    assert "You are signed in as <strong>ada@speakers.example</strong>." in page


def test_login_without_csrf_token_is_refused_and_keeps_the_email(client):
    response = client.post("/login", data={"email": "ada@speakers.example", "password": "x"})
    assert response.status_code == 400
    assert "Your sign-in form expired. Please try again." in response.text
    assert 'value="ada@speakers.example"' in response.text
    assert idp_session.session_id(client) is None


def test_logout_clears_the_session(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    token = flow.csrf_token(client.get("/login").text)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    with client.session_transaction() as sess:
        assert dict(sess) == {}


def test_a_copied_idp_session_cookie_is_dead_after_logout(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    thief = type(flow)(idp_session.copy_cookie(client))
    assert "code=" in thief.authorize(prompt="none").headers["Location"]  # the copy works now
    client.post("/logout", data={"csrf_token": flow.csrf_token(client.get("/login").text)})
    assert thief.query(thief.authorize(prompt="none").headers["Location"]) == {
        "error": "login_required",
        "error_description": "The user must sign in.",
        "state": thief.state,
        "iss": "http://127.0.0.1:8001/oauth2/default",
    }
    assert thief.authorize().headers["Location"] == "/login"
    assert "You are signed in" not in thief.client.get("/login").text


def test_logout_requires_csrf(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    assert client.post("/logout").status_code == 400
    assert idp_session.signed_in_as(client) == "00u1ada1demo1speaker"


def test_passwords_are_stored_as_argon2id(app):
    with app.app_context():
        user = db.session.get(User, "00u1ada1demo1speaker")
        assert user.password_hash.startswith("$argon2id$")
        assert "ada-demo" not in user.password_hash


def test_unknown_email_still_spends_a_password_check(app, monkeypatch):
    calls = []
    with app.app_context():
        hasher = users.passwords()
        original = hasher.verify
        monkeypatch.setattr(hasher, "verify", lambda h, p: calls.append(h) or original(h, p))
        assert users.authenticate("nobody@speakers.example", "ada-demo") is None
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


def test_login_rehashes_when_the_cost_profile_changes(app):
    with app.app_context():
        user = db.session.get(User, "00u1ada1demo1speaker")
        cheap_hash = user.password_hash
        app.extensions["mock_idp.passwords"] = users.Passwords("default")
        assert users.authenticate("ada@speakers.example", "ada-demo") is user
        assert user.password_hash != cheap_hash
        assert users.passwords().verify(user.password_hash, "ada-demo")


def test_login_page_links_registration_and_password_reset(client):
    page = client.get("/login").text
    assert '<a href="/forgot-password">Forgot password?</a>' in page
    assert '<a href="/register">Create an account</a>' in page
