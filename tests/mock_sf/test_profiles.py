"""External profiles as a real org treats them: API Enabled off (Summer '19), no standard
external profile for new users (Spring '20) nor for site logins (Spring '21); the fixes are a
cloned profile or a permission set with API Enabled."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mock_sf.models import ExchangeAttempt
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import Profile
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.profiles import SPEAKER_API_ACCESS
from mock_sf.profiles import ProfileNotAllowed
from mock_sf.profiles import assign_permission_set
from mock_sf.profiles import clone_profile
from mock_sf.profiles import profile_named
from mock_sf.profiles import seed_permission_set
from mock_sf.profiles import seed_profiles
from mock_sf.profiles import set_api_enabled
from tests.mock_sf.test_site import SITE_TOKEN
from tests.mock_sf.test_site import exchange_form

ADA = "ada@speakers.example"
GRACE = "grace@speakers.example"
QUERY = "/services/data/v66.0/query?q=SELECT+Id+FROM+Case"
API_DISABLED = [
    {
        "message": "The REST API is not enabled for this Organization.",
        "errorCode": "API_DISABLED_FOR_ORG",
    }
]
STANDARD_EXTERNAL = "Customer Community User"


def give_profile(app: Flask, username: str, profile_name: str) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        user.profile = profile_named(profile_name)
        db.session.commit()


def last_attempt(app: Flask) -> ExchangeAttempt:
    with app.app_context():
        return db.session.scalar(select(ExchangeAttempt).order_by(ExchangeAttempt.id.desc()))


def test_the_standard_external_profile_has_no_api_and_the_demo_clone_has(app: Flask) -> None:
    with app.app_context():
        flags = {
            p.name: (p.user_license, p.is_custom, p.api_enabled)
            for p in db.session.scalars(select(Profile))
        }
    assert flags == {
        "System Administrator": ("Salesforce", False, True),
        "Standard User": ("Salesforce", False, True),
        STANDARD_EXTERNAL: ("Customer Community", False, False),
        "Speaker Community User": ("Customer Community", True, True),
    }


def test_without_api_enabled_the_exchange_succeeds_and_rest_refuses(
    app: Flask, api: Any, idp: Any
) -> None:
    give_profile(app, ADA, STANDARD_EXTERNAL)
    token = api.token_for(idp.ADA_SUB)
    response = api.get(QUERY, token)
    assert (response.status_code, response.get_json()) == (403, API_DISABLED)


def test_a_permission_set_with_api_enabled_is_the_other_fix(app: Flask, api: Any, idp: Any) -> None:
    give_profile(app, ADA, STANDARD_EXTERNAL)
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.username == ADA))
        assign_permission_set(ada, seed_permission_set(SPEAKER_API_ACCESS, "x", api_enabled=True))
        db.session.commit()
    assert api.get(QUERY, api.token_for(idp.ADA_SUB)).status_code == 200


def test_a_permission_set_without_api_enabled_does_not_grant_it(
    app: Flask, api: Any, idp: Any
) -> None:
    give_profile(app, ADA, STANDARD_EXTERNAL)
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.username == ADA))
        assign_permission_set(
            ada, seed_permission_set("Case_Reader", "Case Reader", api_enabled=False)
        )
        db.session.commit()
    assert api.get(QUERY, api.token_for(idp.ADA_SUB)).status_code == 403


def test_new_users_cannot_get_a_standard_external_profile(app: Flask, api: Any, idp: Any) -> None:
    app.config["JIT_PROFILE"] = STANDARD_EXTERNAL
    response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_grant")
    assert "standard external profile, which new users cannot get since Spring '20" in (
        last_attempt(app).reason
    )
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.username == GRACE)) is None


def test_the_digital_experiences_setting_allows_them_and_rest_then_refuses(
    app: Flask, api: Any, idp: Any
) -> None:
    app.config.update(JIT_PROFILE=STANDARD_EXTERNAL, ALLOW_STANDARD_EXTERNAL_PROFILES=True)
    token = api.token_for(idp.GRACE_SUB)
    assert api.get(QUERY, token).get_json() == API_DISABLED


def test_a_handler_records_standard_external_profile_is_refused_too(
    app: Flask, api: Any, idp: Any
) -> None:
    with app.app_context():
        handler = db.session.scalar(select(OauthTokenExchangeHandler))
        handler.jit_profile_id = profile_named(STANDARD_EXTERNAL).id
        db.session.commit()
    assert api.exchange(idp.access_token(idp.GRACE_SUB)).get_json()["error"] == "invalid_grant"


def test_a_missing_jit_profile_is_a_clear_refusal(app: Flask, api: Any, idp: Any) -> None:
    app.config["JIT_PROFILE"] = "Speakers"
    response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_grant")
    assert last_attempt(app).reason == (
        "user creation failed: no profile named 'Speakers' (SF_JIT_PROFILE)"
    )


@pytest.mark.parametrize(
    ("profile_name", "status"), [(STANDARD_EXTERNAL, 400), ("Speaker Community User", 200)]
)
def test_site_logins_need_a_cloned_profile(
    app: Flask, client: Any, idp: Any, profile_name: str, status: int
) -> None:
    give_profile(app, ADA, profile_name)
    response = client.post(SITE_TOKEN, data=exchange_form(idp.access_token()))
    assert response.status_code == status, response.get_json()
    if status == 400:
        assert response.get_json()["error"] == "invalid_grant"
        assert "cannot log in to Experience Cloud sites since Spring '21" in (
            last_attempt(app).reason
        )


def test_my_domain_logins_of_external_users_are_not_site_logins(
    app: Flask, api: Any, idp: Any
) -> None:
    """The mock's choice: My Domain serves external users too, without the site fields."""
    give_profile(app, ADA, STANDARD_EXTERNAL)
    body = api.session_for(idp.ADA_SUB)
    assert "sfdc_site_id" not in body


def test_standard_profiles_are_read_only_and_clones_inherit(app: Flask) -> None:
    with app.app_context():
        standard = profile_named(STANDARD_EXTERNAL)
        with pytest.raises(ProfileNotAllowed, match="is a standard profile"):
            set_api_enabled(standard, True)
        clone = clone_profile(standard, "Partner Speakers")
        assert (clone.user_license, clone.is_custom, clone.api_enabled) == (
            "Customer Community",
            True,
            False,
        )
        set_api_enabled(clone, True)
        assert clone.api_enabled
        with pytest.raises(ProfileNotAllowed, match="already exists"):
            clone_profile(standard, "Partner Speakers")


def test_seeding_restores_the_platforms_permissions_on_standard_profiles(app: Flask) -> None:
    with app.app_context():
        profile_named(STANDARD_EXTERNAL).api_enabled = True
        profile_named("System Administrator").api_enabled = False
        seed_profiles()
        assert not profile_named(STANDARD_EXTERNAL).api_enabled
        assert profile_named("System Administrator").api_enabled
