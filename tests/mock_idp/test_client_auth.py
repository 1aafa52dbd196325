"""Client authentication at the token, introspection and revocation endpoints: HTTP Basic or
the body, never both (RFC 6749 §2.3); issue 10 asked whether Basic wins over a wrong body secret.
It never did here: both at once are refused before either is checked."""

from __future__ import annotations

import base64

import pytest

TOKEN = "/oauth2/default/v1/token"
INTROSPECT = "/oauth2/default/v1/introspect"
REVOKE = "/oauth2/default/v1/revoke"
SERVICE = ("schedule-service", "schedule-demo-secret")
PORTAL = ("speaker-portal", "portal-demo-secret")

# (path, form without credentials, the client that calls): a request that succeeds as is.
ENDPOINTS = [
    pytest.param(TOKEN, {"grant_type": "client_credentials"}, SERVICE, id="token"),
    pytest.param(INTROSPECT, {"token": "unknown"}, PORTAL, id="introspection"),
    pytest.param(REVOKE, {"token": "unknown"}, PORTAL, id="revocation"),
]


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


TWO_METHODS = "Use one client authentication method, not two."
OTHER_ID = "client_id in the body differs from the authenticated client."


@pytest.mark.parametrize(
    ("basic_secret", "body", "description"),
    [
        pytest.param(None, {"client_secret": "wrong"}, TWO_METHODS, id="a wrong body secret"),
        pytest.param(None, {"client_secret": "<right>"}, TWO_METHODS, id="the body secret too"),
        pytest.param("wrong", {"client_secret": "<right>"}, TWO_METHODS, id="a wrong Basic secret"),
        pytest.param(None, {"client_id": "someone-else"}, OTHER_ID, id="another client_id"),
    ],
)
@pytest.mark.parametrize(("path", "form", "caller"), ENDPOINTS)
def test_basic_credentials_never_win_over_the_body(
    client, path, form, caller, basic_secret, body, description
):
    client_id, secret = caller
    sent = {name: secret if value == "<right>" else value for name, value in body.items()}
    response = client.post(
        path, data={**form, **sent}, headers=basic(client_id, basic_secret or secret)
    )
    assert (response.status_code, response.json) == (
        400,
        {"error": "invalid_request", "error_description": description},
    )
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize(
    "same_id", [pytest.param(False, id="Basic alone"), pytest.param(True, id="same client_id")]
)
@pytest.mark.parametrize(("path", "form", "caller"), ENDPOINTS)
def test_basic_with_the_same_client_id_in_the_body_is_one_method(
    client, path, form, caller, same_id
):
    client_id, secret = caller
    data = {**form, "client_id": client_id} if same_id else form
    response = client.post(path, data=data, headers=basic(client_id, secret))
    assert response.status_code == 200, response.json
