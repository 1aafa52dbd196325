"""Each parameter at most once at the token, introspection and revocation endpoints
(RFC 6749 §3.2; issue 10 asked whether a duplicated parameter takes its first value: it never
did here)."""

from __future__ import annotations

import base64

import pytest
from werkzeug.datastructures import MultiDict

TOKEN = "/oauth2/default/v1/token"
INTROSPECT = "/oauth2/default/v1/introspect"
REVOKE = "/oauth2/default/v1/revoke"


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.mark.parametrize(
    ("path", "pairs", "credentials", "description"),
    [
        pytest.param(
            TOKEN,
            [("grant_type", "client_credentials"), ("grant_type", "refresh_token")],
            ("schedule-service", "schedule-demo-secret"),
            "Repeated parameter: grant_type.",
            id="token grant_type",
        ),
        pytest.param(
            TOKEN,
            [("grant_type", "client_credentials"), ("scope", "a"), ("scope", "schedule.read")],
            ("schedule-service", "schedule-demo-secret"),
            "Repeated parameter: scope.",
            id="token scope",
        ),
        pytest.param(
            INTROSPECT,
            [("token", "a"), ("token", "b")],
            ("speaker-portal", "portal-demo-secret"),
            "Repeated parameter: token.",
            id="introspection token",
        ),
        pytest.param(
            REVOKE,
            [("token", "a"), ("token", "b")],
            ("speaker-portal", "portal-demo-secret"),
            "Repeated parameter: token.",
            id="revocation token",
        ),
        pytest.param(
            REVOKE,
            [("token", "a"), ("client_id", "speaker-portal"), ("client_id", "speaker-portal")],
            ("speaker-portal", "portal-demo-secret"),
            "Repeated parameter: client_id.",
            id="revocation client_id",
        ),
    ],
)
def test_a_parameter_sent_twice_is_refused(client, path, pairs, credentials, description):
    response = client.post(path, data=MultiDict(pairs), headers=basic(*credentials))
    assert (response.status_code, response.json) == (
        400,
        {"error": "invalid_request", "error_description": description},
    )
