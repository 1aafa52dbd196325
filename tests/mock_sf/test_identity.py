"""The identity URL /id/<org>/<user> and /services/oauth2/userinfo (contract §5)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from sqlalchemy import select

from mock_sf.models import User
from mock_sf.models import db
from mock_sf.oauth.identity import identity_user_type

SF = "http://127.0.0.1:18002"


@pytest.fixture
def session(api: Any, idp: Any) -> dict[str, Any]:
    return api.exchange(idp.access_token(), scope="api openid").get_json()


def test_the_identity_url_describes_the_tokens_user(
    app: Flask, api: Any, session: dict[str, Any]
) -> None:
    response = api.get(session["id"].removeprefix(SF), session["access_token"])
    assert response.status_code == 200
    body = response.get_json()
    org_id, user_id = session["id"].rsplit("/", 2)[1:]
    assert body["id"] == session["id"]
    assert (body["user_id"], body["organization_id"]) == (user_id, org_id)
    assert body["username"] == body["email"] == "ada@speakers.example"
    assert body["display_name"] == "Ada Lovelace"
    assert (body["first_name"], body["last_name"]) == ("Ada", "Lovelace")
    assert body["user_type"] == "CSP_LITE_PORTAL"
    assert body["active"] is True
    assert body["urls"]["rest"] == f"{SF}/services/data/v{{version}}/"
    assert body["urls"]["enterprise"] == f"{SF}/services/Soap/c/{{version}}/{org_id}"
    assert body["urls"]["custom_domain"] == SF


def test_version_fills_the_url_placeholders(api: Any, session: dict[str, Any]) -> None:
    path = session["id"].removeprefix(SF)
    body = api.get(path, session["access_token"], query_string={"version": "66.0"}).get_json()
    assert body["urls"]["query"] == f"{SF}/services/data/v66.0/query/"


def test_oauth_token_query_parameter_like_jsforce(client: Any, session: dict) -> None:
    response = client.get(
        session["id"].removeprefix(SF),
        query_string={"format": "json", "oauth_token": session["access_token"]},
    )
    assert response.status_code == 200
    assert response.get_json()["id"] == session["id"]


def test_format_xml(api: Any, session: dict[str, Any]) -> None:
    path = session["id"].removeprefix(SF)
    response = api.get(path, session["access_token"], query_string={"format": "xml"})
    assert response.headers["Content-Type"] == "application/xml;charset=UTF-8"
    root = ElementTree.fromstring(response.data)
    assert root.tag == "user"
    assert root.findtext("username") == "ada@speakers.example"
    assert root.findtext("active") == "true"
    assert root.findtext("urls/rest") == f"{SF}/services/data/v{{version}}/"


def test_userinfo_claims(api: Any, session: dict[str, Any]) -> None:
    response = api.get("/services/oauth2/userinfo", session["access_token"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["sub"] == session["id"]
    assert body["user_id"] == session["id"].rsplit("/", 1)[1]
    assert body["preferred_username"] == body["email"] == "ada@speakers.example"
    assert (body["name"], body["given_name"], body["family_name"]) == (
        "Ada Lovelace",
        "Ada",
        "Lovelace",
    )
    assert body["email_verified"] is True
    assert body["user_type"] == "CSP_LITE_PORTAL"
    assert body["is_salesforce_integration_user"] is False
    assert body["urls"]["sobjects"] == f"{SF}/services/data/v{{version}}/sobjects/"


def test_userinfo_on_the_site_path(api: Any, session: dict[str, Any]) -> None:
    response = api.get("/speakers/services/oauth2/userinfo", session["access_token"])
    assert response.get_json()["sub"] == session["id"]


def _deactivate() -> None:
    db.session.scalar(select(User).where(User.username == "ada@speakers.example")).is_active = False


@pytest.mark.parametrize("path", ["identity", "/services/oauth2/userinfo"])
@pytest.mark.parametrize(
    ("case", "status", "text"),
    [
        ("no token", 401, "Missing_OAuth_Token"),
        ("bad token", 403, "Bad_OAuth_Token"),
        ("revoked", 403, "Bad_OAuth_Token"),
        ("inactive user", 403, "Bad_OAuth_Token"),
        ("api scope only", 403, "Insufficient_Scope"),
    ],
)
def test_refused_identity_calls(
    app: Flask,
    api: Any,
    client: Any,
    idp: Any,
    session: dict[str, Any],
    path: str,
    case: str,
    status: int,
    text: str,
) -> None:
    url = session["id"].removeprefix(SF) if path == "identity" else path
    token = session["access_token"]
    if case == "bad token":
        token = "00D000000000001!nope"
    elif case == "revoked":
        client.post("/services/oauth2/revoke", data={"token": token})
    elif case == "inactive user":
        with app.app_context():
            _deactivate()
            db.session.commit()
    elif case == "api scope only":
        token = api.token_for(idp.ADA_SUB)
    headers = {} if case == "no token" else {"Authorization": f"Bearer {token}"}
    response = client.get(url, headers=headers)
    assert response.status_code == status
    assert response.get_data(as_text=True) == text


def test_another_users_identity_url_is_bad_id(api: Any, idp: Any, session: dict) -> None:
    grace = api.exchange(idp.access_token(idp.GRACE_SUB), scope="api openid").get_json()
    response = api.get(grace["id"].removeprefix(SF), session["access_token"])
    assert response.status_code == 404
    assert response.get_data(as_text=True) == "Bad_Id"


def test_the_15_char_form_of_the_ids_is_accepted(api: Any, session: dict) -> None:
    org_id, user_id = session["id"].rsplit("/", 2)[1:]
    response = api.get(f"/id/{org_id[:15]}/{user_id[:15]}", session["access_token"])
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("user_type", "expected"),
    [("Standard", "STANDARD"), ("CspLitePortal", "CSP_LITE_PORTAL"), ("CsnOnly", "CSN_ONLY")],
)
def test_identity_user_types(user_type: str, expected: str) -> None:
    assert identity_user_type(user_type) == expected
