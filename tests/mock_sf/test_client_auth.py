"""Client authentication at the token and introspection endpoints: HTTP Basic or the body,
never both (RFC 6749 §2.3); issue 10: Basic credentials used to win over a wrong body secret."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mock_sf.models import ExchangeAttempt
from mock_sf.models import db
from tests.mock_sf.test_site import exchange_form

TOKEN = "/services/oauth2/token"
INTROSPECT = "/services/oauth2/introspect"
CLIENT_ID = "speaker-portal"
SECRET = "portal-sf-demo-secret"
TWO_METHODS = {
    "error": "invalid_request",
    "error_description": "more than one client authentication method",
}
INVALID_CLIENT = {"error": "invalid_client", "error_description": "invalid client credentials"}


def basic(client_id: str = CLIENT_ID, secret: str = SECRET) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
def session(api: Any, idp: Any) -> dict[str, Any]:
    """An exchange that asked for a refresh token."""
    response = api.exchange(idp.access_token(), scope="api refresh_token")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def without_client(form: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in form.items() if k not in ("client_id", "client_secret")}


# Each endpoint's request without client credentials: (path, form), from the fake IdP and a
# session of the portal's connected app.
Request = Callable[[Any, dict[str, Any]], tuple[str, dict[str, str]]]
ENDPOINTS: list[Any] = [
    pytest.param(
        lambda idp, session: (TOKEN, without_client(exchange_form(idp.access_token()))),
        id="token exchange",
    ),
    pytest.param(
        lambda idp, session: (
            TOKEN,
            {"grant_type": "refresh_token", "refresh_token": session["refresh_token"]},
        ),
        id="refresh_token grant",
    ),
    pytest.param(
        lambda idp, session: (INTROSPECT, {"token": session["access_token"]}), id="introspection"
    ),
]
REFUSED: list[Any] = [
    pytest.param(basic(), {"client_secret": SECRET}, TWO_METHODS, id="Basic and the body secret"),
    pytest.param(
        basic(), {"client_secret": "wrong"}, TWO_METHODS, id="Basic and a wrong body secret"
    ),
    pytest.param(
        basic(secret="wrong"),
        {"client_secret": SECRET},
        TWO_METHODS,
        id="a wrong Basic secret and the body secret",
    ),
    pytest.param(basic(), {"client_secret": ""}, TWO_METHODS, id="Basic and an empty body secret"),
    pytest.param(
        basic(), {"client_id": "someone-else"}, INVALID_CLIENT, id="Basic and another client_id"
    ),
]


@pytest.mark.parametrize(("headers", "body", "expected"), REFUSED)
@pytest.mark.parametrize("build", ENDPOINTS)
def test_basic_credentials_never_win_over_the_body(
    client: Any,
    idp: Any,
    session: dict[str, Any],
    build: Request,
    headers: dict[str, str],
    body: dict[str, str],
    expected: dict[str, str],
) -> None:
    path, form = build(idp, session)
    response = client.post(path, data={**form, **body}, headers=headers)
    assert (response.status_code, response.get_json()) == (400, expected)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "body", [pytest.param({}, id="Basic alone"), pytest.param({"client_id": CLIENT_ID}, id="same")]
)
@pytest.mark.parametrize("build", ENDPOINTS)
def test_basic_with_the_same_client_id_in_the_body_is_one_method(
    client: Any, idp: Any, session: dict[str, Any], build: Request, body: dict[str, str]
) -> None:
    path, form = build(idp, session)
    response = client.post(path, data={**form, **body}, headers=basic())
    assert response.status_code == 200, response.get_json()


def test_two_methods_are_logged_and_leave_the_subject_token_unused(
    app: Flask, api: Any, idp: Any
) -> None:
    token = idp.access_token()
    refused = api.exchange(token, headers=basic(), client_secret="wrong")
    assert refused.get_json() == TWO_METHODS
    with app.app_context():
        attempt = db.session.scalars(
            select(ExchangeAttempt).order_by(ExchangeAttempt.id.desc())
        ).first()
        assert (attempt.outcome, attempt.error, attempt.reason) == (
            "failure",
            "invalid_request",
            "HTTP Basic and a client_secret in the body (RFC 6749 §2.3)",
        )
    assert api.exchange(token).status_code == 200  # its jti was never consumed
