"""Setup's fixes for external users: clone a profile with API Enabled, assign a permission set,
and edit a user's Federation ID (the link from an IdP subject to a Salesforce user)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from mock_sf.models import ConnectedApp
from mock_sf.models import PermissionSet
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.oauth.permitted_users import ADMIN_APPROVED
from mock_sf.oauth.permitted_users import preauthorized_profile_ids
from mock_sf.oauth.permitted_users import set_policy
from mock_sf.profiles import profile_named

ADA = "ada@speakers.example"
QUERY = "/services/data/v66.0/query?q=SELECT+Id+FROM+Case"
STANDARD_EXTERNAL = "Customer Community User"


def ids(app: Flask, username: str, profile: str | None = None) -> tuple[str, str | None]:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        return user_id, profile_named(profile).id if profile else None


def test_the_profiles_page_says_what_each_profile_allows(setup_admin: Any) -> None:
    page = setup_admin.client.get("/setup/profiles").get_data(as_text=True)
    assert "Customer Community User</td>" in page
    assert "(standard: read-only)" in page
    assert "Speaker API Access (API Enabled)" in page
    assert "403 API_DISABLED_FOR_ORG" in page


def test_cloning_with_api_enabled_fixes_an_external_user(
    app: Flask, setup_admin: Any, api: Any, idp: Any
) -> None:
    ada, standard = ids(app, ADA, STANDARD_EXTERNAL)
    setup_admin.post(f"/setup/users/{ada}/profile", {"profile_id": standard})
    assert api.get(QUERY, api.token_for(idp.ADA_SUB)).status_code == 403

    form = {"source_id": standard, "name": "Partner Speakers", "api_enabled": "y"}
    assert setup_admin.post("/setup/profiles/clone", form).status_code == 303
    _, clone = ids(app, ADA, "Partner Speakers")
    with app.app_context():  # as in a real org, the app must pre-authorize the new profile too
        connected_app = db.session.get(ConnectedApp, 1)
        set_policy(
            connected_app, ADMIN_APPROVED, preauthorized_profile_ids(connected_app) | {clone}
        )
        db.session.commit()
    setup_admin.post(f"/setup/users/{ada}/profile", {"profile_id": clone})
    token = api.token_for(idp.ADA_SUB)
    assert api.get(QUERY, token).status_code == 200

    assert setup_admin.post(f"/setup/profiles/{clone}/api", {}).status_code == 303
    assert api.get(QUERY, token).status_code == 403


def test_a_duplicate_profile_name_keeps_what_was_typed(app: Flask, setup_admin: Any) -> None:
    _, standard = ids(app, ADA, STANDARD_EXTERNAL)
    form = {"source_id": standard, "name": "Speaker Community User"}
    response = setup_admin.post("/setup/profiles/clone", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "A profile named &#39;Speaker Community User&#39; already exists." in page
    assert 'value="Speaker Community User"' in page


def test_a_standard_profiles_api_enabled_cannot_be_edited(app: Flask, setup_admin: Any) -> None:
    _, standard = ids(app, ADA, STANDARD_EXTERNAL)
    response = setup_admin.post(f"/setup/profiles/{standard}/api", {"api_enabled": "y"})
    assert response.status_code == 303
    page = setup_admin.client.get("/setup/profiles").get_data(as_text=True)
    assert "is a standard profile: its system permissions cannot be edited." in page
    with app.app_context():
        assert not profile_named(STANDARD_EXTERNAL).api_enabled


def test_a_permission_set_assigned_on_the_user_page_grants_the_api(
    app: Flask, setup_admin: Any, api: Any, idp: Any
) -> None:
    ada, standard = ids(app, ADA, STANDARD_EXTERNAL)
    setup_admin.post(f"/setup/users/{ada}/profile", {"profile_id": standard})
    page = setup_admin.client.get(f"/setup/users/{ada}").get_data(as_text=True)
    assert "No API access: REST calls answer 403 API_DISABLED_FOR_ORG" in page
    with app.app_context():
        permission_set = db.session.scalar(select(PermissionSet.id))
        federation_id = db.session.get(User, ada).federation_identifier
    form = {"federation_identifier": federation_id, "permission_sets": permission_set}
    assert setup_admin.post(f"/setup/users/{ada}", form).status_code == 303
    page = setup_admin.client.get(f"/setup/users/{ada}").get_data(as_text=True)
    assert "API Enabled, from the permission set Speaker API Access" in page
    assert api.get(QUERY, api.token_for(idp.ADA_SUB)).status_code == 200


def test_editing_the_federation_id_links_an_idp_subject_to_an_existing_user(
    app: Flask, setup_admin: Any, api: Any, idp: Any
) -> None:
    """Ada's speaker account moved to a new IdP subject: Setup relinks her, no new user."""
    ada, _ = ids(app, ADA)
    new_subject = f"{idp.ISSUER}|00u1ada1new1subject"
    form = {"federation_identifier": new_subject}
    assert setup_admin.post(f"/setup/users/{ada}", form).status_code == 303
    body = api.session_for("00u1ada1new1subject")
    assert body["id"].endswith(f"/{ada}")


def test_a_federation_id_in_use_is_refused_and_kept_in_the_form(
    app: Flask, setup_admin: Any, api: Any, idp: Any
) -> None:
    api.token_for(idp.GRACE_SUB)  # Grace's first exchange creates her user
    ada, _ = ids(app, ADA)
    grace_federation_id = f"{idp.ISSUER}|{idp.GRACE_SUB}"
    response = setup_admin.post(
        f"/setup/users/{ada}", {"federation_identifier": grace_federation_id}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"The Federation ID {grace_federation_id} belongs to grace@speakers.example." in page
    assert f'value="{grace_federation_id}"' in page
    with app.app_context():
        assert db.session.get(User, ada).federation_identifier != grace_federation_id


def test_giving_the_run_as_user_a_role_lets_the_handler_create_speakers(
    app: Flask, setup_admin: Any, api: Any, idp: Any
) -> None:
    integration, _ = ids(app, "integration@sf.example")
    assert setup_admin.post(f"/setup/users/{integration}", {"user_role": ""}).status_code == 303
    assert api.exchange(idp.access_token(idp.GRACE_SUB)).get_json()["error"] == "invalid_grant"
    form = {"user_role": "Speaker Portal Owner"}
    assert setup_admin.post(f"/setup/users/{integration}", form).status_code == 303
    assert api.exchange(idp.access_token(idp.GRACE_SUB)).status_code == 200
