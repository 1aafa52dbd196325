"""The Setup console: admin login, CSRF, and the pages over apps, handlers, users, cases, log."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from mock_sf.models import ConnectedApp
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.setup.console import supported_types
from mock_sf.setup.csrf import api_blueprints
from mock_sf.setup.forms import TOKEN_TYPE_FLAGS

SETUP_PAGES = [
    "/setup/",
    "/setup/apps",
    "/setup/apps/1",
    "/setup/handlers",
    "/setup/handlers/1",
    "/setup/users",
    "/setup/profiles",
    "/setup/cases",
    "/setup/log",
    "/setup/scorecard",
]


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def rows(page: str) -> list[str]:
    """Table body rows as plain text, one string per row."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def test_home_page_links_to_setup(client: FlaskClient) -> None:
    assert 'href="/setup/"' in text(client.get("/"))


def test_login_form_is_labelled(client: FlaskClient) -> None:
    page = text(client.get("/setup/login"))
    assert '<label for="username">Username</label>' in page
    assert '<label for="password">Password</label>' in page
    assert 'type="submit" value="Log in"' in page


@pytest.mark.parametrize("path", SETUP_PAGES)
def test_every_page_needs_an_admin_session(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/setup/login?next={path}"


@pytest.mark.parametrize("path", SETUP_PAGES)
def test_every_page_renders_for_the_admin(setup_admin: Any, path: str) -> None:
    response = setup_admin.client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "admin@sf.example" in text(response)


def test_login_sets_the_sf_session_cookie_and_follows_next(setup_browser: Any) -> None:
    admin, client = setup_browser, setup_browser.client
    token = admin.csrf_token("/setup/login?next=/setup/users")
    response = client.post(
        "/setup/login?next=/setup/users",
        data={"csrf_token": token, "username": "admin@sf.example", "password": "admin-demo"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/setup/users"
    assert "sf_session=" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    "target", ["https://evil.example/setup/", "//evil.example/setup/", "/services/oauth2/token"]
)
def test_login_never_redirects_off_setup(setup_browser: Any, target: str) -> None:
    admin, client = setup_browser, setup_browser.client
    token = admin.csrf_token()
    response = client.post(
        "/setup/login",
        query_string={"next": target},
        data={"csrf_token": token, "username": "admin@sf.example", "password": "admin-demo"},
    )
    assert response.headers["Location"] == "/setup/"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("admin@sf.example", "wrong"),
        ("nobody@sf.example", "admin-demo"),
        ("ada@speakers.example", "ada-demo"),  # an external user without a password
    ],
)
def test_a_failed_login_is_generic_and_keeps_the_username(
    setup_browser: Any, username: str, password: str
) -> None:
    admin, client = setup_browser, setup_browser.client
    response = admin.login(username, password)
    page = text(response)
    assert response.status_code == 401
    assert "Invalid username or password." in page
    assert f'value="{username}"' in page
    assert password not in page
    assert client.get("/setup/apps").status_code == 302


def test_a_login_without_csrf_token_is_refused_but_keeps_the_username(
    client: FlaskClient,
) -> None:
    response = client.post(
        "/setup/login", data={"username": "admin@sf.example", "password": "admin-demo"}
    )
    page = text(response)
    assert response.status_code == 400
    assert "The form expired. Please log in again." in page
    assert 'value="admin@sf.example"' in page
    assert "admin-demo" not in page


def test_an_empty_login_form_shows_field_errors(setup_browser: Any) -> None:
    response = setup_browser.login("", "")
    assert response.status_code == 400
    assert text(response).count("This field is required.") == 2


def test_logout_is_a_post_with_csrf(setup_admin: Any) -> None:
    client = setup_admin.client
    assert client.get("/setup/logout").status_code == 405
    assert client.post("/setup/logout").status_code == 400  # no CSRF token
    assert client.get("/setup/apps").status_code == 200
    response = setup_admin.post("/setup/logout")
    assert (response.status_code, response.headers["Location"]) == (303, "/setup/login")
    assert client.get("/setup/apps").status_code == 302


def test_setup_posts_need_a_csrf_token(setup_admin: Any, app: Flask) -> None:
    response = setup_admin.client.post("/setup/apps/1", data={})
    assert response.status_code == 400
    assert "The form expired" in text(response)
    with app.app_context():
        assert db.session.get(ConnectedApp, 1).is_token_exchange_enabled


def test_the_apis_are_exempt_from_csrf(app: Flask, api: Any, idp: Any) -> None:
    assert api.exchange(idp.access_token()).status_code == 200
    assert {"oauth", "rest"} <= api_blueprints(app)
    assert "setup" not in api_blueprints(app) and "web" not in api_blueprints(app)


def test_connected_apps_list_and_detail(setup_admin: Any) -> None:
    listing = rows(text(setup_admin.client.get("/setup/apps")))
    assert listing == [
        "SpeakerPortal speaker-portal Yes Yes api refresh_token openid "
        "SpeakerTokenHandler (default)"
    ]
    page = text(setup_admin.client.get("/setup/apps/1"))
    assert "<code>speaker-portal</code>" in page
    assert "portal-sf-demo-secret" not in page
    assert rows(page) == ["SpeakerTokenHandler Yes Yes integration@sf.example"]


def _admin_id(setup_admin: Any) -> str:
    with setup_admin.client.application.app_context():
        return db.session.scalar(select(User.id).where(User.username == "admin@sf.example"))


def test_turning_token_exchange_off_makes_exchanges_fail(
    setup_admin: Any, api: Any, idp: Any
) -> None:
    response = setup_admin.post("/setup/apps/1", {"is_secret_required_for_token_exchange": "y"})
    assert (response.status_code, response.headers["Location"]) == (303, "/setup/apps/1")
    assert "Saved SpeakerPortal." in text(setup_admin.client.get("/setup/apps/1"))
    assert api.exchange(idp.access_token()).get_json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant type not supported",
    }


def test_turning_require_secret_off_lets_a_public_client_exchange(
    setup_admin: Any, api: Any, idp: Any
) -> None:
    setup_admin.post("/setup/apps/1", {"is_token_exchange_enabled": "y"})
    assert api.exchange(idp.access_token(), client_secret=None).status_code == 200


def test_handler_list_and_detail_with_enablements(app: Flask, setup_admin: Any) -> None:
    with app.app_context():
        handler = db.session.scalar(select(OauthTokenExchangeHandler))
        class_path, types = handler.handler_class, supported_types(handler)
    assert "Access token" in types and "ID token" in types
    listing = rows(text(setup_admin.client.get("/setup/handlers")))
    assert listing == [f"SpeakerTokenHandler {class_path} Yes Yes {', '.join(types)}"]
    page = text(setup_admin.client.get("/setup/handlers/1"))
    assert rows(page) == ["SpeakerPortal integration@sf.example Yes"]  # run as, by username
    checked = re.findall(r'<input checked id="(\w+)"', page)
    flags = [flag for flag, label in TOKEN_TYPE_FLAGS if label in types]
    assert checked == ["is_enabled", "is_user_creation_allowed", *flags]


def test_unticking_a_token_type_makes_the_handler_refuse_it(
    setup_admin: Any, api: Any, idp: Any
) -> None:
    form = {"is_enabled": "y", "is_user_creation_allowed": "y", "supports_id_token": "y"}
    response = setup_admin.post("/setup/handlers/1", form)
    assert response.status_code == 303
    page = text(setup_admin.client.get("/setup/handlers/1"))
    assert re.findall(r'<input checked id="(\w+)"', page) == [
        "is_enabled",
        "is_user_creation_allowed",
        "supports_id_token",
    ]
    assert api.exchange(idp.access_token()).get_json() == {
        "error": "invalid_request",
        "error_description": "token handler not found",
    }


def test_turning_user_creation_off_stops_new_speakers(setup_admin: Any, api: Any, idp: Any) -> None:
    form = {"is_enabled": "y", "supports_access_token": "y"}
    setup_admin.post("/setup/handlers/1", form)
    response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert response.get_json()["error"] == "invalid_grant"


PROFILE_CHOICES = (
    "Customer Community User Speaker Community User Standard User System Administrator"
)


def test_users_list(setup_admin: Any) -> None:
    listing = rows(text(setup_admin.client.get("/setup/users")))
    assert listing == [
        "admin@sf.example Org Admin Standard System Administrator — — — Yes Deactivate"
        f" {PROFILE_CHOICES} Save",
        "integration@sf.example Speaker Portal Integration Standard Standard User — — — Yes"
        f" Deactivate {PROFILE_CHOICES} Save",
        "ada@speakers.example Ada Lovelace CspLitePortal Speaker Community User "
        "http://127.0.0.1:18001/oauth2/default|00u1ada1demo1speaker Ada Lovelace "
        f"Analytical Engines Ltd Yes Deactivate {PROFILE_CHOICES} Save",
    ]


def test_deactivating_a_user_refuses_her_exchange(
    app: Flask, setup_admin: Any, api: Any, idp: Any
) -> None:
    with app.app_context():
        ada_id = db.session.scalar(select(User.id).where(User.username == "ada@speakers.example"))
    response = setup_admin.post(f"/setup/users/{ada_id}/active", {"active": "0"})
    assert response.status_code == 303
    assert "ada@speakers.example is now inactive." in text(setup_admin.client.get("/setup/users"))
    assert api.exchange(idp.access_token()).get_json() == {
        "error": "invalid_grant",
        "error_description": "inactive user",
    }
    setup_admin.post(f"/setup/users/{ada_id}/active", {"active": "1"})
    assert api.exchange(idp.access_token()).status_code == 200


def test_the_admin_cannot_deactivate_herself(setup_admin: Any) -> None:
    response = setup_admin.post(f"/setup/users/{_admin_id(setup_admin)}/active", {"active": "0"})
    assert response.status_code == 303
    page = text(setup_admin.client.get("/setup/users"))
    assert "You cannot deactivate the user you are logged in as." in page
    assert setup_admin.client.get("/setup/apps").status_code == 200


def test_a_bad_active_value_is_refused(setup_admin: Any) -> None:
    response = setup_admin.post(f"/setup/users/{_admin_id(setup_admin)}/active", {"active": "x"})
    assert response.status_code == 400


def test_cases_newest_first_with_contact(setup_admin: Any, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    created = api.post(
        "/services/data/v66.0/sobjects/Case/",
        token,
        json={"Subject": "Microphone for the keynote", "Priority": "Low", "Origin": "Web"},
    )
    assert created.status_code == 201, created.get_json()
    listing = [row.rsplit(" ", 3)[0] for row in rows(text(setup_admin.client.get("/setup/cases")))]
    assert listing == [
        "00001002 Microphone for the keynote New Low Ada Lovelace",
        "00001001 Travel reimbursement form New Medium Ada Lovelace",
        "00001000 Projector adapter for room B Working High Ada Lovelace",
    ]


def test_exchange_log_newest_first_with_precise_reasons(
    setup_admin: Any, api: Any, idp: Any
) -> None:
    assert api.exchange(idp.access_token(aud="x")).status_code == 400
    assert api.exchange(idp.access_token()).status_code == 200
    assert api.exchange(idp.access_token(), client_secret="nope").status_code == 400
    listing = [row.split(" UTC ", 1)[1] for row in rows(text(setup_admin.client.get("/setup/log")))]
    assert listing[0].startswith(
        "speaker-portal — ACCESS_TOKEN failure invalid_client wrong client secret"
    )
    success = "SpeakerPortal SpeakerTokenHandler ACCESS_TOKEN success user 005"
    assert listing[1].startswith(success)
    assert listing[2] == (
        "SpeakerPortal SpeakerTokenHandler ACCESS_TOKEN failure invalid_request "
        "aud mismatch: expected api://default, got 'x'"
    )
    failures = rows(text(setup_admin.client.get("/setup/log?outcome=failure")))
    assert len(failures) == 2 and all(" failure " in row for row in failures)
    successes = rows(text(setup_admin.client.get("/setup/log?outcome=success")))
    assert len(successes) == 1


def test_an_unknown_log_filter_is_reported_and_shows_everything(
    setup_admin: Any, api: Any, idp: Any
) -> None:
    api.exchange(idp.access_token())
    response = setup_admin.client.get("/setup/log?outcome=maybe")
    assert response.status_code == 400
    assert "Not a valid choice" in text(response)
    assert len(rows(text(response))) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/setup/apps/999"),
        ("GET", "/setup/handlers/999"),
        ("POST", "/setup/apps/999"),
        ("POST", "/setup/users/005000000000000AAA/active"),
        ("GET", "/setup/no-such-page"),
    ],
)
def test_unknown_records_get_a_friendly_404(setup_admin: Any, method: str, path: str) -> None:
    if method == "GET":
        response = setup_admin.client.get(path)
    else:
        response = setup_admin.post(path, {"active": "0"})
    assert response.status_code == 404
    assert "<html" in text(response)
    assert "Not Found" in text(response) or "Not found" in text(response)


@pytest.mark.parametrize("number", ["abc", "-3", "999"])
def test_bad_page_numbers_do_not_fail(setup_admin: Any, number: str) -> None:
    for path in ("/setup/users", "/setup/cases", "/setup/log"):
        assert setup_admin.client.get(path, query_string={"page": number}).status_code == 200


def test_a_junk_json_login_post_is_a_friendly_400(app: Flask) -> None:
    response = app.test_client().post(
        "/setup/login", data=b"{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "The form expired" in text(response)
