"""init-db --demo seeds the demo directory idempotently, from the configured peer URLs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy import text

from mock_idp import create_app
from mock_idp import migrations
from mock_idp.models import AuthorizationCode
from mock_idp.models import Client
from mock_idp.models import User
from mock_idp.models import db
from tests import schema_checks


def snapshot(app) -> dict[str, list[tuple]]:
    with app.app_context():
        return {
            model.__tablename__: sorted(
                tuple(getattr(row, col.key) for col in model.__table__.columns)
                for row in db.session.scalars(select(model))
            )
            for model in (User, Client, AuthorizationCode)
        }


def test_demo_seed_twice_adds_and_changes_nothing(app):
    before = snapshot(app)
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0
    assert result.output == ""
    assert snapshot(app) == before
    assert len(before["users"]) == 2
    assert len(before["clients"]) == 3  # the portal, the schedule service, Salesforce's handler


def test_demo_speakers_match_the_documented_defaults(app):
    with app.app_context():
        ada = db.session.get(User, "00u1ada1demo1speaker")
        grace = db.session.get(User, "00u1grace1demo1spkr0")
        assert (ada.email, ada.given_name, ada.family_name) == (
            "ada@speakers.example",
            "Ada",
            "Lovelace",
        )
        assert (ada.company, ada.speaker_id, ada.talks) == (
            "Analytical Engines Ltd",
            "SPK-1815",
            ["Notes on the Analytical Engine"],
        )
        assert (grace.email, grace.company, grace.speaker_id, grace.talks) == (
            "grace@speakers.example",
            "Compilers Inc",
            "SPK-1906",
            ["Nanoseconds, explained"],
        )


def test_portal_client_uses_the_configured_portal_url(app, tmp_path, monkeypatch):
    with app.app_context():
        portal = db.session.get(Client, "speaker-portal")
        assert portal.redirect_uris == ["http://127.0.0.1:8000/auth/callback"]
        assert portal.scopes == ["openid", "profile", "email", "offline_access", "schedule.read"]
        assert portal.grant_types == ["authorization_code", "refresh_token"]
        assert portal.post_logout_redirect_uris == ["http://127.0.0.1:8000/"]
        assert portal.token_endpoint_auth_method == "client_secret_basic"
        assert portal.secret_hash != "portal-demo-secret"
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    moved = create_app({"PASSWORD_HASH_PROFILE": "cheap", "PORTAL_URL": "http://127.0.0.1:18000"})
    assert moved.test_cli_runner().invoke(args=["init-db", "--demo"]).exit_code == 0
    with moved.app_context():
        portal = db.session.get(Client, "speaker-portal")
        assert portal.redirect_uris == ["http://127.0.0.1:18000/auth/callback"]
        assert portal.post_logout_redirect_uris == ["http://127.0.0.1:18000/"]


def test_init_db_without_demo_creates_empty_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    app = create_app({"PASSWORD_HASH_PROFILE": "cheap"})
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    assert snapshot(app) == {"users": [], "clients": [], "authorization_codes": []}


def test_new_user_ids_are_okta_shaped(app):
    from mock_idp import users

    ids = {users.new_user_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 20 and i.startswith("00u") and i.isalnum() for i in ids)


def test_init_db_adds_the_columns_an_older_database_lacks(app) -> None:
    """A database from before refresh tokens and SLO: init-db adds the columns back with their
    defaults, and the seed fills them; a second run changes nothing."""
    with app.app_context():
        for table, column in [
            ("clients", "introspects_for"),
            ("clients", "post_logout_redirect_uris"),
            ("clients", "token_endpoint_auth_method"),
            ("saml_service_providers", "slo_binding"),
            ("saml_service_providers", "want_requests_signed"),
        ]:
            db.session.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        # From before migrations: the baseline's tables only, no alembic_version.
        schema_checks.before_alembic(migrations.alembic_config(), db.session.connection())
        db.session.commit()
        db.engine.dispose()

    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        salesforce = db.session.get(Client, "salesforce-introspection")
        portal = db.session.get(Client, "speaker-portal")
        assert salesforce.introspects_for == ["speaker-portal"]
        assert portal.token_endpoint_auth_method == "client_secret_basic"
        assert portal.post_logout_redirect_uris == ["http://127.0.0.1:8000/"]
        sp = db.session.execute(
            text("SELECT slo_binding, want_requests_signed FROM saml_service_providers")
        ).one()
        assert tuple(sp) == ("redirect", 0)
    before = snapshot(app)
    assert app.test_cli_runner().invoke(args=["init-db", "--demo"]).exit_code == 0
    assert snapshot(app) == before
