"""Self-service registration and email verification."""

from __future__ import annotations

import re

import jwt
import pytest
from sqlalchemy import func
from sqlalchemy import select

from mock_idp import users
from mock_idp.email_links import EmailLink
from mock_idp.models import User
from mock_idp.models import db
from mock_idp.models import sha256_hex
from mock_idp.outbox import OutboxMessage

IDP_URL = "http://127.0.0.1:8001"
USERINFO = "/oauth2/default/v1/userinfo"
LIN = "lin.clark@speakers.example"
PASSWORD = "correct horse battery"


def flow_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match
    return match.group(1)


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def mail_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_register_page_has_labelled_fields(client):
    page = client.get("/register").text
    for field_id, label in [
        ("given_name", "First name"),
        ("family_name", "Last name"),
        ("email", "Email"),
        ("company", "Company (optional)"),
        ("password", "Password"),
        ("confirm_password", "Confirm password"),
    ]:
        assert f'<label for="{field_id}">{label}</label>' in page
    assert 'name="csrf_token"' in page
    assert 'type="submit" value="Create account"' in page
    assert "At least 12 characters. Not your email, not a common password." in page


def test_registration_creates_an_unverified_user_and_mails_a_link(app, client, accounts):
    response = accounts.register(LIN.upper(), company="Fastly")
    assert response.status_code == 303
    assert response.headers["Location"] == "/register/check-email"
    page = client.get("/register/check-email").text
    assert f"We sent a message to <strong>{LIN}</strong>." in page
    with client.session_transaction() as sess:
        assert "uid" not in sess  # registering does not sign in
    with app.app_context():
        user = users.find_by_email(LIN)
        assert re.fullmatch(r"00u[A-Za-z0-9]{17}", user.id)
        assert (user.email, user.email_verified) == (LIN, False)
        assert (user.given_name, user.family_name, user.company) == ("Lin", "Clark", "Fastly")
        assert user.password_hash.startswith("$argon2id$")
        assert users.passwords().verify(user.password_hash, PASSWORD)
        link = db.session.scalars(select(EmailLink)).one()
    [message] = accounts.mail(LIN)
    assert message["subject"] == "Verify your email address"
    assert message["body"].startswith("Hello Lin,\n")
    [url] = message["links"]
    token = url.removeprefix(f"{IDP_URL}/verify-email/")
    assert len(token) == 43 and "/" not in token
    assert link.token_hash == sha256_hex(token)  # stored hashed
    assert (link.purpose, link.user_id, link.used_at) == ("verify_email", user.id, None)
    assert link.expires_at - link.created_at == 86400


def test_empty_company_is_stored_as_none(app, accounts):
    accounts.register(LIN, company="  ")
    with app.app_context():
        assert users.find_by_email(LIN).company is None


def test_an_existing_email_gets_the_same_answer_and_the_owner_is_told(app, client, accounts):
    new = accounts.register(LIN)
    new_page = client.get("/register/check-email").text
    with app.app_context():
        ada_hash = users.find_by_email("ada@speakers.example").password_hash
    before = user_count(app)

    taken = accounts.register("Ada@Speakers.example", given_name="Mallory")
    taken_page = client.get("/register/check-email").text

    assert (taken.status_code, taken.headers["Location"]) == (
        new.status_code,
        new.headers["Location"],
    )
    assert taken_page.replace("ada@speakers.example", LIN) == new_page
    assert user_count(app) == before
    with app.app_context():
        ada = users.find_by_email("ada@speakers.example")
        assert (ada.password_hash, ada.given_name) == (ada_hash, "Ada")
    [message] = accounts.mail("ada@speakers.example")
    assert message["subject"] == "Someone tried to create an account with your email"
    assert message["links"] == [f"{IDP_URL}/login", f"{IDP_URL}/forgot-password"]


def test_registering_again_while_unverified_mails_a_fresh_verification_link(app, accounts):
    accounts.register(LIN)
    accounts.register(LIN, password="another good passphrase")
    newest, first = accounts.mail(LIN)
    assert newest["subject"] == "Someone tried to create an account with your email"
    assert newest["links"][2].startswith(f"{IDP_URL}/verify-email/")
    assert newest["links"][2] != first["links"][0]
    with app.app_context():  # the first password stays
        assert users.authenticate(LIN, PASSWORD) is not None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"password": "short pass", "confirm_password": "short pass"}, "password",
         "Use at least 12 characters."),
        ({"password": LIN, "confirm_password": LIN}, "password",
         "Do not use your email address as your password."),
        ({"password": "Password1234", "confirm_password": "Password1234"}, "password",
         "This password is too common. Choose one that is harder to guess."),
        ({"password": "aaaaaaaaaaaaaaa", "confirm_password": "aaaaaaaaaaaaaaa"}, "password",
         "This password is too common. Choose one that is harder to guess."),
        ({"confirm_password": "correct horse batterY"}, "confirm_password",
         "The passwords do not match."),
        ({"email": "not-an-email"}, "email", "Enter an email address like name@example.com."),
        ({"given_name": "  "}, "given_name", "This field is required."),
        ({"family_name": ""}, "family_name", "This field is required."),
        ({"password": "", "confirm_password": ""}, "password", "This field is required."),
        ({"company": "x" * 201}, "company", "Field cannot be longer than 200 characters."),
    ],
)  # fmt: skip
def test_invalid_registrations_re_render_with_what_was_typed(app, accounts, fields, field, message):
    before = user_count(app)
    typed = {"email": LIN, "given_name": "Lin", "company": "Fastly", **fields}
    response = accounts.register(**typed)
    assert response.status_code == 200
    page = response.text
    # The message sits right after its own field.
    assert re.search(
        rf'id="{field}"[^>]*>\s*(<small[^>]*>[^<]*</small>\s*)?'
        rf'<span class="field-error">{re.escape(message)}</span>',
        page,
    ), page
    for name in ("given_name", "email", "company"):
        if typed[name].strip():
            assert f'value="{typed[name].strip()}"' in page
    for name in ("password", "confirm_password"):  # passwords are never sent back
        assert re.search(
            rf'<input [^>]*id="{name}" name="{name}"[^>]*type="password" value="">', page
        )
    assert user_count(app) == before
    assert mail_count(app) == 0


def test_registration_without_csrf_is_refused_and_keeps_the_typed_values(app, client):
    data = {
        "given_name": "Lin",
        "family_name": "Clark",
        "email": LIN,
        "company": "Fastly",
        "password": PASSWORD,
        "confirm_password": PASSWORD,
    }
    response = client.post("/register", data=data)
    assert response.status_code == 400
    assert (
        '<p class="error" role="alert">Your registration form expired. Please try again.</p>'
        in (response.text)
    )
    for value in ("Lin", "Clark", LIN, "Fastly"):
        assert f'value="{value}"' in response.text
    assert PASSWORD not in response.text
    assert user_count(app) == 2


def test_verification_link_verifies_once(app, client, accounts):
    accounts.register(LIN)
    path = accounts.link(LIN, "/verify-email/")

    first = client.get(path)
    assert first.status_code == 200
    assert "<h1>Email verified</h1>" in first.text
    assert first.headers["Referrer-Policy"] == "no-referrer"
    with app.app_context():
        assert users.find_by_email(LIN).email_verified is True

    again = client.get(path)
    assert again.status_code == 400
    assert "This verification link is invalid, has expired or was already used." in again.text


def test_expired_verification_link_is_refused(app, client, accounts):
    accounts.register(LIN)
    path = accounts.link(LIN, "/verify-email/")
    with app.app_context():
        link = db.session.scalars(select(EmailLink)).one()
        link.expires_at = link.created_at - 1
        db.session.commit()
    assert client.get(path).status_code == 400
    with app.app_context():
        assert users.find_by_email(LIN).email_verified is False


@pytest.mark.parametrize("token", ["nope", "A" * 43, "A" * 5000])
def test_unknown_verification_tokens_are_refused(client, token):
    response = client.get(f"/verify-email/{token}")
    assert response.status_code == 400
    assert "This verification link is invalid" in response.text


def test_a_reset_link_does_not_verify(app, client, accounts):
    accounts.register(LIN)
    accounts.submit("/forgot-password", {"email": LIN})
    token = accounts.link(LIN, "/reset-password/").rsplit("/", 1)[1]
    assert client.get(f"/verify-email/{token}").status_code == 400
    with app.app_context():
        assert users.find_by_email(LIN).email_verified is False


def test_mailed_links_use_the_configured_idp_url_not_the_host_header(app, accounts):
    evil = app.test_client()
    page = evil.get("/register", base_url="http://evil.example")
    data = {
        "given_name": "Lin",
        "family_name": "Clark",
        "email": LIN,
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        "csrf_token": flow_csrf(page.text),
    }
    response = evil.post("/register", data=data, base_url="http://evil.example")
    assert response.status_code == 303
    [message] = accounts.mail(LIN)
    assert message["links"][0].startswith(f"{IDP_URL}/verify-email/")
    assert "evil.example" not in message["body"]


def test_unverified_users_can_sign_in_and_tokens_say_so(app, client, accounts, flow):
    accounts.register(LIN)
    who = {"email": LIN, "password": PASSWORD}
    tokens = flow.tokens(who)
    id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert id_claims["email_verified"] is False
    info = client.get(USERINFO, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.json["email_verified"] is False

    client.get(accounts.link(LIN, "/verify-email/"))
    info = client.get(USERINFO, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.json["email_verified"] is True
    assert info.json["name"] == "Lin Clark"


def test_registration_started_from_a_sign_in_request_continues_to_it(client, accounts, flow):
    response = flow.authorize()
    assert response.headers["Location"] == "/login"
    accounts.register(LIN)
    client.get(accounts.link(LIN, "/verify-email/"))
    signed_in = flow.login(LIN, PASSWORD)
    assert signed_in.headers["Location"] == "/oauth2/default/v1/authorize/resume"
