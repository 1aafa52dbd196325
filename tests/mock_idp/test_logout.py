"""RP-initiated logout 1.0: id_token_hint, registered post_logout_redirect_uri only, state."""

from __future__ import annotations

import time

import pytest

from mock_idp.keys import KeyStore
from mock_idp.keys import generate_jwk
from tests.mock_idp import idp_session

LOGOUT = "/oauth2/default/v1/logout"
AUTHORIZE = "/oauth2/default/v1/authorize"
ISSUER = "http://127.0.0.1:8001/oauth2/default"
POST_LOGOUT = "http://127.0.0.1:8000/"
ADA_ID = "00u1ada1demo1speaker"


def still_signed_in(flow) -> bool:
    return flow.authorize(prompt="none").headers["Location"].find("code=") != -1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_logout_ends_the_session_and_returns_state(flow, method):
    id_token = flow.tokens()["id_token"]
    assert still_signed_in(flow)
    params = {"id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT, "state": "s t"}
    if method == "GET":
        response = flow.client.get(LOGOUT, query_string=params)
    else:
        response = flow.client.post(LOGOUT, data=params)
    assert response.status_code == 303
    assert response.headers["Location"] == "http://127.0.0.1:8000/?state=s+t"
    assert not still_signed_in(flow)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_copied_idp_session_cookie_is_dead_after_rp_initiated_logout(flow, method):
    id_token = flow.tokens()["id_token"]
    thief = type(flow)(idp_session.copy_cookie(flow.client))
    assert still_signed_in(thief)
    params = {"id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT}
    if method == "GET":
        flow.client.get(LOGOUT, query_string=params)
    else:
        flow.client.post(LOGOUT, data=params)
    assert not still_signed_in(thief)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_logout_that_arrives_without_the_cookie_ends_the_session_its_hint_names(flow, method):
    """Posted from the portal's site, the IdP's SameSite=Lax cookie stays behind: the hint's sid
    (OIDC Front-Channel Logout §3) names the session, so every copy of the cookie dies."""
    id_token = flow.tokens()["id_token"]
    cross_site = flow.client.application.test_client()  # no cookie at all
    params = {"id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT}
    if method == "GET":
        response = cross_site.get(LOGOUT, query_string=params)
    else:
        response = cross_site.post(LOGOUT, data=params)
    assert (response.status_code, response.headers["Location"]) == (303, POST_LOGOUT)
    assert not still_signed_in(flow)


def test_a_hint_without_a_sid_or_of_another_user_ends_no_session_without_the_cookie(app, flow):
    flow.tokens()
    keys = app.extensions["mock_idp.keys"]
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "speaker-portal", "exp": now + 60, "iat": now}
    sid = idp_session.public_sid(flow.client)
    for hint in (
        keys.sign({**claims, "sub": ADA_ID}, "JWT"),  # no sid: an ID token from before
        keys.sign({**claims, "sub": "00u1grace1demo1spkr0", "sid": sid}, "JWT"),  # not hers
    ):
        cookieless = app.test_client()
        assert cookieless.get(LOGOUT, query_string={"id_token_hint": hint}).status_code == 200
    assert still_signed_in(flow)


def test_logout_without_redirect_shows_a_page(flow):
    id_token = flow.tokens()["id_token"]
    response = flow.client.get(LOGOUT, query_string={"id_token_hint": id_token})
    assert response.status_code == 200
    assert "You are signed out" in response.text
    assert not still_signed_in(flow)


def test_an_expired_id_token_hint_is_accepted(app, flow):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": ADA_ID,
        "aud": "speaker-portal",
        "exp": now - 10,
        "iat": now - 99,
    }
    hint = app.extensions["mock_idp.keys"].sign(claims, "JWT")
    flow.tokens()
    response = flow.client.get(
        LOGOUT, query_string={"id_token_hint": hint, "post_logout_redirect_uri": POST_LOGOUT}
    )
    assert (response.status_code, response.headers["Location"]) == (303, POST_LOGOUT)


def test_a_hint_for_another_user_leaves_the_session_alone(app, flow):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "00u1grace1demo1spkr0",
        "aud": "speaker-portal",
        "exp": now + 60,
        "iat": now,
    }
    hint = app.extensions["mock_idp.keys"].sign(claims, "JWT")
    flow.tokens()
    response = flow.client.get(LOGOUT, query_string={"id_token_hint": hint})
    assert response.status_code == 200
    assert still_signed_in(flow)


def _foreign_hint(app):
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": ADA_ID, "aud": "speaker-portal", "exp": now + 60, "iat": now}
    return KeyStore(generate_jwk()).sign(claims, "JWT")


def _hint(app, **overrides):
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": ADA_ID, "aud": "speaker-portal", "exp": now + 60, "iat": now}
    claims.update(overrides)
    return app.extensions["mock_idp.keys"].sign(claims, "JWT")


@pytest.mark.parametrize(
    ("case", "description"),
    [
        ("foreign redirect", "post_logout_redirect_uri is not registered for this client."),
        ("no hint", "id_token_hint is required."),
        ("foreign key", "id_token_hint is not a valid ID token of this issuer."),
        ("access token as hint", "id_token_hint is not a valid ID token of this issuer."),
        ("wrong issuer", "id_token_hint is not a valid ID token of this issuer."),
        ("unknown client", "id_token_hint names no registered client."),
        ("client_id mismatch", "client_id does not match the id_token_hint."),
    ],
)
def test_refused_logout_is_an_error_page_never_a_redirect(app, flow, case, description):
    tokens = flow.tokens()
    params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT}
    if case == "foreign redirect":
        params["post_logout_redirect_uri"] = "https://evil.example/"
    elif case == "no hint":
        del params["id_token_hint"]
    elif case == "foreign key":
        params["id_token_hint"] = _foreign_hint(app)
    elif case == "access token as hint":
        params["id_token_hint"] = tokens["access_token"]
    elif case == "wrong issuer":
        params["id_token_hint"] = _hint(app, iss="http://127.0.0.1:9/oauth2/default")
    elif case == "unknown client":
        params["id_token_hint"] = _hint(app, aud="nobody")
    elif case == "client_id mismatch":
        params["client_id"] = "schedule-service"
    response = flow.client.get(LOGOUT, query_string=params)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "<code>invalid_request</code>" in response.text
    assert description in response.text
    assert still_signed_in(flow)
