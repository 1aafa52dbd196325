"""POST /services/oauth2/revoke (contract §5): 200 empty on success, 400 OAuth errors."""

from __future__ import annotations

from typing import Any

import pytest

EXPIRED = {"error": "invalid_grant", "error_description": "expired access/refresh token"}
INVALID_TOKEN = {"error": "invalid_token", "error_description": "invalid token"}


@pytest.fixture
def session(api: Any, idp: Any) -> dict[str, Any]:
    return api.exchange(idp.access_token(), scope="api refresh_token").get_json()


def refresh(client: Any, token: str) -> Any:
    return client.post(
        "/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": "speaker-portal",
            "client_secret": "portal-sf-demo-secret",
        },
    )


def test_revoking_an_access_token_ends_that_session_only(
    api: Any, client: Any, session: dict[str, Any]
) -> None:
    other = refresh(client, session["refresh_token"]).get_json()["access_token"]
    response = client.post("/services/oauth2/revoke", data={"token": session["access_token"]})
    assert response.status_code == 200
    assert response.data == b""
    assert api.get("/services/data/v66.0/", session["access_token"]).status_code == 401
    assert api.get("/services/data/v66.0/", other).status_code == 200
    assert refresh(client, session["refresh_token"]).status_code == 200


def test_revoking_a_refresh_token_revokes_its_access_tokens(
    api: Any, client: Any, session: dict[str, Any]
) -> None:
    minted = refresh(client, session["refresh_token"]).get_json()["access_token"]
    response = client.post("/services/oauth2/revoke", data={"token": session["refresh_token"]})
    assert response.status_code == 200
    for token in (session["access_token"], minted):
        assert api.get("/services/data/v66.0/", token).status_code == 401
    assert refresh(client, session["refresh_token"]).get_json() == EXPIRED


def test_an_unrelated_session_survives(api: Any, client: Any, idp: Any, session: dict) -> None:
    unrelated = api.token_for(idp.ADA_SUB)
    client.post("/services/oauth2/revoke", data={"token": session["refresh_token"]})
    assert api.get("/services/data/v66.0/", unrelated).status_code == 200


def test_the_blind_get_variant_revokes_too(api: Any, client: Any, session: dict) -> None:
    response = client.get(
        "/services/oauth2/revoke", query_string={"token": session["access_token"]}
    )
    assert response.status_code == 200
    assert api.get("/services/data/v66.0/", session["access_token"]).status_code == 401


def test_revoke_works_on_the_site_path(client: Any, session: dict[str, Any]) -> None:
    response = client.post(
        "/speakers/services/oauth2/revoke", data={"token": session["access_token"]}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        pytest.param({}, INVALID_TOKEN, id="no token"),
        pytest.param({"token": "00Dxx!unknown"}, INVALID_TOKEN, id="unknown token"),
        pytest.param(
            {"token": "x", "token_type_hint": "id_token"},
            {"error": "unsupported_token_type", "error_description": "token type not supported"},
            id="unsupported hint",
        ),
    ],
)
def test_refused_revocations(client: Any, form: dict[str, str], expected: dict) -> None:
    response = client.post("/services/oauth2/revoke", data=form)
    assert response.status_code == 400
    assert response.get_json() == expected


def test_revoking_twice_is_invalid_token(client: Any, session: dict[str, Any]) -> None:
    client.post("/services/oauth2/revoke", data={"token": session["refresh_token"]})
    response = client.post("/services/oauth2/revoke", data={"token": session["refresh_token"]})
    assert response.status_code == 400
    assert response.get_json() == INVALID_TOKEN
