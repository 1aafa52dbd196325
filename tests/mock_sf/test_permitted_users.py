"""Connected-app Permitted Users, profiles and pre-authorization (contract §2.2, §3.4)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from mock_sf import migrations
from mock_sf.models import ConnectedApp
from mock_sf.models import ConnectedAppProfile
from mock_sf.models import OAuthApproval
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import Profile
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.oauth.permitted_users import ADMIN_APPROVED
from mock_sf.oauth.permitted_users import SELF_AUTHORIZE
from tests import schema_checks

NOT_APPROVED = {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"}
GRACE = "grace@speakers.example"


def portal_app() -> ConnectedApp:
    return db.session.scalar(
        select(ConnectedApp).where(ConnectedApp.developer_name == "SpeakerPortal")
    )


def profile(name: str) -> Profile:
    return db.session.scalar(select(Profile).where(Profile.name == name))


def preauthorized(app: Flask) -> set[str]:
    with app.app_context():
        rows = db.session.execute(
            select(Profile.name)
            .join(ConnectedAppProfile)
            .where(ConnectedAppProfile.app_id == portal_app().id)
        )
        return {name for (name,) in rows}


def set_policy(app: Flask, permitted: str, profiles: set[str] | None = None) -> None:
    from mock_sf.oauth.permitted_users import set_policy as save

    with app.app_context():
        ids = {profile(name).id for name in profiles} if profiles is not None else None
        target = portal_app()
        if ids is None:
            ids = set(
                db.session.scalars(
                    select(ConnectedAppProfile.profile_id).where(
                        ConnectedAppProfile.app_id == target.id
                    )
                )
            )
        save(target, permitted, ids)
        db.session.commit()


def user_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_the_demo_app_pre_authorizes_speakers_and_admins(app: Flask) -> None:
    with app.app_context():
        assert portal_app().permitted_users == ADMIN_APPROVED
        users = {
            u.username: (u.profile.name, u.profile.user_license)
            for u in db.session.scalars(select(User))
        }
        names = {(p.name, p.user_license, p.id[:3]) for p in db.session.scalars(select(Profile))}
    assert preauthorized(app) == {
        "Speaker Community User",
        "Customer Community User",
        "System Administrator",
    }
    assert users == {
        "admin@sf.example": ("System Administrator", "Salesforce"),
        "ada@speakers.example": ("Speaker Community User", "Customer Community"),
        "integration@sf.example": ("Standard User", "Salesforce"),
    }
    assert names == {
        ("System Administrator", "Salesforce", "00e"),
        ("Standard User", "Salesforce", "00e"),
        ("Customer Community User", "Customer Community", "00e"),
        ("Speaker Community User", "Customer Community", "00e"),
    }


def test_a_just_in_time_speaker_gets_the_cloned_community_profile(
    app: Flask, api: Any, idp: Any
) -> None:
    assert api.exchange(idp.access_token(idp.GRACE_SUB)).status_code == 200
    with app.app_context():
        grace = db.session.scalar(select(User).where(User.username == GRACE))
        assert (grace.profile.name, grace.profile.is_custom) == ("Speaker Community User", True)


def test_the_handler_records_profile_wins_over_the_orgs(app: Flask, api: Any, idp: Any) -> None:
    with app.app_context():
        handler = db.session.scalar(select(OauthTokenExchangeHandler))
        handler.jit_profile_id = profile("Standard User").id
        db.session.commit()
    set_policy(app, ADMIN_APPROVED, {"Standard User"})
    assert api.exchange(idp.access_token(idp.GRACE_SUB)).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == GRACE)).profile.name == (
            "Standard User"
        )


def test_the_org_default_profile_is_configurable(app: Flask, api: Any, idp: Any) -> None:
    app.config["JIT_PROFILE"] = "Standard User"
    set_policy(app, ADMIN_APPROVED, {"Standard User"})
    assert api.exchange(idp.access_token(idp.GRACE_SUB)).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == GRACE)).profile.name == (
            "Standard User"
        )


@pytest.mark.parametrize(
    ("permitted", "profiles"),
    [
        pytest.param(ADMIN_APPROVED, {"System Administrator"}, id="profile not pre-authorized"),
        pytest.param(ADMIN_APPROVED, set(), id="no profile pre-authorized"),
        pytest.param(SELF_AUTHORIZE, None, id="self-authorize without approval"),
    ],
)
def test_a_user_the_policy_does_not_admit_is_refused(
    app: Flask, api: Any, idp: Any, permitted: str, profiles: set[str] | None
) -> None:
    set_policy(app, permitted, profiles)
    response = api.exchange(idp.access_token(idp.ADA_SUB))
    assert (response.status_code, response.get_json()) == (400, NOT_APPROVED)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_exchange_log_says_why(app: Flask, api: Any, idp: Any) -> None:
    from mock_sf.models import ExchangeAttempt

    set_policy(app, ADMIN_APPROVED, {"System Administrator"})
    api.exchange(idp.access_token(idp.ADA_SUB))
    with app.app_context():
        attempt = db.session.scalar(select(ExchangeAttempt).order_by(ExchangeAttempt.id.desc()))
        ada = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
        assert (attempt.error, attempt.user_id) == ("invalid_grant", ada.id)
    assert attempt.reason == (
        "profile 'Speaker Community User' of ada@speakers.example is not pre-authorized for"
        " SpeakerPortal"
    )


def test_self_authorize_admits_a_user_with_a_stored_approval(
    app: Flask, api: Any, idp: Any
) -> None:
    set_policy(app, SELF_AUTHORIZE, set())
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
        db.session.add(OAuthApproval(user_id=ada.id, app_id=portal_app().id))
        db.session.commit()
    assert api.exchange(idp.access_token(idp.ADA_SUB)).status_code == 200


def test_a_just_in_time_user_must_pass_too_and_is_not_left_behind(
    app: Flask, api: Any, idp: Any
) -> None:
    set_policy(app, ADMIN_APPROVED, {"System Administrator"})
    before = user_count(app)
    response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert (response.status_code, response.get_json()) == (400, NOT_APPROVED)
    assert user_count(app) == before
    set_policy(app, SELF_AUTHORIZE, set())  # a new user can never have approved the app
    response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert (response.status_code, response.get_json()) == (400, NOT_APPROVED)
    assert user_count(app) == before


def test_refresh_is_refused_once_the_profile_is_no_longer_pre_authorized(
    app: Flask, client: Any, api: Any, idp: Any
) -> None:
    session = api.exchange(idp.access_token(idp.ADA_SUB), scope="api refresh_token").get_json()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": session["refresh_token"],
        "client_id": "speaker-portal",
        "client_secret": "portal-sf-demo-secret",
    }
    assert client.post("/services/oauth2/token", data=form).status_code == 200
    set_policy(app, ADMIN_APPROVED, {"System Administrator"})
    response = client.post("/services/oauth2/token", data=form)
    assert (response.status_code, response.get_json()) == (400, NOT_APPROVED)


def test_init_db_upgrades_an_older_database(app: Flask) -> None:
    """A database from before profiles: the column comes back, users get profiles, the demo
    app becomes admin approved; a second run changes nothing."""
    with app.app_context():
        db.session.execute(text('UPDATE "user" SET profile_id = NULL'))
        db.session.execute(text("DELETE FROM connected_app_profile"))
        db.session.execute(text("ALTER TABLE connected_app DROP COLUMN permitted_users"))
        schema_checks.before_alembic(migrations.alembic_config(), db.session.connection())
        db.session.commit()
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    test_the_demo_app_pre_authorizes_speakers_and_admins(app)


def test_init_db_without_demo_gives_every_user_a_profile(app: Flask) -> None:
    with app.app_context():
        db.session.add(User(username="ops@sf.example", email="ops@sf.example", last_name="Ops"))
        db.session.execute(text('UPDATE "user" SET profile_id = NULL'))
        db.session.commit()
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    with app.app_context():
        got = {u.username: u.profile.name for u in db.session.scalars(select(User))}
    assert got == {
        "admin@sf.example": "System Administrator",
        "ada@speakers.example": "Speaker Community User",
        "integration@sf.example": "Standard User",
        "ops@sf.example": "Standard User",
    }


def test_an_unknown_jit_profile_fails_init_db_clearly(app: Flask) -> None:
    app.config["JIT_PROFILE"] = "Speakers"
    with app.app_context():
        db.session.execute(text('UPDATE "user" SET profile_id = NULL'))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 1
    assert result.output == "Error: SF_JIT_PROFILE: no profile named 'Speakers'\n"
