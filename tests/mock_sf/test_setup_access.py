"""Setup: a connected app's Permitted Users and pre-authorized profiles, users' profiles."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from mock_sf.models import ConnectedApp
from mock_sf.models import Profile
from mock_sf.models import User
from mock_sf.models import db

NOT_APPROVED = {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"}


def profile_id(app: Flask, name: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Profile.id).where(Profile.name == name))


def app_form(app: Flask, permitted: str, profiles: list[str]) -> dict[str, Any]:
    return {
        "is_token_exchange_enabled": "y",
        "is_secret_required_for_token_exchange": "y",
        "permitted_users": permitted,
        "preauthorized_profiles": [profile_id(app, name) for name in profiles],
    }


def test_the_app_page_shows_and_saves_the_policy(
    app: Flask, setup_admin: Any, api: Any, idp: Any
) -> None:
    page = setup_admin.client.get("/setup/apps/1").get_data(as_text=True)
    assert (
        '<option selected value="admin_approved_users_are_pre_authorized">Admin approved users'
        " are pre-authorized</option>" in page
    )
    community = profile_id(app, "Customer Community User")
    assert '<input checked id="preauthorized_profiles-0" name="preauthorized_profiles"' in page
    assert f'value="{community}"' in page

    form = app_form(app, "admin_approved_users_are_pre_authorized", ["System Administrator"])
    assert setup_admin.post("/setup/apps/1", form).status_code == 303
    assert api.exchange(idp.access_token(idp.ADA_SUB)).get_json() == NOT_APPROVED

    form = app_form(app, "all_users_may_self_authorize", ["Speaker Community User"])
    assert setup_admin.post("/setup/apps/1", form).status_code == 303
    with app.app_context():
        assert db.session.get(ConnectedApp, 1).permitted_users == "all_users_may_self_authorize"
    assert api.exchange(idp.access_token(idp.ADA_SUB)).get_json() == NOT_APPROVED

    form = app_form(app, "admin_approved_users_are_pre_authorized", ["Speaker Community User"])
    assert setup_admin.post("/setup/apps/1", form).status_code == 303
    assert api.exchange(idp.access_token(idp.ADA_SUB)).status_code == 200


def test_an_unknown_policy_is_refused(app: Flask, setup_admin: Any) -> None:
    response = setup_admin.post("/setup/apps/1", app_form(app, "everyone", []))
    assert response.status_code == 400
    assert "Not a valid choice." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ConnectedApp, 1).permitted_users == (
            "admin_approved_users_are_pre_authorized"
        )


def test_the_users_page_shows_and_changes_profiles(
    app: Flask, setup_admin: Any, api: Any, idp: Any
) -> None:
    page = setup_admin.client.get("/setup/users").get_data(as_text=True)
    community = profile_id(app, "Speaker Community User")
    assert f'<option value="{community}" selected>Speaker Community User</option>' in page
    with app.app_context():
        ada = db.session.scalar(select(User.id).where(User.username == "ada@speakers.example"))
    standard = profile_id(app, "Standard User")
    response = setup_admin.post(f"/setup/users/{ada}/profile", {"profile_id": standard})
    assert response.status_code == 303
    assert api.exchange(idp.access_token(idp.ADA_SUB)).get_json() == NOT_APPROVED
    bad = setup_admin.post(f"/setup/users/{ada}/profile", {"profile_id": "00e000000000000AAA"})
    assert bad.status_code == 400
    with app.app_context():
        assert db.session.get(User, ada).profile_id == standard
