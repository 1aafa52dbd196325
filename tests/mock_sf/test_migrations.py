"""mock_sf's schema comes from its Alembic revisions: they agree with the models, and init-db
brings a database from before Alembic (its oldest shape we can rebuild) to head."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy import text

from mock_sf import create_app
from mock_sf import migrations
from mock_sf.models import Base
from mock_sf.models import db
from tests import schema_checks

HEAD = schema_checks.head(migrations.alembic_config())
# Columns and tables added after the first release (models.py says which): an older database
# lacks them, and has no alembic_version.
LATER_COLUMNS = {
    "account": {"phone", "website", "number_of_employees", "last_modified_date",
                "system_modstamp", "owner_id", "created_by_id"},
    "contact": {"phone", "title", "last_modified_date", "system_modstamp", "owner_id",
                "created_by_id"},
    "user": {"profile_id", "created_by_id", "user_role"},
    "connected_app": {"is_secret_required_for_refresh_token",
                      "is_refresh_token_rotation_enabled", "permitted_users"},
    "profile": {"api_enabled", "is_custom"},
    "case": {"is_escalated", "parent_id", "portal_request_id", "is_deleted"},
    "case_comment": {"is_deleted"},
}  # fmt: skip
LATER_TABLES = {"network", "query_locator", "oauth_refresh_token", "api_usage",
                "permission_set", "permission_set_assignment"}  # fmt: skip


def sf_app(url: str, key_file: str) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": url,
            "ARGON2_PROFILE": "CHEAPEST",
            "SIGNING_KEY_FILE": key_file,
        }
    )


def init_db(app: Flask, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=["init-db", *args])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()


def test_the_revisions_create_what_the_models_declare(
    database_url: str, sf_signing_key_file: str
) -> None:
    """No pending autogenerate diff: a model change without a revision fails here."""
    init_db(sf_app(database_url, sf_signing_key_file))
    assert schema_checks.version(database_url) == HEAD
    assert schema_checks.pending_changes(database_url, Base.metadata) == []


def test_init_db_brings_the_oldest_database_to_head_and_then_changes_nothing(
    database_url: str, sf_signing_key_file: str, postgres_database: Any, tmp_path: Any
) -> None:
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    if database_url.startswith("postgresql"):
        fresh = postgres_database()
    init_db(sf_app(fresh, sf_signing_key_file))
    engine = create_engine(database_url)
    schema_checks.older(
        schema_checks.baseline(migrations.alembic_config()), LATER_COLUMNS, LATER_TABLES
    ).create_all(engine)
    with engine.begin() as connection:  # a user of then: no profile yet
        connection.execute(
            text(
                'INSERT INTO "user" (id, username, email, last_name, locale, user_type,'
                " is_active, created_date) VALUES ('005000000000001AAA', 'ops@sf.example',"
                " 'ops@sf.example', 'Ops', 'en_US', 'Standard', true, '2024-01-01')"
            )
        )
    engine.dispose()
    app = sf_app(database_url, sf_signing_key_file)

    init_db(app, "--demo")

    upgraded = schema_checks.schema(database_url)
    assert upgraded == schema_checks.schema(fresh)
    assert schema_checks.version(database_url) == HEAD
    engine = create_engine(database_url)
    with engine.connect() as connection:
        profile = connection.execute(
            text('SELECT p.name FROM "user" u JOIN profile p ON p.id = u.profile_id'
                 " WHERE u.username = 'ops@sf.example'")
        ).scalar_one()  # fmt: skip
    engine.dispose()
    assert profile == "Standard User"
    init_db(app, "--demo")
    assert schema_checks.schema(database_url) == upgraded
