"""Authorization endpoint: client/redirect checks, PKCE, scopes, prompt, max_age, codes."""

from __future__ import annotations

import hashlib
import time

import pytest
from sqlalchemy import select

from mock_idp.models import AuthorizationCode
from mock_idp.models import Client
from mock_idp.models import db
from tests.mock_idp import idp_session

AUTHORIZE = "/oauth2/default/v1/authorize"
ISSUER = "http://127.0.0.1:8001/oauth2/default"
REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"


def add_client(app, **fields):
    with app.app_context():
        values = {
            "client_id": "other-app",
            "secret_hash": hashlib.sha256(b"other-secret").hexdigest(),
            "name": "Other App",
            "redirect_uris": ["http://127.0.0.1:8000/other/callback"],
            "scopes": ["openid"],
            "grant_types": ["authorization_code"],
            **fields,
        }
        db.session.add(Client(**values))
        db.session.commit()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"scope": "profile email"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "sideways"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "²"}, "invalid_request"),
        ({"state": "s" * 513}, "invalid_request"),
        ({"nonce": "n" * 513}, "invalid_request"),
    ],
)
def test_bad_request_redirects_error_with_state_and_iss(flow, overrides, error):
    response = flow.authorize(**overrides)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = flow.query(location)
    assert params["error"] == error
    assert params["state"] == overrides.get("state", flow.state)
    assert params["iss"] == ISSUER
    assert "code" not in params


def test_error_without_state_has_no_state(flow):
    response = flow.authorize(state=None, code_challenge=None)
    params = flow.query(response.headers["Location"])
    assert set(params) == {"error", "error_description", "iss"}
    assert params["error_description"] == "code_challenge is required (PKCE)."


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"client_id": "nobody"}, "Unknown client_id."),
        ({"client_id": None}, "Unknown client_id."),
        ({"redirect_uri": "http://evil.example/auth/callback"}, "redirect_uri is not registered"),
        ({"redirect_uri": REDIRECT_URI + "/"}, "redirect_uri is not registered"),
        ({"redirect_uri": REDIRECT_URI + "?x=1"}, "redirect_uri is not registered"),
        ({"redirect_uri": "http://localhost:8000/auth/callback"}, "redirect_uri is not registered"),
        ({"redirect_uri": None}, "redirect_uri is not registered"),
    ],
)
def test_unverified_client_or_redirect_uri_gets_an_html_page_never_a_redirect(
    flow, overrides, description
):
    response = flow.authorize(**overrides)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    assert "<code>invalid_request</code>" in response.text
    assert description in response.text
    assert "Mock IdP – not for production" in response.text


def test_repeated_parameter_is_refused_without_redirect(flow, client):
    params = list(flow.authorize_params().items()) + [("state", "second")]
    response = client.get(AUTHORIZE, query_string=params)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Repeated parameter: state." in response.text


def test_client_without_the_code_grant_is_unauthorized(app, flow):
    add_client(app, grant_types=[])
    response = flow.authorize(
        client_id="other-app", redirect_uri="http://127.0.0.1:8000/other/callback"
    )
    assert flow.query(response.headers["Location"])["error"] == "unauthorized_client"


def test_scope_not_registered_for_the_client_is_invalid(app, flow):
    add_client(app, scopes=["openid"])
    response = flow.authorize(
        client_id="other-app", redirect_uri="http://127.0.0.1:8000/other/callback"
    )
    params = flow.query(response.headers["Location"])
    assert params["error"] == "invalid_scope"
    assert params["error_description"] == "Scope not allowed for this client: profile email."


def test_no_session_shows_login_then_resumes_the_request(client, flow):
    response = flow.authorize()
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = client.get("/login").text
    assert "to continue to <strong>Speaker Portal</strong>" in page
    assert flow.nonce not in page and "code_challenge" not in page  # kept server-side only
    login = flow.login("ada@speakers.example", "ada-demo")
    assert login.headers["Location"] == "/oauth2/default/v1/authorize/resume"
    response = client.get(login.headers["Location"])
    params = flow.query(response.headers["Location"])
    assert response.headers["Location"].startswith(REDIRECT_URI + "?")
    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == flow.state
    assert params["iss"] == ISSUER


def test_unknown_parameters_are_ignored_and_not_parked(client, flow):
    response = flow.authorize(foo="bar")
    assert response.headers["Location"] == "/login"
    with client.session_transaction() as sess:
        assert "foo" not in sess["pending_authorization"]["params"]
        assert sess["pending_authorization"]["params"]["nonce"] == flow.nonce


def test_resume_without_a_pending_request_is_an_html_error(client):
    response = client.get("/oauth2/default/v1/authorize/resume")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "There is no sign-in in progress." in response.text


def test_resume_is_single_use(client, flow):
    flow.code()
    response = client.get("/oauth2/default/v1/authorize/resume")
    assert response.status_code == 400


def test_live_session_gets_a_code_at_once(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    response = flow.authorize()
    assert flow.query(response.headers["Location"])["code"]


def test_prompt_none_without_session_is_login_required(flow):
    response = flow.authorize(prompt="none")
    params = flow.query(response.headers["Location"])
    assert params["error"] == "login_required"
    assert params["state"] == flow.state
    assert params["iss"] == ISSUER


def test_prompt_none_with_session_gets_a_code(flow):
    flow.login("ada@speakers.example", "ada-demo")
    response = flow.authorize(prompt="none")
    assert "code" in flow.query(response.headers["Location"])


def test_prompt_login_forces_a_fresh_sign_in(app, client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    first_auth_time = idp_session.auth_time(client)
    response = flow.authorize(prompt="login")
    assert response.headers["Location"] == "/login"
    flow.login("ada@speakers.example", "ada-demo")
    response = client.get("/oauth2/default/v1/authorize/resume")
    code = flow.query(response.headers["Location"])["code"]
    with app.app_context():
        stored = db.session.scalar(select(AuthorizationCode))
        assert stored.code_hash == hashlib.sha256(code.encode()).hexdigest()
        assert stored.auth_time >= int(first_auth_time)
    assert idp_session.auth_time(client) > first_auth_time


def test_prompt_login_can_switch_user(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    body = flow.tokens(
        user={"email": "grace@speakers.example", "password": "grace-demo"}, prompt="login"
    )
    assert body["access_token"]
    assert idp_session.signed_in_as(client) == "00u1grace1demo1spkr0"


@pytest.mark.parametrize(
    ("age", "max_age", "needs_login"), [(600, "300", True), (60, "300", False)]
)
def test_max_age_forces_sign_in_when_the_session_is_older(client, flow, age, max_age, needs_login):
    flow.login("ada@speakers.example", "ada-demo")
    idp_session.set_auth_time(client, time.time() - age)
    response = flow.authorize(max_age=max_age)
    assert (response.headers["Location"] == "/login") is needs_login


def test_max_age_zero_is_satisfied_by_the_sign_in_it_forced(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    assert flow.authorize(max_age="0").headers["Location"] == "/login"
    flow.login("ada@speakers.example", "ada-demo")
    response = client.get("/oauth2/default/v1/authorize/resume")
    assert "code" in flow.query(response.headers["Location"])


def test_code_is_stored_hashed_and_bound_to_the_request(app, flow):
    before = int(time.time())
    code = flow.code(scope="openid email offline_access")
    with app.app_context():
        stored = db.session.scalar(select(AuthorizationCode))
        assert stored.code_hash == hashlib.sha256(code.encode()).hexdigest()
        assert code not in (stored.code_hash, stored.code_challenge)
        assert stored.client_id == "speaker-portal"
        assert stored.user_id == "00u1ada1demo1speaker"
        assert stored.redirect_uri == REDIRECT_URI
        assert stored.scope == "openid email offline_access"  # a refresh token follows
        assert stored.nonce == flow.nonce
        assert stored.code_challenge == flow.challenge
        assert stored.expires_at - stored.auth_time in range(120, 122)
        assert stored.expires_at >= before + 120
        assert stored.consumed_at is None


def test_redirect_uri_with_a_query_keeps_it(app, flow):
    add_client(app, redirect_uris=["http://127.0.0.1:8000/cb?tenant=a"])
    flow.login("ada@speakers.example", "ada-demo")
    response = flow.authorize(
        client_id="other-app", redirect_uri="http://127.0.0.1:8000/cb?tenant=a", scope="openid"
    )
    location = response.headers["Location"]
    assert location.startswith("http://127.0.0.1:8000/cb?tenant=a&code=")
    assert flow.query(location)["tenant"] == "a"
